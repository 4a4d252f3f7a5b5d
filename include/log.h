/*
 * Structured logs for the server: one JSON object per line on stderr, keys
 * "ts" (RFC 3339, UTC, milliseconds), "level" (debug|info|warn|error),
 * "msg", then the caller's fields. Strings are escaped by cJSON. Thread-safe:
 * each line is built in memory and written with one write(2).
 */
#ifndef GC_LOG_H
#define GC_LOG_H

#include <cjson/cJSON.h>
#include <stdarg.h>

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/* Set the threshold from "debug", "info", "warn" or "error"; -1 when unknown. */
int log_set_level(const char *name);
/* Whether a line of this level would be written (skip building fields otherwise). */
int log_enabled(enum log_level lvl);

/* A line with no fields; msg is printf-formatted. */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A line with the members of 'fields' (a cJSON object, may be NULL) after
 * ts, level and msg. Takes ownership of 'fields' in every case.
 */
void log_fields(enum log_level lvl, const char *msg, cJSON *fields);

/*
 * libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its own messages (TLS
 * handshake failures, resets) as debug lines, trailing newlines dropped.
 */
void log_mhd(void *cls, const char *fmt, va_list ap);

#endif
