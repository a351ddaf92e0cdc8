/* ccpay-admin: offline administration of a ccpay data directory. One table of
 * subcommands, each with its own argument parser and help: `verify` and `token create`.
 *
 * Exit status: 0 success; 1 the command ran and failed (a violation found, the store
 * unreadable); 2 a usage error, or no database where one was named. */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/log.h"
#include "domain/roles.h"
#include "storage/audit.h"
#include "storage/ids.h"
#include "storage/store.h"
#include "storage/tokens.h"
#include "storage/verify.h"

enum {
  ADMIN_EXIT_OK = 0,
  ADMIN_EXIT_FAILED = 1,
  ADMIN_EXIT_USAGE = 2,
  /* The map to open with: LMDB grows it to cover an existing database, and verify only
   * reads. */
  ADMIN_MAP_BYTES = 64 << 20,
};

typedef struct admin_command {
  const char *name;
  const char *synopsis; /* its line in the usage; the command prints its own --help */
  int (*run)(int argc, char **argv);
} admin_command;

static const char admin_usage_head[] =
    "usage: ccpay-admin COMMAND [OPTIONS]\n"
    "\n"
    "Offline administration of a ccpay data directory (the directory of data.mdb).\n"
    "\n"
    "Commands:\n";

static const char admin_usage_tail[] =
    "\n"
    "Options:\n"
    "  -h, --help   show this help; `ccpay-admin COMMAND --help` shows a command's\n"
    "\n"
    "Exit status: 0 success, 1 the command failed (e.g. verify found a violation),\n"
    "2 a usage error or no database in the data dir.\n";

static const char verify_help[] =
    "usage: ccpay-admin verify --data-dir DIR\n"
    "\n"
    "Checks every invariant of the ccpay database in DIR in one read snapshot: journal\n"
    "entries balance and run 1..N without gaps, every account balance equals the sum of\n"
    "its postings and each currency's trial balance is zero, posting lists match the\n"
    "entries, every index entry points at a record that produces it and every record is\n"
    "indexed, invoices and orders name each other; payments and their order name each\n"
    "other, a payment's amounts stay within what was authorized and captured and equal\n"
    "what its transactions add up to, the open-transaction list holds exactly the\n"
    "PENDING and UNKNOWN transactions, and each posted operation has exactly one\n"
    "journal entry; the audit trail has no gap in its sequence, and every token is\n"
    "indexed by its hash. Safe while ccpayd runs; writes nothing.\n"
    "\n"
    "On success prints one line, \"ok: N entries, ...\", and exits 0. On the first\n"
    "violation prints \"ccpay-admin: verify: <what is wrong>\" to stderr and exits 1.\n"
    "Exits 2 when DIR holds no data.mdb.\n";

static const char token_create_help[] =
    "usage: ccpay-admin token create --data-dir DIR --role ROLE --agent ID [--expires DURATION]\n"
    "\n"
    "Creates an agent token in the ccpay database in DIR (created when missing), so the\n"
    "first admin token can be made before ccpayd ever runs; safe while ccpayd runs. ROLE is\n"
    "one of csr, supervisor, payments, collections, support, reconciler, admin. ID is the\n"
    "agent id recorded on everything the token's calls create (printable ASCII, no spaces,\n"
    "at most 64). DURATION is how long the token lives: N followed by d, h, m or s\n"
    "(default 90d, at most 732d).\n"
    "\n"
    "Prints the token alone on stdout, once: ccpay keeps only its SHA-256. Callers send it\n"
    "as `authorization: Bearer <token>`. The creation is in the audit trail.\n";

static int admin_verify(int argc, char **argv);
static int admin_token(int argc, char **argv);

static const admin_command admin_commands[] = {
    {"verify", "  verify --data-dir DIR   check every invariant of the database in DIR\n",
     admin_verify},
    {"token",
     "  token create --data-dir DIR --role ROLE --agent ID [--expires DURATION]\n"
     "                          create an agent token; prints it once\n",
     admin_token},
};
enum { ADMIN_COMMANDS = sizeof admin_commands / sizeof admin_commands[0] };

