import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

// Every command parses dist/cli/main.cjs before doing anything; large libraries must stay
// external (loaded on first use), or every `capsule` invocation pays for parsing them.
describe('the CLI bundle', () => {
  const bundle = fs.readFileSync(path.join(ROOT, 'dist/cli/main.cjs'), 'utf8');

  it.each(['openpgp', 'tar', 'better-sqlite3'])('does not inline %s', (pkg) => {
    expect(bundle).not.toContain(`node_modules/${pkg}/`);
    expect(bundle).toContain(`"${pkg}"`); // still loaded, by name, from node_modules
  });

  // The HTTP client is Node's own; it is required on first request, never by a static import.
  it.each(['https', 'http'])('requires node:%s only on first use', (mod) => {
    expect(bundle).toContain(`("node:${mod}")`);
    expect(bundle).not.toMatch(new RegExp(`\\brequire\\("(node:)?${mod}"\\)`));
  });
});
