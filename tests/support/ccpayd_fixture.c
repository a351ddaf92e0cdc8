#include "ccpayd_fixture.h"

#include <stdio.h>
#include <stdlib.h>

bool ccpayd_fixture_start(ccpayd_fixture *f) {
  if (!ccpayd_start(&f->server, NULL)) return false;
  /* The port is new on every start: the old client points nowhere. */
  test_client_destroy(f->client);
  f->client = test_client_create(f->server.port);
  if (f->client == NULL) fprintf(stderr, "ccpayd_fixture: no client: out of memory\n");
  if (f->client != NULL) test_client_set_token(f->client, f->server.admin_token);
  return f->client != NULL;
}

static int fixture_create(void **state, bool start) {
  ccpayd_fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  if (!ccpayd_init(&f->server) || (start && !ccpayd_fixture_start(f))) {
    test_client_destroy(f->client);
    ccpayd_destroy(&f->server);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

int ccpayd_fixture_setup(void **state) { return fixture_create(state, true); }

int ccpayd_fixture_setup_no_server(void **state) { return fixture_create(state, false); }

int ccpayd_fixture_teardown(void **state) {
  ccpayd_fixture *f = *state;
  if (f == NULL) return 0;
  test_client_destroy(f->client);
  bool clean = ccpayd_finish(&f->server, f->passed);
  free(f);
  *state = NULL;
  return clean ? 0 : -1;
}

test_client *ccpayd_client_for_role(const ccpayd_process *p, const char *role,
                                    const char *agent_id) {
  char token[CCPAYD_TOKEN_BYTES_MAX];
  if (!ccpayd_token_create(p, role, agent_id, NULL, token, sizeof token)) return NULL;
  test_client *client = test_client_create(p->port);
  if (client != NULL) test_client_set_token(client, token);
  return client;
}
