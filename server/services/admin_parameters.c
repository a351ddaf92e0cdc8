/* ccpay.v1.AdminService, its business part: the business parameters (persisted,
 * validated, changed by update_mask) and the security override code. admin_service.c
 * holds the security part and the service's method table. */
#include <stdio.h>
#include <string.h>

#include "audit_trail.h"
#include "base/check.h"
#include "base/limits.h"
#include "common.h"
#include "domain/currency.h"
#include "domain/fraud.h"
#include "domain/payment.h"
#include "domain/refund.h"
#include "domain/validate.h"
#include "mutation.h"
#include "override_code.h"
#include "services.h"
#include "storage/returns.h"
#include "timestamps.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x

/* What GetParameters shows: the stored parameters with every default spelled out. */
static ccpay_err parameters_view(store_txn *txn, arena *a, Ccpay__V1__Parameters **out,
                                 ccpay_error *error) {
  ccpay_err rc = parameters_get(txn, a, out, error);
  if (rc != CCPAY_OK) return rc;
  Ccpay__V1__Parameters *p = *out;
  if (p->default_return_method == TENDER(UNSPECIFIED)) p->default_return_method = TENDER(CHECK);
  if (p->apply_credit_method == TENDER(UNSPECIFIED)) {
    p->apply_credit_method = TENDER(CUSTOMER_ACCOUNT);
  }
  if (p->refund_excess_funds == 0) {
    p->refund_excess_funds = CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_AUTO;
  }
  if (p->capture_mode == 0)
    p->capture_mode = CCPAY__V1__CAPTURE_MODE__CAPTURE_MODE_AUTHORIZE_AT_SUBMIT;
  if (p->fraud_rules == NULL) {
    p->fraud_rules = arena_alloc(a, sizeof *p->fraud_rules);
    if (p->fraud_rules == NULL) return service_exhausted(error);
    ccpay__v1__fraud_rules__init(p->fraud_rules);
  }
  fraud_rules defaults;
  fraud_rules_default(&defaults);
  if (p->fraud_rules->cvv_mismatch == 0) {
    p->fraud_rules->cvv_mismatch = fraud_action_value(defaults.cvv_mismatch);
  }
  if (p->fraud_rules->avs_mismatch == 0) {
    p->fraud_rules->avs_mismatch = fraud_action_value(defaults.avs_mismatch);
  }
  Ccpay__V1__OverrideCodeRecord *code = NULL;
  rc = override_code_get(txn, a, &code, error);
  p->override_code_set = rc == CCPAY_OK;
  return rc == CCPAY_ERR_NOT_FOUND ? CCPAY_OK : rc;
}

static void get_parameters(rpc_call *call, const ProtobufCMessage *message) {
  (void)message;
  service_env *env = rpc_call_context(call);
  Ccpay__V1__Parameters *p = NULL;
  store_txn *txn = NULL;
  ccpay_error error;
  ccpay_err rc = store_read_begin(env->store, &txn, &error);
  if (rc == CCPAY_OK) {
    rc = parameters_view(txn, rpc_call_arena(call), &p, &error);
    store_read_end(txn);
  }
  service_reply_or_fail(call, rc, rc == CCPAY_OK ? &p->base : NULL, &error);
}

/* --- UpdateParameters ------------------------------------------------------------------ */

enum {
  FIELD_REFUND_METHODS = 1 << 0,
  FIELD_DEFAULT_RETURN_METHOD = 1 << 1,
  FIELD_ADVANCE_CREDIT = 1 << 2,
  FIELD_APPLY_CREDIT = 1 << 3,
  FIELD_APPLY_CREDIT_METHOD = 1 << 4,
  FIELD_REFUND_EXCESS_FUNDS = 1 << 5,
  FIELD_ALLOW_OUT_OF_BALANCE = 1 << 6,
  FIELD_OVER_UNDER_MAX = 1 << 7,
  FIELD_REVIEW_WRITE_OFF_MAX = 1 << 8,
  FIELD_REFUND_CHECK_APPROVAL_THRESHOLD = 1 << 9,
  FIELD_CAPTURE_MODE = 1 << 10,
  FIELD_FRAUD_RULES = 1 << 11,
};

