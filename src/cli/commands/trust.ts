import { Option, type Command } from 'commander';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { makeCtx, type Ctx } from '../context.js';
import type { Io } from '../io.js';
import { renderJson, renderTable, type Format } from '../table.js';
import { keystoreRoots } from '../../verify/keystore.js';
import { parseTrustPrefix, type TrustScope } from '../../verify/trust-prefix.js';
import { parseFingerprint } from '../../spec/fingerprint.js';

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

async function addKeys(ctx: Ctx, keyFiles: string[], flags: TrustFlags): Promise<void> {
  if (keyFiles.length === 0 && flags.prefix === undefined && !flags.root) throw new UsageError('missing KEYFILE or --prefix', 'usage: capsule trust [--prefix PREFIX | --root] [--skip-fingerprint-review] KEYFILE…');
  const scope = scopeFrom(
    flags,
    new UsageError(
      'please provide a --prefix or --root for the keys: trusting a key without a prefix would trust it for every image',
      'for example: capsule trust --prefix "example.com/foo" KEYFILE, or capsule trust --root KEYFILE',
    ),
  );
  if (keyFiles.length === 0) {
    throw new CapsuleError('unsupported', 'discovering keys for a prefix (ac-discovery-pubkeys) needs remote fetching, which this build does not support yet', { hint: 'give the key file: capsule trust --prefix P KEYFILE' });
  }
  const review = !flags.skipFingerprintReview;
  if (review && !(ctx.io.stdinIsTTY && ctx.io.stderrIsTTY)) {
    throw new CapsuleError('review', 'unable to ask user to review fingerprint due to lack of tty', { hint: 'review the fingerprint yourself and pass --skip-fingerprint-review' });
  }
  const { readKeyFile, reviewText, storeTrustedKey } = await import('../../verify/trust-ops.js');
  const roots = keystoreRoots(ctx.globals.systemConfig, ctx.globals.localConfig);
  for (const raw of keyFiles) {
    const file = raw.startsWith('file://') ? raw.slice('file://'.length) : raw;
    if (/^https?:\/\//.test(file)) throw new CapsuleError('unsupported', `fetching keys from ${file}: remote keys are not supported by this build yet`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) throw new UsageError('only local files and http or https URLs supported');
    for (const k of await readKeyFile(file)) {
      ctx.io.err(`prefix: ${JSON.stringify(scope.kind === 'root' ? '' : scope.prefix)}\nkey: ${JSON.stringify(raw)}\n`);
      ctx.io.out(reviewText(k));
      if (review && !(await askYesNo(ctx))) {
        ctx.io.err(`not trusting ${JSON.stringify(raw)}\n`);
        continue;
      }
      ctx.io.err(`Trusting ${JSON.stringify(raw)} for prefix ${JSON.stringify(scope.kind === 'root' ? '' : scope.prefix)} ${review ? 'after' : 'without'} fingerprint review.\n`);
      const where = await storeTrustedKey(roots, scope, k);
      ctx.io.err(scope.kind === 'root' ? `Added root key at ${JSON.stringify(where)}\n` : `Added key for prefix ${JSON.stringify(scope.prefix)} at ${JSON.stringify(where)}\n`);
    }
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
        io.out(renderJson(entries, flags.format));
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
