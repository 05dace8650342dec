import { CapsuleError } from '../errors/capsule-error.js';

/**
 * Scoped seccomp wildcards (`@scope/name`) usable in seccomp isolators and `--seccomp`, expanded
 * here to plain syscall names. Names a kernel or libseccomp does not know on the running
 * architecture are skipped by stage1, so the lists may name syscalls of other architectures.
 */

/** appc: in a retain set, every syscall (no filter at all). */
export const APPC_ALL = '@appc.io/all';
/** appc: the empty set, i.e. only the implementation's defaults. */
export const APPC_EMPTY = '@appc.io/empty';

/** Docker's default blocklist as rkt copied it (stage1/init/common/seccomp_wildcards.go). */
const DOCKER_BLOCKLIST = [
  'acct', 'add_key', 'adjtimex', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module',
  'finit_module', 'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load',
  'kexec_load', 'keyctl', 'lookup_dcookie', 'mbind', 'mount', 'move_pages', 'name_to_handle_at', 'nfsservctl',
  'open_by_handle_at', 'perf_event_open', 'pivot_root', 'process_vm_readv', 'process_vm_writev', 'ptrace',
  'query_module', 'quotactl', 'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapon',
  'swapoff', 'sysfs', '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
];

/** Docker's default allowlist as rkt copied it (same file): rkt's @rkt/default-whitelist. */
const RKT_DOCKER_ALLOWLIST = [
  'accept', 'accept4', 'access', 'alarm', 'bind', 'brk', 'capget', 'capset', 'chdir', 'chmod', 'chown', 'chown32',
  'clock_getres', 'clock_gettime', 'clock_nanosleep', 'close', 'connect', 'copy_file_range', 'creat', 'dup', 'dup2',
  'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_wait', 'epoll_wait_old',
  'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'fadvise64', 'fadvise64_64',
  'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64',
  'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64',
  'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64', 'futex', 'futimesat', 'getcpu', 'getcwd',
  'getdents', 'getdents64', 'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups',
  'getgroups32', 'getitimer', 'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom',
  'getresgid', 'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage', 'getsid',
  'getsockname', 'getsockopt', 'get_thread_area', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr',
  'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'ioctl', 'io_destroy',
  'io_getevents', 'ioprio_get', 'ioprio_set', 'io_setup', 'io_submit', 'ipc', 'kill', 'lchown', 'lchown32',
  'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', '_llseek', 'lremovexattr', 'lseek', 'lsetxattr',
  'lstat', 'lstat64', 'madvise', 'memfd_create', 'mincore', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2',
  'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedsend',
  'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap',
  'nanosleep', 'newfstatat', '_newselect', 'open', 'openat', 'pause', 'personality', 'pipe', 'pipe2', 'poll', 'ppoll',
  'prctl', 'pread64', 'preadv', 'prlimit64', 'pselect6', 'pwrite64', 'pwritev', 'read', 'readahead', 'readlink',
  'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmsg', 'remap_file_pages', 'removexattr', 'rename',
  'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask',
  'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_tgsigqueueinfo', 'sched_getaffinity',
  'sched_getattr', 'sched_getparam', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getscheduler',
  'sched_rr_get_interval', 'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler',
  'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop', 'semtimedop', 'send', 'sendfile', 'sendfile64',
  'sendmmsg', 'sendmsg', 'sendto', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32',
  'setgroups', 'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid',
  'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid',
  'setsockopt', 'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt',
  'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigreturn', 'socket', 'socketcall', 'socketpair',
  'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs',
  'sysinfo', 'syslog', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete', 'timerfd_create', 'timerfd_gettime',
  'timerfd_settime', 'timer_getoverrun', 'timer_gettime', 'timer_settime', 'times', 'tkill', 'truncate', 'truncate64',
  'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimes', 'vfork', 'vmsplice', 'wait4',
  'waitid', 'waitpid', 'write', 'writev', 'arch_prctl', 'modify_ldt', 'chroot', 'clone',
];

/**
 * Docker's whole default allow list today (moby/profiles seccomp/default.json): every name it
 * allows to a process without extra capabilities, on any architecture (names unknown here are
 * skipped by stage1). Entries docker restricts by argument (socket, personality, clone) are
 * allowed whole: a name list carries no argument rules. clone3 is added: docker answers it with
 * ENOSYS so that glibc falls back to clone, and a list cannot carry a per-call errno, so without it
 * every glibc posix_spawn would be killed; new namespaces still need CAP_SYS_ADMIN.
 */
