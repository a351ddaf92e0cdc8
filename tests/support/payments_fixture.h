/* What a payments integration test starts from: the real ccpay-procsim, and the real
 * ccpayd configured with the three real adapters pointed at it (each adapter's config
 * file written 0600 with procsim's credentials and CA), plus a test_client.
 *
 * Setup waits until every adapter answers, so a test can take a card payment at once.
 * Teardown stops ccpayd (which stops its adapters) and procsim, prints their logs when
 * the test did not pass or a process did not end cleanly, and fails the test then. */
#ifndef CCPAY_TESTS_SUPPORT_PAYMENTS_FIXTURE_H
#define CCPAY_TESTS_SUPPORT_PAYMENTS_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "ccpay/v1/payment.pb-c.h"

#include "ccpayd_process.h"
#include "procsim_control.h"
#include "procsim_process.h"
#include "test_client.h"

typedef struct payments_fixture {
  procsim_process procsim;
  procsim_control control;
  ccpayd_process server;
  test_client *client;
  char config_path[PATH_MAX]; /* ccpayd's INI file */
  bool passed;
} payments_fixture;

typedef struct payments_fixture_options {
  bool capture_at_submit;      /* ccpayd's [payments] capture_at_submit */
  int adapter_timeout_ms;      /* each adapter's whole-request timeout; 0: 3000 */
  bool break_authorizenet;     /* its config lacks credentials: the adapter never comes up */
  const char *hold_above;      /* ccpayd's [fraud] hold_above, e.g. "USD:4000"; NULL: none */
  bool adyen_unlinked_refunds; /* the Adyen account (adapter and procsim) allows them */
} payments_fixture_options;

/* cmocka shapes: a fixture in *state, or -1 with nothing left behind. */
int payments_fixture_setup(void **state);
int payments_fixture_setup_with(void **state, const payments_fixture_options *options);
int payments_fixture_teardown(void **state);

/* Waits until ccpayd's log says processor's adapter is up (at most timeout_ms). */
bool payments_fixture_wait_adapter(payments_fixture *f, const char *processor, int timeout_ms);

/* The pid of processor's adapter as ccpayd's log last reported it; 0 when unknown. */
int payments_fixture_adapter_pid(const payments_fixture *f, const char *processor);

/* Stops ccpayd (closing the client) and proves every invariant of its database with
 * `ccpay-admin verify`. False with why (its output's end) when verify did not pass. */
bool payments_fixture_verify(payments_fixture *f, char *why, size_t why_size);

/* Whether procsim's record of card payment p (by its processor reference) holds what
 * ccpay's does: captured and refunded. False with why when not. */
bool payments_fixture_procsim_matches(payments_fixture *f, const Ccpay__V1__Payment *p, char *why,
                                      size_t why_size);

/* Restarts ccpayd on the same data directory (after ccpayd_kill or ccpayd_stop),
 * reconnecting the client and waiting for the adapters. */
bool payments_fixture_restart(payments_fixture *f);

#endif
