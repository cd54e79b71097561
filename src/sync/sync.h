/*
 * sync: desired state (an application's objects at a GitOps revision)
 * against live state (what the target reports), with Argo CD's semantics
 * (docs/SYNC.md): a diff that ignores what the target adds (defaulted
 * fields, status, server-set metadata), a plan ordered by phase, sync wave,
 * kind and name, prune last (highest wave first) behind a mass-deletion
 * guard, health per kind, and a run that applies wave by wave through a
 * target interface. This room does not know how a target works inside.
 *
 * Ownership: plans, keys and texts live in the idp_arena passed in; the
 * objects a plan points at are the caller's.
 */
#ifndef IDP_SYNC_H
#define IDP_SYNC_H

#include "doc/doc.h"

/* ---------------------------------------------------------------- health */

typedef enum idp_sync_health {
	IDP_SYNC_HEALTHY,
	IDP_SYNC_PROGRESSING,
	IDP_SYNC_DEGRADED,
	IDP_SYNC_SUSPENDED,
	IDP_SYNC_MISSING,
	IDP_SYNC_UNKNOWN
} idp_sync_health;

/* "Healthy", "Progressing", ... (Argo CD's words). */
const char *idp_sync_health_name(idp_sync_health h);

/* The health of a live object by its kind: Deployment/StatefulSet (observed
 * generation, updated and available replicas), Knative Service and claims
 * (condition Ready; a claim also Synced), Job (complete / failed), PVC
 * (Bound), Pod (phase), anything with a Ready condition; else Healthy (it
 * exists). *why gets a one-line reason when it is not Healthy (arena). */
idp_sync_health idp_sync_object_health(idp_arena *a, const idp_doc_node *live, const char **why);

/* ---------------------------------------------------------------- plan */

/* An object's identity: "Kind/namespace/name", with "group/" in front for
 * a group other than the core one (a Knative Service and a core Service of
 * the same name differ); no namespace: "default"; "@cluster" after it for
 * a topology's copy placed in a cluster (label app.oam.dev/cluster). */
const char *idp_sync_key(idp_arena *a, const idp_doc_node *obj);

typedef enum idp_sync_action {
	IDP_SYNC_CREATE, /* in git, not live */
	IDP_SYNC_UPDATE, /* both, and a field of git's differs live */
	IDP_SYNC_PRUNE,  /* live, no longer in git */
	IDP_SYNC_SAME    /* both, equal where git says something */
} idp_sync_action;

typedef struct idp_sync_step {
	idp_sync_action action;
	const char *key;
	const idp_doc_node *desired, *live; /* NULL where absent */
	int phase;         /* 0 PreSync, 1 Sync, 2 PostSync (argocd.argoproj.io/hook) */
	long wave;         /* argocd.argoproj.io/sync-wave (0) */
	const char **fields; /* UPDATE: the paths that differ ("spec.template.spec.containers[0].image") */
	size_t n_fields, fields_cap;
} idp_sync_step;

typedef struct idp_sync_plan {
	idp_sync_step *steps; /* applies (phase, wave, kind, name), then prunes (wave high first) */
	size_t n, cap;
	size_t creates, updates, prunes, same;
} idp_sync_plan;

/* Compares desired with live. Every field git sets must be equal live;
 * what only live has (defaults, status, metadata the server sets:
 * uid, resourceVersion, generation, creationTimestamp, managedFields,
 * Argo CD's and kubectl's bookkeeping annotations) is ignored, so that an
 * object is never OutOfSync with an empty diff. A bad sync-wave annotation
 * or two objects with the same key are IDP_EINPUT. */
int idp_sync_plan_make(idp_arena *a, idp_doc_node *const *desired, size_t nd, idp_doc_node *const *live, size_t nl,
		       idp_sync_plan *out, idp_err *err);

/* Appends the plan as text: one line per object that changes ("+ key",
 * "~ key", "- key"), and for updates one line per field: old -> new
 * (values of Secrets are never shown). */
void idp_sync_plan_print(const idp_sync_plan *p, idp_buf *out);

/* ---------------------------------------------------------------- run */

typedef struct idp_sync_opts {
	bool dry_run;
	bool prune;             /* delete what left git (Argo CD's prune) */
	bool allow_mass_prune;  /* past the guard */
	double max_prune_share; /* the guard: at most this share of the live objects (0.5) */
} idp_sync_opts;

#define IDP_SYNC_OPTS_DEFAULT {false, true, false, 0.5}

/* The guard: pruning more than max_prune_share of the live objects is
 * IDP_EINPUT naming how many and --allow-mass-prune. */
int idp_sync_check_prune(const idp_sync_plan *p, size_t n_live, const idp_sync_opts *o, idp_err *err);

/* The target, as the sync engine sees it. apply() makes the target hold
 * exactly objs (in order; what it holds and objs lacks goes); health()
 * reports one object; wait() lets time pass (the caller's loop runs). */
typedef struct idp_sync_target {
	void *ctx;
	int (*apply)(void *ctx, idp_doc_node *const *objs, size_t n, idp_err *err);
	idp_sync_health (*health)(void *ctx, const char *key, const char **why);
	void (*wait)(void *ctx, double seconds);
} idp_sync_target;

typedef struct idp_sync_result {
	const char *status;  /* "Synced", "OutOfSync" (dry run), "Failed" */
	size_t waves;        /* waves applied */
	const char *message; /* one line (arena) */
} idp_sync_result;

/* Syncs: the guard, then wave by wave (phase, wave order) the target gets
 * the desired objects up to this wave plus the live objects of later waves
 * as they are, and the next wave starts when this one is Healthy (or after
 * wave_timeout_s: Failed, naming the object); prunes go with the last
 * apply. Nothing to change: no apply at all. dry_run: only the plan. */
int idp_sync_run(idp_arena *a, const idp_sync_plan *p, size_t n_live, const idp_sync_opts *o,
		 const idp_sync_target *t, double wave_timeout_s, idp_sync_result *res, idp_err *err);

#endif
