#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

enum { MAP_SIZE_BYTES_MIN = 1 << 20 };
#define MAP_SIZE_DEFAULT ((uint64_t)16 << 30) /* sparse: costs address space, not disk */
#define MAP_SIZE_BYTES_MAX ((uint64_t)1 << 44)

static const char usage_text[] =
    "Usage: ccpayd [options]\n"
    "\n"
    "The ccpay order-payment and ledger server (gRPC, with server reflection).\n"
    "\n"
    "Options (each also settable in the config file; flags win):\n"
    "  --config FILE       INI file with [server] and [storage] sections\n"
    "  --listen ADDR:PORT  address to serve on            [server] listen   (127.0.0.1:50051)\n"
    "  --plaintext         serve without TLS; loopback addresses only\n"
    "                                                     [server] plaintext (false)\n"
    "  --threads N         worker threads, 1 to 64        [server] threads  (2)\n"
    "  --log-level LEVEL   debug, info, warn or error     [server] log_level (info)\n"
    "  --data-dir DIR      LMDB data directory            [storage] data_dir (./var/data)\n"
    "  --map-size SIZE     most the database may grow to, e.g. 512M, 16G\n"
    "                                                     [storage] map_size (16G)\n"
    "  --port-file FILE    write the bound port here once serving (for scripts and tests)\n"
    "  --help              this text\n"
    "  --version           the version\n"
    "\n"
    "The map size is a ceiling, not an allocation: the file grows as data arrives. When it\n"
    "is reached, writes answer RESOURCE_EXHAUSTED (STORAGE_FULL); restart with a larger\n"
    "--map-size to grow it. Signals: SIGTERM or SIGINT stop the server gracefully.\n";

const char *config_usage(void) { return usage_text; }

bool config_parse_size(const char *text, uint64_t *out) {
  errno = 0;
  char *end = NULL;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text || text[0] == '-') return false;
  unsigned shift = 0;
  switch (*end) {
    case '\0':
      break;
    case 'K':
    case 'k':
      shift = 10;
      end++;
      break;
    case 'M':
    case 'm':
      shift = 20;
      end++;
      break;
    case 'G':
    case 'g':
      shift = 30;
      end++;
      break;
    case 'T':
    case 't':
      shift = 40;
      end++;
      break;
    default:
      return false;
  }
  if (*end != '\0' || value == 0 || value > (UINT64_MAX >> shift)) return false;
  *out = (uint64_t)value << shift;
  return true;
}

static bool parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out) {
  errno = 0;
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < (long)min || value > (long)max) {
    return false;
  }
  *out = (unsigned)value;
  return true;
}

static bool parse_bool(const char *text, bool *out) {
  if (strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 || strcmp(text, "1") == 0) {
    *out = true;
  } else if (strcmp(text, "false") == 0 || strcmp(text, "no") == 0 || strcmp(text, "0") == 0) {
    *out = false;
  } else {
    return false;
  }
  return true;
}

static bool copy_setting(char *out, size_t size, const char *value) {
  size_t len = strlen(value);
  if (len == 0 || len >= size) return false;
  memcpy(out, value, len + 1);
  return true;
}

typedef struct setting_error {
  char *message;
  unsigned size;
} setting_error;

/* Applies one setting, by the name used in the file ("listen") and prefix for messages
 * ("--listen" or "[server] listen"). */
static bool apply(ccpayd_config *c, const char *name, const char *value, const char *shown,
                  setting_error *e) {
  const char *rule = NULL;
  if (strcmp(name, "listen") == 0) {
    if (!copy_setting(c->listen, sizeof c->listen, value))
      rule = "an address such as 127.0.0.1:50051";
  } else if (strcmp(name, "data_dir") == 0) {
    if (!copy_setting(c->data_dir, sizeof c->data_dir, value)) rule = "a directory path";
  } else if (strcmp(name, "port_file") == 0) {
    if (!copy_setting(c->port_file, sizeof c->port_file, value)) rule = "a file path";
  } else if (strcmp(name, "map_size") == 0) {
    if (!config_parse_size(value, &c->map_size_bytes) || c->map_size_bytes < MAP_SIZE_BYTES_MIN ||
        c->map_size_bytes > MAP_SIZE_BYTES_MAX) {
      rule = "a size from 1M to 16T, such as 512M or 16G";
    }
  } else if (strcmp(name, "threads") == 0) {
    if (!parse_unsigned(value, 1, SERVER_THREADS_MAX, &c->threads)) rule = "a number from 1 to 64";
  } else if (strcmp(name, "log_level") == 0) {
    if (!log_level_parse(value, &c->log_level)) rule = "debug, info, warn or error";
  } else if (strcmp(name, "plaintext") == 0) {
    if (!parse_bool(value, &c->plaintext)) rule = "true or false";
  } else {
    snprintf(e->message, e->size, "%s: unknown setting", shown);
    return false;
  }
  if (rule != NULL) {
    snprintf(e->message, e->size, "%s: \"%s\" is not %s", shown, value, rule);
    return false;
  }
  return true;
}

typedef struct ini_context {
  ccpayd_config *config;
  setting_error *error;
  bool failed;
} ini_context;