static const struct {
  const char *name;
  unsigned bit;
} parameter_fields[] = {
    {"refund_methods", FIELD_REFUND_METHODS},
    {"default_return_method", FIELD_DEFAULT_RETURN_METHOD},
    {"advance_credit", FIELD_ADVANCE_CREDIT},
    {"apply_credit", FIELD_APPLY_CREDIT},
    {"apply_credit_method", FIELD_APPLY_CREDIT_METHOD},
    {"refund_excess_funds", FIELD_REFUND_EXCESS_FUNDS},
    {"allow_out_of_balance", FIELD_ALLOW_OUT_OF_BALANCE},
    {"over_under_max", FIELD_OVER_UNDER_MAX},
    {"review_write_off_max", FIELD_REVIEW_WRITE_OFF_MAX},
    {"refund_check_approval_threshold", FIELD_REFUND_CHECK_APPROVAL_THRESHOLD},
    {"capture_mode", FIELD_CAPTURE_MODE},
    {"fraud_rules", FIELD_FRAUD_RULES},
};

static ccpay_err parse_mask(char **paths, size_t count, unsigned *fields, ccpay_error *error) {
  *fields = 0;
  if (count == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "update_mask: required; name the parameters to change");
  }
  for (size_t i = 0; i < count; i++) {
    unsigned bit = 0;
    for (size_t j = 0; j < sizeof parameter_fields / sizeof *parameter_fields; j++) {
      if (strcmp(paths[i], parameter_fields[j].name) == 0) bit = parameter_fields[j].bit;
    }
    if (bit == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "update_mask: %.64s is not a parameter that can change", paths[i]);
    }
    *fields |= bit;
  }
  return CCPAY_OK;
}

static ccpay_err validate_refund_methods(const Ccpay__V1__Parameters *p, ccpay_error *error) {
  if (p->n_refund_methods > REFUND_METHODS_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "parameters.refund_methods: at most one per currency");
  }
  char field[64];
  for (size_t i = 0; i < p->n_refund_methods; i++) {
    const Ccpay__V1__CurrencyRefundMethod *m = p->refund_methods[i];
    if (currency_find(m->currency_code) == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                             "parameters.refund_methods[%zu].currency_code: %.8s is not an ISO "
                             "4217 currency code",
                             i, m->currency_code);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(p->refund_methods[j]->currency_code, m->currency_code) == 0) {
        return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                               "parameters.refund_methods[%zu]: %s is listed twice", i,
                               m->currency_code);
      }
    }
    snprintf(field, sizeof field, "parameters.refund_methods[%zu].tender_type", i);
    ccpay_err rc = refund_check_currency_method(field, m->tender_type, error);
    if (rc != CCPAY_OK) return rc;
  }
  return CCPAY_OK;
}

/* A per-currency amount list (field names it): known currencies, each once, amounts of 0
 * or more (above 0 when positive), at most max entries. */
static ccpay_err validate_amounts(const char *field, Ccpay__V1__Money *const *list, size_t count,
                                  size_t max, bool positive, ccpay_error *error) {
  if (count > max) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s: at most %zu currencies", field,
                           max);
  }
  for (size_t i = 0; i < count; i++) {
    const Ccpay__V1__Money *m = list[i];
    if (currency_find(m->currency_code) == NULL) {
      return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                             "%s[%zu].currency_code: %.8s is not an ISO 4217 currency code", field,
                             i, m->currency_code);
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(list[j]->currency_code, m->currency_code) == 0) {
        return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID, "%s[%zu]: %s is listed twice", field,
                               i, m->currency_code);
      }
    }
    if (m->amount_minor < 0 || (positive && m->amount_minor == 0)) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                             "%s[%zu].amount_minor: must be %s", field, i,
                             positive ? "above 0" : "0 or more");
    }
  }
  return CCPAY_OK;
}

