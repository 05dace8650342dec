/* Path resolution inside a directory tree, as if it were "/" (an app's rootfs). */
#ifndef CAPSULE_RESOLVE_H
#define CAPSULE_RESOLVE_H

#include "common.h"

enum create_kind { CREATE_NONE, CREATE_DIR, CREATE_FILE };

/*
 * Opens PATH (absolute or relative: both from ROOTFD) inside the tree ROOTFD as the tree's own
 * processes would see it with ROOTFD as "/": symlinks are followed, an absolute target and ".."
 * at the top stay at ROOTFD (openat2's RESOLVE_IN_ROOT, walked by hand so that missing components
 * can be created). Each component is opened O_NOFOLLOW from the fd of its parent and a symlink's
 * text is read from the fd of the link itself, so a symlink swapped while we walk only ever leads
 * to another place inside the tree. Missing components are created (directories 0755, with
 * CREATE_FILE the last one as an empty 0644 file; a dangling symlink is created at its target)
 * unless CREATE_NONE. More than 40 symlinks: ELOOP. Returns an O_PATH fd or -1 with errno.
 */
int open_in_root(int rootfd, const char *path, enum create_kind create);

#endif
