/* ccpayd: start-up and shutdown. Order matters: signals are blocked before any thread
 * exists (gRPC starts its own, the supervisor one per adapter), storage opens and the
 * adapters start before the server accepts calls, and on SIGTERM/SIGINT the server
 * drains its calls while storage and the adapters are still up to answer them; then the
 * adapters stop, then storage closes. */
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/descriptor_set.h"
#include "base/limits.h"
#include "base/log.h"
#include "config.h"
#include "gateway/supervisor.h"
#include "rpc/rpc.h"
#include "services/auth.h"
#include "services/payment_flow.h"
#include "services/services.h"
#include "storage/store.h"

#define CCPAYD_VERSION "0.1.0"

/* Writes the port to path through a temporary file and rename, so a reader never sees a
 * half-written file. */
static bool write_port_file(const char *path, int port) {
  char temporary[PATH_MAX + 8];
  int n = snprintf(temporary, sizeof temporary, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof temporary) return false;
  FILE *f = fopen(temporary, "w");
  if (f == NULL) return false;
  bool ok = fprintf(f, "%d\n", port) > 0;
  ok = fclose(f) == 0 && ok;
  return ok && rename(temporary, path) == 0;
}

/* Reads the PEM file path (a setting named flag) into a new NUL-terminated buffer: at
 * most TLS_FILE_BYTES_MAX bytes, holding a PEM block. NULL with message printed. */
static char *read_pem(const char *flag, const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "ccpayd: %s: cannot read %s: %s\n", flag, path, strerror(errno));
    return NULL;
  }
  char *text = malloc(TLS_FILE_BYTES_MAX + 1);
  size_t len = text != NULL ? fread(text, 1, TLS_FILE_BYTES_MAX + 1, f) : 0;
  bool failed = ferror(f) != 0;
  fclose(f);
  const char *problem = text == NULL               ? "out of memory"
                        : failed                   ? "read error"
                        : len > TLS_FILE_BYTES_MAX ? "larger than 256 KiB"
                                                   : NULL;
  if (problem == NULL) {
    text[len] = '\0';
    if (strstr(text, "-----BEGIN ") == NULL) problem = "not a PEM file";
  }
  if (problem != NULL) {
    fprintf(stderr, "ccpayd: %s: %s: %s\n", flag, path, problem);
    free(text);
    return NULL;
  }
  return text;
}

/* The TLS settings as PEM text; false (message printed) when a file is unusable. Free
 * with tls_free. */
static bool tls_load(const ccpayd_config *config, rpc_tls_options *tls) {
  memset(tls, 0, sizeof *tls);
  tls->cert_chain_pem = read_pem("--tls-cert", config->tls_cert);
  tls->private_key_pem =
      tls->cert_chain_pem != NULL ? read_pem("--tls-key", config->tls_key) : NULL;
  struct stat st;
  if (tls->private_key_pem != NULL && stat(config->tls_key, &st) == 0 && (st.st_mode & 077) != 0) {
    char quoted[2 * PATH_MAX];
    log_warn(
        "event=tls_key_mode path=%s mode=%04o advice=\"readable by group or others; chmod "
        "600\"",
        log_quote(config->tls_key, quoted, sizeof quoted), (unsigned)(st.st_mode & 0777));
  }
  bool ok = tls->private_key_pem != NULL;
  if (ok && config->tls_client_ca[0] != '\0') {
    tls->client_ca_pem = read_pem("--tls-client-ca", config->tls_client_ca);
    ok = tls->client_ca_pem != NULL;
  }
  return ok;
}

static void tls_free(rpc_tls_options *tls) {
  if (tls->private_key_pem != NULL)
    OPENSSL_cleanse((char *)tls->private_key_pem, strlen(tls->private_key_pem));
  free((char *)tls->cert_chain_pem);
  free((char *)tls->private_key_pem);
  free((char *)tls->client_ca_pem);
}

/* Serves until SIGTERM/SIGINT, then drains the server. env's store, feed, gateway and
 * payment engine are up. */
