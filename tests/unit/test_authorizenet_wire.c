/* Authorize.Net's wire module: documents in the schema's element order (compared as exact
 * text, since order is what Authorize.Net checks), amounts from minor units, the byte
 * order mark, and every mapping of an answer or a look-up to an outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_records.h"

#include "authorizenet_wire.h"

typedef Ccpay__Gateway__V1__OperationResult result_t;

#define OUTCOME(x) CCPAY__GATEWAY__V1__OUTCOME__OUTCOME_##x
#define AUTH "\"merchantAuthentication\":{\"name\":\"procsim_login\",\"transactionKey\":\"tk\"}"
#define BOM "\xEF\xBB\xBF"

static const authorizenet_wire_credentials credentials = {.api_login_id = "procsim_login",
                                                          .transaction_key = "tk"};

typedef struct fixture {
  Ccpay__V1__Money money;
  Ccpay__Gateway__V1__Card card;
  Ccpay__Gateway__V1__AuthorizeRequest authorize;
  Ccpay__Gateway__V1__CaptureRequest capture;
  Ccpay__Gateway__V1__VoidRequest void_request;
  Ccpay__Gateway__V1__RefundRequest refund;
} fixture;

static void fixture_init(fixture *f) {
  f->money = (Ccpay__V1__Money)CCPAY__V1__MONEY__INIT;
  f->money.currency_code = "USD";
  f->money.amount_minor = 1234;
  f->card = (Ccpay__Gateway__V1__Card)CCPAY__GATEWAY__V1__CARD__INIT;
  f->card.token = "eyJjb2RlIjoiNTBfMl8wNjAw";
  f->card.holder_name = "Jane Q Doe";
  f->card.last4 = "1111";
  f->card.postal_code = "46282";
  f->authorize = (Ccpay__Gateway__V1__AuthorizeRequest)CCPAY__GATEWAY__V1__AUTHORIZE_REQUEST__INIT;
  f->authorize.idempotency_key = "txn_038G8B9B7M000";
  f->authorize.amount = &f->money;
  f->authorize.card = &f->card;
  f->authorize.order_reference = "ord_038G8B9B7M001";
  f->capture = (Ccpay__Gateway__V1__CaptureRequest)CCPAY__GATEWAY__V1__CAPTURE_REQUEST__INIT;
  f->capture.idempotency_key = "txn_CAPTURE000001";
  f->capture.payment_reference = "40000000001";
  f->capture.amount = &f->money;
  f->void_request = (Ccpay__Gateway__V1__VoidRequest)CCPAY__GATEWAY__V1__VOID_REQUEST__INIT;
  f->void_request.idempotency_key = "txn_VOID00000001";
  f->void_request.payment_reference = "40000000001";
  f->refund = (Ccpay__Gateway__V1__RefundRequest)CCPAY__GATEWAY__V1__REFUND_REQUEST__INIT;
  f->refund.idempotency_key = "txn_REFUND0000001";
  f->refund.payment_reference = "40000000001";
  f->refund.amount = &f->money;
  f->refund.card = &f->card;
  f->refund.order_reference = "ord_038G8B9B7M001";
}

static void authorize_document_in_schema_order(void **state) {
  fixture f;
  fixture_init(&f);
  char *body = NULL;
  ccpay_error error;
  assert_int_equal(
      authorizenet_wire_authorize_body(*state, &credentials, &f.authorize, &body, &error),
      CCPAY_OK);
  assert_string_equal(
      body, "{\"createTransactionRequest\":{" AUTH
            ",\"refId\":\"txn_038G8B9B7M000\",\"transactionRequest\":{"
            "\"transactionType\":\"authOnlyTransaction\",\"amount\":\"12.34\","
            "\"payment\":{\"opaqueData\":{\"dataDescriptor\":\"COMMON.ACCEPT.INAPP.PAYMENT\","
            "\"dataValue\":\"eyJjb2RlIjoiNTBfMl8wNjAw\"}},"
            "\"order\":{\"invoiceNumber\":\"txn_038G8B9B7M000\",\"description\":"
            "\"ord_038G8B9B7M001\"},"
            "\"billTo\":{\"firstName\":\"Jane Q\",\"lastName\":\"Doe\",\"zip\":\"46282\"}}}}");
  f.authorize.capture = true;
  f.card.holder_name = "";
  f.card.postal_code = "";
  f.authorize.order_reference = "";
  assert_int_equal(
      authorizenet_wire_authorize_body(*state, &credentials, &f.authorize, &body, &error),
      CCPAY_OK);
  assert_string_equal(
      body, "{\"createTransactionRequest\":{" AUTH
            ",\"refId\":\"txn_038G8B9B7M000\",\"transactionRequest\":{"
            "\"transactionType\":\"authCaptureTransaction\",\"amount\":\"12.34\","
            "\"payment\":{\"opaqueData\":{\"dataDescriptor\":\"COMMON.ACCEPT.INAPP.PAYMENT\","
            "\"dataValue\":\"eyJjb2RlIjoiNTBfMl8wNjAw\"}},"
            "\"order\":{\"invoiceNumber\":\"txn_038G8B9B7M000\"}}}}");
}

static void capture_void_refund_documents(void **state) {
  fixture f;
  fixture_init(&f);
  f.money.amount_minor = 500;
  char *body = NULL;
  ccpay_error error;
  assert_int_equal(authorizenet_wire_capture_body(*state, &credentials, &f.capture, &body, &error),
                   CCPAY_OK);
  assert_string_equal(body, "{\"createTransactionRequest\":{" AUTH
                            ",\"refId\":\"txn_CAPTURE000001\",\"transactionRequest\":{"
                            "\"transactionType\":\"priorAuthCaptureTransaction\","
                            "\"amount\":\"5.00\",\"refTransId\":\"40000000001\","
                            "\"order\":{\"invoiceNumber\":\"txn_CAPTURE000001\"}}}}");
  assert_int_equal(
      authorizenet_wire_void_body(*state, &credentials, &f.void_request, &body, &error), CCPAY_OK);
  assert_string_equal(body, "{\"createTransactionRequest\":{" AUTH
                            ",\"refId\":\"txn_VOID00000001\",\"transactionRequest\":{"
                            "\"transactionType\":\"voidTransaction\","
                            "\"refTransId\":\"40000000001\"}}}");
  assert_int_equal(authorizenet_wire_refund_body(*state, &credentials, &f.refund, &body, &error),
                   CCPAY_OK);
  assert_string_equal(body, "{\"createTransactionRequest\":{" AUTH
                            ",\"refId\":\"txn_REFUND0000001\",\"transactionRequest\":{"
                            "\"transactionType\":\"refundTransaction\",\"amount\":\"5.00\","
                            "\"payment\":{\"creditCard\":{\"cardNumber\":\"1111\","
                            "\"expirationDate\":\"XXXX\"}},\"refTransId\":\"40000000001\","
                            "\"order\":{\"invoiceNumber\":\"txn_REFUND0000001\","
                            "\"description\":\"ord_038G8B9B7M001\"}}}}");
  f.refund.payment_reference = ""; /* unlinked: the token, no refTransId */
  f.card.holder_name = "Cher";
  assert_int_equal(authorizenet_wire_refund_body(*state, &credentials, &f.refund, &body, &error),
                   CCPAY_OK);
  assert_string_equal(
      body, "{\"createTransactionRequest\":{" AUTH
            ",\"refId\":\"txn_REFUND0000001\",\"transactionRequest\":{"
            "\"transactionType\":\"refundTransaction\",\"amount\":\"5.00\","
            "\"payment\":{\"opaqueData\":{\"dataDescriptor\":\"COMMON.ACCEPT.INAPP.PAYMENT\","
            "\"dataValue\":\"eyJjb2RlIjoiNTBfMl8wNjAw\"}},"
            "\"order\":{\"invoiceNumber\":\"txn_REFUND0000001\","
            "\"description\":\"ord_038G8B9B7M001\"},"
            "\"billTo\":{\"lastName\":\"Cher\",\"zip\":\"46282\"}}}}");
}

