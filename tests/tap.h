/*
 * A tiny TAP producer for the unit tests: ok(cond, fmt, ...) prints
 * "ok N - ..." or "not ok N - ...", done_testing() prints the plan and the
 * closing "N passed, N failed" line and returns the exit status.
 */
#ifndef GC_TAP_H
#define GC_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return cond;
}

/* Compare strings; on mismatch print got/want as TAP diagnostics. */
__attribute__((unused)) static int is_str(const char *got, const char *want, const char *name)
{
    int same = (got && want) ? strcmp(got, want) == 0 : got == want;

    ok(same, "%s", name);
    if (!same) {
        printf("#   got:  %s\n", got ? got : "(null)");
        printf("#   want: %s\n", want ? want : "(null)");
    }
    return same;
}

__attribute__((unused)) static int done_testing(void)
{
    printf("1..%d\n", tap_n);
    printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
    return tap_failed ? 1 : 0;
}

#endif
