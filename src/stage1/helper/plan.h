/* The plan: NUL-terminated strings taken in pairs key, value (docs/stage1-contract.md). */
#ifndef CAPSULE_PLAN_H
#define CAPSULE_PLAN_H

#include "common.h"

/* Host-side operations of `run` and `fly`, applied in plan order. */
enum host_op_type {
  HOP_TMPFS,     /* host-tmpfs PATH */
  HOP_OVERLAY,   /* overlay OPTIONS + overlay-target PATH */
  HOP_BIND,      /* bind SRC + bind-target DST [+ bind-opts rec,ro] */
  HOP_CG_MKDIR,  /* cgroup-mkdir PATH (b: the cgroup-owner uid in effect, or NULL) */
  HOP_CG_WRITE,  /* cgroup-write PATH + cgroup-value V */
  HOP_CG_JOIN,   /* cgroup-join DIR */
};

struct host_op {
  enum host_op_type type;
  const char *a; /* path, options or source */
  const char *b; /* target or value */
  bool rec, ro;
};

enum seccomp_mode { SECCOMP_NONE, SECCOMP_RETAIN, SECCOMP_REMOVE };
enum cgroupfs_mode { CGROUPFS_NONE, CGROUPFS_V1, CGROUPFS_V2 };

/* app-mount SRC + app-mount-target PATH [+ app-mount-opts rec,ro]: a volume inside the app's root. */
struct app_mount {
  const char *src;
  const char *target;
  bool rec, ro;
};

/* One `app` section. */
struct app {
  const char *name;
  const char *root;
  struct strv args;
  /* Event handlers (app-pre-start, app-post-stop): argv, empty when the image has none. */
  struct strv pre_start;
  struct strv post_stop;
  struct strv env;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  const char *cwd;
  bool capbnd_all;
  uint64_t capbnd;
  bool nnp;
  enum seccomp_mode seccomp;
  int seccomp_errno; /* 0: kill the process */
  struct strv syscalls;
  bool has_oom;
  int oom;
  struct strv cgroups;
  enum cgroupfs_mode cgroupfs;
  struct strv cgroup_ctrls;
  struct strv masks;
  struct strv ros;
  bool readonly;
  const char *log;
  const char *log_times; /* app-log-times: "<offset> <sec>.<nsec>" per chunk written to log */
  const char *status;
  const char *started;
  bool notify;
  bool tty;
  struct app_mount *mounts;
  size_t nmounts;
  bool stdin_pass; /* app-stdin: the app gets the init's stdin, not /dev/null */
  int stop_signal;  /* app-stop-signal: what stopping sends it (0: SIGTERM) */
};

/* The fd the pod's network namespace is passed to systemd-nspawn on. */
#define NETNS_FD 9

/* One prepared network teardown call (a CNI DEL): exec with exactly env, stdin from a file. */
struct td_step {
  const char *exec;
  struct strv env;
  const char *stdin_path; /* relative to the pod dir */
  const char *record;     /* set on a net's last step: unlinked when every step of it succeeded */
};

struct plan {
  const char *path;
  /* run: network teardown after the pod ends (docs/stage1-contract.md "Network teardown") */
  const char *net_lock;
  const char *netns_path; /* the pod's namespace, handed to nspawn as /proc/self/fd/NETNS_FD */
  const char *netns_dir;  /* every pod's namespace files: not kept in the pod's mount namespace */
  int netns_setns;        /* 1: nspawn's process joins netns_path itself (a user namespace pod) */
  struct td_step *td;
  size_t ntd;
  int td_timeout;
  const char *td_netns;
  const char *td_netns_marker;
  /* run / fly */
  struct host_op *ops;
  size_t nops;
  const char *ppid_file;
  const char *pid_file;
  struct strv exec_args;
  struct strv exec_env;
  /* init */
  int stop_timeout;
  /* sysfs ro|rw: mount a fresh sysfs on /sys (the pod joined a network namespace nspawn did not make) */
  const char *sysfs;
  /* After an app failed: how long the others go on before they get SIGTERM (ms). */
  int stop_grace_ms;
  bool notify;
  struct app *apps;
  size_t napps;
};

/*
 * Reads and parses PATH. Every key the helper knows is parsed (one grammar for all modes; a mode
 * uses the keys meant for it); an unknown key, a malformed value or a key out of order exits 254
 * with a message naming it.
 */
void plan_load(const char *path, struct plan *p);

/* The section of app NAME, or NULL. */
struct app *plan_find_app(struct plan *p, const char *name);

#endif
