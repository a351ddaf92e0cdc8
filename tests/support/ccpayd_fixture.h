/* What each integration test starts from: its own ccpayd (see ccpayd_process.h) on a
 * fresh data directory, and a test_client connected to it.
 *
 * The fixture owns both. Teardown stops the server gracefully, prints its log when the
 * test did not set passed or the server did not end cleanly (exit 0, no sanitizer
 * report), removes its directory, and fails the test when the end was not clean, so
 * every test also checks that its server stops well.
 *
 * The setup and teardown functions have the shape cmocka wants, int (void **state), for
 * cmocka_unit_test_setup_teardown; the library itself does not use cmocka. Start the
 * server from the main thread (see ccpayd_process.h). */
#ifndef CCPAY_TESTS_SUPPORT_CCPAYD_FIXTURE_H
#define CCPAY_TESTS_SUPPORT_CCPAYD_FIXTURE_H

#include <stdbool.h>

#include "ccpayd_process.h"
#include "test_client.h"

typedef struct ccpayd_fixture {
  ccpayd_process server;
  test_client *client; /* NULL while the server was never started */
  bool passed;         /* set as a test's last step: the teardown prints the log if not */
} ccpayd_fixture;

/* A fixture in *state with the server started and the client connected; -1 on failure,
 * with nothing left behind (ccpayd_start has printed the server's log). */
int ccpayd_fixture_setup(void **state);

/* As ccpayd_fixture_setup, but only the directory: for tests that run ccpayd themselves
 * (e.g. ccpayd_run with bad configuration). */
int ccpayd_fixture_setup_no_server(void **state);

/* Ends the fixture in *state as described above; -1 when the server did not end
 * cleanly. */
int ccpayd_fixture_teardown(void **state);

/* Starts the server on the fixture's data directory (again, after ccpayd_stop or
 * ccpayd_kill) and connects a new client to its new port. False when it did not start. */
bool ccpayd_fixture_start(ccpayd_fixture *f);

/* A new client of server p (running) that sends a new token of role for agent_id (made
 * with ccpay-admin); NULL when the token could not be made. For tests of roles, e.g. a
 * csr and a supervisor calling the same refund. Destroy it with test_client_destroy. */
test_client *ccpayd_client_for_role(const ccpayd_process *p, const char *role,
                                    const char *agent_id);

/* For cmocka tests (it expands to fail_msg): fails the test with the whole reply when
 * it did not end as expected; see test_reply_check. */
#define assert_reply(r, status, reason, text)                                    \
  do {                                                                           \
    char why_[2048];                                                             \
    if (!test_reply_check((r), (status), (reason), (text), why_, sizeof why_)) { \
      fail_msg("%s", why_);                                                      \
    }                                                                            \
  } while (0)

#endif
