/*
 * doc: the one value model every room shares.
 *
 * A document is a tree of idp_doc_node allocated from an idp_arena: a whole
 * load (or render) is freed with one idp_arena_free(). Every node keeps the
 * file, line and column it came from. Scalars are typed the way kubectl types
 * them (YAML 1.1 as read by sigs.k8s.io/yaml: yes/on/y are booleans, 0755 is
 * octal, quoted scalars stay strings). Maps keep their source order.
 *
 * Ownership: every node, string and array reachable from a node belongs to
 * the arena it was allocated from. Nodes may be read directly through the
 * struct below; change them only through the idp_doc_* functions so that
 * the invariants hold (map keys unique, strings NUL-terminated).
 *
 * This room knows no Kubernetes kind.
 */
#ifndef IDP_DOC_H
#define IDP_DOC_H

#include "base/base.h"

typedef enum idp_doc_kind {
	IDP_DOC_NULL,
	IDP_DOC_BOOL,
	IDP_DOC_INT,
	IDP_DOC_FLOAT,
	IDP_DOC_STR,
	IDP_DOC_MAP,
	IDP_DOC_SEQ
} idp_doc_kind;

typedef struct idp_doc_node idp_doc_node;

typedef struct idp_doc_entry {
	const char *key; /* NUL-terminated; keys never contain NUL */
	idp_pos key_pos;
	idp_doc_node *value;
} idp_doc_entry;

struct idp_doc_node {
	idp_doc_kind kind;
	idp_pos pos;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *ptr; /* NUL-terminated after len bytes; may hold NULs */
			size_t len;
		} str;
		struct {
			idp_doc_entry *items;
			size_t len, cap;
		} map;
		struct {
			idp_doc_node **items;
			size_t len, cap;
		} seq;
	} as;
};

/* "null", "bool", "int", "float", "string", "map", "list". */
const char *idp_doc_kind_name(idp_doc_kind kind);

/* ---------------------------------------------------------------- loading */

typedef struct idp_doc_load_opts {
	size_t max_bytes;        /* input size cap */
	size_t max_alias_nodes;  /* nodes that alias expansion may create in one load */
	uint32_t max_depth;      /* nesting cap (maps and lists) */
} idp_doc_load_opts;

#define IDP_DOC_MAX_BYTES_DEFAULT ((size_t)64 << 20)
#define IDP_DOC_LOAD_OPTS_INIT {IDP_DOC_MAX_BYTES_DEFAULT, 1000000, 512}

/* A loaded stream of documents. Documents that are empty or null (a bare
 * `---`) are left out, as kubectl leaves them out. */
typedef struct idp_doc_stream {
	const char *file;     /* as given to the loader; arena-owned copy */
	idp_doc_node **docs;  /* arena-owned */
	size_t len;
} idp_doc_stream;

/* Parses YAML or JSON from data[0..len) into out, allocating from a. file
 * names the source in positions and errors. opts may be NULL (defaults).
 * Rejects, with the position: invalid UTF-8, syntax errors, duplicate keys,
 * non-scalar keys, excessive alias expansion, nesting past max_depth, input
 * past max_bytes, and `<<` merge values that are not maps.
 * On failure out holds the documents that were complete before the error
 * (none for errors found before parsing), so a checker can still report on
 * them; the arena may hold garbage until freed. */
int idp_doc_load(idp_arena *a, const char *file, const char *data, size_t len,
		 const idp_doc_load_opts *opts, idp_doc_stream *out, idp_err *err);

/* Reads path ("-" for standard input) and loads it. */
int idp_doc_load_file(idp_arena *a, const char *path, const idp_doc_load_opts *opts,
		      idp_doc_stream *out, idp_err *err);

/* Types one plain (unquoted) scalar the way kubectl does. Returns a new node
 * in a. This is the table that loading applies to every plain scalar. */
idp_doc_node *idp_doc_resolve_plain(idp_arena *a, const char *text, size_t len, idp_pos pos);

/* True when a string with this text must be quoted on output because some
 * YAML 1.1 reader (kubectl, PyYAML) would read it back as another type:
 * "on", "y", "0755", "1e3", "null", "1:20", "2024-01-01", "<<", ... */
bool idp_doc_str_needs_quotes(const char *text, size_t len);

/* ---------------------------------------------------------------- building */

idp_doc_node *idp_doc_new_null(idp_arena *a);
idp_doc_node *idp_doc_new_bool(idp_arena *a, bool v);
idp_doc_node *idp_doc_new_int(idp_arena *a, int64_t v);
idp_doc_node *idp_doc_new_float(idp_arena *a, double v);
/* Copies s[0..len) into the arena. */
idp_doc_node *idp_doc_new_strn(idp_arena *a, const char *s, size_t len);
idp_doc_node *idp_doc_new_str(idp_arena *a, const char *s);
/* A string that carries where it came from (a node it was read from, or
 * idp_pos_made). */
