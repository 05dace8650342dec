/* `capsule-stage1 init`: PID 1 of the container, the supervisor of the pod's apps. */
#include "common.h"
#include "isolation.h"
#include "modes.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the last app has exited, how long output of its leftover processes is still copied. */
#define DRAIN_MS 1000

/*
 * What an app slot runs, in order: its pre-start handler (if any), the app, its post-stop handler
 * (if any, only after the app ran). Each is a separately isolated child (see hooks in
 * docs/stage1-contract.md); one at a time.
 */
enum phase { PH_PRE, PH_MAIN, PH_POST, PH_DONE };

struct slot {
  struct app *app;
  pid_t pid;
  bool running; /* pid (handler or app) is alive */
  bool started;
  enum phase phase;
  int out, err, rep, log;
  int times; /* the log's times file (app-log-times), or -1 */
  int out_w, err_w; /* the pipes' write ends, kept for the next phase until the slot is done */
  size_t rep_len; /* bytes read from the report pipe */
  bool rep_mark;  /* the first of them was EXEC_MARK */
  int64_t post_deadline; /* the post-stop handler is killed then */
  bool post_killed;
};

static struct slot *slots;
static size_t nslots;
static bool stopping, killed, failed;
static int pod_code;
static int64_t kill_deadline;
static int64_t stop_at; /* after a failure: when the others get SIGTERM (0: not scheduled) */
static int stop_timeout, stop_grace_ms;
static bool broken[3]; /* init's own stdout/stderr no longer writable */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void signal_app(struct slot *s, int sig) {
  /* The app leads its own process group unless in tty mode (or still setting up). */
  if (kill(-s->pid, sig) < 0) kill(s->pid, sig);
}

/* Post-stop handlers are not stopped: they run to the end or their own deadline. */
static bool stoppable(const struct slot *s) {
  return s->running && s->phase != PH_POST;
}

static void begin_stop(void) {
  if (stopping) return;
  stopping = true;
  kill_deadline = now_ms() + (int64_t)stop_timeout * 1000;
  for (size_t i = 0; i < nslots; i++)
    if (stoppable(&slots[i])) signal_app(&slots[i], slots[i].app->stop_signal ? slots[i].app->stop_signal : SIGTERM);
}

/* An app failed: the others are stopped after the grace period (stop-grace-ms). */
static void schedule_stop(void) {
  if (stopping || stop_at) return;
  if (stop_grace_ms <= 0) begin_stop();
  else stop_at = now_ms() + stop_grace_ms;
}

/* The app's exit status (or its pre-start handler's failure) is final. */
static void app_ended(struct slot *s, int code) {
  struct app *a = s->app;
  if (a->status) {
    char v[16];
    snprintf(v, sizeof v, "%d\n", code);
    if (write_file_atomic(a->status, v) < 0) warn_errno(errno, "app %s: write status %s", a->name, a->status);
  }
  if (code != 0 && !failed) {
    failed = true;
    pod_code = code;
    schedule_stop();
  }
}

static void send_notify(const char *msg, size_t n) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len = strlen(path);
  if (len >= sizeof sa.sun_path) {
    warn_errno(ENAMETOOLONG, "notify %s", path);
    return;
  }
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || sendto(fd, msg, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) warn_errno(errno, "notify %s", path);
  if (fd >= 0) close(fd);
}

static void send_ready(void) {
  send_notify("READY=1", 7);
}

/* Apps that announce sd_notify support get a socket of ours at $NOTIFY_SOCKET's path; what they
 * send is passed on from PID 1, the only sender nspawn believes. -1 when no app needs it. */
