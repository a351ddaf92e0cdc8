/* Followers of the ledger: StreamEntries calls that have sent everything committed so
 * far and wait for more. The storage writer's commit listener calls ledger_feed_notify
 * after every durable batch; each waiting stream then reads what is new from a fresh
 * snapshot. A generation counter, bumped on every notify, closes the window between a
 * stream's last read and its parking: a stream parks only if nothing was committed
 * since that read began. */
#ifndef CCPAY_SERVICES_LEDGER_FEED_H
#define CCPAY_SERVICES_LEDGER_FEED_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ledger_feed ledger_feed;

/* A waiter: wake runs on the notifying thread (the storage writer) or on the one
 * closing the feed; it must not block. */
typedef struct ledger_waiter ledger_waiter;
struct ledger_waiter {
  void (*wake)(ledger_waiter *w, bool closing);
  ledger_waiter *next; /* the feed's */
  bool parked;         /* the feed's, under its lock */
};

ledger_feed *ledger_feed_create(void);
void ledger_feed_destroy(ledger_feed *f);

/* The current generation; read it before taking a snapshot. */
uint64_t ledger_feed_generation(ledger_feed *f);

/* Parks w unless the generation moved past seen or the feed is closing; false when not
 * parked (read again, or finish when closing). */
bool ledger_feed_park(ledger_feed *f, ledger_waiter *w, uint64_t seen, bool *closing);

/* Removes w if parked; true when it was (the caller now owns its wake-up). */
bool ledger_feed_unpark(ledger_feed *f, ledger_waiter *w);

/* The commit listener: bumps the generation and wakes every parked waiter. */
void ledger_feed_notify(void *feed);

/* Wakes every waiter with closing = true and refuses to park any more (shutdown). */
void ledger_feed_close(ledger_feed *f);

#endif
