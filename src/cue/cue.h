/*
 * cue: an evaluator for the dialect of CUE that KubeVela definitions use
 * (docs/CUE.md lists what is in it). Parse, unify, resolve defaults,
 * comprehensions and interpolation, the few builtin packages, and export
 * to the doc value model. It knows no files, git or HTTP: callers hand it
 * text and get idp_doc_node trees back.
 *
 * Ownership: everything an idp_cue_program holds, and every tree exported
 * from it, lives in the idp_arena given to idp_cue_compile.
 */
#ifndef IDP_CUE_H
#define IDP_CUE_H

#include "doc/doc.h"

typedef struct idp_cue_program idp_cue_program;

/* Parses one CUE file (src[0..len), named file in positions). On success
 * *out is a program owned by the arena. Syntax errors and constructs outside
 * the dialect fail with IDP_EINPUT and a position. */
int idp_cue_compile(idp_arena *a, const char *file, const char *src, size_t len,
		    idp_cue_program **out, idp_err *err);

/* The same for CUE text cut out of another file, such as a YAML block
 * scalar: positions count from origin (the place of src[0] in that file),
 * and every line is taken to start at origin.col, as a block scalar's
 * lines do. Errors and exported values then point into that file. */
int idp_cue_compile_at(idp_arena *a, idp_pos origin, const char *src, size_t len, idp_cue_program **out,
		       idp_err *err);

/* A fresh program in a that shares compiled's syntax tree (which must
 * outlive it): nothing filled, nothing evaluated. Compiling once and
 * instantiating per use skips the parse. */
idp_cue_program *idp_cue_instantiate(idp_arena *a, const idp_cue_program *compiled);

/* Unifies a document into the program at path (e.g. "parameter" or
 * "context"), as if the file said `path: <doc>`. The document keeps its
 * positions, so a conflict names the document's file:line:column. path ""
 * unifies at the top. */
int idp_cue_fill(idp_cue_program *p, const char *path, const idp_doc_node *doc, idp_err *err);

/* Evaluates and exports the value at path ("" for the whole file, or a
 * CUE expression such as `output` or `parameter.image`) as `cue export`
 * would: concrete values only, defaults applied, hidden fields,
 * definitions and unset optional fields left out, field order kept.
 * A conflict or a missing required field fails with IDP_EINPUT, a value
 * that is not concrete (nothing set it) with IDP_EINCOMPLETE; both carry
 * the position of the value at fault. */
int idp_cue_export(idp_cue_program *p, const char *expr, idp_doc_node **out, idp_err *err);

/* Evaluates the value at expr and fails exactly as idp_cue_export would,
 * without building the tree (checking that parameters are complete). */
int idp_cue_check(idp_cue_program *p, const char *expr, idp_err *err);

/* Same as idp_cue_export, and also returns in *directives (a map, owned by the arena) the
 * KubeVela directive comments of the exported fields, keyed by their path
 * relative to expr: {"spec.template.spec.containers": "+patchKey=name"}. */
int idp_cue_export_annotated(idp_cue_program *p, const char *expr, idp_doc_node **out,
			     idp_doc_node **directives, idp_err *err);

/* Checks that every key of doc is a field that the struct at path declares
 * (optional ones included), recursively through nested structs, unless the
 * struct is open (`...`) or has a pattern constraint. Use it on a program
 * that nothing was filled into. An unknown key fails with its position in
 * doc, a path under doc_path (e.g. "spec.components[0].properties") and a
 * typo suggestion when one is close. */
int idp_cue_check_fields(idp_cue_program *p, const char *path, const idp_doc_node *doc,
			 const char *doc_path, idp_err *err);

/* True when path names a field the file has (evaluating the file, not the
 * field). */
bool idp_cue_exists(idp_cue_program *p, const char *path);

/* The labels of the file's top-level regular fields, in order; *names is
 * owned by the arena. */
int idp_cue_top_labels(idp_cue_program *p, const char ***names, size_t *n, idp_err *err);

/* Describes the fields of the struct at path, recursively, as a list of maps
 * {name, type, default?, required, usage?, short?} in declaration order
 * (names dotted for nested fields). `// +usage=`, `// +short=` comments
 * fill usage and short; a field marked `// +ignore` is left out. For
 * `idp def show`. */
int idp_cue_describe(idp_cue_program *p, const char *path, idp_doc_node **out, idp_err *err);

/* Exports the top-level field label (any label, quoted ones too). */
int idp_cue_export_top(idp_cue_program *p, const char *label, idp_doc_node **out, idp_err *err);

/* The path of the innermost field of the file whose declaration holds an
 * expression starting at pos ("parameter.port" for the 80 of
 * `parameter: port: *80 | int`), "" for the top level, or NULL when pos
 * is not in this file or no expression starts there. Exported values carry
 * the position of the expression that produced them, so this says which
 * field of a definition wrote a value. Caller frees the string. */
char *idp_cue_field_at(const idp_cue_program *p, idp_pos pos);

/* Caps on one evaluation, so that no input can hang or exhaust memory. */
#define IDP_CUE_MAX_STEPS 5000000
#define IDP_CUE_MAX_DEPTH 400

#endif
