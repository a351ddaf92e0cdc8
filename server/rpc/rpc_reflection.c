/* Server reflection (grpc.reflection.v1 and v1alpha, which share one wire format): lets
 * grpcurl and buf curl list services and fetch file descriptors with no .proto files.
 * Built once at start from the embedded FileDescriptorSet: every file keeps its encoded
 * bytes and its dependencies; every fully qualified symbol (message, enum, service,
 * method) maps to its file. A file is answered together with all it imports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/check.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "rpc_internal.h"

enum {
  REFLECTION_FILES_MAX = 256,
  REFLECTION_SERVICES_MAX = 64,
};

typedef struct reflection_file {
  const char *name;
  ProtobufCBinaryData bytes; /* the FileDescriptorProto as encoded */
  size_t *dependencies;      /* indexes into files */
  size_t dependency_count;
} reflection_file;

typedef struct reflection_symbol {
  char *name; /* fully qualified, no leading dot */
  size_t file;
} reflection_symbol;

struct rpc_reflection {
  rpc_server *server;
  Google__Protobuf__FileDescriptorSet *set;
  reflection_file *files;
  size_t file_count;
  reflection_symbol *symbols;
  size_t symbol_count;
  size_t symbol_capacity;
};

static void add_symbol(rpc_reflection *r, const char *scope, const char *name, size_t file) {
  if (r->symbol_count == r->symbol_capacity) {
    r->symbol_capacity = r->symbol_capacity == 0 ? 256 : r->symbol_capacity * 2;
    r->symbols = realloc(r->symbols, r->symbol_capacity * sizeof *r->symbols);
    CHECK(r->symbols != NULL);
  }
  size_t len = strlen(scope) + strlen(name) + 2;
  char *full = malloc(len);
  CHECK(full != NULL);
  snprintf(full, len, "%s%s%s", scope, scope[0] != '\0' ? "." : "", name);
  r->symbols[r->symbol_count++] = (reflection_symbol){.name = full, .file = file};
}

static void add_enums(rpc_reflection *r, const char *scope, size_t count,
                      Google__Protobuf__EnumDescriptorProto **enums, size_t file) {
  for (size_t i = 0; i < count; i++) add_symbol(r, scope, enums[i]->name, file);
}

static void add_messages(rpc_reflection *r, const char *scope, size_t count,
                         Google__Protobuf__DescriptorProto **messages, size_t file) {
  for (size_t i = 0; i < count; i++) {
    add_symbol(r, scope, messages[i]->name, file);
    /* The name string is its own allocation: stable while the array grows. */
    const char *nested_scope = r->symbols[r->symbol_count - 1].name;
    add_messages(r, nested_scope, messages[i]->n_nested_type, messages[i]->nested_type, file);
    add_enums(r, nested_scope, messages[i]->n_enum_type, messages[i]->enum_type, file);
  }
}

static int symbol_compare(const void *a, const void *b) {
  return strcmp(((const reflection_symbol *)a)->name, ((const reflection_symbol *)b)->name);
}

static ssize_t file_index(const rpc_reflection *r, const char *name) {
  for (size_t i = 0; i < r->file_count; i++) {
    if (strcmp(r->files[i].name, name) == 0) return (ssize_t)i;
  }
  return -1;
}

static const reflection_symbol *find_symbol(const rpc_reflection *r, const char *name) {
  reflection_symbol key = {.name = (char *)name};
  return bsearch(&key, r->symbols, r->symbol_count, sizeof key, symbol_compare);
}

