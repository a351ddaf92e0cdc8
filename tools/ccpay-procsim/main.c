/* ccpay-procsim: the processor sandbox (docs/PROCSIM.md).
 *
 * Start-up order: flags (exit 2 when bad) → signals blocked in every thread → TLS
 * identity → DIR/ca.pem → state and faults → HTTPS server → port file; then main waits
 * in sigwait. SIGTERM or SIGINT: the server stops (connections closed, threads joined),
 * state is freed, exit 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "faults.h"
#include "https_server.h"
#include "procsim.h"
#include "sim_state.h"
#include "tls_cert.h"

enum {
  EXIT_BAD_USAGE = 2,
  DELAY_MS_MAX = 600000,
  SLOW_MS_DEFAULT = 3000,
  HANG_MS_DEFAULT = 30000,
  LISTEN_TEXT_BYTES_MAX = 64,
};

typedef struct options {
  char address[LISTEN_TEXT_BYTES_MAX];
  int port;
  const char *dir;
  const char *port_file;
  uint64_t seed;
  bool seed_given;
  uint32_t fault_rate_ppm;
  unsigned fault_kinds;
  procsim_config config;
} options;

static void usage(FILE *out) {
  fprintf(out,
          "usage: ccpay-procsim --dir DIR [--listen 127.0.0.1:PORT] [--port-file FILE]\n"
          "                     [--seed N] [--fault-rate R] [--faults timeout,5xx,slow,"
          "drop_after_commit]\n"
          "                     [--slow-ms MS] [--hang-ms MS] [--adyen-unlinked-refunds]\n"
          "                     [--log-level debug|info|warn|error]\n"
          "Serves Stripe, Adyen and Authorize.Net sandboxes over HTTPS on loopback; writes\n"
          "its certificate to DIR/ca.pem. PORT 0 picks a free port. See docs/PROCSIM.md.\n");
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out) {
  if (text[0] < '0' || text[0] > '9') return false;
  errno = 0;
  char *end = NULL;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || value > max) return false;
  *out = value;
  return true;
}

/* "127.x.y.z:PORT": loopback IPv4 only (the sandbox never faces a network). */
static bool parse_listen(const char *text, options *o) {
  const char *colon = strrchr(text, ':');
  if (colon == NULL || (size_t)(colon - text) >= sizeof o->address) return false;
  memcpy(o->address, text, (size_t)(colon - text));
  o->address[colon - text] = '\0';
  if (strcmp(o->address, "localhost") == 0) strcpy(o->address, "127.0.0.1");
  unsigned a, b, c, d;
  char extra;
  if (sscanf(o->address, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4 || a != 127 || b > 255 ||
      c > 255 || d > 255) {
    return false;
  }
  uint64_t port = 0;
  if (!parse_u64(colon + 1, 65535, &port)) return false;
  o->port = (int)port;
  return true;
}

static bool parse_delay(const char *text, int *out) {
  uint64_t value = 0;
  if (!parse_u64(text, DELAY_MS_MAX, &value)) return false;
  *out = (int)value;
  return true;
}

static int bad_flag(const char *flag, const char *value) {
  fprintf(stderr, "ccpay-procsim: bad %s: %s\n", flag, value != NULL ? value : "(missing)");
  usage(stderr);
  return EXIT_BAD_USAGE;
}

/* Fills o from argv; 0 when good, else the exit code (usage printed). -1 for --help. */
static int parse_options(int argc, char **argv, options *o) {
  enum {
    OPT_LISTEN = 256,
    OPT_DIR,
    OPT_PORT_FILE,
    OPT_SEED,
    OPT_RATE,
    OPT_FAULTS,
    OPT_SLOW,
    OPT_HANG,
    OPT_UNLINKED,
    OPT_LOG_LEVEL,
    OPT_HELP
  };
  static const struct option long_options[] = {
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"dir", required_argument, NULL, OPT_DIR},
      {"port-file", required_argument, NULL, OPT_PORT_FILE},
      {"seed", required_argument, NULL, OPT_SEED},
      {"fault-rate", required_argument, NULL, OPT_RATE},
      {"faults", required_argument, NULL, OPT_FAULTS},
      {"slow-ms", required_argument, NULL, OPT_SLOW},
      {"hang-ms", required_argument, NULL, OPT_HANG},
      {"adyen-unlinked-refunds", no_argument, NULL, OPT_UNLINKED},
      {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof *o);
  strcpy(o->address, "127.0.0.1");
  o->config.slow_ms = SLOW_MS_DEFAULT;
  o->config.hang_ms = HANG_MS_DEFAULT;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    log_level level;
    switch (c) {
      case OPT_LISTEN:
        if (!parse_listen(optarg, o)) return bad_flag("--listen (loopback only)", optarg);
        break;
      case OPT_DIR:
        o->dir = optarg;
        break;
      case OPT_PORT_FILE:
        o->port_file = optarg;
        break;
      case OPT_SEED:
        if (!parse_u64(optarg, UINT64_MAX, &o->seed)) return bad_flag("--seed", optarg);
        o->seed_given = true;
        break;
      case OPT_RATE:
        if (!fault_rate_parse(optarg, &o->fault_rate_ppm)) return bad_flag("--fault-rate", optarg);
        break;
      case OPT_FAULTS:
        if (!fault_kinds_parse(optarg, &o->fault_kinds)) return bad_flag("--faults", optarg);
        break;
      case OPT_SLOW:
        if (!parse_delay(optarg, &o->config.slow_ms)) return bad_flag("--slow-ms", optarg);
        break;
      case OPT_HANG:
        if (!parse_delay(optarg, &o->config.hang_ms)) return bad_flag("--hang-ms", optarg);
        break;
      case OPT_UNLINKED:
        o->config.adyen_unlinked_refunds = true;
        break;
      case OPT_LOG_LEVEL:
        if (!log_level_parse(optarg, &level)) return bad_flag("--log-level", optarg);
        log_set_level(level);
        break;
      case OPT_HELP:
        usage(stdout);
        return -1;
      default:
        return bad_flag("flag", argv[optind - 1]);
    }
  }
  if (optind != argc) return bad_flag("argument", argv[optind]);
  if (o->dir == NULL) return bad_flag("--dir", NULL);
  if (!o->seed_given) o->seed = (uint64_t)clock_wall_ms() ^ ((uint64_t)getpid() << 32);
  return 0;
}

