import { terminalSafeLines } from '../../errors/terminal-text.js';
import { Option, type Command } from 'commander';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { makeCtx, type Ctx } from '../context.js';
import type { Io } from '../io.js';
import { renderJson, renderTable, type Format } from '../table.js';
import { keystoreRoots } from '../../verify/keystore.js';
import { parseTrustPrefix, type TrustScope } from '../../verify/trust-prefix.js';
import { parseFingerprint } from '../../spec/fingerprint.js';
import type { HttpClient } from '../../fetch/http-client.js';

interface TrustFlags { prefix?: string; root?: boolean; skipFingerprintReview?: boolean; insecureAllowHttp?: boolean }

function scopeFrom(flags: TrustFlags, missing: UsageError): TrustScope {
  if (flags.root && flags.prefix !== undefined) throw new UsageError('--root and --prefix usage mutually exclusive');
  if (flags.root) return { kind: 'root' };
  if (flags.prefix === undefined) throw missing;
  return parseTrustPrefix(flags.prefix);
}

async function askYesNo(ctx: Ctx): Promise<boolean> {
  for (;;) {
    const line = await ctx.io.readLine('Are you sure you want to trust this key (yes/no)?\n');
    if (line === null) throw new CapsuleError('review', 'no answer to the fingerprint review (end of input)');
    if (line === 'yes') return true;
    if (line === 'no') return false;
    ctx.io.err("Please enter 'yes' or 'no'\n");
  }
}

/**
 * The terminal review for fetching by name (fetch-keys' KeyTrustHooks.review), when stdin and
 * stderr are a terminal. The fingerprint goes to stderr there: fetch's stdout carries image IDs.
 */
export function keyReviewer(ctx: Ctx): { show(text: string): void; ask(): Promise<boolean> } | undefined {
  if (!(ctx.io.stdinIsTTY && ctx.io.stderrIsTTY)) return undefined;
  // The key's user IDs are the key author's text: inert on the terminal.
  return { show: (t) => ctx.io.err(terminalSafeLines(t)), ask: () => askYesNo(ctx) };
}

async function addKeys(ctx: Ctx, keyFiles: string[], flags: TrustFlags): Promise<void> {
  if (keyFiles.length === 0 && flags.prefix === undefined && !flags.root) throw new UsageError('missing KEYFILE or --prefix', 'usage: capsule trust [--prefix PREFIX | --root] [--skip-fingerprint-review] KEYFILE…');
  const scope = scopeFrom(
    flags,
    new UsageError(
      'please provide a --prefix or --root for the keys: trusting a key without a prefix would trust it for every image',
      'for example: capsule trust --prefix "example.com/foo" KEYFILE, or capsule trust --root KEYFILE',
    ),
  );
  const g = ctx.globals;
  // rkt: trust's --insecure-allow-http; Capsule also takes the global --insecure-options=pubkey.
  const allowHttp = flags.insecureAllowHttp === true || g.insecure.has('pubkey');
  const { parseKeyLocation, trustKeys, locateKeys, httpsAutoAccept, trustFromHttpsHint } = await import('../../fetch/fetch-keys.js');
  let locations = keyFiles.map((k) => parseKeyLocation(k, { allowHttp, httpFlag: '--insecure-allow-http' }));
  // The HTTP stack only when something is remote: loading it costs start-up time.
  const net = keyFiles.length === 0 || locations.some((l) => l.kind === 'url') ? await import('../../fetch/http-setup.js') : undefined;
  let client: HttpClient | undefined;
  const http = (): HttpClient => {
    if (!net) throw new Error('bug: no HTTP client for local key files');
    if (!client) {
      const w = net.insecureTlsWarning(g);
      if (w) ctx.warn(w);
      client = net.makeHttpClient(g, { allowHttp });
    }
    return client;
  };
  try {
    let discoveredFrom: string | undefined;
    if (keyFiles.length === 0) {
      if (scope.kind === 'root') throw new UsageError('--root needs KEYFILE arguments: keys for every image are not discovered');
      const found = await locateKeys(http(), scope.prefix, { allowHttp, debug: ctx.debug });
      discoveredFrom = found.page;
      locations = found.keys.map((k) => parseKeyLocation(k, { allowHttp, httpFlag: '--insecure-allow-http' }));
    }
    const autoAcceptHttps = httpsAutoAccept(g, discoveredFrom);
    await trustKeys(
      {
        roots: keystoreRoots(g.systemConfig, g.localConfig),
        scope,
        locations,
        http,
        skipReview: flags.skipFingerprintReview === true,
        autoAcceptHttps,
        noTtyHint: `review the fingerprint yourself and pass --skip-fingerprint-review${trustFromHttpsHint(g, locations.some((l) => l.kind === 'url' && l.https), discoveredFrom)}`,
      },
      { status: (line) => ctx.io.err(`${line}\n`), show: (t) => ctx.io.out(terminalSafeLines(t)), ask: ctx.io.stdinIsTTY && ctx.io.stderrIsTTY ? () => askYesNo(ctx) : undefined },
    );
  } finally {
    await client?.close();
  }
}

export function registerTrust(program: Command, io: Io): void {
  const trust = program
    .command('trust')
    .description('trust a key for image verification')
    .argument('[keyfile...]', 'armored or binary public key files')
    .option('--prefix <prefix>', 'image name prefix the key is trusted for')
    .option('--root', 'trust the key for all images')
    .option('--skip-fingerprint-review', 'accept the key without asking')
    .option('--insecure-allow-http', 'allow keys fetched over plain http')
    .action(async (keyFiles: string[], flags: TrustFlags, cmd: Command) => {
      await addKeys(makeCtx(cmd, io), keyFiles, flags);
    });

  trust
    .command('list')
    .description('list trusted keys')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'json-pretty']).default('table'))
    .option('--no-legend', 'suppress the header line')
    .action(async (flags: { format: Format; legend: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const { listTrust } = await import('../../verify/trust-ops.js');
      const entries = await listTrust(keystoreRoots(ctx.globals.systemConfig, ctx.globals.localConfig));
      if (flags.format !== 'table') {
        // The one JSON shape (json-output.ts): snake_case keys.
        io.out(renderJson(entries.map((e) => ({ prefix: e.prefix, fingerprint: e.fingerprint, user_ids: e.userIds, origin: e.origin, path: e.path })), flags.format));
        return;
      }
      io.out(renderTable(['PREFIX', 'FINGERPRINT', 'ORIGIN', 'USER IDS'], entries.map((e) => [e.prefix, e.fingerprint, e.origin, e.userIds.join(', ')]), flags.legend));
    });

  trust
    .command('rm')
    .description('stop trusting a key (system keys are masked by an empty local file)')
    .argument('<fingerprint>')
    .option('--prefix <prefix>', 'the prefix the key is trusted for')
    .option('--root', 'the key is a root key')
    .action(async (fp: string, _flags: TrustFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      // The parent `trust` declares the same --prefix/--root and commander hands them to it even after `rm`.
      const scope = scopeFrom(cmd.optsWithGlobals<TrustFlags>(), new UsageError('please provide the --prefix or --root the key is trusted for', 'capsule trust list shows both'));
      const { removeTrust } = await import('../../verify/trust-ops.js');
      const r = await removeTrust(keystoreRoots(ctx.globals.systemConfig, ctx.globals.localConfig), scope, parseFingerprint(fp));
      io.err(r.action === 'removed' ? `Removed key ${JSON.stringify(r.path)}\n` : `Masked system key with ${JSON.stringify(r.path)}\n`);
    });
}
