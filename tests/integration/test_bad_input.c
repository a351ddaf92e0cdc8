/* The bad-input table: every method of the server's own method table gets a long list of
 * malformed requests — bytes that do not decode, wrong wire types, truncated fields,
 * oversized messages, deadlines already past, empty requests, and, field by field
 * (walked from the request's protobuf-c descriptor, one level into nested messages):
 * empty and oversized strings, invalid UTF-8, card numbers in text, negative and
 * overflowing numbers, unknown enum values, unknown currencies and amounts, unknown ids and
 * ids of the wrong kind. Each must end with the right status and a ccpay reason that
 * agrees with grpc-status-details-bin; the server must stay up (health after every
 * method); and nothing may change: the ledger's last sequence and the record count of
 * every LMDB database (read by `mdb_stat`, an independent reader) are the same before and
 * after, but for the audit trail, which records refused calls by design.
 *
 * Then a precise table: valid requests with one thing wrong (an invalid name, a card
 * number in text, an unknown currency, a reused request_id, a negative quantity, an
 * overflowing line, an id of the wrong kind, an unknown customer or payment, ...), each
 * with its exact status, reason and the field its message names.
 *
 * A method the table below does not know fails the test: add its row when adding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the headers above first.
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "ccpay/v1/common.pb-c.h"
#include "ccpay/v1/customer.pb-c.h"
#include "ccpay/v1/ledger.pb-c.h"
#include "ccpay/v1/order.pb-c.h"
#include "ccpay/v1/stored_value.pb-c.h"
#include "ccpayd_fixture.h"
#include "grpc/health/v1/health.pb-c.h"
#include "order_calls.h"
#include "payment_calls.h"
#include "services/services.h"
#include "test_client.h"

#define HEALTH_CHECK "/grpc.health.v1.Health/Check"

enum {
  CASE_ALLOCS_MAX = 64,
  DBS_MAX = 64,
  DB_NAME_BYTES = 64,
  OVERSIZED_STRING_BYTES = 70000, /* over every string limit, under the message limit */
  STREAM_WAIT_MS = 5000,
  NESTED_DEPTH_MAX = 2,
};

/* --- What each method may answer ------------------------------------------------------ */

/* How a method answers an empty request: OK (reads with nothing required) or an error. */
typedef struct method_row {
  const char *method; /* "CustomerService/GetCustomer" */
  grpc_status_code empty_status;
  const char *empty_reason; /* NULL when empty_status is OK */
  const char *id_prefix;    /* the kind of the request's `id` field; NULL when none */
} method_row;

#define INVALID GRPC_STATUS_INVALID_ARGUMENT
#define OK_ GRPC_STATUS_OK
#define REQ "FIELD_REQUIRED"

static const method_row rows[] = {
    {"AdminService/GetParameters", OK_, NULL, NULL},
    {"AdminService/UpdateParameters", INVALID, REQ, NULL},
    {"AdminService/SetOverrideCode", INVALID, REQ, NULL},
    {"AdminService/CreateToken", INVALID, REQ, NULL},
    {"AdminService/RevokeToken", INVALID, REQ, "tok"},
    {"AdminService/ListTokens", OK_, NULL, NULL},
    {"AdminService/StreamAudit", OK_, NULL, NULL},
    {"BalanceReviewService/ListOutOfBalanceOrders", OK_, NULL, NULL},
    {"BalanceReviewService/ReleaseOrder", INVALID, REQ, NULL},
    {"BalanceReviewService/CancelOrder", INVALID, REQ, NULL},
    {"BalanceReviewService/ListRefundChecks", OK_, NULL, NULL},
    {"BalanceReviewService/ApproveRefundCheck", INVALID, REQ, "rck"},
    {"BalanceReviewService/PostRefundCheck", INVALID, REQ, "rck"},
    {"BalanceReviewService/VoidRefundCheck", INVALID, REQ, "rck"},
    {"CustomerService/CreateCustomer", INVALID, REQ, NULL},
    {"CustomerService/GetCustomer", INVALID, REQ, "cus"},
    {"CustomerService/UpdateCustomer", INVALID, REQ, NULL},
    {"CustomerService/SearchCustomers", OK_, NULL, NULL},
    {"LedgerService/ListEntries", OK_, NULL, NULL},
    {"LedgerService/StreamEntries", OK_, NULL, NULL},
    {"LedgerService/GetTrialBalance", OK_, NULL, NULL},
    {"LedgerService/GetAccount", INVALID, REQ, NULL},
    {"OrderService/CreateOrder", INVALID, REQ, NULL},
    {"OrderService/GetOrder", INVALID, REQ, "ord"},
    {"OrderService/ListOrders", OK_, NULL, NULL},
    {"OrderService/UpdateOrderLines", INVALID, REQ, NULL},
    {"OrderService/CalculateOrder", INVALID, REQ, NULL},
    {"OrderService/HoldOrder", INVALID, REQ, NULL},
    {"OrderService/ReleaseHold", INVALID, REQ, NULL},
    {"OrderService/SubmitOrder", INVALID, REQ, NULL},
    {"OrderService/InvoiceOrder", INVALID, REQ, NULL},
    {"OrderService/GetInvoice", INVALID, REQ, "inv"},
    {"OrderService/CancelOrder", INVALID, REQ, NULL},
    {"OrderService/CancelLines", INVALID, REQ, NULL},
    {"OrderService/AddPayment", INVALID, REQ, NULL},
    {"OrderService/RefundExcessFunds", INVALID, REQ, NULL},
    {"PaymentService/GetPayment", INVALID, REQ, "pay"},
    {"PaymentService/ListPayments", INVALID, REQ, NULL},
    {"PaymentService/ListTransactions", INVALID, REQ, NULL},
    {"PaymentService/Authorize", INVALID, REQ, NULL},
    {"PaymentService/Capture", INVALID, REQ, NULL},
    {"PaymentService/Void", INVALID, REQ, NULL},
    {"PaymentService/Refund", INVALID, REQ, NULL},
    {"PaymentService/SyncTransaction", INVALID, REQ, NULL},
    {"ReturnService/CreateReturn", INVALID, REQ, NULL},
    {"ReturnService/GetReturn", INVALID, REQ, "rma"},
    {"ReturnService/ListReturns", OK_, NULL, NULL},
    {"ReturnService/CompleteReturn", INVALID, REQ, NULL},
    {"ReturnService/SubmitReturn", INVALID, REQ, NULL},
    {"ReturnService/InvoiceReturn", INVALID, REQ, NULL},
    {"ReturnService/CancelReturn", INVALID, REQ, NULL},
    {"ReturnService/OverrideRefundPayment", INVALID, REQ, NULL},
    {"ReturnService/CreateReplacementOrder", INVALID, REQ, NULL},
    {"ReturnService/GetRefundCheck", INVALID, REQ, "rck"},
    {"StoredValueService/IssueValue", INVALID, REQ, NULL},
    {"StoredValueService/GetBalance", INVALID, REQ, NULL},
};

