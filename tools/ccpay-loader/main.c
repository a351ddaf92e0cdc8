/* ccpay-loader: fills a data directory quickly, through the storage layer (no RPC), for
 * the scale benchmark (docs/BENCHMARKS.md): customers, then invoiced orders of three lines,
 * each with its invoice and the invoice's journal entry, exactly as CreateOrder and
 * InvoiceOrder write them (the same domain rules and storage calls), many orders per
 * write command so the writer commits (and fsyncs) once per command.
 *
 *   ccpay-loader --data-dir DIR [--customers N] [--orders N] [--orders-per-write N]
 *                [--ids-file FILE] [--ids-sample N] [--map-size-gib N]
 *
 * Run on a data directory no ccpayd has open. With --customers 0 the orders go to the
 * customers already there (a second run adds orders). --ids-file receives a sample of the
 * new orders' ids spread over the whole load (ccpay-bench --order-ids-file). */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/error.h"
#include "base/limits.h"
#include "domain/accounts.h"
#include "domain/customer.h"
#include "domain/order.h"
#include "services/timestamps.h"
#include "storage/customers.h"
#include "storage/ids.h"
#include "storage/ledger.h"
#include "storage/orders.h"
#include "storage/store.h"

enum {
  LINES = 3,
  ORDERS_PER_WRITE_MAX = 5000,
  CUSTOMERS_MAX = 10 * 1000 * 1000,
  PROGRESS_S = 10,
  TEXT_BYTES = 64,
};

typedef struct loader_flags {
  const char *data_dir;
  uint64_t customers;
  uint64_t orders;
  unsigned orders_per_write;
  const char *ids_file;
  uint64_t ids_sample;
  uint64_t map_size_gib;
} loader_flags;

/* One write command: count customers or orders, and what it needs to build them. */
typedef struct load_write {
  store_write w;
  bool orders; /* else customers */
  unsigned count;
  uint64_t first; /* the index of the first record of this command in the whole load */
  const uint64_t *customer_ids;
  size_t n_customer_ids;
  uint64_t *created; /* out: the ids made (count of them) */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done;
} load_write;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *format_id(arena *a, id_kind kind, uint64_t id) {
  char text[ID_TEXT_BYTES_MAX];
  id_format(kind, id, text);
  char *copy = arena_strndup(a, text, strlen(text));
  CHECK(copy != NULL);
  return copy;
}

static ccpay_err put_customer(store_txn *txn, uint64_t index, arena *a, uint64_t *id_out,
                              ccpay_error *error) {
  char name[TEXT_BYTES], email[TEXT_BYTES], phone[TEXT_BYTES];
  snprintf(name, sizeof name, "Load Customer %" PRIu64, index);
  snprintf(email, sizeof email, "load%" PRIu64 "@example.com", index);
  snprintf(phone, sizeof phone, "+1 555 %07" PRIu64, index % 10000000);
  Ccpay__V1__Customer input = CCPAY__V1__CUSTOMER__INIT;
  input.name = name;
  input.email = email;
  input.phone = phone;
  input.currency_code = "USD";
  Ccpay__V1__Customer *c = customer_build(&input, a);
  CHECK(c != NULL);
  ccpay_err rc = id_next(txn, id_out, error);
  if (rc != CCPAY_OK) return rc;
  c->id = format_id(a, ID_CUSTOMER, *id_out);
  c->audit = audit_stamp_new(a, store_txn_time_ms(txn));
  c->version = 1;
  CHECK(c->audit != NULL);
  return customers_put(txn, NULL, c, error);
}

/* An order as CreateOrder makes it, then invoiced in full as InvoiceOrder does: the
 * invoice, its journal entry (receivable, revenue, tax), the order INVOICED. */
