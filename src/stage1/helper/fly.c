/* `capsule-stage1 fly PLAN`: one app, only a mount namespace; this process becomes the app. */
#include "common.h"
#include "isolation.h"
#include "modes.h"
#include "mounts.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

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
  app_exec_final(a, &o);
}