static int open_notify_relay(const struct plan *p, const char *plan_path) {
  const char *up = getenv("NOTIFY_SOCKET");
  bool wanted = false;
  for (size_t i = 0; i < p->napps; i++) wanted |= p->apps[i].notify;
  if (!wanted || !up || up[0] != '/') return -1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die_errno(errno, "notify relay socket");
  /* Beside the plan: /capsule/notify in the container. */
  static char relay[sizeof ((struct sockaddr_un *)0)->sun_path];
  const char *slash = strrchr(plan_path, '/');
  int dirlen = slash ? (int)(slash - plan_path) : 1;
  if (snprintf(relay, sizeof relay, "%.*s/notify", dirlen, slash ? plan_path : ".") >= (int)sizeof relay) die_errno(ENAMETOOLONG, "notify relay beside %s", plan_path);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  memcpy(sa.sun_path, relay, strlen(relay) + 1);
  (void)unlink(relay);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die_errno(errno, "bind %s", relay);
  if (chmod(relay, 0666) < 0) die_errno(errno, "chmod %s", relay); /* apps may run as any user */
  notify_relay_src = relay;
  return fd;
}

static void relay_notify(int fd) {
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) send_notify(buf, (size_t)n);
}

static void check_all_started(bool notify) {
  static bool sent;
  if (sent) return;
  for (size_t i = 0; i < nslots; i++)
    if (!slots[i].started) return;
  sent = true;
  if (notify) send_ready();
}

/* Writes to init's own stdout/stderr; waits when it is a full non-blocking pipe; gives up on EPIPE. */
static void write_out(int fd, const char *buf, size_t len) {
  if (broken[fd]) return;
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        poll(&p, 1, 1000);
        continue;
      }
      broken[fd] = true;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

/*
 * Appends to the app's log. Before the bytes, the times file gets a line "<offset> <sec>.<nsec>"
 * (the log's size and the wall clock now), so `capsule logs --since/--timestamps` can date every
 * line by the chunk its first byte came in; written first, a reader never sees bytes without one.
 */
static void log_write(struct slot *s, const char *buf, size_t len) {
  if (s->log < 0 || len == 0) return;
  if (s->times >= 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    off_t at = lseek(s->log, 0, SEEK_END);
    char line[64];
    int n = snprintf(line, sizeof line, "%lld %lld.%09ld\n", (long long)at, (long long)ts.tv_sec, ts.tv_nsec);
    if (at < 0 || write_all(s->times, line, (size_t)n) < 0) {
      warn_errno(errno, "app %s: write %s", s->app->name, s->app->log_times);
      close_fd(&s->times);
    }
  }
  if (write_all(s->log, buf, len) < 0) {
    warn_errno(errno, "app %s: write log %s", s->app->name, s->app->log);
    close_fd(&s->log);
    close_fd(&s->times);
  }
}

static void pump(struct slot *s, int *fdp, int target) {
  static char buf[65536];
  for (int round = 0; round < 16 && *fdp >= 0; round++) {
    ssize_t n = read(*fdp, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) close_fd(fdp);
      return;
    }
    if (n == 0) {
      close_fd(fdp);
      break;
    }
    log_write(s, buf, (size_t)n);
    write_out(target, buf, (size_t)n);
  }
  if (s->out < 0 && s->err < 0) {
    close_fd(&s->log);
    close_fd(&s->times);
  }
}

/*
 * The report pipe (CLOEXEC in the app): the app writes EXEC_MARK right before its exec and a
 * code after a failure, so at EOF exactly the mark means the exec succeeded; nothing means the
 * app died (or was killed) before it got that far.
 */
static void read_report(struct slot *s, bool notify) {
  char buf[16];
  ssize_t n;
  for (;;) {
    do n = read(s->rep, buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) break;
    if (s->rep_len == 0) s->rep_mark = buf[0] == EXEC_MARK;
    s->rep_len += (size_t)n;
  }
  close_fd(&s->rep);
  if (s->rep_len != 1 || !s->rep_mark || s->phase != PH_MAIN) return;
  s->started = true;
  if (s->app->started && touch_file(s->app->started) < 0) warn_errno(errno, "app %s: write %s", s->app->name, s->app->started);
  check_all_started(notify);
}

