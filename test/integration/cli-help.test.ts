import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCapsule } from '../helpers/cli.js';
import { RUN_FLAGS } from '../../src/stage0/run-args/run-flags.js';

/** The help text's lines for one flag: the term starts the line (after the indent). */
function helpLineFor(help: string, flag: string): string | undefined {
  return help.split('\n').find((l) => new RegExp(`^  ${flag.replace(/[-[\]]/g, '\\$&')}(\\[=| <|  |$)`).test(l));
}

describe('run and prepare --help list every flag of the table', () => {
  for (const kind of ['run', 'prepare'] as const) {
    it(`capsule ${kind} --help: one line per pod and app flag, with its help`, async () => {
      const r = await runCapsule([kind, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Pod flags (before the first image):');
      expect(r.stdout).toContain('App flags (after their image):');
      for (const [flag, d] of Object.entries(RUN_FLAGS)) {
        const applies = d.scope === 'app' || d.only === undefined || d.only === kind;
        const line = helpLineFor(r.stdout, flag);
        if (!applies) {
          expect(line, `${kind} --help must not list ${flag}`).toBeUndefined();
          continue;
        }
        expect(line, `${kind} --help lists ${flag}`).toBeDefined();
        // The first words of the help line follow the term.
        expect(r.stdout.replace(/\s+/g, ' '), flag).toContain(d.help.split(' ').slice(0, 4).join(' '));
      }
      expect(r.stdout).toContain('Global Options:');
      expect(helpLineFor(r.stdout, '--dir')).toBeDefined();
    });
  }
});

describe('man pages and shell completion come from the same definitions as --help', () => {
  const commandsOf = async (): Promise<string[][]> => {
    // Every command path, from each command's own --help (the source they must agree with).
    const out: string[][] = [];
    const walk = async (p: string[]): Promise<void> => {
      out.push(p);
      const h = (await runCapsule([...p, '--help'])).stdout;
      const section = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(h)?.[1] ?? '';
      for (const l of section.split('\n')) {
        const name = /^ {2}(\S+)/.exec(l)?.[1];
        if (name && name !== 'help') await walk([...p, name]);
      }
    };
    await walk([]);
    return out;
  };

  it('a man page per command; run.1 and prepare.1 list every flag of the table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pc-man-'));
    try {
      const r = await runCapsule(['man-pages', dir]);
      expect(r.code, r.stderr).toBe(0);
      const cmds = await commandsOf();
      expect(fs.readdirSync(dir).sort()).toEqual(cmds.map((p) => `${['capsule', ...p].join('-')}.1`).sort());
      for (const kind of ['run', 'prepare'] as const) {
        // The option terms: `.B` lines of the OPTIONS section, roff's escapes undone.
        const roff = fs.readFileSync(path.join(dir, `capsule-${kind}.1`), 'utf8');
        expect(roff.startsWith(`.TH CAPSULE-${kind.toUpperCase()} 1 `)).toBe(true);
        const text = roff.split('\n').filter((l) => l.startsWith('.B ')).map((l) => `  ${l.slice(3).replace(/\\-/g, '-').replace(/\\e/g, '\\')}`).join('\n');
        for (const [flag, d] of Object.entries(RUN_FLAGS)) {
          const applies = d.scope === 'app' || d.only === undefined || d.only === kind;
          expect(new RegExp(`^\\s+${flag.replace(/[-[\]]/g, '\\$&')}(\\[=| <|$)`, 'm').test(text), `${kind}.1 ${flag}`).toBe(applies);
        }
      }
      const logs = fs.readFileSync(path.join(dir, 'capsule-logs.1'), 'utf8');
      for (const f of ['tail', 'since', 'timestamps', 'follow']) expect(logs).toContain(`\\-\\-${f}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('capsule completion bash completes commands, subcommands and flags in a real bash; zsh gets a #compdef script; others are refused', async () => {
    const b = await runCapsule(['completion', 'bash']);
    expect(b.code, b.stderr).toBe(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pc-comp-'));
    try {
      fs.writeFileSync(path.join(dir, 'capsule.bash'), b.stdout);
      const complete = (words: string[]): string[] => {
        const script = `source ${JSON.stringify(path.join(dir, 'capsule.bash'))}; COMP_WORDS=(${words.map((x) => `'${x}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _capsule; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter((x) => x !== '');
      };
      expect(complete(['capsule', 'ima'])).toEqual(['image']);
      expect(complete(['capsule', '--debug', 'image', 'l'])).toEqual(['list']);
      expect(complete(['capsule', 'logs', '--ti'])).toEqual(['--timestamps']);
      expect(complete(['capsule', 'enter', '--t'])).toEqual(expect.arrayContaining(['--tty', '--trust-keys-from-https']));
      expect(complete(['capsule', 'run', '--vol'])).toEqual(['--volume=']);
      expect(complete(['capsule', 'run', '--seccomp'])).toEqual(['--seccomp=']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const z = await runCapsule(['completion', 'zsh']);
    expect(z.code, z.stderr).toBe(0);
    expect(z.stdout.startsWith('#compdef capsule\n')).toBe(true);
    for (const f of ['_capsule()', '_capsule_image_list()', "'--timestamps[", "'--volume=["]) expect(z.stdout).toContain(f);
    // A real zsh reads it: it parses (descriptions such as "the pod's" quote right) and, loaded under
    // compinit, defines a function per command.
    const zdir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pc-zsh-'));
    try {
      const file = path.join(zdir, '_capsule');
      fs.writeFileSync(file, z.stdout);
      execFileSync('zsh', ['-n', file]);
      const loaded = execFileSync('zsh', ['-f', '-c', `autoload -U compinit; compinit -u -d ${zdir}/zcompdump; source ${file}; print -l \${(k)functions[(I)_capsule*]}`], { encoding: 'utf8' });
      expect(loaded.split('\n')).toEqual(expect.arrayContaining(['_capsule', '_capsule_run', '_capsule_image_list', '_capsule_trust']));
    } finally {
      fs.rmSync(zdir, { recursive: true, force: true });
    }
    const bad = await runCapsule(['completion', 'fish']);
    expect(bad.code).toBe(254);
    expect(bad.stderr).toBe('completion: unsupported shell "fish": bash or zsh\n');
  });
});
