/* ccpay-crash-test: randomized trials of concurrent CSR flows against the real ccpayd, its
 * three real adapters and ccpay-procsim, with one fault per trial, each trial checked
 * against an independent record (docs/RELIABILITY.md).
 *
 * A flow: create a customer, an order of 50.00, add a card (a random processor) and a
 * check, submit, invoice both lines, return the second line (create, complete, submit,
 * invoice: the refund), and refund 1.00 more on the card (not on Authorize.Net, which
 * captures once per authorization: the return gave all of it back). Every step carries a request_id
 * fixed when the flow starts; a step that ends UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED
 * or ABORTED is retried with the same request_id (on the new server after a restart) until
 * it ends otherwise.
 *
 * Faults, in turn by trial: kill -9 of ccpayd at a random instant then restart; SIGTERM of
 * ccpayd under load then restart; kill -9 of the three adapters mid-call (ccpayd restarts
 * them); the adapters stopped (SIGSTOP) for two seconds; procsim answering the next 2 to 4
 * requests with a timeout, a 5xx, a slow answer or commit-then-drop; the adapters down for
 * two seconds (killed again as soon as ccpayd restarts them).
 *
 * After every trial, with the load stopped:
 *   - every transaction is resolved (none PENDING or UNKNOWN) once the recovery loop ran;
 *   - every acknowledged step, sent again with its request_id, answers OK with the same
 *     record (the write is there, and the retry is idempotent);
 *   - procsim's record of every card payment equals ccpay's (captured, refunded), and,
 *     per processor, the money procsim moved equals ccpay's card clearing account: no lost
 *     charge, no double charge, no refund twice; and every payment procsim authorized is
 *     one ccpay holds (no hold on a card that ccpay lost);
 *   - `ccpay-admin verify` passes on the stopped database.
 * A violation is printed with the trial's seed; the exit status is 1 when any was found.
 *
 * Usage: ccpay-crash-test [--trials N] [--seed S] [--workers W] [--load-ms MS]
 *                         [--faults kill,term,adapter,stop,procsim,down] */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"
#include "ccpay/v1/return.pb-c.h"
#include "order_calls.h"
#include "payment_calls.h"
#include "payments_fixture.h"

enum {
  WORKERS_MAX = 8,
  FLOWS_PER_WORKER_MAX = 64,
  CLIENTS_MAX = 16,
  RETRY_WAIT_MS = 100,
  RETRY_FOR_MS = 45000, /* a step still failing to retry after this is a violation */
  RESOLVE_FOR_MS = 60000,
  TRIALS_PER_FIXTURE = 8, /* procsim's ledger reads hold PROCSIM_PAYMENTS_MAX payments */
  CALL_TIMEOUT_MS = 8000,
  REFUSALS_SHOWN = 3,      /* per trial */
  STEP_PAUSE_MS_MAX = 60,  /* a CSR's pace: between steps */
  FLOW_PAUSE_MS_MAX = 300, /* and between calls */
};

#define RETURNS "/ccpay.v1.ReturnService/"

typedef enum step {
  STEP_CUSTOMER,
  STEP_ORDER,
  STEP_CARD,
  STEP_CHECK,
  STEP_SUBMIT,
  STEP_INVOICE_1,
  STEP_INVOICE_2,
  STEP_RETURN,
  STEP_COMPLETE_RETURN,
  STEP_SUBMIT_RETURN,
  STEP_INVOICE_RETURN,
  STEP_REFUND,
  STEP_COUNT
} step;

static const char *const step_names[STEP_COUNT] = {
    "CreateCustomer", "CreateOrder",  "AddPayment(card)", "AddPayment(check)",
    "SubmitOrder",    "InvoiceOrder", "InvoiceOrder",     "CreateReturn",
    "CompleteReturn", "SubmitReturn", "InvoiceReturn",    "Refund"};

static const char *const processors[] = {"stripe", "adyen", "authorizenet"};
static const char *const approve_tokens[] = {"pm_card_visa", "adyen_stored_card_visa",
                                             "tok_visa_4242"};

