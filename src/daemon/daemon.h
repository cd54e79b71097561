/*
 * daemon: one per state directory. It owns the runtime target (its
 * supervisor, daemons and processes), the gateway in front of them, the
 * store, and the GitOps repositories of the applications it runs; the CLI
 * talks to it over a Unix socket in the state directory (STATE/idp.sock).
 *
 * The protocol: the client writes one JSON object on one line, {"op": ...,
 * ...}; the daemon answers with lines of JSON: progress events
 * ({"event": "object", "object": ..., "health": ..., "message": ...})
 * and one last line {"ok": true, ...} or {"ok": false, "error": ...,
 * "code": "input"|"runtime"|"notfound"}. docs/RUNTIME.md lists the ops.
 *
 * Ownership: nodes returned through out-parameters belong to the arena
 * passed with them. idp_daemon_run runs on the calling thread.
 */
#ifndef IDP_DAEMON_H
#define IDP_DAEMON_H

#include "doc/doc.h"
#include "gitops/gitops.h"

typedef struct idp_daemon_opts {
	const char *state_dir;      /* created if missing (0700) */
	const char *listen_host;    /* the gateway's address (127.0.0.1) */
	int listen_port;            /* (8080; 0: any, written to STATE/gateway.port) */
	const char *domain;         /* Knative domain (localhost) */
	double stable_window_s;     /* autoscaler stable window (0: Knative's 60 s) */
	double grace_s;             /* scale-to-zero grace period (0: Knative's 30 s) */
	/* Renders an OAM Application into the manifests of a GitOps commit (the
	 * cmd room wires the render room in, as for `idp gitops`). */
	const idp_gitops_renderer *renderer;
	/* idp serve: the HTTP API (api.h) on, reached through the gateway's
	 * /api, /slack and /oam and, with api_port >= 0, directly on
	 * api_host:api_port (0: any; written to STATE/api.port). */
	bool api;
	const char *api_host; /* (127.0.0.1) */
	int api_port;         /* -1: no direct listener (one on 127.0.0.1, for the gateway only) */
	const char *slack_signing_secret; /* NULL: the API's Slack routes answer 503 */
	const char *slack_webhook_url;    /* where progress of Slack's requests is posted, or NULL */
} idp_daemon_opts;

/* Runs the daemon in the foreground until SIGINT/SIGTERM or a "shutdown"
 * request; then stops every process it started. Fails at once when another
 * daemon holds the state directory. */
int idp_daemon_run(const idp_daemon_opts *o, idp_err *err);

/* The socket's path for a state directory (a). */
const char *idp_daemon_socket_path(idp_arena *a, const char *state_dir);

/* Whether a daemon answers on the state directory's socket. */
bool idp_daemon_running(const char *state_dir);

/* Starts a daemon for state_dir, detached (its own session, output to
 * STATE/daemon.log), by running argv (argv[0] an absolute path), unless one
 * answers already; returns when it answers, or fails after timeout_s naming
 * the log. */
int idp_daemon_spawn(const char *state_dir, char *const *argv, double timeout_s, idp_err *err);

/* Waits until no daemon holds state_dir (after a "down" of everything):
 * its processes are stopped then. */
int idp_daemon_wait_gone(const char *state_dir, double timeout_s, idp_err *err);

/* `down` without a daemon: app (NULL: every application not down yet, or
 * with purge every one) recorded as down in the store of state_dir, so that
 * no daemon brings it back; with purge its files in the state directory
 * (STATE/apps/APP, its repository STATE/gitops/APP-gitops) and its record
 * (secrets included) are removed. *done lists the applications (a). */
int idp_daemon_forget(const char *state_dir, const char *app, bool purge, idp_arena *a, const char ***done, size_t *n,
		      idp_err *err);

/* Progress events of a call, as they come. */
typedef void (*idp_daemon_event_fn)(void *ctx, const idp_doc_node *event);

/* Sends request to the daemon of state_dir and waits for its answer:
 * events go to on_event (may be NULL), the last line to *reply. A reply
 * {"ok": false} is returned as its code (IDP_EINPUT, IDP_ENOTFOUND,
 * IDP_ERUNTIME) with its error as the message; no daemon is IDP_ENOTFOUND. */
int idp_daemon_call(const char *state_dir, idp_arena *a, const idp_doc_node *request, idp_daemon_event_fn on_event,
		    void *ctx, idp_doc_node **reply, idp_err *err);

#endif
