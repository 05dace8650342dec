#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40
#define MAX_DEPTH 256

struct walk {
  int fds[MAX_DEPTH + 1]; /* fds[0]: the root; fds[depth]: the current directory */
  int depth;
};

static void pop_to(struct walk *w, int depth) {
  while (w->depth > depth) close(w->fds[w->depth--]);
}

/* Creates COMP beneath DIRFD as asked (an existing entry of any kind is fine). 0 or -1. */
static int create_entry(int dirfd, const char *comp, bool file) {
  if (file) {
    int f = openat(dirfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
    if (f >= 0) close(f);
    return f >= 0 || errno == EEXIST ? 0 : -1;
  }
  return mkdirat(dirfd, comp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int open_in_root(int rootfd, const char *path, enum create_kind create) {
  struct walk w = { .depth = 0 };
  w.fds[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  if (w.fds[0] < 0) return -1;
  /* The path still to walk; a symlink's text is put in front of what follows it. */
  char *rest = xstrdup(path);
  int links = 0, err = 0;
  char *p = rest;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) break;
    char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char comp[NAME_MAX + 1];
    if (len > NAME_MAX) {
      err = ENAMETOOLONG;
      break;
    }
    memcpy(comp, p, len);
    comp[len] = '\0';
    p += len;
    const char *after = p;
    while (*after == '/') after++;
    bool last = !*after;
    if (!strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      if (w.depth > 0) pop_to(&w, w.depth - 1);
      continue;
    }
    int cur = w.fds[w.depth];
    int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create != CREATE_NONE) {
      if (create_entry(cur, comp, last && create == CREATE_FILE) < 0) {
        err = errno;
        break;
      }
      fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      err = errno;
      break;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      err = errno;
      close(fd);
      break;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
      close(fd);
      if (n < 0) {
        err = errno;
        break;
      }
      if (n == 0) {
        err = ENOENT;
        break;
      }
      if (++links > MAX_LINKS) {
        err = ELOOP;
        break;
      }
      target[n] = '\0';
      if (target[0] == '/') pop_to(&w, 0);
      char *next = xasprintf("%s/%s", target, p);
      free(rest);
      rest = p = next;
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      close(fd);
      err = ENOTDIR;
      break;
    }
    if (w.depth == MAX_DEPTH) {
      close(fd);
      err = ENAMETOOLONG;
      break;
    }
    w.fds[++w.depth] = fd;
  }
  free(rest);
  int result = -1;
  if (!err) {
    result = w.fds[w.depth];
    w.depth--;
  }
  pop_to(&w, -1);
  errno = err;
  return result;
}
