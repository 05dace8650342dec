/* Why an exec would fail with ENOENT although the program exists (rkt's diagnostic). */
#ifndef CAPSULE_EXEC_DIAG_H
#define CAPSULE_EXEC_DIAG_H

#include "common.h"

/*
 * Reads PROG (in the current root) before the exec: for a script, whether the interpreter of its
 * "#!" line exists; for an ELF file, whether its PT_INTERP exists and which DT_NEEDED libraries
 * are in none of the RUNPATH/RPATH and standard library directories. Returns a malloc'd
 * explanation ("its ELF interpreter /lib64/ld-linux-x86-64.so.2 is missing; shared libraries not
 * found: libc.so.6") when the kernel's exec would fail for want of it (libraries are listed only
 * then: otherwise ld.so names a missing one itself), else NULL (also when PROG cannot be read).
 * Called before the seccomp filter is loaded, on every exec: it maps PROG and touches its headers.
 */
char *exec_missing_parts(const char *prog);

#endif
