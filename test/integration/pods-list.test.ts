import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, expandTabs, makeWorld, tabCells, type RunResult, type World } from '../helpers/cli.js';
import { fakePod, fakeUuid, imageIdOf, lockFileOf, lockHolders } from './pods-fixtures.js';

/** list, status, cat-manifest and logs through the real CLI, on pods made by hand on disk. */
let w: World;
const run = (args: string[]): Promise<RunResult> => w.run(args,);
const hold = lockHolders(() => w);

beforeAll(() => {
  w = makeWorld();
});
afterAll(() => w.cleanup());

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
const cols = tabCells;

describe('capsule list', () => {
  it('no pods: just the legend, or nothing with --no-legend; JSON: []', async () => {
    const r = await run(['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['UUID\tAPP\tIMAGE NAME\tSTATE\tCREATED\tSTARTED\tNETWORKS']);
    expect((await run(['list', '--no-legend'])).stdout).toBe('');
    expect(JSON.parse((await run(['list', '--format', 'json'])).stdout)).toEqual([]);
  });

  it("rkt's columns: one row per app, pod columns on the first row only, short UUID and humanized times", async () => {
    const created = new Date(Date.now() - 7 * 60_000);
    const started = new Date(Date.now() - 5 * 60_000);
    const { uuid } = fakePod(w.dir, 'run', {
      created,
      startedAt: started,
      ppid: 999_999_999,
      apps: [
        { name: 'redis', image: 'registry-1.docker.io/library/redis', version: '3.2', exit: 0 },
        { name: 'etcd', image: 'coreos.com/etcd', version: 'v2.0.0', exit: 1 },
      ],
      nets: [{ netName: 'default', ip: '172.16.28.7' }],
    });
    const r = await run(['list']);
    expect(r.code, r.stderr).toBe(0);
    const [legend, first, second] = lines(r.stdout);
    expect(cols(legend!)).toEqual(['UUID', 'APP', 'IMAGE NAME', 'STATE', 'CREATED', 'STARTED', 'NETWORKS']);
    expect(cols(first!)).toEqual([uuid.slice(0, 8), 'redis', 'registry-1.docker.io/library/redis:3.2', 'exited', '7 minutes ago', '5 minutes ago', 'default:ip4=172.16.28.7']);
    expect(second!.startsWith('\t')).toBe(true);
    expect(cols(second!)).toEqual(['etcd', 'coreos.com/etcd:v2.0.0']);
    // Columns line up with the legend.
    expect(expandTabs(second!).indexOf('etcd')).toBe(expandTabs(legend!).indexOf('APP'));
  });

  it('--full: whole UUID, full IMAGE ID (the store key, as image list --full shows it), absolute times', async () => {
    const created = new Date('2024-01-02T03:04:05.250Z');
    const { uuid } = fakePod(w.dir, 'prepared', { created, apps: [{ name: 'web', imageId: imageIdOf(0xab) }] });
    const r = await run(['list', '--full', '--no-legend']);
    expect(r.code, r.stderr).toBe(0);
    expect(cols(lines(r.stdout)[0]!)).toEqual([uuid, 'web', 'example.com/web', `sha512-${'ab'.repeat(32)}`, 'prepared', '2024-01-02 03:04:05.25 +0000 UTC']);
  });

  it('states from directory and lock: running, preparing, aborted prepare, prepared, exited, exited garbage; not embryo or garbage', async () => {
    const running = fakePod(w.dir, 'run', { uuid: fakeUuid('a0000001'), apps: [{ name: 'x', started: true }] }).uuid;
    const exited = fakePod(w.dir, 'run', { uuid: fakeUuid('a0000002') }).uuid;
    const preparing = fakePod(w.dir, 'prepare', { uuid: fakeUuid('a0000003') }).uuid;
    const aborted = fakePod(w.dir, 'prepare', { uuid: fakeUuid('a0000004') }).uuid;
    const prepared = fakePod(w.dir, 'prepared', { uuid: fakeUuid('a0000005') }).uuid;
    const marked = fakePod(w.dir, 'exited-garbage', { uuid: fakeUuid('a0000006') }).uuid;
    fakePod(w.dir, 'garbage');
    fakePod(w.dir, 'embryo');
    await hold(running);
    await hold(preparing);
    const r = await run(['list', '--no-legend']);
    expect(r.code, r.stderr).toBe(0);
    const state = new Map(lines(r.stdout).map((l) => [cols(l)[0]!, cols(l)[3]!]));
    expect(Object.fromEntries(state)).toEqual({
      [running.slice(0, 8)]: 'running',
      [exited.slice(0, 8)]: 'exited',
      [preparing.slice(0, 8)]: 'preparing',
      [aborted.slice(0, 8)]: 'aborted prepare',
      [prepared.slice(0, 8)]: 'prepared',
      [marked.slice(0, 8)]: 'exited garbage',
    });
  });

  it('a pod without a readable manifest shows "-"', async () => {
    const { uuid } = fakePod(w.dir, 'run', { noManifest: true });
    const r = await run(['list', '--no-legend']);
    expect(cols(lines(r.stdout)[0]!)).toEqual([uuid.slice(0, 8), '-', '-', 'exited', expect.stringMatching(/ago$/)]);
  });

  it("--format json: rkt's lib.Pod keys in Capsule's one shape (RFC 3339 times, snake_case, every key)", async () => {
    const created = new Date('2024-01-02T03:04:05Z');
    const started = new Date('2024-01-02T03:04:06Z');
    const { uuid } = fakePod(w.dir, 'run', { created, startedAt: started, ppid: 999_999_999, apps: [{ name: 'a', started: true, exit: 2 }, { name: 'b' }], nets: [{ netName: 'default', ip: '10.0.0.2' }] });
    const r = await run(['list', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const [pod] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(pod).toMatchObject({
      name: uuid,
      state: 'exited',
      networks: [{ net_name: 'default', ip: '10.0.0.2' }],
      app_names: ['a', 'b'],
      created_at: created.toISOString(),
      started_at: started.toISOString(),
    });
    const apps = pod!.apps as Array<Record<string, unknown>>;
    expect(apps[0]).toMatchObject({ name: 'a', state: 'exited', exit_code: 2, image_id: imageIdOf(1).slice(0, 'sha512-'.length + 64) });
    expect(apps[1]).toMatchObject({ name: 'b', state: 'exited', exit_code: null });
    const pretty = await run(['list', '--format', 'json-pretty']);
    expect(pretty.stdout).toContain('\n\t{\n\t\t"name"');
  });

  // How fast is bench/pod-scale.mjs's business; this checks all 1,000 rows and their order.
  it('1,000 exited pods, in rkt\'s order', async () => {
    for (let i = 0; i < 1000; i++) {
      const { uuid } = fakePod(w.dir, 'run', { ppid: 999_999_999, apps: [{ name: 'app', started: true, exit: 0 }] });
      fs.writeFileSync(lockFileOf(w.runtimeDir, uuid), '');
    }
    const r = await run(['list']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1001);
    // rkt's order: by directory, then UUID.
    const uuids = lines(r.stdout).slice(1).map((l) => cols(l)[0]!);
    expect(uuids).toEqual([...uuids].sort());
  });
});

describe('capsule status', () => {
  it("a running pod: rkt's key=value lines, no app codes while running", async () => {
    const started = new Date('2024-05-06T07:08:09Z');
    const created = new Date('2024-05-06T07:08:00Z');
    const { uuid } = fakePod(w.dir, 'run', { created, startedAt: started, pid: 4242, apps: [{ name: 'a', started: true, exit: 0 }], nets: [{ netName: 'default', ip: '10.1.1.1' }] });
    await hold(uuid);
    const r = await run(['status', uuid.slice(0, 8)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(['state=running', 'created=2024-05-06 07:08:00 +0000 UTC', 'started=2024-05-06 07:08:09 +0000 UTC', 'networks=default:ip4=10.1.1.1', 'pid=4242', 'exited=false', ''].join('\n'));
  });

  it('an exited pod: exited=true and app-<name>=<code> for apps that ended', async () => {
    const { uuid } = fakePod(w.dir, 'run', { created: new Date('2024-05-06T07:08:00Z'), apps: [{ name: 'a', exit: 0 }, { name: 'b', exit: 137 }, { name: 'c' }] });
    const r = await run(['status', uuid]);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['state=exited', 'created=2024-05-06 07:08:00 +0000 UTC', 'networks=', 'exited=true', 'app-a=0', 'app-b=137']);
  });

  it('prepared pods show only state and created; --uuid-file works; JSON too', async () => {
    const { uuid } = fakePod(w.dir, 'prepared', { created: new Date('2024-05-06T07:08:00Z') });
    const file = path.join(w.base, 'uuid');
    fs.writeFileSync(file, `${uuid}\n`);
    const r = await run(['status', '--uuid-file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['state=prepared', 'created=2024-05-06 07:08:00 +0000 UTC']);
    const j = await run(['status', '--format=json', uuid]);
    expect(JSON.parse(j.stdout)).toMatchObject({ name: uuid, state: 'prepared', apps: [{ name: 'app', state: 'created' }] });
  });

  it("unknown, ambiguous and empty UUIDs: rkt's messages, 254", async () => {
    fakePod(w.dir, 'run', { uuid: fakeUuid('bbbb0001') });
    fakePod(w.dir, 'run', { uuid: fakeUuid('bbbb0002') });
    for (const [arg, msg] of [
      ['cccc', 'status: no matches found for "cccc"'],
      ['bbbb', 'status: ambiguous uuid, 2 matches'],
    ]) {
      const r = await run(['status', arg!]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([msg]);
    }
    const empty = path.join(w.base, 'empty');
    fs.writeFileSync(empty, '\n');
    const r = await run(['status', '--uuid-file', empty]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['status: UUID cannot be empty']);
  });

  it('--wait returns once the pod ends; --wait=<dur> times out on a pod that keeps running', async () => {
    const { uuid } = fakePod(w.dir, 'run', { apps: [{ name: 'a', started: true }] });
    const h = await hold(uuid);
    const timed = await run(['status', '--wait=300ms', uuid]);
    expect(timed.code).toBe(254);
    expect(errorLines(timed)).toEqual([`status: timed out waiting for pod "${uuid}" to exit`]);
    const waiting = run(['status', '--wait', uuid]);
    await new Promise((r) => setTimeout(r, 500));
    fs.writeFileSync(path.join(w.dir, 'pods', 'run', uuid, 'status', 'a'), '0\n');
    await h.kill('SIGTERM');
    const r = await waiting;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('state=exited');
    expect(r.stdout).toContain('app-a=0');
  });

  it('--wait-ready returns once every app has started', async () => {
    const { uuid, dir } = fakePod(w.dir, 'run', { apps: [{ name: 'a' }] });
    await hold(uuid);
    const waiting = run(['status', '--wait-ready=10s', uuid]);
    await new Promise((r) => setTimeout(r, 400));
    fs.writeFileSync(path.join(dir, 'status', 'a.started'), '');
    const r = await waiting;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('state=running');
  });

  it('works for unprivileged users (list and status are not root-gated)', async () => {
    fakePod(w.dir, 'run');
    for (const d of [w.base, w.dir, path.join(w.dir, 'pods'), path.join(w.dir, 'pods', 'run')]) fs.chmodSync(d, 0o755);
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CAPSULE, ...w.flags, 'list', '--no-legend'], { env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir } });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (code) => resolve({ code, out, err }));
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('exited');
  });
});

describe('capsule cat-manifest', () => {
  it('prints the pod manifest, pretty by default, as stored with --pretty-print=false', async () => {
    const { uuid, dir } = fakePod(w.dir, 'prepared');
    const text = fs.readFileSync(path.join(dir, 'pod'), 'utf8');
    const r = await run(['cat-manifest', uuid.slice(0, 6)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify(JSON.parse(text), null, '\t')}\n`);
    const raw = await run(['cat-manifest', '--pretty-print=false', uuid]);
    expect(raw.stdout).toBe(`${text}\n`);
    const bare = await run(['cat-manifest', '--pretty-print', uuid]);
    expect(bare.stdout).toBe(r.stdout);
    const file = path.join(w.base, 'uuid');
    fs.writeFileSync(file, uuid);
    expect((await run(['cat-manifest', '--uuid-file', file])).stdout).toBe(r.stdout);
  });
});

describe('capsule logs', () => {
  it('one app: its log; several: prefixed lines; --app: one of them', async () => {
    const one = fakePod(w.dir, 'run', { uuid: fakeUuid('10000001'), apps: [{ name: 'web', log: 'GET /\nGET /x\n' }] });
    let r = await run(['logs', one.uuid]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('GET /\nGET /x\n');
    const two = fakePod(w.dir, 'run', { uuid: fakeUuid('10000002'), apps: [{ name: 'web', log: 'w1\n' }, { name: 'db', log: 'd1\nd2\n' }] });
    r = await run(['logs', two.uuid]);
    expect(r.stdout).toBe('web: w1\ndb: d1\ndb: d2\n');
    r = await run(['logs', '--app', 'db', two.uuid]);
    expect(r.stdout).toBe('d1\nd2\n');
    r = await run(['logs', '--app', 'nope', two.uuid]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
  });

  it('--tail N: the last N lines of each app (a last line without newline counts); a bad N is refused', async () => {
    const { uuid } = fakePod(w.dir, 'run', { apps: [{ name: 'web', log: 'a\nb\nc\nd' }, { name: 'db', log: 'x\ny\n' }] });
    let r = await run(['logs', '--tail', '2', uuid]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('web: c\nweb: d\ndb: x\ndb: y\n');
    r = await run(['logs', '--tail=1', '--app', 'db', uuid]);
    expect(r.stdout).toBe('y\n');
    r = await run(['logs', '--tail', '0', '--app', 'db', uuid]);
    expect(r.stdout).toBe('');
    r = await run(['logs', '--tail', 'lots', uuid]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['logs: invalid value "lots" for --tail: a number of lines']);
  });

  it('--since and --timestamps date each line by the times the helper wrote next to the log', async () => {
    const log = 'old\nmid\nnew1\nnew2\n';
    const { uuid, dir } = fakePod(w.dir, 'run', { apps: [{ name: 'web', log }] });
    const t0 = Math.floor(Date.now() / 1000) - 3 * 3600; // three hours ago, then two, then one
    // Chunks: "old\n" and "mid\nne" three and two hours ago; "w1\nnew2\n" an hour ago (a line
    // is dated by the chunk of its first byte).
    fs.writeFileSync(path.join(dir, 'logs', 'web.times'), `0 ${t0}.000000000\n4 ${t0 + 3600}.250000000\n10 ${t0 + 7200}.000000001\n`);
    const iso = (sec: number, frac: string): string => new Date(sec * 1000).toISOString().replace(/\.000Z$/, `.${frac}Z`);
    let r = await run(['logs', '--timestamps', uuid]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${iso(t0, '000000000')} old\n${iso(t0 + 3600, '250000000')} mid\n${iso(t0 + 3600, '250000000')} new1\n${iso(t0 + 7200, '000000001')} new2\n`);
    r = await run(['logs', '--since', '90m', uuid]);
    expect(r.stdout).toBe('new2\n');
    r = await run(['logs', '--since', '150m', uuid]);
    expect(r.stdout).toBe('mid\nnew1\nnew2\n');
    r = await run(['logs', '--since', new Date((t0 + 3600) * 1000).toISOString(), '--tail', '1', uuid]);
    expect(r.stdout).toBe('new2\n');
    r = await run(['logs', '--since', new Date((t0 + 3600) * 1000).toISOString(), '--tail', '5', uuid]);
    expect(r.stdout).toBe('mid\nnew1\nnew2\n');
    r = await run(['logs', '--since', '1m', uuid]);
    expect(r.stdout).toBe('');
    r = await run(['logs', '--since', 'yesterday', uuid]);
    expect(r.code).toBe(254);
    expect(errorLines(r)[0]).toMatch(/^logs: invalid value "yesterday" for --since: a duration/);
  });

  it('--timestamps on a log without times says so in one line', async () => {
    const { uuid } = fakePod(w.dir, 'run', { apps: [{ name: 'web', log: 'one\n' }] });
    const r = await run(['logs', '--timestamps', uuid]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['logs: app "web": its log has no times (written before capsule kept them), needed by --since and --timestamps']);
  });

  it('--follow prints new output until the pod ends, then exits 0', async () => {
    const { uuid, dir } = fakePod(w.dir, 'run', { apps: [{ name: 'web', log: 'one\n' }] });
    const h = await hold(uuid);
    const following = run(['logs', '--follow', uuid]);
    await new Promise((r) => setTimeout(r, 500));
    fs.appendFileSync(path.join(dir, 'logs', 'web.log'), 'two\n');
    await new Promise((r) => setTimeout(r, 400));
    fs.appendFileSync(path.join(dir, 'logs', 'web.log'), 'three\n');
    await h.kill('SIGTERM');
    const r = await following;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('one\ntwo\nthree\n');
  });
});
