/* The evaluator: vertices, conjuncts, unification, defaults, references,
 * comprehensions. See eval.h for the model. */
#include "cue/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- values */

cue_value *cue_new(cue_ctx *c, cue_vkind kind, idp_pos pos)
{
	cue_value *v = idp_arena_zalloc(c->a, sizeof(*v));
	v->kind = kind;
	v->pos = pos;
	return v;
}

cue_value *cue_bottom(cue_ctx *c, idp_pos pos, bool incomplete, const char *fmt, ...)
{
	cue_value *v = cue_new(c, CV_BOTTOM, pos);
	idp_buf b = IDP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	v->as.err.msg = idp_arena_strndup(c->a, idp_buf_cstr(&b), b.len);
	v->as.err.incomplete = incomplete;
	idp_buf_free(&b);
	return v;
}

cue_value *cue_bottom_named(cue_ctx *c, idp_pos pos, bool incomplete, const char *what, const char *name)
{
	cue_value *v = cue_new(c, CV_BOTTOM, pos);
	size_t a = strlen(what), b = strlen(name);
	char *msg = idp_arena_alloc(c->a, a + b + 1);
	memcpy(msg, what, a);
	memcpy(msg + a, name, b + 1);
	v->as.err.msg = msg;
	v->as.err.incomplete = incomplete;
	return v;
}

cue_value *cue_bottom_lazy(cue_ctx *c, idp_pos pos, bool incomplete, const char *fmt, const cue_value *lhs,
			   const cue_value *rhs, const char *what)
{
	cue_value *v = cue_new(c, CV_BOTTOM, pos);
	v->as.err.lazy_fmt = fmt;
	v->as.err.lhs = lhs;
	v->as.err.rhs = rhs;
	v->as.err.lazy_what = what;
	v->as.err.incomplete = incomplete;
	return v;
}

const char *cue_err_msg(cue_ctx *c, cue_value *v)
{
	if (v->as.err.msg || !v->as.err.lazy_fmt)
		return v->as.err.msg ? v->as.err.msg : "";
	const cue_value *x = v->as.err.lhs, *y = v->as.err.rhs;
	v->as.err.msg = idp_arena_printf(c->a, v->as.err.lazy_fmt, x ? cue_kind_text(c, x) : "",
					 y ? cue_kind_text(c, y) : "", v->as.err.lazy_what ? v->as.err.lazy_what : "");
	return v->as.err.msg;
}

const char *cue_index_label(char *buf, size_t i)
{
	char *p = buf + 23;
	*p = '\0';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	return memmove(buf, p, (size_t)(buf + 24 - p));
}

cue_value *cue_string(cue_ctx *c, idp_pos pos, const char *s, size_t len)
{
	cue_value *v = cue_new(c, CV_STRING, pos);
	v->as.s.ptr = idp_arena_strndup(c->a, s, len);
	v->as.s.len = len;
	return v;
}

static cue_value *make_int(cue_ctx *c, idp_pos pos, int64_t i)
{
	cue_value *v = cue_new(c, CV_INT, pos);
	v->as.i = i;
	return v;
}

static cue_value *make_float(cue_ctx *c, idp_pos pos, double f)
{
	cue_value *v = cue_new(c, CV_FLOAT, pos);
	v->as.f = f;
	return v;
}

static cue_value *make_bool(cue_ctx *c, idp_pos pos, bool b)
{
	cue_value *v = cue_new(c, CV_BOOL, pos);
	v->as.b = b;
	return v;
}

cue_value *cue_make_kind(cue_ctx *c, idp_pos pos, unsigned mask)
{
	cue_value *v = cue_new(c, CV_CONSTRAINT, pos);
	v->as.c.mask = mask;
	return v;
}

unsigned cue_kind_bit(const cue_value *v)
{
	switch (v->kind) {
	case CV_NULL: return CK_NULL;
	case CV_BOOL: return CK_BOOL;
	case CV_INT: return CK_INT;
	case CV_FLOAT: return CK_FLOAT;
	case CV_STRING: return CK_STRING;
	case CV_BYTES: return CK_BYTES;
	case CV_STRUCT: return CK_STRUCT;
	case CV_LIST: return CK_LIST;
	case CV_CONSTRAINT: return v->as.c.mask;
	case CV_TOP: return CK_ALL;
	default: return 0;
	}
}

bool cue_is_concrete_scalar(const cue_value *v)
{
	return v->kind == CV_NULL || v->kind == CV_BOOL || v->kind == CV_INT || v->kind == CV_FLOAT ||
	       v->kind == CV_STRING || v->kind == CV_BYTES;
}

const char *cue_mask_text(unsigned mask)
{
	static const struct {
		unsigned m;
		const char *t;
	} names[] = {{CK_ALL, "_"}, {CK_NUMBER, "number"}, {CK_NULL, "null"}, {CK_BOOL, "bool"},
		     {CK_INT, "int"}, {CK_FLOAT, "float"}, {CK_STRING, "string"}, {CK_BYTES, "bytes"},
		     {CK_STRUCT, "struct"}, {CK_LIST, "list"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].m == mask)
			return names[i].t;
	return "a value of several kinds";
}

const char *cue_kind_text(cue_ctx *c, const cue_value *v)
{
	char num[32];
	switch (v->kind) {
	case CV_TOP: return "_";
	case CV_BOTTOM: return "_|_";
	case CV_NULL: return "null";
	case CV_BOOL: return v->as.b ? "true" : "false";
	case CV_INT: return idp_arena_printf(c->a, "%lld", (long long)v->as.i);
	case CV_FLOAT:
		snprintf(num, sizeof(num), "%g", v->as.f);
		return idp_arena_strdup(c->a, num);
	case CV_STRING:
		return idp_arena_printf(c->a, "\"%.*s\"", (int)(v->as.s.len > 60 ? 60 : v->as.s.len), v->as.s.ptr);
	case CV_BYTES: return "bytes";
	case CV_STRUCT: return "struct";
	case CV_LIST: return "list";
	case CV_CONSTRAINT: {
		idp_buf b = IDP_BUF_INIT;
		if (v->as.c.mask != CK_ALL || !v->as.c.n)
			idp_buf_puts(&b, cue_mask_text(v->as.c.mask));
		for (size_t i = 0; i < v->as.c.n; i++)
			idp_buf_printf(&b, "%s%s%s", b.len ? " & " : "", cue_op_text(v->as.c.bounds[i].op),
				       cue_kind_text(c, v->as.c.bounds[i].rhs));
		char *t = idp_arena_strdup(c->a, idp_buf_cstr(&b));
		idp_buf_free(&b);
		return t;
	}
	case CV_DISJ: return "a disjunction";
	case CV_BUILTIN: return "a builtin function";
	case CV_PACKAGE: return "a package";
	}
	return "?";
}

/* ---------------------------------------------------------------- vertices */

cue_vertex *cue_vertex_new(cue_ctx *c, cue_vertex *parent, const char *label, idp_pos pos)
{
	cue_vertex *v = idp_arena_zalloc(c->a, sizeof(*v));
	v->parent = parent;
	v->label = label;
	v->pos = pos;
	return v;
}

