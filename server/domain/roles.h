/* Roles and permissions: the one table of which role holds which permission, and the
 * list of every permission the method table may name. Pure data and look-ups: no I/O.
 *
 * A permission is "area.right" ("orders.write"). The method table (server/services) names
 * the one each method needs; handlers ask for further rights through
 * rpc_call_has_permission (e.g. "payments.alternate_payment" for an unlinked refund).
 * Every name either of them uses must be in roles_permissions_all, and a test walks
 * every method of the server's table with every role against this table. */
#ifndef CCPAY_DOMAIN_ROLES_H
#define CCPAY_DOMAIN_ROLES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

typedef struct role_def {
  const char *name;               /* "csr" */
  const char *description;        /* one line, for docs and --help */
  const char *const *permissions; /* NULL-terminated, static */
} role_def;

/* Every role, in a fixed order; *count receives how many. */
const role_def *roles_all(size_t *count);

/* The role named name; NULL when there is none. */
const role_def *roles_find(const char *name);

/* True when r holds permission. */
bool roles_grants(const role_def *r, const char *permission);

/* Every permission there is, NULL-terminated. */
const char *const *roles_permissions_all(void);

/* True when permission is in roles_permissions_all. */
bool roles_permission_known(const char *permission);

/* An agent id: 1..AGENT_ID_BYTES_MAX bytes of printable ASCII without spaces, and no
 * card number. field names it in the error. */
ccpay_err roles_validate_agent_id(const char *field, const char *agent_id, ccpay_error *error);

/* The names of every role, comma-separated ("csr, supervisor, ..."), for messages. */
const char *roles_names(void);

#endif
