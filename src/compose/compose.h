/*
 * compose: Crossplane compositions evaluated offline.
 *
 * A composite resource (XR) or a claim plus a Composition in, the XR as the
 * patches left it and its composed resources out, exactly as Crossplane's
 * patch-and-transform would produce them: classic `spec.resources` and
 * `mode: Pipeline` with function-patch-and-transform share one engine.
 * Field paths, transforms, patches, policies, readiness checks and Go's
 * `fmt` formatting follow the upstream code (crossplane-runtime fieldpath,
 * function-patch-and-transform), including its error texts.
 *
 * Ownership: every node a function returns belongs to the idp_arena passed
 * in. Inputs are never modified (they are copied first). Strings returned
 * through idp_buf belong to the caller's buffer.
 */
#ifndef IDP_COMPOSE_H
#define IDP_COMPOSE_H

#include "doc/doc.h"

/* ---------------------------------------------------------------- field paths */

/* One step of a Crossplane field path: a field name or an array index. */
typedef struct idp_compose_segment {
	bool is_index;
	uint32_t index;
	const char *field; /* arena-owned; NULL for an index */
} idp_compose_segment;

/* Array indexes past this are refused when writing (crossplane-runtime's
 * DefaultMaxFieldPathIndex): a path cannot make a patch allocate without
 * bound. */
#define IDP_COMPOSE_MAX_INDEX 1024

/* Parses `spec.containers[0].env['a.b']` the way crossplane-runtime's lexer
 * does. On a bad path fails with IDP_EINPUT and a message such as
 * "unexpected '.' at position 4". */
int idp_compose_path_parse(idp_arena *a, const char *path, idp_compose_segment **segs, size_t *n,
			   idp_err *err);
/* Writes segments back as a path (fields with '.' or '*' in brackets). */
void idp_compose_path_format(const idp_compose_segment *segs, size_t n, idp_buf *out);

/* The value at path under root (borrowed). IDP_ENOTFOUND when a field or
 * element is missing (a patch with an Optional policy skips); IDP_EINPUT for
 * a bad path or a step through the wrong type ("spec: not an object"). */
int idp_compose_path_get(idp_arena *a, const idp_doc_node *root, const char *path, const idp_doc_node **out,
			 idp_err *err);

/* How a patch writes its value (the toFieldPath policy). */
typedef enum idp_compose_merge {
	IDP_COMPOSE_REPLACE,                       /* Replace (default) */
	IDP_COMPOSE_MERGE_OBJECTS,                 /* MergeObjects, MergeObject: keep existing values */
	IDP_COMPOSE_MERGE_OBJECTS_APPEND_ARRAYS,   /* MergeObjectsAppendArrays */
	IDP_COMPOSE_FORCE_MERGE_OBJECTS,           /* ForceMergeObjects: new values win */
	IDP_COMPOSE_FORCE_MERGE_OBJECTS_APPEND_ARRAYS /* ForceMergeObjectsAppendArrays, AppendArray */
} idp_compose_merge;

/* Maps a toFieldPath policy name to its mode; false if unknown. */
bool idp_compose_merge_parse(const char *name, idp_compose_merge *out);

/* Writes value (copied) at path under root, creating maps and growing lists
 * (with nulls) on the way, merging as mode says. Integral floats become
 * integers first, as a JSON round trip through Kubernetes' decoder makes
 * them. */
int idp_compose_path_set(idp_arena *a, idp_doc_node *root, const char *path, const idp_doc_node *value,
			 idp_compose_merge mode, idp_err *err);

/* Expands `[*]` (and `.*`) in path against root: the concrete paths, in
 * order (arena-owned). None when a step before the wildcard is missing. */
int idp_compose_path_expand(idp_arena *a, const idp_doc_node *root, const char *path, char ***paths, size_t *n,
			    idp_err *err);

/* ---------------------------------------------------------------- values */

/* Go's fmt.Sprintf(format, args...) for the values a patch can carry
 * (nil, bool, int64, float64, string, []any, map[string]any), with Go's
 * error outputs: %!d(string=x), %!s(MISSING), %!(EXTRA int64=1), ... */
