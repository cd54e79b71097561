/*
 * api: the platform's HTTP API, served by `idp serve` (the daemon with its
 * API on). JSON everywhere: /api/v1/applications (list, get, create or
 * replace from an OAM Application, delete, tree, sync and its history,
 * pause, resume), /api/v1/render (a dry run), /api/v1/definitions,
 * /api/v1/events (Server-Sent Events with replay from Last-Event-ID),
 * /health, /ready, /metrics (Prometheus text), /openapi.json (OpenAPI 3.1,
 * made from the route table itself) and /docs.
 *
 * Every mutating call needs a bearer token (idp_api_token_create); only a
 * hash of a token is stored, and it is compared in constant time. 401 and
 * 403 bodies say why.
 *
 * The server runs on an h2o event loop it is given (the gateway's: the
 * daemon has one loop), so it is not thread-safe; handlers run in
 * idp_api_process, which the loop's owner calls between turns. What the API does to applications it asks of the daemon through
 * idp_api_backend (the daemon's control protocol, in process).
 *
 * Ownership: idp_api_new copies what it keeps; the store and the loop are
 * borrowed and must outlive the server. Nodes returned through the backend
 * belong to the arena passed with them.
 */
#ifndef IDP_API_H
#define IDP_API_H

#include "doc/doc.h"
#include "store/store.h"

/* The daemon, seen from the API. */
typedef struct idp_api_backend {
	void *ctx;
	/* Runs one request of the daemon's control protocol ({"op": ...}, see
	 * daemon.h) without waiting for readiness; *reply is its last line
	 * ({"ok": true, ...}); a failed one returns its code with err set. */
	int (*call)(void *ctx, idp_arena *a, const idp_doc_node *request, idp_doc_node **reply, idp_err *err);
} idp_api_backend;

typedef struct idp_api_config {
	idp_store *store;     /* tokens, sync history, events (borrowed) */
	const char *base_dir; /* where programs of applications posted to the API are looked for */
	double events_poll_s; /* how often event streams look for new events (0.2) */
} idp_api_config;

typedef struct idp_api idp_api;

/* A server on host:port (port 0: any, see idp_api_port) on loop, an
 * h2o_evloop_t (void here, so that this header needs no h2o). */
int idp_api_new(const idp_api_config *c, void *loop, const char *host, int port, const idp_api_backend *backend,
		idp_api **out, idp_err *err);
int idp_api_port(const idp_api *api);
/* Answers the requests that arrived since the last call (their handlers
 * run here, outside the loop's callbacks: the owner calls this after each
 * turn of the loop). Returns how many. */
int idp_api_process(idp_api *api);
/* Ends event streams, lets requests in flight finish (the loop must still
 * run), and frees everything. NULL is fine. */
void idp_api_free(idp_api *api);

/* The OpenAPI 3.1 document of every route (a). */
idp_doc_node *idp_api_openapi(idp_arena *a);

/* ---------------------------------------------------------------- tokens */

/* Makes a token named name (a DNS-1123 label) and stores its hash; the
 * token itself (a) is shown once and kept nowhere. */
int idp_api_token_create(idp_store *s, idp_arena *a, const char *name, const char **token, idp_err *err);
/* The name of the token (a), or IDP_ENOTFOUND (any token that is not one). */
int idp_api_token_check(idp_store *s, idp_arena *a, const char *token, const char **name, idp_err *err);

#endif
