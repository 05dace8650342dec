#include "exec-diag.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where glibc's and musl's loaders look by default (plus Debian's multiarch dirs). */
static const char *const LIB_DIRS[] = {
  "/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib",
#if defined(__x86_64__)
  "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
  "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
#endif
};

#define MAX_FILE_READ (1ull << 32)

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* One ELF file's program headers and dynamic section, 32 or 64 bit, in host byte order. */
struct elf {
  const unsigned char *buf;
  size_t len;
  bool is64;
};

static bool in_file(const struct elf *e, uint64_t off, uint64_t n) {
  return off <= e->len && n <= e->len - off;
}

struct phdr {
  uint32_t type;
  uint64_t offset, vaddr, filesz;
};

static bool get_phdr(const struct elf *e, size_t i, struct phdr *ph) {
  if (e->is64) {
    const Elf64_Ehdr *h = (const void *)e->buf;
    uint64_t off = h->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr);
    if (!in_file(e, off, sizeof(Elf64_Phdr))) return false;
    Elf64_Phdr p;
    memcpy(&p, e->buf + off, sizeof p);
    *ph = (struct phdr){ p.p_type, p.p_offset, p.p_vaddr, p.p_filesz };
  } else {
    const Elf32_Ehdr *h = (const void *)e->buf;
    uint64_t off = h->e_phoff + (uint64_t)i * sizeof(Elf32_Phdr);
    if (!in_file(e, off, sizeof(Elf32_Phdr))) return false;
    Elf32_Phdr p;
    memcpy(&p, e->buf + off, sizeof p);
    *ph = (struct phdr){ p.p_type, p.p_offset, p.p_vaddr, p.p_filesz };
  }
  return true;
}

static size_t phnum(const struct elf *e) {
  return e->is64 ? ((const Elf64_Ehdr *)(const void *)e->buf)->e_phnum : ((const Elf32_Ehdr *)(const void *)e->buf)->e_phnum;
}

/* A virtual address of a PT_LOAD segment as a file offset, or UINT64_MAX. */
static uint64_t vaddr_to_off(const struct elf *e, uint64_t va) {
  struct phdr ph;
  for (size_t i = 0; i < phnum(e); i++)
    if (get_phdr(e, i, &ph) && ph.type == PT_LOAD && va >= ph.vaddr && va - ph.vaddr < ph.filesz) return ph.offset + (va - ph.vaddr);
  return UINT64_MAX;
}

static const char *str_at(const struct elf *e, uint64_t strtab, uint64_t idx) {
  if (strtab == UINT64_MAX || !in_file(e, strtab + idx, 1)) return NULL;
  const char *s = (const char *)e->buf + strtab + idx;
  return memchr(s, '\0', e->len - (strtab + idx)) ? s : NULL;
}

static bool found_in(const char *lib, const char *dirs) {
  if (!dirs) return false;
  char *copy = xstrdup(dirs), *save = NULL;
  bool hit = false;
  for (char *d = strtok_r(copy, ":", &save); d && !hit; d = strtok_r(NULL, ":", &save)) {
    if (d[0] != '/') continue; /* $ORIGIN and relative entries: not followed here */
    char *p = path_join(d, lib);
    hit = exists(p);
    free(p);
  }
  free(copy);
  return hit;
}

static bool lib_found(const char *lib, const char *runpath) {
  if (strchr(lib, '/')) return exists(lib);
  if (found_in(lib, runpath)) return true;
  for (size_t i = 0; i < sizeof LIB_DIRS / sizeof *LIB_DIRS; i++) {
    char *p = path_join(LIB_DIRS[i], lib);
    bool ok = exists(p);
    free(p);
    if (ok) return true;
  }
  return false;
}

