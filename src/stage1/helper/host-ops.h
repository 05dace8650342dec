/* The plan's host-side operations, in plan order. */
#ifndef CAPSULE_HOST_OPS_H
#define CAPSULE_HOST_OPS_H

#include "plan.h"

/* The plan's host-side ops in order (mounts and cgroup ops); STRICT as apply_host_mount. Dies on the first failure. */
void apply_host_ops(const struct plan *p, bool strict);

#endif
