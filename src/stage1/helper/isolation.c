#include "isolation.h"

#include "cgroups.h"
#include "exec-diag.h"
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void report(const struct exec_opts *o, int code) {
  if (o->report_fd < 0) return;
  (void)write_all(o->report_fd, &code, sizeof code);
}

noreturn void app_fail(const struct app *a, const struct exec_opts *o, int err, const char *fmt, ...) {
  char step[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(step, sizeof step, fmt, ap);
  va_end(ap);
  report(o, EXIT_SETUP);
  warn_errno(err ? err : EIO, "app %s: %s", a->name, step);
  _exit(EXIT_SETUP);
}

void app_join_cgroups(const struct app *a, const struct exec_opts *o) {
  for (size_t i = 0; i < a->cgroups.n; i++)
    if (cgroup_join_self(a->cgroups.v[i]) < 0) app_fail(a, o, errno, "join cgroup %s", a->cgroups.v[i]);
}

void app_mask_paths(const struct app *a, const struct exec_opts *o, int rootfd) {
  for (size_t i = 0; i < a->masks.n; i++)
    if (mask_beneath(rootfd, a->masks.v[i]) < 0) app_fail(a, o, errno, "mask %s", a->masks.v[i]);
  for (size_t i = 0; i < a->ros.n; i++)
    if (readonly_beneath(rootfd, a->ros.v[i]) < 0) app_fail(a, o, errno, "make %s read-only", a->ros.v[i]);
}

void app_mount_volumes(const struct app *a, const struct exec_opts *o, int rootfd) {
  for (size_t i = 0; i < a->nmounts; i++) {
    const struct app_mount *m = &a->mounts[i];
    if (!m->target) app_fail(a, o, EINVAL, "volume %s: no app-mount-target", m->src);
    if (bind_in_root(rootfd, m->target, m->src, m->rec, m->ro) < 0) app_fail(a, o, errno, "mount volume %s on %s", m->src, m->target);
  }
}

/* app-notify: the init's $NOTIFY_SOCKET, bound to the same path inside the app's root. */
static const char *bind_notify_socket(const struct app *a, const struct exec_opts *o, int rootfd) {
  const char *sock = getenv("NOTIFY_SOCKET");
  if (!a->notify || !sock || !*sock) return NULL;
  const char *src = notify_relay_src ? notify_relay_src : sock;
  if (sock[0] == '/' && bind_beneath(rootfd, sock, src, false, CREATE_FILE) < 0) app_fail(a, o, errno, "bind notify socket %s", sock);
  return sock;
}

static const char *notify_socket_for_env;
const char *notify_relay_src;

noreturn void app_isolate_exec(const struct app *a, const struct exec_opts *o) {
  /* 1. cgroups, before the new cgroup namespace so that it is rooted at the app's cgroup. */
  app_join_cgroups(a, o);
  /* 2. */
  if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0) app_fail(a, o, errno, "unshare");
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) app_fail(a, o, errno, "make / a recursive slave");
  /* pivot_root needs the new root to be a mount point. */
  if (mount(a->root, a->root, NULL, MS_BIND | MS_REC, NULL) < 0) app_fail(a, o, errno, "bind %s", a->root);
  int rootfd = open(a->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) app_fail(a, o, errno, "open %s", a->root);
  /* 3. */
  static const char *const kernel_fs[] = { "proc", "sys", "dev" };
  for (size_t i = 0; i < 3; i++) {
    char src[8];
    snprintf(src, sizeof src, "/%s", kernel_fs[i]);
    if (bind_beneath(rootfd, kernel_fs[i], src, true, CREATE_DIR) < 0) app_fail(a, o, errno, "bind %s", src);
  }
  /* 4. */
  const char *step = NULL;
  if (cgroupfs_mount(a, rootfd, &step) < 0) app_fail(a, o, errno, "%s", step);
  /* 4b. Volumes, over the kernel file systems too (an empty volume on /sys hides it). */
  app_mount_volumes(a, o, rootfd);
  /* 5. */
  app_mask_paths(a, o, rootfd);
  /* 6. */
  notify_socket_for_env = bind_notify_socket(a, o, rootfd);
  /* 7. */
  if (fchdir(rootfd) < 0) app_fail(a, o, errno, "chdir %s", a->root);
  if (syscall(SYS_pivot_root, ".", ".") < 0) app_fail(a, o, errno, "pivot_root %s", a->root);
  if (umount2(".", MNT_DETACH) < 0) app_fail(a, o, errno, "detach the old root");
  if (chdir("/") < 0) app_fail(a, o, errno, "chdir /");
  close(rootfd);
  app_exec_final(a, o);
}

