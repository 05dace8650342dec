#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

const char *fd_path(int fd) {
  static char bufs[4][40];
  static unsigned slot;
  char *b = bufs[slot++ % 4];
  snprintf(b, sizeof bufs[0], "/proc/self/fd/%d", fd);
  return b;
}

int open_beneath(int dirfd, const char *rel, enum create_kind create) {
  int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0) return -1;
  char *copy = xstrdup(rel), *save = NULL;
  int err = 0;
  char *comp = strtok_r(copy, "/", &save);
  while (comp) {
    char *next_comp = strtok_r(NULL, "/", &save);
    bool last = next_comp == NULL;
    if (!strcmp(comp, ".")) {
      comp = next_comp;
      continue;
    }
    if (!strcmp(comp, "..")) {
      err = EINVAL;
      break;
    }
    int next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create != CREATE_NONE) {
      if (last && create == CREATE_FILE) {
        int f = openat(cur, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
        if (f >= 0) close(f);
        else if (errno != EEXIST) {
          err = errno;
          break;
        }
      } else if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
        err = errno;
        break;
      }
      next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      err = errno;
      break;
    }
    struct stat st;
    if (fstat(next, &st) < 0) err = errno;
    else if (S_ISLNK(st.st_mode)) err = ELOOP;
    else if (!last && !S_ISDIR(st.st_mode)) err = ENOTDIR;
    close(cur);
    cur = next;
    if (err) break;
    comp = next_comp;
  }
  free(copy);
  if (err) {
    close(cur);
    errno = err;
    return -1;
  }
  return cur;
}

static unsigned long mount_flags_of(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) < 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* FD must name the root of a mount. */
static int make_readonly_fd(int fd, bool rec) {
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof attr) == 0) return 0;
  if (errno != ENOSYS && errno != EPERM) return -1;
  /* Older kernels, or a seccomp filter that does not know mount_setattr: the top mount only. */
  return mount(NULL, fd_path(fd), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_flags_of(fd), NULL);
}

