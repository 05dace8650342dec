/* The helper's commands (docs/stage1-contract.md). Each returns the process's exit code. */
#ifndef CAPSULE_MODES_H
#define CAPSULE_MODES_H

#include "common.h"

#include <signal.h>

int cmd_run(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_enter(int argc, char **argv);
int cmd_fly(int argc, char **argv);

/*
 * Host side of run and enter: forwards SIGTERM, SIGINT and SIGHUP to CHILD until it ends and
 * returns its exit code (128+N for signal N). The caller has blocked those signals and SIGCHLD
 * (block_forwarded_signals) before forking.
 */
int forward_and_wait(pid_t child);
int forward_and_wait_to(pid_t child, bool to_grandchild);
void block_forwarded_signals(sigset_t *old);

struct plan;
/*
 * Network teardown (run): net_lock_take before the pod starts (its flock tells gc to wait);
 * net_teardown_detach after it ended: a detached child, in the host's mount namespace, runs the
 * prepared DEL calls and unbinds the namespace, holding the lock until done. Returns at once.
 */
void net_lock_take(struct plan *p);
void net_teardown_detach(struct plan *p);
/*
 * In the pod's fresh mount namespace: detaches every namespace file under netns-dir (copies of
 * other pods' bind mounts would pin their namespaces and keep their files busy while this pod
 * runs). The pod's own namespace stays reachable through the fd opened by net_lock_take.
 */
void netns_forget_dir(struct plan *p);
/*
 * In nspawn's process before exec: the pod's namespace at NETNS_FD, or (setns) joined, so that
 * nspawn, seeing the host's network, makes the pod's user namespace (--private-users) inside it:
 * the user namespace could not join a network namespace of the host's user namespace later.
 */
void netns_pass_fd(int setns_it);

#endif
