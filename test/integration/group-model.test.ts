/**
 * rkt's group model: members of the group owning a setgid data dir use the image store (fetch,
 * image list, image rm) and read pods (list, status); `image gc` and pod commands need root; a
 * user outside the group is refused by the file system. docs/permissions.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { makeTestUser, type TestUser } from '../helpers/test-user.js';

describe('a data dir shared with its group (setgid, group-owned)', () => {
  let w: World;
  let member: TestUser;
  let outsider: TestUser;
  let flags: string[];
  let rootImage: string;
  let userImage: string;
  const asMember = (args: string[]) => member.run([...flags, ...args]);

  beforeAll(async () => {
    w = makeWorld('capsule-pc-group-');
    member = makeTestUser('pc', true);
    outsider = makeTestUser('pc', false);
    fs.chmodSync(w.base, 0o755);
    const dir = path.join(w.base, 'shared');
    execFileSync('install', ['-d', '-m', '2750', '-g', member.group!.name, dir]);
    flags = [`--dir=${dir}`, `--local-config=${w.localConfig}`, `--system-config=${w.systemConfig}`];
    rootImage = path.join(w.base, 'root.aci');
    userImage = path.join(w.base, 'user.aci');
    fs.writeFileSync(rootImage, simpleAci('example.com/pc-group/root', [{ path: 'rootfs/etc/hello', body: 'root' }]), { mode: 0o644 });
    fs.writeFileSync(userImage, simpleAci('example.com/pc-group/user', [{ path: 'rootfs/etc/hello', body: 'user' }]), { mode: 0o644 });
    // Root sets the store up (its first fetch), as the package's tmpfiles entry would.
    const r = await w.run([...flags, '--insecure-options=image', 'fetch', rootImage]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    member.remove();
    outsider.remove();
    w.cleanup();
  });

  it('a member fetches; the blob and index are shared, no tree is rendered with the member as owner', async () => {
    const r = await asMember(['--insecure-options=image', 'fetch', userImage]);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const hex = id.slice('sha512-'.length);
    const blobs = path.join(flags[0]!.slice('--dir='.length), 'cas', 'blob', 'sha512', hex.slice(0, 2));
    const blob = fs.readdirSync(blobs).find((n) => n.startsWith(id));
    expect(blob).toBeDefined();
    const st = fs.statSync(path.join(blobs, blob!));
    expect(st.gid).toBe(member.group!.gid);
    expect(st.mode & 0o777).toBe(0o640);
    const trees = fs.readdirSync(path.join(flags[0]!.slice('--dir='.length), 'tree'));
    for (const t of trees) expect(fs.statSync(path.join(flags[0]!.slice('--dir='.length), 'tree', t)).uid).toBe(0);
  });

  it('a member lists every image, root\'s and its own', async () => {
    const r = await asMember(['image', 'list', '--no-legend']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('example.com/pc-group/root');
    expect(r.stdout).toContain('example.com/pc-group/user');
  });

  it('a member removes an image root fetched; root\'s image gc then removes its tree', async () => {
    const r = await asMember(['image', 'rm', 'example.com/pc-group/root']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^successfully removed aci for image: "sha512-[0-9a-f]{64}"\n$/);
    const listed = await asMember(['image', 'list', '--no-legend']);
    expect(listed.stdout).not.toContain('example.com/pc-group/root');
    const gc = await w.run([...flags, 'image', 'gc']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout + gc.stderr).toMatch(/removed treestore "deps-sha512-/);
  });

  it('a member runs list and status on a pod root prepared', async () => {
    const p = await w.run([...flags, '--insecure-options=image', 'prepare', 'example.com/pc-group/user', '--exec=/bin/true']);
    expect(p.code, p.stderr).toBe(0);
    const uuid = p.stdout.trim();
    try {
      const l = await asMember(['list', '--no-legend', '--full']);
      expect(l.code, l.stderr).toBe(0);
      expect(l.stdout).toContain(uuid);
      const s = await asMember(['status', uuid]);
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout).toMatch(/^state=prepared$/m);
    } finally {
      await w.run([...flags, 'rm', uuid]);
    }
  });

  it('image gc and the pod commands say they need root', async () => {
    for (const cmd of [['image', 'gc'], ['gc'], ['rm', 'x'], ['stop', 'x'], ['run', 'example.com/pc-group/user'], ['prepare', 'example.com/pc-group/user']]) {
      const r = await asMember(cmd);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([`${cmd[0] === 'image' ? 'image gc' : cmd[0]}: cannot run as unprivileged user`]);
    }
  });

  it('a user outside the group is refused by the file system, in one line', async () => {
    const r = await outsider.run([...flags, '--insecure-options=image', 'fetch', userImage]);
    expect(r.code).toBe(254);
    const lines = errorLines(r).filter((l) => !l.includes('warning:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fetch: .*permission denied/);
  });
});