/* Writes "PORT\n" to path through a temporary file renamed into place, so a reader
 * never sees a partial number. */
static bool write_port_file(const char *path, int port) {
  char temp[PATH_MAX];
  int n = snprintf(temp, sizeof temp, "%s.tmp", path);
  if (n <= 0 || n >= (int)sizeof temp) return false;
  FILE *f = fopen(temp, "w");
  if (f == NULL) return false;
  bool ok = fprintf(f, "%d\n", port) > 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(temp, path) != 0) {
    unlink(temp);
    return false;
  }
  return true;
}

/* Blocks the stop signals in this thread and every thread it starts; ignores SIGPIPE (a
 * client that vanishes must not kill the process). */
static void block_signals(sigset_t *stop_signals) {
  sigemptyset(stop_signals);
  sigaddset(stop_signals, SIGTERM);
  sigaddset(stop_signals, SIGINT);
  CHECK(pthread_sigmask(SIG_BLOCK, stop_signals, NULL) == 0);
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigaction(SIGPIPE, &ignore, NULL);
}

static int serve(const options *o, const tls_identity *identity, procsim *sim,
                 const sigset_t *stop_signals) {
  https_server *server = https_server_start(o->address, o->port, identity, procsim_handle, sim);
  if (server == NULL) return EXIT_FAILURE;
  int port = https_server_port(server);
  if (o->port_file != NULL && !write_port_file(o->port_file, port)) {
    log_error("event=port_file_failed path=%s errno=%d", o->port_file, errno);
    https_server_stop(server);
    return EXIT_FAILURE;
  }
  log_info("event=serving address=%s port=%d dir=%s seed=%" PRIu64
           " fault_rate_ppm=%u slow_ms=%d hang_ms=%d adyen_unlinked_refunds=%s",
           o->address, port, o->dir, o->seed, o->fault_rate_ppm, o->config.slow_ms,
           o->config.hang_ms, o->config.adyen_unlinked_refunds ? "true" : "false");
  int signal_number = 0;
  while (sigwait(stop_signals, &signal_number) != 0) {
  }
  log_info("event=stopping signal=%d", signal_number);
  https_server_stop(server);
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  options o;
  int parsed = parse_options(argc, argv, &o);
  if (parsed != 0) return parsed < 0 ? EXIT_SUCCESS : parsed;
  sigset_t stop_signals;
  block_signals(&stop_signals);
  if (mkdir(o.dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "ccpay-procsim: cannot create --dir %s: %s\n", o.dir, strerror(errno));
    return EXIT_BAD_USAGE;
  }
  char ca_path[PATH_MAX];
  int n = snprintf(ca_path, sizeof ca_path, "%s/ca.pem", o.dir);
  if (n <= 0 || n >= (int)sizeof ca_path) return bad_flag("--dir (too long)", o.dir);
  tls_identity identity;
  if (!tls_identity_create(&identity)) return EXIT_FAILURE;
  int status = EXIT_FAILURE;
  procsim sim = {.config = o.config};
  if (!tls_identity_write_cert(&identity, ca_path)) goto done;
  sim.state = sim_state_create(o.seed);
  sim.faults = faults_create(o.seed, o.fault_rate_ppm, o.fault_kinds);
  if (sim.state == NULL || sim.faults == NULL) goto done;
  status = serve(&o, &identity, &sim, &stop_signals);
done:
  faults_destroy(sim.faults);
  sim_state_destroy(sim.state);
  tls_identity_destroy(&identity);
  log_info("event=stopped status=%d", status);
  return status;
}