static void query_documents(void **state) {
  assert_string_equal(authorizenet_wire_details_body(*state, &credentials, "40000000001"),
                      "{\"getTransactionDetailsRequest\":{" AUTH ",\"transId\":\"40000000001\"}}");
  assert_string_equal(authorizenet_wire_unsettled_body(*state, &credentials, 2),
                      "{\"getUnsettledTransactionListRequest\":{" AUTH
                      ",\"sorting\":{\"orderBy\":\"submitTimeUTC\",\"orderDescending\":true},"
                      "\"paging\":{\"limit\":1000,\"offset\":2}}}");
}

static void fields_authorize_net_cannot_take(void **state) {
  fixture f;
  fixture_init(&f);
  char *body = NULL;
  ccpay_error error;
  f.authorize.idempotency_key = "txn_0123456789ABCDEFG"; /* 21 > 20 */
  assert_int_equal(
      authorizenet_wire_authorize_body(*state, &credentials, &f.authorize, &body, &error),
      CCPAY_ERR_FIELD_OUT_OF_RANGE);
  assert_null(body);
  assert_non_null(strstr(error.message, "idempotency_key"));
  f.card.last4 = "11a1";
  assert_int_equal(authorizenet_wire_refund_body(*state, &credentials, &f.refund, &body, &error),
                   CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(error.message, "card.last4"));
  f.capture.payment_reference = "4000\"x";
  assert_int_equal(authorizenet_wire_capture_body(*state, &credentials, &f.capture, &body, &error),
                   CCPAY_ERR_FIELD_INVALID);
  assert_non_null(strstr(error.message, "payment_reference"));
}