static ccpay_err validate_fraud_rules(const Ccpay__V1__FraudRules *r, ccpay_error *error) {
  if (r == NULL) return CCPAY_OK; /* the defaults */
  if (r->cvv_mismatch > CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_DECLINE || r->cvv_mismatch < 0 ||
      r->avs_mismatch > CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_DECLINE || r->avs_mismatch < 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "parameters.fraud_rules: cvv_mismatch and avs_mismatch are ALLOW, HOLD "
                           "or DECLINE");
  }
  return validate_amounts("parameters.fraud_rules.hold_above", r->hold_above, r->n_hold_above,
                          FRAUD_THRESHOLDS_MAX, true, error);
}

static ccpay_err validate_parameters(const Ccpay__V1__Parameters *p, unsigned fields,
                                     ccpay_error *error) {
  ccpay_err rc = CCPAY_OK;
  if (fields & FIELD_OVER_UNDER_MAX) {
    rc = validate_amounts("parameters.over_under_max", p->over_under_max, p->n_over_under_max,
                          REFUND_METHODS_MAX, false, error);
  }
  if (rc == CCPAY_OK && (fields & FIELD_REVIEW_WRITE_OFF_MAX)) {
    rc = validate_amounts("parameters.review_write_off_max", p->review_write_off_max,
                          p->n_review_write_off_max, REFUND_METHODS_MAX, false, error);
  }
  if (rc == CCPAY_OK && (fields & FIELD_REFUND_CHECK_APPROVAL_THRESHOLD)) {
    rc = validate_amounts("parameters.refund_check_approval_threshold",
                          p->refund_check_approval_threshold, p->n_refund_check_approval_threshold,
                          REFUND_METHODS_MAX, false, error);
  }
  if (rc == CCPAY_OK && (fields & FIELD_CAPTURE_MODE) &&
      (p->capture_mode < 0 ||
       p->capture_mode > CCPAY__V1__CAPTURE_MODE__CAPTURE_MODE_CAPTURE_AT_SUBMIT)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "parameters.capture_mode: AUTHORIZE_AT_SUBMIT or CAPTURE_AT_SUBMIT");
  }
  if (rc == CCPAY_OK && (fields & FIELD_FRAUD_RULES))
    rc = validate_fraud_rules(p->fraud_rules, error);
  if (fields & FIELD_REFUND_METHODS) rc = validate_refund_methods(p, error);
  if (rc == CCPAY_OK && (fields & FIELD_DEFAULT_RETURN_METHOD)) {
    rc = refund_check_default_method("parameters.default_return_method", p->default_return_method,
                                     error);
  }
  if (rc == CCPAY_OK && (fields & FIELD_APPLY_CREDIT_METHOD) &&
      p->apply_credit_method != TENDER(CUSTOMER_ACCOUNT)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "parameters.apply_credit_method: only CUSTOMER_ACCOUNT (a customer "
                         "method) pays with a return's credit");
  }
  if (rc == CCPAY_OK && (fields & FIELD_REFUND_EXCESS_FUNDS) &&
      (p->refund_excess_funds < CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_AUTO ||
       p->refund_excess_funds > CCPAY__V1__REFUND_EXCESS_FUNDS__REFUND_EXCESS_FUNDS_NONE)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "parameters.refund_excess_funds: AUTO, OPTIONAL or NONE");
  }
  return rc;
}

static const char *tender_name(Ccpay__V1__TenderType t) {
  return t == TENDER(UNSPECIFIED) ? "default" : payment_tender_name(t);
}

