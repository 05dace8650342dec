/* enter --tty: a fresh pseudo-terminal for the entered command, relayed to the caller's. */
#ifndef CAPSULE_PTY_H
#define CAPSULE_PTY_H

#include "common.h"

/*
 * Opens a new pty from /dev/ptmx as the current root sees it (the pod's own devpts, so the
 * command's terminal is the pod's, never one of the host's). The slave comes from TIOCGPTPEER (no
 * path lookup under /dev/pts) and starts with the caller's termios and window size when stdin
 * is a terminal. Dies (254) on failure.
 */
void pty_open(int *master, int *slave);

/* In the child before exec: a new session whose controlling terminal is SLAVE, on fds 0-2. */
void pty_make_controlling(int slave);

/*
 * Relays stdin to MASTER and MASTER to stdout until CHILD ends; the caller's terminal is raw
 * meanwhile (restored after), SIGWINCH copies its window size to the pty, SIGTERM/SIGINT/SIGHUP
 * go to CHILD. The caller blocked those, SIGCHLD and SIGWINCH before forking. Returns the
 * child's exit code (128+N for signal N).
 */
int pty_relay(pid_t child, int master);

#endif
