#include "ids.h"

#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "keys.h"

enum {
  ID_DIGITS = 13,      /* 4 bits in the first digit, then 12 digits of 5 bits: 64 bits */
  ID_FIRST_MAX = 0x0f, /* the first digit carries only the top 4 bits */
};

/* Crockford's base32 alphabet is in ASCII order, so fixed-length ids compare as text in
 * the same order as their numbers (a cursor over ids in text and in binary agree). */
static const char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
_Static_assert(sizeof id_alphabet == 32 + 1, "32 digits");

static const char *const id_prefixes[ID_KIND_COUNT] = {
    [ID_CUSTOMER] = "cus", [ID_ORDER] = "ord",        [ID_PAYMENT] = "pay",
    [ID_TXN] = "txn",      [ID_RETURN] = "rma",       [ID_INVOICE] = "inv",
    [ID_ENTRY] = "je",     [ID_REFUND_CHECK] = "rck", [ID_TOKEN] = "tok",
};

static const char *const id_nouns[ID_KIND_COUNT] = {
    [ID_CUSTOMER] = "customer",   [ID_ORDER] = "order",
    [ID_PAYMENT] = "payment",     [ID_TXN] = "transaction",
    [ID_RETURN] = "return",       [ID_INVOICE] = "invoice",
    [ID_ENTRY] = "journal entry", [ID_REFUND_CHECK] = "refund check",
    [ID_TOKEN] = "token",
};

/* The META key of the high-water mark: the largest id handed out, 8 bytes big-endian. */
static const char id_high_water_key[] = "id_high_water";

const char *id_prefix(id_kind kind) {
  CHECK(kind >= 0 && kind < ID_KIND_COUNT);
  CHECK(id_prefixes[kind] != NULL);
  return id_prefixes[kind];
}

void id_format(id_kind kind, uint64_t value, char out[ID_TEXT_BYTES_MAX]) {
  const char *prefix = id_prefix(kind);
  size_t prefix_len = strlen(prefix);
  CHECK(prefix_len + 1 + ID_DIGITS + 1 <= ID_TEXT_BYTES_MAX);

  memcpy(out, prefix, prefix_len);
  out[prefix_len] = '_';
  char *digits = out + prefix_len + 1;
  /* Least significant digit last: 12 digits of 5 bits, then the top 4 bits first. */
  for (int i = ID_DIGITS - 1; i >= 0; i--) {
    digits[i] = id_alphabet[value & 0x1f];
    value >>= 5;
  }
  CHECK(value == 0);
  digits[ID_DIGITS] = '\0';
}

/* The value of one base32 digit, upper or lower case; -1 for anything else (including
 * I, L, O and U, which Crockford's alphabet leaves out). */
static int id_digit_value(char c) {
  if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
  const char *p = memchr(id_alphabet, c, 32); /* not the NUL that ends the table */
  if (p == NULL) return -1;
  return (int)(p - id_alphabet);
}

bool id_parse(id_kind kind, const char *text, uint64_t *out) {
  CHECK(text != NULL);
  CHECK(out != NULL);
  const char *prefix = id_prefix(kind);
  size_t prefix_len = strlen(prefix);
  if (strncmp(text, prefix, prefix_len) != 0 || text[prefix_len] != '_') return false;
  const char *digits = text + prefix_len + 1;
  if (strnlen(digits, ID_DIGITS + 1) != ID_DIGITS) return false;

  uint64_t value = 0;
  for (int i = 0; i < ID_DIGITS; i++) {
    int digit = id_digit_value(digits[i]);
    /* A first digit above 15 would need a 65th bit. */
    if (digit < 0 || (i == 0 && digit > ID_FIRST_MAX)) return false;
    value = (value << 5) | (uint64_t)digit;
  }
  if (value == 0) return false;
  *out = value;
  return true;
}

/* Reads the high-water mark in txn; 0 when no id was handed out yet. */
static ccpay_err id_high_water_read(store_txn *txn, uint64_t *out, ccpay_error *error) {
  store_val value;
  ccpay_err err =
      store_get(txn, STORE_DB_META, id_high_water_key, strlen(id_high_water_key), &value, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    *out = 0;
    return CCPAY_OK;
  }
  if (err != CCPAY_OK) return err;
  if (value.len != 8) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record in meta: %s has %zu bytes",
                           id_high_water_key, value.len);
  }
  *out = key_get_u64(value.data);
  return CCPAY_OK;
}

ccpay_err id_next(store_txn *txn, uint64_t *out, ccpay_error *error) {
  CHECK(txn != NULL);
  CHECK(out != NULL);
  /* The mark is read from the transaction every time, never cached: a command whose
   * nested transaction is aborted rolls its mark back too, and a cache would not. */
  uint64_t high_water = 0;
  ccpay_err err = id_high_water_read(txn, &high_water, error);
  if (err != CCPAY_OK) return err;
  if (high_water == UINT64_MAX) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "id space exhausted");
  }

  int64_t now_ms = clock_wall_ms();
  CHECK(now_ms > 0 && now_ms < ((int64_t)1 << 47)); /* << 16 must not overflow */
  uint64_t id = (uint64_t)now_ms << 16;
  /* After a clock step back, a restart in the same ms, or more than 65536 ids in one
   * ms, the mark wins: ids stay strictly increasing. */
  if (id <= high_water) id = high_water + 1;
  CHECK(id > high_water);

  uint8_t be[8];
  key_put_u64(be, id);
  err = store_put(txn, STORE_DB_META, id_high_water_key, strlen(id_high_water_key), be, sizeof be,
                  error);
  if (err != CCPAY_OK) return err;
  *out = id;
  return CCPAY_OK;
}

const char *id_kind_noun(id_kind kind) {
  CHECK(kind >= 0 && kind < ID_KIND_COUNT);
  CHECK(id_nouns[kind] != NULL);
  return id_nouns[kind];
}

/* The value of the string field "id" of message, or NULL when it has none. */
static const char *record_id_field(const ProtobufCMessage *message) {
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field_by_name(message->descriptor, "id");
  CHECK(field != NULL && field->type == PROTOBUF_C_TYPE_STRING);
  return *(const char *const *)((const char *)message + field->offset);
}

ccpay_err id_get_record(store_txn *txn, store_db db, id_kind kind, uint64_t id,
                        const ProtobufCMessageDescriptor *descriptor, arena *a,
                        ProtobufCMessage **out, ccpay_error *error) {
  CHECK(txn != NULL && a != NULL && out != NULL);
  uint8_t key[8];
  key_put_u64(key, id);
  ccpay_err err = store_get_message(txn, db, key, sizeof key, descriptor, a, out, error);
  if (err == CCPAY_ERR_NOT_FOUND) {
    char text[ID_TEXT_BYTES_MAX];
    id_format(kind, id, text);
    return ccpay_error_set(error, CCPAY_ERR_NOT_FOUND, "%s %s not found", id_kind_noun(kind), text);
  }
  if (err != CCPAY_OK) return err;
  /* Read back what was written: the record must be the one its key names. */
  const char *stored = record_id_field(*out);
  uint64_t stored_id = 0;
  if (stored == NULL || !id_parse(kind, stored, &stored_id) || stored_id != id) {
    return ccpay_error_set(error, CCPAY_ERR_STORAGE, "corrupt record: %s %llu names another id",
                           id_kind_noun(kind), (unsigned long long)id);
  }
  return CCPAY_OK;
}
