#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAX (64u << 20)

struct parser {
  struct plan *p;
  struct app *app;        /* current section, or NULL before the first `app` */
  struct host_op *pending; /* last overlay/bind/cgroup-write op waiting for its companion key */
  const char *expect;      /* the key that must come next, or NULL */
  const char *cg_owner;    /* cgroup-owner: the uid later cgroup-mkdir dirs are delegated to */
};

static noreturn void bad(struct parser *ps, const char *key, const char *why) {
  die_msg("%s: key '%s': %s", ps->p->path, key, why);
}

static bool parse_bool(const char *v, bool *out) {
  if (!strcmp(v, "0")) *out = false;
  else if (!strcmp(v, "1")) *out = true;
  else return false;
  return true;
}

static long long num(struct parser *ps, const char *key, const char *val, long long min, long long max) {
  long long v;
  if (!parse_long(val, min, max, &v)) bad(ps, key, xasprintf("invalid value '%s'", val));
  return v;
}

static void boolean(struct parser *ps, const char *key, const char *val, bool *out) {
  if (!parse_bool(val, out)) bad(ps, key, xasprintf("invalid value '%s' (want 0 or 1)", val));
}

static struct host_op *new_op(struct plan *p, enum host_op_type t, const char *a) {
  p->ops = xrealloc(p->ops, (p->nops + 1) * sizeof *p->ops);
  struct host_op *op = &p->ops[p->nops++];
  memset(op, 0, sizeof *op);
  op->type = t;
  op->a = a;
  return op;
}

static void app_defaults(struct app *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->name = name;
  a->cwd = "/";
  a->capbnd_all = true;
  a->seccomp = SECCOMP_NONE;
  a->cgroupfs = CGROUPFS_NONE;
}

static bool valid_app_name(const char *n) {
  if (!*n || strlen(n) > 255) return false;
  for (const char *c = n; *c; c++)
    if (*c == '/') return false;
  return strcmp(n, ".") && strcmp(n, "..");
}

static void parse_capbnd(struct parser *ps, const char *key, const char *val, struct app *a) {
  if (!strcmp(val, "all")) {
    a->capbnd_all = true;
    return;
  }
  const char *s = val;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  if (!*s || strlen(s) > 16) bad(ps, key, xasprintf("invalid capability mask '%s'", val));
  uint64_t m = 0;
  for (; *s; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else bad(ps, key, xasprintf("invalid capability mask '%s'", val));
    m = (m << 4) | (uint64_t)d;
  }
  a->capbnd_all = false;
  a->capbnd = m;
}