static int apply_ini_line(void *user, const char *section, const char *name, const char *value) {
  ini_context *ctx = user;
  if (ctx->failed) return 0;
  char shown[128];
  snprintf(shown, sizeof shown, "[%s] %s", section, name);
  bool known_section = strcmp(section, "server") == 0 || strcmp(section, "storage") == 0;
  if (!known_section) {
    snprintf(ctx->error->message, ctx->error->size, "%s: unknown section [%s]", shown, section);
    ctx->failed = true;
    return 0;
  }
  if (!apply(ctx->config, name, value, shown, ctx->error)) ctx->failed = true;
  return ctx->failed ? 0 : 1;
}

static void set_defaults(ccpayd_config *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->listen, sizeof c->listen, "127.0.0.1:50051");
  snprintf(c->data_dir, sizeof c->data_dir, "./var/data");
  c->map_size_bytes = MAP_SIZE_DEFAULT;
  c->threads = 2;
  c->log_level = LOG_INFO;
}

static const struct option long_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"listen", required_argument, NULL, 'l'},
    {"data-dir", required_argument, NULL, 'd'},
    {"map-size", required_argument, NULL, 'm'},
    {"threads", required_argument, NULL, 't'},
    {"log-level", required_argument, NULL, 'v'},
    {"port-file", required_argument, NULL, 'p'},
    {"plaintext", no_argument, NULL, 'P'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The setting name of a flag's short code. */
static const char *setting_of(int code) {
  switch (code) {
    case 'l':
      return "listen";
    case 'd':
      return "data_dir";
    case 'm':
      return "map_size";
    case 't':
      return "threads";
    case 'v':
      return "log_level";
    case 'p':
      return "port_file";
    default:
      return NULL;
  }
}

static const char *flag_of(int code) {
  for (const struct option *o = long_options; o->name != NULL; o++) {
    if (o->val == code) return o->name;
  }
  return "?";
}

bool config_load(int argc, char **argv, ccpayd_config *c, char *message, unsigned message_size) {
  setting_error e = {.message = message, .size = message_size};
  set_defaults(c);
  /* First pass: only --config, so the file applies before the flags override it. */
  const char *config_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) config_file = argv[i + 1];
    if (strncmp(argv[i], "--config=", 9) == 0) config_file = argv[i] + 9;
  }
  if (config_file != NULL) {
    ini_context ctx = {.config = c, .error = &e};
    int rc = ini_parse(config_file, apply_ini_line, &ctx);
    if (rc < 0) {
      snprintf(message, message_size, "--config: cannot read %s", config_file);
      return false;
    }
    if (ctx.failed) return false;
    if (rc > 0) {
      snprintf(message, message_size, "--config: %s line %d: not a setting", config_file, rc);
      return false;
    }
  }
  optind = 1;
  opterr = 0;
  int code;
  while ((code = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    char shown[64];
    snprintf(shown, sizeof shown, "--%s", flag_of(code));
    if (code == 'c') continue;
    if (code == 'P') {
      c->plaintext = true;
    } else if (code == 'h') {
      c->help = true;
    } else if (code == 'V') {
      c->version = true;
    } else if (setting_of(code) != NULL) {
      if (!apply(c, setting_of(code), optarg, shown, &e)) return false;
    } else {
      snprintf(message, message_size, "%s: unknown option or missing value (see --help)",
               argv[optind - 1]);
      return false;
    }
  }
  if (optind < argc) {
    snprintf(message, message_size, "%s: unexpected argument (see --help)", argv[optind]);
    return false;
  }
  return true;
}

/* Splits "host:port" or "[v6]:port" and returns the host in out. */
static bool listen_host(const char *address, char *out, size_t size) {
  const char *host = address;
  size_t len;
  if (address[0] == '[') {
    const char *close = strchr(address, ']');
    if (close == NULL || close[1] != ':') return false;
    host = address + 1;
    len = (size_t)(close - host);
  } else {
    const char *colon = strrchr(address, ':');
    if (colon == NULL) return false;
    len = (size_t)(colon - address);
  }
  if (len == 0 || len >= size) return false;
  memcpy(out, host, len);
  out[len] = '\0';
  return true;
}

bool config_host_is_loopback(const char *listen_address) {
  char host[CONFIG_ADDRESS_BYTES_MAX];
  if (!listen_host(listen_address, host, sizeof host)) return false;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *found = NULL;
  if (getaddrinfo(host, NULL, &hints, &found) != 0) return false;
  bool all_loopback = found != NULL;
  for (struct addrinfo *a = found; a != NULL; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const struct sockaddr_in *v4 = (const struct sockaddr_in *)a->ai_addr;
      if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) all_loopback = false;
    } else if (a->ai_family == AF_INET6) {
      const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a->ai_addr;
      if (memcmp(&v6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) != 0) {
        all_loopback = false;
      }
    } else {
      all_loopback = false;
    }
  }
  freeaddrinfo(found);
  return all_loopback;
}

bool config_check_transport(const ccpayd_config *c, char *message, unsigned message_size) {
  char host[CONFIG_ADDRESS_BYTES_MAX];
  if (!listen_host(c->listen, host, sizeof host)) {
    snprintf(message, message_size, "--listen: \"%s\" is not HOST:PORT or [V6]:PORT", c->listen);
    return false;
  }
  if (!c->plaintext) {
    snprintf(message, message_size,
             "--plaintext: required for now (TLS is not configured yet); plaintext is only "
             "allowed on a loopback address");
    return false;
  }
  if (!config_host_is_loopback(c->listen)) {
    snprintf(message, message_size,
             "--listen: %s is not a loopback address; plaintext is only allowed on loopback "
             "(127.0.0.1, ::1, localhost)",
             c->listen);
    return false;
  }
  return true;
}
