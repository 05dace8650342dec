/* capsule-stage1: small helpers shared by every part (errors, strings, files). */
#ifndef CAPSULE_COMMON_H
#define CAPSULE_COMMON_H

#define _GNU_SOURCE 1

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>

#define PROG "capsule-stage1"
/* Exit code of every setup failure of the helper itself. */
#define EXIT_SETUP 254
/* Exit code of an app whose program could not be executed. */
#define EXIT_EXEC 127

/* A growable NULL-terminated list of strings (argv, envp). Strings are not owned. */
struct strv {
  char **v;
  size_t n;
  size_t cap;
};

void strv_push(struct strv *s, const char *str);
/* The list as argv/envp: always NULL-terminated, never NULL itself. */
char **strv_array(struct strv *s);

/* Prints `capsule-stage1: <what>: <strerror(err)>` and exits 254. */
noreturn void die_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints `capsule-stage1: <what>` and exits 254. */
noreturn void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints `capsule-stage1: <what>: <strerror(err)>` without exiting. */
void warn_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* malloc'd sprintf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict decimal parsing: whole string, no sign unless allowed, within [min, max]. */
bool parse_long(const char *s, long long min, long long max, long long *out);

/* write(2) until done; retries EINTR. Returns 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Opens PATH O_WRONLY|O_TRUNC (no create) and writes S. Returns 0 or -1 with errno. */
int write_existing_file(const char *path, const char *s);
/* Writes S to PATH atomically: a hidden temp file beside it (.NAME.tmp<pid>), then rename. 0 or -1 with errno. */
int write_file_atomic(const char *path, const char *s);
/* Creates an empty file (or truncates it). 0 or -1 with errno. */
int touch_file(const char *path);
/* mkdir -p with MODE; 0 or -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* Joins a directory and a relative path with exactly one '/'. */
char *path_join(const char *dir, const char *rel);

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer. */
char *read_file(const char *path, size_t max, size_t *len_out);

/* Exit code of a wait(2) status: the status, or 128+N for signal N. */
int exit_code_of(int wstatus);

/* Current CLOCK_MONOTONIC time in milliseconds. */
int64_t now_ms(void);

/* The signals the host side (run, enter) forwards or waits for: SIGTERM, SIGINT, SIGHUP, SIGCHLD. */
void forwarded_signal_set(sigset_t *set);

#endif
