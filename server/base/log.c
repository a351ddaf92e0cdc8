#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { LOG_LINE_BYTES_MAX = 2048 };

static atomic_int log_level_min = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level) { atomic_store(&log_level_min, (int)level); }

bool log_level_parse(const char *text, log_level *out) {
  for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
    if (strcmp(text, level_names[i]) == 0) {
      *out = (log_level)i;
      return true;
    }
  }
  return false;
}

bool log_enabled(log_level level) { return (int)level >= atomic_load(&log_level_min); }

void log_write(log_level level, const char *format, ...) {
  if (!log_enabled(level)) return;
  char line[LOG_LINE_BYTES_MAX];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  size_t len = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &utc);
  len += (size_t)snprintf(line + len, sizeof line - len, ".%06ldZ level=%s ", now.tv_nsec / 1000,
                          level_names[level]);
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line + len, sizeof line - len - 1, format, args);
  va_end(args);
  if (n < 0) n = 0;
  len += (size_t)n;
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  /* One write per line; a short write to stderr is not worth a retry loop here. */
  ssize_t written = write(STDERR_FILENO, line, len);
  (void)written;
}

const char *log_quote(const char *text, char *out, unsigned size) {
  unsigned o = 0;
  if (size < 3) {
    if (size > 0) out[0] = '\0';
    return out;
  }
  out[o++] = '"';
  for (const char *p = text; *p != '\0' && o + 5 < size; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      o += (unsigned)snprintf(out + o, size - o, "\\x%02x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}
