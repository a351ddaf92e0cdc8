#include "balance.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "currency.h"
#include "money.h"
#include "payment.h"

#define TENDER(x) CCPAY__V1__TENDER_TYPE__TENDER_TYPE_##x
#define PSTATUS(x) CCPAY__V1__PAYMENT_STATUS__PAYMENT_STATUS_##x
#define RESOLUTION(x) CCPAY__V1__BALANCE_RESOLUTION__BALANCE_RESOLUTION_##x

/* A card that may still collect: not refused, not released, not a refund-only card. */
static bool card_collects(const Ccpay__V1__Payment *p) {
  return !p->refund_only && p->status != PSTATUS(DECLINED) && p->status != PSTATUS(FAILED) &&
         p->status != PSTATUS(VOIDED);
}

void balance_of(Ccpay__V1__Payment *const *payments, size_t count, int64_t order_total,
                balance *out) {
  CHECK(order_total >= 0);
  int64_t received = 0, cards = 0;
  out->lines = 0;
  for (size_t i = 0; i < count; i++) {
    const Ccpay__V1__Payment *p = payments[i];
    if (p->tender_type != TENDER(CARD)) {
      CHECK(money_add(received, payment_refundable(p), &received));
      out->lines++;
    } else if (card_collects(p)) {
      out->lines++;
      /* What it captured and still holds, and what it may still capture. */
      int64_t still = p->status == PSTATUS(NEW) ? p->amount->amount_minor
                                                : payment_refundable(p) + payment_capturable(p);
      CHECK(money_add(cards, still, &cards));
    }
  }
  int64_t owed_after_received = order_total > received ? order_total - received : 0;
  int64_t from_cards = cards < owed_after_received ? cards : owed_after_received;
  out->order_total = order_total;
  CHECK(money_add(received, from_cards, &out->payments_total));
  out->difference = out->payments_total - order_total;
}

int64_t balance_currency_amount(Ccpay__V1__Money *const *list, size_t count,
                                const char *currency_code, int64_t absent) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(list[i]->currency_code, currency_code) == 0) return list[i]->amount_minor;
  }
  return absent;
}

void balance_format(int64_t amount, const char *currency_code, char *out, size_t size) {
  const currency *c = currency_find(currency_code);
  int64_t unit = c != NULL ? currency_minor_per_major(c) : 1;
  uint64_t magnitude = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
  const char *sign = amount < 0 ? "-" : "";
  if (unit == 1) {
    snprintf(out, size, "%s%" PRIu64 " %s", sign, magnitude, currency_code);
  } else {
    snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64 " %s", sign, magnitude / (uint64_t)unit,
             c->exponent, magnitude % (uint64_t)unit, currency_code);
  }
}

char *balance_message(const balance *b, const char *currency_code, arena *a) {
  char paid[48], total[48], by[48];
  balance_format(b->payments_total, currency_code, paid, sizeof paid);
  balance_format(b->order_total, currency_code, total, sizeof total);
  balance_format(b->difference < 0 ? -b->difference : b->difference, currency_code, by, sizeof by);
  return arena_printf(a,
                      "The total payment amount and total sales amount do not balance: "
                      "payments %s, order total %s, %s by %s",
                      paid, total, b->difference > 0 ? "overpaid" : "underpaid", by);
}

Ccpay__V1__BalanceReview *balance_review_new(const balance *b, const char *currency_code,
                                             arena *a) {
  Ccpay__V1__BalanceReview *r = arena_alloc(a, sizeof *r);
  if (r == NULL) return NULL;
  ccpay__v1__balance_review__init(r);
  r->payments_total = money_message(a, currency_code, b->payments_total);
  r->order_total = money_message(a, currency_code, b->order_total);
  r->difference = money_message(a, currency_code, b->difference);
  r->message = balance_message(b, currency_code, a);
  bool ok = r->payments_total != NULL && r->order_total != NULL && r->difference != NULL &&
            r->message != NULL;
  return ok ? r : NULL;
}

bool balance_resolved(const Ccpay__V1__BalanceReview *review) {
  if (review == NULL) return false;
  switch (review->resolution) {
    case RESOLUTION(AUTO_WRITE_OFF):
    case RESOLUTION(REFUND_EXCESS):
    case RESOLUTION(BILL_TO_ACCOUNT):
    case RESOLUTION(WRITE_OFF):
      return true;
    default:
      return false; /* unresolved, or another payment made it balance: check again */
  }
}