#define GROW(c, arr, n, cap)                                                                        \
	do {                                                                                        \
		if ((n) == (cap)) {                                                                 \
			size_t ncap_ = (cap) ? (cap) * 2 : 4;                                       \
			void *p_ = idp_arena_alloc((c)->a, ncap_ * sizeof(*(arr)));                 \
			if (n)                                                                      \
				memcpy(p_, (arr), (n) * sizeof(*(arr)));                            \
			(arr) = p_;                                                                 \
			(cap) = ncap_;                                                              \
		}                                                                                   \
	} while (0)

void cue_vertex_add(cue_ctx *c, cue_vertex *v, cue_conjunct cj)
{
	GROW(c, v->cj, v->ncj, v->capcj);
	v->cj[v->ncj++] = cj;
}

/* Structs up to this many fields are searched linearly; bigger ones get a
 * hash index (KubeVela's context.output and parameter structs grow past it). */
#define ARC_INDEX_MIN 8

static uint64_t hash_label(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void arc_index_put(cue_vertex *v, size_t i)
{
	size_t mask = v->arc_index_cap - 1;
	for (size_t k = hash_label(v->arcs[i].label) & mask;; k = (k + 1) & mask)
		if (!v->arc_index[k]) {
			v->arc_index[k] = (uint32_t)i + 1;
			return;
		}
}

/* (Re)builds the index in the arena that owns the vertex's arcs; called on
 * the first lookup of a big struct and when the index fills up. The index
 * is a cache, so building it from a const lookup is fine. */
static void arc_index_build(cue_vertex *v, idp_arena *a)
{
	size_t cap = 16;
	while (cap < v->narcs * 2 + 2)
		cap *= 2;
	v->arc_index = idp_arena_zalloc(a, cap * sizeof(uint32_t));
	v->arc_index_cap = cap;
	for (size_t i = 0; i < v->narcs; i++)
		arc_index_put(v, i);
}

cue_arc *cue_vertex_arc(const cue_vertex *v, const char *label)
{
	if (!v->arc_index) {
		for (size_t i = 0; i < v->narcs; i++)
			if (idp_str_eq(v->arcs[i].label, label))
				return &v->arcs[i];
		return NULL;
	}
	size_t mask = v->arc_index_cap - 1;
	for (size_t k = hash_label(label) & mask; v->arc_index[k]; k = (k + 1) & mask) {
		cue_arc *arc = &v->arcs[v->arc_index[k] - 1];
		if (idp_str_eq(arc->label, label))
			return arc;
	}
	return NULL;
}

/* Keeps the index in step after an arc was appended at position narcs-1. */
static void arc_index_note_append(cue_ctx *c, cue_vertex *v)
{
	if (v->narcs <= ARC_INDEX_MIN)
		return;
	if (!v->arc_index || v->narcs * 2 > v->arc_index_cap)
		arc_index_build(v, c->a);
	else
		arc_index_put(v, v->narcs - 1);
}

static cue_arc *arc_get_or_add(cue_ctx *c, cue_vertex *v, const char *label, idp_pos pos)
{
	cue_arc *arc = cue_vertex_arc(v, label);
	if (arc)
		return arc;
	GROW(c, v->arcs, v->narcs, v->caparcs);
	arc = &v->arcs[v->narcs++];
	memset(arc, 0, sizeof(*arc));
	arc->label = idp_arena_strdup(c->a, label);
	arc->v = cue_vertex_new(c, v, arc->label, pos);
	arc->optional = true; /* until a regular declaration says otherwise */
	arc->pos = pos;
	arc_index_note_append(c, v);
	return arc;
}

void cue_vertex_add_value_arc(cue_ctx *c, cue_vertex *v, const char *label, idp_pos pos, cue_value *val)
{
	GROW(c, v->arcs, v->narcs, v->caparcs);
	cue_vertex *e = cue_vertex_new(c, v, idp_arena_strdup(c->a, label), pos);
	cue_vertex_add(c, e, (cue_conjunct){NULL, NULL, val, false, false});
	v->arcs[v->narcs++] = (cue_arc){e->label, e, false, false, true, pos, NULL};
	arc_index_note_append(c, v);
}

static bool is_hidden_or_def(const char *label)
{
	return label[0] == '_' || label[0] == '#';
}

bool cue_arc_is_regular(const cue_arc *arc)
{
	return !arc->optional && !is_hidden_or_def(arc->label);
}

/* ---------------------------------------------------------------- scopes and references */

static cue_value *unset_optional(cue_ctx *c, idp_pos pos, const char *name)
{
	cue_value *b = cue_bottom_named(c, pos, true, "cannot reference optional field: ", name);
	b->as.err.unset_optional = b->as.err.missing = true;
	return b;
}

typedef struct cue_let_cache {
	struct cue_let_cache *next;
	cue_decl *decl;
	cue_value *val;
} cue_let_cache;

static cue_env *env_struct(cue_ctx *c, cue_env *up, cue_node *strct, cue_vertex *v)
{
	cue_env *e = idp_arena_zalloc(c->a, sizeof(*e));
	e->up = up;
	e->strct = strct;
	e->v = v;
	return e;
}

static cue_env *env_bind(cue_ctx *c, cue_env *up, const char *n1, cue_value *v1, const char *n2, cue_value *v2)
{
	cue_env *e = idp_arena_zalloc(c->a, sizeof(*e));
	e->up = up;
	e->names[0] = n1;
	e->vals[0] = v1;
	e->names[1] = n2;
	e->vals[1] = v2;
	return e;
}

static cue_value *eval_let(cue_ctx *c, cue_env *e, cue_decl *d)
{
	for (cue_let_cache *l = e->lets; l; l = l->next)
		if (l->decl == d)
			return l->val;
	cue_let_cache *l = idp_arena_zalloc(c->a, sizeof(*l));
	l->decl = d;
	l->val = cue_bottom(c, d->pos, true, "cycle in let %s", d->name);
	l->next = e->lets;
	e->lets = l;
	l->val = cue_eval(c, d->value, e);
	return l->val;
}

static const char *import_name(const cue_decl *d)
{
	if (d->name)
		return d->name;
	const char *slash = strrchr(d->str, '/');
	return slash ? slash + 1 : d->str;
}

static cue_value *type_ident(cue_ctx *c, const char *name, idp_pos pos)
{
	static const struct {
		const char *name;
		unsigned mask;
	} types[] = {{"string", CK_STRING}, {"int", CK_INT},   {"float", CK_FLOAT},
		     {"number", CK_NUMBER}, {"bool", CK_BOOL}, {"bytes", CK_BYTES}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0)
			return cue_make_kind(c, pos, types[i].mask);
	const cue_builtin *b = cue_builtin_find("", name);
	if (b) {
		cue_value *v = cue_new(c, CV_BUILTIN, pos);
		v->as.fn = b;
		return v;
	}
	return NULL;
}

static cue_value *lookup(cue_ctx *c, const char *name, idp_pos pos, cue_env *env)
{
	for (cue_env *e = env; e; e = e->up) {
		if (!e->strct) {
			for (int k = 0; k < 2; k++)
				if (e->names[k] && idp_str_eq(e->names[k], name))
					return e->vals[k];
			continue;
		}
		for (size_t i = 0; i < e->strct->as.strct.n; i++) {
			cue_decl *d = &e->strct->as.strct.decls[i];
			if (d->kind == CUE_DECL_FIELD && d->label_kind == CUE_LABEL_IDENT && idp_str_eq(d->name, name)) {
				cue_arc *arc = arc_get_or_add(c, e->v, name, d->pos);
				if (arc->optional && !d->optional)
					arc->optional = false;
				/* An optional field that nothing set is not there to be referenced. */
				if (arc->optional)
					return unset_optional(c, pos, name);
				return cue_vertex_value(c, arc->v);
			}
			if (d->kind == CUE_DECL_LET && idp_str_eq(d->name, name))
				return eval_let(c, e, d);
			if (d->kind == CUE_DECL_IMPORT && strcmp(import_name(d), name) == 0) {
				cue_value *p = cue_new(c, CV_PACKAGE, pos);
				p->as.s.ptr = d->str;
				p->as.s.len = strlen(d->str);
				return p;
			}
		}
	}
	/* Values filled in from outside (KubeVela's context) are top-level
	 * fields no literal declares. */
	cue_arc *filled = c->root ? cue_vertex_arc(c->root, name) : NULL;
	if (filled && !filled->optional && c->root->state != VS_NEW)
		return cue_vertex_value(c, filled->v);
	cue_value *t = type_ident(c, name, pos);
	if (t)
		return t;
	cue_value *b = cue_bottom(c, pos, false, "reference \"%s\" not found", name);
	b->as.err.missing = true;
	return b;
}

/* ---------------------------------------------------------------- selection */

cue_value *cue_select(cue_ctx *c, cue_value *x, const char *label, idp_pos pos)
{
	if (x->kind == CV_PACKAGE) {
		const cue_builtin *b = cue_builtin_find(x->as.s.ptr, label);
		if (!b)
			return cue_bottom(c, pos, false, "unsupported CUE construct %s.%s (not a builtin of this dialect)",
					  x->as.s.ptr, label);
		cue_value *v = cue_new(c, CV_BUILTIN, pos);
		v->as.fn = b;
		return v;
	}
	x = cue_concrete(c, x, CK_STRUCT, NULL);
	if (x->kind == CV_BOTTOM)
		return x;
	cue_arc *arc = cue_vertex_arc(x->as.v, label);
	if (!arc) {
		cue_value *b = cue_bottom_named(c, pos, true, "undefined field: ", label);
		b->as.err.missing = true;
		return b;
	}
	if (arc->optional)
		return unset_optional(c, pos, label);
	return cue_vertex_value(c, arc->v);
}

static cue_value *index_value(cue_ctx *c, cue_value *x, cue_value *i, idp_pos pos)
{
	i = cue_concrete(c, i, CK_INT | CK_STRING, "index");
	if (i->kind == CV_BOTTOM)
		return i;
	if (i->kind == CV_STRING)
		return cue_select(c, x, i->as.s.ptr, pos);
	x = cue_concrete(c, x, CK_LIST, "index");
	if (x->kind == CV_BOTTOM)
		return x;
	char label[24];
	snprintf(label, sizeof(label), "%lld", (long long)i->as.i);
	cue_arc *arc = i->as.i >= 0 ? cue_vertex_arc(x->as.v, label) : NULL;
	if (!arc)
		return cue_bottom(c, i->pos, true, "index %lld out of bounds (the list has %zu elements)", (long long)i->as.i,
				  x->as.v->narcs);
	return cue_vertex_value(c, arc->v);
}

/* ---------------------------------------------------------------- operators */

static cue_value *arith(cue_ctx *c, cue_op op, cue_value *x, cue_value *y, idp_pos pos)
{
	if (op == CUE_OP_ADD && x->kind == CV_STRING && y->kind == CV_STRING) {
		idp_buf b = IDP_BUF_INIT;
		idp_buf_append(&b, x->as.s.ptr, x->as.s.len);
		idp_buf_append(&b, y->as.s.ptr, y->as.s.len);
		cue_value *r = cue_string(c, pos, idp_buf_cstr(&b), b.len);
		idp_buf_free(&b);
		return r;
	}
	if (op == CUE_OP_ADD && x->kind == CV_LIST && y->kind == CV_LIST) {
		cue_vertex *v = cue_vertex_new(c, NULL, NULL, pos);
		v->is_list = true;
		size_t k = 0;
		for (int side = 0; side < 2; side++) {
			cue_vertex *src = (side ? y : x)->as.v;
			for (size_t i = 0; i < src->narcs; i++) {
				char label[24];
				cue_arc *arc = arc_get_or_add(c, v, cue_index_label(label, k++), pos);
				arc->optional = false;
				cue_vertex_add(c, arc->v, (cue_conjunct){NULL, NULL, cue_vertex_value(c, src->arcs[i].v), false, false});
			}
		}
		v->state = VS_DONE;
		v->value = cue_new(c, CV_LIST, pos);
		v->value->as.v = v;
		return v->value;
	}
	bool num = (x->kind == CV_INT || x->kind == CV_FLOAT) && (y->kind == CV_INT || y->kind == CV_FLOAT);
	if (!num)
		return cue_bottom(c, pos, false, "invalid operands %s and %s to '%s'", cue_kind_text(c, x),
				  cue_kind_text(c, y), cue_op_text(op));
	if (x->kind == CV_INT && y->kind == CV_INT && op != CUE_OP_DIV) {
		int64_t r;
		bool overflow = op == CUE_OP_ADD   ? __builtin_add_overflow(x->as.i, y->as.i, &r)
				: op == CUE_OP_SUB ? __builtin_sub_overflow(x->as.i, y->as.i, &r)
						   : __builtin_mul_overflow(x->as.i, y->as.i, &r);
		if (overflow)
			return cue_bottom(c, pos, false, "integer overflow in %s", cue_op_text(op));
		return make_int(c, pos, r);
	}
	double a = x->kind == CV_INT ? (double)x->as.i : x->as.f;
	double b = y->kind == CV_INT ? (double)y->as.i : y->as.f;
	if (op == CUE_OP_DIV && b == 0)
		return cue_bottom(c, pos, false, "division by zero");
	double r = op == CUE_OP_ADD ? a + b : op == CUE_OP_SUB ? a - b : op == CUE_OP_MUL ? a * b : a / b;
	return make_float(c, pos, r);
}

static cue_value *compare(cue_ctx *c, cue_op op, cue_value *x, cue_value *y, idp_pos pos)
{
	if (op == CUE_OP_EQ || op == CUE_OP_NEQ) {
		bool eq = cue_values_equal(x, y);
		if (!eq && (x->kind != y->kind) &&
		    !((x->kind == CV_INT || x->kind == CV_FLOAT) && (y->kind == CV_INT || y->kind == CV_FLOAT)) &&
		    x->kind != CV_NULL && y->kind != CV_NULL)
			return cue_bottom(c, pos, false, "invalid operation %s %s %s (mismatched types)",
					  cue_kind_text(c, x), cue_op_text(op), cue_kind_text(c, y));
		return make_bool(c, pos, op == CUE_OP_EQ ? eq : !eq);
	}
	cue_bound b = {op, y};
	bool holds = false;
	cue_value *e = cue_bound_holds(c, x, &b, pos, &holds);
	return e ? e : make_bool(c, pos, holds);
}

/* `x == _|_` and `x != _|_`: is x an error or missing? */
static bool is_bottom_literal(const cue_node *n)
{
	return n->kind == CUE_N_BOTTOM;
}

static cue_value *eval_binary(cue_ctx *c, cue_node *n, cue_env *env)
{
	cue_op op = n->as.binary.op;
	idp_pos pos = n->pos;
	if ((op == CUE_OP_EQ || op == CUE_OP_NEQ) &&
	    (is_bottom_literal(n->as.binary.x) || is_bottom_literal(n->as.binary.y))) {
		cue_node *other = is_bottom_literal(n->as.binary.x) ? n->as.binary.y : n->as.binary.x;
		cue_value *v = cue_eval(c, other, env);
		bool bottom = v->kind == CV_BOTTOM;
		return make_bool(c, pos, op == CUE_OP_EQ ? bottom : !bottom);
	}
	cue_value *x = cue_eval(c, n->as.binary.x, env);
	if (op == CUE_OP_AND)
		return cue_unify(c, x, cue_eval(c, n->as.binary.y, env));
	if (op == CUE_OP_OR) {
		cue_value *y = cue_eval(c, n->as.binary.y, env);
		cue_value *d = cue_new(c, CV_DISJ, pos);
		size_t nx = x->kind == CV_DISJ ? x->as.d.n : 1, ny = y->kind == CV_DISJ ? y->as.d.n : 1;
		d->as.d.alts = idp_arena_alloc(c->a, (nx + ny) * sizeof(cue_value *));
		d->as.d.dflt = idp_arena_alloc(c->a, (nx + ny) * sizeof(bool));
		for (int side = 0; side < 2; side++) {
			cue_value *s = side ? y : x;
			size_t cnt = s->kind == CV_DISJ ? s->as.d.n : 1;
			for (size_t i = 0; i < cnt; i++) {
				cue_value *alt = s->kind == CV_DISJ ? s->as.d.alts[i] : s;
				bool dflt = s->kind == CV_DISJ ? s->as.d.dflt[i] : false;
				if (alt->kind == CV_BOTTOM)
					continue; /* *_|_ | T: no default, just T */
				d->as.d.alts[d->as.d.n] = alt;
				d->as.d.dflt[d->as.d.n] = dflt;
				d->as.d.has_default |= dflt;
				d->as.d.n++;
			}
		}
		if (d->as.d.n == 0)
			return cue_bottom(c, pos, false, "empty disjunction");
		if (d->as.d.n == 1 && !d->as.d.has_default)
			return d->as.d.alts[0];
		return d;
	}
	if (op == CUE_OP_LAND || op == CUE_OP_LOR) {
		x = cue_concrete(c, x, CK_BOOL, cue_op_text(op));
		if (x->kind == CV_BOTTOM)
			return x;
		if ((op == CUE_OP_LAND && !x->as.b) || (op == CUE_OP_LOR && x->as.b))
			return make_bool(c, pos, x->as.b);
		cue_value *y = cue_concrete(c, cue_eval(c, n->as.binary.y, env), CK_BOOL, cue_op_text(op));
		return y->kind == CV_BOTTOM ? y : make_bool(c, pos, y->as.b);
	}
	cue_value *y = cue_eval(c, n->as.binary.y, env);
	x = cue_concrete(c, x, 0, cue_op_text(op));
	if (x->kind == CV_BOTTOM)
		return x;
	y = cue_concrete(c, y, 0, cue_op_text(op));
	if (y->kind == CV_BOTTOM)
		return y;
	switch (op) {
	case CUE_OP_ADD:
	case CUE_OP_SUB:
	case CUE_OP_MUL:
	case CUE_OP_DIV: return arith(c, op, x, y, pos);
	case CUE_OP_EQ:
	case CUE_OP_NEQ:
	case CUE_OP_LT:
	case CUE_OP_LEQ:
	case CUE_OP_GT:
	case CUE_OP_GEQ:
	case CUE_OP_MATCH:
	case CUE_OP_NMATCH: return compare(c, op, x, y, pos);
	default: return cue_bottom(c, pos, false, "unsupported CUE construct operator %s", cue_op_text(op));
	}
}

static cue_value *eval_unary(cue_ctx *c, cue_node *n, cue_env *env)
{
	cue_op op = n->as.unary.op;
	cue_value *x = cue_eval(c, n->as.unary.x, env);
	if (op == CUE_OP_MUL) { /* default marker: a one-alternative disjunction */
		cue_value *d = cue_new(c, CV_DISJ, n->pos);
		d->as.d.alts = idp_arena_alloc(c->a, sizeof(cue_value *));
		d->as.d.dflt = idp_arena_alloc(c->a, sizeof(bool));
		d->as.d.alts[0] = x;
		d->as.d.dflt[0] = true;
		d->as.d.n = 1;
		d->as.d.has_default = true;
		return d;
	}
	if (x->kind == CV_BOTTOM)
		return x;
	if (op == CUE_OP_SUB || op == CUE_OP_ADD || op == CUE_OP_NOT) {
		x = cue_concrete(c, x, op == CUE_OP_NOT ? CK_BOOL : CK_NUMBER, cue_op_text(op));
		if (x->kind == CV_BOTTOM)
			return x;
		if (op == CUE_OP_NOT)
			return make_bool(c, n->pos, !x->as.b);
		if (op == CUE_OP_ADD)
			return x;
		if (x->kind == CV_INT) {
			if (x->as.i == INT64_MIN)
				return cue_bottom(c, n->pos, false, "integer overflow in -");
			return make_int(c, n->pos, -x->as.i);
		}
		return make_float(c, n->pos, -x->as.f);
	}
	/* A bound: >=1, =~"re", != "". */
	x = cue_concrete(c, x, (op == CUE_OP_MATCH || op == CUE_OP_NMATCH) ? CK_STRING : 0, cue_op_text(op));
	if (x->kind == CV_BOTTOM)
		return x;
	unsigned mask = (op == CUE_OP_MATCH || op == CUE_OP_NMATCH) ? CK_STRING
			: op == CUE_OP_NEQ                          ? CK_ALL
			: (x->kind == CV_STRING)                    ? CK_STRING
								    : CK_NUMBER;
	cue_value *r = cue_make_kind(c, n->pos, mask);
	r->as.c.bounds = idp_arena_alloc(c->a, sizeof(cue_bound));
	r->as.c.bounds[0] = (cue_bound){op, x};
	r->as.c.n = 1;
	return r;
}

/* ---------------------------------------------------------------- strings */

static bool append_interp_value(idp_buf *b, const cue_value *v)
{
	char num[40];
	switch (v->kind) {
	case CV_STRING:
	case CV_BYTES: idp_buf_append(b, v->as.s.ptr, v->as.s.len); return true;
	case CV_INT: idp_buf_printf(b, "%lld", (long long)v->as.i); return true;
	case CV_FLOAT:
		for (int p = 1; p <= 17; p++) { /* the shortest text that reads back the same */
			snprintf(num, sizeof(num), "%.*g", p, v->as.f);
			if (strtod(num, NULL) == v->as.f)
				break;
		}
		idp_buf_puts(b, num);
		return true;
	case CV_BOOL: idp_buf_puts(b, v->as.b ? "true" : "false"); return true;
	case CV_NULL: idp_buf_puts(b, "null"); return true;
	default: return false;
	}
}

static cue_value *eval_interp(cue_ctx *c, cue_node *n, cue_env *env)
{
	idp_buf b = IDP_BUF_INIT;
	cue_value *r = NULL;
	for (size_t i = 0; i < n->as.interp.n && !r; i++) {
		cue_node *part = n->as.interp.parts[i];
		if (part->kind == CUE_N_STRING) {
			idp_buf_append(&b, part->as.str.ptr, part->as.str.len);
			continue;
		}
		cue_value *v = cue_concrete(c, cue_eval(c, part, env), CK_STRING | CK_BYTES | CK_NUMBER | CK_BOOL | CK_NULL,
					    "interpolation");
		if (v->kind == CV_BOTTOM) /* an incomplete operand is reported where it is used */
			r = v->as.err.incomplete ? cue_bottom(c, n->pos, true, "%s", cue_err_msg(c, v)) : v;
		else if (!append_interp_value(&b, v))
			r = cue_bottom(c, part->pos, false, "cannot interpolate %s", cue_kind_text(c, v));
	}
	if (!r)
		r = cue_string(c, n->pos, idp_buf_cstr(&b), b.len);
	idp_buf_free(&b);
	return r;
}

/* ---------------------------------------------------------------- calls */

static cue_value *eval_call(cue_ctx *c, cue_node *n, cue_env *env)
{
	cue_value *fn = cue_eval(c, n->as.call.fn, env);
	if (fn->kind == CV_BOTTOM)
		return fn;
	if (fn->kind != CV_BUILTIN)
		return cue_bottom(c, n->pos, false, "cannot call %s", cue_kind_text(c, fn));
	const cue_builtin *b = fn->as.fn;
	if (b->nargs >= 0 && (size_t)b->nargs != n->as.call.n)
		return cue_bottom(c, n->pos, false, "%s%s%s takes %d argument%s, got %zu", b->pkg, *b->pkg ? "." : "",
				  b->name, b->nargs, b->nargs == 1 ? "" : "s", n->as.call.n);
	cue_value **args = idp_arena_alloc(c->a, (n->as.call.n ? n->as.call.n : 1) * sizeof(cue_value *));
	for (size_t i = 0; i < n->as.call.n; i++) {
		cue_node *arg = n->as.call.args[i];
		/* close() must see the struct literal itself to mark it closed. */
		if (strcmp(b->name, "close") == 0 && !*b->pkg && arg->kind == CUE_N_STRUCT) {
			cue_vertex *v = cue_vertex_new(c, NULL, NULL, arg->pos);
			cue_vertex_add(c, v, (cue_conjunct){arg, env, NULL, true, false});
			return cue_vertex_value(c, v);
		}
		args[i] = cue_eval(c, arg, env);
	}
	return b->fn(c, n->pos, args, n->as.call.n);
}

/* ---------------------------------------------------------------- vertex evaluation */

static void add_struct_literal(cue_ctx *c, cue_vertex *v, cue_node *lit, cue_env *env, bool closed);

static cue_value *label_value(cue_ctx *c, cue_decl *d, cue_env *env)
{
	if (d->label_kind == CUE_LABEL_IDENT || d->label_kind == CUE_LABEL_STRING)
		return cue_string(c, d->pos, d->name, strlen(d->name));
	cue_value *l = cue_concrete(c, cue_eval(c, d->label_expr, env), CK_STRING, "label");
	return l;
}

static void add_field(cue_ctx *c, cue_vertex *v, cue_decl *d, cue_env *env, bool closed)
{
	if (d->label_kind == CUE_LABEL_PATTERN) {
		GROW(c, v->patterns, v->npatterns, v->cappatterns);
		v->patterns[v->npatterns++] = (cue_pattern){d->label_expr, env, {d->value, env, NULL, closed, false}};
		return;
	}
	cue_value *l = label_value(c, d, env);
	if (l->kind == CV_BOTTOM) {
		cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, l, false, false});
		return;
	}
	if (memchr(l->as.s.ptr, '\0', l->as.s.len)) {
		cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, cue_bottom(c, d->pos, false, "label contains NUL"), false, false});
		return;
	}
	cue_arc *arc = arc_get_or_add(c, v, l->as.s.ptr, d->pos);
	v->has_fields = true;
	if (d->doc && !arc->doc)
		arc->doc = d->doc;
	if (!d->optional)
		arc->optional = false;
	if (d->required)
		arc->required = true;
	arc->allowed = arc->allowed || closed;
	cue_vertex_add(c, arc->v, (cue_conjunct){d->value, env, NULL, closed, false});
}

