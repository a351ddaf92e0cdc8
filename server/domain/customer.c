#include "customer.h"

#include <string.h>

#include "base/check.h"
#include "base/limits.h"
#include "currency.h"
#include "money.h"
#include "validate.h"

enum { E164_DIGITS_MAX = 15 };

bool customer_email_valid(const char *email) {
  const char *at = strchr(email, '@');
  if (at == NULL || at == email || strchr(at + 1, '@') != NULL) return false;
  const char *domain = at + 1;
  size_t domain_len = strlen(domain);
  if (domain_len < 3) return false;
  const char *dot = strchr(domain, '.');
  if (dot == NULL || dot == domain || domain[domain_len - 1] == '.') return false;
  for (const char *p = email; *p != '\0'; p++) {
    if (*p == ' ' || (unsigned char)*p < 0x21) return false;
  }
  return strstr(domain, "..") == NULL;
}

bool customer_phone_valid(const char *phone) {
  unsigned digits = 0;
  for (const char *p = phone; *p != '\0'; p++) {
    if (*p >= '0' && *p <= '9') {
      digits++;
    } else if (*p == '+' && p == phone) {
      continue;
    } else if (strchr(" -.()", *p) == NULL) {
      return false;
    }
  }
  return digits >= CUSTOMER_PHONE_DIGITS_MIN && digits <= E164_DIGITS_MAX;
}

static ccpay_err validate_credit_limit(const Ccpay__V1__Money *limit, const char *currency_code,
                                       ccpay_error *error) {
  if (limit == NULL) return CCPAY_OK;
  if (limit->currency_code[0] != '\0' && strcmp(limit->currency_code, currency_code) != 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                           "customer.credit_limit.currency_code: must be the customer's "
                           "currency %s, not %s",
                           currency_code, limit->currency_code);
  }
  if (limit->amount_minor < 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "customer.credit_limit.amount_minor: must not be negative");
  }
  return CCPAY_OK;
}

static ccpay_err validate_name(const Ccpay__V1__Customer *c, ccpay_error *error) {
  return validate_text("customer.name", c->name, CUSTOMER_NAME_BYTES_MAX, true, error);
}

static ccpay_err validate_email(const Ccpay__V1__Customer *c, ccpay_error *error) {
  ccpay_err rc = validate_text("customer.email", c->email, CUSTOMER_EMAIL_BYTES_MAX, false, error);
  if (rc == CCPAY_OK && c->email[0] != '\0' && !customer_email_valid(c->email)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "customer.email: not an email address (name@example.com)");
  }
  return rc;
}

static ccpay_err validate_phone(const Ccpay__V1__Customer *c, ccpay_error *error) {
  ccpay_err rc = validate_text("customer.phone", c->phone, CUSTOMER_PHONE_BYTES_MAX, false, error);
  if (rc == CCPAY_OK && c->phone[0] != '\0' && !customer_phone_valid(c->phone)) {
    rc = ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                         "customer.phone: digits with an optional leading +, %d to %d digits",
                         CUSTOMER_PHONE_DIGITS_MIN, E164_DIGITS_MAX);
  }
  return rc;
}

static ccpay_err validate_currency(const Ccpay__V1__Customer *c, ccpay_error *error) {
  if (c->currency_code[0] == '\0') {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "customer.currency_code: required");
  }
  if (currency_find(c->currency_code) == NULL) {
    return ccpay_error_set(error, CCPAY_ERR_UNKNOWN_CURRENCY,
                           "customer.currency_code: %.8s is not an ISO 4217 currency code",
                           c->currency_code);
  }
  return CCPAY_OK;
}

static ccpay_err validate_payment_terms(const Ccpay__V1__Customer *c, ccpay_error *error) {
  if (c->payment_terms_days < 0 || c->payment_terms_days > CUSTOMER_PAYMENT_TERMS_DAYS_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_OUT_OF_RANGE,
                           "customer.payment_terms_days: must be 0 (due on receipt) to %d",
                           CUSTOMER_PAYMENT_TERMS_DAYS_MAX);
  }
  return CCPAY_OK;
}

ccpay_err customer_validate(const Ccpay__V1__Customer *c, ccpay_error *error) {
  if (c == NULL) return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED, "customer: required");
  ccpay_err rc = validate_name(c, error);
  if (rc == CCPAY_OK) rc = validate_email(c, error);
  if (rc == CCPAY_OK) rc = validate_phone(c, error);
  if (rc == CCPAY_OK) rc = validate_currency(c, error);
  if (rc == CCPAY_OK) rc = validate_credit_limit(c->credit_limit, c->currency_code, error);
  if (rc == CCPAY_OK) rc = validate_payment_terms(c, error);
  return rc;
}