static ccpay_err index_file(rpc_reflection *r, size_t index, ccpay_error *error) {
  Google__Protobuf__FileDescriptorProto *f = r->set->file[index];
  reflection_file *rf = &r->files[index];
  rf->name = f->name;
  rf->bytes.len = protobuf_c_message_get_packed_size(&f->base);
  rf->bytes.data = malloc(rf->bytes.len);
  CHECK(rf->bytes.data != NULL);
  protobuf_c_message_pack(&f->base, rf->bytes.data);
  rf->dependencies = calloc(f->n_dependency + 1, sizeof *rf->dependencies);
  CHECK(rf->dependencies != NULL);
  for (size_t d = 0; d < f->n_dependency; d++) {
    /* --include_imports lists every file after the files it imports. */
    ssize_t dep = file_index(r, f->dependency[d]);
    if (dep < 0 || (size_t)dep >= index) {
      return ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                             "descriptor set: %s imports %s, which comes later or is missing",
                             f->name, f->dependency[d]);
    }
    rf->dependencies[rf->dependency_count++] = (size_t)dep;
  }
  const char *package = f->package != NULL ? f->package : "";
  add_messages(r, package, f->n_message_type, f->message_type, index);
  add_enums(r, package, f->n_enum_type, f->enum_type, index);
  for (size_t s = 0; s < f->n_service; s++) {
    add_symbol(r, package, f->service[s]->name, index);
    const char *service = r->symbols[r->symbol_count - 1].name;
    for (size_t m = 0; m < f->service[s]->n_method; m++) {
      add_symbol(r, service, f->service[s]->method[m]->name, index);
    }
  }
  return CCPAY_OK;
}

ccpay_err rpc_reflection_create(rpc_server *server, const uint8_t *descriptor_set, size_t len,
                                rpc_reflection **out, ccpay_error *error) {
  rpc_reflection *r = calloc(1, sizeof *r);
  CHECK(r != NULL);
  r->server = server;
  r->set = google__protobuf__file_descriptor_set__unpack(NULL, len, descriptor_set);
  if (r->set == NULL || r->set->n_file == 0 || r->set->n_file > REFLECTION_FILES_MAX) {
    rpc_reflection_destroy(r);
    return ccpay_error_set(error, CCPAY_ERR_INTERNAL,
                           "descriptor set: not a FileDescriptorSet of 1 to %d files",
                           REFLECTION_FILES_MAX);
  }
  r->files = calloc(r->set->n_file, sizeof *r->files);
  CHECK(r->files != NULL);
  r->file_count = r->set->n_file;
  for (size_t i = 0; i < r->file_count; i++) {
    ccpay_err rc = index_file(r, i, error);
    if (rc != CCPAY_OK) {
      rpc_reflection_destroy(r);
      return rc;
    }
  }
  qsort(r->symbols, r->symbol_count, sizeof *r->symbols, symbol_compare);
  *out = r;
  return CCPAY_OK;
}

void rpc_reflection_destroy(rpc_reflection *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->symbol_count; i++) free(r->symbols[i].name);
  for (size_t i = 0; i < r->file_count; i++) {
    free(r->files[i].bytes.data);
    free(r->files[i].dependencies);
  }
  free(r->symbols);
  free(r->files);
  if (r->set != NULL) google__protobuf__file_descriptor_set__free_unpacked(r->set, NULL);
  free(r);
}

/* --- Answers -------------------------------------------------------------------------- */

typedef Grpc__Reflection__V1__ServerReflectionRequest reflection_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse reflection_response;

static void answer_error(reflection_response *reply, arena *a, int32_t code, const char *message) {
  Grpc__Reflection__V1__ErrorResponse *e = arena_alloc(a, sizeof *e);
  CHECK(e != NULL);
  grpc__reflection__v1__error_response__init(e);
  e->error_code = code;
  e->error_message = arena_strndup(a, message, strlen(message));
  reply->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
  reply->error_response = e;
}

/* Appends file and, depth first, everything it imports, each file once. */
static void collect_file(const rpc_reflection *r, size_t file, bool *seen, size_t *order,
                         size_t *count) {
  if (seen[file]) return;
  seen[file] = true;
  order[(*count)++] = file;
  for (size_t d = 0; d < r->files[file].dependency_count; d++) {
    collect_file(r, r->files[file].dependencies[d], seen, order, count);
  }
}

static void answer_file(const rpc_reflection *r, reflection_response *reply, arena *a,
                        size_t file) {
  bool *seen = arena_calloc(a, r->file_count * sizeof *seen);
  size_t *order = arena_alloc(a, r->file_count * sizeof *order);
  Grpc__Reflection__V1__FileDescriptorResponse *fd = arena_alloc(a, sizeof *fd);
  CHECK(seen != NULL && order != NULL && fd != NULL);
  size_t count = 0;
  collect_file(r, file, seen, order, &count);
  grpc__reflection__v1__file_descriptor_response__init(fd);
  fd->file_descriptor_proto = arena_alloc(a, count * sizeof *fd->file_descriptor_proto);
  CHECK(fd->file_descriptor_proto != NULL);
  for (size_t i = 0; i < count; i++) fd->file_descriptor_proto[i] = r->files[order[i]].bytes;
  fd->n_file_descriptor_proto = count;
  reply->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
  reply->file_descriptor_response = fd;
}