static void record_order(cue_ctx *c, cue_vertex *v, cue_node *lit)
{
	size_t n = 0;
	for (size_t i = 0; i < lit->as.strct.n; i++) {
		cue_decl *d = &lit->as.strct.decls[i];
		n += d->kind == CUE_DECL_FIELD && (d->label_kind == CUE_LABEL_IDENT || d->label_kind == CUE_LABEL_STRING);
	}
	if (n < 2)
		return; /* one field alone says nothing about order */
	cue_order o = {idp_arena_alloc(c->a, n * sizeof(char *)), 0};
	for (size_t i = 0; i < lit->as.strct.n; i++) {
		cue_decl *d = &lit->as.strct.decls[i];
		if (d->kind == CUE_DECL_FIELD && (d->label_kind == CUE_LABEL_IDENT || d->label_kind == CUE_LABEL_STRING))
			o.labels[o.n++] = d->name;
	}
	GROW(c, v->orders, v->norders, v->caporders);
	v->orders[v->norders++] = o;
}

static ssize_t arc_index(const cue_vertex *v, const char *label)
{
	for (size_t i = 0; i < v->narcs; i++)
		if (idp_str_eq(v->arcs[i].label, label))
			return (ssize_t)i;
	return -1;
}

/* Orders the fields so that each literal's own order holds, otherwise by
 * first appearance (Kahn's algorithm, smallest index first). Quadratic, so
 * only for structs of ordinary size. */
