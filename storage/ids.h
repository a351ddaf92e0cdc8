/* Record ids: server-generated, time-ordered, unique across restarts, and shown with a
 * prefix naming the kind ("cus_0GBJ5Z8W1Q2M4"), so a support engineer can tell what an
 * id is. The number is (wall-clock ms << 16 | sequence), kept strictly increasing by a
 * high-water mark stored in the same transaction that hands the id out: a clock step
 * back, or a restart, never repeats an id. Text: prefix, "_", 13 characters of Crockford
 * base32 (upper case; parsing also accepts lower case). */
#ifndef CCPAY_STORAGE_IDS_H
#define CCPAY_STORAGE_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store.h"

typedef enum id_kind {
  ID_CUSTOMER,     /* cus_ */
  ID_ORDER,        /* ord_ */
  ID_PAYMENT,      /* pay_ */
  ID_TXN,          /* txn_ */
  ID_RETURN,       /* rma_ */
  ID_INVOICE,      /* inv_ */
  ID_ENTRY,        /* je_  */
  ID_REFUND_CHECK, /* rck_ */
  ID_TOKEN,        /* tok_ */
  ID_KIND_COUNT
} id_kind;

enum { ID_TEXT_BYTES_MAX = 24 }; /* longest prefix + "_" + 13 + NUL, with room */

/* The prefix of kind, without "_" (e.g. "cus"). */
const char *id_prefix(id_kind kind);

/* Writes the text form of value into out. */
void id_format(id_kind kind, uint64_t value, char out[ID_TEXT_BYTES_MAX]);

/* Parses text of the given kind; false when the prefix, length or characters are wrong
 * or the value is 0. */
bool id_parse(id_kind kind, const char *text, uint64_t *out);

/* What id_get_record reads names itself ("customer", "order"…) in its messages. */
const char *id_kind_noun(id_kind kind);

/* Reads the record of kind with id from db (keyed by the 8-byte big-endian id) into arena
 * a, and checks it is the record its key names: its string field "id" must parse as that
 * id. CCPAY_ERR_NOT_FOUND (error filled: "order ord_… not found") when absent;
 * CCPAY_ERR_STORAGE when the bytes do not decode or name another id. */
ccpay_err id_get_record(store_txn *txn, store_db db, id_kind kind, uint64_t id,
                        const ProtobufCMessageDescriptor *descriptor, arena *a,
                        ProtobufCMessage **out, ccpay_error *error);

/* Write transaction only: the next id, greater than every id handed out before in this
 * database, and persists the new high-water mark in the same transaction. */
ccpay_err id_next(store_txn *txn, uint64_t *out, ccpay_error *error);

#endif
