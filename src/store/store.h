/*
 * store: the platform's state under one state directory (docs/STORE.md).
 *
 * SQLite in WAL mode (state.db), with numbered schema migrations that each
 * room adds to (store/migrations.c); the record of applications, their
 * revisions, objects (desired and live), sync runs and events; and secret
 * values, encrypted at rest with libsodium's secretbox under a key file
 * (secret.key, mode 0600) that never leaves the state directory. No value
 * of a secret is ever logged or put in an error.
 *
 * The interface is narrow on purpose (records in, records out, no SQL
 * outside this room), so that a distributed backend can implement it.
 *
 * Ownership: an idp_store is released with idp_store_close; strings and
 * arrays returned through out-parameters belong to the idp_arena passed
 * with them. One idp_store is used by one thread at a time; several
 * processes may open the same state directory (SQLite's locking, with a
 * busy timeout).
 */
#ifndef IDP_STORE_H
#define IDP_STORE_H

#include "base/base.h"

typedef struct idp_store idp_store;

/* Opens (creating it, mode 0700) the state directory dir and its
 * database, applies the migrations not yet applied, and loads or creates
 * the secret key. A key file that is readable by others is refused. */
int idp_store_open(const char *dir, idp_store **out, idp_err *err);
void idp_store_close(idp_store *s);

/* The schema version now in effect (the highest migration applied). */
int idp_store_schema_version(idp_store *s);

/* The state directory $IDP_STATE, else ~/.local/state/idp (arena). */
const char *idp_store_default_dir(idp_arena *a);

/* ---------------------------------------------------------------- applications */

typedef struct idp_store_app {
	const char *name;
	const char *gitops;   /* the GitOps repository's path */
	const char *revision; /* the commit last synced, or NULL */
	const char *status;   /* e.g. "Synced", "Paused", or NULL */
	int64_t updated;      /* seconds since the epoch */
} idp_store_app;

/* Creates or updates an application (gitops, revision, status may be NULL:
 * then they keep their value). */
int idp_store_app_put(idp_store *s, const idp_store_app *app, idp_err *err);
/* IDP_ENOTFOUND when there is none of that name. */
int idp_store_app_get(idp_store *s, idp_arena *a, const char *name, idp_store_app *out, idp_err *err);
int idp_store_app_list(idp_store *s, idp_arena *a, idp_store_app **out, size_t *n, idp_err *err);
/* Removes an application and everything recorded for it (its secrets too). */
int idp_store_app_delete(idp_store *s, const char *name, idp_err *err);

/* ---------------------------------------------------------------- objects */

typedef struct idp_store_object {
	const char *key;     /* kind/namespace/name */
	const char *desired; /* JSON, or NULL */
	const char *live;    /* JSON, or NULL */
	const char *health;  /* Healthy, Progressing, Degraded, Unavailable, ... or NULL */
	const char *message; /* why, one line, or NULL */
} idp_store_object;

/* Creates or updates one object of app (NULL fields keep their value). */
int idp_store_object_put(idp_store *s, const char *app, const idp_store_object *obj, idp_err *err);
int idp_store_object_list(idp_store *s, idp_arena *a, const char *app, idp_store_object **out, size_t *n,
			  idp_err *err);
int idp_store_object_delete(idp_store *s, const char *app, const char *key, idp_err *err);

/* ---------------------------------------------------------------- history */

/* Records that app was synced to revision (source: the commit's Idp-Source). */
int idp_store_revision_add(idp_store *s, const char *app, const char *revision, const char *source, idp_err *err);

/* A sync run: begun, then finished with a result ("Succeeded", "Failed: ...").
 * *id identifies the run. */
int idp_store_sync_begin(idp_store *s, const char *app, const char *revision, int64_t *id, idp_err *err);
int idp_store_sync_end(idp_store *s, int64_t id, const char *result, idp_err *err);

typedef struct idp_store_sync_run {
	int64_t id, started, finished; /* finished 0: still running */
	const char *revision, *result;
} idp_store_sync_run;

/* app's sync runs, newest first, at most max (0: all). */
int idp_store_sync_list(idp_store *s, idp_arena *a, const char *app, size_t max, idp_store_sync_run **out, size_t *n,
			idp_err *err);

typedef struct idp_store_event {
	int64_t id, time;
	const char *app, *object, *type, *message;
} idp_store_event;

/* Appends an event (app and object may be NULL). */
int idp_store_event_add(idp_store *s, const char *app, const char *object, const char *type, const char *message,
			idp_err *err);
