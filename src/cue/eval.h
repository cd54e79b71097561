/*
 * The evaluator's data model, shared by eval.c, builtin.c and export.c.
 * Private to the cue room.
 *
 * A *vertex* is a node of the configuration (a field, a list element, the
 * file): it collects *conjuncts* (expressions with their scope, or values)
 * and is evaluated once, lazily, into a *value*. Struct and list values
 * point back at their vertex, whose *arcs* are the fields or elements.
 * References resolve lexically to vertices, so a field sees every
 * conjunct of the field it names, wherever that conjunct was written.
 */
#ifndef IDP_CUE_EVAL_H
#define IDP_CUE_EVAL_H

#include "cue/ast.h"
#include "cue/cue.h"

typedef struct cue_value cue_value;
typedef struct cue_vertex cue_vertex;
typedef struct cue_env cue_env;
typedef struct cue_ctx cue_ctx;

typedef enum cue_vkind {
	CV_TOP,
	CV_BOTTOM,
	CV_NULL,
	CV_BOOL,
	CV_INT,
	CV_FLOAT,
	CV_STRING,
	CV_BYTES,
	CV_STRUCT,     /* as.v: the vertex holding the fields */
	CV_LIST,       /* as.v: the vertex holding the elements */
	CV_CONSTRAINT, /* a type and bounds, not yet concrete: as.c */
	CV_DISJ,       /* as.d */
	CV_BUILTIN,    /* a builtin function: as.fn */
	CV_PACKAGE,    /* an imported package: as.s (its path) */
} cue_vkind;

/* Kind bits, for type constraints such as `int` or `string | int`. */
enum {
	CK_NULL = 1,
	CK_BOOL = 2,
	CK_INT = 4,
	CK_FLOAT = 8,
	CK_STRING = 16,
	CK_BYTES = 32,
	CK_STRUCT = 64,
	CK_LIST = 128,
	CK_NUMBER = CK_INT | CK_FLOAT,
	CK_ALL = 255
};

typedef struct cue_bound {
	cue_op op;      /* < <= > >= != =~ !~ */
	cue_value *rhs; /* concrete */
} cue_bound;

typedef struct cue_builtin cue_builtin;

struct cue_value {
	cue_vkind kind;
	idp_pos pos;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *ptr;
			size_t len;
		} s;
		cue_vertex *v;
		struct {
			unsigned mask;
			cue_bound *bounds;
			size_t n;
		} c;
		struct {
			cue_value **alts;
			bool *dflt;
			size_t n;
			bool has_default;
		} d;
		struct {
			/* Read it with cue_err_msg: the commonest errors (conflicts tried
			 * and dropped by a disjunction, values tested for `_|_`) are
			 * formatted only when someone reads them. */
			const char *msg;
			const char *lazy_fmt;  /* with msg NULL: a format of two %s, */
			const cue_value *lhs, *rhs; /* filled with their text (rhs may be NULL: "") */
			const char *lazy_what;      /* a third %s, or NULL */
			bool incomplete; /* a missing or non-concrete value, not a conflict */
			bool unset_optional; /* a reference to an optional field nobody set */
			bool missing;        /* names a field or reference that is not there (unset_optional too) */
		} err;
		const cue_builtin *fn;
	} as;
};

/* Something a vertex is made of: an expression in its scope, or a value. */
typedef struct cue_conjunct {
	cue_node *expr;
	cue_env *env;
	cue_value *val;
	bool closed; /* comes from a definition or close(): limits the fields */
	bool disj;   /* evaluated to a disjunction of structs or lists (set while evaluating) */
} cue_conjunct;

typedef struct cue_arc {
	const char *label;
	cue_vertex *v;
	bool optional;   /* only declared with ?: so far */
	bool required;   /* declared with !: */
	bool allowed;    /* declared by a closed conjunct (or the struct is open) */
	idp_pos pos;
	const char *doc; /* the comment above its first declaration (KubeVela directives), or NULL */
} cue_arc;

typedef struct cue_pattern {
	cue_node *label;  /* the [expr] constraint */
	cue_env *env;
	cue_conjunct value;
} cue_pattern;

typedef struct cue_deferred {
	cue_decl *decl; /* an embedding or a comprehension */
	cue_env *env;
	bool closed;
	size_t insert_at; /* a comprehension's fields go where it was written */
} cue_deferred;

/* The order in which one struct literal declared its fields: export keeps
 * every literal's order (a topological sort), as `cue export` does. */
typedef struct cue_order {
	const char **labels;
	size_t n;
} cue_order;

enum { VS_NEW, VS_EVALUATING, VS_DONE };

struct cue_vertex {
	const char *label;
	cue_vertex *parent;
	cue_conjunct *cj;
	size_t ncj, capcj;
	cue_arc *arcs;
	size_t narcs, caparcs;
	uint32_t *arc_index;   /* label hash -> arc position + 1, for big structs; NULL = not built */
	size_t arc_index_cap;  /* a power of two */
	cue_pattern *patterns;
	size_t npatterns, cappatterns;
	cue_deferred *deferred;
	size_t ndeferred, capdeferred;
	cue_order *orders;
	size_t norders, caporders;
	cue_vertex **absorbed; /* vertices whose conjuncts were copied in (no double work) */
	size_t nabsorbed, capabsorbed;
	int state;
	bool is_struct, is_list;
	bool has_fields; /* some conjunct declared a field (not only embeddings) */
	bool closed;   /* some conjunct was closed */
	bool open;     /* a closed conjunct ended with ... */
	bool ellipsis; /* some conjunct ended with ... (it accepts any field) */
	bool list_open;
	cue_conjunct list_tail; /* ...T of an open list (expr NULL when none) */
	cue_value *value;
	idp_pos pos;
};

