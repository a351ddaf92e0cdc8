#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/limits.h"

enum { MAP_SIZE_BYTES_MIN = 1 << 20 };
#define ADAPTER_SECTION_PREFIX "adapter."
#define ADAPTER_BINARY_PREFIX "ccpay-adapter-"
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
    "  --tls-cert FILE     the server's certificate chain (PEM) [server] tls_cert\n"
    "  --tls-key FILE      its private key (PEM)                [server] tls_key\n"
    "  --tls-client-ca FILE  require client certificates signed by this CA (mutual TLS)\n"
    "                                                     [server] tls_client_ca\n"
    "  --plaintext         serve without TLS; loopback addresses only\n"
    "                                                     [server] plaintext (false)\n"
    "  --threads N         worker threads, 1 to 64        [server] threads  (2)\n"
    "  --log-level LEVEL   debug, info, warn or error     [server] log_level (info)\n"
    "  --data-dir DIR      LMDB data directory            [storage] data_dir (./var/data)\n"
    "  --map-size SIZE     most the database may grow to, e.g. 512M, 16G\n"
    "                                                     [storage] map_size (16G)\n"
    "  --port-file FILE    write the bound port here once serving (for scripts and tests)\n"
    "  --adapter-socket-dir DIR  where the adapters' unix sockets go (made 0700)\n"
    "                                                     [gateway] socket_dir "
    "(DATA_DIR/adapters)\n"
    "  --adapter-start-timeout-ms MS  time for a (re)started adapter to answer health\n"
    "                                                     [gateway] adapter_start_timeout_ms "
    "(10000)\n"
    "  --adapter-call-timeout-ms MS   deadline of a call to an adapter\n"
    "                                                     [gateway] call_timeout_ms (30000)\n"
    "  --help              this text\n"
    "  --version           the version\n"
    "\n"
    "The map size is a ceiling, not an allocation: the file grows as data arrives. When it\n"
    "is reached, writes answer RESOURCE_EXHAUSTED (STORAGE_FULL); restart with a larger\n"
    "--map-size to grow it. Signals: SIGTERM or SIGINT stop the server gracefully.\n"
    "\n"
    "Card processors: each [adapter.NAME] section of the config file (NAME: stripe, adyen,\n"
    "authorizenet) makes ccpayd run that processor's adapter and restart it when it exits:\n"
    "  binary = PATH    the adapter (default: ccpay-adapter-NAME next to ccpayd)\n"
    "  config = PATH    its INI file with the processor's credentials; mode 0600 (required)\n"
    "  log_file = PATH  its output, appended (default: ccpayd's stderr)\n"
    "  threads = N      its worker threads (default: the adapter's)\n"
    "The capture mode, fraud rules, refund and out-of-balance settings are business\n"
    "parameters, kept in the data directory: AdminService GetParameters / UpdateParameters.\n";

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
  } else if (strcmp(name, "tls_cert") == 0) {
    if (!copy_setting(c->tls_cert, sizeof c->tls_cert, value)) rule = "a file path";
  } else if (strcmp(name, "tls_key") == 0) {
    if (!copy_setting(c->tls_key, sizeof c->tls_key, value)) rule = "a file path";
  } else if (strcmp(name, "tls_client_ca") == 0) {
    if (!copy_setting(c->tls_client_ca, sizeof c->tls_client_ca, value)) rule = "a file path";
  } else if (strcmp(name, "plaintext") == 0) {
    if (!parse_bool(value, &c->plaintext)) rule = "true or false";
  } else if (strcmp(name, "socket_dir") == 0) {
    if (!copy_setting(c->adapter_socket_dir, sizeof c->adapter_socket_dir, value)) {
      rule = "a directory path";
    }
  } else if (strcmp(name, "adapter_start_timeout_ms") == 0) {
    if (!parse_unsigned(value, GATEWAY_START_TIMEOUT_MS_MIN, GATEWAY_START_TIMEOUT_MS_MAX,
                        &c->adapter_start_timeout_ms)) {
      rule = "a number of milliseconds from 100 to 120000";
    }
  } else if (strcmp(name, "call_timeout_ms") == 0) {
    if (!parse_unsigned(value, GATEWAY_CALL_TIMEOUT_MS_MIN, GATEWAY_CALL_TIMEOUT_MS_MAX,
                        &c->adapter_call_timeout_ms)) {
      rule = "a number of milliseconds from 10 to 300000";
    }
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

/* The adapter of section "adapter.NAME", added on its first setting; NULL (message set)
 * when NAME is not a valid name or there are too many. */
static config_adapter *adapter_of_section(ccpayd_config *c, const char *section, const char *shown,
                                          setting_error *e) {
  const char *name = section + strlen(ADAPTER_SECTION_PREFIX);
  for (size_t i = 0; i < c->adapter_count; i++) {
    if (strcmp(c->adapters[i].name, name) == 0) return &c->adapters[i];
  }
  size_t len = strlen(name);
  bool valid = len > 0 && len < GATEWAY_ADAPTER_NAME_BYTES_MAX;
  for (size_t i = 0; i < len; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) valid = false;
  }
  if (!valid) {
    snprintf(e->message, e->size, "%s: the adapter name must be 1 to %d of a-z, 0-9 and _", shown,
             GATEWAY_ADAPTER_NAME_BYTES_MAX - 1);
    return NULL;
  }
  if (c->adapter_count == GATEWAY_ADAPTERS_MAX) {
    snprintf(e->message, e->size, "%s: at most %d adapters", shown, GATEWAY_ADAPTERS_MAX);
    return NULL;
  }
  config_adapter *a = &c->adapters[c->adapter_count++];
  memset(a, 0, sizeof *a);
  memcpy(a->name, name, len + 1);
  return a;
}