static const method_row *row_of(const char *name) {
  const char *prefix = "/ccpay.v1.";
  if (strncmp(name, prefix, strlen(prefix)) != 0) return NULL;
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    if (strcmp(rows[i].method, name + strlen(prefix)) == 0) return &rows[i];
  }
  return NULL;
}

/* The id kind an `*_id` field names, from its name; NULL when it names none we know. */
static const char *prefix_of_field(const method_row *row, const char *field) {
  static const struct {
    const char *suffix, *prefix;
  } kinds[] = {{"customer_id", "cus"},     {"order_id", "ord"},  {"payment_id", "pay"},
               {"transaction_id", "txn"},  {"return_id", "rma"}, {"invoice_id", "inv"},
               {"refund_check_id", "rck"}, {"token_id", "tok"}};
  if (strcmp(field, "id") == 0) return row->id_prefix;
  size_t len = strlen(field);
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    size_t slen = strlen(kinds[i].suffix);
    if (len >= slen && strcmp(field + len - slen, kinds[i].suffix) == 0) return kinds[i].prefix;
  }
  return NULL;
}

/* --- Figures --------------------------------------------------------------------------- */

typedef struct figures {
  int methods, cases, violations;
  int by_status[17];
} figures;

static figures totals;

/* --- Independent record: LMDB's own reader ---------------------------------------------- */

typedef struct db_counts {
  char names[DBS_MAX][DB_NAME_BYTES];
  long long entries[DBS_MAX];
  size_t count;
} db_counts;

/* Every named database's entry count, by `mdb_stat -a` on the live environment. */
static void read_counts(const char *data_dir, db_counts *out) {
  char command[PATH_MAX + 64];
  snprintf(command, sizeof command, "mdb_stat -a '%s' 2>&1", data_dir);
  FILE *in = popen(command, "r");
  assert_non_null(in);
  memset(out, 0, sizeof *out);
  char line[512];
  while (fgets(line, sizeof line, in) != NULL) {
    if (strncmp(line, "Status of ", 10) == 0) {
      assert_true(out->count < DBS_MAX);
      line[strcspn(line, "\n")] = '\0';
      size_t len = strlen(line + 10);
      assert_true(len < DB_NAME_BYTES);
      memcpy(out->names[out->count], line + 10, len + 1);
      out->count++;
    } else if (out->count > 0 && strstr(line, "Entries: ") != NULL) {
      out->entries[out->count - 1] = atoll(strstr(line, "Entries: ") + 9);
    }
  }
  assert_int_equal(pclose(in), 0);
  assert_true(out->count > 10);
}

static int64_t last_sequence(test_client *c) {
  test_reply r;
  int64_t after = 0;
  for (;;) {
    call_list_entries(c, after, PAGE_SIZE_MAX, &r);
    assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
    const Ccpay__V1__ListEntriesResponse *page = REPLY_AS(Ccpay__V1__ListEntriesResponse, &r);
    size_t n = page->n_entries;
    if (n > 0) after = page->entries[n - 1]->sequence;
    test_reply_clear(&r);
    if (n < PAGE_SIZE_MAX) return after;
  }
}

/* The databases whose counts may change on a refused call: the audit trail records it. */
static bool may_change(const char *db) { return strcmp(db, "audit") == 0; }

static int compare_counts(const db_counts *before, const db_counts *after) {
  int differences = 0;
  assert_int_equal(before->count, after->count);
  for (size_t i = 0; i < before->count; i++) {
    assert_string_equal(before->names[i], after->names[i]);
    if (before->entries[i] != after->entries[i] && !may_change(before->names[i])) {
      fprintf(stderr, "VIOLATION: database %s had %lld records, now %lld\n", before->names[i],
              before->entries[i], after->entries[i]);
      differences++;
    }
  }
  return differences;
}