/* A line of init's about the slot, on init's stderr and in the app's log. */
static void slot_say(struct slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slot_say(struct slot *s, const char *fmt, ...) {
  char line[2048];
  int n = snprintf(line, sizeof line, "%s: app %s: ", PROG, s->app->name);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  line[len++] = '\n';
  log_write(s, line, len);
  write_out(2, line, len);
}

/* Forks the slot's next process: the app (hook NULL) or an event handler running ARGV. */
static bool spawn(struct slot *s, char *const *argv, const char *hook) {
  struct app *a = s->app;
  int repp[2];
  close_fd(&s->rep);
  s->rep_len = 0;
  s->rep_mark = false;
  if (pipe2(repp, O_CLOEXEC) < 0) {
    warn_errno(errno, "app %s: pipe", a->name);
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    warn_errno(errno, "app %s: fork", a->name);
    close(repp[0]);
    close(repp[1]);
    return false;
  }
  if (pid == 0) {
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &dfl, NULL);
    struct exec_opts o = { .argv = argv, .tty = a->tty, .report_fd = repp[1], .term = NULL, .hook = hook };
    if (!a->tty) {
      /* stdin passed through belongs to the app; its handlers read /dev/null. */
      int in = a->stdin_pass && !hook ? 0 : open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (in < 0 || (in != 0 && dup2(in, 0) < 0) || dup2(s->out_w, 1) < 0 || dup2(s->err_w, 2) < 0) app_fail(a, &o, errno, "set up stdio");
    }
    app_isolate_exec(a, &o);
  }
  s->pid = pid;
  s->running = true;
  close(repp[1]);
  s->rep = repp[0];
  fcntl(s->rep, F_SETFL, O_NONBLOCK);
  return true;
}

/* Nothing more runs in the slot: its output pipes reach EOF once leftover processes are gone. */
static void finish_slot(struct slot *s) {
  s->phase = PH_DONE;
  close_fd(&s->out_w);
  close_fd(&s->err_w);
}

static void start_main(struct slot *s) {
  s->phase = PH_MAIN;
  if (!spawn(s, NULL, NULL)) {
    app_ended(s, EXIT_SETUP);
    finish_slot(s);
  }
}

/* The slot's current process ended with CODE: record it and start the next phase. */
static void process_ended(struct slot *s, int code, bool notify) {
  struct app *a = s->app;
  s->running = false;
  if (s->rep >= 0) read_report(s, notify);
  /* The handler's program was executed (else it reported its own exec failure). */
  bool ran = s->rep_len == 1 && s->rep_mark;
  switch (s->phase) {
  case PH_PRE:
    if (code != 0) {
      if (ran && !stopping) slot_say(s, "pre-start handler %s failed with exit code %d", a->pre_start.v[0], code);
      app_ended(s, code);
      finish_slot(s);
    } else if (stopping) {
      finish_slot(s); /* the app never started: no status */
    } else {
      start_main(s);
    }
    break;
  case PH_MAIN:
    app_ended(s, code);
    if (a->post_stop.n) {
      s->phase = PH_POST;
      s->post_deadline = now_ms() + (int64_t)stop_timeout * 1000;
      if (!spawn(s, strv_array(&a->post_stop), "post-stop")) finish_slot(s);
    } else {
      finish_slot(s);
    }
    break;
  case PH_POST:
    if (code != 0 && ran) slot_say(s, "post-stop handler %s failed with exit code %d", a->post_stop.v[0], code);
    finish_slot(s);
    break;
  case PH_DONE:
    break;
  }
}

static void reap(bool notify) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    for (size_t i = 0; i < nslots; i++)
      if (slots[i].running && slots[i].pid == p) process_ended(&slots[i], exit_code_of(st), notify);
  }
}

