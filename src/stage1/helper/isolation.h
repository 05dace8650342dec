/* The isolation of one app, applied in a forked child right before exec (init, enter, fly). */
#ifndef CAPSULE_ISOLATION_H
#define CAPSULE_ISOLATION_H

#include "common.h"
#include "plan.h"

#define EXEC_MARK 'X'

struct exec_opts {
  /* argv to run instead of the app's app-arg list (enter), or NULL. */
  char *const *argv;
  /* tty mode: keep the session and controlling terminal (no setsid). */
  bool tty;
  /*
   * CLOEXEC pipe to the supervisor, or -1: EXEC_MARK is written right before the exec, an int
   * code after any failure; so EOF after the mark alone means the exec succeeded.
   */
  int report_fd;
  /* The caller's TERM to add to the app's environment (enter), or NULL. */
  const char *term;
  /*
   * An event handler ("pre-start", "post-stop") runs argv instead of the app: as root (uid and
   * gid 0, no supplementary groups) with the app's other isolation; NULL for the app itself.
   */
  const char *hook;
};

/*
 * nspawn flavour (init and enter): the whole isolation of docs/stage1-contract.md, in order:
 * join cgroups, new mount and cgroup namespaces, /proc /sys /dev, cgroupfs, masks, notify socket,
 * pivot_root, then app_exec_final. Never returns: execs or exits 254 (setup) / 127 (exec).
 */
noreturn void app_isolate_exec(const struct app *a, const struct exec_opts *o);

/* Set by init when it relays apps' sd_notify messages: the relay socket bound into notify apps at
 * $NOTIFY_SOCKET's path (nspawn accepts messages from the container's PID 1 only). */
extern const char *notify_relay_src;

/* Joins the app's cgroups (app-cgroup). */
void app_join_cgroups(const struct app *a, const struct exec_opts *o);

/* The app's volumes (app-mount), each at its target resolved inside ROOTFD. */
void app_mount_volumes(const struct app *a, const struct exec_opts *o, int rootfd);

/* app-mask and app-ro beneath ROOTFD. */
void app_mask_paths(const struct app *a, const struct exec_opts *o, int rootfd);

/*
 * Everything after the root switch: read-only root, oom_score_adj, setsid, bounding set,
 * ambient/inheritable sets, no_new_privs, groups/gid/uid, cwd, environment, seccomp, exec.
 */
noreturn void app_exec_final(const struct app *a, const struct exec_opts *o);

/* Reports a setup failure (`capsule-stage1: app NAME: STEP: strerror`) and exits 254. */
noreturn void app_fail(const struct app *a, const struct exec_opts *o, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
