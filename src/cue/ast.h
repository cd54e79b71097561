/*
 * The CUE syntax tree: what src/cue/parse.c produces and src/cue/eval.c
 * consumes. Private to the cue room (the public API is cue.h).
 *
 * Every node and string lives in the idp_arena given to the parser.
 * Positions are 1-based file:line:column (idp_pos) of the node's first token.
 */
#ifndef IDP_CUE_AST_H
#define IDP_CUE_AST_H

#include "base/base.h"

typedef struct cue_node cue_node;
typedef struct cue_decl cue_decl;

typedef enum cue_node_kind {
	CUE_N_TOP,      /* _ */
	CUE_N_BOTTOM,   /* _|_ */
	CUE_N_NULL,     /* null */
	CUE_N_BOOL,     /* true false: as.b */
	CUE_N_INT,      /* 42 0x2A 1_000: as.i (a literal past int64 is a parse error) */
	CUE_N_FLOAT,    /* 1.5 1e3: as.f */
	CUE_N_STRING,   /* "a" 'b' """x""" #"raw"#, no interpolation: as.str (escapes decoded) */
	CUE_N_INTERP,   /* "a\(x)b": as.interp.parts alternate: string node, expr, string node, ... */
	CUE_N_IDENT,    /* x #Def _hidden _#hid: as.ident; also the type names string int float
	                 * number bool bytes, and builtin functions (len, close, and, or) */
	CUE_N_STRUCT,   /* { decls } : as.strct */
	CUE_N_LIST,     /* [a, b, ...T] : as.list (ellipsis: as.list.tail, open) */
	CUE_N_UNARY,    /* op x, op one of - + ! * (default marker) and the bound operators
	                 * < <= > >= != =~ !~ : as.unary */
	CUE_N_BINARY,   /* x op y : as.binary */
	CUE_N_SELECTOR, /* x.sel (sel may be a quoted string label): as.sel */
	CUE_N_INDEX,    /* x[i] : as.index */
	CUE_N_CALL,     /* f(args) : as.call */
	CUE_N_LISTCOMP, /* [ for ... if ... { expr } ] element: as.comp (body is any expression) */
} cue_node_kind;

typedef enum cue_op {
	CUE_OP_NONE,
	CUE_OP_AND,    /* & */
	CUE_OP_OR,     /* | */
	CUE_OP_LAND,   /* && */
	CUE_OP_LOR,    /* || */
	CUE_OP_EQ,     /* == */
	CUE_OP_NEQ,    /* != */
	CUE_OP_LT,     /* < */
	CUE_OP_LEQ,    /* <= */
	CUE_OP_GT,     /* > */
	CUE_OP_GEQ,    /* >= */
	CUE_OP_MATCH,  /* =~ */
	CUE_OP_NMATCH, /* !~ */
	CUE_OP_ADD,    /* + */
	CUE_OP_SUB,    /* - */
	CUE_OP_MUL,    /* * (binary) or default marker (unary) */
	CUE_OP_DIV,    /* / */
	CUE_OP_NOT,    /* ! (unary) */
	CUE_OP_IDIV,   /* div */
	CUE_OP_MOD,    /* mod */
	CUE_OP_QUO,    /* quo */
	CUE_OP_REM,    /* rem */
} cue_op;

typedef enum cue_clause_kind { CUE_CLAUSE_FOR, CUE_CLAUSE_IF, CUE_CLAUSE_LET } cue_clause_kind;

/* One clause of a comprehension: `for k, v in expr`, `for v in expr`,
 * `if expr`, `let name = expr`. */
typedef struct cue_clause {
	cue_clause_kind kind;
	idp_pos pos;
	const char *key;   /* for: the key variable, or NULL when only a value is named */
	const char *value; /* for: the value variable; let: the name */
	cue_node *expr;
} cue_clause;

typedef enum cue_label_kind {
	CUE_LABEL_IDENT,   /* foo, #Foo, _foo: name */
	CUE_LABEL_STRING,  /* "foo-bar": name (decoded) */
	CUE_LABEL_INTERP,  /* "\(k)-x": expr is a CUE_N_INTERP */
	CUE_LABEL_DYNAMIC, /* (expr): expr */
	CUE_LABEL_PATTERN, /* [expr]: pattern constraint, e.g. [string], [=~"^a"]; expr */
} cue_label_kind;