/* --- Building requests from descriptors -------------------------------------------------- */

/* The memory of one case's request, freed together. */
typedef struct case_memory {
  void *blocks[CASE_ALLOCS_MAX];
  size_t count;
} case_memory;

static void *case_alloc(case_memory *m, size_t size) {
  assert_true(m->count < CASE_ALLOCS_MAX);
  void *p = calloc(1, size == 0 ? 1 : size);
  assert_non_null(p);
  m->blocks[m->count++] = p;
  return p;
}

static void case_free(case_memory *m) {
  for (size_t i = 0; i < m->count; i++) free(m->blocks[i]);
  m->count = 0;
}

static ProtobufCMessage *new_message(case_memory *m, const ProtobufCMessageDescriptor *d) {
  ProtobufCMessage *msg = case_alloc(m, d->sizeof_message);
  d->message_init(msg);
  return msg;
}

static void *field_at(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  return (char *)msg + f->offset;
}

static void mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
      f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
    *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
  }
}

static void set_string(case_memory *m, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                       const char *text, size_t len) {
  char *copy = case_alloc(m, len + 1);
  memcpy(copy, text, len);
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    char ***items = field_at(msg, f);
    char **one = case_alloc(m, sizeof *one);
    one[0] = copy;
    *items = one;
    *(size_t *)((char *)msg + f->quantifier_offset) = 1;
  } else {
    *(char **)field_at(msg, f) = copy;
  }
}

static bool set_integer(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, int64_t v) {
  if (f->label == PROTOBUF_C_LABEL_REPEATED) return false;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      *(int32_t *)field_at(msg, f) = (int32_t)v;
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      *(uint32_t *)field_at(msg, f) = (uint32_t)v;
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      *(int64_t *)field_at(msg, f) = v;
      break;
    default:
      return false;
  }
  mark_present(msg, f);
  return true;
}

static bool is_integer(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return f->label != PROTOBUF_C_LABEL_REPEATED;
    default:
      return false;
  }
}

/* --- One case ----------------------------------------------------------------------------- */

typedef struct bad_env {
  ccpayd_fixture *f;
  const method_row *row;
  const rpc_method *method;
  /* Real records, for ids of the wrong kind. */
  char customer_id[TEST_ID_BYTES];
  char order_id[TEST_ID_BYTES];
  rid customer_rid; /* the request_id that created customer_id */
} bad_env;

static void count_status(grpc_status_code s) {
  totals.cases++;
  if ((int)s >= 0 && (int)s < 17) totals.by_status[s]++;
}

static void violation(const bad_env *e, const char *what, const test_reply *r) {
  totals.violations++;
  fprintf(stderr, "VIOLATION: %s %s: %s (%s) \"%s\"\n", e->method->name, what,
          test_status_name(r->status), r->reason, r->details);
}

/* protobuf-c packs strings up to their first NUL, so a NUL inside a string is sent as this
 * marker and patched into a NUL in the packed bytes. */
#define NUL_MARKER "\x7f\x7e\x7d"

/* Sends msg (packed, NUL markers patched) to the method: unary, or a stream drained to its
 * end (streams get the marker as it is). */
static grpc_status_code send_message(bad_env *e, const ProtobufCMessage *msg, test_reply *r) {
  const rpc_method *m = e->method;
  if (m->kind == RPC_SERVER_STREAMING) {
    test_stream *s = test_stream_start(e->f->client, m->name, msg, m->reply_descriptor, 0);
    assert_non_null(s);
    return test_stream_finish(s, STREAM_WAIT_MS, r);
  }
  size_t len = protobuf_c_message_get_packed_size(msg);
  uint8_t *bytes = malloc(len == 0 ? 1 : len);
  assert_non_null(bytes);
  protobuf_c_message_pack(msg, bytes);
  size_t marker = strlen(NUL_MARKER);
  for (size_t i = 0; i + marker <= len; i++) {
    if (memcmp(bytes + i, NUL_MARKER, marker) == 0) bytes[i] = 0;
  }
  test_client_call_raw(e->f->client, m->name, bytes, len, m->reply_descriptor, 0, r);
  free(bytes);
  return r->status;
}

/* A refused input: an error a client can act on, with a ccpay reason whose rich status
 * agrees; never OK, never INTERNAL or UNKNOWN. */
static void expect_refused(bad_env *e, const char *what, test_reply *r) {
  count_status(r->status);
  bool acceptable = r->status == GRPC_STATUS_INVALID_ARGUMENT ||
                    r->status == GRPC_STATUS_NOT_FOUND ||
                    r->status == GRPC_STATUS_FAILED_PRECONDITION;
  char why[2048];
  if (!acceptable || r->reason[0] == '\0' ||
      !test_reply_check(r, r->status, r->reason, NULL, why, sizeof why)) {
    violation(e, what, r);
  }
  test_reply_clear(r);
}

/* A mutation that may be accepted by a read (a filter value that matches nothing, a
 * sequence past the end): OK with a reply, or refused as above. Writes never. */
static void expect_refused_or_empty_read(bad_env *e, const char *what, test_reply *r) {
  bool read = e->method->permission != NULL && strstr(e->method->permission, ".read") != NULL;
  if (r->status == GRPC_STATUS_OK && read) {
    count_status(r->status);
    test_reply_clear(r);
    return;
  }
  expect_refused(e, what, r);
}