/* One flow: its request_ids, fixed at the start, and what the server acknowledged. */
typedef struct flow {
  int processor;
  rid rids[STEP_COUNT];
  bool acked[STEP_COUNT];
  char ids[STEP_COUNT][TEST_ID_BYTES]; /* the record each acknowledged step answered */
  char customer[TEST_ID_BYTES], order[TEST_ID_BYTES], card[TEST_ID_BYTES];
  char return_id[TEST_ID_BYTES];
  step ended_at; /* STEP_COUNT when complete */
} flow;

typedef struct figures {
  long trials, faults, flows, steps_acked, retries, refused, replays, payments_checked, violations;
} figures;

/* The server as the workers reach it: replaced after every restart. */
typedef struct shared {
  pthread_mutex_t lock;
  test_client *client;
  test_client *clients[CLIENTS_MAX]; /* every client of this trial, destroyed at its end */
  size_t client_count;
  atomic_bool stop;
  atomic_long retries, refused, violations;
} shared;

typedef struct worker {
  pthread_t thread;
  shared *s;
  uint64_t rng;
  flow flows[FLOWS_PER_WORKER_MAX];
  size_t flow_count;
} worker;

static figures totals;

/* The processor references of every card payment ccpay holds since the fixture started:
 * each payment procsim holds must be one of them (no authorization ccpay lost). */
static char known_references[PROCSIM_PAYMENTS_MAX][PROCSIM_TEXT_BYTES];
static size_t known_reference_count;