static void start_app(struct slot *s) {
  struct app *a = s->app;
  s->out = s->err = s->rep = s->log = s->times = s->out_w = s->err_w = -1;
  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  if (!a->tty && a->log) {
    s->log = open(a->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (s->log < 0) {
      warn_errno(errno, "app %s: open log %s", a->name, a->log);
      app_ended(s, EXIT_SETUP);
      finish_slot(s);
      return;
    }
    if (a->log_times) {
      s->times = open(a->log_times, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
      if (s->times < 0) warn_errno(errno, "app %s: open %s", a->name, a->log_times);
    }
  }
  if (!a->tty && (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)) {
    warn_errno(errno, "app %s: pipe", a->name);
    app_ended(s, EXIT_SETUP);
    finish_slot(s);
    return;
  }
  if (!a->tty) {
    s->out = outp[0];
    s->err = errp[0];
    s->out_w = outp[1];
    s->err_w = errp[1];
    fcntl(s->out, F_SETFL, O_NONBLOCK);
    fcntl(s->err, F_SETFL, O_NONBLOCK);
  }
  if (!a->pre_start.n) {
    start_main(s);
    return;
  }
  s->phase = PH_PRE;
  if (!spawn(s, strv_array(&a->pre_start), "pre-start")) {
    app_ended(s, EXIT_SETUP);
    finish_slot(s);
  }
}

/*
 * appc's Linux profile wants /dev/console in every app; nspawn makes none with --console=pipe.
 * There it is /dev/null (bound over an empty file): what apps write to it is discarded.
 */
static void ensure_console(void) {
  struct stat st;
  if (lstat("/dev/console", &st) == 0 || errno != ENOENT) return;
  int fd = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    warn_errno(errno, "create /dev/console");
    return;
  }
  close(fd);
  if (mount("/dev/null", "/dev/console", NULL, MS_BIND, NULL) < 0) warn_errno(errno, "bind /dev/null to /dev/console");
}

static void on_signal(int sig) {
  (void)sig;
}

int cmd_init(int argc, char **argv) {
  const char *plan_path = argc > 2 ? argv[2] : "/capsule/plan";
  struct plan plan;
  plan_load(plan_path, &plan);
  if (!plan.napps) die_msg("%s: no app", plan_path);
  for (size_t i = 0; i < plan.napps; i++) {
    if (!plan.apps[i].root) die_msg("%s: app %s: no app-root", plan_path, plan.apps[i].name);
    if (!plan.apps[i].args.n) die_msg("%s: app %s: no app-arg", plan_path, plan.apps[i].name);
  }
  stop_timeout = plan.stop_timeout;
  /*
   * nspawn mounts /sys before it joins a network namespace given by path, so its sysfs shows the
   * host's interfaces (/sys/class/net): a sysfs mounted here, in the pod's namespace, shows the
   * pod's. Apps get /sys from here; their cgroups come from /capsule/cgroup, not from /sys.
   */
  if (plan.sysfs) {
    unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | (strcmp(plan.sysfs, "rw") ? MS_RDONLY : 0);
    if (mount("sysfs", "/sys", "sysfs", fl, NULL) < 0) die_errno(errno, "mount sysfs on /sys");
  }
  stop_grace_ms = plan.stop_grace_ms;

  /* Orphans are ours to reap also when init is not PID 1 (tests). */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  /*
   * The pod lives exactly as long as systemd-nspawn, which holds the pod lock: when nspawn is
   * killed (SIGKILL), the container must end too, not live on unlocked under the host's init.
   */
  if (getpid() == 1) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    ensure_console();
  }
  /* PID 1 only gets signals it handles: handle them, but receive them through a signalfd. */
  struct sigaction sa = { .sa_handler = on_signal };
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) die_errno(errno, "sigprocmask");
  int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die_errno(errno, "signalfd");

  nslots = plan.napps;
  slots = xmalloc(nslots * sizeof *slots);
  memset(slots, 0, nslots * sizeof *slots);
  for (size_t i = 0; i < nslots; i++) {
    slots[i].app = &plan.apps[i];
    slots[i].out = slots[i].err = slots[i].rep = slots[i].log = slots[i].times = slots[i].out_w = slots[i].err_w = -1;
  }
  int relay = open_notify_relay(&plan, plan_path);
  for (size_t i = 0; i < nslots && !stopping; i++) start_app(&slots[i]);

  struct pollfd *pfds = xmalloc((2 + 3 * nslots) * sizeof *pfds);
  struct { struct slot *s; int kind; } *who = xmalloc((2 + 3 * nslots) * sizeof *who);
  int64_t drain_deadline = 0;
  for (;;) {
    bool any_running = false, any_open = false;
    for (size_t i = 0; i < nslots; i++) {
      struct slot *s = &slots[i];
      any_running |= s->running;
      any_open |= s->out >= 0 || s->err >= 0 || s->rep >= 0;
    }
    if (!any_running && !any_open) break;
    int64_t now = now_ms();
    if (!any_running && !drain_deadline) drain_deadline = now + DRAIN_MS;
    if (drain_deadline && now >= drain_deadline) break;
    if (!stopping && stop_at && now >= stop_at) begin_stop();
    if (stopping && !killed && now >= kill_deadline) {
      killed = true;
      for (size_t i = 0; i < nslots; i++)
        if (stoppable(&slots[i])) signal_app(&slots[i], SIGKILL);
    }
    int64_t wait_ms = -1;
    if (!stopping && stop_at) wait_ms = stop_at - now;
    if (stopping && !killed) wait_ms = kill_deadline - now;
    for (size_t i = 0; i < nslots; i++) {
      struct slot *s = &slots[i];
      if (!s->running || s->phase != PH_POST || s->post_killed) continue;
      if (now >= s->post_deadline) {
        s->post_killed = true;
        signal_app(s, SIGKILL);
      } else if (wait_ms < 0 || s->post_deadline - now < wait_ms) {
        wait_ms = s->post_deadline - now;
      }
    }
    if (drain_deadline && (wait_ms < 0 || drain_deadline - now < wait_ms)) wait_ms = drain_deadline - now;
    int timeout = wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;
    nfds_t n = 0;
    pfds[n] = (struct pollfd){ .fd = sfd, .events = POLLIN };
    who[n++].s = NULL;
    if (relay >= 0) {
      pfds[n] = (struct pollfd){ .fd = relay, .events = POLLIN };
      who[n].s = NULL;
      who[n++].kind = 3;
    }
    for (size_t i = 0; i < nslots; i++) {
      struct slot *s = &slots[i];
      int fds[3] = { s->out, s->err, s->rep };
      for (int k = 0; k < 3; k++) {
        if (fds[k] < 0) continue;
        pfds[n] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
        who[n].s = s;
        who[n++].kind = k;
      }
    }
    int r = poll(pfds, n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die_errno(errno, "poll");
    }
    for (nfds_t i = 1; i < n; i++) {
      if (!pfds[i].revents) continue;
      if (who[i].s == NULL) {
        relay_notify(relay);
        continue;
      }
      struct slot *s = who[i].s;
      if (who[i].kind == 0) pump(s, &s->out, 1);
      else if (who[i].kind == 1) pump(s, &s->err, 2);
      else read_report(s, plan.notify);
    }
    if (pfds[0].revents) {
      struct signalfd_siginfo si;
      bool child = false;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) child = true;
        else begin_stop();
      }
      if (child) reap(plan.notify);
    }
  }
  for (size_t i = 0; i < nslots; i++) {
    close_fd(&slots[i].out);
    close_fd(&slots[i].err);
    close_fd(&slots[i].rep);
    close_fd(&slots[i].log);
    close_fd(&slots[i].times);
    close_fd(&slots[i].out_w);
    close_fd(&slots[i].err_w);
  }
  return pod_code;
}
