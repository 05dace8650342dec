/* `capsule-stage1 run PLAN`: host side of the nspawn flavour; forks and execs systemd-nspawn. */
#include "common.h"
#include "modes.h"
#include "host-ops.h"
#include "mounts.h"
#include "plan.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void block_forwarded_signals(sigset_t *old) {
  sigset_t set;
  forwarded_signal_set(&set);
  if (sigprocmask(SIG_BLOCK, &set, old) < 0) die_errno(errno, "sigprocmask");
}

/* nspawn's only child is the pod's init (nspawn forks once and execs nothing else). */
static pid_t only_child_of(pid_t pid) {
  char path[64], buf[128];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *end;
  long c = strtol(buf, &end, 10);
  if (c <= 0 || end == buf) return 0;
  while (*end == ' ' || *end == '\n') end++;
  return *end == '\0' ? (pid_t)c : 0;
}

int forward_and_wait(pid_t child) {
  return forward_and_wait_to(child, false);
}

/* With `to_grandchild` (run: child = nspawn), signals go straight to the pod's init, which stops
 * the apps gracefully; sent to nspawn they would only make it print a notice and pass them on. */
int forward_and_wait_to(pid_t child, bool to_grandchild) {
  sigset_t set;
  forwarded_signal_set(&set);
  for (;;) {
    int st;
    pid_t p = waitpid(child, &st, WNOHANG);
    if (p == child) return exit_code_of(st);
    if (p < 0 && errno != EINTR) die_errno(errno, "wait");
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig > 0 && sig != SIGCHLD) {
      pid_t init = to_grandchild ? only_child_of(child) : 0;
      kill(init > 0 ? init : child, sig);
    }
  }
}

int cmd_run(int argc, char **argv) {
  if (argc != 3) die_msg("usage: %s run PLAN", PROG);
  struct plan p;
  plan_load(argv[2], &p);
  if (!p.exec_args.n) die_msg("%s: no exec-arg", p.path);
  if (p.exec_args.v[0][0] != '/') die_msg("%s: exec-arg '%s' is not an absolute path", p.path, p.exec_args.v[0]);
  net_lock_take(&p);
  private_mount_ns(0);
  netns_forget_dir(&p);
  apply_host_ops(&p, false);
  sigset_t old;
  block_forwarded_signals(&old);
  pid_t pid = fork();
  if (pid < 0) die_errno(errno, "fork");
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    netns_pass_fd(p.netns_setns);
    for (size_t i = 0; i < p.exec_env.n; i++) {
      char *kv = xstrdup(p.exec_env.v[i]);
      char *eq = strchr(kv, '=');
      *eq = '\0';
      if (setenv(kv, eq + 1, 1) < 0) die_errno(errno, "exec-env %s", p.exec_env.v[i]);
    }
    execv(p.exec_args.v[0], p.exec_args.v);
    die_errno(errno, "exec %s", p.exec_args.v[0]);
  }
  if (p.ppid_file) {
    char v[24];
    snprintf(v, sizeof v, "%ld\n", (long)pid);
    if (write_file_atomic(p.ppid_file, v) < 0) {
      int err = errno;
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      die_errno(err, "write %s", p.ppid_file);
    }
  }
  int code = forward_and_wait_to(pid, true);
  net_teardown_detach(&p);
  return code;
}