static void sort_arcs(cue_ctx *c, cue_vertex *v)
{
	size_t n = v->narcs;
	if (v->norders == 0 || n < 2 || n > 512)
		return;
	size_t *indeg = idp_arena_zalloc(c->a, n * sizeof(size_t));
	bool *edge = idp_arena_zalloc(c->a, n * n * sizeof(bool));
	for (size_t k = 0; k < v->norders; k++) {
		for (size_t j = 1; j < v->orders[k].n; j++) {
			ssize_t a = arc_index(v, v->orders[k].labels[j - 1]), b = arc_index(v, v->orders[k].labels[j]);
			if (a < 0 || b < 0 || a == b || edge[(size_t)a * n + (size_t)b])
				continue;
			edge[(size_t)a * n + (size_t)b] = true;
			indeg[b]++;
		}
	}
	cue_arc *sorted = idp_arena_alloc(c->a, n * sizeof(cue_arc));
	bool *placed = idp_arena_zalloc(c->a, n * sizeof(bool));
	for (size_t out = 0; out < n; out++) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++)
			if (!placed[i] && indeg[i] == 0)
				pick = i;
		for (size_t i = 0; i < n && pick == n; i++) /* contradictory orders: first unplaced */
			if (!placed[i])
				pick = i;
		placed[pick] = true;
		sorted[out] = v->arcs[pick];
		for (size_t j = 0; j < n; j++)
			if (edge[pick * n + j] && indeg[j])
				indeg[j]--;
	}
	memcpy(v->arcs, sorted, n * sizeof(cue_arc));
	v->arc_index = NULL; /* positions moved: rebuilt on the next append */
	if (n > ARC_INDEX_MIN)
		arc_index_build(v, c->a);
}

