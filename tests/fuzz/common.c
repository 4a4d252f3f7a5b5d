/* The helpers of tests/fuzz/fuzz.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

#define MAX_FILES 4

static char dir[PATH_MAX];
static char paths[MAX_FILES][PATH_MAX];
static size_t npaths;

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
    abort();
}

void fuzz_init(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    util_init_cjson();
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("GATECHECK_SA_DIR");
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);

    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static void cleanup(void)
{
    size_t i;

    for (i = 0; i < npaths; i++)
        unlink(paths[i]);
    if (dir[0])
        rmdir(dir);
}

static void make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    if (dir[0])
        return;
    n = snprintf(dir, sizeof(dir), "%s/gatecheck-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof(dir) || !mkdtemp(dir)) {
        fprintf(stderr, "fuzz: cannot make a temporary directory: %s\n", strerror(errno));
        abort();
    }
    atexit(cleanup);
}

const char *fuzz_path(const char *name)
{
    static char path[PATH_MAX];
    int n;

    make_dir();
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        fuzz_fail(__FILE__, __LINE__, "path too long");
    return path;
}

const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(name);
    size_t i, off = 0;
    int fd;

    for (i = 0; i < npaths && strcmp(paths[i], path) != 0; i++)
        ;
    if (i == npaths) {
        if (npaths == MAX_FILES)
            fuzz_fail(__FILE__, __LINE__, "too many files");
        memcpy(paths[npaths++], path, strlen(path) + 1);
    }
    fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fuzz_fail(__FILE__, __LINE__, "open");
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fuzz_fail(__FILE__, __LINE__, "write");
        off += (size_t)w;
    }
    close(fd);
    return paths[i];
}