static void admin_print_usage(FILE *out) {
  fputs(admin_usage_head, out);
  for (size_t i = 0; i < ADMIN_COMMANDS; i++) fputs(admin_commands[i].synopsis, out);
  fputs(admin_usage_tail, out);
}

static bool admin_is_help(const char *arg) {
  return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* --- verify ---------------------------------------------------------------------------- */

/* Parses verify's arguments into *data_dir; ADMIN_EXIT_OK to go on, else the exit
 * status (help shown, or a usage error reported). */
static int verify_parse(int argc, char **argv, const char **data_dir, bool *help) {
  *data_dir = NULL;
  *help = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (admin_is_help(arg)) {
      *help = true;
    } else if (strcmp(arg, "--data-dir") == 0 && i + 1 < argc) {
      *data_dir = argv[++i];
    } else if (strncmp(arg, "--data-dir=", 11) == 0) {
      *data_dir = arg + 11;
    } else {
      fprintf(stderr, "ccpay-admin: verify: unexpected argument \"%s\" (see --help)\n", arg);
      return ADMIN_EXIT_USAGE;
    }
  }
  if (!*help && (*data_dir == NULL || (*data_dir)[0] == '\0')) {
    fprintf(stderr, "ccpay-admin: verify: --data-dir DIR is required\n");
    return ADMIN_EXIT_USAGE;
  }
  return ADMIN_EXIT_OK;
}

/* Refuses a data dir without a database: opening the store would create one, and
 * "ok: 0 entries" for a mistyped path would be a lie. */
static int verify_check_dir(const char *data_dir) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/data.mdb", data_dir);
  if (n < 0 || (size_t)n >= sizeof path) {
    fprintf(stderr, "ccpay-admin: verify: the data dir path is too long\n");
    return ADMIN_EXIT_USAGE;
  }
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "ccpay-admin: verify: no database in %s (%s: %s); is --data-dir right?\n",
            data_dir, path, strerror(errno));
    return ADMIN_EXIT_USAGE;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "ccpay-admin: verify: %s is not a regular file\n", path);
    return ADMIN_EXIT_USAGE;
  }
  return ADMIN_EXIT_OK;
}

