/* The adapter runtime's pure parts: redaction of secrets, form encoding, JSON look-ups,
 * and the common validation of Gateway requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "form.h"
#include "gateway_validate.h"
#include "json_util.h"
#include "redact.h"

/* --- Redaction ------------------------------------------------------------------------- */

static void redacts_every_occurrence(void **state) {
  (void)state;
  const char *secrets[] = {"sk_test_procsim", "c2tfdGVzdF9wcm9jc2ltOg=="};
  char out[256];
  redact_text("key sk_test_procsim and sk_test_procsim; auth Basic c2tfdGVzdF9wcm9jc2ltOg==",
              secrets, 2, out, sizeof out);
  assert_string_equal(out, "key [redacted] and [redacted]; auth Basic [redacted]");
  assert_null(strstr(out, "procsim"));
}

static void leaves_other_text_alone(void **state) {
  (void)state;
  const char *secrets[] = {"sk_live_1234", NULL, ""};
  char out[64];
  size_t n = redact_text("nothing secret: sk_live_ only", secrets, 3, out, sizeof out);
  assert_string_equal(out, "nothing secret: sk_live_ only");
  assert_int_equal(n, strlen(out));
  redact_text(NULL, secrets, 3, out, sizeof out);
  assert_string_equal(out, "");
  redact_text("no secrets at all", NULL, 0, out, sizeof out);
  assert_string_equal(out, "no secrets at all");
}

static void longest_overlapping_secret_wins(void **state) {
  (void)state;
  const char *secrets[] = {"pm_card", "pm_card_visa_chargeDeclined"};
  char out[64];
  redact_text("token=pm_card_visa_chargeDeclined.", secrets, 2, out, sizeof out);
  assert_string_equal(out, "token=[redacted].");
}

static void secret_cut_at_the_end_is_redacted(void **state) {
  (void)state;
  /* A message truncated to its buffer may end in the first bytes of a secret. */
  const char *secrets[] = {"sk_test_procsim"};
  char out[64];
  redact_text("bad key sk_te", secrets, 1, out, sizeof out);
  assert_string_equal(out, "bad key [redacted]");
  /* Fewer than REDACT_PREFIX_BYTES_MIN bytes are left as they are ("sk_" is common). */
  redact_text("prefix sk_", secrets, 1, out, sizeof out);
  assert_string_equal(out, "prefix sk_");
}

static void output_is_bounded_and_never_holds_the_secret(void **state) {
  (void)state;
  const char *secrets[] = {"SECRETSECRET"};
  char out[12];
  size_t n = redact_text("abcSECRETSECRETdef", secrets, 1, out, sizeof out);
  assert_int_equal(n, sizeof out - 1);
  assert_string_equal(out, "abc[redacte");
  assert_null(strstr(out, "SECRET"));
  char one[1];
  assert_int_equal(redact_text("anything", secrets, 1, one, sizeof one), 0);
  assert_string_equal(one, "");
}

/* --- Form encoding ------------------------------------------------------------------------ */

static void encodes_values_and_keeps_brackets_in_keys(void **state) {
  (void)state;
  arena *a = arena_create(1 << 16);
  form_body f;
  form_body_init(&f, a, 1024);
  form_body_add_int(&f, "amount", 1999);
  form_body_add(&f, "currency", "usd");
  form_body_add(&f, "metadata[ccpay_order]", "ord 1&x=y");
  form_body_add(&f, "payment_method_options[card][request_multicapture]", "if_available");
  form_body_add(&f, "note", "caf\xc3\xa9/[]+~-._");
  form_body_add_int(&f, "negative", -5);
  assert_string_equal(form_body_text(&f),
                      "amount=1999&currency=usd&metadata[ccpay_order]=ord%201%26x%3Dy"
                      "&payment_method_options[card][request_multicapture]=if_available"
                      "&note=caf%C3%A9%2F%5B%5D%2B~-._&negative=-5");
  arena_destroy(a);
}

static void encode_reports_what_does_not_fit(void **state) {
  (void)state;
  char out[8];
  assert_int_equal(form_encode("a b", false, out, sizeof out), 5);
  assert_string_equal(out, "a%20b");
  assert_int_equal(form_encode("k[x]", true, out, sizeof out), 4);
  assert_string_equal(out, "k[x]");
  assert_int_equal(form_encode("k[x]", false, out, sizeof out), (size_t)-1);
  assert_int_equal(form_encode("", false, out, sizeof out), 0);
  assert_string_equal(out, "");
}

static void body_overflow_is_reported_not_truncated(void **state) {
  (void)state;
  arena *a = arena_create(1 << 16);
  form_body f;
  form_body_init(&f, a, 16);
  form_body_add(&f, "a", "1");
  assert_string_equal(form_body_text(&f), "a=1");
  form_body_add(&f, "bbbbbbbb", "22222222");
  assert_true(f.overflowed);
  assert_null(form_body_text(&f));
  arena_destroy(a);
}

/* --- JSON look-ups ------------------------------------------------------------------------ */

static void json_paths(void **state) {
  (void)state;
  const char *body =
      "\xEF\xBB\xBF{\"a\":{\"b\":{\"c\":\"x\",\"n\":42,\"t\":true,\"z\":null}},\"s\":\"y\"}";
  json_t *root = json_util_parse(body, strlen(body));
  assert_non_null(root);
  assert_string_equal(json_util_string(root, "a.b.c"), "x");
  assert_string_equal(json_util_string(root, "s"), "y");
  int64_t n = 0;
  assert_true(json_util_int(root, "a.b.n", &n));
  assert_int_equal(n, 42);
  bool t = false;
  assert_true(json_util_bool(root, "a.b.t", &t));
  assert_true(t);
  assert_null(json_util_string(root, "a.b.n"));
  assert_null(json_util_get(root, "a.b.z"));
  assert_null(json_util_string(root, "a.missing.c"));
  assert_null(json_util_string(root, "s.deeper"));
  assert_false(json_util_int(root, "a.b.c", &n));
  json_decref(root);
  assert_null(json_util_parse("[1,2]", 5));
  assert_null(json_util_parse("not json", 8));
  assert_null(json_util_parse(NULL, 0));
}