/* Appends the DT_NEEDED entries found nowhere to OUT (", "-separated). */
static void missing_libs(const struct elf *e, const struct phdr *dyn, struct strv *out) {
  size_t ent = e->is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
  uint64_t strtab = UINT64_MAX, runpath = UINT64_MAX;
  size_t n = in_file(e, dyn->offset, dyn->filesz) ? dyn->filesz / ent : 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++) {
      int64_t tag;
      uint64_t val;
      if (e->is64) {
        Elf64_Dyn d;
        memcpy(&d, e->buf + dyn->offset + i * ent, sizeof d);
        tag = d.d_tag;
        val = d.d_un.d_val;
      } else {
        Elf32_Dyn d;
        memcpy(&d, e->buf + dyn->offset + i * ent, sizeof d);
        tag = d.d_tag;
        val = d.d_un.d_val;
      }
      if (tag == DT_NULL) break;
      if (pass == 0) {
        if (tag == DT_STRTAB) strtab = vaddr_to_off(e, val);
        else if (tag == DT_RUNPATH || (tag == DT_RPATH && runpath == UINT64_MAX)) runpath = val;
      } else if (tag == DT_NEEDED) {
        const char *lib = str_at(e, strtab, val);
        const char *rp = runpath == UINT64_MAX ? NULL : str_at(e, strtab, runpath);
        if (lib && !lib_found(lib, rp)) strv_push(out, lib);
      }
    }
  }
}

static char *elf_missing(const unsigned char *buf, size_t len) {
  if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG)) return NULL;
  struct elf e = { buf, len, buf[EI_CLASS] == ELFCLASS64 };
  if (!in_file(&e, 0, e.is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) return NULL;
  const char *interp = NULL;
  struct phdr ph, dyn = { 0 };
  bool has_dyn = false;
  for (size_t i = 0; i < phnum(&e); i++) {
    if (!get_phdr(&e, i, &ph)) return NULL;
    if (ph.type == PT_INTERP && in_file(&e, ph.offset, ph.filesz) && ph.filesz > 1 && buf[ph.offset + ph.filesz - 1] == '\0') interp = (const char *)buf + ph.offset;
    if (ph.type == PT_DYNAMIC) {
      dyn = ph;
      has_dyn = true;
    }
  }
  /* Only a missing interpreter fails the exec itself (ld.so names a missing library on its own). */
  if (!interp || exists(interp)) return NULL;
  bool interp_missing = true;
  struct strv libs = { 0 };
  if (has_dyn) missing_libs(&e, &dyn, &libs);
  size_t cap = 256;
  for (size_t i = 0; i < libs.n; i++) cap += strlen(libs.v[i]) + 2;
  char *msg = xmalloc(cap + (interp ? strlen(interp) : 0));
  msg[0] = '\0';
  if (interp_missing) sprintf(msg, "its ELF interpreter %s is missing", interp);
  if (libs.n) {
    strcat(msg, interp_missing ? "; shared libraries not found: " : "shared libraries not found: ");
    for (size_t i = 0; i < libs.n; i++) {
      if (i) strcat(msg, ", ");
      strcat(msg, libs.v[i]);
    }
  }
  free(libs.v);
  return msg;
}

char *exec_missing_parts(const char *prog) {
  int fd = open(prog, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 4 || (uint64_t)st.st_size > MAX_FILE_READ) {
    close(fd);
    return NULL;
  }
  /* Mapped, not read: only the headers (and, when the interpreter is missing, the dynamic section) are touched. */
  size_t len = (size_t)st.st_size;
  unsigned char *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (buf == MAP_FAILED) return NULL;
  char *msg = NULL;
  if (buf[0] == '#' && buf[1] == '!') {
    char line[256];
    size_t n = len - 2 < sizeof line - 1 ? len - 2 : sizeof line - 1;
    memcpy(line, buf + 2, n);
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    char *p = line + strspn(line, " \t");
    p[strcspn(p, " \t")] = '\0';
    if (*p && !exists(p)) msg = xasprintf("the interpreter %s of its #! line is missing", p);
  } else {
    msg = elf_missing(buf, len);
  }
  munmap(buf, len);
  return msg;
}
