import type { Command } from 'commander';

/** The root program's options, split by whether they take a value: the one list of global flags. */
export function globalFlags(cmd: Command): { withValue: Set<string>; bool: Set<string> } {
  let root = cmd;
  while (root.parent) root = root.parent;
  const withValue = new Set<string>();
  const bool = new Set<string>();
  for (const o of root.options) {
    if (o.long === undefined) continue;
    (o.required || o.optional ? withValue : bool).add(o.long);
  }
  return { withValue, bool };
}

/**
 * The command's own argv, as typed: rkt walks `run`, `prepare`, `enter` and `fetch` argv itself
 * (per-app flags follow their image), so commander's parse is not used for them. Global flags
 * given after the command word (outside app arguments) are already applied by commander and are
 * dropped here. `cmd` is a direct subcommand of the program.
 */
export function commandArgv(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  const { withValue, bool } = globalFlags(cmd);
  // main() parses with { from: 'user' }: rawArgs holds the user's words only, no node and script.
  const user = ((root as unknown as { rawArgs?: unknown }).rawArgs as string[] | undefined) ?? [];
  let i = 0;
  for (; i < user.length; i++) {
    const a = user[i] ?? '';
    if (withValue.has(a)) i++;
    else if (!a.startsWith('-')) break;
  }
  const rest = user.slice(i + 1);
  const out: string[] = [];
  let appArgs = false;
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j] ?? '';
    if (a === '--') appArgs = true;
    else if (a === '---') appArgs = false;
    if (!appArgs) {
      const name = a.split('=')[0] ?? '';
      if (bool.has(name)) continue;
      if (withValue.has(name)) {
        if (!a.includes('=')) j++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}