static void app_key(struct parser *ps, const char *key, const char *val) {
  struct app *a = ps->app;
  if (!a) bad(ps, key, "before the first 'app'");
  if (!strcmp(key, "app-root")) a->root = val;
  else if (!strcmp(key, "app-arg")) strv_push(&a->args, val);
  else if (!strcmp(key, "app-pre-start")) strv_push(&a->pre_start, val);
  else if (!strcmp(key, "app-post-stop")) strv_push(&a->post_stop, val);
  else if (!strcmp(key, "app-env")) {
    if (!strchr(val, '=') || val[0] == '=') bad(ps, key, xasprintf("invalid value '%s' (want K=V)", val));
    strv_push(&a->env, val);
  } else if (!strcmp(key, "app-uid")) a->uid = (uid_t)num(ps, key, val, 0, 4294967294LL);
  else if (!strcmp(key, "app-gid")) a->gid = (gid_t)num(ps, key, val, 0, 4294967294LL);
  else if (!strcmp(key, "app-group")) {
    a->groups = xrealloc(a->groups, (a->ngroups + 1) * sizeof *a->groups);
    a->groups[a->ngroups++] = (gid_t)num(ps, key, val, 0, 4294967294LL);
  } else if (!strcmp(key, "app-cwd")) {
    if (val[0] != '/') bad(ps, key, xasprintf("'%s' is not absolute", val));
    a->cwd = val;
  } else if (!strcmp(key, "app-capbnd")) parse_capbnd(ps, key, val, a);
  else if (!strcmp(key, "app-nnp")) boolean(ps, key, val, &a->nnp);
  else if (!strcmp(key, "app-seccomp")) {
    if (!strcmp(val, "retain")) a->seccomp = SECCOMP_RETAIN;
    else if (!strcmp(val, "remove")) a->seccomp = SECCOMP_REMOVE;
    else if (!strcmp(val, "none")) a->seccomp = SECCOMP_NONE;
    else bad(ps, key, xasprintf("invalid value '%s' (want retain, remove or none)", val));
  } else if (!strcmp(key, "app-seccomp-errno")) a->seccomp_errno = (int)num(ps, key, val, 0, 4095);
  else if (!strcmp(key, "app-syscall")) strv_push(&a->syscalls, val);
  else if (!strcmp(key, "app-oom")) {
    a->has_oom = true;
    a->oom = (int)num(ps, key, val, -1000, 1000);
  } else if (!strcmp(key, "app-cgroup")) strv_push(&a->cgroups, val);
  else if (!strcmp(key, "app-cgroupfs")) {
    if (!strcmp(val, "v1")) a->cgroupfs = CGROUPFS_V1;
    else if (!strcmp(val, "v2")) a->cgroupfs = CGROUPFS_V2;
    else if (!strcmp(val, "none")) a->cgroupfs = CGROUPFS_NONE;
    else bad(ps, key, xasprintf("invalid value '%s' (want v1, v2 or none)", val));
  } else if (!strcmp(key, "app-cgroup-ctrl")) {
    if (!*val || strchr(val, '/') || val[0] == '.') bad(ps, key, xasprintf("invalid controller list '%s'", val));
    strv_push(&a->cgroup_ctrls, val);
  } else if (!strcmp(key, "app-mask")) strv_push(&a->masks, val);
  else if (!strcmp(key, "app-ro")) strv_push(&a->ros, val);
  else if (!strcmp(key, "app-readonly")) boolean(ps, key, val, &a->readonly);
  else if (!strcmp(key, "app-log")) a->log = val;
  else if (!strcmp(key, "app-log-times")) a->log_times = val;
  else if (!strcmp(key, "app-status")) a->status = val;
  else if (!strcmp(key, "app-started")) a->started = val;
  else if (!strcmp(key, "app-notify")) boolean(ps, key, val, &a->notify);
  else if (!strcmp(key, "app-tty")) boolean(ps, key, val, &a->tty);
  else if (!strcmp(key, "app-stdin")) boolean(ps, key, val, &a->stdin_pass);
  else if (!strcmp(key, "app-stop-signal")) a->stop_signal = (int)num(ps, key, val, 1, 64);
  else if (!strcmp(key, "app-mount")) {
    if (val[0] != '/') bad(ps, key, xasprintf("'%s' is not absolute", val));
    a->mounts = xrealloc(a->mounts, (a->nmounts + 1) * sizeof *a->mounts);
    a->mounts[a->nmounts++] = (struct app_mount){ .src = val };
    ps->expect = "app-mount-target";
  } else if (!strcmp(key, "app-mount-target")) {
    if (!a->nmounts || a->mounts[a->nmounts - 1].target) bad(ps, key, "without 'app-mount'");
    if (!*val) bad(ps, key, "empty target");
    a->mounts[a->nmounts - 1].target = val;
  } else if (!strcmp(key, "app-mount-opts")) {
    if (!a->nmounts) bad(ps, key, "without 'app-mount'");
    struct app_mount *m = &a->mounts[a->nmounts - 1];
    char *opts = xstrdup(val), *save = NULL;
    for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
      if (!strcmp(o, "rec")) m->rec = true;
      else if (!strcmp(o, "ro")) m->ro = true;
      else bad(ps, key, xasprintf("unknown option '%s'", o));
    }
    free(opts);
  }
  else die_msg("%s: unknown key '%s'", ps->p->path, key);
}

static void bind_opts(struct parser *ps, const char *key, const char *val, struct host_op *op) {
  char *opts = xstrdup(val), *save = NULL;
  for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (!strcmp(o, "rec")) op->rec = true;
    else if (!strcmp(o, "ro")) op->ro = true;
    else bad(ps, key, xasprintf("unknown option '%s'", o));
  }
  free(opts);
}