static void defer_decl(cue_ctx *c, cue_vertex *v, cue_decl *d, cue_env *env, bool closed)
{
	GROW(c, v->deferred, v->ndeferred, v->capdeferred);
	v->deferred[v->ndeferred++] = (cue_deferred){d, env, closed, v->narcs};
}

static void add_struct_literal(cue_ctx *c, cue_vertex *v, cue_node *lit, cue_env *env, bool closed)
{
	cue_env *scope = env_struct(c, env, lit, v);
	v->is_struct = true;
	if (closed)
		v->closed = true;
	/* Fields declared beside an embedded definition are allowed by it. */
	bool embeds = false;
	for (size_t i = 0; i < lit->as.strct.n; i++)
		embeds = embeds || lit->as.strct.decls[i].kind == CUE_DECL_EMBED;
	for (size_t i = 0; i < lit->as.strct.n; i++) {
		cue_decl *d = &lit->as.strct.decls[i];
		switch (d->kind) {
		case CUE_DECL_FIELD: add_field(c, v, d, scope, closed || embeds); break;
		case CUE_DECL_EMBED:
		case CUE_DECL_COMP: defer_decl(c, v, d, scope, closed); break;
		case CUE_DECL_ELLIPSIS:
			v->ellipsis = true;
			if (closed)
				v->open = true;
			if (d->value) {
				GROW(c, v->patterns, v->npatterns, v->cappatterns);
				v->patterns[v->npatterns++] = (cue_pattern){NULL, scope, {d->value, scope, NULL, false, false}};
			}
			break;
		default: break; /* let, import, package: looked up by name */
		}
	}
	record_order(c, v, lit);
}

