/* What the runtime room's files share. */
#ifndef IDP_RUNTIME_PRIVATE_H
#define IDP_RUNTIME_PRIVATE_H

#include "runtime/runtime.h"

/* Who a daemon runs as. */
typedef struct runtime_user {
	bool switch_user;
	uid_t uid;
	gid_t gid;
} runtime_user;

/* postgres.c: the cluster made (initdb) when absent, the server's argv;
 * the role and database once it answers (*answered false: not yet); the
 * readiness probe (SELECT 1 as the role in its database). */
int runtime_postgres_prepare(idp_arena *a, const idp_runtime_daemon *d, char ***argv, runtime_user *u, idp_err *err);
int runtime_postgres_setup(const idp_runtime_daemon *d, bool *answered, idp_err *err);
bool runtime_postgres_ready(const idp_runtime_daemon *d);

#endif
