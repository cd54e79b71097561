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

#endif
