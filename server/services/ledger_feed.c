#include "ledger_feed.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/check.h"

struct ledger_feed {
  pthread_mutex_t lock;
  uint64_t generation;
  ledger_waiter *parked; /* a stack: order does not matter, every one is woken */
  bool closing;
};

ledger_feed *ledger_feed_create(void) {
  ledger_feed *f = calloc(1, sizeof *f);
  CHECK(f != NULL);
  CHECK(pthread_mutex_init(&f->lock, NULL) == 0);
  return f;
}

void ledger_feed_destroy(ledger_feed *f) {
  if (f == NULL) return;
  CHECK(f->parked == NULL);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

uint64_t ledger_feed_generation(ledger_feed *f) {
  pthread_mutex_lock(&f->lock);
  uint64_t g = f->generation;
  pthread_mutex_unlock(&f->lock);
  return g;
}

bool ledger_feed_park(ledger_feed *f, ledger_waiter *w, uint64_t seen, bool *closing) {
  CHECK(!w->parked && w->wake != NULL);
  pthread_mutex_lock(&f->lock);
  *closing = f->closing;
  bool park = !f->closing && f->generation == seen;
  if (park) {
    w->next = f->parked;
    f->parked = w;
    w->parked = true;
  }
  pthread_mutex_unlock(&f->lock);
  return park;
}

bool ledger_feed_unpark(ledger_feed *f, ledger_waiter *w) {
  pthread_mutex_lock(&f->lock);
  bool was_parked = w->parked;
  if (was_parked) {
    ledger_waiter **p = &f->parked;
    while (*p != w) {
      CHECK(*p != NULL);
      p = &(*p)->next;
    }
    *p = w->next;
    w->parked = false;
  }
  pthread_mutex_unlock(&f->lock);
  return was_parked;
}

/* Takes every parked waiter off the feed (under the lock) and wakes them after it. */
static void wake_all(ledger_feed *f, bool closing) {
  pthread_mutex_lock(&f->lock);
  f->generation++;
  if (closing) f->closing = true;
  ledger_waiter *list = f->parked;
  f->parked = NULL;
  for (ledger_waiter *w = list; w != NULL; w = w->next) w->parked = false;
  pthread_mutex_unlock(&f->lock);
  while (list != NULL) {
    ledger_waiter *next = list->next; /* read first: wake may free the waiter */
    list->wake(list, closing);
    list = next;
  }
}

void ledger_feed_notify(void *feed) { wake_all(feed, false); }

void ledger_feed_close(ledger_feed *f) { wake_all(f, true); }