/* One setting of an [adapter.NAME] section. */
static bool apply_adapter(ccpayd_config *c, const char *section, const char *name,
                          const char *value, const char *shown, setting_error *e) {
  config_adapter *a = adapter_of_section(c, section, shown, e);
  if (a == NULL) return false;
  const char *rule = NULL;
  if (strcmp(name, "binary") == 0) {
    if (!copy_setting(a->binary, sizeof a->binary, value)) rule = "a file path";
  } else if (strcmp(name, "config") == 0) {
    if (!copy_setting(a->config, sizeof a->config, value)) rule = "a file path";
  } else if (strcmp(name, "log_file") == 0) {
    if (!copy_setting(a->log_file, sizeof a->log_file, value)) rule = "a file path";
  } else if (strcmp(name, "threads") == 0) {
    if (!parse_unsigned(value, 1, SERVER_THREADS_MAX, &a->threads)) rule = "a number from 1 to 64";
  } else {
    snprintf(e->message, e->size, "%s: unknown setting (binary, config, log_file, threads)", shown);
    return false;
  }
  if (rule != NULL) {
    snprintf(e->message, e->size, "%s: \"%s\" is not %s", shown, value, rule);
    return false;
  }
  return true;
}

static int apply_ini_line(void *user, const char *section, const char *name, const char *value) {
  ini_context *ctx = user;
  if (ctx->failed) return 0;
  char shown[128];
  snprintf(shown, sizeof shown, "[%s] %s", section, name);
  if (strncmp(section, ADAPTER_SECTION_PREFIX, strlen(ADAPTER_SECTION_PREFIX)) == 0) {
    if (!apply_adapter(ctx->config, section, name, value, shown, ctx->error)) ctx->failed = true;
    return ctx->failed ? 0 : 1;
  }
  if (strcmp(section, "payments") == 0 || strcmp(section, "fraud") == 0) {
    snprintf(ctx->error->message, ctx->error->size,
             "%s: the capture mode and the fraud rules are business parameters now, kept in the "
             "data directory: set them with AdminService.UpdateParameters",
             shown);
    ctx->failed = true;
    return 0;
  }
  bool known_section = strcmp(section, "server") == 0 || strcmp(section, "storage") == 0 ||
                       strcmp(section, "gateway") == 0;
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
  c->adapter_start_timeout_ms = GATEWAY_START_TIMEOUT_MS_DEFAULT;
  c->adapter_call_timeout_ms = GATEWAY_CALL_TIMEOUT_MS_DEFAULT;
}

static const struct option long_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"listen", required_argument, NULL, 'l'},
    {"data-dir", required_argument, NULL, 'd'},
    {"map-size", required_argument, NULL, 'm'},
    {"threads", required_argument, NULL, 't'},
    {"log-level", required_argument, NULL, 'v'},
    {"port-file", required_argument, NULL, 'p'},
    {"adapter-socket-dir", required_argument, NULL, 'S'},
    {"adapter-start-timeout-ms", required_argument, NULL, 'T'},
    {"adapter-call-timeout-ms", required_argument, NULL, 'C'},
    {"plaintext", no_argument, NULL, 'P'},
    {"tls-cert", required_argument, NULL, 'r'},
    {"tls-key", required_argument, NULL, 'k'},
    {"tls-client-ca", required_argument, NULL, 'a'},
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
    case 'S':
      return "socket_dir";
    case 'T':
      return "adapter_start_timeout_ms";
    case 'C':
      return "call_timeout_ms";
    case 'r':
      return "tls_cert";
    case 'k':
      return "tls_key";
    case 'a':
      return "tls_client_ca";
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
  bool tls = c->tls_cert[0] != '\0' || c->tls_key[0] != '\0';
  if (c->plaintext && (tls || c->tls_client_ca[0] != '\0')) {
    snprintf(message, message_size,
             "--plaintext: cannot be combined with --tls-cert, --tls-key or --tls-client-ca");
    return false;
  }
  if (c->plaintext) {
    if (!config_host_is_loopback(c->listen)) {
      snprintf(message, message_size,
               "--listen: %s is not a loopback address; plaintext is only allowed on loopback "
               "(127.0.0.1, ::1, localhost): configure --tls-cert and --tls-key",
               c->listen);
      return false;
    }
    return true;
  }
  if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
    snprintf(message, message_size,
             "--tls-cert and --tls-key are required to serve with TLS; without them only "
             "--plaintext on a loopback address is allowed");
    return false;
  }
  return true;
}

