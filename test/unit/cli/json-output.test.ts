import { describe, expect, it } from 'vitest';
import { jsonImageId, networkJson, rfc3339 } from '../../../src/cli/json-output.js';

describe('rfc3339: UTC with the precision there is', () => {
  const cases: [number, string][] = [
    [Date.UTC(2024, 0, 2, 3, 4, 5), '2024-01-02T03:04:05.000Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 123), '2024-01-02T03:04:05.123Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 123) + 0.456, '2024-01-02T03:04:05.123456Z'],
    // A float mtimeMs just under a millisecond boundary.
    [Date.UTC(2024, 0, 2, 3, 4, 5, 123) - 0.0002, '2024-01-02T03:04:05.123Z'],
  ];
  for (const [ms, want] of cases) it(want, () => expect(rfc3339(ms)).toBe(want));
});

describe('the other JSON conventions', () => {
  it('image IDs: the store key, one length', () => {
    expect(jsonImageId(`sha512-${'ab'.repeat(64)}`)).toBe(`sha512-${'ab'.repeat(32)}`);
    expect(jsonImageId(`sha512-${'ab'.repeat(32)}`)).toBe(`sha512-${'ab'.repeat(32)}`);
    expect(jsonImageId('')).toBeNull();
  });
  it('network keys in snake_case', () => {
    expect(networkJson({ netName: 'default', ip: '10.0.0.2', ifName: 'eth0', pluginPath: '/x' })).toEqual({ net_name: 'default', ip: '10.0.0.2', if_name: 'eth0', plugin_path: '/x' });
  });
});
