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
#include "gitops/gitops.h"
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
	idp_store *store;     /* tokens, sync history, events, workflows (borrowed) */
	const char *base_dir; /* where programs of applications posted to the API are looked for */
	double events_poll_s; /* how often event streams look for new events (0.2) */
	const char *state_dir;                /* the claim workflow's repositories (see below) */
	const idp_gitops_renderer *renderer;  /* the claim workflow's commits */
	double wait_timeout_s;                /* the claim workflow's wait step (300) */
	const char *slack_signing_secret;     /* NULL: the Slack routes answer 503 */
	const char *slack_webhook_url;        /* progress messages of Slack's requests; NULL: none sent */
} idp_api_config;

typedef struct idp_api idp_api;

/* A server on host:port (port 0: any, see idp_api_port) on loop, an
 * h2o_evloop_t (void here, so that this header needs no h2o). */
int idp_api_new(const idp_api_config *c, void *loop, const char *host, int port, const idp_api_backend *backend,
		idp_api **out, idp_err *err);
int idp_api_port(const idp_api *api);
/* Answers the requests that arrived since the last call (their handlers
 * run here, outside the loop's callbacks: the owner calls this after each
 * turn of the loop) and moves the claim workflows the server runs (those
 * of `idp apply` are its own), resuming at start those a stop or a crash
 * left half-way. Returns how many requests were answered. */
int idp_api_process(idp_api *api);
/* Ends event streams, lets requests in flight finish (the loop must still
 * run), and frees everything. NULL is fine. */
void idp_api_free(idp_api *api);

/* The OpenAPI 3.1 document of every route (a). */
idp_doc_node *idp_api_openapi(idp_arena *a);

/* ---------------------------------------------------------------- the claim workflow */

/* What the workflow needs: the store (its state), the state directory (the
 * application containers' source repositories in STATE/repos/<container>,
 * their GitOps repositories in STATE/gitops/<container>-gitops), the
 * renderer for commits, and the daemon (adopt, status). */
typedef struct idp_api_workflow_env {
	idp_store *store;
	const char *state_dir;
	const idp_gitops_renderer *renderer;
	const idp_api_backend *daemon;
	double wait_timeout_s; /* how long "wait" waits for the service (300) */
	/* Told of every step that starts, succeeds or fails (may be NULL). */
	void (*progress)(void *ctx, const idp_store_workflow *w, const char *step, const char *state,
			 const char *message);
	void *progress_ctx;
} idp_api_workflow_env;

/* The steps, in order: validate, container (the GitOps repository, made
 * once), scaffold (the service's source, made once), update-oam (the
 * claim filed, the component added if absent, manifests rendered, one
 * commit), sync (the daemon runs the container's application from that
 * repository), wait (every object of the component healthy), notify. */
const char *idp_api_workflow_step_name(int step);

/* Validates claim (an ApplicationClaim: its XRD, strictly, and a language
 * with a scaffold template) and records a workflow for it (origin: "api",
 * "slack", "cli" ...); nothing is created when the claim is invalid. The
 * same claim while its workflow runs: that workflow (*existing). */
int idp_api_workflow_start(const idp_api_workflow_env *env, idp_arena *a, const idp_doc_node *claim,
			   const char *origin, int64_t *id, bool *existing, idp_err *err);

enum { IDP_API_WF_DONE = 0, IDP_API_WF_MORE = 1, IDP_API_WF_WAIT = 2 };

/* Runs the workflow's next step: IDP_API_WF_MORE (call again),
 * IDP_API_WF_WAIT (the service is not ready yet: call again later),
 * IDP_API_WF_DONE (finished, or not running), or a failed step's code (the
 * workflow is Failed, err says why). */
int idp_api_workflow_advance(const idp_api_workflow_env *env, int64_t id, idp_err *err);

/* An application container's GitOps repository (a); its OAM Application at
 * the head (a), or NULL when there is none. */
const char *idp_api_container_repo(idp_arena *a, const idp_api_workflow_env *env, const char *container);
idp_doc_node *idp_api_container_oam(const idp_api_workflow_env *env, idp_arena *a, const char *container);
/* Adds component {name, type} to the container's OAM Application, only if
 * no component has that name (*added says), re-rendered and committed
 * (Idp-Source: source). The file is written again from its parsed form. */