static int verify_run(const char *data_dir) {
  store_options options = {.data_dir = data_dir, .map_size_bytes = ADMIN_MAP_BYTES};
  store *s = NULL;
  ccpay_error error;
  if (store_open(&options, &s, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpay-admin: verify: %s\n", error.message);
    return ADMIN_EXIT_FAILED;
  }
  verify_report report;
  ccpay_err err = verify_store(s, &report, &error);
  store_close(s);
  if (err != CCPAY_OK) {
    fprintf(stderr, "ccpay-admin: verify: %s\n", error.message);
    return ADMIN_EXIT_FAILED;
  }
  printf(
      "ok: %llu entries, %llu accounts, %llu customers, %llu orders, %llu invoices, "
      "%llu payments, %llu transactions, %llu returns, %llu refund checks, %llu index entries, "
      "%llu tokens, %llu audit records\n",
      (unsigned long long)report.entries, (unsigned long long)report.accounts,
      (unsigned long long)report.customers, (unsigned long long)report.orders,
      (unsigned long long)report.invoices, (unsigned long long)report.payments,
      (unsigned long long)report.transactions, (unsigned long long)report.returns,
      (unsigned long long)report.refund_checks, (unsigned long long)report.index_entries,
      (unsigned long long)report.tokens, (unsigned long long)report.audit_records);
  return ADMIN_EXIT_OK;
}

static int admin_verify(int argc, char **argv) {
  CHECK(argc >= 1 && strcmp(argv[0], "verify") == 0);
  const char *data_dir = NULL;
  bool help = false;
  int status = verify_parse(argc, argv, &data_dir, &help);
  if (status != ADMIN_EXIT_OK) return status;
  if (help) {
    fputs(verify_help, stdout);
    return ADMIN_EXIT_OK;
  }
  CHECK(data_dir != NULL);
  status = verify_check_dir(data_dir);
  return status != ADMIN_EXIT_OK ? status : verify_run(data_dir);
}

/* --- token create ---------------------------------------------------------------------- */

typedef struct token_request {
  const char *data_dir;
  const char *role;
  const char *agent_id;
  int64_t ttl_s;
  bool help;
} token_request;

/* "90d", "12h", "30m", "45s" -> seconds; false when malformed, 0 or over the maximum. */
static bool token_parse_duration(const char *text, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(text, &end, 10);
  if (errno != 0 || end == text || n <= 0 || end[0] == '\0' || end[1] != '\0') return false;
  int64_t unit = end[0] == 'd'   ? 86400
                 : end[0] == 'h' ? 3600
                 : end[0] == 'm' ? 60
                 : end[0] == 's' ? 1
                                 : 0;
  if (unit == 0 || n > TOKEN_TTL_S_MAX / unit) return false;
  *out = n * unit;
  return true;
}

static int token_parse(int argc, char **argv, token_request *r) {
  *r = (token_request){.ttl_s = TOKEN_TTL_S_DEFAULT};
  if (argc < 2 || strcmp(argv[1], "create") != 0) {
    if (argc >= 2 && admin_is_help(argv[1])) {
      r->help = true;
      return ADMIN_EXIT_OK;
    }
    fprintf(stderr, "ccpay-admin: token: expected `token create` (see token --help)\n");
    return ADMIN_EXIT_USAGE;
  }
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (admin_is_help(arg)) {
      r->help = true;
    } else if (strcmp(arg, "--data-dir") == 0 && value != NULL) {
      r->data_dir = argv[++i];
    } else if (strcmp(arg, "--role") == 0 && value != NULL) {
      r->role = argv[++i];
    } else if (strcmp(arg, "--agent") == 0 && value != NULL) {
      r->agent_id = argv[++i];
    } else if (strcmp(arg, "--expires") == 0 && value != NULL) {
      if (!token_parse_duration(argv[++i], &r->ttl_s)) {
        fprintf(stderr,
                "ccpay-admin: token create: --expires: N followed by d, h, m or s, at most "
                "%dd\n",
                TOKEN_TTL_S_MAX / 86400);
        return ADMIN_EXIT_USAGE;
      }
    } else {
      fprintf(stderr, "ccpay-admin: token create: unexpected argument \"%s\" (see --help)\n", arg);
      return ADMIN_EXIT_USAGE;
    }
  }
  if (r->help) return ADMIN_EXIT_OK;
  if (r->data_dir == NULL || r->role == NULL || r->agent_id == NULL) {
    fprintf(stderr, "ccpay-admin: token create: --data-dir, --role and --agent are required\n");
    return ADMIN_EXIT_USAGE;
  }
  if (roles_find(r->role) == NULL) {
    fprintf(stderr, "ccpay-admin: token create: --role: must be one of %s\n", roles_names());
    return ADMIN_EXIT_USAGE;
  }
  ccpay_error error;
  if (roles_validate_agent_id("--agent", r->agent_id, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpay-admin: token create: %s\n", error.message);
    return ADMIN_EXIT_USAGE;
  }
  return ADMIN_EXIT_OK;
}

/* One write command run to its durable end. */
typedef struct token_write {
  store_write w;
  const token_request *request;
  uint8_t hash[TOKEN_HASH_BYTES];
  char token_id[ID_TEXT_BYTES_MAX];
  pthread_mutex_t lock;
  pthread_cond_t changed;
  bool done;
} token_write;

static ccpay_err token_write_execute(store_txn *txn, store_write *w) {
  token_write *t = w->context;
  arena *a = arena_create(64 << 10);
  if (a == NULL) return ccpay_error_set(&w->error, CCPAY_ERR_INTERNAL, "out of memory");
  int64_t expire_ms = store_txn_time_ms(txn) + t->request->ttl_s * 1000;
  Ccpay__V1__Token *token = NULL;
  ccpay_err rc = tokens_issue(txn, t->request->role, t->request->agent_id, "ccpay-admin", expire_ms,
                              t->hash, a, &token, &w->error);
  char after[AUDIT_CHANGE_BYTES_MAX];
  char *targets[1];
  Ccpay__V1__AuditRecord r = CCPAY__V1__AUDIT_RECORD__INIT;
  if (rc == CCPAY_OK) {
    snprintf(t->token_id, sizeof t->token_id, "%s", token->id);
    snprintf(after, sizeof after, "token %s role=%s agent_id=%s expire_time_ms=%lld", token->id,
             token->role, token->agent_id, (long long)expire_ms);
    targets[0] = token->id;
    r.time = token->create_time;
    r.agent_id = "ccpay-admin";
    r.method = "ccpay-admin token create";
    r.n_target_ids = 1;
    r.target_ids = targets;
    r.outcome = "OK";
    r.after = after;
    r.peer = "local";
    rc = audit_append(txn, &r, &w->error);
  }
  arena_destroy(a);
  return rc;
}

static void token_write_done(store_write *w) {
  token_write *t = w->context;
  CHECK(pthread_mutex_lock(&t->lock) == 0);
  t->done = true;
  CHECK(pthread_cond_signal(&t->changed) == 0);
  CHECK(pthread_mutex_unlock(&t->lock) == 0);
}

static int token_create_run(const token_request *request) {
  char secret[TOKEN_TEXT_BYTES + 1];
  if (!token_secret_generate(secret)) {
    fprintf(stderr, "ccpay-admin: token create: OpenSSL has no randomness to give\n");
    return ADMIN_EXIT_FAILED;
  }
  store_options options = {.data_dir = request->data_dir, .map_size_bytes = ADMIN_MAP_BYTES};
  store *s = NULL;
  ccpay_error error;
  if (store_open(&options, &s, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpay-admin: token create: %s\n", error.message);
    OPENSSL_cleanse(secret, sizeof secret);
    return ADMIN_EXIT_FAILED;
  }
  token_write t = {.request = request};
  token_secret_hash(secret, strlen(secret), t.hash);
  CHECK(pthread_mutex_init(&t.lock, NULL) == 0);
  CHECK(pthread_cond_init(&t.changed, NULL) == 0);
  t.w = (store_write){.execute = token_write_execute, .done = token_write_done, .context = &t};
  store_write_submit(s, &t.w);
  CHECK(pthread_mutex_lock(&t.lock) == 0);
  while (!t.done) CHECK(pthread_cond_wait(&t.changed, &t.lock) == 0);
  CHECK(pthread_mutex_unlock(&t.lock) == 0);
  store_close(s);
  pthread_cond_destroy(&t.changed);
  pthread_mutex_destroy(&t.lock);
  if (t.w.result != CCPAY_OK) {
    fprintf(stderr, "ccpay-admin: token create: %s\n", t.w.error.message);
    OPENSSL_cleanse(secret, sizeof secret);
    return ADMIN_EXIT_FAILED;
  }
  printf("%s\n", secret);
  fflush(stdout);
  OPENSSL_cleanse(secret, sizeof secret);
  fprintf(stderr, "ccpay-admin: created token %s (role %s, agent %s); it is shown only this once\n",
          t.token_id, request->role, request->agent_id);
  return ADMIN_EXIT_OK;
}

static int admin_token(int argc, char **argv) {
  CHECK(argc >= 1 && strcmp(argv[0], "token") == 0);
  token_request request;
  int status = token_parse(argc, argv, &request);
  if (status != ADMIN_EXIT_OK) return status;
  if (request.help) {
    fputs(token_create_help, stdout);
    return ADMIN_EXIT_OK;
  }
  return token_create_run(&request);
}

int main(int argc, char **argv) {
  /* The store logs its opening and closing at info; a tool's output is its own. */
  log_set_level(LOG_WARN);
  if (argc < 2) {
    admin_print_usage(stderr);
    return ADMIN_EXIT_USAGE;
  }
  if (admin_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
    admin_print_usage(stdout);
    return ADMIN_EXIT_OK;
  }
  for (size_t i = 0; i < ADMIN_COMMANDS; i++) {
    if (strcmp(argv[1], admin_commands[i].name) == 0) {
      return admin_commands[i].run(argc - 1, argv + 1);
    }
  }
  fprintf(stderr, "ccpay-admin: unknown command \"%s\" (see ccpay-admin --help)\n", argv[1]);
  return ADMIN_EXIT_USAGE;
}
