/* What the daemon room's files share. */
#ifndef IDP_DAEMON_PRIVATE_H
#define IDP_DAEMON_PRIVATE_H

#include <sys/un.h>

#include "daemon/daemon.h"

/* The socket address of a state directory (too long a path is IDP_EINPUT). */
int daemon_socket_addr(const char *state_dir, struct sockaddr_un *sun, idp_err *err);
/* Writes msg as one line of compact JSON; -1 when the peer is gone. */
int daemon_write_line(int fd, const idp_doc_node *msg);

struct idp_store;
/* The same for one application with an open store. */
int daemon_forget_app(struct idp_store *store, const char *state_dir, const char *app, bool purge, idp_err *err);

/* Adds "health" (the worst of objs; Suspended when paused) and
 * "components" ([{name, health}]) to m, an application's status (health.c). */
void daemon_add_health(idp_arena *a, idp_doc_node *m, const idp_doc_node *objs, bool paused);

/* Appends (or replaces) Secret lenses-credentials in each realtime
 * Namespace of objs whose agent key is stored, the value placed where the
 * application's generated values are kept (agent_keys.c). */
void daemon_inject_agent_keys(struct idp_store *store, const char *app_name, idp_arena *a, idp_doc_node ***objs,
			      size_t *n);

#endif