static bool already_absorbed(cue_ctx *c, cue_vertex *v, cue_vertex *src)
{
	for (size_t i = 0; i < v->nabsorbed; i++)
		if (v->absorbed[i] == src)
			return true;
	GROW(c, v->absorbed, v->nabsorbed, v->capabsorbed);
	v->absorbed[v->nabsorbed++] = src;
	return false;
}

static size_t add_list_literal(cue_ctx *c, cue_vertex *v, cue_node *lit, cue_env *env, bool closed);

/* Copies the conjuncts of a struct or list vertex into v, so that they are
 * evaluated again in v (self-references then see v's fields). */
static void absorb_vertex(cue_ctx *c, cue_vertex *v, cue_vertex *src, bool closed)
{
	if (already_absorbed(c, v, src))
		return;
	/* A definition's struct closes what it is unified with. */
	bool from_def = src->label && src->label[0] == '#';
	for (size_t i = 0; i < src->ncj; i++) {
		cue_conjunct cj = src->cj[i];
		cj.closed = cj.closed || closed || from_def;
		cue_vertex_add(c, v, cj);
	}
	if (src->ncj == 0) { /* built from values (a fill or a builtin): copy its arcs */
		if (src->is_list)
			v->is_list = true;
		else
			v->is_struct = v->has_fields = true;
		for (size_t i = 0; i < src->narcs; i++) {
			cue_arc *arc = arc_get_or_add(c, v, src->arcs[i].label, src->arcs[i].pos);
			arc->optional = arc->optional && src->arcs[i].optional;
			/* Filled-in fields are not declarations: a closed struct still limits them. */
			arc->allowed = arc->allowed || closed;
			cue_vertex_add(c, arc->v, (cue_conjunct){NULL, NULL, cue_vertex_value(c, src->arcs[i].v), false, false});
		}
	}
}

static void run_comprehension(cue_ctx *c, cue_vertex *v, cue_clause *cl, size_t n, cue_node *body, cue_env *env,
			      bool closed, bool list_elem, size_t *next_index);

static void add_list_element(cue_ctx *c, cue_vertex *v, cue_conjunct cj, size_t *next_index, idp_pos pos)
{
	char label[24];
	cue_arc *arc = arc_get_or_add(c, v, cue_index_label(label, (*next_index)++), pos);
	arc->optional = false;
	arc->allowed = true;
	cue_vertex_add(c, arc->v, cj);
}

/* Returns how many elements the literal has (comprehensions expanded). */
static size_t add_list_literal(cue_ctx *c, cue_vertex *v, cue_node *lit, cue_env *env, bool closed)
{
	/* Element i of every list conjunct unifies into arc "i". A second list
	 * literal restarts at 0; lengths are checked when the vertex is done. */
	size_t index = 0;
	v->is_list = true;
	for (size_t i = 0; i < lit->as.list.n; i++) {
		cue_node *e = lit->as.list.elems[i];
		if (e->kind == CUE_N_LISTCOMP)
			run_comprehension(c, v, e->as.comp.clauses, e->as.comp.n_clauses, e->as.comp.body, env, closed,
					  true, &index);
		else
			add_list_element(c, v, (cue_conjunct){e, env, NULL, closed, false}, &index, e->pos);
	}
	if (lit->as.list.open) {
		v->list_open = true;
		if (lit->as.list.tail)
			v->list_tail = (cue_conjunct){lit->as.list.tail, env, NULL, closed, false};
	}
	return index;
}

/* Iterates one clause, then the rest; the body lands in v (a struct field
 * set, or list elements). */
