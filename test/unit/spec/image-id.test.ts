import { describe, expect, it } from 'vitest';
import { imageIdFromHex, looksLikeImageId, parseImageId, parseImageIdPrefix, shortImageId } from '../../../src/spec/image-id.js';

const HEX = '0123456789abcdef'.repeat(8);

describe('image IDs', () => {
  it('accepts sha512- and 128 lower-case hex', () => {
    expect(parseImageId(`sha512-${HEX}`)).toBe(`sha512-${HEX}`);
    expect(imageIdFromHex(HEX)).toBe(`sha512-${HEX}`);
  });

  for (const bad of ['', 'sha512-', `sha512-${HEX.slice(1)}`, `sha512-${HEX}0`, `sha512-${HEX.toUpperCase()}`, `sha256-${HEX}`, `sha512:${HEX}`, `sha512-${HEX.slice(0, 127)}g`, HEX]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 24))}… as a full ID`, () => expect(() => parseImageId(bad)).toThrow(/badly formatted image ID/));
  }

  it('shortens like rkt: 12, 32, 64 hex', () => {
    const id = parseImageId(`sha512-${HEX}`);
    expect(shortImageId(id, 12)).toBe(`sha512-${HEX.slice(0, 12)}`);
    expect(shortImageId(id, 32)).toBe(`sha512-${HEX.slice(0, 32)}`);
    expect(shortImageId(id, 64)).toBe(`sha512-${HEX.slice(0, 64)}`);
    expect(shortImageId(id, 128)).toBe(id);
  });
});

describe('image ID prefixes typed on the command line', () => {
  it('needs at least 2 hex digits', () => {
    expect(parseImageIdPrefix('sha512-ab')).toEqual({ alg: 'sha512', hex: 'ab' });
    expect(() => parseImageIdPrefix('sha512-a')).toThrow(/image ID too short/);
    expect(() => parseImageIdPrefix('sha512-')).toThrow(/image ID too short/);
  });
  it('is case-insensitive and keeps up to 128 hex', () => {
    expect(parseImageIdPrefix('SHA512-ABCDEF')).toEqual({ alg: 'sha512', hex: 'abcdef' });
    expect(parseImageIdPrefix(`sha512-${HEX}`)).toEqual({ alg: 'sha512', hex: HEX });
    expect(() => parseImageIdPrefix(`sha512-${HEX}0`)).toThrow(/badly formatted/);
  });
  it('rejects non-hex', () => {
    for (const s of ['sha512-xyz', 'sha512-ab cd', 'sha512-ab-cd', 'sha512-ab/..']) expect(() => parseImageIdPrefix(s)).toThrow(/badly formatted/);
  });
  it('classifies sha512- arguments as IDs', () => {
    expect(looksLikeImageId('sha512-ab')).toBe(true);
    expect(looksLikeImageId('SHA512-ab')).toBe(true);
    expect(looksLikeImageId('example.com/sha512-ab')).toBe(false);
    expect(looksLikeImageId('sha256-ab')).toBe(false);
  });
  it('OCI image IDs: sha256:<hex> (the config digest), up to 64 hex, 12 shown in listings', () => {
    const h = 'c'.repeat(64);
    expect(looksLikeImageId('sha256:ab')).toBe(true);
    expect(looksLikeImageId('busybox:latest')).toBe(false);
    expect(parseImageIdPrefix('sha256:AB')).toEqual({ alg: 'sha256', hex: 'ab' });
    expect(parseImageIdPrefix(`sha256:${h}`)).toEqual({ alg: 'sha256', hex: h });
    expect(() => parseImageIdPrefix(`sha256:${h}0`)).toThrow(/badly formatted/);
    expect(() => parseImageIdPrefix('sha256:a')).toThrow(/image ID too short/);
    const id = parseImageId(`sha256:${h}`);
    expect(shortImageId(id, 12)).toBe(`sha256:${h.slice(0, 12)}`);
    expect(shortImageId(id, 32)).toBe(`sha256:${h}`);
    expect(shortImageId(id, 64)).toBe(`sha256:${h}`);
  });
});
