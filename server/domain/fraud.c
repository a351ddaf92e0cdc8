#include "fraud.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "currency.h"

void fraud_rules_default(fraud_rules *rules) {
  memset(rules, 0, sizeof *rules);
  rules->cvv_mismatch = FRAUD_DECLINE;
  rules->avs_mismatch = FRAUD_HOLD;
}

static fraud_action action_of(Ccpay__V1__FraudAction a, fraud_action absent) {
  switch (a) {
    case CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_ALLOW:
      return FRAUD_ALLOW;
    case CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_HOLD:
      return FRAUD_HOLD;
    case CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_DECLINE:
      return FRAUD_DECLINE;
    default:
      return absent;
  }
}

Ccpay__V1__FraudAction fraud_action_value(fraud_action action) {
  switch (action) {
    case FRAUD_ALLOW:
      return CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_ALLOW;
    case FRAUD_HOLD:
      return CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_HOLD;
    case FRAUD_DECLINE:
      return CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_DECLINE;
  }
  CHECK(false && "unknown fraud action");
  return CCPAY__V1__FRAUD_ACTION__FRAUD_ACTION_UNSPECIFIED;
}

void fraud_rules_from(const Ccpay__V1__FraudRules *r, fraud_rules *out) {
  fraud_rules_default(out);
  if (r == NULL) return;
  out->cvv_mismatch = action_of(r->cvv_mismatch, out->cvv_mismatch);
  out->avs_mismatch = action_of(r->avs_mismatch, out->avs_mismatch);
  CHECK(r->n_hold_above <= FRAUD_THRESHOLDS_MAX); /* UpdateParameters checks it */
  for (size_t i = 0; i < r->n_hold_above; i++) {
    snprintf(out->hold_above[i].currency, sizeof out->hold_above[i].currency, "%s",
             r->hold_above[i]->currency_code);
    out->hold_above[i].amount_minor = r->hold_above[i]->amount_minor;
  }
  out->threshold_count = r->n_hold_above;
}

/* Stripe "fail", Authorize.Net "N", Adyen "2 …". */
static bool result_mismatch(const char *result) {
  if (result == NULL) return false;
  return strcmp(result, "fail") == 0 || strcmp(result, "N") == 0 ||
         (result[0] == '2' && (result[1] == '\0' || result[1] == ' '));
}

bool fraud_avs_mismatch(const char *avs_result) { return result_mismatch(avs_result); }
bool fraud_cvv_mismatch(const char *cvv_result) { return result_mismatch(cvv_result); }

/* Raises out to action with reason, unless it already holds something as strong. */
static void raise(fraud_verdict *out, fraud_action action, const char *reason) {
  if (action == FRAUD_ALLOW || action < out->action) return;
  if (action > out->action) out->reason[0] = '\0';
  out->action = action;
  size_t used = strlen(out->reason);
  snprintf(out->reason + used, sizeof out->reason - used, "%s%s", used > 0 ? "; " : "", reason);
}

void fraud_assess(const fraud_rules *rules, const Ccpay__V1__Payment *p, fraud_verdict *out) {
  CHECK(rules != NULL && p != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  const char *processor = p->card != NULL ? p->card->processor : "";
  char reason[FRAUD_REASON_BYTES];
  if (fraud_cvv_mismatch(p->cvv_result)) {
    snprintf(reason, sizeof reason, "CVV mismatch (%s: %s)", processor, p->cvv_result);
    raise(out, rules->cvv_mismatch, reason);
  }
  if (fraud_avs_mismatch(p->avs_result)) {
    snprintf(reason, sizeof reason, "AVS mismatch (%s: %s)", processor, p->avs_result);
    raise(out, rules->avs_mismatch, reason);
  }
  int64_t amount = p->authorized != NULL ? p->authorized->amount_minor : 0;
  const char *currency_code = p->amount != NULL ? p->amount->currency_code : "";
  for (size_t i = 0; i < rules->threshold_count; i++) {
    const fraud_threshold *t = &rules->hold_above[i];
    if (strcmp(t->currency, currency_code) == 0 && amount > t->amount_minor) {
      snprintf(reason, sizeof reason, "amount %lld above the review threshold %lld %s",
               (long long)amount, (long long)t->amount_minor, currency_code);
      raise(out, FRAUD_HOLD, reason);
    }
  }
}