const DOCKER_ALLOWLIST = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'cachestat', 'capget', 'capset', 'chdir',
  'chmod', 'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64',
  'clock_gettime', 'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect',
  'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old',
  'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit',
  'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir',
  'fchmod', 'fchmodat', 'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr',
  'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs',
  'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait',
  'futex_waitv', 'futex_wake', 'futimesat', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid', 'getegid32',
  'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer', 'getpeername', 'getpgid',
  'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32', 'getresuid', 'getresuid32',
  'getrlimit', 'get_robust_list', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'get_thread_area', 'gettid',
  'gettimeofday', 'getuid', 'getuid32', 'getxattr', 'getxattrat', 'inotify_add_watch', 'inotify_init',
  'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'ioctl', 'io_destroy', 'io_getevents', 'io_pgetevents',
  'io_pgetevents_time64', 'ioprio_get', 'ioprio_set', 'io_setup', 'io_submit', 'ipc', 'kill', 'landlock_add_rule',
  'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen',
  'listmount', 'listxattr', 'listxattrat', 'llistxattr', '_llseek', 'lremovexattr', 'lseek', 'lsetxattr', 'lstat',
  'lstat64', 'madvise', 'map_shadow_stack', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir',
  'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr',
  'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64',
  'mq_unlink', 'mremap', 'mseal', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap',
  'name_to_handle_at', 'nanosleep', 'newfstatat', '_newselect', 'open', 'openat', 'openat2', 'pause', 'pidfd_open',
  'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64',
  'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64', 'process_mrelease', 'pselect6', 'pselect6_time64',
  'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom',
  'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'remap_file_pages', 'removexattr', 'removexattrat', 'rename', 'renameat',
  'renameat2', 'restart_syscall', 'riscv_hwprobe', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending',
  'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
  'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
  'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
  'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select',
  'semctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg',
  'sendmsg', 'sendto', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups',
  'setgroups32', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32',
  'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid', 'setsockopt',
  'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'setxattrat', 'shmat', 'shmctl', 'shmdt',
  'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall',
  'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statmount', 'statx', 'symlink', 'symlinkat',
  'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete',
  'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create',
  'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times', 'tkill', 'truncate',
  'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'uretprobe', 'utime', 'utimensat',
  'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
  'process_vm_readv', 'process_vm_writev', 'ptrace', 'socket', 'personality', 'sync_file_range2', 'swapcontext',
  'arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'arch_prctl', 'modify_ldt',
  's390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr', 'riscv_flush_icache', 'clone',
  'clone3',
];

/** rkt adds these to its allowlist on arm/arm64; listed always (unknown names are skipped elsewhere). */
const RKT_ARM_ALLOWLIST = ['arm_fadvise64_64', 'arm_sync_file_range', 'breakpoint', 'cacheflush', 'set_tls', 'sync_file_range2'];

/**
 * Capsule's filter for an app with no seccomp isolator: a remove set (errno EPERM) of syscalls
 * that change the host kernel, clock, keyrings or other namespaces, or inspect other processes.
 */
export const CAPSULE_DEFAULT_BLOCKLIST: readonly string[] = [
  'acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module', 'finit_module',
  'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load', 'kexec_load',
  'keyctl', 'lookup_dcookie', 'mbind', 'mount', 'move_pages', 'name_to_handle_at', 'nfsservctl', 'open_by_handle_at',
  'perf_event_open', 'pivot_root', 'process_vm_readv', 'process_vm_writev', 'ptrace', 'query_module', 'quotactl',
  'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime', 'swapon', 'swapoff', 'sysfs', '_sysctl',
  'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old',
];
export const CAPSULE_DEFAULT_ERRNO = 'EPERM';

/**
 * Added to every retain set: stage1 loads the filter and then execs the app, and the app must be
 * able to exit and return from signal handlers (appc lets an implementation add such a minimal
 * lifecycle allowlist).
 */
export const RETAIN_LIFECYCLE: readonly string[] = ['execve', 'exit', 'exit_group', 'rt_sigreturn', 'sigreturn'];