/* The newest event's id (0 when there is none). */
int idp_store_event_last_id(idp_store *s, int64_t *id, idp_err *err);
/* The events with id > after (oldest first), at most max. */
int idp_store_event_list(idp_store *s, idp_arena *a, int64_t after, size_t max, idp_store_event **out, size_t *n,
			 idp_err *err);

/* ---------------------------------------------------------------- workflows */

typedef struct idp_store_step {
	int step;
	const char *name, *state, *message; /* state: Running, Succeeded, Failed */
	double started, finished;           /* seconds since the epoch; finished 0: not yet */
} idp_store_step;

typedef struct idp_store_workflow {
	int64_t id;
	const char *kind, *name, *app; /* the claim's kind and name; the application it lands in */
	const char *claim;             /* the claim, as YAML */
	const char *origin;            /* who asked: "api", "slack", "cli", ... */
	const char *state;             /* Running, Succeeded, Failed */
	int step;                      /* the next step to run */
	const char *error;
	int64_t created, updated;
	idp_store_step *steps;
	size_t n_steps;
} idp_store_workflow;

/* A new Running workflow at step 0; *id names it. */
int idp_store_workflow_add(idp_store *s, const char *kind, const char *name, const char *app, const char *claim,
			   const char *origin, int64_t *id, idp_err *err);
/* One workflow with its steps (a); IDP_ENOTFOUND when there is none. */
int idp_store_workflow_get(idp_store *s, idp_arena *a, int64_t id, idp_store_workflow *out, idp_err *err);
/* Workflows newest first (state NULL: any), without their steps; at most max (0: all). */
int idp_store_workflow_list(idp_store *s, idp_arena *a, const char *state, size_t max, idp_store_workflow **out,
			    size_t *n, idp_err *err);
/* The newest workflow of kind/name in app and state (NULL: any):
 * IDP_ENOTFOUND when none. */
int idp_store_workflow_find(idp_store *s, const char *kind, const char *name, const char *app, const char *state,
			    int64_t *id, idp_err *err);
/* Moves a workflow: its state, next step and error (NULL keeps it). */
int idp_store_workflow_set(idp_store *s, int64_t id, const char *state, int step, const char *error, idp_err *err);
/* Records a step: a Running one gets its start, a finished one its end
 * (the start kept). */
int idp_store_workflow_step(idp_store *s, int64_t id, int step, const char *name, const char *state,
			    const char *message, idp_err *err);

/* Records key as seen; *fresh is false when it was seen before (a webhook
 * delivered twice is processed once). */
int idp_store_seen(idp_store *s, const char *key, bool *fresh, idp_err *err);

/* ---------------------------------------------------------------- tokens */

/* An API token: its name and the hash of its value (the value itself is
 * never stored). A name taken already is IDP_EINPUT. */
int idp_store_token_add(idp_store *s, const char *name, const unsigned char *hash, size_t hash_len, idp_err *err);
/* The hash of the token named name (a), or IDP_ENOTFOUND. */
int idp_store_token_hash(idp_store *s, idp_arena *a, const char *name, const unsigned char **hash, size_t *hash_len,
			 idp_err *err);
/* Token names, sorted (a); delete: IDP_ENOTFOUND when there is none. */
int idp_store_token_list(idp_store *s, idp_arena *a, const char ***names, size_t *n, idp_err *err);
int idp_store_token_delete(idp_store *s, const char *name, idp_err *err);

/* ---------------------------------------------------------------- secrets */

/* Stores a secret value for (app, scope, name): e.g. ("shop",
 * "default/orders-postgres-secret", "POSTGRES_PASSWORD"), encrypted. */
int idp_store_secret_put(idp_store *s, const char *app, const char *scope, const char *name, const void *value,
			 size_t len, idp_err *err);
/* The decrypted value into out; IDP_ENOTFOUND when there is none; a value
 * that does not decrypt (tampered, or another key) is IDP_ERUNTIME. */
int idp_store_secret_get(idp_store *s, const char *app, const char *scope, const char *name, idp_buf *out,
			 idp_err *err);
/* The value, generated once (bytes random bytes, written as URL-safe
 * base64 without padding) and kept: the same on every later call. */
/* The names of the secrets of (app, scope), sorted (a); values stay put. */
int idp_store_secret_names(idp_store *s, idp_arena *a, const char *app, const char *scope, const char ***names,
			   size_t *n, idp_err *err);
/* IDP_ENOTFOUND when there was none. */
int idp_store_secret_delete(idp_store *s, const char *app, const char *scope, const char *name, idp_err *err);
int idp_store_secret_generate(idp_store *s, const char *app, const char *scope, const char *name, size_t bytes,
			      idp_buf *out, idp_err *err);

#endif