/* The parameters as one line of text, for the audit trail's before and after. */
static char *parameters_text(const Ccpay__V1__Parameters *p, arena *a) {
  char *methods = arena_printf(a, "%s", "");
  for (size_t i = 0; methods != NULL && i < p->n_refund_methods; i++) {
    methods =
        arena_printf(a, "%s%s%s:%s", methods, i > 0 ? "," : "", p->refund_methods[i]->currency_code,
                     tender_name(p->refund_methods[i]->tender_type));
  }
  const ProtobufCEnumValue *excess = protobuf_c_enum_descriptor_get_value(
      &ccpay__v1__refund_excess_funds__descriptor, p->refund_excess_funds);
  return methods == NULL
             ? NULL
             : arena_printf(a,
                            "refund_methods=[%s] default_return_method=%s "
                            "advance_credit=%s apply_credit=%s "
                            "apply_credit_method=%s refund_excess_funds=%s "
                            "allow_out_of_balance=%s capture_mode=%d over_under_max=%zu "
                            "review_write_off_max=%zu refund_check_approval_threshold=%zu "
                            "fraud_rules=%s",
                            methods, tender_name(p->default_return_method),
                            p->advance_credit ? "true" : "false",
                            p->apply_credit ? "true" : "false", tender_name(p->apply_credit_method),
                            excess != NULL ? excess->name : "default",
                            p->allow_out_of_balance ? "true" : "false", (int)p->capture_mode,
                            p->n_over_under_max, p->n_review_write_off_max,
                            p->n_refund_check_approval_threshold,
                            p->fraud_rules != NULL ? "set" : "default");
}

typedef struct update_input {
  const Ccpay__V1__Parameters *requested;
  unsigned fields;
} update_input;

static ccpay_err update_parameters_execute(store_txn *txn, const void *input, arena *a,
                                           ProtobufCMessage **reply, ccpay_error *error) {
  const update_input *in = input;
  Ccpay__V1__Parameters *p = NULL;
  ccpay_err rc = parameters_get(txn, a, &p, error);
  if (rc != CCPAY_OK) return rc;
  const Ccpay__V1__Parameters *r = in->requested;
  char *before = parameters_text(p, a);
  if (in->fields & FIELD_REFUND_METHODS) {
    p->refund_methods = r->refund_methods;
    p->n_refund_methods = r->n_refund_methods;
  }
  if (in->fields & FIELD_DEFAULT_RETURN_METHOD) p->default_return_method = r->default_return_method;
  if (in->fields & FIELD_ADVANCE_CREDIT) p->advance_credit = r->advance_credit;
  if (in->fields & FIELD_APPLY_CREDIT) p->apply_credit = r->apply_credit;
  if (in->fields & FIELD_APPLY_CREDIT_METHOD) p->apply_credit_method = r->apply_credit_method;
  if (in->fields & FIELD_REFUND_EXCESS_FUNDS) p->refund_excess_funds = r->refund_excess_funds;
  if (in->fields & FIELD_ALLOW_OUT_OF_BALANCE) p->allow_out_of_balance = r->allow_out_of_balance;
  if (in->fields & FIELD_OVER_UNDER_MAX) {
    p->over_under_max = r->over_under_max;
    p->n_over_under_max = r->n_over_under_max;
  }
  if (in->fields & FIELD_REVIEW_WRITE_OFF_MAX) {
    p->review_write_off_max = r->review_write_off_max;
    p->n_review_write_off_max = r->n_review_write_off_max;
  }
  if (in->fields & FIELD_REFUND_CHECK_APPROVAL_THRESHOLD) {
    p->refund_check_approval_threshold = r->refund_check_approval_threshold;
    p->n_refund_check_approval_threshold = r->n_refund_check_approval_threshold;
  }
  if (in->fields & FIELD_CAPTURE_MODE) p->capture_mode = r->capture_mode;
  if (in->fields & FIELD_FRAUD_RULES) p->fraud_rules = r->fraud_rules;
  p->override_code_set = false; /* output only, never stored */
  p->version++;
  p->update_time = timestamp_from_ms(a, store_txn_time_ms(txn));
  if (p->update_time == NULL) return service_exhausted(error);
  char *after = parameters_text(p, a);
  if (before == NULL || after == NULL) return service_exhausted(error);
  audit_trail_note_change(before, after);
  rc = parameters_put(txn, p, error);
  if (rc == CCPAY_OK) rc = parameters_view(txn, a, &p, error);
  *reply = p != NULL ? &p->base : NULL;
  return rc;
}

