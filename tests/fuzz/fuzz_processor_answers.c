/* libFuzzer target: the processors' answers as the adapters map them (stripe_wire,
 * adyen_wire, authorizenet_wire). The first byte picks the processor and call, the second
 * the HTTP status; the rest is the body, as the processor (or anything between) may send
 * it. Each mapping must end with an outcome and never read past the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyen_wire.h"
#include "authorizenet_wire.h"
#include "base/arena.h"
#include "base/check.h"
#include "stripe_wire.h"

enum { FUZZ_ARENA_BYTES = 4 << 20 };

static const long statuses[] = {200, 201, 400, 401, 402, 403, 404, 409, 422, 429, 500, 503};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned pick = data[0];
  long status = statuses[data[1] % (sizeof statuses / sizeof *statuses)];
  size_t len = size - 2;
  /* The adapters hand the mappers a NUL-terminated copy of the body. */
  char *body = malloc(len + 1);
  CHECK(body != NULL);
  memcpy(body, data + 2, len);
  body[len] = '\0';
  arena *a = arena_create(FUZZ_ARENA_BYTES);
  CHECK(a != NULL);
  Ccpay__V1__Money requested = CCPAY__V1__MONEY__INIT;
  requested.currency_code = "USD";
  requested.amount_minor = 1234;
  Ccpay__Gateway__V1__OperationResult result = CCPAY__GATEWAY__V1__OPERATION_RESULT__INIT;
  bool duplicate = false;
  char trans_id[64];
  switch (pick % 8) {
    case 0:
    case 1:
      (void)stripe_wire_map(a, (stripe_wire_call)((pick >> 3) % 4), status, body, len, &requested,
                            &result);
      (void)stripe_wire_lookup_adjust(status, &result);
      break;
    case 2:
    case 3:
      (void)adyen_wire_map(a, (adyen_wire_call)((pick >> 3) % 3), status, (pick & 0x80) != 0, body,
                           &requested, &result);
      break;
    case 4:
    case 5:
      (void)authorizenet_wire_map_transaction(a, (authorizenet_wire_kind)((pick >> 3) % 6), status,
                                              body, len, &requested, &result, &duplicate);
      break;
    case 6:
      (void)authorizenet_wire_map_list(a, (authorizenet_wire_kind)((pick >> 3) % 6), body, len,
                                       "inv-0001", "USD", 2, &result, trans_id);
      break;
    default:
      (void)authorizenet_wire_map_details(a, (authorizenet_wire_kind)((pick >> 3) % 6), body, len,
                                          "USD", 2, &result);
      break;
  }
  arena_destroy(a);
  free(body);
  return 0;
}
