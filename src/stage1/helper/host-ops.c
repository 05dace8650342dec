/* The host-side ops of `run` and `fly` in plan order: mounts (mounts.c) and cgroups (cgroups.c). */
#include "host-ops.h"

#include "cgroups.h"
#include "mounts.h"

void apply_host_ops(const struct plan *p, bool strict) {
  for (size_t i = 0; i < p->nops; i++) {
    const struct host_op *op = &p->ops[i];
    if (op->type == HOP_TMPFS || op->type == HOP_OVERLAY || op->type == HOP_BIND) apply_host_mount(op, strict);
    else cgroup_host_op(op);
  }
}