static void update_parameters(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__UpdateParametersRequest *r = (const Ccpay__V1__UpdateParametersRequest *)message;
  service_env *env = rpc_call_context(call);
  update_input *in = arena_calloc(rpc_call_arena(call), sizeof *in);
  ccpay_error error;
  ccpay_err rc =
      in == NULL ? service_exhausted(&error) : validate_request_id(r->request_id, &error);
  if (rc == CCPAY_OK && r->parameters == NULL) {
    rc = ccpay_error_set(&error, CCPAY_ERR_FIELD_REQUIRED, "parameters: required");
  }
  if (rc == CCPAY_OK) rc = parse_mask(r->update_mask, r->n_update_mask, &in->fields, &error);
  if (rc == CCPAY_OK) rc = validate_parameters(r->parameters, in->fields, &error);
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->requested = r->parameters;
  mutation_submit(call, env->store, r->request_id, message, update_parameters_execute, in);
}

/* --- SetOverrideCode ------------------------------------------------------------------- */

typedef struct code_input {
  Ccpay__V1__OverrideCodeRecord record;
  uint8_t salt[OVERRIDE_CODE_SALT_BYTES];
  uint8_t hash[OVERRIDE_CODE_HASH_BYTES];
} code_input;

static ccpay_err set_override_code_execute(store_txn *txn, const void *input, arena *a,
                                           ProtobufCMessage **reply, ccpay_error *error) {
  code_input *in = (code_input *)input;
  int64_t now_ms = store_txn_time_ms(txn);
  /* What changed, never the code: whether one was set before. */
  Ccpay__V1__OverrideCodeRecord *previous = NULL;
  ccpay_err found = override_code_get(txn, a, &previous, error);
  if (found != CCPAY_OK && found != CCPAY_ERR_NOT_FOUND) return found;
  audit_trail_note_change(found == CCPAY_OK ? "an override code was set" : "no override code",
                          "a new override code is set");
  in->record.set_time = timestamp_from_ms(a, now_ms);
  Ccpay__V1__SetOverrideCodeResponse *response = arena_alloc(a, sizeof *response);
  if (in->record.set_time == NULL || response == NULL) return service_exhausted(error);
  ccpay__v1__set_override_code_response__init(response);
  response->set_time = in->record.set_time;
  *reply = &response->base;
  return override_code_put(txn, &in->record, error);
}

static void set_override_code(rpc_call *call, const ProtobufCMessage *message) {
  const Ccpay__V1__SetOverrideCodeRequest *r = (const Ccpay__V1__SetOverrideCodeRequest *)message;
  service_env *env = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  code_input *in = arena_calloc(a, sizeof *in);
  Ccpay__V1__SetOverrideCodeRequest *hashed = arena_alloc(a, sizeof *hashed);
  ccpay_error error;
  ccpay_err rc = in == NULL || hashed == NULL ? service_exhausted(&error)
                                              : validate_request_id(r->request_id, &error);
  if (rc == CCPAY_OK) rc = override_code_validate("code", r->code, &error);
  if (rc == CCPAY_OK) {
    ccpay__v1__override_code_record__init(&in->record);
    rc = override_code_seal(r->code, in->salt, in->hash, &in->record, &error);
  }
  if (rc != CCPAY_OK) {
    rpc_call_fail(call, &error);
    return;
  }
  in->record.set_by = (char *)rpc_call_agent_id(call);
  /* The code is never part of what the idempotency record hashes. */
  *hashed = *r;
  hashed->code = "";
  mutation_submit(call, env->store, r->request_id, &hashed->base, set_override_code_execute, in);
}

size_t admin_parameter_methods(service_env *env, rpc_method *out) {
  size_t n = 0;
  out[n++] = SERVICE_METHOD("AdminService", "GetParameters", RPC_UNARY, get_parameters,
                            ccpay__v1__get_parameters_request, ccpay__v1__parameters, "admin.read");
  out[n++] =
      SERVICE_METHOD("AdminService", "UpdateParameters", RPC_UNARY, update_parameters,
                     ccpay__v1__update_parameters_request, ccpay__v1__parameters, "admin.write");
  out[n++] = SERVICE_METHOD("AdminService", "SetOverrideCode", RPC_UNARY, set_override_code,
                            ccpay__v1__set_override_code_request,
                            ccpay__v1__set_override_code_response, "admin.write");
  CHECK(n <= SERVICE_METHODS_PER_SERVICE_MAX);
  return n;
}
