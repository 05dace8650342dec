/* Mounts: host-side plan operations and the mounts inside an app's root. */
#ifndef CAPSULE_MOUNTS_H
#define CAPSULE_MOUNTS_H

#include "common.h"
#include "plan.h"
#include "resolve.h"

/*
 * Opens REL beneath DIRFD one component at a time with O_PATH|O_NOFOLLOW: a symlink in any
 * component fails with ELOOP, a ".." component with EINVAL. Missing components are created
 * (directories 0755; with CREATE_FILE the last one as an empty 0644 file) unless CREATE_NONE.
 * Returns an O_PATH fd or -1 with errno.
 */
int open_beneath(int dirfd, const char *rel, enum create_kind create);

/* "/proc/self/fd/N": a path naming what FD refers to, for mount(2). Static buffer per call slot. */
const char *fd_path(int fd);

/* Makes the mount at REL beneath DIRFD read-only (recursively with REC). 0 or -1 with errno. */
int make_readonly_beneath(int dirfd, const char *rel, bool rec);

/* Binds SRC onto REL beneath ROOTFD (created as CREATE says when missing). 0 or -1 with errno. */
int bind_beneath(int rootfd, const char *rel, const char *src, bool rec, enum create_kind create);

/* Mounts FSTYPE (source = FSTYPE) with FLAGS and DATA onto REL beneath ROOTFD. 0 or -1 with errno. */
int mount_beneath(int rootfd, const char *rel, const char *fstype, unsigned long flags, const char *data);

/* app-mask: /dev/null over a file, an empty read-only tmpfs over a directory; missing: 0. */
int mask_beneath(int rootfd, const char *rel);

/* app-ro: binds REL over itself and makes it read-only; missing: 0. */
int readonly_beneath(int rootfd, const char *rel);

/*
 * A volume: binds SRC (recursively with REC, read-only with RO) onto TARGET resolved inside the
 * tree ROOTFD (open_in_root: symlinks and ".." stay inside it; missing parts are created as a
 * directory, or as a file when SRC is one). The bind is made with open_tree and attached with
 * move_mount to the fd the walk ended at, so nothing is looked up by path after the walk.
 * 0 or -1 with errno.
 */
int bind_in_root(int rootfd, const char *target, const char *src, bool rec, bool ro);

/* unshare(CLONE_NEWNS) with extra flags, then makes "/" a recursive slave. Dies with WHAT on failure. */
void private_mount_ns(int extra_flags);

/* Applies one host-side op (host-tmpfs, overlay, bind); STRICT refuses symlinks in bind targets. Dies on failure. */
void apply_host_mount(const struct host_op *op, bool strict);

#endif
