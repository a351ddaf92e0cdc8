/* The one dispatch path of ccpay-procsim, and what the processor modules share.
 *
 * procsim_handle (the https_server handler) routes by path, in this order:
 *   /procsim/...        → control.c (never faulted, no credentials)
 *   /v1/...             → stripe.c
 *   /v71/..., /pal/...  → adyen.c
 *   /xml/v1/request.api → authorizenet.c
 * then picks the request's fault (faults.h). A timeout or 5xx fault is served here,
 * before the processor sees the request: nothing is done and nothing is saved under an
 * idempotency key. Otherwise the processor module checks credentials and parameters and
 * calls procsim_execute for the part that acts; procsim_execute applies the idempotency
 * rules and the post-action faults (slow, drop_after_commit). Each request is logged in
 * one line.
 *
 * Threads: handlers run on connection threads; shared state is behind sim_state's lock. */
#ifndef CCPAY_PROCSIM_PROCSIM_H
#define CCPAY_PROCSIM_PROCSIM_H

#include <stdbool.h>

#include "faults.h"
#include "http_message.h"
#include "https_server.h"
#include "sim_state.h"

typedef struct procsim_config {
  int slow_ms;
  int hang_ms;
  bool adyen_unlinked_refunds;
} procsim_config;

typedef struct procsim {
  sim_state *state;
  faults *faults;
  procsim_config config;
} procsim;

/* One request in flight. */
typedef struct procsim_call {
  procsim *sim;
  https_exchange *exchange;
  const http_request *request;
  http_response *response;
  sim_processor processor;
  fault_kind fault;
  bool fault_applied;              /* procsim_execute applied the post-action fault */
  bool replayed;                   /* answered from an idempotency record */
  char key[SIM_KEY_BYTES_MAX + 1]; /* for the log line; "" when none */
} procsim_call;

/* The https_server handler; context is a procsim. */
void procsim_handle(void *context, https_exchange *exchange, const http_request *request,
                    http_response *response);

/* What the idempotency outcomes look like in one processor's style. */
typedef struct procsim_idem_style {
  /* Answers for a key used with other parameters, and for a key still in progress. */
  void (*mismatch)(procsim_call *call);
  void (*in_progress)(procsim_call *call);
  /* Header added to a replayed answer ("Idempotent-Replayed"), or NULL. */
  const char *replay_header;
} procsim_idem_style;

/* Runs act(call, argument) under the state lock to fill call->response, with:
 *   - key != NULL: the idempotency record (scope, key) — a replay, mismatch or
 *     in-progress answer instead of acting; the response is saved once acted;
 *   - the post-action fault: slow (the key stays in progress during the delay) or
 *     drop_after_commit (the response is saved, then the connection closed). */
void procsim_execute(procsim_call *call, const char *scope, const char *key,
                     const unsigned char fingerprint[SIM_FINGERPRINT_BYTES],
                     const procsim_idem_style *style,
                     void (*act)(procsim_call *call, void *argument), void *argument);

/* Sets a JSON response from value, which it steals (NULL: a bare 500). */
void procsim_reply_json(procsim_call *call, int status, json_t *value);

/* Formats an int64 minor-unit amount as a 2-decimal string ("12.34"). */
void procsim_format_decimal(int64_t minor, char *out, size_t size);

/* Processor modules. Each answers every request it is routed, in its own style. */
void stripe_handle(procsim_call *call);
void stripe_server_error(procsim_call *call);
void adyen_handle(procsim_call *call);
void adyen_server_error(procsim_call *call);
void authorizenet_handle(procsim_call *call);
void authorizenet_server_error(procsim_call *call);
void control_handle(procsim_call *call);

#endif