static ccpay_err put_order(store_txn *txn, uint64_t customer_id, arena *a, uint64_t *id_out,
                           ccpay_error *error) {
  static const char *const skus[LINES] = {"MUG", "TEA-TIN", "COASTER-SET"};
  static const int64_t prices[LINES] = {1250, 899, 1575};
  Ccpay__V1__Money money[LINES];
  Ccpay__V1__OrderLine lines[LINES], *line_ptrs[LINES];
  Ccpay__V1__ShipLine ship[LINES], *ship_ptrs[LINES];
  for (int i = 0; i < LINES; i++) {
    ccpay__v1__money__init(&money[i]);
    money[i].currency_code = "USD";
    money[i].amount_minor = prices[i];
    ccpay__v1__order_line__init(&lines[i]);
    lines[i].sku = (char *)skus[i];
    lines[i].quantity = i + 1;
    lines[i].unit_price = &money[i];
    lines[i].tax_rate_bp = 825;
    line_ptrs[i] = &lines[i];
    ccpay__v1__ship_line__init(&ship[i]);
    ship[i].line_number = i + 1;
    ship[i].quantity = i + 1;
    ship_ptrs[i] = &ship[i];
  }
  Ccpay__V1__Order input = CCPAY__V1__ORDER__INIT;
  input.customer_id = format_id(a, ID_CUSTOMER, customer_id);
  input.currency_code = "USD";
  input.source_code = "PHONE";
  input.type = CCPAY__V1__ORDER_TYPE__ORDER_TYPE_SALES;
  input.lines = line_ptrs;
  input.n_lines = LINES;
  Ccpay__V1__Order *o = order_build(&input, a, error);
  if (o == NULL) return error->code;
  uint64_t invoice_id = 0;
  ccpay_err rc = id_next(txn, id_out, error);
  if (rc == CCPAY_OK) rc = id_next(txn, &invoice_id, error);
  if (rc != CCPAY_OK) return rc;
  int64_t now_ms = store_txn_time_ms(txn);
  o->id = format_id(a, ID_ORDER, *id_out);
  o->audit = audit_stamp_new(a, now_ms);
  o->version = 2;
  Ccpay__V1__Invoice *inv = NULL;
  rc = order_invoice(o, ship_ptrs, LINES, a, &inv, error);
  if (rc != CCPAY_OK) return rc;
  inv->id = format_id(a, ID_INVOICE, invoice_id);
  inv->invoice_time = timestamp_from_ms(a, now_ms);
  inv->due_time = timestamp_from_ms(a, now_ms + 10LL * 24 * 3600 * 1000);
  char **ids = arena_alloc(a, sizeof *ids);
  CHECK(o->audit != NULL && inv->invoice_time != NULL && inv->due_time != NULL && ids != NULL);
  ids[0] = inv->id;
  o->invoice_ids = ids;
  o->n_invoice_ids = 1;
  Ccpay__V1__JournalEntry *entry = NULL;
  rc = accounts_invoice_entry(inv, a, &entry, error);
  if (rc == CCPAY_OK && entry != NULL) {
    entry->entry_time = inv->invoice_time;
    rc = ledger_append(txn, entry, error);
    inv->entry_sequence = entry->sequence;
  }
  if (rc == CCPAY_OK) rc = invoices_put(txn, inv, error);
  if (rc == CCPAY_OK) rc = orders_put(txn, NULL, o, error);
  return rc;
}

static ccpay_err load_execute(store_txn *txn, store_write *w) {
  load_write *lw = (load_write *)w;
  arena *a = arena_create(CALL_ARENA_BYTES_MAX);
  CHECK(a != NULL);
  ccpay_err rc = CCPAY_OK;
  for (unsigned i = 0; i < lw->count && rc == CCPAY_OK; i++) {
    if (lw->orders) {
      /* Round robin: each customer gets every n-th order, and one command's orders go to
       * neighbouring customers, so their receivables and postings share pages (a random
       * customer per order makes the load disk-bound: ~4x slower at 1 M customers). */
      uint64_t customer = lw->customer_ids[(lw->first + i) % lw->n_customer_ids];
      rc = put_order(txn, customer, a, &lw->created[i], &w->error);
    } else {
      rc = put_customer(txn, lw->first + i, a, &lw->created[i], &w->error);
    }
    /* One order needs a few KiB: start afresh well before the arena's end. */
    if (arena_used(a) > CALL_ARENA_BYTES_MAX / 2) {
      arena_destroy(a);
      a = arena_create(CALL_ARENA_BYTES_MAX);
      CHECK(a != NULL);
    }
  }
  arena_destroy(a);
  return rc;
}

