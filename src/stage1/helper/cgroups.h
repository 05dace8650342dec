/* cgroups: the host-side plan ops, joining an app's cgroups and the app's own cgroupfs view. */
#ifndef CAPSULE_CGROUPS_H
#define CAPSULE_CGROUPS_H

#include "common.h"
#include "plan.h"

/* cgroup-mkdir, cgroup-write + cgroup-value, cgroup-join (own PID). Dies on failure. */
void cgroup_host_op(const struct host_op *op);

/* Moves the calling process into DIR (writes "0" to DIR/cgroup.procs). 0 or -1 with errno. */
int cgroup_join_self(const char *dir);

/*
 * Mounts the app's cgroup view at sys/fs/cgroup beneath ROOTFD: v1 a tmpfs with one cgroup
 * mount per controller list (plus per-name symlinks), all read-only; v2 cgroup2 read-only.
 * On failure returns -1 with errno and sets *STEP to what failed.
 */
int cgroupfs_mount(const struct app *a, int rootfd, const char **step);

#endif
