/* enter --tty: see pty.h. */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

void pty_open(int *master, int *slave) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) die_errno(errno, "open the pod's /dev/ptmx");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) die_errno(errno, "unlock the pty");
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) die_errno(errno, "open the pty's terminal");
  if (isatty(0)) {
    struct termios t;
    struct winsize ws;
    if (tcgetattr(0, &t) == 0) (void)tcsetattr(s, TCSANOW, &t);
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) (void)ioctl(m, TIOCSWINSZ, &ws);
  }
  *master = m;
  *slave = s;
}

void pty_make_controlling(int slave) {
  if (setsid() < 0) die_errno(errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die_errno(errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die_errno(errno, "dup2 the pty");
  if (slave > 2) close(slave);
}

static struct termios saved;
static bool raw_set;

static void restore_terminal(void) {
  if (raw_set) (void)tcsetattr(0, TCSANOW, &saved);
  raw_set = false;
}

/* Copies what is readable on FROM to TO; false at end of file or on an error (EIO: no slave left). */
static bool copy_once(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  if (write_all(to, buf, (size_t)n) < 0 && errno != EPIPE) warn_errno(errno, "relay the terminal");
  return true;
}

int pty_relay(pid_t child, int master) {
  sigset_t set;
  forwarded_signal_set(&set);
  sigaddset(&set, SIGWINCH);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die_errno(errno, "signalfd");
  if (isatty(0) && tcgetattr(0, &saved) == 0) {
    struct termios raw = saved;
    cfmakeraw(&raw);
    /* TCSANOW: input typed before the relay started stays for the command. */
    if (tcsetattr(0, TCSANOW, &raw) == 0) {
      raw_set = true;
      atexit(restore_terminal);
    }
  }
  bool in_open = true, master_open = true;
  int code = -1;
  while (code < 0 || master_open) {
    struct pollfd p[3] = {
      { .fd = sfd, .events = POLLIN },
      { .fd = master_open ? master : -1, .events = POLLIN },
      { .fd = in_open && master_open ? 0 : -1, .events = POLLIN },
    };
    /* Once the command ended, what it left in the pty is drained without waiting for more. */
    int r = poll(p, 3, code >= 0 ? 0 : -1);
    if (r < 0 && errno != EINTR) die_errno(errno, "poll");
    if (r == 0 && code >= 0) break;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          struct winsize ws;
          if (ioctl(0, TIOCGWINSZ, &ws) == 0) (void)ioctl(master, TIOCSWINSZ, &ws);
        } else if (si.ssi_signo != SIGCHLD) kill(child, (int)si.ssi_signo);
      }
      int st;
      if (code < 0 && waitpid(child, &st, WNOHANG) == child) code = exit_code_of(st);
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) master_open = copy_once(master, 1);
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!copy_once(0, master)) {
        /* The caller's input ended (a pipe): the command reads end of file, as at a ^D. */
        in_open = false;
        struct termios t;
        char eof = 4;
        if (tcgetattr(master, &t) == 0) eof = (char)t.c_cc[VEOF];
        (void)write_all(master, &eof, 1);
      }
    }
  }
  if (code < 0) {
    int st;
    while (waitpid(child, &st, 0) < 0)
      if (errno != EINTR) die_errno(errno, "wait");
    code = exit_code_of(st);
  }
  restore_terminal();
  close(sfd);
  return code;
}