int make_readonly_beneath(int dirfd, const char *rel, bool rec) {
  int fd = open_beneath(dirfd, rel, CREATE_NONE);
  if (fd < 0) return -1;
  int rc = make_readonly_fd(fd, rec);
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int bind_beneath(int rootfd, const char *rel, const char *src, bool rec, enum create_kind create) {
  int fd = open_beneath(rootfd, rel, create);
  if (fd < 0) return -1;
  int rc = mount(src, fd_path(fd), NULL, MS_BIND | (rec ? MS_REC : 0), NULL);
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int bind_in_root(int rootfd, const char *target, const char *src, bool rec, bool ro) {
  struct stat st;
  if (stat(src, &st) < 0) return -1;
  int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (tree < 0) return -1;
  int fd = open_in_root(rootfd, target, S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE);
  int rc = -1;
  if (fd >= 0 && move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0) rc = ro ? make_readonly_fd(tree, rec) : 0;
  int err = errno;
  if (fd >= 0) close(fd);
  close(tree);
  errno = err;
  return rc;
}

int mount_beneath(int rootfd, const char *rel, const char *fstype, unsigned long flags, const char *data) {
  int fd = open_beneath(rootfd, rel, CREATE_DIR);
  if (fd < 0) return -1;
  int rc = mount(fstype, fd_path(fd), fstype, flags, data);
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int mask_beneath(int rootfd, const char *rel) {
  int fd = open_beneath(rootfd, rel, CREATE_NONE);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct stat st;
  int rc = fstat(fd, &st);
  if (rc == 0) {
    if (S_ISDIR(st.st_mode))
      rc = mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555,size=4k");
    else
      rc = mount("/dev/null", fd_path(fd), NULL, MS_BIND, NULL);
  }
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int readonly_beneath(int rootfd, const char *rel) {
  int fd = open_beneath(rootfd, rel, CREATE_NONE);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  int rc = mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL);
  int err = errno;
  close(fd);
  if (rc < 0) {
    errno = err;
    return -1;
  }
  return make_readonly_beneath(rootfd, rel, true);
}

void private_mount_ns(int extra_flags) {
  if (unshare(CLONE_NEWNS | extra_flags) < 0) die_errno(errno, "unshare");
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die_errno(errno, "make / a recursive slave");
}

/* The file system holding PATH, or its nearest existing ancestor. */
static int statfs_nearest(const char *path, struct statfs *sf) {
  char *p = xstrdup(path);
  for (;;) {
    if (statfs(p, sf) == 0) {
      free(p);
      return 0;
    }
    char *slash = strrchr(p, '/');
    if (errno != ENOENT || !slash) break;
    if (slash == p) slash[1] = '\0';
    else *slash = '\0';
  }
  int err = errno;
  free(p);
  errno = err;
  return -1;
}

static void host_tmpfs(const char *path) {
  char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) *slash = '\0';
  else strcpy(parent, "/");
  struct statfs sf;
  if (statfs_nearest(parent, &sf) < 0) die_errno(errno, "host-tmpfs %s: statfs", path);
  free(parent);
  if ((unsigned long)sf.f_type == (unsigned long)TMPFS_MAGIC || (unsigned long)sf.f_type == (unsigned long)RAMFS_MAGIC) return;
  if (mkdir_p(path, 0755) < 0) die_errno(errno, "host-tmpfs %s: mkdir", path);
  if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die_errno(errno, "host-tmpfs %s: mount", path);
}

static void host_bind(const struct host_op *op, bool strict) {
  struct stat st;
  if (stat(op->a, &st) < 0) die_errno(errno, "bind %s: stat", op->a);
  enum create_kind create = S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE;
  int fd;
  if (strict) {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) die_errno(errno, "open /");
    fd = open_beneath(root, op->b, create);
    if (fd < 0 && errno == ELOOP) die_msg("bind %s to %s: the target has a symbolic link in its path", op->a, op->b);
    close(root);
  } else {
    fd = open(op->b, O_PATH | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      char *parent = xstrdup(op->b);
      char *slash = strrchr(parent, '/');
      if (slash && slash != parent) {
        *slash = '\0';
        if (mkdir_p(parent, 0755) < 0) die_errno(errno, "bind %s to %s: mkdir", op->a, op->b);
      }
      free(parent);
      if (create == CREATE_DIR) {
        if (mkdir(op->b, 0755) < 0 && errno != EEXIST) die_errno(errno, "bind %s to %s: mkdir", op->a, op->b);
      } else if (touch_file(op->b) < 0) die_errno(errno, "bind %s to %s: create", op->a, op->b);
      fd = open(op->b, O_PATH | O_CLOEXEC);
    }
  }
  if (fd < 0) die_errno(errno, "bind %s to %s: open target", op->a, op->b);
  if (mount(op->a, fd_path(fd), NULL, MS_BIND | (op->rec ? MS_REC : 0), NULL) < 0) die_errno(errno, "bind %s to %s", op->a, op->b);
  close(fd);
  if (op->ro) {
    /* Re-open: the path now leads to the new mount's root. */
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int rc = strict ? make_readonly_beneath(root, op->b, op->rec) : -1;
    if (!strict) {
      int t = open(op->b, O_PATH | O_CLOEXEC);
      rc = t < 0 ? -1 : make_readonly_fd(t, op->rec);
      if (t >= 0) close(t);
    }
    if (rc < 0) die_errno(errno, "bind %s to %s: make read-only", op->a, op->b);
    close(root);
  }
}

void apply_host_mount(const struct host_op *op, bool strict) {
  switch (op->type) {
  case HOP_TMPFS:
    host_tmpfs(op->a);
    break;
  case HOP_OVERLAY:
    if (mount("overlay", op->b, "overlay", 0, op->a) < 0) die_errno(errno, "mount overlay on %s", op->b);
    break;
  case HOP_BIND:
    host_bind(op, strict);
    break;
  default:
    break;
  }
}
