/*
 * The regression runner of a fuzz target: linked with one
 * tests/fuzz/fuzz_<name>.c instead of libFuzzer, it runs every file named
 * on the command line (a directory: each file directly in it, in name
 * order, skipping dot files and README*) once through
 * LLVMFuzzerTestOneInput, in a buffer of exactly the file's size, and
 * prints one TAP line per file, without numbers (the caller adds the plan).
 * A crash or a sanitizer report ends the process: "# running FILE" just
 * before says which input it was. So does an input that runs longer than
 * FUZZ_TIMEOUT seconds (default 10, libFuzzer's -timeout in tools/fuzz.sh):
 * some regression inputs are the slow units fuzzing found. tests/cli/
 * fuzz-regress.sh builds and runs it over tests/data/fuzz/<name>/ in
 * `make test`.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

static int failures;
static unsigned timeout_s = 10;

static void on_alarm(int sig)
{
    static const char msg[] = "not ok - timeout: the input above ran past FUZZ_TIMEOUT\n";

    (void)sig;
    (void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
    _exit(70);
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct sbuf sb = {0};
    char buf[8192];
    size_t n;

    if (!f)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    if (ferror(f)) {
        fclose(f);
        sb_release(&sb);
        return -1;
    }
    fclose(f);
    *len = sb.len;
    *out = xmalloc(sb.len ? sb.len : 1); /* exactly the input: a read past it trips ASan */
    if (sb.len)
        memcpy(*out, sb.buf, sb.len);
    sb_release(&sb);
    return 0;
}

static void run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;

    if (read_all(path, &data, &len) != 0) {
        printf("not ok - %s: cannot read: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    printf("# running %s (%zu bytes)\n", path, len);
    fflush(stdout);
    alarm(timeout_s);
    LLVMFuzzerTestOneInput(data, len);
    alarm(0);
    printf("ok - %s\n", path);
    fflush(stdout);
    free(data);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, i;

    if (!d) {
        if (errno == ENOENT)
            return; /* no regression inputs yet */
        printf("not ok - %s: cannot open: %s\n", dir, strerror(errno));
        failures++;
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "README", 6))
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        struct stat st;

        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    const char *t = getenv("FUZZ_TIMEOUT");
    int i;

    if (t && *t) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);

        if (!*end && v > 0 && v < 86400)
            timeout_s = (unsigned)v;
    }
    signal(SIGALRM, on_alarm);
    fuzz_init();
    for (i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            run_dir(argv[i]);
        else if (stat(argv[i], &st) != 0 && errno == ENOENT)
            continue;
        else
            run_file(argv[i]);
    }
    return failures ? 1 : 0;
}
