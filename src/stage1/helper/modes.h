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

#endif
