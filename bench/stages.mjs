#!/usr/bin/env node
// Diagnostic (not part of `npm run bench`): times the stages of a fetch in isolation on the image
// that bench/fetch.mjs builds (run that first), so the cost of each piece of Capsule's single pass
// can be compared with the whole. In-process stages use Node's own primitives, as Capsule does.
//   node bench/stages.mjs            (env BENCH_DIR, BENCH_STAGE_REPS default 3)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BENCH_DIR, ensureBuilt, envInt, median, rmrf, run, scratchTmpfs, timed, gnupgHome } from './lib.mjs';

const reps = envInt('BENCH_STAGE_REPS', 3);
const input = path.join(BENCH_DIR, 'input-v1');
const aci = path.join(input, 'big.aci');
if (!fs.existsSync(aci)) {
  console.error(`bench/stages: ${aci} is missing: run node bench/fetch.mjs first`);
  process.exit(2);
}
const CAPSULE = ensureBuilt();
const scratch = scratchTmpfs('stages');
const S = scratch.dir;
const rows = [];

async function measure(label, fn, note = '') {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await fn(i);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  rows.push({ label, wall: median(wall), cpu: median(cpu), note });
  console.log(`  ${label.padEnd(58)} ${median(wall).toFixed(0).padStart(6)} ms wall ${median(cpu).toFixed(0).padStart(6)} ms cpu ${note}`);
}

function tool(label, cmd, args, opts = {}, note = '') {
  const wall = [];
  const cpu = [];
  const rss = [];
  for (let i = 0; i < reps; i++) {
    opts.before?.(i);
    const r = timed(cmd, typeof args === 'function' ? args(i) : args, opts);
    opts.after?.(i);
    wall.push(r.ms);
    if (r.cpuS !== null) cpu.push(r.cpuS * 1000);
    if (r.maxRssKb !== null) rss.push(r.maxRssKb / 1024);
  }
  const c = cpu.length ? median(cpu) : NaN;
  const m = rss.length ? ` rss ${median(rss).toFixed(0)} MB` : '';
  rows.push({ label, wall: median(wall), cpu: c, note });
  console.log(`  ${label.padEnd(58)} ${median(wall).toFixed(0).padStart(6)} ms wall ${c.toFixed(0).padStart(6)} ms cpu${m} ${note}`);
}

const readStream = () => fs.createReadStream(aci, { highWaterMark: 1024 * 1024 });

console.log(`stages on ${aci} (${(fs.statSync(aci).size / 1e6).toFixed(1)} MB), ${reps} reps, medians; scratch ${scratch.kind}`);
console.log('in-process (this node process):');
await measure('read the .aci (1 MiB chunks)', async () => {
  for await (const _ of readStream()) { /* read */ }
});
await measure('read + sha512 of the compressed file (like sha512sum)', async () => {
  const h = createHash('sha512');
  for await (const c of readStream()) h.update(c);
  h.digest();
});
let tarBytes = 0;
await measure('read + gunzip stream (chunkSize 256 KiB, as Capsule)', async () => {
  const g = zlib.createGunzip({ chunkSize: 256 * 1024 });
  let n = 0;
  const done = pipeline(readStream(), g);
  for await (const c of g) n += c.length;
  await done;
  tarBytes = n;
});
await measure('read + gunzip stream (default chunkSize 16 KiB)', async () => {
  const g = zlib.createGunzip();
  const done = pipeline(readStream(), g);
  for await (const _ of g) { /* read */ }
  await done;
});
const gz = fs.readFileSync(aci);
let tar;
await measure('gunzipSync of the whole file in memory', () => {
  tar = zlib.gunzipSync(gz, { chunkSize: 1024 * 1024 });
});
const tarPath = path.join(S, 'big.tar');
fs.writeFileSync(tarPath, tar);
const chunks = [];
for (let o = 0; o < tar.length; o += 256 * 1024) chunks.push(tar.subarray(o, o + 256 * 1024));
await measure(`sha512 of the tar in memory (${(tarBytes / 1e6).toFixed(0)} MB, the image ID)`, () => {
  const h = createHash('sha512');
  for (const c of chunks) h.update(c);
  h.digest();
});
await measure('sha256 of the tar in memory (per-file digests)', () => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  h.digest();
});
await measure('write the tar to tmpfs with writeSync (the blob)', (i) => {
  const p = path.join(S, `blob-${i}`);
  const fd = fs.openSync(p, 'wx', 0o600);
  for (const c of chunks) fs.writeSync(fd, c);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.rmSync(p);
});
await measure('async-iterator hop: 256 KiB chunks through 3 async generators', async () => {
  async function* g(src) { for await (const c of src) yield c; }
  async function* base() { for (const c of chunks) yield c; }
  for await (const _ of g(g(g(base())))) { /* nothing */ }
});