static void entry(struct parser *ps, const char *key, const char *val) {
  struct plan *p = ps->p;
  if (ps->expect && strcmp(key, ps->expect)) bad(ps, key, xasprintf("expected '%s' first", ps->expect));
  const char *was_expected = ps->expect;
  ps->expect = NULL;
  struct host_op *pending = ps->pending;
  /* bind-opts may only follow bind-target; everything else ends the pending op. */
  if (strcmp(key, "bind-opts")) ps->pending = NULL;

  if (!strcmp(key, "overlay")) {
    ps->pending = new_op(p, HOP_OVERLAY, val);
    ps->expect = "overlay-target";
  } else if (!strcmp(key, "overlay-target")) {
    if (!was_expected) bad(ps, key, "without 'overlay'");
    pending->b = val;
  } else if (!strcmp(key, "bind")) {
    ps->pending = new_op(p, HOP_BIND, val);
    ps->expect = "bind-target";
  } else if (!strcmp(key, "bind-target")) {
    if (!was_expected) bad(ps, key, "without 'bind'");
    pending->b = val;
    ps->pending = pending;
  } else if (!strcmp(key, "bind-opts")) {
    if (!pending || pending->type != HOP_BIND || !pending->b) bad(ps, key, "without 'bind-target'");
    bind_opts(ps, key, val, pending);
    ps->pending = NULL;
  } else if (!strcmp(key, "host-tmpfs")) new_op(p, HOP_TMPFS, val);
  else if (!strcmp(key, "cgroup-owner")) {
    num(ps, key, val, 1, 4294967294LL);
    ps->cg_owner = val;
  } else if (!strcmp(key, "cgroup-mkdir")) new_op(p, HOP_CG_MKDIR, val)->b = ps->cg_owner;
  else if (!strcmp(key, "cgroup-write")) {
    ps->pending = new_op(p, HOP_CG_WRITE, val);
    ps->expect = "cgroup-value";
  } else if (!strcmp(key, "cgroup-value")) {
    if (!was_expected) bad(ps, key, "without 'cgroup-write'");
    pending->b = val;
  } else if (!strcmp(key, "cgroup-join")) new_op(p, HOP_CG_JOIN, val);
  else if (!strcmp(key, "net-lock")) p->net_lock = val;
  else if (!strcmp(key, "netns-path")) p->netns_path = val;
  else if (!strcmp(key, "netns-setns")) p->netns_setns = !strcmp(val, "1");
  else if (!strcmp(key, "netns-dir")) {
    if (val[0] != '/') bad(ps, key, xasprintf("'%s' is not absolute", val));
    p->netns_dir = val;
  }
  else if (!strcmp(key, "td-exec")) {
    if (val[0] != '/') bad(ps, key, xasprintf("'%s' is not absolute", val));
    p->td = xrealloc(p->td, (p->ntd + 1) * sizeof *p->td);
    memset(&p->td[p->ntd], 0, sizeof *p->td);
    p->td[p->ntd++].exec = val;
  } else if (!strcmp(key, "td-env") || !strcmp(key, "td-stdin") || !strcmp(key, "td-record")) {
    if (!p->ntd) bad(ps, key, "without 'td-exec'");
    struct td_step *t = &p->td[p->ntd - 1];
    if (!strcmp(key, "td-env")) {
      if (!strchr(val, '=') || val[0] == '=') bad(ps, key, xasprintf("invalid value '%s' (want K=V)", val));
      strv_push(&t->env, val);
    } else if (!strcmp(key, "td-stdin")) t->stdin_path = val;
    else t->record = val;
  } else if (!strcmp(key, "td-timeout")) p->td_timeout = (int)num(ps, key, val, 1, 86400);
  else if (!strcmp(key, "td-netns")) {
    p->td_netns = val;
    ps->expect = "td-netns-marker";
  } else if (!strcmp(key, "td-netns-marker")) {
    if (!was_expected) bad(ps, key, "without 'td-netns'");
    p->td_netns_marker = val;
  } else if (!strcmp(key, "ppid-file")) p->ppid_file = val;
  else if (!strcmp(key, "pid-file")) p->pid_file = val;
  else if (!strcmp(key, "exec-arg")) strv_push(&p->exec_args, val);
  else if (!strcmp(key, "exec-env")) {
    if (!strchr(val, '=') || val[0] == '=') bad(ps, key, xasprintf("invalid value '%s' (want K=V)", val));
    strv_push(&p->exec_env, val);
  } else if (!strcmp(key, "sysfs")) {
    if (strcmp(val, "ro") && strcmp(val, "rw")) bad(ps, key, xasprintf("invalid value '%s' (want ro or rw)", val));
    p->sysfs = val;
  } else if (!strcmp(key, "stop-timeout")) p->stop_timeout = (int)num(ps, key, val, 0, 86400 * 365);
  else if (!strcmp(key, "stop-grace-ms")) p->stop_grace_ms = (int)num(ps, key, val, 0, 3600 * 1000);
  else if (!strcmp(key, "notify")) boolean(ps, key, val, &p->notify);
  else if (!strcmp(key, "app")) {
    if (!valid_app_name(val)) bad(ps, key, xasprintf("invalid app name '%s'", val));
    for (size_t i = 0; i < p->napps; i++)
      if (!strcmp(p->apps[i].name, val)) bad(ps, key, xasprintf("app '%s' appears twice", val));
    p->apps = xrealloc(p->apps, (p->napps + 1) * sizeof *p->apps);
    ps->app = &p->apps[p->napps++];
    app_defaults(ps->app, val);
  } else if (!strncmp(key, "app-", 4)) app_key(ps, key, val);
  else die_msg("%s: unknown key '%s'", p->path, key);
}

void plan_load(const char *path, struct plan *p) {
  memset(p, 0, sizeof *p);
  p->path = path;
  p->stop_timeout = 10;
  p->td_timeout = 60;
  size_t len = 0;
  char *buf = read_file(path, PLAN_MAX, &len);
  if (!buf) die_errno(errno, "read plan %s", path);
  if (len && buf[len - 1] != '\0') die_msg("%s: the last string is not NUL-terminated", path);
  struct parser ps = { .p = p };
  size_t off = 0;
  while (off < len) {
    const char *key = buf + off;
    off += strlen(key) + 1;
    if (off >= len) die_msg("%s: key '%s' has no value", path, key);
    const char *val = buf + off;
    off += strlen(val) + 1;
    entry(&ps, key, val);
    /* ps.app may move when p->apps grows: keep it pointing at the last section. */
    if (p->napps) ps.app = &p->apps[p->napps - 1];
  }
  if (ps.expect) die_msg("%s: missing '%s' at the end", path, ps.expect);
}

struct app *plan_find_app(struct plan *p, const char *name) {
  for (size_t i = 0; i < p->napps; i++)
    if (!strcmp(p->apps[i].name, name)) return &p->apps[i];
  return NULL;
}