static void expect_exact(bad_env *e, const char *what, test_reply *r, grpc_status_code status,
                         const char *reason) {
  count_status(r->status);
  char why[2048];
  bool ok = r->status == status;
  if (ok && status != GRPC_STATUS_OK)
    ok = test_reply_check(r, status, reason, NULL, why, sizeof why);
  if (!ok) violation(e, what, r);
  test_reply_clear(r);
}

/* Raw bytes, unary methods only (streams are covered by the message cases). */
static void raw_case(bad_env *e, const char *what, const uint8_t *bytes, size_t len,
                     grpc_status_code status, const char *reason) {
  if (e->method->kind == RPC_SERVER_STREAMING) return;
  test_reply r;
  test_client_call_raw(e->f->client, e->method->name, bytes, len, e->method->reply_descriptor, 0,
                       &r);
  expect_exact(e, what, &r, status, reason);
}

static void wire_cases(bad_env *e) {
  static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t truncated_length[] = {0x0a, 0x40, 'a', 'b'};
  static const uint8_t truncated_varint[] = {0x08, 0xff, 0xff};
  static const uint8_t group_tag[] = {0x0b, 0x0c};     /* start and end group, wire types 3, 4 */
  static const uint8_t field_zero[] = {0x00, 0x01};    /* field number 0 */
  static const uint8_t bad_wire_type[] = {0x0e, 0x01}; /* wire type 6 */
  raw_case(e, "garbage bytes", garbage, sizeof garbage, INVALID, "MALFORMED_REQUEST");
  raw_case(e, "truncated length", truncated_length, sizeof truncated_length, INVALID,
           "MALFORMED_REQUEST");
  raw_case(e, "truncated varint", truncated_varint, sizeof truncated_varint, INVALID,
           "MALFORMED_REQUEST");
  raw_case(e, "group wire types", group_tag, sizeof group_tag, INVALID, "MALFORMED_REQUEST");
  raw_case(e, "field number zero", field_zero, sizeof field_zero, INVALID, "MALFORMED_REQUEST");
  raw_case(e, "wire type 6", bad_wire_type, sizeof bad_wire_type, INVALID, "MALFORMED_REQUEST");

  /* Field 1 with every wire type it does not have (each request's field 1 is a string or a
   * message, or a number: one of the two is wrong). */
  const ProtobufCFieldDescriptor *f1 =
      protobuf_c_message_descriptor_get_field(e->method->request_descriptor, 1);
  if (f1 != NULL) {
    bool length_delimited = f1->type == PROTOBUF_C_TYPE_STRING ||
                            f1->type == PROTOBUF_C_TYPE_MESSAGE ||
                            f1->type == PROTOBUF_C_TYPE_BYTES;
    static const uint8_t as_varint[] = {0x08, 0x01};
    static const uint8_t as_bytes[] = {0x0a, 0x01, 'x'};
    if (length_delimited) {
      raw_case(e, "field 1 as a varint", as_varint, sizeof as_varint, INVALID, "MALFORMED_REQUEST");
    } else if (f1->label != PROTOBUF_C_LABEL_REPEATED) {
      raw_case(e, "field 1 as bytes", as_bytes, sizeof as_bytes, INVALID, "MALFORMED_REQUEST");
    }
  }

  /* Over the server's message limit: gRPC itself refuses it. */
  size_t big = (size_t)REQUEST_BYTES_MAX + 16;
  uint8_t *bytes = calloc(1, big);
  assert_non_null(bytes);
  if (e->method->kind != RPC_SERVER_STREAMING) {
    test_reply r;
    test_client_call_raw(e->f->client, e->method->name, bytes, big, e->method->reply_descriptor, 0,
                         &r);
    count_status(r.status);
    if (r.status != GRPC_STATUS_RESOURCE_EXHAUSTED) violation(e, "oversized message", &r);
    test_reply_clear(&r);
    test_client_call_raw_expired(e->f->client, e->method->name, NULL, 0,
                                 e->method->reply_descriptor, &r);
    count_status(r.status);
    if (r.status != GRPC_STATUS_DEADLINE_EXCEEDED) violation(e, "deadline already past", &r);
    test_reply_clear(&r);
  }
  free(bytes);
}

/* The request with a fresh valid request_id (when it has one) and the seeded customer and
 * order in the fields that name one, so that a mutation of another field is what the
 * server refuses, not a missing id; nothing else. */
static ProtobufCMessage *base_request(bad_env *e, case_memory *m, rid *request_id) {
  const ProtobufCMessageDescriptor *d = e->method->request_descriptor;
  ProtobufCMessage *msg = new_message(m, d);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED) continue;
    const char *prefix = prefix_of_field(e->row, f->name);
    const char *value = NULL;
    if (strcmp(f->name, "request_id") == 0) {
      value = request_id->text;
    } else if (prefix != NULL && strcmp(prefix, "cus") == 0) {
      value = e->customer_id;
    } else if (prefix != NULL && strcmp(prefix, "ord") == 0) {
      value = e->order_id;
    }
    if (value != NULL) set_string(m, msg, f, value, strlen(value));
  }
  return msg;
}

typedef struct string_mutation {
  const char *what;
  const char *text; /* NULL: oversized */
  size_t len;
} string_mutation;

