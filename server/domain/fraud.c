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

bool fraud_action_parse(const char *text, fraud_action *out) {
  static const struct {
    const char *name;
    fraud_action action;
  } names[] = {{"decline", FRAUD_DECLINE}, {"hold", FRAUD_HOLD}, {"allow", FRAUD_ALLOW}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    if (strcmp(text, names[i].name) == 0) {
      *out = names[i].action;
      return true;
    }
  }
  return false;
}

/* One "CUR:AMOUNT" item of len bytes at text. */
static bool parse_threshold(const char *text, size_t len, fraud_threshold *out) {
  while (len > 0 && isspace((unsigned char)*text)) text++, len--;
  while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
  if (len < 5 || len > 3 + 1 + 19 || text[3] != ':') return false;
  memcpy(out->currency, text, 3);
  out->currency[3] = '\0';
  if (currency_find(out->currency) == NULL) return false;
  char digits[24];
  memcpy(digits, text + 4, len - 4);
  digits[len - 4] = '\0';
  if (strspn(digits, "0123456789") != len - 4) return false;
  char *end = NULL;
  long long amount = strtoll(digits, &end, 10);
  if (*end != '\0' || amount <= 0) return false;
  out->amount_minor = amount;
  return true;
}

bool fraud_thresholds_parse(const char *text, fraud_rules *rules) {
  fraud_threshold parsed[FRAUD_THRESHOLDS_MAX];
  size_t count = 0;
  const char *at = text;
  while (strspn(at, " \t") < strlen(at)) {
    const char *comma = strchr(at, ',');
    size_t len = comma != NULL ? (size_t)(comma - at) : strlen(at);
    if (count == FRAUD_THRESHOLDS_MAX || !parse_threshold(at, len, &parsed[count])) return false;
    for (size_t i = 0; i < count; i++) {
      if (strcmp(parsed[i].currency, parsed[count].currency) == 0) return false;
    }
    count++;
    if (comma == NULL) break;
    at = comma + 1;
  }
  memcpy(rules->hold_above, parsed, count * sizeof *parsed);
  rules->threshold_count = count;
  return true;
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