static void run_comprehension(cue_ctx *c, cue_vertex *v, cue_clause *cl, size_t n, cue_node *body, cue_env *env,
			      bool closed, bool list_elem, size_t *next_index)
{
	if (++c->steps > IDP_CUE_MAX_STEPS) {
		cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, cue_bottom(c, body->pos, false, "evaluation limit exceeded"), false, false});
		return;
	}
	if (n == 0) {
		if (list_elem)
			add_list_element(c, v, (cue_conjunct){body, env, NULL, closed, false}, next_index, body->pos);
		else
			add_struct_literal(c, v, body, env, closed);
		return;
	}
	if (cl->kind == CUE_CLAUSE_LET) {
		cue_value *val = cue_eval(c, cl->expr, env);
		run_comprehension(c, v, cl + 1, n - 1, body, env_bind(c, env, cl->value, val, NULL, NULL), closed,
				  list_elem, next_index);
		return;
	}
	cue_value *src = cue_eval(c, cl->expr, env);
	if (cl->kind == CUE_CLAUSE_IF) {
		cue_value *cond = cue_concrete(c, src, CK_BOOL, "if condition");
		if (cond->kind == CV_BOTTOM) {
			cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, cond, false, false});
			return;
		}
		if (cond->as.b)
			run_comprehension(c, v, cl + 1, n - 1, body, env, closed, list_elem, next_index);
		return;
	}
	/* Iterating over an optional field nobody set yields nothing: KubeVela's
	 * templates rely on it (for v in parameter.pvc). */
	if (src->kind == CV_BOTTOM && src->as.err.unset_optional)
		return;
	src = cue_concrete(c, src, CK_STRUCT | CK_LIST, "for source");
	if (src->kind == CV_BOTTOM) {
		cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, src, false, false});
		return;
	}
	cue_vertex *sv = src->as.v;
	for (size_t i = 0; i < sv->narcs; i++) {
		cue_arc *arc = &sv->arcs[i];
		if (src->kind == CV_STRUCT && !cue_arc_is_regular(arc))
			continue;
		cue_value *key = src->kind == CV_LIST ? make_int(c, cl->pos, (int64_t)i)
						      : cue_string(c, cl->pos, arc->label, strlen(arc->label));
		cue_value *val = cue_vertex_value(c, arc->v);
		cue_env *bound = cl->key ? env_bind(c, env, cl->key, key, cl->value, val)
					 : env_bind(c, env, cl->value, val, NULL, NULL);
		run_comprehension(c, v, cl + 1, n - 1, body, bound, closed, list_elem, next_index);
	}
}

static bool disj_has_composite(const cue_value *v)
{
	if (v->kind != CV_DISJ)
		return false;
	for (size_t i = 0; i < v->as.d.n; i++)
		if (v->as.d.alts[i]->kind == CV_STRUCT || v->as.d.alts[i]->kind == CV_LIST)
			return true;
	return false;
}

/* A field that contains itself (a: {b: a}) would grow forever. */
static bool is_ancestor(const cue_vertex *maybe, const cue_vertex *v)
{
	for (; v; v = v->parent)
		if (v == maybe)
			return true;
	return false;
}

static void absorb_value(cue_ctx *c, cue_vertex *v, cue_value *val, bool closed, cue_value **acc)
{
	if ((val->kind == CV_STRUCT || val->kind == CV_LIST) && is_ancestor(val->as.v, v)) {
		*acc = cue_bottom(c, v->pos, false, "structural cycle: %s contains itself", v->label ? v->label : "value");
		return;
	}
	if (val->kind == CV_STRUCT) {
		v->is_struct = true;
		absorb_vertex(c, v, val->as.v, closed);
	} else if (val->kind == CV_LIST) {
		v->is_list = true;
		absorb_vertex(c, v, val->as.v, closed);
		if (val->as.v->list_open)
			v->list_open = true;
	} else {
		*acc = cue_unify(c, *acc, val);
	}
}

/* Moves the arcs added since index `from` to index `to` (<= from), keeping
 * their order: field order follows where a comprehension was written. */
static void move_arcs(cue_ctx *c, cue_vertex *v, size_t from, size_t to)
{
	size_t n = v->narcs - from;
	if (n == 0 || to >= from)
		return;
	if (v->arc_index) /* positions move: rebuild once they have */
		v->arc_index = NULL;
	for (size_t k = 0; k < n; k++) {
		cue_arc moved = v->arcs[from + k];
		memmove(&v->arcs[to + k + 1], &v->arcs[to + k], (from + k - to - k) * sizeof(cue_arc));
		v->arcs[to + k] = moved;
	}
	if (v->narcs > ARC_INDEX_MIN)
		arc_index_build(v, c->a);
}

static void run_deferred(cue_ctx *c, cue_vertex *v, cue_value **acc)
{
	for (size_t i = 0; i < v->ndeferred; i++) {
		cue_deferred df = v->deferred[i];
		if (df.decl->kind == CUE_DECL_COMP) {
			size_t before = v->narcs;
			run_comprehension(c, v, df.decl->clauses, df.decl->n_clauses, df.decl->value, df.env, df.closed,
					  false, NULL);
			move_arcs(c, v, before, df.insert_at);
			for (size_t k = i + 1; k < v->ndeferred; k++)
				if (v->deferred[k].insert_at >= df.insert_at)
					v->deferred[k].insert_at += v->narcs - before;
		} else {
			cue_node *e = df.decl->value;
			if (e->kind == CUE_N_STRUCT)
				add_struct_literal(c, v, e, df.env, df.closed);
			else
				absorb_value(c, v, cue_eval(c, e, df.env), df.closed, acc);
		}
	}
	v->ndeferred = 0;
}

static bool pattern_matches(cue_ctx *c, cue_pattern *p, const char *label)
{
	if (!p->label)
		return true;
	cue_value *lv = cue_string(c, p->label->pos, label, strlen(label));
	cue_value *r = cue_unify(c, cue_eval(c, p->label, p->env), lv);
	return r->kind != CV_BOTTOM;
}

static void apply_patterns(cue_ctx *c, cue_vertex *v)
{
	for (size_t i = 0; i < v->narcs; i++) {
		cue_arc *arc = &v->arcs[i];
		if (is_hidden_or_def(arc->label))
			continue;
		bool matched = false;
		for (size_t k = 0; k < v->npatterns; k++) {
			cue_pattern *p = &v->patterns[k];
			if (p->label == NULL && matched)
				continue; /* ...T applies only to fields no other pattern matched */
			if (pattern_matches(c, p, arc->label)) {
				matched = matched || p->label != NULL;
				cue_vertex_add(c, arc->v, p->value);
				if (p->value.closed || p->label)
					arc->allowed = true;
			}
		}
	}
}

static cue_value *check_closed(cue_ctx *c, cue_vertex *v)
{
	if (!v->closed || v->open)
		return NULL;
	for (size_t i = 0; i < v->narcs; i++) {
		cue_arc *arc = &v->arcs[i];
		if (!arc->allowed && !is_hidden_or_def(arc->label))
			return cue_bottom(c, arc->pos, false, "field not allowed: %s", arc->label);
	}
	return NULL;
}

static cue_value *finish_list(cue_ctx *c, cue_vertex *v)
{
	if (v->list_tail.expr) {
		for (size_t i = 0; i < v->narcs; i++)
			cue_vertex_add(c, v->arcs[i].v, v->list_tail);
	}
	cue_value *val = cue_new(c, CV_LIST, v->pos);
	val->as.v = v;
	return val;
}