static const string_mutation string_mutations[] = {
    {"invalid UTF-8", "ab\xff\xfe", 4},          {"overlong UTF-8", "\xc0\xaf", 2},
    {"UTF-16 surrogate", "\xed\xa0\x80", 3},     {"NUL inside", "ab" NUL_MARKER "cd", 7},
    {"control character", "ab\x01", 3},          {"card number", "4242424242424242", 16},
    {"oversized", NULL, OVERSIZED_STRING_BYTES},
};

/* One request with one field of msg (reached through path) changed by apply. */
typedef void mutate_fn(case_memory *m, ProtobufCMessage *target, const ProtobufCFieldDescriptor *f,
                       const void *arg);

static void run_mutation(bad_env *e, const char *field_path, const char *what,
                         const ProtobufCFieldDescriptor *outer, const ProtobufCFieldDescriptor *f,
                         mutate_fn *apply, const void *arg, bool reads_may_accept) {
  case_memory m = {0};
  rid request_id = next_rid("bad");
  ProtobufCMessage *msg = base_request(e, &m, &request_id);
  ProtobufCMessage *target = msg;
  if (outer != NULL) {
    target = new_message(&m, outer->descriptor);
    if (outer->label == PROTOBUF_C_LABEL_REPEATED) {
      ProtobufCMessage **items = case_alloc(&m, sizeof *items);
      items[0] = target;
      *(ProtobufCMessage ***)field_at(msg, outer) = items;
      *(size_t *)((char *)msg + outer->quantifier_offset) = 1;
    } else {
      *(ProtobufCMessage **)field_at(msg, outer) = target;
    }
  }
  apply(&m, target, f, arg);
  test_reply r;
  send_message(e, msg, &r);
  char label[256];
  snprintf(label, sizeof label, "%s: %s", field_path, what);
  if (reads_may_accept) {
    expect_refused_or_empty_read(e, label, &r);
  } else {
    expect_refused(e, label, &r);
  }
  case_free(&m);
}

static void apply_string(case_memory *m, ProtobufCMessage *target,
                         const ProtobufCFieldDescriptor *f, const void *arg) {
  const string_mutation *s = arg;
  if (s->text != NULL) {
    set_string(m, target, f, s->text, s->len);
    return;
  }
  char *big = malloc(s->len);
  assert_non_null(big);
  memset(big, 'A', s->len);
  set_string(m, target, f, big, s->len);
  free(big);
}

static void apply_text(case_memory *m, ProtobufCMessage *target, const ProtobufCFieldDescriptor *f,
                       const void *arg) {
  set_string(m, target, f, arg, strlen(arg));
}

static void apply_integer(case_memory *m, ProtobufCMessage *target,
                          const ProtobufCFieldDescriptor *f, const void *arg) {
  (void)m;
  set_integer(target, f, *(const int64_t *)arg);
}

typedef struct money_mutation {
  const char *what;
  const char *currency;
  int64_t amount;
} money_mutation;

static const money_mutation money_mutations[] = {
    {"negative amount", "USD", -1},
    {"most negative amount", "USD", INT64_MIN},
    {"overflowing amount", "USD", INT64_MAX},
    {"unknown currency", "XXQ", 100},
    {"lower-case currency", "usd", 100},
    {"currency of invalid UTF-8",
     "U\xff"
     "D",
     100},
    {"amount with no currency", "", 100},
};

static void apply_money(case_memory *m, ProtobufCMessage *target, const ProtobufCFieldDescriptor *f,
                        const void *arg) {
  const money_mutation *mm = arg;
  Ccpay__V1__Money *money = (Ccpay__V1__Money *)new_message(m, &ccpay__v1__money__descriptor);
  char *currency = case_alloc(m, strlen(mm->currency) + 1);
  memcpy(currency, mm->currency, strlen(mm->currency));
  money->currency_code = currency;
  money->amount_minor = mm->amount;
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    ProtobufCMessage **items = case_alloc(m, sizeof *items);
    items[0] = &money->base;
    *(ProtobufCMessage ***)field_at(target, f) = items;
    *(size_t *)((char *)target + f->quantifier_offset) = 1;
  } else {
    *(ProtobufCMessage **)field_at(target, f) = &money->base;
  }
}

