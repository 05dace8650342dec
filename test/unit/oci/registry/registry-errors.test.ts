import { describe, expect, it } from 'vitest';
import { registryErrorText, sanitizeServerText } from '../../../../src/oci/registry/registry-errors.js';

describe('registryErrorText', () => {
  it.each([
    [{ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] }, 'manifest unknown (MANIFEST_UNKNOWN)'],
    [{ errors: [{ code: 'DENIED' }, { message: 'two' }] }, 'DENIED; two'],
    [{ errors: [{ code: 'X', message: 'line\nbreak\u001b[31m' }] }, 'line break [31m (X)'],
    [{ errors: [] }, undefined],
    [{ other: 1 }, undefined],
  ])('%j', (doc, want) => {
    expect(registryErrorText(Buffer.from(JSON.stringify(doc)))).toBe(want);
  });
  it('is undefined for a body that is not JSON', () => {
    expect(registryErrorText(Buffer.from('<html>502</html>'))).toBeUndefined();
  });
  it('cuts long server text', () => {
    expect(sanitizeServerText('a'.repeat(300))).toHaveLength(201);
  });
});
