/*
 * capsule-stage1: applies a plan written by Capsule's TypeScript stage1 (docs/stage1-contract.md).
 *   run PLAN                       host side of the nspawn flavour (execs systemd-nspawn)
 *   init [PLAN]                    PID 1 in the container: runs and supervises the apps
 *   enter PLAN APP PID -- CMD...   runs CMD inside APP of the pod whose init is PID
 *   fly PLAN                       the fly flavour: becomes the pod's only app
 */
#include "common.h"
#include "modes.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  /* bin/capsule sourced a handover file to exec us; removing it here spares the wrapper an rm(1). */
  const char *handover = getenv("CAPSULE_HANDOVER_DONE");
  if (handover) {
    (void)unlink(handover);
    unsetenv("CAPSULE_HANDOVER_DONE");
  }
  if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
  if (!strcmp(cmd, "init")) return cmd_init(argc, argv);
  if (!strcmp(cmd, "enter")) return cmd_enter(argc, argv);
  if (!strcmp(cmd, "fly")) return cmd_fly(argc, argv);
  die_msg("usage: %s run PLAN | init [PLAN] | enter PLAN APP PID -- CMD... | fly PLAN", PROG);
}