static void sleep_ms(int ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t next_random(uint64_t *state) { /* xorshift64* */
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 2685821657736338717ULL;
}

static test_client *current_client(shared *s) {
  pthread_mutex_lock(&s->lock);
  test_client *c = s->client;
  pthread_mutex_unlock(&s->lock);
  return c;
}

static void use_new_client(shared *s, int port, const char *token) {
  test_client *c = test_client_create(port);
  if (c == NULL) abort();
  test_client_set_token(c, token);
  pthread_mutex_lock(&s->lock);
  if (s->client_count >= CLIENTS_MAX) abort();
  s->clients[s->client_count++] = c;
  s->client = c;
  pthread_mutex_unlock(&s->lock);
}

/* --- The steps ------------------------------------------------------------------------ */

static grpc_status_code call_return(test_client *c, const flow *fl, test_reply *r) {
  Ccpay__V1__ReturnLine line = CCPAY__V1__RETURN_LINE__INIT;
  line.original_line_number = 2;
  line.quantity = 1;
  line.reason_code = "DAMAGED";
  Ccpay__V1__ReturnLine *lines[] = {&line};
  Ccpay__V1__ReturnOrder ro = CCPAY__V1__RETURN_ORDER__INIT;
  ro.customer_id = (char *)fl->customer;
  ro.original_order_id = (char *)fl->order;
  ro.lines = lines;
  ro.n_lines = 1;
  Ccpay__V1__CreateReturnRequest req = CCPAY__V1__CREATE_RETURN_REQUEST__INIT;
  req.return_order = &ro;
  req.request_id = (char *)fl->rids[STEP_RETURN].text;
  return test_client_call(c, RETURNS "CreateReturn", &req.base,
                          &ccpay__v1__return_order__descriptor, CALL_TIMEOUT_MS, r);
}

static grpc_status_code call_return_step(test_client *c, const char *method, const flow *fl,
                                         step st, test_reply *r) {
  Ccpay__V1__CompleteReturnRequest req = CCPAY__V1__COMPLETE_RETURN_REQUEST__INIT;
  _Static_assert(sizeof req == sizeof(Ccpay__V1__SubmitReturnRequest) &&
                     sizeof req == sizeof(Ccpay__V1__InvoiceReturnRequest),
                 "the three requests are return_id and request_id");
  req.return_id = (char *)fl->return_id;
  req.request_id = (char *)fl->rids[st].text;
  char full[96];
  snprintf(full, sizeof full, RETURNS "%s", method);
  return test_client_call(c, full, &req.base, &ccpay__v1__return_order__descriptor, CALL_TIMEOUT_MS,
                          r);
}

/* Sends step st of fl (with its own request_id); fills r. */
static grpc_status_code send_step(test_client *c, const flow *fl, step st, test_reply *r) {
  const char *id = fl->rids[st].text;
  switch (st) {
    case STEP_CUSTOMER:
      return call_create_customer(c, id, "Rosa Park", "USD", 30, r);
    case STEP_ORDER: {
      order_draft *d = malloc(sizeof *d);
      if (d == NULL) abort();
      order_draft_init(d, fl->customer, "USD");
      order_draft_line(d, "SKU-MUG", 2, 1000, 0, 0);
      order_draft_line(d, "SKU-LAMP", 1, 3000, 0, 0);
      grpc_status_code status = call_create_order(c, id, d, r);
      free(d);
      return status;
    }
    case STEP_CARD:
      return call_add_card(c, id, fl->order, processors[fl->processor],
                           approve_tokens[fl->processor], "Rosa Park", "10001", "USD", 4000, r);
    case STEP_CHECK:
      return call_add_check(c, id, fl->order, "1042", "USD", 1000, r);
    case STEP_SUBMIT:
      return call_submit_order(c, id, fl->order, r);
    case STEP_INVOICE_1:
    case STEP_INVOICE_2: {
      ship_spec ship = {st == STEP_INVOICE_1 ? 1 : 2, st == STEP_INVOICE_1 ? 2 : 1};
      return call_invoice_order(c, id, fl->order, &ship, 1, r);
    }
    case STEP_RETURN:
      return call_return(c, fl, r);
    case STEP_COMPLETE_RETURN:
      return call_return_step(c, "CompleteReturn", fl, st, r);
    case STEP_SUBMIT_RETURN:
      return call_return_step(c, "SubmitReturn", fl, st, r);
    case STEP_INVOICE_RETURN:
      return call_return_step(c, "InvoiceReturn", fl, st, r);
    case STEP_REFUND:
      return call_refund(c, id, fl->card, "USD", 100, r);
    default:
      abort();
  }
}

/* The id of the record a step's reply is about. */
static const char *reply_id(step st, const test_reply *r) {
  switch (st) {
    case STEP_CUSTOMER:
      return REPLY_AS(Ccpay__V1__Customer, r)->id;
    case STEP_ORDER:
    case STEP_SUBMIT:
      return REPLY_AS(Ccpay__V1__Order, r)->id;
    case STEP_CARD:
    case STEP_CHECK:
    case STEP_REFUND:
      return REPLY_AS(Ccpay__V1__Payment, r)->id;
    case STEP_INVOICE_1:
    case STEP_INVOICE_2: {
      const Ccpay__V1__InvoiceOrderResponse *ir = REPLY_AS(Ccpay__V1__InvoiceOrderResponse, r);
      return ir->invoice != NULL ? ir->invoice->id : "";
    }
    default:
      return REPLY_AS(Ccpay__V1__ReturnOrder, r)->id;
  }
}

static bool retryable(grpc_status_code s) {
  return s == GRPC_STATUS_UNAVAILABLE || s == GRPC_STATUS_DEADLINE_EXCEEDED ||
         s == GRPC_STATUS_CANCELLED || s == GRPC_STATUS_ABORTED;
}

/* A refusal the workload can meet for a reason of its own (e.g. Authorize.Net takes one
 * capture per authorization, so less is left to refund); anything else is a violation. */
static bool acceptable_refusal(const test_reply *r) {
  return r->status == GRPC_STATUS_FAILED_PRECONDITION;
}

/* Runs one step to an end, retrying with the same request_id. False when the flow stops. */
static bool run_step(shared *s, flow *fl, step st) {
  int64_t start = now_ms();
  for (;;) {
    test_client *c = current_client(s);
    test_reply r;
    send_step(c, fl, st, &r);
    if (r.status == GRPC_STATUS_OK) {
      snprintf(fl->ids[st], sizeof fl->ids[st], "%s", reply_id(st, &r));
      fl->acked[st] = true;
      if (st == STEP_CUSTOMER) snprintf(fl->customer, sizeof fl->customer, "%s", fl->ids[st]);
      if (st == STEP_ORDER) snprintf(fl->order, sizeof fl->order, "%s", fl->ids[st]);
      if (st == STEP_CARD) snprintf(fl->card, sizeof fl->card, "%s", fl->ids[st]);
      if (st == STEP_RETURN) snprintf(fl->return_id, sizeof fl->return_id, "%s", fl->ids[st]);
      test_reply_clear(&r);
      return true;
    }
    if (!retryable(r.status)) {
      if (acceptable_refusal(&r)) {
        if (atomic_fetch_add(&s->refused, 1) < REFUSALS_SHOWN) {
          fprintf(stderr, "refused: %s (%s, %s) answered %s %s: %s\n", step_names[st],
                  fl->rids[st].text, processors[fl->processor], test_status_name(r.status),
                  r.reason, r.details);
        }
      } else {
        atomic_fetch_add(&s->violations, 1);
        fprintf(stderr, "VIOLATION: %s (%s) answered %s %s: %s\n", step_names[st],
                fl->rids[st].text, test_status_name(r.status), r.reason, r.details);
      }
      test_reply_clear(&r);
      return false;
    }
    test_reply_clear(&r);
    if (now_ms() - start > RETRY_FOR_MS) {
      atomic_fetch_add(&s->violations, 1);
      fprintf(stderr, "VIOLATION: %s (%s) still not done after %d ms of retries\n", step_names[st],
              fl->rids[st].text, RETRY_FOR_MS);
      return false;
    }
    atomic_fetch_add(&s->retries, 1);
    sleep_ms(RETRY_WAIT_MS);
  }
}

static void *worker_main(void *argument) {
  worker *w = argument;
  while (!atomic_load(&w->s->stop) && w->flow_count < FLOWS_PER_WORKER_MAX) {
    flow *fl = &w->flows[w->flow_count++];
    memset(fl, 0, sizeof *fl);
    fl->processor = (int)(next_random(&w->rng) % 3);
    for (int st = 0; st < STEP_COUNT; st++) fl->rids[st] = next_rid(step_names[st]);
    fl->ended_at = STEP_COUNT;
    for (int st = 0; st < STEP_COUNT; st++) {
      /* Authorize.Net captures once per authorization: the return refunded all of it. */
      if (st == STEP_REFUND && strcmp(processors[fl->processor], "authorizenet") == 0) break;
      if (!run_step(w->s, fl, (step)st)) {
        fl->ended_at = (step)st;
        break;
      }
      sleep_ms((int)(next_random(&w->rng) % STEP_PAUSE_MS_MAX));
    }
    sleep_ms(100 + (int)(next_random(&w->rng) % FLOW_PAUSE_MS_MAX));
  }
  return NULL;
}

/* --- Faults ------------------------------------------------------------------------------ */

typedef enum fault {
  FAULT_KILL,    /* kill -9 ccpayd, restart */
  FAULT_TERM,    /* SIGTERM ccpayd under load, restart */
  FAULT_ADAPTER, /* kill -9 of the adapters; ccpayd restarts them */
  FAULT_STOP,    /* the adapters stopped for a while */
  FAULT_PROCSIM, /* procsim: timeouts, 5xx, slow answers, commit-then-drop */
  FAULT_DOWN,    /* the adapters killed again as soon as they are back, for a while */
  FAULT_COUNT
} fault;

static const char *const fault_names[FAULT_COUNT] = {"kill", "term",    "adapter",
                                                     "stop", "procsim", "down"};

static bool restart(payments_fixture *f, shared *s) {
  if (!payments_fixture_restart(f)) return false;
  use_new_client(s, f->server.port, f->server.admin_token);
  return true;
}

/* The pid of processor's adapter when it is a live child of this fixture's ccpayd (a pid
 * from the log may be stale, and reused by anything); 0 otherwise. Only such pids are
 * ever signalled. */
static int own_adapter_pid(const payments_fixture *f, const char *processor) {
  int pid = payments_fixture_adapter_pid(f, processor);
  if (pid <= 0) return 0;
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *in = fopen(path, "r");
  if (in == NULL) return 0;
  size_t n = fread(text, 1, sizeof text - 1, in);
  fclose(in);
  text[n] = '\0';
  /* "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'. */
  const char *after = strrchr(text, ')');
  char state = 0;
  int ppid = 0;
  if (after == NULL || sscanf(after + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid == f->server.pid && state != 'Z' ? pid : 0;
}

/* Kills every adapter of f that is up, for duration_ms: each is killed again as soon as
 * ccpayd has restarted it (its back-off grows meanwhile). The kill count. */
static int keep_adapters_down(const payments_fixture *f, int duration_ms) {
  enum { DOWN_POLL_MS = 20 };
  int kills = 0;
  for (int waited = 0; waited < duration_ms; waited += DOWN_POLL_MS) {
    for (int p = 0; p < 3; p++) {
      int pid = own_adapter_pid(f, processors[p]);
      if (pid > 0 && kill(pid, SIGKILL) == 0) kills++;
    }
    sleep_ms(DOWN_POLL_MS);
  }
  return kills;
}

/* Injects fault; false when the harness itself failed (not a finding about ccpay). */
static bool inject(payments_fixture *f, shared *s, fault which, uint64_t *rng, char *what,
                   size_t size) {
  switch (which) {
    case FAULT_KILL:
      snprintf(what, size, "kill -9 ccpayd pid %d", (int)f->server.pid);
      ccpayd_kill(&f->server);
      return restart(f, s);
    case FAULT_TERM: {
      int status = ccpayd_stop(&f->server, CCPAYD_STOP_TIMEOUT_MS);
      snprintf(what, size, "SIGTERM ccpayd: exit %d", status);
      if (status != 0) {
        atomic_fetch_add(&s->violations, 1);
        fprintf(stderr, "VIOLATION: ccpayd did not stop cleanly under load (exit %d)\n", status);
      }
      return restart(f, s);
    }
    case FAULT_ADAPTER:
    case FAULT_STOP: {
      /* Every adapter at once, so that the fault meets calls in flight whatever the
       * workers are doing. */
      int pids[3];
      for (int p = 0; p < 3; p++) {
        pids[p] = own_adapter_pid(f, processors[p]);
        if (pids[p] <= 0) return false;
      }
      int sig = which == FAULT_ADAPTER ? SIGKILL : SIGSTOP;
      for (int p = 0; p < 3; p++) {
        if (kill(pids[p], sig) != 0 && errno != ESRCH) return false;
      }
      snprintf(what, size, "%s adapters %d %d %d",
               which == FAULT_ADAPTER ? "kill -9" : "SIGSTOP 2 s", pids[0], pids[1], pids[2]);
      if (which == FAULT_ADAPTER) return true;
      sleep_ms(2000);
      for (int p = 0; p < 3; p++) {
        if (kill(pids[p], SIGCONT) != 0 && errno != ESRCH) return false;
      }
      return true;
    }
    case FAULT_DOWN: {
      int kills = keep_adapters_down(f, 2000);
      snprintf(what, size, "adapters down 2 s, %d kills", kills);
      return kills > 0;
    }
    default: {
      static const char *const kinds[] = {"timeout", "5xx", "slow", "drop_after_commit"};
      const char *kind = kinds[next_random(rng) % 4];
      int count = 2 + (int)(next_random(rng) % 3);
      snprintf(what, size, "procsim %s x%d", kind, count);
      return procsim_inject(&f->control, "any", "", kind, count);
    }
  }
}

/* --- Checks --------------------------------------------------------------------------- */

/* Prints a violation; 1, to be added to a count. */
#define VIOLATION(...) (fprintf(stderr, "VIOLATION: " __VA_ARGS__), fprintf(stderr, "\n"), 1L)

/* Waits until no transaction is open; the count left open at the end. */
static size_t wait_resolved(test_client *c) {
  int64_t start = now_ms();
  for (;;) {
    test_reply r;
    call_list_open_transactions(c, &r);
    size_t open = r.status == GRPC_STATUS_OK
                      ? REPLY_AS(Ccpay__V1__ListTransactionsResponse, &r)->n_transactions
                      : 1;
    test_reply_clear(&r);
    if (open == 0 || now_ms() - start > RESOLVE_FOR_MS) return open;
    sleep_ms(250);
  }
}

/* Sends every acknowledged step again: OK, the same record. */
static long check_replays(test_client *c, worker *workers, int n, long *replays) {
  long found = 0;
  for (int w = 0; w < n; w++) {
    for (size_t i = 0; i < workers[w].flow_count; i++) {
      flow *fl = &workers[w].flows[i];
      for (int st = 0; st < STEP_COUNT; st++) {
        if (!fl->acked[st]) continue;
        test_reply r;
        send_step(c, fl, (step)st, &r);
        (*replays)++;
        if (r.status != GRPC_STATUS_OK) {
          found += VIOLATION("acknowledged %s (%s) now answers an error", step_names[st],
                             fl->rids[st].text);
          fprintf(stderr, "  %s %s %s\n", test_status_name(r.status), r.reason, r.details);
        } else if (strcmp(reply_id((step)st, &r), fl->ids[st]) != 0) {
          found += VIOLATION("acknowledged %s (%s) now answers another record", step_names[st],
                             fl->rids[st].text);
        }
        test_reply_clear(&r);
      }
    }
  }
  return found;
}

/* Every card payment of the trial: procsim's record equals ccpay's. */
static long check_payments(payments_fixture *f, worker *workers, int n, long *checked) {
  long found = 0;
  for (int w = 0; w < n; w++) {
    for (size_t i = 0; i < workers[w].flow_count; i++) {
      flow *fl = &workers[w].flows[i];
      if (!fl->acked[STEP_CARD]) continue;
      test_reply r;
      call_get_payment(f->client, fl->card, &r);
      if (r.status != GRPC_STATUS_OK) {
        found += VIOLATION("card payment %s of order %s is gone", fl->card, fl->order);
        test_reply_clear(&r);
        continue;
      }
      const Ccpay__V1__Payment *p = REPLY_AS(Ccpay__V1__Payment, &r);
      char why[512];
      if (p->processor_reference[0] != '\0' &&
          !payments_fixture_procsim_matches(f, p, why, sizeof why)) {
        found += VIOLATION("%s (%s)", why, processors[fl->processor]);
      }
      (*checked)++;
      if (p->processor_reference[0] != '\0' && known_reference_count < PROCSIM_PAYMENTS_MAX) {
        snprintf(known_references[known_reference_count++], PROCSIM_TEXT_BYTES, "%s",
                 p->processor_reference);
      }
      test_reply_clear(&r);
    }
  }
  return found;
}

/* Per processor: what procsim moved (captured − refunded) equals ccpay's card clearing. */
static long check_money(payments_fixture *f) {
  procsim_ledger *ledger = malloc(sizeof *ledger);
  if (ledger == NULL || !procsim_read_ledger(&f->control, ledger)) abort();
  if (ledger->count >= PROCSIM_PAYMENTS_MAX) {
    fprintf(stderr,
            "procsim holds more payments than its ledger read keeps (%d): use fewer "
            "--workers or a shorter --load-ms\n",
            PROCSIM_PAYMENTS_MAX);
    exit(2);
  }
  test_reply r;
  call_get_trial_balance(f->client, &r);
  if (r.status != GRPC_STATUS_OK) abort();
  const Ccpay__V1__TrialBalance *tb = REPLY_AS(Ccpay__V1__TrialBalance, &r);
  long found = 0;
  for (size_t p = 0; p < 3; p++) {
    int64_t moved = 0, clearing = 0;
    for (size_t i = 0; i < ledger->count; i++) {
      if (strcmp(ledger->payments[i].processor, processors[p]) == 0) {
        moved += ledger->payments[i].captured - ledger->payments[i].refunded;
      }
    }
    char account[64];
    snprintf(account, sizeof account, "card_clearing:%s", processors[p]);
    for (size_t i = 0; i < tb->n_accounts; i++) {
      if (strcmp(tb->accounts[i]->account, account) == 0) {
        clearing = tb->accounts[i]->balance->amount_minor;
      }
    }
    if (moved != clearing) {
      found += VIOLATION("%s: procsim moved %lld, ccpay's card clearing holds %lld", processors[p],
                         (long long)moved, (long long)clearing);
    }
  }
  /* Every payment procsim authorized is one ccpay knows: no hold on a card ccpay lost. */
  for (size_t i = 0; i < ledger->count; i++) {
    const procsim_payment *sim = &ledger->payments[i];
    if (sim->authorized == 0) continue;
    bool known = false;
    for (size_t k = 0; k < known_reference_count && !known; k++) {
      known = strcmp(known_references[k], sim->reference) == 0;
    }
    if (!known) {
      found += VIOLATION(
          "procsim holds %s payment %s (authorized %lld, status %s) that no ccpay "
          "payment names",
          sim->processor, sim->reference, (long long)sim->authorized, sim->status);
    }
  }
  test_reply_clear(&r);
  free(ledger);
  return found;
}

/* --- A trial ----------------------------------------------------------------------------- */

typedef struct options {
  long trials;
  uint64_t seed;
  int workers;
  int load_ms;
  bool faults[FAULT_COUNT];
} options;

static bool run_trial(payments_fixture *f, const options *o, long number, uint64_t seed,
                      fault which) {
  int64_t start = now_ms();
  uint64_t rng = seed;
  static worker workers[WORKERS_MAX];
  shared s = {.lock = PTHREAD_MUTEX_INITIALIZER};
  use_new_client(&s, f->server.port, f->server.admin_token);
  for (int w = 0; w < o->workers; w++) {
    memset(&workers[w], 0, sizeof workers[w]);
    workers[w].s = &s;
    workers[w].rng = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(w + 1));
    if (pthread_create(&workers[w].thread, NULL, worker_main, &workers[w]) != 0) abort();
  }
  int at_ms = 200 + (int)(next_random(&rng) % (uint64_t)(o->load_ms - 200));
  sleep_ms(at_ms);
  char what[160] = "";
  bool harness_ok = inject(f, &s, which, &rng, what, sizeof what);
  sleep_ms(o->load_ms > at_ms ? o->load_ms - at_ms : 0);
  atomic_store(&s.stop, true);
  for (int w = 0; w < o->workers; w++) pthread_join(workers[w].thread, NULL);
  procsim_clear_faults(&f->control);

  long found = atomic_load(&s.violations);
  size_t open = wait_resolved(f->client);
  if (open > 0) {
    found += VIOLATION("%zu transactions still open after %d ms", open, RESOLVE_FOR_MS);
  }
  long replays = 0, checked = 0;
  found += check_replays(f->client, workers, o->workers, &replays);
  found += check_payments(f, workers, o->workers, &checked);
  found += check_money(f);
  for (size_t i = 0; i < s.client_count; i++) test_client_destroy(s.clients[i]);
  char why[1024];
  if (!payments_fixture_verify(f, why, sizeof why)) found += VIOLATION("%s", why);
  if (!payments_fixture_restart(f)) harness_ok = false;

  long flows = 0, acked = 0, complete = 0;
  for (int w = 0; w < o->workers; w++) {
    flows += (long)workers[w].flow_count;
    for (size_t i = 0; i < workers[w].flow_count; i++) {
      complete += workers[w].flows[i].ended_at == STEP_COUNT;
      for (int st = 0; st < STEP_COUNT; st++) acked += workers[w].flows[i].acked[st];
    }
  }
  printf(
      "trial %3ld seed=%016llx fault=%-7s at %4d ms (%s): flows=%ld complete=%ld acked=%ld "
      "retries=%ld refused=%ld replays=%ld payments=%ld violations=%ld (%.1f s)\n",
      number, (unsigned long long)seed, fault_names[which], at_ms, what, flows, complete, acked,
      atomic_load(&s.retries), atomic_load(&s.refused), replays, checked, found,
      (double)(now_ms() - start) / 1000.0);
  fflush(stdout);
  totals.trials++;
  totals.faults++;
  totals.flows += flows;
  totals.steps_acked += acked;
  totals.retries += atomic_load(&s.retries);
  totals.refused += atomic_load(&s.refused);
  totals.replays += replays;
  totals.payments_checked += checked;
  totals.violations += found;
  return harness_ok;
}

static bool parse_faults(const char *text, bool *out) {
  memset(out, 0, sizeof(bool) * FAULT_COUNT);
  char copy[128];
  snprintf(copy, sizeof copy, "%s", text);
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t != NULL;
       t = strtok_r(NULL, ",", &save)) {
    bool known = false;
    for (int i = 0; i < FAULT_COUNT; i++) {
      if (strcmp(t, fault_names[i]) == 0) out[i] = known = true;
    }
    if (!known) return false;
  }
  return true;
}

int main(int argc, char **argv) {
  options o = {.trials = 10, .seed = (uint64_t)time(NULL), .workers = 3, .load_ms = 2500};
  for (int i = 0; i < FAULT_COUNT; i++) o.faults[i] = true;
  static const struct option long_options[] = {
      {"trials", required_argument, NULL, 't'},  {"seed", required_argument, NULL, 's'},
      {"workers", required_argument, NULL, 'w'}, {"load-ms", required_argument, NULL, 'l'},
      {"faults", required_argument, NULL, 'f'},  {NULL, 0, NULL, 0}};
  int code;
  while ((code = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    char *end = NULL;
    switch (code) {
      case 't':
        o.trials = strtol(optarg, &end, 10);
        break;
      case 's':
        o.seed = strtoull(optarg, &end, 0);
        break;
      case 'w':
        o.workers = (int)strtol(optarg, &end, 10);
        break;
      case 'l':
        o.load_ms = (int)strtol(optarg, &end, 10);
        break;
      case 'f':
        if (!parse_faults(optarg, o.faults)) {
          fprintf(stderr, "--faults: a list of kill,term,adapter,stop,procsim,down\n");
          return 2;
        }
        end = optarg + strlen(optarg);
        break;
      default:
        fprintf(stderr,
                "usage: %s [--trials N] [--seed S] [--workers W] [--load-ms MS] "
                "[--faults kill,term,adapter,stop,procsim,down]\n",
                argv[0]);
        return 2;
    }
    if (end == NULL || *end != '\0') {
      fprintf(stderr, "%s: not a number\n", optarg);
      return 2;
    }
  }
  if (o.trials < 1 || o.trials > 100000 || o.workers < 1 || o.workers > WORKERS_MAX ||
      o.load_ms < 500 || o.load_ms > 60000) {
    fprintf(stderr, "trials 1..100000, workers 1..%d, load-ms 500..60000\n", WORKERS_MAX);
    return 2;
  }
  printf("ccpay-crash-test: %ld trials, seed %llu, %d workers, %d ms of load each\n", o.trials,
         (unsigned long long)o.seed, o.workers, o.load_ms);
  fflush(stdout);
  int64_t start = now_ms();
  uint64_t rng = o.seed | 1;
  void *state = NULL;
  bool harness_ok = true;
  int next_fault = 0;
  for (long t = 1; t <= o.trials && harness_ok; t++) {
    if (state == NULL) {
      payments_fixture_options fixture = {.adapter_timeout_ms = 3000};
      known_reference_count = 0;
      if (payments_fixture_setup_with(&state, &fixture) != 0) {
        fprintf(stderr, "the fixture did not start\n");
        return 2;
      }
    }
    while (!o.faults[next_fault % FAULT_COUNT]) next_fault++;
    fault which = (fault)(next_fault++ % FAULT_COUNT);
    harness_ok = run_trial(state, &o, t, next_random(&rng), which);
    if (t % TRIALS_PER_FIXTURE == 0 || t == o.trials || !harness_ok) {
      payments_fixture *f = state;
      f->passed = totals.violations == 0 && harness_ok;
      if (payments_fixture_teardown(&state) != 0) {
        fprintf(stderr, "the fixture did not end cleanly\n");
        harness_ok = false;
      }
      state = NULL;
    }
  }
  printf(
      "ccpay-crash-test: %ld trials, %ld faults injected, %ld flows, %ld steps acknowledged, "
      "%ld retries, %ld refused, %ld replays, %ld card payments checked against procsim, "
      "%ld violations (%.0f s)\n",
      totals.trials, totals.faults, totals.flows, totals.steps_acked, totals.retries,
      totals.refused, totals.replays, totals.payments_checked, totals.violations,
      (double)(now_ms() - start) / 1000.0);
  if (!harness_ok) {
    fprintf(stderr, "ccpay-crash-test: the harness failed (see above)\n");
    return 2;
  }
  return totals.violations == 0 ? 0 : 1;
}
