import { describe, expect, it } from 'vitest';
import { parseAcIdentifier, parseAcName, prefixCovers } from '../../../src/spec/ac-identifier.js';

describe('AC Identifier (image and label names)', () => {
  // Fixtures from appc schema/types/acidentifier_test.go, plus the reference's leniency.
  const good = ['asdf', 'foo-bar-baz', 'zab_rab_oof', 'my~database', 'example.com/~bob/database', 'example.com/ourapp-1.0.0', 'sub-domain.example.com/org/product/~alice/release-1.0.0', 'a', '7', 'a--b'];
  const bad: [string, RegExp][] = [
    ['', /cannot be empty/],
    ['BAR', /lower case/],
    ['foo#', /lower case/],
    ['EXAMPLE.com', /lower case/],
    ['foo.com/BAR', /lower case/],
    ['/app', /start and end/],
    ['app/', /start and end/],
    ['-app', /start and end/],
    ['app-', /start and end/],
    ['.app', /start and end/],
    ['app.', /start and end/],
    ['_app', /start and end/],
    ['app_', /start and end/],
    ['~app', /start and end/],
    ['app~', /start and end/],
    ['a b', /lower case/],
    ['a/../b', /segments/],
    ['a//b', /segments/],
    ['x'.repeat(513), /longer than 512/],
  ];
  for (const s of good) it(`accepts ${JSON.stringify(s)}`, () => expect(parseAcIdentifier(s)).toBe(s));
  for (const [s, why] of bad) {
    it(`rejects ${JSON.stringify(s.slice(0, 20))}`, () => {
      expect(() => parseAcIdentifier(s, 'labels[0].name')).toThrow(why);
      expect(() => parseAcIdentifier(s, 'labels[0].name')).toThrow(/^labels\[0\]\.name: /);
    });
  }
});

describe('AC Name (app, volume, port names)', () => {
  for (const s of ['a', 'web-1', 'a--b', '0day']) it(`accepts ${s}`, () => expect(parseAcName(s)).toBe(s));
  for (const s of ['', 'Foo_Bar', 'a.b', 'a/b', '-a', 'a-', 'UPPER', 'x'.repeat(254)]) {
    it(`rejects ${JSON.stringify(s.slice(0, 20))}`, () => expect(() => parseAcName(s, 'app.ports[0].name')).toThrow(/^app\.ports\[0\]\.name: /));
  }
});

describe('prefixCovers (trust prefixes match whole segments)', () => {
  const cases: [string, string, boolean][] = [
    ['example.com/app', 'example.com/app', true],
    ['example.com/app', 'example.com/app/x', true],
    ['example.com', 'example.com/app', true],
    ['example.com/app', 'example.com/application', false],
    ['example.com/app/x', 'example.com/app', false],
    ['', 'example.com', false],
    ['example.co', 'example.com', false],
  ];
  for (const [p, n, want] of cases) it(`${JSON.stringify(p)} covers ${JSON.stringify(n)}: ${want}`, () => expect(prefixCovers(p, n)).toBe(want));
});