idp_doc_node *idp_doc_new_str_at(idp_arena *a, const char *s, idp_pos pos);
idp_doc_node *idp_doc_new_map(idp_arena *a);
idp_doc_node *idp_doc_new_seq(idp_arena *a);

/* Deep copy of n into a: positions kept, file names copied too, so the copy
 * does not depend on n's arena. */
idp_doc_node *idp_doc_copy(idp_arena *a, const idp_doc_node *n);

/* The value under key in map, or NULL (also when map is not a map). Borrowed. */
idp_doc_node *idp_doc_map_get(const idp_doc_node *map, const char *key);
/* Sets key to value: replaces in place if present, else appends. The key is
 * copied into a; value is linked, not copied. map must be a map. */
void idp_doc_map_set(idp_arena *a, idp_doc_node *map, const char *key, idp_doc_node *value);
/* Appends key: value without looking for key first: for a caller that
 * knows the key is new (building a map from something already unique). */
void idp_doc_map_append(idp_arena *a, idp_doc_node *map, const char *key, idp_pos key_pos, idp_doc_node *value);
/* Removes key; returns true if it was there. Order of the rest is kept. */
bool idp_doc_map_delete(idp_doc_node *map, const char *key);
/* Appends value to seq (linked, not copied). */
void idp_doc_seq_push(idp_arena *a, idp_doc_node *seq, idp_doc_node *value);

/* Convenience: the string value under key, or NULL if absent or not a string. */
const char *idp_doc_map_get_str(const idp_doc_node *map, const char *key);

/* ---------------------------------------------------------------- paths */

/* Paths look like spec.components[0].properties.image or
 * metadata.annotations["a.b/c"] ('...' quotes work too). */

/* Finds the node at path under root. Returns 0 and sets *out (borrowed),
 * IDP_ENOTFOUND if some step is missing, IDP_EINPUT for a malformed path. */
int idp_doc_path_get(const idp_doc_node *root, const char *path, idp_doc_node **out, idp_err *err);
/* Sets the node at path, creating missing maps on the way; an index equal to
 * a list's length appends. value is linked, not copied. Fails with
 * IDP_EINPUT when a step crosses a scalar or an index is out of range. */
int idp_doc_path_set(idp_arena *a, idp_doc_node *root, const char *path, idp_doc_node *value,
		     idp_err *err);
/* Appends ".key" or ["odd.key"] (as needed) to a path being built; a first
 * simple key is written without the dot. */
void idp_doc_path_push_key(idp_buf *path, const char *key);
void idp_doc_path_push_index(idp_buf *path, size_t index);

/* ---------------------------------------------------------------- operations */

/* Deep equality: maps compare as sets of keys, an int equals a float of the
 * same value (as in JSON), positions are ignored. */
bool idp_doc_equal(const idp_doc_node *x, const idp_doc_node *y);
/* The same, except that an int never equals a float (Go's reflect.DeepEqual
 * on decoded JSON: int64(1) != float64(1)). */
bool idp_doc_equal_typed(const idp_doc_node *x, const idp_doc_node *y);

enum {
	IDP_DOC_MERGE_DEFAULT = 0,
	/* RFC 7386 JSON merge patch: a null in src deletes the key in dst. */
	IDP_DOC_MERGE_PATCH = 1
};

/* Merges src into dst and returns the result: maps merge key by key
 * (recursively, dst's order kept, new keys appended); anything else in src
 * replaces dst. dst is changed in place when both are maps; src's nodes are
 * copied into a, so src stays independent. dst may be NULL. */
idp_doc_node *idp_doc_merge(idp_arena *a, idp_doc_node *dst, const idp_doc_node *src, int flags);

/* ---------------------------------------------------------------- emitting */

/* Appends docs as canonical YAML: block style, 2-space indent, lists not
 * indented under their key (kubectl style), `---` between documents, every
 * string that a YAML 1.1 reader would retype double-quoted, multi-line
 * strings as literal blocks. */
int idp_doc_emit_yaml(idp_doc_node *const *docs, size_t n, idp_buf *out, idp_err *err);

/* Writes a note about leaf (a scalar, or an empty map or list) into out. */
typedef void (*idp_doc_explain_fn)(void *ctx, const idp_doc_node *leaf, idp_buf *out);

/* The same YAML as idp_doc_emit_yaml, with "  # NOTE" after the line of
 * every leaf, NOTE written by describe (for a block scalar, on its header
 * line). Comments do not change what the text reads back as. */
int idp_doc_emit_yaml_explained(idp_doc_node *const *docs, size_t n, idp_doc_explain_fn describe, void *ctx,
				idp_buf *out, idp_err *err);

enum {
	IDP_DOC_JSON_COMPACT = 0,
	IDP_DOC_JSON_PRETTY = 1 /* 4-space indent, as kubectl -o json */
};

/* Appends node as JSON. Fails (with the node's position) on a float that
 * JSON cannot hold (.inf, .nan). */
int idp_doc_emit_json(const idp_doc_node *node, int flags, idp_buf *out, idp_err *err);

#endif