ccpay_err customer_validate_update(const Ccpay__V1__Customer *input, unsigned fields,
                                   const char *currency_code, ccpay_error *error) {
  CHECK(input != NULL && fields != 0);
  ccpay_err rc = CCPAY_OK;
  if (fields & CUSTOMER_FIELD_NAME) rc = validate_name(input, error);
  if (rc == CCPAY_OK && (fields & CUSTOMER_FIELD_EMAIL)) rc = validate_email(input, error);
  if (rc == CCPAY_OK && (fields & CUSTOMER_FIELD_PHONE)) rc = validate_phone(input, error);
  if (rc == CCPAY_OK && (fields & CUSTOMER_FIELD_CREDIT_LIMIT)) {
    rc = validate_credit_limit(input->credit_limit, currency_code, error);
  }
  if (rc == CCPAY_OK && (fields & CUSTOMER_FIELD_PAYMENT_TERMS))
    rc = validate_payment_terms(input, error);
  return rc;
}

ccpay_err customer_parse_update_mask(char **paths, size_t count, unsigned *fields_out,
                                     ccpay_error *error) {
  static const struct {
    const char *path;
    customer_field field;
  } mutable_fields[] = {
      {"name", CUSTOMER_FIELD_NAME},
      {"email", CUSTOMER_FIELD_EMAIL},
      {"phone", CUSTOMER_FIELD_PHONE},
      {"credit_limit", CUSTOMER_FIELD_CREDIT_LIMIT},
      {"payment_terms_days", CUSTOMER_FIELD_PAYMENT_TERMS},
  };
  if (count == 0) {
    return ccpay_error_set(error, CCPAY_ERR_FIELD_REQUIRED,
                           "update_mask: required; name the fields to change (name, email, "
                           "phone, credit_limit, payment_terms_days)");
  }
  unsigned fields = 0;
  for (size_t i = 0; i < count; i++) {
    const char *path = paths[i];
    if (strncmp(path, "customer.", 9) == 0) path += 9;
    unsigned found = 0;
    for (size_t k = 0; k < sizeof mutable_fields / sizeof mutable_fields[0]; k++) {
      if (strcmp(path, mutable_fields[k].path) == 0) found = mutable_fields[k].field;
    }
    if (strcmp(path, "currency_code") == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "update_mask: a customer's currency_code never changes");
    }
    if (found == 0) {
      return ccpay_error_set(error, CCPAY_ERR_FIELD_INVALID,
                             "update_mask: %.64s is not a field that can change (name, email, "
                             "phone, credit_limit, payment_terms_days)",
                             paths[i]);
    }
    fields |= found;
  }
  *fields_out = fields;
  return CCPAY_OK;
}

static char *copy(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

Ccpay__V1__Customer *customer_build(const Ccpay__V1__Customer *input, arena *a) {
  Ccpay__V1__Customer *c = arena_alloc(a, sizeof *c);
  if (c == NULL) return NULL;
  ccpay__v1__customer__init(c);
  c->name = copy(a, input->name);
  c->email = copy(a, input->email);
  c->phone = copy(a, input->phone);
  c->currency_code = copy(a, input->currency_code);
  int64_t limit = input->credit_limit != NULL ? input->credit_limit->amount_minor : 0;
  CHECK(limit >= 0);
  c->credit_limit = money_message(a, c->currency_code, limit);
  c->payment_terms_days = input->payment_terms_days;
  if (c->name == NULL || c->email == NULL || c->phone == NULL || c->credit_limit == NULL) {
    return NULL;
  }
  return c;
}

Ccpay__V1__Customer *customer_apply_update(const Ccpay__V1__Customer *current,
                                           const Ccpay__V1__Customer *input, unsigned fields,
                                           arena *a) {
  Ccpay__V1__Customer *c = arena_alloc(a, sizeof *c);
  if (c == NULL) return NULL;
  *c = *current; /* shares current's strings: both live in the same arena */
  if (fields & CUSTOMER_FIELD_NAME) c->name = input->name;
  if (fields & CUSTOMER_FIELD_EMAIL) c->email = input->email;
  if (fields & CUSTOMER_FIELD_PHONE) c->phone = input->phone;
  if (fields & CUSTOMER_FIELD_PAYMENT_TERMS) c->payment_terms_days = input->payment_terms_days;
  if (fields & CUSTOMER_FIELD_CREDIT_LIMIT) {
    int64_t limit = input->credit_limit != NULL ? input->credit_limit->amount_minor : 0;
    c->credit_limit = money_message(a, current->currency_code, limit);
    if (c->credit_limit == NULL) return NULL;
  }
  return c;
}