/** systemd's syscall filter sets (src/shared/seccomp-util.c, v247), `@name` entries nest. */
const SYSTEMD: Record<string, readonly string[]> = {
  default: [
    'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep',
    'clock_nanosleep_time64', 'execve', 'exit', 'exit_group', 'futex', 'futex_time64', 'get_robust_list',
    'get_thread_area', 'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups',
    'getgroups32', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getresgid', 'getresgid32', 'getresuid', 'getresuid32',
    'getrlimit', 'getsid', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'membarrier', 'nanosleep', 'pause',
    'prlimit64', 'restart_syscall', 'rseq', 'rt_sigreturn', 'sched_yield', 'set_robust_list', 'set_thread_area',
    'set_tid_address', 'set_tls', 'sigreturn', 'time', 'ugetrlimit',
  ],
  aio: ['io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit', 'io_uring_enter', 'io_uring_register', 'io_uring_setup'],
  'basic-io': ['_llseek', 'close', 'dup', 'dup2', 'dup3', 'lseek', 'pread64', 'preadv', 'preadv2', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readv', 'write', 'writev'],
  chown: ['chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32'],
  clock: ['adjtimex', 'clock_adjtime', 'clock_adjtime64', 'clock_settime', 'clock_settime64', 'settimeofday', 'stime'],
  'cpu-emulation': ['modify_ldt', 'subpage_prot', 'switch_endian', 'vm86', 'vm86old'],
  debug: ['lookup_dcookie', 'perf_event_open', 'pidfd_getfd', 'ptrace', 'rtas', 'sys_debug_setcontext'],
  'file-system': [
    'access', 'chdir', 'chmod', 'close', 'creat', 'faccessat', 'faccessat2', 'fallocate', 'fchdir', 'fchmod',
    'fchmodat', 'fcntl', 'fcntl64', 'fgetxattr', 'flistxattr', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64',
    'fstatat64', 'fstatfs', 'fstatfs64', 'ftruncate', 'ftruncate64', 'futimesat', 'getcwd', 'getdents', 'getdents64',
    'getxattr', 'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'lgetxattr', 'link',
    'linkat', 'listxattr', 'llistxattr', 'lremovexattr', 'lsetxattr', 'lstat', 'lstat64', 'mkdir', 'mkdirat', 'mknod',
    'mknodat', 'mmap', 'mmap2', 'munmap', 'newfstatat', 'oldfstat', 'oldlstat', 'oldstat', 'open', 'openat', 'openat2',
    'readlink', 'readlinkat', 'removexattr', 'rename', 'renameat', 'renameat2', 'rmdir', 'setxattr', 'stat', 'stat64',
    'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'truncate', 'truncate64', 'unlink', 'unlinkat', 'utime',
    'utimensat', 'utimensat_time64', 'utimes',
  ],
  'io-event': ['_newselect', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'poll', 'ppoll', 'ppoll_time64', 'pselect6', 'pselect6_time64', 'select'],
  ipc: [
    'ipc', 'memfd_create', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64',
    'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'pipe', 'pipe2',
    'process_vm_readv', 'process_vm_writev', 'semctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'shmat',
    'shmctl', 'shmdt', 'shmget',
  ],
  keyring: ['add_key', 'keyctl', 'request_key'],
  memlock: ['mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall'],
  module: ['delete_module', 'finit_module', 'init_module'],
  mount: ['chroot', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'mount', 'move_mount', 'open_tree', 'pivot_root', 'umount', 'umount2'],
  'network-io': [
    'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'listen', 'recv', 'recvfrom',
    'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'send', 'sendmmsg', 'sendmsg', 'sendto', 'setsockopt', 'shutdown',
    'socket', 'socketcall', 'socketpair',
  ],
  obsolete: [
    '_sysctl', 'afs_syscall', 'bdflush', 'break', 'create_module', 'ftime', 'get_kernel_syms', 'getpmsg', 'gtty',
    'idle', 'lock', 'mpx', 'prof', 'profil', 'putpmsg', 'query_module', 'security', 'sgetmask', 'ssetmask', 'stty',
    'sysfs', 'tuxcall', 'ulimit', 'uselib', 'ustat', 'vserver',
  ],
  pkey: ['pkey_alloc', 'pkey_free', 'pkey_mprotect'],
  privileged: [
    '@chown', '@clock', '@module', '@raw-io', '@reboot', '@swap', '_sysctl', 'acct', 'bpf', 'capset', 'chroot',
    'fanotify_init', 'fanotify_mark', 'nfsservctl', 'open_by_handle_at', 'pivot_root', 'quotactl', 'setdomainname',
    'setfsuid', 'setfsuid32', 'setgroups', 'setgroups32', 'sethostname', 'setresuid', 'setresuid32', 'setreuid',
    'setreuid32', 'setuid', 'setuid32', 'vhangup',
  ],
  process: [
    'arch_prctl', 'capget', 'clone', 'clone3', 'execveat', 'fork', 'getrusage', 'kill', 'pidfd_open',
    'pidfd_send_signal', 'prctl', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'setns', 'swapcontext', 'tgkill', 'times',
    'tkill', 'unshare', 'vfork', 'wait4', 'waitid', 'waitpid',
  ],
  'raw-io': ['ioperm', 'iopl', 'pciconfig_iobase', 'pciconfig_read', 'pciconfig_write'],
  reboot: ['kexec_file_load', 'kexec_load', 'reboot'],
  resources: ['ioprio_set', 'mbind', 'migrate_pages', 'move_pages', 'nice', 'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'set_mempolicy', 'setpriority', 'setrlimit'],
  setuid: ['setgid', 'setgid32', 'setgroups', 'setgroups32', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid', 'setreuid32', 'setuid', 'setuid32'],
  signal: ['rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'sigaction', 'sigaltstack', 'signal', 'signalfd', 'signalfd4', 'sigpending', 'sigprocmask', 'sigsuspend'],
  swap: ['swapoff', 'swapon'],
  sync: ['fdatasync', 'fsync', 'msync', 'sync', 'sync_file_range', 'sync_file_range2', 'syncfs'],
  'system-service': [
    '@aio', '@basic-io', '@chown', '@default', '@file-system', '@io-event', '@ipc', '@keyring', '@memlock',
    '@network-io', '@process', '@resources', '@setuid', '@signal', '@sync', '@timer', 'brk', 'capget', 'capset',
    'copy_file_range', 'fadvise64', 'fadvise64_64', 'flock', 'get_mempolicy', 'getcpu', 'getpriority', 'getrandom',
    'ioctl', 'ioprio_get', 'kcmp', 'madvise', 'mprotect', 'mremap', 'name_to_handle_at', 'oldolduname', 'olduname',
    'personality', 'readahead', 'readdir', 'remap_file_pages', 'sched_get_priority_max', 'sched_get_priority_min',
    'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_getscheduler', 'sched_rr_get_interval',
    'sched_rr_get_interval_time64', 'sched_yield', 'sendfile', 'sendfile64', 'setfsgid', 'setfsgid32', 'setfsuid',
    'setfsuid32', 'setpgid', 'setsid', 'splice', 'sysinfo', 'tee', 'umask', 'uname', 'userfaultfd', 'vmsplice',
  ],
  timer: [
    'alarm', 'getitimer', 'setitimer', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime',
    'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64',
    'timerfd_settime', 'timerfd_settime64', 'times',
  ],
};

function systemdSet(name: string, seen: Set<string> = new Set()): string[] {
  const list = SYSTEMD[name];
  if (!list || seen.has(name)) throw new Error(`seccomp-groups: bad systemd set ${name}`);
  seen.add(name);
  return list.flatMap((s) => (s.startsWith('@') ? systemdSet(s.slice(1), new Set(seen)) : [s]));
}

const uniq = (xs: readonly string[]): string[] => [...new Set(xs)];

/** Every group Capsule knows, expanded (`@appc.io/all` is not a list: see {@link expandSeccompSet}). */
export const SECCOMP_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  [APPC_EMPTY]: [],
  '@rkt/default-blacklist': DOCKER_BLOCKLIST,
  '@rkt/default-whitelist': uniq([...RKT_DOCKER_ALLOWLIST, ...RKT_ARM_ALLOWLIST]),
  '@docker/default-blacklist': DOCKER_BLOCKLIST,
  '@docker/default-whitelist': DOCKER_ALLOWLIST,
  '@capsule/default-blocklist': CAPSULE_DEFAULT_BLOCKLIST,
  // rkt's name for systemd's @default.
  '@systemd/default-whitelist': systemdSet('default'),
  ...Object.fromEntries(Object.keys(SYSTEMD).map((n) => [`@systemd/${n}`, uniq(systemdSet(n))])),
});

/** Syscalls of one group; an unknown group is an error naming it. */
export function seccompGroup(name: string): readonly string[] {
  const g = Object.hasOwn(SECCOMP_GROUPS, name) ? SECCOMP_GROUPS[name] : undefined;
  if (g === undefined) throw new CapsuleError('invalid-seccomp', `unknown seccomp group ${JSON.stringify(name)}`);
  return g;
}

export interface ExpandedSeccompSet {
  /** Plain syscall names, groups expanded, duplicates dropped, first occurrence order kept. */
  syscalls: string[];
  /** The set named `@appc.io/all`. */
  all: boolean;
  /** The set named `@appc.io/empty`. */
  empty: boolean;
}

/** Expands the groups of a seccomp set; every entry is either a syscall name or a known `@group`. */
export function expandSeccompSet(set: readonly string[]): ExpandedSeccompSet {
  const out: string[] = [];
  let all = false;
  let empty = false;
  for (const s of set) {
    if (s === APPC_ALL) all = true;
    else if (s.startsWith('@')) {
      if (s === APPC_EMPTY) empty = true;
      out.push(...seccompGroup(s));
    } else {
      if (!/^[a-z0-9_]+$/.test(s)) throw new CapsuleError('invalid-seccomp', `bad syscall name ${JSON.stringify(s)}`);
      out.push(s);
    }
  }
  return { syscalls: uniq(out), all, empty };
}