static void load_done(store_write *w) {
  load_write *lw = (load_write *)w;
  pthread_mutex_lock(&lw->lock);
  lw->done = true;
  pthread_cond_signal(&lw->cond);
  pthread_mutex_unlock(&lw->lock);
}

/* Submits one command and waits until it is durable. */
static bool run_write(store *s, load_write *lw) {
  lw->w = (store_write){.execute = load_execute, .done = load_done, .actor = "loader"};
  lw->done = false;
  store_write_submit(s, &lw->w);
  pthread_mutex_lock(&lw->lock);
  while (!lw->done) pthread_cond_wait(&lw->cond, &lw->lock);
  pthread_mutex_unlock(&lw->lock);
  if (lw->w.result != CCPAY_OK) {
    fprintf(stderr, "ccpay-loader: write failed: %s\n", lw->w.error.message);
    return false;
  }
  return true;
}

/* Every customer id in the database (for orders added to an existing load). */
static uint64_t *existing_customers(store *s, size_t *count) {
  *count = 0;
  uint64_t *ids = malloc((size_t)CUSTOMERS_MAX * sizeof *ids);
  CHECK(ids != NULL);
  ccpay_error error;
  store_txn *txn = NULL;
  store_cursor *c = NULL;
  CHECK(store_read_begin(s, &txn, &error) == CCPAY_OK);
  CHECK(store_cursor_open(txn, STORE_DB_CUSTOMERS, &c, &error) == CCPAY_OK);
  store_val key;
  for (bool more = store_cursor_seek(c, STORE_FORWARD, NULL, 0, &key, NULL);
       more && *count < CUSTOMERS_MAX; more = store_cursor_step(c, STORE_FORWARD, &key, NULL)) {
    CHECK(key.len == 8);
    uint64_t id = 0;
    for (int i = 0; i < 8; i++) id = id << 8 | key.data[i];
    ids[(*count)++] = id;
  }
  store_cursor_close(c);
  store_read_end(txn);
  return ids;
}

static bool parse_flags(int argc, char **argv, loader_flags *f) {
  *f = (loader_flags){.customers = 1000,
                      .orders = 10000,
                      .orders_per_write = 1000,
                      .ids_sample = 100000,
                      .map_size_gib = 64};
  static const struct option options[] = {{"data-dir", required_argument, NULL, 'd'},
                                          {"customers", required_argument, NULL, 'c'},
                                          {"orders", required_argument, NULL, 'o'},
                                          {"orders-per-write", required_argument, NULL, 'w'},
                                          {"ids-file", required_argument, NULL, 'i'},
                                          {"ids-sample", required_argument, NULL, 's'},
                                          {"map-size-gib", required_argument, NULL, 'm'},
                                          {NULL, 0, NULL, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
      case 'd':
        f->data_dir = optarg;
        break;
      case 'c':
        f->customers = strtoull(optarg, NULL, 10);
        break;
      case 'o':
        f->orders = strtoull(optarg, NULL, 10);
        break;
      case 'w':
        f->orders_per_write = (unsigned)strtoul(optarg, NULL, 10);
        break;
      case 'i':
        f->ids_file = optarg;
        break;
      case 's':
        f->ids_sample = strtoull(optarg, NULL, 10);
        break;
      case 'm':
        f->map_size_gib = strtoull(optarg, NULL, 10);
        break;
      default:
        return false;
    }
  }
  return optind == argc && f->data_dir != NULL && f->customers <= CUSTOMERS_MAX &&
         f->orders_per_write >= 1 && f->orders_per_write <= ORDERS_PER_WRITE_MAX &&
         f->map_size_gib >= 1 && f->map_size_gib <= 1024;
}

/* Loads count records (orders or customers) in commands of per_write; the ids made go to
 * out (customers: all of them; orders: every stride-th to ids_out, when not NULL). */