static int serve(const ccpayd_config *config, service_env *env) {
  ledger_feed *feed = env->feed;
  size_t method_count = 0;
  const rpc_method *methods = services_methods(env, &method_count);
  auth *authenticator = auth_create(env->store);
  if (authenticator == NULL) {
    fprintf(stderr, "ccpayd: out of memory\n");
    return 1;
  }
  rpc_server_options options = {
      .authenticate = auth_authenticate,
      .authenticate_context = authenticator,
      .listen_address = config->listen,
      .threads = config->threads,
      .request_bytes_max = REQUEST_BYTES_MAX,
      .methods = methods,
      .method_count = method_count,
      .descriptor_set = ccpay_descriptor_set,
      .descriptor_set_len = ccpay_descriptor_set_size,
  };
  rpc_tls_options tls;
  memset(&tls, 0, sizeof tls);
  if (!config->plaintext) {
    if (!tls_load(config, &tls)) {
      tls_free(&tls);
      auth_destroy(authenticator);
      return 1;
    }
    options.tls = &tls;
  }
  rpc_server *server = NULL;
  int port = 0;
  ccpay_error error;
  ccpay_err started = rpc_server_start(&options, &server, &port, &error);
  tls_free(&tls); /* gRPC keeps its own copies */
  if (started != CCPAY_OK) {
    fprintf(stderr, "ccpayd: %s\n", error.message);
    auth_destroy(authenticator);
    return 1;
  }
  if (config->port_file[0] != '\0' && !write_port_file(config->port_file, port)) {
    fprintf(stderr, "ccpayd: --port-file: cannot write %s\n", config->port_file);
    ledger_feed_close(feed);
    rpc_server_stop(server, 0);
    auth_destroy(authenticator);
    return 1;
  }
  rpc_server_set_serving(server, true);
  log_info("event=ready version=%s listen=%s port=%d transport=%s threads=%u data_dir=%s",
           CCPAYD_VERSION, config->listen, port,
           config->plaintext                  ? "plaintext"
           : config->tls_client_ca[0] != '\0' ? "mtls"
                                              : "tls",
           config->threads, config->data_dir);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log_info("event=stopping signal=%s drain_ms=%d", signal_number == SIGINT ? "SIGINT" : "SIGTERM",
           SHUTDOWN_DRAIN_MS);
  /* Followers of the ledger would wait for entries that never come: end them first. */
  ledger_feed_close(feed);
  rpc_server_stop(server, SHUTDOWN_DRAIN_MS);
  auth_destroy(authenticator);
  return 0;
}

/* The payment engine (its gateway threads and recovery loop) around serve: started after
 * the store and the adapters, stopped after the server and before them. */
static int run(const ccpayd_config *config, store *s, ledger_feed *feed, supervisor *gateway) {
  service_env env = {
      .store = s,
      .feed = feed,
      .gateway = gateway,
  };
  ccpay_error error;
  if (payment_engine_start(&env, &env.payments, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpayd: payments: %s\n", error.message);
    return 1;
  }
  int rc = serve(config, &env);
  payment_engine_stop(env.payments);
  return rc;
}

/* Starts the adapters of the [adapter.*] sections. Those that do not come up within the
 * start timeout are logged and retried in the background: ccpayd serves all the same
 * (their calls fail fast as ADAPTER_UNAVAILABLE meanwhile). NULL when the supervisor
 * itself cannot run (message printed). */
static supervisor *start_adapters(const ccpayd_config *config) {
  supervisor_adapter_options adapters[GATEWAY_ADAPTERS_MAX];
  for (size_t i = 0; i < config->adapter_count; i++) {
    const config_adapter *a = &config->adapters[i];
    adapters[i] = (supervisor_adapter_options){
        .name = a->name,
        .binary = a->binary,
        .config = a->config,
        .log_file = a->log_file[0] != '\0' ? a->log_file : NULL,
        .threads = a->threads,
    };
  }
  supervisor_options options = {
      .socket_dir = config->adapter_socket_dir,
      .adapters = adapters,
      .adapter_count = config->adapter_count,
      .start_timeout_ms = config->adapter_start_timeout_ms,
      .call_timeout_ms = config->adapter_call_timeout_ms,
      .adapter_log_level = config->log_level,
  };
  supervisor *gateway = NULL;
  ccpay_error error;
  if (supervisor_start(&options, &gateway, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpayd: adapters: %s\n", error.message);
    return NULL;
  }
  return gateway;
}

int main(int argc, char **argv) {
  /* Block the stop signals in every thread (gRPC's included); serve() takes them with
   * sigwait. A peer closing a socket must not kill the process. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  signal(SIGPIPE, SIG_IGN);

  ccpayd_config config;
  char message[CONFIG_MESSAGE_BYTES_MAX];
  if (!config_load(argc, argv, &config, message, sizeof message)) {
    fprintf(stderr, "ccpayd: %s\n", message);
    return 2;
  }
  if (config.help) {
    fputs(config_usage(), stdout);
    return 0;
  }
  if (config.version) {
    printf("ccpayd %s\n", CCPAYD_VERSION);
    return 0;
  }
  if (!config_check_transport(&config, message, sizeof message)) {
    fprintf(stderr, "ccpayd: %s\n", message);
    return 2;
  }
  if (!config_check_adapters(&config, message, sizeof message)) {
    fprintf(stderr, "ccpayd: %s\n", message);
    return 2;
  }
  log_set_level(config.log_level);

  store_options storage_options = {.data_dir = config.data_dir,
                                   .map_size_bytes = config.map_size_bytes};
  store *s = NULL;
  ccpay_error error;
  if (store_open(&storage_options, &s, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpayd: storage: %s\n", error.message);
    return 1;
  }
  supervisor *gateway = start_adapters(&config);
  if (gateway == NULL) {
    store_close(s);
    return 1;
  }
  ledger_feed *feed = ledger_feed_create();
  store_set_commit_listener(s, ledger_feed_notify, feed);
  int rc = run(&config, s, feed, gateway);
  /* No call is in flight any more: nothing uses the adapters. */
  supervisor_stop(gateway);
  store_close(s);
  ledger_feed_destroy(feed);
  log_info("event=stopped");
  return rc;
}