cue_value *cue_vertex_value(cue_ctx *c, cue_vertex *v)
{
	if (v->state == VS_DONE)
		return v->value;
	if (v->state == VS_EVALUATING)
		return cue_bottom(c, v->pos, true, "cycle: %s refers to itself", v->label ? v->label : "value");
	if (++c->depth > IDP_CUE_MAX_DEPTH) {
		c->depth--;
		return cue_bottom(c, v->pos, false, "evaluation nests deeper than %d levels", IDP_CUE_MAX_DEPTH);
	}
	v->state = VS_EVALUATING;
	cue_value *acc = cue_new(c, CV_TOP, v->pos);
	cue_value *cdisj = NULL;
	size_t list_literals = 0, list_len = 0;
	bool list_len_mismatch = false;
	/* Every direct conjunct first, so that all fields are known before an
	 * embedding or a comprehension looks at them; those may add conjuncts,
	 * hence the outer loop. */
	size_t i = 0;
	for (;;) {
		for (; i < v->ncj; i++) {
			cue_conjunct cj = v->cj[i];
			if (++c->steps > IDP_CUE_MAX_STEPS) {
				acc = cue_bottom(c, v->pos, false, "evaluation limit exceeded");
				break;
			}
			if (cj.expr && cj.expr->kind == CUE_N_STRUCT) {
				add_struct_literal(c, v, cj.expr, cj.env, cj.closed);
			} else if (cj.expr && cj.expr->kind == CUE_N_LIST) {
				size_t len = add_list_literal(c, v, cj.expr, cj.env, cj.closed);
				if (!cj.expr->as.list.open) {
					if (list_literals++ && len != list_len)
						list_len_mismatch = true;
					list_len = len;
				}
			} else {
				cue_value *val = cj.val ? cj.val : cue_eval(c, cj.expr, cj.env);
				if (disj_has_composite(val)) { /* resolved once the rest is known */
					cdisj = cdisj ? cue_unify(c, cdisj, val) : val;
					v->cj[i].disj = true;
				} else {
					absorb_value(c, v, val, cj.closed, &acc);
				}
			}
		}
		if (v->ndeferred == 0 || acc->kind == CV_BOTTOM)
			break;
		run_deferred(c, v, &acc);
	}
	/* A closed list literal fixes the length: more elements from elsewhere
	 * (a filled document, another list) conflict with it. */
	if (list_literals && v->narcs != list_len)
		list_len_mismatch = true;
	/* A struct literal that only embeds a scalar or a list ({x * 2} in a list
	 * comprehension) is that value. */
	if (v->is_struct && !v->has_fields && (v->is_list || (acc->kind != CV_TOP && acc->kind != CV_DISJ &&
							      !(cue_kind_bit(acc) & CK_STRUCT))))
		v->is_struct = false;
	cue_value *result = acc;
	if (cdisj && acc->kind != CV_BOTTOM) {
		/* A disjunction of structs or lists meets the rest of the field:
		 * each alternative is unified with it, failing ones drop out. */
		cue_value *rest = acc;
		if (v->is_struct || v->is_list) {
			cue_vertex *w = cue_vertex_new(c, v->parent, NULL, v->pos);
			for (size_t k = 0; k < v->ncj; k++)
				if (!v->cj[k].disj)
					cue_vertex_add(c, w, v->cj[k]);
			rest = cue_vertex_value(c, w);
		}
		result = rest->kind == CV_BOTTOM ? rest : cue_unify(c, cdisj, rest);
		v->is_struct = v->is_list = false;
	} else if (acc->kind != CV_BOTTOM && (v->is_struct || v->is_list)) {
		if (v->is_struct && v->is_list)
			result = cue_bottom(c, v->pos, false, "conflicting values struct and list");
		else if (!(cue_kind_bit(acc) & (v->is_struct ? CK_STRUCT : CK_LIST)))
			result = cue_bottom(c, acc->pos, false, "conflicting values %s and %s", cue_kind_text(c, acc),
					    v->is_struct ? "struct" : "list");
		else if (list_len_mismatch)
			result = cue_bottom(c, v->pos, false, "incompatible list lengths");
		else if (v->is_struct) {
			sort_arcs(c, v);
			apply_patterns(c, v);
			cue_value *e = check_closed(c, v);
			if (e)
				result = e;
			else {
				result = cue_new(c, CV_STRUCT, v->pos);
				result->as.v = v;
			}
		} else {
			result = finish_list(c, v);
		}
	}
	v->value = result;
	v->state = VS_DONE;
	c->depth--;
	return result;
}

/* ---------------------------------------------------------------- expressions */

cue_value *cue_eval(cue_ctx *c, cue_node *n, cue_env *env)
{
	if (++c->steps > IDP_CUE_MAX_STEPS)
		return cue_bottom(c, n->pos, false, "evaluation limit exceeded");
	if (c->depth > IDP_CUE_MAX_DEPTH)
		return cue_bottom(c, n->pos, false, "evaluation nests deeper than %d levels", IDP_CUE_MAX_DEPTH);
	c->depth++;
	cue_value *r;
	switch (n->kind) {
	case CUE_N_TOP: r = cue_new(c, CV_TOP, n->pos); break;
	case CUE_N_BOTTOM: r = cue_bottom(c, n->pos, false, "explicit error (_|_ literal) in source"); break;
	case CUE_N_NULL: r = cue_new(c, CV_NULL, n->pos); break;
	case CUE_N_BOOL: r = make_bool(c, n->pos, n->as.b); break;
	case CUE_N_INT: r = make_int(c, n->pos, n->as.i); break;
	case CUE_N_FLOAT: r = make_float(c, n->pos, n->as.f); break;
	case CUE_N_STRING:
		r = cue_new(c, n->as.str.bytes ? CV_BYTES : CV_STRING, n->pos);
		r->as.s.ptr = n->as.str.ptr;
		r->as.s.len = n->as.str.len;
		break;
	case CUE_N_INTERP: r = eval_interp(c, n, env); break;
	case CUE_N_IDENT: r = lookup(c, n->as.ident, n->pos, env); break;
	case CUE_N_STRUCT:
	case CUE_N_LIST: {
		cue_vertex *v = cue_vertex_new(c, env ? env->v : NULL, NULL, n->pos);
		cue_vertex_add(c, v, (cue_conjunct){n, env, NULL, false, false});
		r = cue_vertex_value(c, v);
		break;
	}
	case CUE_N_UNARY: r = eval_unary(c, n, env); break;
	case CUE_N_BINARY: r = eval_binary(c, n, env); break;
	case CUE_N_SELECTOR: {
		cue_value *x = cue_eval(c, n->as.sel.x, env);
		r = x->kind == CV_BOTTOM ? x : cue_select(c, x, n->as.sel.sel, n->as.sel.sel_pos);
		break;
	}
	case CUE_N_INDEX: {
		cue_value *x = cue_eval(c, n->as.index.x, env);
		r = x->kind == CV_BOTTOM ? x : index_value(c, x, cue_eval(c, n->as.index.index, env), n->pos);
		break;
	}
	case CUE_N_CALL: r = eval_call(c, n, env); break;
	case CUE_N_LISTCOMP:
	default: r = cue_bottom(c, n->pos, false, "unsupported CUE construct here"); break;
	}
	c->depth--;
	return r;
}
