#include "procsim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"

enum { LOG_VALUE_BYTES_MAX = 300 };

void procsim_reply_json(procsim_call *call, int status, json_t *value) {
  if (value == NULL) {
    http_response_set(call->response, 500, "application/json", NULL, 0);
    return;
  }
  http_response_json(call->response, status, value, NULL);
  json_decref(value);
}

void procsim_format_decimal(int64_t minor, char *out, size_t size) {
  CHECK(minor >= 0);
  int n = snprintf(out, size, "%" PRId64 ".%02" PRId64, minor / 100, minor % 100);
  CHECK(n > 0 && (size_t)n < size);
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Which processor serves path; false for control and unknown paths. */
static bool processor_of(const char *path, sim_processor *out) {
  if (starts_with(path, "/v1/")) {
    *out = SIM_STRIPE;
  } else if (starts_with(path, "/v71/") || starts_with(path, "/pal/servlet/Payment/")) {
    *out = SIM_ADYEN;
  } else if (strcmp(path, "/xml/v1/request.api") == 0) {
    *out = SIM_AUTHORIZENET;
  } else {
    return false;
  }
  return true;
}

static void log_request(const procsim_call *call, const char *processor, int64_t started_us) {
  char path[LOG_VALUE_BYTES_MAX], key[LOG_VALUE_BYTES_MAX];
  const http_response *r = call->response;
  log_info(
      "event=request method=%s path=%s processor=%s status=%d answered=%s fault=%s "
      "replayed=%s key=%s ms=%" PRId64,
      call->request->method, log_quote(call->request->path, path, sizeof path), processor,
      r->disposition == HTTP_RESPOND ? r->status : 0,
      r->disposition == HTTP_RESPOND ? "true" : "false", fault_kind_name(call->fault),
      call->replayed ? "true" : "false", log_quote(call->key, key, sizeof key),
      (clock_mono_us() - started_us) / 1000);
}

static void route_to_processor(procsim_call *call) {
  procsim *sim = call->sim;
  call->fault = faults_pick(sim->faults, sim_processor_name(call->processor), call->request->path);
  if (call->fault == FAULT_TIMEOUT) {
    /* Read, not acted on, not answered: hold the connection, then close it. */
    https_exchange_wait_ms(call->exchange, sim->config.hang_ms);
    call->response->disposition = HTTP_DROP;
    return;
  }
  if (call->fault == FAULT_5XX) {
    switch (call->processor) {
      case SIM_STRIPE:
        stripe_server_error(call);
        break;
      case SIM_ADYEN:
        adyen_server_error(call);
        break;
      case SIM_AUTHORIZENET:
        authorizenet_server_error(call);
        break;
      default:
        CHECK(false);
    }
    return;
  }
  switch (call->processor) {
    case SIM_STRIPE:
      stripe_handle(call);
      break;
    case SIM_ADYEN:
      adyen_handle(call);
      break;
    case SIM_AUTHORIZENET:
      authorizenet_handle(call);
      break;
    default:
      CHECK(false);
  }
  /* A request refused before acting (credentials, parameters) still gets the fault. */
  if (!call->fault_applied && call->fault == FAULT_SLOW) {
    https_exchange_wait_ms(call->exchange, sim->config.slow_ms);
  }
  if (!call->fault_applied && call->fault == FAULT_DROP_AFTER_COMMIT) {
    call->response->disposition = HTTP_DROP;
  }
}

void procsim_handle(void *context, https_exchange *exchange, const http_request *request,
                    http_response *response) {
  CHECK(context != NULL && request != NULL && response != NULL);
  int64_t started_us = clock_mono_us();
  procsim_call call = {.sim = context,
                       .exchange = exchange,
                       .request = request,
                       .response = response,
                       .fault = FAULT_NONE};
  const char *processor = "none";
  if (starts_with(request->path, "/procsim/")) {
    processor = "control";
    control_handle(&call);
  } else if (processor_of(request->path, &call.processor)) {
    processor = sim_processor_name(call.processor);
    route_to_processor(&call);
  } else {
    procsim_reply_json(&call, 404,
                       json_pack("{s:s, s:s}", "error", "not_found", "path", request->path));
  }
  log_request(&call, processor, started_us);
}

void procsim_execute(procsim_call *call, const char *scope, const char *key,
                     const unsigned char fingerprint[SIM_FINGERPRINT_BYTES],
                     const procsim_idem_style *style,
                     void (*act)(procsim_call *call, void *argument), void *argument) {
  CHECK(call != NULL && act != NULL);
  CHECK(key == NULL || (scope != NULL && fingerprint != NULL && style != NULL));
  sim_state *state = call->sim->state;
  if (key != NULL) sim_copy(call->key, sizeof call->key, key);
  sim_lock(state);
  if (key != NULL) {
    sim_idem_status status = sim_idem_begin(state, scope, key, fingerprint, call->response);
    if (status != SIM_IDEM_NEW) {
      sim_unlock(state);
      if (status == SIM_IDEM_MISMATCH) style->mismatch(call);
      if (status == SIM_IDEM_IN_PROGRESS || status == SIM_IDEM_FULL) style->in_progress(call);
      if (status == SIM_IDEM_REPLAY) {
        call->replayed = true;
        if (style->replay_header != NULL) {
          http_response_add_header(call->response, style->replay_header, "true");
        }
      }
      return; /* the dispatcher applies slow/drop to these answers */
    }
  }
  act(call, argument);
  sim_unlock(state);
  call->fault_applied = true;
  if (call->fault == FAULT_SLOW) {
    /* Still "executing" from the client's view: the key stays in progress. */
    https_exchange_wait_ms(call->exchange, call->sim->config.slow_ms);
  }
  if (key != NULL) {
    sim_lock(state);
    sim_idem_complete(state, scope, key, call->response);
    sim_unlock(state);
  }
  if (call->fault == FAULT_DROP_AFTER_COMMIT) call->response->disposition = HTTP_DROP;
}