static bool load_all(store *s, bool orders, uint64_t count, unsigned per_write,
                     const uint64_t *customer_ids, size_t n_customer_ids, uint64_t *out,
                     FILE *ids_out, uint64_t stride) {
  load_write lw = {
      .orders = orders, .customer_ids = customer_ids, .n_customer_ids = n_customer_ids};
  pthread_mutex_init(&lw.lock, NULL);
  pthread_cond_init(&lw.cond, NULL);
  lw.created = malloc(per_write * sizeof *lw.created);
  CHECK(lw.created != NULL);
  double start = now_s(), last = start;
  bool ok = true;
  for (uint64_t done = 0; done < count && ok; done += lw.count) {
    lw.first = done;
    lw.count = (unsigned)(count - done < per_write ? count - done : per_write);
    ok = run_write(s, &lw);
    for (unsigned i = 0; ok && i < lw.count; i++) {
      if (out != NULL) out[done + i] = lw.created[i];
      if (ids_out != NULL && (done + i) % stride == 0) {
        char text[ID_TEXT_BYTES_MAX];
        id_format(ID_ORDER, lw.created[i], text);
        fprintf(ids_out, "%s\n", text);
      }
    }
    double t = now_s();
    if (t - last >= PROGRESS_S) {
      last = t;
      printf("# %s: %" PRIu64 " of %" PRIu64 " (%.0f/s)\n", orders ? "orders" : "customers",
             done + lw.count, count, (double)(done + lw.count) / (t - start));
      fflush(stdout);
    }
  }
  double elapsed = now_s() - start;
  printf("%s: %" PRIu64 " in %.1f s (%.0f/s)\n", orders ? "orders" : "customers", count, elapsed,
         elapsed > 0 ? (double)count / elapsed : 0);
  free(lw.created);
  pthread_cond_destroy(&lw.cond);
  pthread_mutex_destroy(&lw.lock);
  return ok;
}

int main(int argc, char **argv) {
  loader_flags f;
  if (!parse_flags(argc, argv, &f)) {
    fprintf(stderr,
            "usage: ccpay-loader --data-dir DIR [--customers N] [--orders N] "
            "[--orders-per-write N] [--ids-file FILE] [--ids-sample N] [--map-size-gib N]\n");
    return 2;
  }
  store_options options = {.data_dir = f.data_dir, .map_size_bytes = f.map_size_gib << 30};
  store *s = NULL;
  ccpay_error error;
  if (store_open(&options, &s, &error) != CCPAY_OK) {
    fprintf(stderr, "ccpay-loader: %s\n", error.message);
    return 1;
  }
  uint64_t *customers = NULL;
  size_t n_customers = 0;
  bool ok = true;
  if (f.customers > 0) {
    customers = malloc(f.customers * sizeof *customers);
    CHECK(customers != NULL);
    ok = load_all(s, false, f.customers, f.orders_per_write, NULL, 0, customers, NULL, 1);
    n_customers = f.customers;
  } else {
    customers = existing_customers(s, &n_customers);
  }
  FILE *ids_out = NULL;
  if (ok && f.ids_file != NULL) {
    ids_out = fopen(f.ids_file, "w");
    if (ids_out == NULL) perror(f.ids_file);
    ok = ids_out != NULL;
  }
  if (ok && f.orders > 0) {
    if (n_customers == 0) {
      fprintf(stderr, "ccpay-loader: no customers to give the orders to\n");
      ok = false;
    } else {
      uint64_t stride = f.ids_sample > 0 && f.orders > f.ids_sample ? f.orders / f.ids_sample : 1;
      ok = load_all(s, true, f.orders, f.orders_per_write, customers, n_customers, NULL, ids_out,
                    stride);
    }
  }
  if (ids_out != NULL) fclose(ids_out);
  free(customers);
  store_stats stats;
  store_get_stats(s, &stats);
  store_close(s);
  char path[4096];
  snprintf(path, sizeof path, "%s/data.mdb", f.data_dir);
  struct stat st;
  if (stat(path, &st) == 0) {
    printf("data.mdb: %lld bytes (%lld bytes on disk); %" PRIu64 " commits\n",
           (long long)st.st_size, (long long)st.st_blocks * 512, stats.batches_committed);
  }
  return ok ? 0 : 1;
}
