import { describe, expect, it } from 'vitest';
import { CAPSULE_DEFAULT_BLOCKLIST, SECCOMP_GROUPS, expandSeccompSet, seccompGroup } from '../../../src/spec/seccomp-groups.js';

describe('seccomp groups', () => {
  it("Capsule's default blocklist is the 49 syscalls of the brief, in order", () => {
    expect(CAPSULE_DEFAULT_BLOCKLIST.join(' ')).toBe(
      'acct add_key bpf clock_adjtime clock_settime create_module delete_module finit_module get_kernel_syms get_mempolicy init_module ioperm iopl kcmp kexec_file_load kexec_load keyctl lookup_dcookie mbind mount move_pages name_to_handle_at nfsservctl open_by_handle_at perf_event_open pivot_root process_vm_readv process_vm_writev ptrace query_module quotactl reboot request_key set_mempolicy setns settimeofday stime swapon swapoff sysfs _sysctl umount umount2 unshare uselib userfaultfd ustat vm86 vm86old',
    );
    expect(seccompGroup('@capsule/default-blocklist')).toEqual(CAPSULE_DEFAULT_BLOCKLIST);
  });

  const sizes: [string, number][] = [
    ['@appc.io/empty', 0],
    ['@docker/default-blacklist', 50],
    ['@rkt/default-blacklist', 50],
    ['@docker/default-whitelist', 381],
    ['@rkt/default-whitelist', 315],
    ['@systemd/clock', 7],
    ['@systemd/module', 3],
    ['@systemd/mount', 11],
    ['@systemd/raw-io', 5],
    ['@systemd/reboot', 3],
    ['@systemd/swap', 2],
    ['@systemd/obsolete', 26],
  ];
  for (const [g, n] of sizes) it(`${g}: ${n} syscalls`, () => expect(seccompGroup(g)).toHaveLength(n));

  const members: [string, string[], string[]][] = [
    ['@systemd/clock', ['adjtimex', 'clock_settime', 'settimeofday', 'stime'], ['clock_gettime']],
    ['@systemd/mount', ['mount', 'umount2', 'pivot_root', 'fsopen', 'move_mount'], ['unshare']],
    ['@systemd/reboot', ['reboot', 'kexec_load', 'kexec_file_load'], []],
    ['@systemd/swap', ['swapon', 'swapoff'], []],
    // Nested sets are expanded: @privileged includes @chown, @clock, @module, @raw-io, @reboot, @swap.
    ['@systemd/privileged', ['chown', 'adjtimex', 'init_module', 'iopl', 'reboot', 'swapon', 'sethostname', 'setuid'], ['@chown', 'setgid']],
    ['@systemd/system-service', ['read', 'openat', 'socket', 'clone', 'execve', 'futex', 'brk'], ['mount', 'reboot', '@default']],
    ['@systemd/default-whitelist', ['execve', 'exit_group', 'rt_sigreturn'], ['open']],
    ['@rkt/default-whitelist', ['read', 'clone', 'chroot', 'set_tls'], ['mount', 'reboot']],
    // moby's default.json today: what glibc 2.3x and static busybox call (rkt's old copy lacks them).
    ['@docker/default-whitelist', ['rseq', 'clone3', 'statx', 'faccessat2', 'close_range', 'clock_gettime64', 'openat2', 'ptrace'], ['mount', 'reboot', 'bpf', 'unshare', 'setns', 'kexec_load']],
    ['@docker/default-blacklist', ['adjtimex', 'mount', 'ptrace'], ['clone', 'personality']],
  ];
  for (const [g, has, hasNot] of members) {
    it(`${g} has ${has.join(', ')}`, () => {
      const set = seccompGroup(g);
      for (const s of has) expect(set).toContain(s);
      for (const s of hasNot) expect(set).not.toContain(s);
    });
  }

  it('every group expands to unique, plain syscall names', () => {
    for (const [name, list] of Object.entries(SECCOMP_GROUPS)) {
      expect([name, new Set(list).size]).toEqual([name, list.length]);
      for (const s of list) expect([name, s]).toEqual([name, expect.stringMatching(/^[a-z0-9_]+$/)]);
    }
  });

  const unknown = ['@systemd/nope', '@rkt/default', '@appc.io/all', '@foo', '@', '@capsule/default-blacklist', '@toString'];
  for (const g of unknown) it(`unknown group ${g}`, () => expect(() => seccompGroup(g)).toThrow(`unknown seccomp group ${JSON.stringify(g)}`));
});

describe('expandSeccompSet', () => {
  const cases: [string[], ReturnType<typeof expandSeccompSet>][] = [
    [['chmod', 'chown'], { syscalls: ['chmod', 'chown'], all: false, empty: false }],
    [['chmod', 'chmod'], { syscalls: ['chmod'], all: false, empty: false }],
    [['@appc.io/all'], { syscalls: [], all: true, empty: false }],
    [['@appc.io/empty'], { syscalls: [], all: false, empty: true }],
    [['reboot', '@systemd/reboot', 'ptrace'], { syscalls: ['reboot', 'kexec_file_load', 'kexec_load', 'ptrace'], all: false, empty: false }],
  ];
  for (const [set, want] of cases) it(JSON.stringify(set), () => expect(expandSeccompSet(set)).toEqual(want));

  const bad: [string[], string][] = [
    [['@nope/x'], 'unknown seccomp group "@nope/x"'],
    [['Chmod'], 'bad syscall name "Chmod"'],
    [['chmod;'], 'bad syscall name "chmod;"'],
    [[''], 'bad syscall name ""'],
  ];
  for (const [set, msg] of bad) it(`rejects ${JSON.stringify(set)}`, () => expect(() => expandSeccompSet(set)).toThrow(msg));
});
