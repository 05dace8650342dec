#include "cgroups.h"

#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * --private-users: the pod's root (host uid OWNER) must move its apps into their cgroups, so
 * it gets cgroup.procs and tasks (v1) of the cgroup, nothing else: limits stay root's.
 */
static void delegate_procs(const char *dir, const char *owner) {
  uid_t uid = (uid_t)strtoul(owner, NULL, 10);
  static const char *const files[] = { "cgroup.procs", "tasks" };
  for (size_t i = 0; i < 2; i++) {
    char *f = path_join(dir, files[i]);
    if (lchown(f, uid, (gid_t)uid) < 0 && errno != ENOENT) die_errno(errno, "cgroup-mkdir %s: chown %s to %s", dir, files[i], owner);
    free(f);
  }
}

void cgroup_host_op(const struct host_op *op) {
  switch (op->type) {
  case HOP_CG_MKDIR:
    if (mkdir_p(op->a, 0755) < 0) die_errno(errno, "cgroup-mkdir %s", op->a);
    if (op->b) delegate_procs(op->a, op->b);
    break;
  case HOP_CG_WRITE:
    if (write_existing_file(op->a, op->b) < 0) die_errno(errno, "cgroup-write %s (%s)", op->a, op->b);
    break;
  case HOP_CG_JOIN: {
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    char *procs = path_join(op->a, "cgroup.procs");
    if (write_existing_file(procs, pid) < 0) die_errno(errno, "cgroup-join %s", op->a);
    free(procs);
    break;
  }
  default:
    break;
  }
}

int cgroup_join_self(const char *dir) {
  char *procs = path_join(dir, "cgroup.procs");
  int rc = write_existing_file(procs, "0");
  int err = errno;
  free(procs);
  errno = err;
  return rc;
}

#define CG_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int v1(const struct app *a, int rootfd, const char **step) {
  *step = "mount tmpfs on sys/fs/cgroup";
  if (mount_beneath(rootfd, "sys/fs/cgroup", "tmpfs", CG_FLAGS, "mode=0755") < 0) return -1;
  int cg = open_beneath(rootfd, "sys/fs/cgroup", CREATE_NONE);
  if (cg < 0) return -1;
  int rc = -1;
  for (size_t i = 0; i < a->cgroup_ctrls.n; i++) {
    const char *ctrl = a->cgroup_ctrls.v[i];
    *step = xasprintf("mount cgroup %s", ctrl);
    if (mount_beneath(cg, ctrl, "cgroup", CG_FLAGS, ctrl) < 0) goto out;
    if (strchr(ctrl, ',')) {
      char *names = xstrdup(ctrl), *save = NULL;
      for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        if (symlinkat(ctrl, cg, n) < 0 && errno != EEXIST) {
          *step = xasprintf("symlink sys/fs/cgroup/%s", n);
          free(names);
          goto out;
        }
      }
      free(names);
    }
  }
  for (size_t i = 0; i < a->cgroup_ctrls.n; i++) {
    *step = xasprintf("make cgroup %s read-only", a->cgroup_ctrls.v[i]);
    if (make_readonly_beneath(cg, a->cgroup_ctrls.v[i], false) < 0) goto out;
  }
  *step = "make sys/fs/cgroup read-only";
  if (make_readonly_beneath(rootfd, "sys/fs/cgroup", false) < 0) goto out;
  rc = 0;
out:;
  int err = errno;
  close(cg);
  errno = err;
  return rc;
}

int cgroupfs_mount(const struct app *a, int rootfd, const char **step) {
  switch (a->cgroupfs) {
  case CGROUPFS_V1:
    return v1(a, rootfd, step);
  case CGROUPFS_V2:
    *step = "mount cgroup2 on sys/fs/cgroup";
    return mount_beneath(rootfd, "sys/fs/cgroup", "cgroup2", CG_FLAGS | MS_RDONLY, NULL);
  default:
    return 0;
  }
}
