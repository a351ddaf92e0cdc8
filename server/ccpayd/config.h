/* ccpayd's configuration: defaults, then the config file (--config FILE, INI), then
 * command-line flags, each overriding the one before. Every setting is checked once
 * here; a bad one stops start-up with a message naming it. */
#ifndef CCPAY_CCPAYD_CONFIG_H
#define CCPAY_CCPAYD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/log.h"
#include "domain/fraud.h"

enum { CONFIG_ADDRESS_BYTES_MAX = 256, CONFIG_MESSAGE_BYTES_MAX = 512 };

/* One [adapter.NAME] section: a card processor's adapter process that ccpayd runs. */
typedef struct config_adapter {
  char name[GATEWAY_ADAPTER_NAME_BYTES_MAX]; /* the processor: "stripe" */
  /* The executable; "" in the file means ccpay-adapter-NAME next to ccpayd's own binary
   * (filled in by config_check_adapters). */
  char binary[PATH_MAX];
  char config[PATH_MAX];   /* its INI file: required, and mode 0600 (no group/other bits) */
  char log_file[PATH_MAX]; /* its stdout and stderr, appended; "" for ccpayd's stderr */
  unsigned threads;        /* its --threads; 0 for its default */
} config_adapter;

typedef struct ccpayd_config {
  char listen[CONFIG_ADDRESS_BYTES_MAX]; /* host:port; [v6]:port */
  char data_dir[PATH_MAX];
  char port_file[PATH_MAX]; /* where to write the bound port once serving; "" for none */
  uint64_t map_size_bytes;
  unsigned threads;
  log_level log_level;
  bool plaintext;
  /* [server] tls_cert, tls_key (PEM files: the certificate chain and its key) and
   * tls_client_ca (PEM: when set, clients must present a certificate it signed). */
  char tls_cert[PATH_MAX];
  char tls_key[PATH_MAX];
  char tls_client_ca[PATH_MAX];
  /* [gateway]: where the adapters' sockets go ("" until config_check_adapters makes it
   * <data_dir>/adapters; always absolute after it), and the timeouts. */
  char adapter_socket_dir[PATH_MAX];
  unsigned adapter_start_timeout_ms;
  unsigned adapter_call_timeout_ms;
  size_t adapter_count;
  config_adapter adapters[GATEWAY_ADAPTERS_MAX];
  bool help;
  bool version;
} ccpayd_config;

/* Fills *config from defaults, the config file named by --config, and argv. On error
 * returns false with message naming the setting ("--threads: must be 1 to 64"). */
bool config_load(int argc, char **argv, ccpayd_config *config, char *message,
                 unsigned message_size);

/* Checks that the combination of settings can run: TLS (certificate and key, optionally
 * a client CA for mutual TLS), or plaintext when asked for explicitly and only on a
 * loopback address; never both. */
bool config_check_transport(const ccpayd_config *config, char *message, unsigned message_size);

/* Completes and checks the adapter settings against the file system: fills in default
 * binaries and the socket directory (made absolute), and refuses a binary that is not
 * executable, a config file that is missing or readable by group or others, or a socket
 * path longer than a unix socket allows. Message names the setting
 * ("[adapter.stripe] config: ..."). */
bool config_check_adapters(ccpayd_config *config, char *message, unsigned message_size);

/* The --help text. */
const char *config_usage(void);

/* Parses "1073741824", "512M", "16G", "1T" into bytes; false when malformed or 0. */
bool config_parse_size(const char *text, uint64_t *out);

/* True when every address host resolves to is loopback (127/8, ::1). */
bool config_host_is_loopback(const char *listen_address);

#endif