static void long_names_cut_on_character_boundaries(void **state) {
  fixture f;
  fixture_init(&f);
  /* 49 ASCII bytes then "é" (2 bytes): the cut at 50 must not split it. */
  char name[128];
  snprintf(name, sizeof name, "%s\xC3\xA9 Doe",
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  f.card.holder_name = name;
  char *body = NULL;
  ccpay_error error;
  assert_int_equal(
      authorizenet_wire_authorize_body(*state, &credentials, &f.authorize, &body, &error),
      CCPAY_OK);
  assert_non_null(
      strstr(body, "\"firstName\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","));
}

static void amounts_are_exact(void **state) {
  (void)state;
  char text[32];
  assert_true(authorizenet_wire_format_amount(1234, 2, text, sizeof text));
  assert_string_equal(text, "12.34");
  assert_true(authorizenet_wire_format_amount(5, 2, text, sizeof text));
  assert_string_equal(text, "0.05");
  assert_true(authorizenet_wire_format_amount(1980, 0, text, sizeof text));
  assert_string_equal(text, "1980");
  assert_true(authorizenet_wire_format_amount(12345, 3, text, sizeof text));
  assert_string_equal(text, "12.345");
  assert_true(authorizenet_wire_format_amount(INT64_MAX, 2, text, sizeof text));
  assert_string_equal(text, "92233720368547758.07");
  assert_false(authorizenet_wire_format_amount(-1, 2, text, sizeof text));
  assert_false(authorizenet_wire_format_amount(1234, 2, text, 5));
  int64_t minor = 0;
  assert_true(authorizenet_wire_parse_amount("12.34", 2, &minor));
  assert_int_equal(minor, 1234);
  assert_true(authorizenet_wire_parse_amount("12.3", 2, &minor));
  assert_int_equal(minor, 1230);
  assert_true(authorizenet_wire_parse_amount("12", 2, &minor));
  assert_int_equal(minor, 1200);
  assert_false(authorizenet_wire_parse_amount("12.345", 2, &minor));
  assert_false(authorizenet_wire_parse_amount("12.", 2, &minor));
  assert_false(authorizenet_wire_parse_amount("-1", 2, &minor));
  assert_false(authorizenet_wire_parse_amount("1e3", 2, &minor));
  assert_false(authorizenet_wire_parse_amount("", 2, &minor));
  assert_false(authorizenet_wire_parse_amount("99999999999999999999", 2, &minor));
}

static void byte_order_mark_is_skipped(void **state) {
  (void)state;
  size_t len = 5;
  assert_string_equal(authorizenet_wire_skip_bom(BOM "{}", &len), "{}");
  assert_int_equal(len, 2);
  len = 2;
  assert_string_equal(authorizenet_wire_skip_bom("{}", &len), "{}");
  assert_int_equal(len, 2);
}

static result_t map(arena *a, authorizenet_wire_kind kind, long status, const char *body,
                    const Ccpay__V1__Money *requested, bool *duplicate) {
  result_t r = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  bool dup = false;
  assert_true(
      authorizenet_wire_map_transaction(a, kind, status, body, strlen(body), requested, &r, &dup));
  if (duplicate != NULL) *duplicate = dup;
  return r;
}

#define TXN(code, extra)                                                                \
  BOM "{\"transactionResponse\":{\"responseCode\":\"" code                              \
      "\",\"authCode\":\"A12345\",\"avsResultCode\":\"Y\",\"cvvResultCode\":\"M\","     \
      "\"transId\":\"40000000001\",\"refTransID\":\"\"," extra                          \
      "},\"refId\":\"txn_1\","                                                          \
      "\"messages\":{\"resultCode\":\"Ok\",\"message\":[{\"code\":\"I00001\",\"text\":" \
      "\"Successful.\"}]}}"

static void transaction_answers(void **state) {
  fixture f;
  fixture_init(&f);
  result_t ok =
      map(*state, ANET_WIRE_AUTH_ONLY, 200,
          TXN("1", "\"messages\":[{\"code\":\"1\",\"description\":\"approved\"}]"), &f.money, NULL);
  assert_int_equal(ok.outcome, OUTCOME(SUCCEEDED));
  assert_string_equal(ok.processor_reference, "40000000001");
  assert_string_equal(ok.avs_result, "Y");
  assert_string_equal(ok.cvv_result, "M");
  assert_string_equal(ok.processor_status, "authorizedPendingCapture");
  assert_int_equal(ok.amount->amount_minor, 1234);
  result_t sale = map(*state, ANET_WIRE_AUTH_CAPTURE, 200, TXN("1", "\"x\":1"), NULL, NULL);
  assert_string_equal(sale.processor_status, "capturedPendingSettlement");
  result_t declined = map(*state, ANET_WIRE_AUTH_ONLY, 200,
                          TXN("2",
                              "\"errors\":[{\"errorCode\":\"2\",\"errorText\":\"This "
                              "transaction has been declined.\"}]"),
                          NULL, NULL);
  assert_int_equal(declined.outcome, OUTCOME(DECLINED));
  assert_string_equal(declined.decline_code, "2");
  assert_string_equal(declined.message, "This transaction has been declined.");
  result_t error = map(*state, ANET_WIRE_REFUND, 200,
                       TXN("3",
                           "\"errors\":[{\"errorCode\":\"54\",\"errorText\":\"The referenced "
                           "transaction does not meet the criteria for issuing a credit.\"}]"),
                       NULL, NULL);
  assert_int_equal(error.outcome, OUTCOME(FAILED));
  assert_string_equal(error.decline_code, "54");
  bool duplicate = false;
  result_t dup = map(*state, ANET_WIRE_AUTH_ONLY, 200,
                     TXN("3",
                         "\"errors\":[{\"errorCode\":\"11\",\"errorText\":\"A duplicate "
                         "transaction has been submitted.\"}]"),
                     NULL, &duplicate);
  assert_true(duplicate);
  assert_int_equal(dup.outcome, OUTCOME(UNKNOWN));
  assert_string_equal(dup.processor_reference, "40000000001");
  result_t review = map(*state, ANET_WIRE_AUTH_ONLY, 200, TXN("4", "\"x\":1"), &f.money, NULL);
  assert_int_equal(review.outcome, OUTCOME(UNKNOWN));
  assert_string_equal(review.processor_status, "heldForReview");
  assert_string_equal(review.processor_reference, "40000000001");
}

static void answers_without_a_transaction(void **state) {
  result_t auth = map(*state, ANET_WIRE_AUTH_ONLY, 200,
                      BOM
                      "{\"messages\":{\"resultCode\":\"Error\",\"message\":[{\"code\":"
                      "\"E00007\",\"text\":\"User authentication failed due to invalid "
                      "authentication values.\"}]}}",
                      NULL, NULL);
  assert_int_equal(auth.outcome, OUTCOME(FAILED));
  assert_string_equal(auth.decline_code, "E00007");
  assert_non_null(strstr(auth.message, "configuration"));
  result_t schema = map(*state, ANET_WIRE_VOID, 200,
                        "{\"messages\":{\"resultCode\":\"Error\",\"message\":[{\"code\":"
                        "\"E00003\",\"text\":\"invalid child element\"}]}}",
                        NULL, NULL);
  assert_int_equal(schema.outcome, OUTCOME(FAILED));
  assert_string_equal(schema.decline_code, "E00003");
  result_t down = map(*state, ANET_WIRE_AUTH_ONLY, 500, "{}", NULL, NULL);
  assert_int_equal(down.outcome, OUTCOME(UNKNOWN));
  result_t missing = map(*state, ANET_WIRE_AUTH_ONLY, 404, "", NULL, NULL);
  assert_int_equal(missing.outcome, OUTCOME(FAILED));
  result_t garbage = map(*state, ANET_WIRE_AUTH_ONLY, 200, BOM "<html>", NULL, NULL);
  assert_int_equal(garbage.outcome, OUTCOME(UNKNOWN));
  result_t ok_only =
      map(*state, ANET_WIRE_AUTH_ONLY, 200, "{\"messages\":{\"resultCode\":\"Ok\"}}", NULL, NULL);
  assert_int_equal(ok_only.outcome, OUTCOME(UNKNOWN));
}

#define LIST_OK(items)                                            \
  BOM "{\"transactions\":[" items                                 \
      "],\"totalNumInResultSet\":2,\"messages\":{\"resultCode\":" \
      "\"Ok\",\"message\":[{\"code\":\"I00001\",\"text\":\"Successful.\"}]}}"

static void list_lookups(void **state) {
  char id[ANET_WIRE_TRANS_ID_BYTES_MAX + 1] = "";
  const char *list = LIST_OK(
      "{\"transId\":\"40000000001\",\"transactionStatus\":\"declined\",\"invoiceNumber\":"
      "\"txn_A\",\"settleAmount\":\"0.00\"},"
      "{\"transId\":\"40000000002\",\"transactionStatus\":\"authorizedPendingCapture\","
      "\"invoiceNumber\":\"txn_A\",\"settleAmount\":\"12.34\"},"
      "{\"transId\":\"40000000003\",\"transactionStatus\":\"refundSettledSuccessfully\","
      "\"invoiceNumber\":\"txn_R\",\"settleAmount\":5.5}");
  result_t r = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_int_equal(authorizenet_wire_map_list(*state, ANET_WIRE_AUTH_ONLY, list, strlen(list),
                                              "txn_A", "USD", 2, &r, id),
                   ANET_WIRE_LIST_FOUND);
  assert_int_equal(r.outcome, OUTCOME(SUCCEEDED)); /* the approved one wins */
  assert_string_equal(id, "40000000002");
  assert_string_equal(r.processor_reference, "40000000002");
  assert_string_equal(r.processor_status, "authorizedPendingCapture");
  assert_int_equal(r.amount->amount_minor, 1234);
  result_t refund = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_int_equal(authorizenet_wire_map_list(*state, ANET_WIRE_REFUND, list, strlen(list), "txn_R",
                                              "USD", 2, &refund, id),
                   ANET_WIRE_LIST_FOUND);
  assert_int_equal(refund.outcome, OUTCOME(SUCCEEDED));
  assert_int_equal(refund.amount->amount_minor, 550); /* a JSON number read exactly */
  result_t none = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_int_equal(authorizenet_wire_map_list(*state, ANET_WIRE_AUTH_ONLY, list, strlen(list),
                                              "txn_Z", "USD", 2, &none, id),
                   ANET_WIRE_LIST_LAST_PAGE);
  const char *failed = BOM
      "{\"messages\":{\"resultCode\":\"Error\",\"message\":[{\"code\":"
      "\"E00007\",\"text\":\"auth\"}]}}";
  result_t err = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_int_equal(authorizenet_wire_map_list(*state, ANET_WIRE_AUTH_ONLY, failed, strlen(failed),
                                              "txn_A", "USD", 2, &err, id),
                   ANET_WIRE_LIST_ERROR);
  assert_int_equal(err.outcome, OUTCOME(UNKNOWN));
}

static void status_outcomes(void **state) {
  (void)state;
  struct {
    authorizenet_wire_kind kind;
    const char *status;
    Ccpay__Gateway__V1__Outcome outcome;
  } cases[] = {
      {ANET_WIRE_AUTH_ONLY, "authorizedPendingCapture", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_AUTH_ONLY, "voided", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_AUTH_ONLY, "declined", OUTCOME(DECLINED)},
      {ANET_WIRE_AUTH_ONLY, "FDSPendingReview", OUTCOME(UNKNOWN)},
      {ANET_WIRE_AUTH_ONLY, "generalError", OUTCOME(FAILED)},
      {ANET_WIRE_AUTH_CAPTURE, "settledSuccessfully", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_REFUND, "refundPendingSettlement", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_PRIOR_AUTH_CAPTURE, "capturedPendingSettlement", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_PRIOR_AUTH_CAPTURE, "settledSuccessfully", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_PRIOR_AUTH_CAPTURE, "authorizedPendingCapture", OUTCOME(NOT_FOUND)},
      {ANET_WIRE_PRIOR_AUTH_CAPTURE, "voided", OUTCOME(FAILED)},
      {ANET_WIRE_VOID, "voided", OUTCOME(SUCCEEDED)},
      {ANET_WIRE_VOID, "authorizedPendingCapture", OUTCOME(NOT_FOUND)},
      {ANET_WIRE_VOID, "settledSuccessfully", OUTCOME(FAILED)},
      {ANET_WIRE_VOID, "FDSAuthorizedPendingReview", OUTCOME(UNKNOWN)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(authorizenet_wire_status_outcome(cases[i].kind, cases[i].status),
                     cases[i].outcome);
  }
  assert_int_equal(authorizenet_wire_status_outcome(ANET_WIRE_VOID, NULL), OUTCOME(UNKNOWN));
}

static void details_lookups(void **state) {
  const char *details = BOM
      "{\"transaction\":{\"transId\":\"40000000002\",\"transactionType\":"
      "\"authOnlyTransaction\",\"transactionStatus\":\"settledSuccessfully\","
      "\"responseCode\":1,\"AVSResponse\":\"Y\",\"cardCodeResponse\":\"M\","
      "\"authAmount\":\"12.34\",\"settleAmount\":\"5.00\"},"
      "\"messages\":{\"resultCode\":\"Ok\",\"message\":[{\"code\":\"I00001\",\"text\":\"x\"}]}}";
  result_t capture = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(authorizenet_wire_map_details(*state, ANET_WIRE_PRIOR_AUTH_CAPTURE, details,
                                            strlen(details), "USD", 2, &capture));
  assert_int_equal(capture.outcome, OUTCOME(SUCCEEDED));
  assert_string_equal(capture.processor_reference, "40000000002");
  assert_int_equal(capture.amount->amount_minor, 500);
  assert_string_equal(capture.avs_result, "Y");
  result_t void_result = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(authorizenet_wire_map_details(*state, ANET_WIRE_VOID, details, strlen(details), "USD",
                                            2, &void_result));
  assert_int_equal(void_result.outcome, OUTCOME(FAILED));
  const char *unknown = BOM
      "{\"messages\":{\"resultCode\":\"Error\",\"message\":[{\"code\":"
      "\"E00040\",\"text\":\"The record cannot be found.\"}]}}";
  result_t own = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(authorizenet_wire_map_details(*state, ANET_WIRE_AUTH_ONLY, unknown, strlen(unknown),
                                            "USD", 2, &own));
  assert_int_equal(own.outcome, OUTCOME(NOT_FOUND));
  result_t capture_of_unknown = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(authorizenet_wire_map_details(*state, ANET_WIRE_PRIOR_AUTH_CAPTURE, unknown,
                                            strlen(unknown), "USD", 2, &capture_of_unknown));
  assert_int_equal(capture_of_unknown.outcome, OUTCOME(FAILED));
  result_t garbage = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  assert_true(authorizenet_wire_map_details(*state, ANET_WIRE_VOID, "{", 1, "USD", 2, &garbage));
  assert_int_equal(garbage.outcome, OUTCOME(UNKNOWN));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(authorize_document_in_schema_order, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(capture_void_refund_documents, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(query_documents, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(fields_authorize_net_cannot_take, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(long_names_cut_on_character_boundaries,
                                      test_records_arena_setup, test_records_arena_teardown),
      cmocka_unit_test(amounts_are_exact),
      cmocka_unit_test(byte_order_mark_is_skipped),
      cmocka_unit_test_setup_teardown(transaction_answers, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(answers_without_a_transaction, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test_setup_teardown(list_lookups, test_records_arena_setup,
                                      test_records_arena_teardown),
      cmocka_unit_test(status_outcomes),
      cmocka_unit_test_setup_teardown(details_lookups, test_records_arena_setup,
                                      test_records_arena_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
