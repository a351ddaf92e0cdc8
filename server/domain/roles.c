/* The role table. Change it here only: docs/SECURITY.md shows it, and the matrix test
 * (tests/integration/test_security.c) checks that the server enforces it. */
#include "roles.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "validate.h"

/* Every permission, grouped by area. Reads end in ".read"; support holds all of them. */
static const char *const permissions_all[] = {
    "customers.read",
    "customers.write",
    "orders.read",
    "orders.write",
    "orders.hold",
    "orders.invoice",
    "orders.cancel",
    "payments.read",
    "payments.write",
    "payments.refund",
    "payments.alternate_payment",
    "stored_value.issue",
    "returns.read",
    "returns.write",
    "ledger.read",
    "balance_review.read",
    "balance_review.write",
    "collections.read",
    "collections.write",
    "reconciliation.read",
    "reconciliation.import",
    "admin.read",
    "admin.write",
    "tokens.read",
    "tokens.write",
    "audit.read",
    NULL,
};

/* A customer service representative: takes orders and payments by phone, returns. */
static const char *const csr_permissions[] = {
    "customers.read",
    "customers.write",
    "orders.read",
    "orders.write",
    "orders.hold",
    "orders.cancel",
    "payments.read",
    "payments.write",
    "returns.read",
    "returns.write",
    NULL,
};

/* A CSR's supervisor: everything a CSR does, plus invoicing, refunds, refund overrides
 * (refunds to another tender) and stored-value issue. */
static const char *const supervisor_permissions[] = {
    "customers.read",
    "customers.write",
    "orders.read",
    "orders.write",
    "orders.hold",
    "orders.cancel",
    "orders.invoice",
    "payments.read",
    "payments.write",
    "payments.refund",
    "payments.alternate_payment",
    "stored_value.issue",
    "returns.read",
    "returns.write",
    "balance_review.read",
    NULL,
};

/* The payments department: payment operations, refunds and overrides, the
 * out-of-balance queue, invoicing, the ledger. */
static const char *const payments_permissions[] = {
    "customers.read",       "orders.read",
    "orders.hold",          "orders.invoice",
    "payments.read",        "payments.write",
    "payments.refund",      "payments.alternate_payment",
    "stored_value.issue",   "returns.read",
    "ledger.read",          "balance_review.read",
    "balance_review.write", NULL,
};

/* Collections: customer balances, aging, activities, holds. */
static const char *const collections_permissions[] = {
    "customers.read", "orders.read",      "orders.hold",       "payments.read",
    "ledger.read",    "collections.read", "collections.write", NULL,
};

/* Support engineers with grpcurl: read-only everywhere. */
static const char *const support_permissions[] = {
    "customers.read", "orders.read",         "payments.read",    "returns.read",
    "ledger.read",    "balance_review.read", "collections.read", "reconciliation.read",
    "admin.read",     "tokens.read",         "audit.read",       NULL,
};

/* Reconciliation clients: the ledger and transactions, settlement import. */
static const char *const reconciler_permissions[] = {
    "ledger.read", "payments.read", "reconciliation.read", "reconciliation.import", NULL,
};

static const role_def roles[] = {
    {"csr", "customer service representative: customers, orders, payments, returns",
     csr_permissions},
    {"supervisor", "a CSR's rights plus invoicing, refunds, refund overrides, stored value",
     supervisor_permissions},
    {"payments", "payments department: payment operations, refunds, overrides, balance review",
     payments_permissions},
    {"collections", "collections: balances, activities, holds", collections_permissions},
    {"support", "read-only everywhere (grpcurl / buf curl)", support_permissions},
    {"reconciler", "ledger and transactions read, settlement import", reconciler_permissions},
    {"admin", "every permission: tokens, parameters, the audit trail, and all the rest",
     permissions_all},
};
enum { ROLES_COUNT = sizeof roles / sizeof roles[0] };

const role_def *roles_all(size_t *count) {
  *count = ROLES_COUNT;
  return roles;
}

const role_def *roles_find(const char *name) {
  CHECK(name != NULL);
  for (size_t i = 0; i < ROLES_COUNT; i++) {
    if (strcmp(roles[i].name, name) == 0) return &roles[i];
  }
  return NULL;
}

bool roles_grants(const role_def *r, const char *permission) {
  CHECK(r != NULL && permission != NULL);
  for (const char *const *p = r->permissions; *p != NULL; p++) {
    if (strcmp(*p, permission) == 0) return true;
  }
  return false;
}

const char *const *roles_permissions_all(void) { return permissions_all; }

bool roles_permission_known(const char *permission) {
  CHECK(permission != NULL);
  for (const char *const *p = permissions_all; *p != NULL; p++) {
    if (strcmp(*p, permission) == 0) return true;
  }
  return false;
}

const char *roles_names(void) {
  return "csr, supervisor, payments, collections, support, reconciler, admin";
}

ccpay_err roles_validate_agent_id(const char *field, const char *agent_id, ccpay_error *error) {
  CHECK(field != NULL && agent_id != NULL);
  size_t len = strnlen(agent_id, AGENT_ID_BYTES_MAX + 1);
  if (len == 0) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "%s: required", field);
  if (len > AGENT_ID_BYTES_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE, "%s: at most %d characters", field,
                           AGENT_ID_BYTES_MAX);
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)agent_id[i];
    if (c < 0x21 || c > 0x7e) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "%s: only printable ASCII without spaces", field);
    }
  }
  if (validate_has_card_number(agent_id)) {
    return ccpay_error_set(error, CCPAY_ERR_CARD_DATA_IN_TEXT,
                           "%s: looks like a card number; card data must never be stored", field);
  }
  return CCPAY_OK;
}
