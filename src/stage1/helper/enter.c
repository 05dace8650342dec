/*
 * `capsule-stage1 enter PLAN APP PID [--tty] -- CMD...`: runs CMD inside APP of a running pod;
 * with --tty on a fresh pty of the pod's (pty.h), else on the caller's stdio in a new session.
 */
#include "common.h"
#include "isolation.h"
#include "modes.h"
#include "plan.h"
#include "pty.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Joins every cgroup the pod's init is in (read from the host's view of /proc/PID/cgroup), so the
 * entered command is tracked, limited and killed with the pod in every hierarchy; the app's own
 * app-<name> cgroups are joined afterwards by the isolation step. Best effort per hierarchy, except
 * the devices one (the pod's device allow-list), which must be joined.
 */
static void join_cgroups_of(long long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%lld/cgroup", pid);
  FILE *f = fopen(path, "re");
  if (!f) die_errno(errno, "open %s", path);
  bool hybrid = access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *ctrl = strchr(line, ':');
    char *cg = ctrl ? strchr(ctrl + 1, ':') : NULL;
    if (!cg) continue;
    *cg++ = '\0';
    ctrl++;
    char dir[4352];
    if (!*ctrl) snprintf(dir, sizeof dir, "%s%s/cgroup.procs", hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup", cg);
    else if (!strcmp(ctrl, "name=systemd")) snprintf(dir, sizeof dir, "/sys/fs/cgroup/systemd%s/cgroup.procs", cg);
    else snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s/cgroup.procs", ctrl, cg);
    /* The devices cgroup holds the pod's device allow-list: entering without it is refused. */
    bool must = !strcmp(ctrl, "devices") && strcmp(cg, "/") != 0;
    int fd = open(dir, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (must) die_errno(errno, "join the pod's devices cgroup %s", dir);
      continue; /* a hierarchy not mounted where we look */
    }
    if (write(fd, "0", 1) < 0) {
      if (must) die_errno(errno, "join the pod's devices cgroup %s", dir);
      warn_errno(errno, "join %s", dir);
    }
    close(fd);
  }
  fclose(f);
}

/*
 * A pod with --private-users has its own user namespace: join it first, so that the other
 * namespaces (owned by it) are joined with its capabilities and the command's uids are the pod's.
 */
static void join_user_ns_of(long long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%lld/ns/user", pid);
  struct stat theirs, ours;
  if (stat(path, &theirs) < 0) die_errno(errno, "stat %s", path);
  if (stat("/proc/self/ns/user", &ours) < 0) die_errno(errno, "stat /proc/self/ns/user");
  if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die_errno(errno, "open %s", path);
  if (setns(fd, CLONE_NEWUSER) < 0) die_errno(errno, "join the user namespace of %lld", pid);
  close(fd);
  /* Become its root: the host's uid 0 has no id in it (mounts would fail with EOVERFLOW). */
  if (setgroups(0, NULL) < 0) die_errno(errno, "setgroups in the user namespace of %lld", pid);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die_errno(errno, "become root in the user namespace of %lld", pid);
}

int cmd_enter(int argc, char **argv) {
  bool tty = argc > 5 && !strcmp(argv[5], "--tty");
  int dd = tty ? 6 : 5;
  if (argc < dd + 2 || strcmp(argv[dd], "--")) die_msg("usage: %s enter PLAN APP PID [--tty] -- CMD [ARGS...]", PROG);
  struct plan p;
  plan_load(argv[2], &p);
  struct app *a = plan_find_app(&p, argv[3]);
  if (!a) die_msg("%s: no app '%s'", p.path, argv[3]);
  if (!a->root) die_msg("%s: app %s: no app-root", p.path, a->name);
  long long pid;
  if (!parse_long(argv[4], 1, 4194304, &pid)) die_msg("enter: invalid PID '%s'", argv[4]);

  static const struct { const char *name; int type; } nss[] = {
    { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
  };
  int fds[5];
  for (size_t i = 0; i < 5; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/ns/%s", pid, nss[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die_errno(errno, "open %s", path);
  }
  join_cgroups_of(pid);
  char rootpath[64];
  snprintf(rootpath, sizeof rootpath, "/proc/%lld/root", pid);
  int rootfd = open(rootpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die_errno(errno, "open %s", rootpath);
  /* The network namespace first, still as the host's root: a user namespace pod on a CNI net
   * sits in a network namespace of the host's user namespace, which its root may not join. */
  if (setns(fds[2], CLONE_NEWNET) < 0) die_errno(errno, "join the net namespace of %lld", pid);
  close(fds[2]);
  join_user_ns_of(pid);
  for (size_t i = 0; i < 5; i++) {
    if (nss[i].type == CLONE_NEWNET) continue;
    if (setns(fds[i], nss[i].type) < 0) die_errno(errno, "join the %s namespace of %lld", nss[i].name, pid);
    close(fds[i]);
  }
  if (fchdir(rootfd) < 0) die_errno(errno, "chdir %s", rootpath);
  if (chroot(".") < 0) die_errno(errno, "chroot %s", rootpath);
  close(rootfd);

  /* The caller's notify socket is not the pod's: never bind it into the app. */
  unsetenv("NOTIFY_SOCKET");
  int master = -1, slave = -1;
  if (tty) pty_open(&master, &slave);
  sigset_t old;
  block_forwarded_signals(&old);
  if (tty) {
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGWINCH);
    if (sigprocmask(SIG_BLOCK, &w, NULL) < 0) die_errno(errno, "sigprocmask");
  }
  pid_t child = fork();
  if (child < 0) die_errno(errno, "fork");
  if (child == 0) {
    if (tty) {
      close(master);
      pty_make_controlling(slave);
    }
    if (sigprocmask(SIG_SETMASK, &old, NULL) < 0) die_errno(errno, "sigprocmask");
    /* With a pty: its session already (tty keeps it); without: a session of its own, away from
     * the caller's controlling terminal. */
    struct exec_opts o = { .argv = argv + dd + 1, .tty = tty, .report_fd = -1, .term = getenv("TERM") };
    app_isolate_exec(a, &o);
  }
  if (tty) {
    close(slave);
    return pty_relay(child, master);
  }
  return forward_and_wait(child);
}