typedef enum cue_decl_kind {
	CUE_DECL_FIELD,    /* label: value (possibly label: label2: value, parsed as nested structs) */
	CUE_DECL_EMBED,    /* an expression standing alone in a struct (embedding) */
	CUE_DECL_LET,      /* let name = value */
	CUE_DECL_COMP,     /* for/if/let clauses followed by a struct body: clauses + value (a CUE_N_STRUCT) */
	CUE_DECL_ELLIPSIS, /* ... or ...T inside a struct: value is T or NULL */
	CUE_DECL_IMPORT,   /* import "strings" / import x "strings": name = local name, str = path */
	CUE_DECL_PACKAGE,  /* package foo: name */
} cue_decl_kind;

struct cue_decl {
	cue_decl_kind kind;
	idp_pos pos;
	/* fields */
	cue_label_kind label_kind;
	const char *name;      /* ident/string label, let name, import local name, package name */
	cue_node *label_expr;  /* interpolated, dynamic and pattern labels */
	bool optional;         /* foo?: */
	bool required;         /* foo!: */
	/* `label=foo: value` and `X=foo` aliases are not in the dialect: the parser rejects them */
	cue_node *value;       /* field value, embedded expression, let value, comprehension body, ellipsis type */
	cue_clause *clauses;   /* comprehension clauses */
	size_t n_clauses;
	const char *str;       /* import path */
	/* The `//` comment lines directly above the declaration, each without its
	 * leading "//" and one following space, joined with '\n' (NULL if none).
	 * KubeVela reads directives from them: "+usage=...", "+patchKey=name". */
	const char *doc;
	/* Attributes such as @go(Foo) after the value, raw text without '@' (NULL if none). */
	const char *attrs;
};

struct cue_node {
	cue_node_kind kind;
	idp_pos pos;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const char *ptr; /* NUL-terminated after len; may hold NUL */
			size_t len;
			bool bytes;      /* a '...' bytes literal */
		} str;
		struct {
			cue_node **parts; /* CUE_N_STRING pieces and expressions, alternating, starting with a string */
			size_t n;
		} interp;
		const char *ident;
		struct {
			cue_decl *decls;
			size_t n;
		} strct;
		struct {
			cue_node **elems; /* elements may be CUE_N_LISTCOMP */
			size_t n;
			bool open;        /* ends with ... */
			cue_node *tail;   /* ...T : T, or NULL */
		} list;
		struct {
			cue_op op;
			cue_node *x;
		} unary;
		struct {
			cue_op op;
			cue_node *x, *y;
		} binary;
		struct {
			cue_node *x;
			const char *sel;
			idp_pos sel_pos; /* the name after '.' (CUE reports a missing field there) */
		} sel;
		struct {
			cue_node *x, *index;
		} index;
		struct {
			cue_node *fn;
			cue_node **args;
			size_t n;
		} call;
		struct {
			cue_clause *clauses;
			size_t n_clauses;
			cue_node *body;
		} comp;
	} as;
};

/* A parsed file. */
typedef struct cue_file {
	const char *name;  /* the file name given to the parser */
	cue_node *root;    /* a CUE_N_STRUCT: the file's top-level declarations */
} cue_file;

/* Parses src[0..len) into *out, allocating from a. Errors carry the
 * position and say what was expected: "expected ':' or '}', found ')'".
 * A construct outside the dialect fails with
 * "unsupported CUE construct <what>". Nesting is capped at 256 levels. */
int cue_parse(idp_arena *a, const char *file, const char *src, size_t len, cue_file *out, idp_err *err);
/* The same for text that starts at origin in its file (see idp_cue_compile_at). */
int cue_parse_at(idp_arena *a, idp_pos origin, const char *src, size_t len, cue_file *out, idp_err *err);

/* The text of an operator, for messages: "&", ">=", "div". */
const char *cue_op_text(cue_op op);

#endif
