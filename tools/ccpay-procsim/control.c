/* The control API (docs/PROCSIM.md, "Control API"): plain JSON on the same port, no
 * credentials, never faulted. For tests and development only, like the whole sandbox. */
#include <string.h>

#include "base/check.h"
#include "procsim.h"

static void reply_error(procsim_call *call, int status, const char *message) {
  procsim_reply_json(call, status, json_pack("{s:s}", "error", message));
}

static bool is_processor_name(const char *name) {
  if (strcmp(name, "any") == 0) return true;
  for (int p = 0; p < SIM_PROCESSOR_COUNT; p++) {
    if (strcmp(name, sim_processor_name((sim_processor)p)) == 0) return true;
  }
  return false;
}

/* POST /procsim/faults {"processor","path_contains","fault","count"}. */
static void add_fault(procsim_call *call) {
  json_error_t error;
  json_t *body = json_loadb(call->request->body, call->request->body_len, 0, &error);
  const char *processor = json_string_value(json_object_get(body, "processor"));
  const char *path = json_string_value(json_object_get(body, "path_contains"));
  const char *fault = json_string_value(json_object_get(body, "fault"));
  const json_t *count = json_object_get(body, "count");
  fault_kind kind = FAULT_NONE;
  json_int_t n = count == NULL ? 1 : json_is_integer(count) ? json_integer_value(count) : -1;
  if (processor == NULL) processor = "any";
  if (path == NULL) path = "";
  if (!json_is_object(body) || fault == NULL || !fault_kind_parse(fault, &kind) ||
      !is_processor_name(processor) || n < 1 || n > FAULT_RULE_COUNT_MAX ||
      strlen(path) > FAULT_PATH_BYTES_MAX) {
    reply_error(call, 400,
                "expected {\"processor\":\"stripe|adyen|authorizenet|any\",\"path_contains\":"
                "\"...\",\"fault\":\"timeout|5xx|slow|drop_after_commit\",\"count\":N}");
  } else if (!faults_add_rule(call->sim->faults, processor, path, kind, (unsigned)n)) {
    reply_error(call, 409, "too many fault rules; POST /procsim/faults/clear");
  } else {
    procsim_reply_json(call, 200,
                       json_pack("{s:s, s:s, s:s, s:I}", "processor", processor, "path_contains",
                                 path, "fault", fault, "count", n));
  }
  json_decref(body);
}

static void ledger(procsim_call *call) {
  sim_lock(call->sim->state);
  json_t *document = sim_ledger_json(call->sim->state);
  sim_unlock(call->sim->state);
  procsim_reply_json(call, 200, document);
}

void control_handle(procsim_call *call) {
  const char *path = call->request->path;
  bool get = strcmp(call->request->method, "GET") == 0;
  bool post = strcmp(call->request->method, "POST") == 0;
  if (strcmp(path, "/procsim/health") == 0 && get) {
    procsim_reply_json(call, 200, json_pack("{s:s}", "status", "ok"));
  } else if (strcmp(path, "/procsim/ledger") == 0 && get) {
    ledger(call);
  } else if (strcmp(path, "/procsim/faults") == 0 && post) {
    add_fault(call);
  } else if (strcmp(path, "/procsim/faults/clear") == 0 && post) {
    faults_clear(call->sim->faults);
    procsim_reply_json(call, 200, json_pack("{s:b}", "cleared", 1));
  } else {
    reply_error(call, 404, "no such control endpoint");
  }
}