/* Every mutation of one field. */
static void field_cases(bad_env *e, const ProtobufCFieldDescriptor *outer,
                        const ProtobufCFieldDescriptor *f) {
  char path[128];
  snprintf(path, sizeof path, "%s%s%s", outer != NULL ? outer->name : "", outer != NULL ? "." : "",
           f->name);
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    for (size_t i = 0; i < sizeof string_mutations / sizeof *string_mutations; i++) {
      /* request_ids are identifiers, not free text (docs/SECURITY.md): a numeric one may
       * pass Luhn and is taken. */
      if (strcmp(f->name, "request_id") == 0 &&
          strcmp(string_mutations[i].what, "card number") == 0)
        continue;
      /* A filter of reads may match nothing. */
      run_mutation(e, path, string_mutations[i].what, outer, f, apply_string, &string_mutations[i],
                   true);
    }
    const char *prefix = prefix_of_field(e->row, f->name);
    if (prefix != NULL && strcmp(f->name, "request_id") != 0) {
      char unknown[TEST_ID_BYTES], wrong[TEST_ID_BYTES], shape[TEST_ID_BYTES];
      snprintf(unknown, sizeof unknown, "%s_0000000000001", prefix); /* 0 is no id */
      snprintf(wrong, sizeof wrong, "%s",
               strcmp(prefix, "cus") == 0 ? e->order_id : e->customer_id);
      snprintf(shape, sizeof shape, "%s_not-an-id!", prefix);
      /* A listing filtered by an id that names nothing lists nothing. */
      bool listing = strstr(e->method->name, "/List") != NULL ||
                     strstr(e->method->name, "/Search") != NULL ||
                     strstr(e->method->name, "/Stream") != NULL;
      run_mutation(e, path, "unknown id", outer, f, apply_text, unknown, listing);
      run_mutation(e, path, "id of the wrong kind", outer, f, apply_text, wrong, false);
      run_mutation(e, path, "malformed id", outer, f, apply_text, shape, false);
    }
    return;
  }
  if (is_integer(f)) {
    static const int64_t values[] = {-1, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, 999};
    static const char *const names[] = {"-1",        "INT32_MIN", "INT32_MAX",
                                        "INT64_MIN", "INT64_MAX", "999"};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
      if (f->type == PROTOBUF_C_TYPE_ENUM && values[i] != 999 && values[i] != -1) continue;
      run_mutation(e, path, names[i], outer, f, apply_integer, &values[i], true);
    }
    return;
  }
  if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == &ccpay__v1__money__descriptor) {
    for (size_t i = 0; i < sizeof money_mutations / sizeof *money_mutations; i++) {
      run_mutation(e, path, money_mutations[i].what, outer, f, apply_money, &money_mutations[i],
                   true);
    }
  }
}

static void message_cases(bad_env *e) {
  const ProtobufCMessageDescriptor *d = e->method->request_descriptor;
  /* The empty request, then with only a request_id. */
  case_memory m = {0};
  ProtobufCMessage *empty = new_message(&m, d);
  test_reply r;
  send_message(e, empty, &r);
  expect_exact(e, "empty request", &r, e->row->empty_status, e->row->empty_reason);
  case_free(&m);

  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != &ccpay__v1__money__descriptor) {
      const ProtobufCMessageDescriptor *inner = f->descriptor;
      for (unsigned j = 0; j < inner->n_fields; j++) {
        const ProtobufCFieldDescriptor *g = &inner->fields[j];
        if (g->type == PROTOBUF_C_TYPE_MESSAGE && g->descriptor != &ccpay__v1__money__descriptor)
          continue; /* depth 2 is enough to reach every resource's own fields */
        field_cases(e, f, g);
      }
      continue;
    }
    field_cases(e, NULL, f);
  }
}

static void assert_serving(ccpayd_fixture *f, const char *after) {
  Grpc__Health__V1__HealthCheckRequest request = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  test_reply r;
  test_client_call(f->client, HEALTH_CHECK, &request.base,
                   &grpc__health__v1__health_check_response__descriptor, 0, &r);
  if (r.status != GRPC_STATUS_OK) fail_msg("the server stopped serving after %s", after);
  test_reply_clear(&r);
}