static void answer_services(const rpc_reflection *r, reflection_response *reply, arena *a) {
  const char *names[REFLECTION_SERVICES_MAX];
  size_t lens[REFLECTION_SERVICES_MAX];
  size_t count = rpc_server_services(r->server, names, lens, REFLECTION_SERVICES_MAX);
  Grpc__Reflection__V1__ListServiceResponse *list = arena_alloc(a, sizeof *list);
  CHECK(list != NULL);
  grpc__reflection__v1__list_service_response__init(list);
  list->service = arena_alloc(a, count * sizeof *list->service);
  CHECK(list->service != NULL || count == 0);
  for (size_t i = 0; i < count; i++) {
    Grpc__Reflection__V1__ServiceResponse *s = arena_alloc(a, sizeof *s);
    CHECK(s != NULL);
    grpc__reflection__v1__service_response__init(s);
    s->name = arena_strndup(a, names[i], lens[i]);
    list->service[i] = s;
  }
  list->n_service = count;
  reply->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
  reply->list_services_response = list;
}

static void answer_extension_numbers(const rpc_reflection *r, reflection_response *reply, arena *a,
                                     const char *type) {
  if (find_symbol(r, type) == NULL) {
    answer_error(reply, a, GRPC_STATUS_NOT_FOUND, "type not found");
    return;
  }
  /* ccpay's messages declare no extensions. */
  Grpc__Reflection__V1__ExtensionNumberResponse *e = arena_alloc(a, sizeof *e);
  CHECK(e != NULL);
  grpc__reflection__v1__extension_number_response__init(e);
  e->base_type_name = (char *)type;
  reply->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
  reply->all_extension_numbers_response = e;
}

static ccpay_err reflection_on_message(rpc_call *call, const ProtobufCMessage *message,
                                       ProtobufCMessage **out, ccpay_error *error) {
  const reflection_request *request = (const reflection_request *)message;
  const rpc_reflection *r = rpc_call_context(call);
  arena *a = rpc_call_arena(call);
  reflection_response *reply = arena_alloc(a, sizeof *reply);
  CHECK(reply != NULL);
  grpc__reflection__v1__server_reflection_response__init(reply);
  reply->valid_host = request->host;
  reply->original_request = (reflection_request *)request;

  switch (request->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME: {
      ssize_t file = file_index(r, request->file_by_filename);
      if (file < 0) {
        answer_error(reply, a, GRPC_STATUS_NOT_FOUND, "file not found");
      } else {
        answer_file(r, reply, a, (size_t)file);
      }
      break;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL: {
      const reflection_symbol *symbol = find_symbol(r, request->file_containing_symbol);
      if (symbol == NULL) {
        answer_error(reply, a, GRPC_STATUS_NOT_FOUND, "symbol not found");
      } else {
        answer_file(r, reply, a, symbol->file);
      }
      break;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
      answer_error(reply, a, GRPC_STATUS_NOT_FOUND, "extension not found");
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
      answer_extension_numbers(r, reply, a, request->all_extension_numbers_of_type);
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
      answer_services(r, reply, a);
      break;
    default:
      answer_error(reply, a, GRPC_STATUS_INVALID_ARGUMENT, "no request was set");
      break;
  }
  *out = &reply->base;
  (void)error;
  return CCPAY_OK;
}

size_t rpc_reflection_methods(rpc_reflection *r, rpc_method *out) {
  static const char *const names[] = {
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
  };
  for (size_t i = 0; i < 2; i++) {
    /* v1alpha's messages are v1's under another package: same fields, same wire. */
    out[i] = (rpc_method){
        .name = names[i],
        .kind = RPC_BIDI_PER_MESSAGE,
        .request_descriptor = &grpc__reflection__v1__server_reflection_request__descriptor,
        .reply_descriptor = &grpc__reflection__v1__server_reflection_response__descriptor,
        .on_message = reflection_on_message,
        .context = r,
    };
  }
  return 2;
}