/* A lexical scope: a struct literal evaluated into a vertex, or the
 * variables a comprehension or let clause binds. */
struct cue_env {
	cue_env *up;
	cue_node *strct;   /* struct literal, or NULL for a binding scope */
	cue_vertex *v;     /* the vertex that literal is evaluated into */
	const char *names[2];
	cue_value *vals[2];
	struct cue_let_cache *lets;
};

struct cue_ctx {
	idp_arena *a;
	cue_vertex *root;
	cue_env *root_env;
	size_t steps;
	unsigned depth;
	idp_doc_node *directives; /* while exporting: path -> directive comment, or NULL */
	bool check_only;          /* while exporting: walk and check, build no tree (idp_cue_check) */
};

struct cue_builtin {
	const char *pkg;  /* "strings", or "" for a universe builtin such as len */
	const char *name;
	int nargs;        /* -1: variadic */
	cue_value *(*fn)(cue_ctx *c, idp_pos pos, cue_value **args, size_t n);
};

/* eval.c */
cue_value *cue_eval(cue_ctx *c, cue_node *n, cue_env *env);
cue_value *cue_vertex_value(cue_ctx *c, cue_vertex *v);
cue_vertex *cue_vertex_new(cue_ctx *c, cue_vertex *parent, const char *label, idp_pos pos);
void cue_vertex_add(cue_ctx *c, cue_vertex *v, cue_conjunct cj);
cue_arc *cue_vertex_arc(const cue_vertex *v, const char *label);
/* x.label: a field of a struct, or a function of an imported package. */
cue_value *cue_select(cue_ctx *c, cue_value *x, const char *label, idp_pos pos);
/* Appends a regular field (or list element) holding val, for vertices built
 * from values rather than source (filled documents, builtin results). */
void cue_vertex_add_value_arc(cue_ctx *c, cue_vertex *v, const char *label, idp_pos pos, cue_value *val);
cue_value *cue_bottom(cue_ctx *c, idp_pos pos, bool incomplete, const char *fmt, ...) IDP_PRINTF(4, 5);
/* A bottom whose message fmt (three %s: lhs's text, rhs's text, what) is
 * formatted when cue_err_msg first reads it. */
cue_value *cue_bottom_lazy(cue_ctx *c, idp_pos pos, bool incomplete, const char *fmt, const cue_value *lhs,
			   const cue_value *rhs, const char *what);
/* The message of a bottom value (formatting a lazy one). */
const char *cue_err_msg(cue_ctx *c, cue_value *v);
/* cue_bottom with the message what + name, without printf: evaluation
 * makes many such values (a missing field tested with `!= _|_`) and shows
 * few of them. */
cue_value *cue_bottom_named(cue_ctx *c, idp_pos pos, bool incomplete, const char *what, const char *name);
/* The decimal label of list element i into buf (>= 24 bytes); returns buf. */
const char *cue_index_label(char *buf, size_t i);
cue_value *cue_new(cue_ctx *c, cue_vkind kind, idp_pos pos);
cue_value *cue_string(cue_ctx *c, idp_pos pos, const char *s, size_t len);
/* Resolves defaults and requires a concrete value of a kind in mask;
 * returns it, or a bottom saying what was wanted. */
cue_value *cue_concrete(cue_ctx *c, cue_value *v, unsigned mask, const char *what);
const char *cue_kind_text(cue_ctx *c, const cue_value *v);
/* Regular fields of a struct vertex, in order (hidden, definitions and
 * unset optional fields left out). */
bool cue_arc_is_regular(const cue_arc *arc);

/* eval.c: small helpers unify.c shares */
cue_value *cue_make_kind(cue_ctx *c, idp_pos pos, unsigned mask);
unsigned cue_kind_bit(const cue_value *v);
bool cue_is_concrete_scalar(const cue_value *v);
const char *cue_mask_text(unsigned mask);

/* unify.c */
cue_value *cue_unify(cue_ctx *c, cue_value *x, cue_value *y);
bool cue_values_equal(const cue_value *x, const cue_value *y);
/* Whether a concrete value satisfies one bound (*holds); a bottom when the
 * two cannot be compared at all. */
cue_value *cue_bound_holds(cue_ctx *c, cue_value *v, const cue_bound *b, idp_pos pos, bool *holds);
/* Checks a concrete value against one bound: NULL when it holds, else a bottom. */
cue_value *cue_check_bound(cue_ctx *c, cue_value *v, const cue_bound *b, idp_pos pos);

/* builtin.c */
const cue_builtin *cue_builtin_find(const char *pkg, const char *name);
bool cue_package_known(const char *path);

/* export.c */
int cue_export_value(cue_ctx *c, cue_value *v, idp_doc_node **out, idp_err *err);
/* The same walk and errors as cue_export_value, building nothing. */
int cue_check_value(cue_ctx *c, cue_value *v, idp_err *err);
cue_value *cue_from_doc(cue_ctx *c, const idp_doc_node *doc);

/* A compiled file and its evaluation state (cue.h's opaque handle). */
struct idp_cue_program {
	cue_ctx ctx;
	cue_file file;
};

#endif
