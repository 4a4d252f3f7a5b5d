/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_<name>.c, each defining
 * LLVMFuzzerTestOneInput) and by the regression runner (tests/fuzz/regress.c)
 * that replays the minimised crashes of tests/data/fuzz/<name>/ without
 * libFuzzer. tests/fuzz/common.c implements it; docs/RELIABILITY.md says
 * what each target feeds.
 */
#ifndef GC_FUZZ_H
#define GC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Once per process (later calls do nothing): cJSON's abort-on-OOM allocator
 * (util_init_cjson) and an environment where no Kubernetes configuration is
 * found by accident (KUBECONFIG, KUBERNETES_SERVICE_HOST/PORT,
 * GATECHECK_SA_DIR unset).
 */
void fuzz_init(void);

/* A NUL-terminated copy of data[0..size) (free() it). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * Write data[0..size) to a file of its own, in a directory of this process
 * under $TMPDIR (default /tmp) made on first use and removed at exit; the
 * same path each call (name is a plain file name, no '/'). Returns the path
 * (valid until exit). Relative paths inside the file resolve to that
 * directory, never to the process's working directory.
 */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

/* The path a file 'name' would have in that directory (not created). */
const char *fuzz_path(const char *name);

/* A broken invariant: print what and where, then abort() (a libFuzzer crash). */
__attribute__((noreturn)) void fuzz_fail(const char *file, int line, const char *what);
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

#endif
