/* `capsule-stage1 fly PLAN`: one app, only a mount namespace; this process becomes the app. */
#include "common.h"
#include "isolation.h"
#include "modes.h"
#include "host-ops.h"
#include "mounts.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

/* The pre-start handler, as root with the app's isolation, waited for; a failure ends fly with its code. */
static void run_pre_start(struct app *a) {
  if (!a->pre_start.n) return;
  int rep[2];
  if (pipe2(rep, O_CLOEXEC) < 0) die_errno(errno, "app %s: pipe", a->name);
  pid_t pid = fork();
  if (pid < 0) die_errno(errno, "app %s: fork", a->name);
  if (pid == 0) {
    close(rep[0]);
    struct exec_opts ho = { .argv = strv_array(&a->pre_start), .tty = true, .report_fd = rep[1], .term = NULL, .hook = "pre-start" };
    app_exec_final(a, &ho);
  }
  close(rep[1]);
  /* Exactly EXEC_MARK: the handler was executed; more: it reported its own failure. */
  char buf[16];
  size_t got = 0;
  ssize_t n;
  bool mark = false;
  while ((n = read(rep[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (got == 0) mark = buf[0] == EXEC_MARK;
    got += (size_t)n;
  }
  close(rep[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die_errno(errno, "app %s: wait for the pre-start handler", a->name);
  int code = exit_code_of(st);
  if (code == 0) return;
  if (got == 1 && mark) fprintf(stderr, "%s: app %s: pre-start handler %s failed with exit code %d\n", PROG, a->name, a->pre_start.v[0], code);
  exit(code);
}

int cmd_fly(int argc, char **argv) {
  if (argc != 3) die_msg("usage: %s fly PLAN", PROG);
  struct plan p;
  plan_load(argv[2], &p);
  if (p.napps != 1) die_msg("%s: fly runs exactly one app, the plan has %zu", p.path, p.napps);
  struct app *a = &p.apps[0];
  if (!a->root) die_msg("%s: app %s: no app-root", p.path, a->name);
  if (!a->args.n) die_msg("%s: app %s: no app-arg", p.path, a->name);
  if (a->cgroupfs != CGROUPFS_NONE) die_msg("%s: app %s: fly does not mount a cgroup file system (app-cgroupfs)", p.path, a->name);

  private_mount_ns(0);
  apply_host_ops(&p, true);
  struct exec_opts o = { .argv = NULL, .tty = true, .report_fd = -1, .term = NULL };
  /* A mount of its own, so that app-readonly can make it read-only. */
  if (mount(a->root, a->root, NULL, MS_BIND | MS_REC, NULL) < 0) app_fail(a, &o, errno, "bind %s", a->root);
  int rootfd = open(a->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) app_fail(a, &o, errno, "open %s", a->root);
  static const char *const kernel_fs[] = { "dev", "proc", "sys" };
  for (size_t i = 0; i < 3; i++) {
    char src[8];
    snprintf(src, sizeof src, "/%s", kernel_fs[i]);
    if (bind_beneath(rootfd, kernel_fs[i], src, true, CREATE_DIR) < 0) app_fail(a, &o, errno, "bind %s", src);
  }
  app_mount_volumes(a, &o, rootfd);
  app_join_cgroups(a, &o);
  app_mask_paths(a, &o, rootfd);
  if (p.pid_file) {
    char v[24];
    snprintf(v, sizeof v, "%ld\n", (long)getpid());
    if (write_file_atomic(p.pid_file, v) < 0) app_fail(a, &o, errno, "write %s", p.pid_file);
  }
  if (fchdir(rootfd) < 0) app_fail(a, &o, errno, "chdir %s", a->root);
  if (chroot(".") < 0) app_fail(a, &o, errno, "chroot %s", a->root);
  if (chdir("/") < 0) app_fail(a, &o, errno, "chdir /");
  close(rootfd);
  run_pre_start(a);
  /* Nothing of the helper stays after the exec to run a post-stop handler: say so. */
  if (a->post_stop.n) fprintf(stderr, "%s: app %s: the fly flavour does not run post-stop handlers; %s will not run\n", PROG, a->name, a->post_stop.v[0]);
  app_exec_final(a, &o);
}
