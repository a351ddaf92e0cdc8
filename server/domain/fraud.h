/* Fraud rules, pure: what an approved authorization's address (AVS) and card-code (CVV)
 * results, and its amount, mean for the order. The rules are a business parameter
 * (AdminService, Parameters.fraud_rules):
 *
 *   cvv_mismatch  DECLINE | HOLD | ALLOW   (default DECLINE: the authorization is voided)
 *   avs_mismatch  DECLINE | HOLD | ALLOW   (default HOLD)
 *   hold_above    per currency, in minor units (none by default)
 *
 * A hold puts the order on hold code FRAUD_REVIEW (the manual review queue is ListOrders
 * by that hold code); a decline voids the authorization and refuses the payment. When
 * several rules apply, decline wins over hold. */
#ifndef CCPAY_DOMAIN_FRAUD_H
#define CCPAY_DOMAIN_FRAUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccpay/v1/admin.pb-c.h"
#include "ccpay/v1/payment.pb-c.h"

#define FRAUD_HOLD_CODE "FRAUD_REVIEW"
/* The decline code of a payment the fraud rules refused. */
#define FRAUD_DECLINE_CODE "fraud_rule"

typedef enum fraud_action { FRAUD_ALLOW, FRAUD_HOLD, FRAUD_DECLINE } fraud_action;

enum { FRAUD_THRESHOLDS_MAX = 16, FRAUD_REASON_BYTES = 160 };

typedef struct fraud_threshold {
  char currency[4];
  int64_t amount_minor; /* an authorization above this is held */
} fraud_threshold;

typedef struct fraud_rules {
  fraud_action cvv_mismatch;
  fraud_action avs_mismatch;
  fraud_threshold hold_above[FRAUD_THRESHOLDS_MAX];
  size_t threshold_count;
} fraud_rules;

typedef struct fraud_verdict {
  fraud_action action;
  char reason[FRAUD_REASON_BYTES]; /* "CVV mismatch (stripe: fail)"; "" when allowed */
} fraud_verdict;

/* The defaults above. */
void fraud_rules_default(fraud_rules *rules);

/* The rules of the FraudRules parameter: unset actions keep the defaults; hold_above
 * (at most FRAUD_THRESHOLDS_MAX, checked by UpdateParameters) copied. r may be NULL. */
void fraud_rules_from(const Ccpay__V1__FraudRules *r, fraud_rules *out);

/* The API's value of an action (to show the defaults). */
Ccpay__V1__FraudAction fraud_action_value(fraud_action action);

/* Whether a processor's verification result says the data did not match: Stripe's
 * "fail", Authorize.Net's "N", Adyen's code "2" ("2 Neither postal code nor address
 * match", "2 Does not match"). Unavailable or unchecked results are not mismatches. */
bool fraud_avs_mismatch(const char *avs_result);
bool fraud_cvv_mismatch(const char *cvv_result);

/* The verdict on an approved card payment p (its avs_result, cvv_result, authorized
 * amount and currency). */
void fraud_assess(const fraud_rules *rules, const Ccpay__V1__Payment *p, fraud_verdict *out);

#endif
