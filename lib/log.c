/*
 * JSON-lines logger (see include/log.h). The threshold is the one piece of
 * process-wide state: set once at start, read by every thread.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static atomic_int log_threshold = LOGL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (!strcmp(name, level_names[i])) {
            atomic_store(&log_threshold, (int)i);
            return 0;
        }
    }
    return -1;
}

int log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load(&log_threshold);
}

/* "2025-05-20T10:11:12.345Z" */
static void format_ts(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

/* Write all of buf to stderr; one write(2) unless the kernel takes less. */
static void write_line(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

void log_fields(enum log_level lvl, const char *msg, cJSON *fields)
{
    cJSON *line, *f, *next;
    char ts[40];
    char *text;
    size_t len;

    if (!log_enabled(lvl)) {
        cJSON_Delete(fields);
        return;
    }
    format_ts(ts, sizeof(ts));
    line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "ts", ts);
    cJSON_AddStringToObject(line, "level", level_names[lvl]);
    cJSON_AddStringToObject(line, "msg", msg);
    for (f = fields ? fields->child : NULL; f; f = next) {
        next = f->next;
        cJSON_AddItemToObject(line, f->string, cJSON_DetachItemViaPointer(fields, f));
    }
    cJSON_Delete(fields);
    text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len] = '\n';
    write_line(text, len + 1);
    free(text);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    if (!log_enabled(lvl))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_fields(lvl, buf, NULL);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n;

    (void)cls;
    if (!log_enabled(LOGL_DEBUG))
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    log_fields(LOGL_DEBUG, buf, NULL);
}
#pragma GCC diagnostic pop