int idp_api_container_add_component(const idp_api_workflow_env *env, idp_arena *a, const char *container,
				    const char *name, const char *type, const char *source, bool *added, idp_err *err);

/* A workflow (with_steps: and its steps, timings and errors) as JSON-ready
 * nodes (a). */
idp_doc_node *idp_api_workflow_doc(idp_arena *a, const idp_store_workflow *w, bool with_steps);

/* ---------------------------------------------------------------- Slack */

/* Slack's request signature: v0= + hex HMAC-SHA256(secret, "v0:" + timestamp
 * + ":" + body), compared in constant time, the timestamp within 300 s of
 * now. 0, or IDP_EINPUT with *why (a static string). */
int idp_api_slack_verify(const char *secret, const char *timestamp, const char *signature, const char *body,
			 size_t len, int64_t now, const char **why);

/* A field of an application/x-www-form-urlencoded body, decoded (a), or NULL. */
const char *idp_api_form_get(idp_arena *a, const char *body, size_t len, const char *name);

/* What `/microservice create ...` asks for. Strings live in the arena. */
typedef struct idp_api_service_request {
	const char *name, *ns, *language, *framework, *database, *cache;
	const char *realtime;      /* a realtime platform's name, or NULL */
	const char *app_container; /* NULL: the default (health-service-idp) */
	const char *description;
	bool iot;
} idp_api_service_request;

/* Parses the text of `/microservice create` (the reference's §6.4 rules,
 * without its defects: nodejs, go and c are languages, a standalone "c" too;
 * "realtime NAME" names the platform, not the service; "iot" is a flag).
 * IDP_EINPUT when no name is found. */
int idp_api_parse_service(idp_arena *a, const char *text, idp_api_service_request *out, idp_err *err);
/* The ApplicationClaim (api-driven) a request stands for (a). */
idp_doc_node *idp_api_service_claim(idp_arena *a, const idp_api_service_request *r);

/* Slack incoming-webhook deliveries on a thread of their own (libcurl), in
 * order, each tried 4 times (0.5, 1, 2 s apart); the caller never waits. */
typedef struct idp_api_notifier idp_api_notifier;
idp_api_notifier *idp_api_notifier_new(const char *url);
/* Queues a JSON body (copied); at most 1,000 wait, the oldest dropped. */
void idp_api_notifier_send(idp_api_notifier *n, const char *json);
/* Delivered, and failed or dropped, so far. */
void idp_api_notifier_counts(idp_api_notifier *n, unsigned long *delivered, unsigned long *failed);
/* Delivers what is queued, then stops. NULL is fine. */
void idp_api_notifier_free(idp_api_notifier *n);

/* ---------------------------------------------------------------- agent keys */

/* Where the realtime platforms' Lenses agent keys are kept: the store's
 * encrypted secrets of this pseudo-application (no application can be
 * named so), scope "realtime", one per namespace. The daemon turns each
 * into Secret lenses-credentials (AGENT_KEY) in its namespace when an
 * application has that Namespace labelled app.kubernetes.io/part-of:
 * realtime-platform. */
#define IDP_API_AGENT_KEYS_APP "@agent-keys"
#define IDP_API_AGENT_KEYS_SCOPE "realtime"

/* Parses an .env-style text: lines <namespace>-agent-key=<value> (others
 * are skipped; a value may be quoted), each stored. *n says how many. A
 * namespace that is no DNS-1123 label is IDP_EINPUT, naming its line. */
int idp_api_agent_keys_import(idp_store *s, const char *file, const char *text, size_t len, size_t *n, idp_err *err);

/* ---------------------------------------------------------------- tokens */

/* Makes a token named name (a DNS-1123 label) and stores its hash; the
 * token itself (a) is shown once and kept nowhere. */
int idp_api_token_create(idp_store *s, idp_arena *a, const char *name, const char **token, idp_err *err);
/* The name of the token (a), or IDP_ENOTFOUND (any token that is not one). */
int idp_api_token_check(idp_store *s, idp_arena *a, const char *token, const char **name, idp_err *err);

#endif
