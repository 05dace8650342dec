/*
 * Network teardown when a pod ends (docs/stage1-contract.md "Network teardown"). No Node process
 * stays resident while a pod runs, so the helper that waited for nspawn runs the CNI DEL calls
 * stage1 prepared at start (argv, env, stdin files in the pod dir), in a detached child so that
 * `capsule run` returns as soon as the pod has ended. The child holds the pod's net lock (taken
 * before the pod started) until it is done; gc takes that lock before doing anything itself, and
 * redoes whatever is still recorded (a failed or interrupted DEL is retried, never dropped).
 */
#include "common.h"
#include "modes.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int lock_fd = -1;
static int host_mnt_fd = -1;
static int netns_fd = -1;

void net_lock_take(struct plan *p) {
  if (!p->net_lock && !p->ntd && !p->td_netns && !p->netns_path) return;
  if (p->net_lock) {
    lock_fd = open(p->net_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) die_errno(errno, "open %s", p->net_lock);
    if (flock(lock_fd, LOCK_EX) < 0) die_errno(errno, "flock %s", p->net_lock);
  }
  if (p->netns_path) {
    netns_fd = open(p->netns_path, O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) die_errno(errno, "open %s", p->netns_path);
  }
  /* The host's mount namespace, to unbind the pod's network namespace there later. */
  host_mnt_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (host_mnt_fd < 0) die_errno(errno, "open /proc/self/ns/mnt");
}

/* Runs one step; true when it exited 0 within the timeout. */
static bool run_step(const struct td_step *t, int timeout_s) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    int in = t->stdin_path ? open(t->stdin_path, O_RDONLY | O_CLOEXEC) : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0) _exit(EXIT_SETUP);
    if (chdir("/") < 0) _exit(EXIT_SETUP);
    struct strv env = t->env;
    char *argv[] = { (char *)t->exec, NULL };
    execve(t->exec, argv, strv_array(&env));
    _exit(EXIT_EXEC);
  }
  struct timespec start, now, nap = { 0, 2 * 1000 * 1000 };
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (r < 0 && errno != EINTR) return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= timeout_s) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      return false;
    }
    nanosleep(&nap, NULL);
  }
}

static void teardown(struct plan *p) {
  /* A net whose step failed keeps its record (gc retries the whole net); its later steps still
   * run, as DEL must tolerate what is already gone. */
  bool failed = false;
  for (size_t i = 0; i < p->ntd; i++) {
    const struct td_step *t = &p->td[i];
    if (!run_step(t, p->td_timeout)) failed = true;
    if (t->record) {
      if (!failed) (void)unlink(t->record);
      failed = false;
    }
  }
  if (p->td_netns) {
    if (umount2(p->td_netns, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT) {
      (void)unlink(p->td_netns);
      if (p->td_netns_marker) (void)unlink(p->td_netns_marker);
    }
  }
}

void netns_forget_dir(struct plan *p) {
  if (!p->netns_dir) return;
  size_t len = 0;
  char *info = read_file("/proc/self/mountinfo", 16u << 20, &len);
  if (!info) die_errno(errno, "read /proc/self/mountinfo");
  size_t dl = strlen(p->netns_dir);
  char *save = NULL;
  for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    /* id parent maj:min root MOUNTPOINT ... (octal escapes are left as they are: our names have none) */
    char *f = line;
    for (int i = 0; i < 4 && f; i++) {
      f = strchr(f, ' ');
      if (f) f++;
    }
    if (!f) continue;
    char *end = strchr(f, ' ');
    if (end) *end = '\0';
    if (!strncmp(f, p->netns_dir, dl) && f[dl] == '/') (void)umount2(f, MNT_DETACH);
  }
  free(info);
}

void netns_pass_fd(int setns_it) {
  if (netns_fd < 0) return;
  if (setns_it) {
    if (setns(netns_fd, CLONE_NEWNET) < 0) die_errno(errno, "setns network namespace");
    return;
  }
  if (dup2(netns_fd, NETNS_FD) < 0) die_errno(errno, "dup2 network namespace");
}

void net_teardown_detach(struct plan *p) {
  if (!p->ntd && !p->td_netns) return;
  int dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  pid_t pid = fork();
  if (pid != 0) {
    /* Parent (or fork failed: gc does it all). The lock stays with the child. */
    close(dir);
    return;
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  (void)setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
  }
  /* Nothing else inherited stays open: above all not the pod lock (fd 3), so the pod is seen
   * as exited at once. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != lock_fd && fd != host_mnt_fd && fd != dir) close(fd);
  netns_fd = -1;
  if (host_mnt_fd >= 0 && setns(host_mnt_fd, CLONE_NEWNS) < 0) _exit(EXIT_SETUP);
  /* setns moved cwd to the namespace's root: back to the pod dir (which gc may rename meanwhile). */
  if (fchdir(dir) < 0) _exit(EXIT_SETUP);
  teardown(p);
  _exit(0);
}
