/* What the compose room's files share; nothing here leaves the room. */
#ifndef IDP_COMPOSE_PRIVATE_H
#define IDP_COMPOSE_PRIVATE_H

#include "compose/compose.h"

#include <regex.h>

/* A deep copy in which integral floats are integers: what a value looks
 * like after Go marshals it to JSON and Kubernetes' decoder reads it back. */
idp_doc_node *compose_json_normalize(idp_arena *a, const idp_doc_node *v);

/* Go's %T of a JSON value: "string", "int64", "float64", "bool",
 * "[]interface {}", "map[string]interface {}", "<nil>". */
const char *compose_go_type(const idp_doc_node *v);

/* Parses JSON the way Go's encoding/json does into `any`: every number is a
 * float64. text need not be NUL-terminated. */
int compose_json_unmarshal(idp_arena *a, const char *text, size_t len, idp_doc_node **out, idp_err *err);

/* A transform's raw JSON value (map pair, match result, fallbackValue) as
 * encoding/json gives it to Go code: numbers become float64. */
idp_doc_node *compose_as_go_json(idp_arena *a, const idp_doc_node *v);

/* Go's strconv.FormatFloat(f, 'g'/'e'/'f', prec, 64) and %v of a float64. */
void compose_format_float(idp_buf *out, double f, char fmt, int prec);

/* base64.StdEncoding: encode, and decode with Go's error offsets. */
void compose_base64_encode(idp_buf *out, const unsigned char *s, size_t n);
int compose_base64_decode(idp_buf *out, const char *s, size_t n, idp_err *err);

/* ---------------------------------------------------------------- patches */

/* What patches read and write while one Resources input runs. */
typedef struct compose_state {
	const idp_doc_node *oxr; /* the observed XR: patches read from it */
	idp_doc_node *dxr;       /* the desired XR: To* patches write to it */
	idp_doc_node *env;       /* the environment */
} compose_state;

/* A patch's type (FromCompositeFieldPath when unset), paths and policy. */
const char *compose_patch_type(const idp_doc_node *p);
const char *compose_patch_from(const idp_doc_node *p);
const char *compose_patch_to(const idp_doc_node *p);
bool compose_patch_required(const idp_doc_node *p);
/* True for patches that write into a composed resource. */
bool compose_patch_to_composed(const idp_doc_node *p);

/* validate.go's checks for one patch, with the patch's position; path is
 * the patch's place in the Composition, for messages. */
int compose_check_patch(const idp_doc_node *p, bool in_patch_set, bool environment, const idp_buf *path,
			idp_err *err);

/* Applies one patch. IDP_ENOTFOUND when the source field is missing (the
 * caller applies the fromFieldPath policy); IDP_EINPUT otherwise. */
int compose_apply_environment_patch(idp_arena *a, const idp_doc_node *p, compose_state *st, idp_err *err);
int compose_apply_composed_patch(idp_arena *a, const idp_doc_node *p, compose_state *st, const idp_doc_node *ocd,
				 idp_doc_node *dcd, idp_err *err);

/* ---------------------------------------------------------------- the rest */

/* Compiles a Go (RE2) regular expression as POSIX extended: \\d \\w \\s and
 * their negations, (?i) at the start and (?:...) are translated. */
/* RE2 syntax as POSIX extended (classes, (?:, (?i)); *out is the caller's. */
int compose_re2_translate(const char *re, idp_buf *out, int *flags, idp_err *err);
int compose_regcomp(const char *re, regex_t *out, idp_err *err);

/* A field an XRD's schema does not declare: where it was written, and its
 * path. */
typedef struct compose_pruned {
	idp_pos pos;
	const char *path;
} compose_pruned;

/* XRDs: prune unknown fields, apply defaults and validate obj (an XR or a
 * claim of xrd) in place; *pruned lists each pruned field (arena-owned). */
int compose_xrd_apply(idp_arena *a, const idp_doc_node *xrd, idp_doc_node *obj, compose_pruned **pruned,
		      size_t *n_pruned, idp_err *err);
bool compose_xrd_is_claim(const idp_doc_node *xrd, const idp_doc_node *obj);
/* The XR Crossplane makes for claim (name: claim name + 5 stable chars). */
int compose_claim_to_xr(idp_arena *a, const idp_doc_node *xrd, const idp_doc_node *claim, idp_doc_node **out,
			idp_err *err);
/* Fails when xr asks for another composition than the one given. */
int compose_check_selection(const idp_doc_node *xrd, const idp_doc_node *xr, const idp_doc_node *composition,
			    idp_err *err);

/* validate.go's checks of one readiness check / connection detail
 * (classic Compositions may leave a connection detail's type implicit). */
int compose_check_readiness(const idp_doc_node *check, idp_err *err);
int compose_check_connection_detail(const idp_doc_node *cd, bool classic, idp_err *err);

/* Adds the connection details of an observed composed resource to conn
 * (key -> string) as ExtractConnectionDetails does; the resource's own
 * connection Secret is looked for among the observed objects. */
int compose_extract_connection(idp_arena *a, const idp_doc_node *ocd, const idp_compose_opts *opts,
			       const idp_doc_node *details, idp_doc_node *conn, idp_err *err);

/* The XR's connection Secret holding conn, or *out = NULL when conn is
 * empty or the XR names no place for it. */
int compose_connection_secret(idp_arena *a, const idp_doc_node *xr, const idp_doc_node *composition,
			      const idp_doc_node *conn, idp_doc_node **out, idp_err *err);

/* A kubernetes.crossplane.io Object's spec.forProvider.manifest (anything
 * else unchanged). */
idp_doc_node *compose_unwrap_object(idp_arena *a, idp_doc_node *res);

#endif