/* ---- capabilities ---- */

static int cap_last_cap(void) {
  char *s = read_file("/proc/sys/kernel/cap_last_cap", 64, NULL);
  long long v;
  if (s) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
    bool ok = parse_long(s, 0, 63, &v);
    free(s);
    if (ok) return (int)v;
  }
  int c = 0;
  while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0) c++;
  return c;
}

static int capget_all(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  return (int)syscall(SYS_capget, &h, d);
}

static int capset_all(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  return (int)syscall(SYS_capset, &h, d);
}

static void limit_caps(const struct app *a, const struct exec_opts *o) {
  if (!a->capbnd_all) {
    int last = cap_last_cap();
    for (int c = 0; c <= last; c++) {
      if (a->capbnd & (1ULL << c)) continue;
      int has = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
      if (has > 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) app_fail(a, o, errno, "drop capability %d from the bounding set", c);
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) app_fail(a, o, errno, "clear the ambient capabilities");
  struct __user_cap_data_struct d[2];
  if (capget_all(d) < 0) app_fail(a, o, errno, "capget");
  d[0].inheritable = d[1].inheritable = 0;
  if (capset_all(d) < 0) app_fail(a, o, errno, "clear the inheritable capabilities");
}

/* ---- seccomp ---- */

static scmp_filter_ctx build_seccomp(const struct app *a, const struct exec_opts *o) {
  uint32_t blocked = a->seccomp_errno ? SCMP_ACT_ERRNO((uint32_t)a->seccomp_errno) : SCMP_ACT_KILL_PROCESS;
  uint32_t def = a->seccomp == SECCOMP_RETAIN ? blocked : SCMP_ACT_ALLOW;
  uint32_t listed = a->seccomp == SECCOMP_RETAIN ? SCMP_ACT_ALLOW : blocked;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) app_fail(a, o, ENOMEM, "seccomp_init");
  /* no_new_privs is app-nnp's business, not libseccomp's. */
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) app_fail(a, o, -rc, "seccomp: clear the no_new_privs attribute");
#if defined(__x86_64__)
  /* The same filter for 32-bit and x32 system calls, so they cannot bypass it. */
  static const uint32_t extra_arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
  for (size_t i = 0; i < sizeof extra_arches / sizeof *extra_arches; i++) {
    rc = seccomp_arch_add(ctx, extra_arches[i]);
    if (rc < 0 && rc != -EEXIST) app_fail(a, o, -rc, "seccomp: add architecture");
  }
#endif
  for (size_t i = 0; i < a->syscalls.n; i++) {
    const char *name = a->syscalls.v[i];
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown to libseccomp on this architecture */
    rc = seccomp_rule_add(ctx, listed, nr, 0);
    if (rc < 0 && rc != -EEXIST && nr >= 0) app_fail(a, o, -rc, "seccomp: rule for %s", name);
  }
  return ctx;
}

/* ---- exec ---- */

static const char *env_get(char *const *env, const char *key) {
  size_t kl = strlen(key);
  for (; *env; env++)
    if (!strncmp(*env, key, kl) && (*env)[kl] == '=') return *env + kl + 1;
  return NULL;
}

/* argv[0] without '/': the first executable regular file in PATH; errno as execvp would. */
static char *search_path(const char *name, char *const *env, int *err) {
  const char *path = env_get(env, "PATH");
  if (!path) path = DEFAULT_PATH;
  char *copy = xstrdup(path), *save = NULL;
  *err = ENOENT;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char *cand = path_join(dir, name);
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(cand, X_OK) == 0) {
        free(copy);
        return cand;
      }
      *err = EACCES;
    }
    free(cand);
  }
  free(copy);
  return NULL;
}