void idp_compose_sprintf(idp_buf *out, const char *format, const idp_doc_node *const *args, size_t n);

/* Go's json.Marshal of a value: keys sorted, <>& escaped as \u003c etc. */
int idp_compose_json_marshal(const idp_doc_node *value, idp_buf *out, idp_err *err);

/* Applies one transform object (as written in a Composition) to input and
 * sets *out (arena-owned). Errors carry upstream's message text. */
int idp_compose_transform(idp_arena *a, const idp_doc_node *transform, const idp_doc_node *input,
			  idp_doc_node **out, idp_err *err);

/* Applies a list of transforms in order (ResolveTransforms): errors say
 * "transform at index N returned error: ...". */
int idp_compose_transforms(idp_arena *a, const idp_doc_node *list, const idp_doc_node *input, idp_doc_node **out,
			   idp_err *err);

/* Checks a transform object without running it (validate.go's rules). */
int idp_compose_transform_check(const idp_doc_node *transform, idp_err *err);

/* ---------------------------------------------------------------- composing */

typedef struct idp_compose_opts {
	const idp_doc_node *const *observed; /* observed composed resources, each carrying the
					      * crossplane.io/composition-resource-name annotation */
	size_t n_observed;
	const idp_doc_node *const *desired;  /* composed resources earlier pipeline steps produced */
	size_t n_desired;
	const idp_doc_node *environment;     /* the environment (a map), or NULL */
	const idp_doc_node *xrd;             /* the XR's CompositeResourceDefinition, or NULL */
	bool unwrap_objects;                 /* kubernetes.crossplane.io Object -> its manifest */
	bool composition_checked;            /* idp_compose_check passed for this Composition
					      * already: skip checking it again (Crossplane
					      * validates a Composition once, at admission) */
} idp_compose_opts;

#define IDP_COMPOSE_OPTS_INIT {NULL, 0, NULL, 0, NULL, NULL, false, false}

/* Checks a Composition on its own (validate.go's rules, every field path
 * parsed, the function of each pipeline step) against the XR kind it says
 * it composes. */
int idp_compose_check(const idp_doc_node *composition, idp_err *err);

typedef struct idp_compose_result {
	idp_doc_node *composite;   /* the XR with everything the patches wrote */
	idp_doc_node **resources;  /* composed resources, in template order */
	size_t n_resources;
	idp_doc_node *environment; /* the environment after environment patches */
	idp_doc_node *claim;       /* the claim as defaulted, when the input was one */
	char **warnings;           /* what Crossplane reports as Warning results */
	size_t n_warnings;
	bool ready;                /* every composed resource is ready */
} idp_compose_result;

/* Composes xr (an XR, or a claim when opts->xrd names it as a claim kind)
 * with composition. Bad input fails with IDP_EINPUT and the position of the
 * offending node; nothing in *out is meaningful then. */
int idp_compose_run(idp_arena *a, const idp_doc_node *xr, const idp_doc_node *composition,
		    const idp_compose_opts *opts, idp_compose_result *out, idp_err *err);

/* Checks that xrd is a CompositeResourceDefinition with a group, kind and
 * versions. */
int idp_compose_xrd_check(const idp_doc_node *xrd, idp_err *err);

/* Checks obj (a claim or composite of xrd) as the API server does with
 * strict field validation (kubectl's default since 1.27): defaults applied
 * to a copy, then types, enums, patterns, formats and required fields; a
 * field the schema does not declare is an error too. */
int idp_compose_xrd_validate(idp_arena *a, const idp_doc_node *xrd, const idp_doc_node *obj, idp_err *err);

/* Runs a composed resource's readinessChecks (a list, or NULL for the
 * default: the Ready condition is True) against an observed object. */
int idp_compose_ready(idp_arena *a, const idp_doc_node *observed, const idp_doc_node *checks, bool *ready,
		      idp_err *err);

#endif
