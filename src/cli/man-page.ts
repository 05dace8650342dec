import { allCommands, type CliCommand } from './cli-model.js';

/**
 * Man pages (roff, section 1) from the CLI model: `capsule.1` with the global options and the
 * command list, one `capsule-<command>[-<sub>].1` per command. Pure: name → text.
 */
const roff = (s: string): string =>
  s
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');

const pageName = (c: CliCommand): string => ['capsule', ...c.path].join('-');

function page(c: CliCommand, m: CliCommand, version: string): string {
  const title = pageName(c).toUpperCase();
  const out = [`.TH ${title} 1 "" "capsule ${version}" "Capsule Manual"`, '.SH NAME', `${roff(pageName(c))} \\- ${roff(c.description.split('\n')[0] ?? '')}`, '.SH SYNOPSIS', '.B capsule', roff(c.usage.replace(/^capsule\s*/, ''))];
  if (c.description.includes('\n')) out.push('.SH DESCRIPTION', roff(c.description));
  if (c.options.length > 0) {
    out.push('.SH OPTIONS');
    for (const o of c.options) out.push('.TP', `.B ${roff(o.term)}`, roff(o.description));
  }
  if (c.path.length === 0) {
    out.push('.SH COMMANDS');
    for (const s of allCommands(m).slice(1)) out.push('.TP', `.BR ${roff(pageName(s))} (1)`, roff(s.description.split('\n')[0] ?? ''));
  } else {
    out.push('.SH GLOBAL OPTIONS', 'See', '.BR capsule (1).');
  }
  if (c.subcommands.length > 0) {
    out.push('.SH SUBCOMMANDS');
    for (const s of c.subcommands) out.push('.TP', `.BR ${roff(pageName(s))} (1)`, roff(s.description.split('\n')[0] ?? ''));
  }
  out.push('.SH SEE ALSO', '.BR capsule (1)');
  return `${out.join('\n')}\n`;
}

export function manPages(m: CliCommand, version: string): Map<string, string> {
  return new Map(allCommands(m).map((c) => [`${pageName(c)}.1`, page(c, m, version)]));
}