/* --- Validation ------------------------------------------------------------------------- */

static char *usd_eur[] = {"USD", "EUR"};

static Ccpay__Gateway__V1__Capabilities test_caps(bool unlinked) {
  Ccpay__Gateway__V1__Capabilities caps = CCPAY__GATEWAY__V1__CAPABILITIES__INIT;
  caps.processor = "stripe";
  caps.partial_capture = true;
  caps.multiple_captures = true;
  caps.void_supported = true;
  caps.unlinked_refunds = unlinked;
  caps.n_currencies = 2;
  caps.currencies = usd_eur;
  return caps;
}

static void validates_authorize(void **state) {
  (void)state;
  Ccpay__Gateway__V1__Capabilities caps = test_caps(false);
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 1500;
  Ccpay__Gateway__V1__Card card = CCPAY__GATEWAY__V1__CARD__INIT;
  card.token = "pm_card_visa";
  Ccpay__Gateway__V1__AuthorizeRequest r = CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  r.idempotency_key = "txn_1";
  r.amount = &money;
  r.card = &card;
  ccpay_error e;
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_OK);

  r.idempotency_key = "";
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "idempotency_key: required");
  r.idempotency_key = "txn 1";
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_INVALID);
  char long_key[GATEWAY_KEY_BYTES_MAX + 2];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  r.idempotency_key = long_key;
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  r.idempotency_key = "txn_1";

  money.amount_minor = 0;
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_non_null(strstr(e.message, "amount.amount_minor"));
  money.amount_minor = 1500;
  money.currency_code = "XYZ";
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_UNKNOWN_CURRENCY);
  money.currency_code = "JPY";
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_CAPABILITY_MISSING);
  money.currency_code = "USD";

  card.token = "";
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "card.token: required");
  card.token = "pm_card_visa";
  r.card = NULL;
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_REQUIRED);
  r.card = &card;
  r.capture = true;
  r.multiple_captures = true;
  assert_int_equal(gateway_validate_authorize(&r, &caps, "", &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "multiple_captures"));
}

static void validates_refund_and_unlinked_capability(void **state) {
  (void)state;
  Ccpay__Gateway__V1__Capabilities caps = test_caps(false);
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "EUR";
  money.amount_minor = 100;
  Ccpay__Gateway__V1__RefundRequest r = CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  r.idempotency_key = "txn_9";
  r.amount = &money;
  r.payment_reference = "pi_123";
  ccpay_error e;
  assert_int_equal(gateway_validate_refund(&r, &caps, "", &e), CCPAY_OK);
  r.payment_reference = "";
  assert_int_equal(gateway_validate_refund(&r, &caps, "", &e), CCPAY_ERR_CAPABILITY_MISSING);
  assert_non_null(strstr(e.message, "unlinked refunds"));
  caps = test_caps(true);
  assert_int_equal(gateway_validate_refund(&r, &caps, "", &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "card: required");
}

static void validates_lookup_shape(void **state) {
  (void)state;
  Ccpay__Gateway__V1__Capabilities caps = test_caps(false);
  Ccpay__V1__Money money = CCPAY__V1__MONEY__INIT;
  money.currency_code = "USD";
  money.amount_minor = 100;
  Ccpay__Gateway__V1__CaptureRequest capture = CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  capture.payment_reference = "pi_1";
  capture.amount = &money;
  Ccpay__Gateway__V1__LookupRequest r = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__INIT;
  r.idempotency_key = "txn_2";
  ccpay_error e;
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "operation: required");
  r.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_CAPTURE;
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_non_null(strstr(e.message, "original"));
  r.original_case = CCPAY__GATEWAY__V1__LOOKUP_REQUEST__ORIGINAL_CAPTURE_REQUEST;
  r.capture_request = &capture;
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_OK); /* key may be empty */
  capture.idempotency_key = "txn_other";
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(e.message, "capture_request.idempotency_key"));
  capture.idempotency_key = "txn_2";
  capture.amount = NULL;
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_ERR_FIELD_REQUIRED);
  assert_string_equal(e.message, "capture_request.amount: required");
  capture.amount = &money;
  r.operation = CCPAY__GATEWAY__V1__OPERATION__OPERATION_REFUND;
  assert_int_equal(gateway_validate_lookup(&r, &caps, &e), CCPAY_ERR_FIELD_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(redacts_every_occurrence),
      cmocka_unit_test(leaves_other_text_alone),
      cmocka_unit_test(longest_overlapping_secret_wins),
      cmocka_unit_test(secret_cut_at_the_end_is_redacted),
      cmocka_unit_test(output_is_bounded_and_never_holds_the_secret),
      cmocka_unit_test(encodes_values_and_keeps_brackets_in_keys),
      cmocka_unit_test(encode_reports_what_does_not_fit),
      cmocka_unit_test(body_overflow_is_reported_not_truncated),
      cmocka_unit_test(json_paths),
      cmocka_unit_test(validates_authorize),
      cmocka_unit_test(validates_refund_and_unlinked_capability),
      cmocka_unit_test(validates_lookup_shape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
