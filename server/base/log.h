/* Structured logging: one line per event, "key=value" pairs (logfmt), written to stderr
 * with a single write(2) so lines from different threads never interleave. Thread-safe. */
#ifndef CCPAY_BASE_LOG_H
#define CCPAY_BASE_LOG_H

#include <stdbool.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Sets the lowest level written (default LOG_INFO). Call before threads start. */
void log_set_level(log_level level);

/* Parses "debug", "info", "warn" or "error"; false for anything else. */
bool log_level_parse(const char *text, log_level *out);

/* Whether a line at level would be written. */
bool log_enabled(log_level level);

/* Writes "ts=<RFC 3339 UTC> level=<level> " followed by the formatted pairs and a
 * newline. Lines longer than 2 KiB are truncated. Values with spaces must be quoted by
 * the caller (log_quote helps). */
void log_write(log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Copies text into out (size bytes) as a double-quoted logfmt value, escaping quotes,
 * backslashes and control bytes; returns out. */
const char *log_quote(const char *text, char *out, unsigned size);

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