/* The directory of ccpayd's own binary, into out. */
static bool own_directory(char *out, size_t size) {
  ssize_t n = readlink("/proc/self/exe", out, size - 1);
  if (n <= 0 || (size_t)n >= size - 1) return false;
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (slash == NULL) return false;
  *slash = '\0';
  return true;
}

/* Fills in the binary next to ccpayd when none was given, and checks it runs. */
static bool check_adapter_binary(config_adapter *a, char *message, unsigned message_size) {
  if (a->binary[0] == '\0') {
    char dir[PATH_MAX];
    int n =
        own_directory(dir, sizeof dir)
            ? snprintf(a->binary, sizeof a->binary, "%s/" ADAPTER_BINARY_PREFIX "%s", dir, a->name)
            : -1;
    if (n < 0 || (size_t)n >= sizeof a->binary) {
      snprintf(message, message_size,
               "[adapter.%s] binary: not set, and ccpayd's own directory is unknown", a->name);
      return false;
    }
  }
  struct stat st;
  if (stat(a->binary, &st) != 0 || !S_ISREG(st.st_mode) || access(a->binary, X_OK) != 0) {
    snprintf(message, message_size, "[adapter.%s] binary: %s is not an executable file", a->name,
             a->binary);
    return false;
  }
  return true;
}

/* The adapter refuses a config others may read (it holds credentials): say so now, at
 * start-up, rather than in an endless restart loop. */
static bool check_adapter_config(const config_adapter *a, char *message, unsigned message_size) {
  struct stat st;
  if (a->config[0] == '\0') {
    snprintf(message, message_size,
             "[adapter.%s] config: required (the adapter's INI file with the processor's "
             "credentials)",
             a->name);
    return false;
  }
  if (stat(a->config, &st) != 0 || !S_ISREG(st.st_mode) || access(a->config, R_OK) != 0) {
    snprintf(message, message_size, "[adapter.%s] config: cannot read %s", a->name, a->config);
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(message, message_size,
             "[adapter.%s] config: %s may be read by group or others (mode %03o); it holds "
             "credentials: chmod 600 it",
             a->name, a->config, (unsigned)(st.st_mode & 0777));
    return false;
  }
  return true;
}

/* The socket directory: defaulted, made absolute, and short enough for every socket. */
static bool check_socket_dir(ccpayd_config *c, char *message, unsigned message_size) {
  char dir[PATH_MAX];
  int n = c->adapter_socket_dir[0] != '\0' ? snprintf(dir, sizeof dir, "%s", c->adapter_socket_dir)
                                           : snprintf(dir, sizeof dir, "%s/adapters", c->data_dir);
  if (n > 0 && (size_t)n < sizeof dir && dir[0] != '/') {
    char cwd[PATH_MAX];
    n = getcwd(cwd, sizeof cwd) != NULL
            ? snprintf(c->adapter_socket_dir, sizeof c->adapter_socket_dir, "%s/%s", cwd, dir)
            : -1;
  } else if (n > 0 && (size_t)n < sizeof dir) {
    memcpy(c->adapter_socket_dir, dir, (size_t)n + 1);
  }
  if (n < 0 || (size_t)n >= sizeof c->adapter_socket_dir) {
    snprintf(message, message_size, "[gateway] socket_dir: the path is too long");
    return false;
  }
  for (size_t i = 0; i < c->adapter_count; i++) {
    /* "DIR/NAME.sock" and its NUL must fit sun_path. */
    size_t len = strlen(c->adapter_socket_dir) + 1 + strlen(c->adapters[i].name) + 5;
    if (len >= GATEWAY_SOCKET_PATH_BYTES_MAX) {
      snprintf(message, message_size,
               "[gateway] socket_dir: %s/%s.sock is longer than a unix socket path may be "
               "(%d bytes); choose a shorter directory",
               c->adapter_socket_dir, c->adapters[i].name, GATEWAY_SOCKET_PATH_BYTES_MAX - 1);
      return false;
    }
  }
  return true;
}

bool config_check_adapters(ccpayd_config *c, char *message, unsigned message_size) {
  for (size_t i = 0; i < c->adapter_count; i++) {
    if (!check_adapter_config(&c->adapters[i], message, message_size) ||
        !check_adapter_binary(&c->adapters[i], message, message_size)) {
      return false;
    }
  }
  return check_socket_dir(c, message, message_size);
}
