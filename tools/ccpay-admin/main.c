/* ccpay-admin: offline administration of a ccpay data directory. One table of
 * subcommands, each with its own argument parser and help; `verify` is the first, and
 * `token create` and the like join the table as they arrive.
 *
 * Exit status: 0 success; 1 the command ran and failed (a violation found, the store
 * unreadable); 2 a usage error, or no database where one was named. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/check.h"
#include "base/error.h"
#include "base/log.h"
#include "storage/store.h"
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
    "journal entry. Safe while ccpayd runs; writes nothing.\n"
    "\n"
    "On success prints one line, \"ok: N entries, ...\", and exits 0. On the first\n"
    "violation prints \"ccpay-admin: verify: <what is wrong>\" to stderr and exits 1.\n"
    "Exits 2 when DIR holds no data.mdb.\n";

static int admin_verify(int argc, char **argv);

static const admin_command admin_commands[] = {
    {"verify", "  verify --data-dir DIR   check every invariant of the database in DIR\n",
     admin_verify},
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
      "%llu payments, %llu transactions, %llu returns, %llu refund checks, %llu index entries\n",
      (unsigned long long)report.entries, (unsigned long long)report.accounts,
      (unsigned long long)report.customers, (unsigned long long)report.orders,
      (unsigned long long)report.invoices, (unsigned long long)report.payments,
      (unsigned long long)report.transactions, (unsigned long long)report.returns,
      (unsigned long long)report.refund_checks, (unsigned long long)report.index_entries);
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