// openpgp streaming verification alone, as src/verify/signature.ts drives it.
const pgp = await import('openpgp');
const key = await pgp.readKey({ armoredKey: fs.readFileSync(path.join(input, 'pubkey.asc'), 'utf8') });
const sigText = fs.readFileSync(`${aci}.asc`, 'utf8');
await measure('openpgp.verify streaming over the .aci (read to end)', async () => {
  const signature = await pgp.readSignature({ armoredSignature: sigText });
  const message = await pgp.createMessage({ binary: Readable.toWeb(readStream()) });
  const res = await pgp.verify({ message, signature, verificationKeys: [key], format: 'binary' });
  const reader = res.data.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  await res.signatures[0].verified;
}, '(sig digest: SHA-256)');
await measure('openpgp.verify with the file in memory (no streaming)', async () => {
  const signature = await pgp.readSignature({ armoredSignature: sigText });
  const message = await pgp.createMessage({ binary: gz });
  const res = await pgp.verify({ message, signature, verificationKeys: [key], format: 'binary' });
  await res.signatures[0].verified;
});

console.log('separate processes (GNU time: wall, user+sys cpu, peak rss):');
const home = gnupgHome(S);
run('gpg', ['--batch', '--quiet', '--import', path.join(input, 'pubkey.asc')], { env: { ...process.env, GNUPGHOME: home } });
const env = { ...process.env, GNUPGHOME: home };
tool('sha512sum big.aci', 'sha512sum', [aci]);
tool('gpg --verify big.aci.asc big.aci', 'gpg', ['--batch', '--quiet', '--verify', `${aci}.asc`, aci], { env });
tool('gzip -dc big.aci > /dev/null', 'bash', ['-c', `gzip -dc '${aci}' > /dev/null`]);
tool('tar -xzf big.aci', 'tar', (i) => ['-xzf', aci, '-C', path.join(S, `x${i}`)], { before: (i) => fs.mkdirSync(path.join(S, `x${i}`)), after: (i) => rmrf(path.join(S, `x${i}`)) });
tool('tar -xf big.tar (already decompressed)', 'tar', (i) => ['-xf', tarPath, '-C', path.join(S, `y${i}`)], { before: (i) => fs.mkdirSync(path.join(S, `y${i}`)), after: (i) => rmrf(path.join(S, `y${i}`)) });

const lc = path.join(S, 'lc');
const sc = path.join(S, 'sc');
fs.mkdirSync(lc);
fs.mkdirSync(sc);
run(CAPSULE, [`--dir=${path.join(S, 'ts')}`, `--local-config=${lc}`, `--system-config=${sc}`, 'trust', '--prefix', 'example.com/bench', '--skip-fingerprint-review', path.join(input, 'pubkey.asc')]);
const fetchArgs = (extra, file) => (i) => [`--dir=${path.join(S, `store-${i}`)}`, `--local-config=${lc}`, `--system-config=${sc}`, ...extra, 'fetch', file];
const clean = (i) => rmrf(path.join(S, `store-${i}`));
tool('capsule version (start-up)', CAPSULE, ['version']);
tool('capsule fetch big.aci (signed)', CAPSULE, fetchArgs([], aci), { after: clean });
tool('capsule fetch --insecure-options=image big.aci', CAPSULE, fetchArgs(['--insecure-options=image'], aci), { after: clean });
tool('capsule fetch --insecure-options=image big.tar (no gunzip)', CAPSULE, fetchArgs(['--insecure-options=image'], tarPath), { after: clean });
console.log(`(load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; 2 cores shared with other work inflate wall times)`);
