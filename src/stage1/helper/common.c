#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void strv_push(struct strv *s, const char *str) {
  if (s->n + 2 > s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = (char *)str;
  s->v[s->n] = NULL;
}

char **strv_array(struct strv *s) {
  if (!s->v) {
    s->cap = 4;
    s->v = xmalloc(s->cap * sizeof *s->v);
    s->v[0] = NULL;
  }
  return s->v;
}

/* One line on stderr, written with a single write(2) so lines of concurrent processes do not mix. */
static void vreport(int err, const char *fmt, va_list ap) {
  char line[2048];
  int n = snprintf(line, sizeof line, "%s: ", PROG);
  if (n < 0) return;
  int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  if (m < 0) return;
  size_t len = strlen(line);
  if (err) snprintf(line + len, sizeof line - len, ": %s", strerror(err));
  len = strlen(line);
  if (len + 1 >= sizeof line) len = sizeof line - 2;
  line[len++] = '\n';
  (void)write_all(STDERR_FILENO, line, len);
}

noreturn void die_errno(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(err ? err : EIO, fmt, ap);
  va_end(ap);
  _exit(EXIT_SETUP);
}

noreturn void die_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(0, fmt, ap);
  va_end(ap);
  _exit(EXIT_SETUP);
}

void warn_errno(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(err, fmt, ap);
  va_end(ap);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die_errno(ENOMEM, "malloc");
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die_errno(ENOMEM, "realloc");
  return q;
}

char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) die_errno(ENOMEM, "strdup");
  return d;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *out = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&out, fmt, ap);
  va_end(ap);
  if (n < 0) die_errno(ENOMEM, "asprintf");
  return out;
}

bool parse_long(const char *s, long long min, long long max, long long *out) {
  if (!s || !*s) return false;
  const char *p = s;
  if (*p == '-' || *p == '+') p++;
  if (*p < '0' || *p > '9') return false;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int write_existing_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  /* Kernel files (cgroup, /proc) take a value in one write. */
  ssize_t n;
  do n = write(fd, s, strlen(s));
  while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  if (close(fd) < 0 && !err) err = errno;
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

int write_file_atomic(const char *path, const char *s) {
  /* A hidden name beside PATH, so that readers listing the directory never see it. */
  const char *slash = strrchr(path, '/');
  char *tmp = slash ? xasprintf("%.*s/.%s.tmp%ld", (int)(slash - path), path, slash + 1, (long)getpid()) : xasprintf(".%s.tmp%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
  if (fd < 0) {
    int err = errno;
    free(tmp);
    errno = err;
    return -1;
  }
  int err = write_all(fd, s, strlen(s)) < 0 ? errno : 0;
  if (close(fd) < 0 && !err) err = errno;
  if (!err && rename(tmp, path) < 0) err = errno;
  if (err) unlink(tmp);
  free(tmp);
  errno = err;
  return err ? -1 : 0;
}

int touch_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  return close(fd);
}

int mkdir_p(const char *path, mode_t mode) {
  char *p = xstrdup(path);
  size_t len = strlen(p);
  while (len > 1 && p[len - 1] == '/') p[--len] = '\0';
  for (char *s = p + 1; ; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST) {
      int err = errno;
      free(p);
      errno = err;
      return -1;
    }
    *s = c;
    if (!c) break;
  }
  struct stat st;
  int rc = stat(p, &st);
  int err = errno;
  free(p);
  if (rc < 0) {
    errno = err;
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

char *path_join(const char *dir, const char *rel) {
  size_t dl = strlen(dir);
  while (dl > 0 && dir[dl - 1] == '/') dl--;
  while (*rel == '/') rel++;
  return xasprintf("%.*s/%s", (int)dl, dir, rel);
}

char *read_file(const char *path, size_t max, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = xmalloc(cap + 1);
  for (;;) {
    if (len == cap) {
      if (cap >= max) {
        free(buf);
        close(fd);
        errno = EFBIG;
        return NULL;
      }
      cap = cap * 2 > max ? max : cap * 2;
      buf = xrealloc(buf, cap + 1);
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      free(buf);
      close(fd);
      errno = err;
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  if (len_out) *len_out = len;
  return buf;
}

int exit_code_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return EXIT_SETUP;
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void forwarded_signal_set(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGHUP);
  sigaddset(set, SIGCHLD);
}