/* Real records whose ids the cases use as ids of the wrong kind. */
static void seed(bad_env *e) {
  test_reply r;
  rid id = next_rid("seed-customer");
  e->customer_rid = id;
  call_create_customer(e->f->client, id.text, "Ana Lima", "USD", 30, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  snprintf(e->customer_id, sizeof e->customer_id, "%s", REPLY_AS(Ccpay__V1__Customer, &r)->id);
  test_reply_clear(&r);
  order_draft d;
  order_draft_init(&d, e->customer_id, "USD");
  order_draft_line(&d, "SKU-PEN", 1, 500, 0, 0);
  id = next_rid("seed-order");
  call_create_order(e->f->client, id.text, &d, &r);
  assert_reply(&r, GRPC_STATUS_OK, NULL, NULL);
  snprintf(e->order_id, sizeof e->order_id, "%s", REPLY_AS(Ccpay__V1__Order, &r)->id);
  test_reply_clear(&r);
}

/* --- The precise table: valid requests with one thing wrong, each with its exact answer -- */

typedef struct precise {
  const char *what;
  grpc_status_code status;
  const char *reason;
  const char *text; /* must occur in the message; NULL: anything */
} precise;

static int precise_cases, precise_violations;

static void check_precise(const precise *p, test_reply *r) {
  precise_cases++;
  count_status(r->status);
  char why[2048];
  if (!test_reply_check(r, p->status, p->reason, p->text, why, sizeof why)) {
    precise_violations++;
    totals.violations++;
    fprintf(stderr, "VIOLATION: %s: %s\n", p->what, why);
  }
  test_reply_clear(r);
}

static grpc_status_code customer_with(test_client *c, const char *request_id, const char *name,
                                      const char *email, const char *currency, test_reply *r) {
  Ccpay__V1__Customer cu = CCPAY__V1__CUSTOMER__INIT;
  cu.name = (char *)name;
  cu.email = (char *)email;
  cu.currency_code = (char *)currency;
  cu.payment_terms_days = 30;
  Ccpay__V1__CreateCustomerRequest req = CCPAY__V1__CREATE_CUSTOMER_REQUEST__INIT;
  req.customer = &cu;
  req.request_id = (char *)request_id;
  return test_client_call(c, "/ccpay.v1.CustomerService/CreateCustomer", &req.base,
                          &ccpay__v1__customer__descriptor, 0, r);
}

static grpc_status_code order_with(test_client *c, const char *customer, int64_t quantity,
                                   int64_t price, const char *currency, test_reply *r) {
  order_draft *d = malloc(sizeof *d);
  assert_non_null(d);
  order_draft_init(d, customer, currency);
  order_draft_line(d, "SKU-PEN", quantity, price, 0, 0);
  rid id = next_rid("precise-order");
  grpc_status_code s = call_create_order(c, id.text, d, r);
  free(d);
  return s;
}

static grpc_status_code issue_value(test_client *c, const char *number, const char *currency,
                                    int64_t amount, test_reply *r) {
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = (char *)currency;
  money.amount_minor = amount;
  Ccpay__V1__IssueValueRequest req = CCPAY__V1__ISSUE_VALUE_REQUEST__INIT;
  req.kind = CCPAY__V1__STORED_VALUE_KIND__STORED_VALUE_KIND_GIFT_CARD;
  req.number = (char *)number;
  req.amount = &money;
  rid id = next_rid("precise-issue");
  req.request_id = id.text;
  return test_client_call(c, "/ccpay.v1.StoredValueService/IssueValue", &req.base,
                          &ccpay__v1__stored_value_balance__descriptor, 0, r);
}

static void precise_cases_run(bad_env *e) {
  test_client *c = e->f->client;
  test_reply r;
  char long_name[CUSTOMER_NAME_BYTES_MAX + 2];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  char long_rid[REQUEST_ID_BYTES_MAX + 2];
  memset(long_rid, 'r', sizeof long_rid - 1);
  long_rid[sizeof long_rid - 1] = '\0';
  rid id = next_rid("precise");

  static const precise name_utf8 = {"customer name of invalid UTF-8", INVALID, "FIELD_INVALID",
                                    "customer.name"};
  customer_with(c, id.text, "Ana \xff", "", "USD", &r);
  check_precise(&name_utf8, &r);
  static const precise name_long = {"customer name over its limit", INVALID, "FIELD_OUT_OF_RANGE",
                                    "customer.name"};
  customer_with(c, next_rid("precise").text, long_name, "", "USD", &r);
  check_precise(&name_long, &r);
  static const precise name_card = {"card number in a customer name", INVALID,
                                    "CARD_NUMBER_IN_TEXT", "customer.name"};
  customer_with(c, next_rid("precise").text, "Ana 4242 4242 4242 4242", "", "USD", &r);
  check_precise(&name_card, &r);
  static const precise email = {"malformed email", INVALID, "FIELD_INVALID", "customer.email"};
  customer_with(c, next_rid("precise").text, "Ana", "no-at-sign", "USD", &r);
  check_precise(&email, &r);
  static const precise currency = {"unknown currency", INVALID, "UNKNOWN_CURRENCY", "XXQ"};
  customer_with(c, next_rid("precise").text, "Ana", "", "XXQ", &r);
  check_precise(&currency, &r);
  static const precise rid_long = {"request_id over its limit", INVALID, "FIELD_OUT_OF_RANGE",
                                   "request_id"};
  customer_with(c, long_rid, "Ana", "", "USD", &r);
  check_precise(&rid_long, &r);
  static const precise rid_space = {"request_id with a space", INVALID, "FIELD_INVALID",
                                    "request_id"};
  customer_with(c, "has space", "Ana", "", "USD", &r);
  check_precise(&rid_space, &r);
  static const precise rid_missing = {"request_id missing", INVALID, "FIELD_REQUIRED",
                                      "request_id"};
  customer_with(c, "", "Ana", "", "USD", &r);
  check_precise(&rid_missing, &r);

  /* The seed's request_id with another request: refused, the first reply kept. */
  static const precise key_reused = {"request_id reused for another request",
                                     GRPC_STATUS_FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED",
                                     NULL};
  customer_with(c, e->customer_rid.text, "Ana Other", "", "USD", &r);
  check_precise(&key_reused, &r);

  static const precise qty_negative = {"negative quantity", INVALID, "FIELD_OUT_OF_RANGE",
                                       "quantity"};
  order_with(c, e->customer_id, -1, 500, "USD", &r);
  check_precise(&qty_negative, &r);
  static const precise price_negative = {"negative unit price", INVALID, "FIELD_OUT_OF_RANGE",
                                         "unit_price"};
  order_with(c, e->customer_id, 1, -500, "USD", &r);
  check_precise(&price_negative, &r);
  static const precise overflow = {"line total overflowing int64", INVALID, "FIELD_OUT_OF_RANGE",
                                   NULL};
  order_with(c, e->customer_id, 1000, INT64_MAX / 10, "USD", &r);
  check_precise(&overflow, &r);
  static const precise order_currency = {"order currency unknown", INVALID, "UNKNOWN_CURRENCY",
                                         NULL};
  order_with(c, e->customer_id, 1, 500, "XXQ", &r);
  check_precise(&order_currency, &r);
  static const precise wrong_kind = {"an order id as the customer", INVALID, "FIELD_INVALID",
                                     "customer_id"};
  order_with(c, e->order_id, 1, 500, "USD", &r);
  check_precise(&wrong_kind, &r);
  static const precise no_customer = {"an unknown customer", GRPC_STATUS_NOT_FOUND, "NOT_FOUND",
                                      NULL};
  order_with(c, "cus_0000000000001", 1, 500, "USD", &r);
  check_precise(&no_customer, &r);

  static const precise get_wrong_kind = {"GetCustomer of an order id", INVALID, "FIELD_INVALID",
                                         "id"};
  call_get_customer(c, e->order_id, &r);
  check_precise(&get_wrong_kind, &r);
  static const precise get_unknown = {"GetCustomer of an unknown id", GRPC_STATUS_NOT_FOUND,
                                      "NOT_FOUND", NULL};
  call_get_customer(c, "cus_0000000000001", &r);
  check_precise(&get_unknown, &r);

  static const precise check_negative = {"a check of a negative amount", INVALID,
                                         "FIELD_OUT_OF_RANGE", "amount"};
  call_add_check(c, next_rid("precise").text, e->order_id, "1001", "USD", -100, &r);
  check_precise(&check_negative, &r);
  static const precise check_currency = {"a check in another currency than the order's", INVALID,
                                         NULL, "currency"};
  call_add_check(c, next_rid("precise").text, e->order_id, "1001", "EUR", 100, &r);
  /* The reason is whatever the rule names; the status must be INVALID_ARGUMENT. */
  precise_cases++;
  count_status(r.status);
  if (r.status != INVALID && r.status != GRPC_STATUS_FAILED_PRECONDITION) {
    precise_violations++;
    totals.violations++;
    fprintf(stderr, "VIOLATION: %s: %s %s\n", check_currency.what, test_status_name(r.status),
            r.details);
  }
  test_reply_clear(&r);
  static const precise capture_unknown = {"Capture of an unknown payment", GRPC_STATUS_NOT_FOUND,
                                          "NOT_FOUND", NULL};
  call_capture(c, next_rid("precise").text, "pay_0000000000001", "USD", 100, false, &r);
  check_precise(&capture_unknown, &r);
  static const precise refund_overflow = {"Refund of INT64_MIN", INVALID, "FIELD_OUT_OF_RANGE",
                                          "amount"};
  Ccpay__V1__Money most_negative = CCPAY__V1__MONEY__INIT;
  most_negative.currency_code = "USD";
  most_negative.amount_minor = INT64_MIN;
  Ccpay__V1__RefundPaymentRequest refund = CCPAY__V1__REFUND_PAYMENT_REQUEST__INIT;
  refund.payment_id = "pay_0000000000001";
  refund.amount = &most_negative;
  rid refund_id = next_rid("precise");
  refund.request_id = refund_id.text;
  test_client_call(c, "/ccpay.v1.PaymentService/Refund", &refund.base,
                   &ccpay__v1__payment__descriptor, 0, &r);
  check_precise(&refund_overflow, &r);

  static const precise gift_negative = {"gift card value negative", INVALID, "FIELD_OUT_OF_RANGE",
                                        "amount"};
  issue_value(c, "GC-PRECISE-1", "USD", -1, &r);
  check_precise(&gift_negative, &r);
  static const precise gift_card_number = {"a payment card number as a gift card number", INVALID,
                                           "CARD_NUMBER_IN_TEXT", "number"};
  issue_value(c, "4242424242424242", "USD", 100, &r);
  check_precise(&gift_card_number, &r);
  static const precise gift_short = {"a gift card number too short", INVALID, "FIELD_INVALID",
                                     "number"};
  issue_value(c, "GC", "USD", 100, &r);
  check_precise(&gift_short, &r);
}

static void test_every_method_every_bad_input(void **state) {
  ccpayd_fixture *f = *state;
  static service_env env; /* the table only keeps a pointer to it */
  size_t count = 0;
  const rpc_method *methods = services_methods(&env, &count);
  assert_true(count > 40);

  bad_env e = {.f = f};
  seed(&e);
  db_counts before, after;
  int64_t sequence_before = last_sequence(f->client);
  read_counts(f->server.data_dir, &before);

  for (size_t i = 0; i < count; i++) {
    e.method = &methods[i];
    e.row = row_of(methods[i].name);
    if (e.row == NULL) {
      fail_msg("%s has no row in the bad-input table: add what it answers to an empty request",
               methods[i].name);
    }
    int violations_before = totals.violations, cases_before = totals.cases;
    wire_cases(&e);
    message_cases(&e);
    assert_serving(f, methods[i].name);
    totals.methods++;
    print_message("%-45s %4d inputs, %d violations\n", methods[i].name, totals.cases - cases_before,
                  totals.violations - violations_before);
  }

  precise_cases_run(&e);
  assert_serving(f, "the precise table");
  print_message("precise table: %d inputs, %d violations\n", precise_cases, precise_violations);

  int64_t sequence_after = last_sequence(f->client);
  read_counts(f->server.data_dir, &after);
  if (sequence_after != sequence_before) {
    fprintf(stderr, "VIOLATION: the ledger moved from sequence %lld to %lld\n",
            (long long)sequence_before, (long long)sequence_after);
    totals.violations++;
  }
  totals.violations += compare_counts(&before, &after);

  print_message("bad-input table: %d methods, %d inputs, %d violations; answers:", totals.methods,
                totals.cases, totals.violations);
  for (int s = 0; s < 17; s++) {
    if (totals.by_status[s] > 0) {
      printf(" %s=%d", test_status_name((grpc_status_code)s), totals.by_status[s]);
    }
  }
  printf("\n");
  assert_int_equal(totals.violations, 0);
  f->passed = true;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_every_method_every_bad_input, ccpayd_fixture_setup,
                                      ccpayd_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