noreturn void app_exec_final(const struct app *a, const struct exec_opts *o) {
  /* 8. */
  if (a->readonly) {
    int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (slash < 0 || make_readonly_beneath(slash, "", false) < 0) app_fail(a, o, errno, "make / read-only");
    close(slash);
  }
  /* 9. */
  if (a->has_oom) {
    char v[16];
    snprintf(v, sizeof v, "%d", a->oom);
    if (write_existing_file("/proc/self/oom_score_adj", v) < 0) app_fail(a, o, errno, "oom_score_adj %d", a->oom);
  }
  /* 10. */
  if (!o->tty && setsid() < 0) app_fail(a, o, errno, "setsid");
  /* 11. */
  limit_caps(a, o);
  /* 12. */
  if (a->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) app_fail(a, o, errno, "no_new_privs");
  /* 13. A non-root app without no_new_privs needs CAP_SYS_ADMIN to load its seccomp filter. */
  /* Event handlers run as root (as rkt's ExecStartPre/ExecStopPost did), whatever the app's user. */
  uid_t uid = o->hook ? 0 : a->uid;
  gid_t gid = o->hook ? 0 : a->gid;
  bool need_admin = a->seccomp != SECCOMP_NONE && !a->nnp && uid != 0;
  if (need_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) app_fail(a, o, errno, "keep capabilities");
  if (setgroups(o->hook ? 0 : a->ngroups, o->hook ? NULL : a->groups) < 0) app_fail(a, o, errno, "setgroups");
  if (setresgid(gid, gid, gid) < 0) app_fail(a, o, errno, "setresgid %u", (unsigned)gid);
  if (setresuid(uid, uid, uid) < 0) app_fail(a, o, errno, "setresuid %u", (unsigned)uid);
  if (need_admin) {
    struct __user_cap_data_struct d[2];
    if (capget_all(d) < 0) app_fail(a, o, errno, "capget");
    d[0].effective = d[0].permitted & (1u << CAP_SYS_ADMIN);
    d[1].effective = 0;
    if (capset_all(d) < 0) app_fail(a, o, errno, "raise CAP_SYS_ADMIN for seccomp");
  }
  /* 14. */
  if (chdir(a->cwd) < 0) app_fail(a, o, errno, "chdir %s", a->cwd);
  /* 15. */
  struct strv env = { 0 };
  for (size_t i = 0; i < a->env.n; i++) {
    const char *e = a->env.v[i];
    if (o->term && !strncmp(e, "TERM=", 5)) continue;
    if (notify_socket_for_env && !strncmp(e, "NOTIFY_SOCKET=", 14)) continue;
    strv_push(&env, e);
  }
  if (o->term) strv_push(&env, xasprintf("TERM=%s", o->term));
  if (notify_socket_for_env) strv_push(&env, xasprintf("NOTIFY_SOCKET=%s", notify_socket_for_env));
  char **envp = strv_array(&env);
  char *const *argv = o->argv ? o->argv : a->args.v;
  if (!argv || !argv[0]) app_fail(a, o, EINVAL, "no command (app-arg)");
  const char *prog = argv[0];
  int exec_err = 0;
  if (!strchr(prog, '/')) {
    prog = search_path(argv[0], envp, &exec_err);
  }
  /* What a failing exec would lack (a missing ELF interpreter, libraries, a #! interpreter), read
   * now: after the seccomp filter is loaded the app may not be allowed to open files. */
  char *missing = prog ? exec_missing_parts(prog) : NULL;
  /* 16. */
  scmp_filter_ctx ctx = NULL;
  if (a->seccomp != SECCOMP_NONE) ctx = build_seccomp(a, o);
  /* Signals the supervisor blocked or ignored must not stay so in the app. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (o->report_fd >= 0) {
    char mark = EXEC_MARK;
    (void)write_all(o->report_fd, &mark, 1);
  }
  if (ctx) {
    int rc = seccomp_load(ctx);
    if (rc < 0) app_fail(a, o, -rc, "load the seccomp filter");
    seccomp_release(ctx);
  }
  /* 17. */
  if (prog) {
    execve(prog, argv, envp);
    exec_err = errno;
  }
  report(o, EXIT_EXEC);
  if (o->hook) fprintf(stderr, "%s: app %s: %s handler %s failed with exit code %d: exec: %s\n", PROG, a->name, o->hook, argv[0], EXIT_EXEC, strerror(exec_err));
  else if (exec_err == ENOENT && missing) fprintf(stderr, "%s: app %s: exec %s: %s: %s\n", PROG, a->name, argv[0], strerror(exec_err), missing);
  else warn_errno(exec_err, "app %s: exec %s", a->name, argv[0]);
  _exit(EXIT_EXEC);
}
