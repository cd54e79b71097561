/* Unification: what `&` means for every pair of values — scalars, type
 * constraints and bounds, disjunctions with their defaults, structs and
 * lists (a new vertex holding both) — and defaults resolved for use. */
#include "cue/eval.h"

#include <regex.h>
#include <string.h>


static int compare_numbers(const cue_value *x, const cue_value *y)
{
	if (x->kind == CV_INT && y->kind == CV_INT)
		return x->as.i < y->as.i ? -1 : x->as.i > y->as.i;
	double a = x->kind == CV_INT ? (double)x->as.i : x->as.f;
	double b = y->kind == CV_INT ? (double)y->as.i : y->as.f;
	return a < b ? -1 : a > b;
}

bool cue_values_equal(const cue_value *x, const cue_value *y)
{
	if ((x->kind == CV_INT || x->kind == CV_FLOAT) && (y->kind == CV_INT || y->kind == CV_FLOAT))
		return compare_numbers(x, y) == 0;
	if (x->kind != y->kind)
		return false;
	switch (x->kind) {
	case CV_NULL: return true;
	case CV_BOOL: return x->as.b == y->as.b;
	case CV_STRING:
	case CV_BYTES: return x->as.s.len == y->as.s.len && memcmp(x->as.s.ptr, y->as.s.ptr, x->as.s.len) == 0;
	default: return false;
	}
}

static bool regex_matches(const char *re, const char *s, bool *bad)
{
	return idp_regex_match(re, s, bad);
}

/* Checks a concrete value against one bound; NULL when it holds. */
cue_value *cue_bound_holds(cue_ctx *c, cue_value *v, const cue_bound *b, idp_pos pos, bool *holds)
{
	const cue_value *r = b->rhs;
	if (b->op == CUE_OP_MATCH || b->op == CUE_OP_NMATCH) {
		if (v->kind != CV_STRING)
			return cue_bottom(c, pos, false, "%s does not match %s (not a string)", cue_kind_text(c, v),
					  cue_op_text(b->op));
		bool bad;
		bool m = regex_matches(r->as.s.ptr, v->as.s.ptr, &bad);
		if (bad)
			return cue_bottom(c, r->pos, false, "invalid regular expression \"%s\"", r->as.s.ptr);
		*holds = b->op == CUE_OP_MATCH ? m : !m;
		return NULL;
	}
	if (b->op == CUE_OP_NEQ) {
		*holds = !cue_values_equal(v, r);
		return NULL;
	}
	int cmp;
	if ((v->kind == CV_INT || v->kind == CV_FLOAT) && (r->kind == CV_INT || r->kind == CV_FLOAT))
		cmp = compare_numbers(v, r);
	else if (v->kind == CV_STRING && r->kind == CV_STRING)
		cmp = strcmp(v->as.s.ptr, r->as.s.ptr);
	else
		return cue_bottom(c, pos, false, "invalid value %s (cannot compare with %s)", cue_kind_text(c, v),
				  cue_kind_text(c, r));
	*holds = (b->op == CUE_OP_LT && cmp < 0) || (b->op == CUE_OP_LEQ && cmp <= 0) ||
		 (b->op == CUE_OP_GT && cmp > 0) || (b->op == CUE_OP_GEQ && cmp >= 0);
	return NULL;
}

cue_value *cue_check_bound(cue_ctx *c, cue_value *v, const cue_bound *b, idp_pos pos)
{
	bool holds = false;
	cue_value *e = cue_bound_holds(c, v, b, pos, &holds);
	if (e || holds)
		return e;
	const cue_value *r = b->rhs;
	bool regex = b->op == CUE_OP_MATCH || b->op == CUE_OP_NMATCH;
	return cue_bottom(c, pos, false, "invalid value %s (out of bound %s%s%s%s)", cue_kind_text(c, v),
			  cue_op_text(b->op), regex ? "\"" : "", regex ? r->as.s.ptr : cue_kind_text(c, r),
			  regex ? "\"" : "");
}

/* A constraint & a concrete value: the value, if it satisfies all. */
static cue_value *constrain(cue_ctx *c, cue_value *con, cue_value *v)
{
	unsigned bit = cue_kind_bit(v);
	if (!(con->as.c.mask & bit))
		return cue_bottom(c, v->pos, false, "conflicting values %s and %s (mismatched types %s and %s)",
				  cue_kind_text(c, con), cue_kind_text(c, v), cue_mask_text(con->as.c.mask), cue_mask_text(bit));
	if (cue_is_concrete_scalar(v)) {
		for (size_t i = 0; i < con->as.c.n; i++) {
			cue_value *e = cue_check_bound(c, v, &con->as.c.bounds[i], v->pos);
			if (e)
				return e;
		}
		return v;
	}
	if (v->kind == CV_CONSTRAINT) { /* both abstract: intersect and collect bounds */
		cue_value *r = cue_make_kind(c, v->pos, con->as.c.mask & v->as.c.mask);
		r->as.c.n = con->as.c.n + v->as.c.n;
		r->as.c.bounds = idp_arena_alloc(c->a, (r->as.c.n ? r->as.c.n : 1) * sizeof(cue_bound));
		if (con->as.c.n)
			memcpy(r->as.c.bounds, con->as.c.bounds, con->as.c.n * sizeof(cue_bound));
		if (v->as.c.n)
			memcpy(r->as.c.bounds + con->as.c.n, v->as.c.bounds, v->as.c.n * sizeof(cue_bound));
		return r;
	}
	return v; /* a struct or list allowed by the kind mask */
}

/* A struct alternative of a disjunction fails if any field in it does:
 * evaluates the fields, returns the first conflict (or v). */
static cue_value *deep_error(cue_ctx *c, cue_value *v, unsigned depth)
{
	if ((v->kind != CV_STRUCT && v->kind != CV_LIST) || depth > 64)
		return v;
	for (size_t i = 0; i < v->as.v->narcs; i++) {
		cue_arc *arc = &v->as.v->arcs[i];
		if (arc->optional)
			continue;
		cue_value *f = deep_error(c, cue_vertex_value(c, arc->v), depth + 1);
		if (f->kind == CV_BOTTOM && !f->as.err.incomplete)
			return f;
	}
	return v;
}

/* A concrete value against an enumeration (a disjunction of concrete
 * scalars): the message lists what is allowed, where "conflicting values"
 * would name only the last alternative. NULL when that is not the case. */
static cue_value *enum_violation(cue_ctx *c, cue_value *x, cue_value *y)
{
	cue_value *e = x->kind == CV_DISJ ? x : y, *v = x->kind == CV_DISJ ? y : x;
	if (e->kind != CV_DISJ || !cue_is_concrete_scalar(v) || e->as.d.n > 32)
		return NULL;
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = 0; i < e->as.d.n; i++) {
		if (!cue_is_concrete_scalar(e->as.d.alts[i])) {
			idp_buf_free(&b);
			return NULL;
		}
		idp_buf_printf(&b, "%s%s", i ? ", " : "", cue_kind_text(c, e->as.d.alts[i]));
	}
	cue_value *r = cue_bottom(c, v->pos, false, "conflicting values: %s is none of the allowed values %s", cue_kind_text(c, v),
				  idp_buf_cstr(&b));
	idp_buf_free(&b);
	return r;
}

static cue_value *unify_disj(cue_ctx *c, cue_value *x, cue_value *y)
{
	/* Distribute: (a | b) & y = (a & y) | (b & y); a default stays a default. */
	size_t nx = x->kind == CV_DISJ ? x->as.d.n : 1, ny = y->kind == CV_DISJ ? y->as.d.n : 1;
	bool xdef = x->kind == CV_DISJ && x->as.d.has_default, ydef = y->kind == CV_DISJ && y->as.d.has_default;
	cue_value *r = cue_new(c, CV_DISJ, y->pos);
	r->as.d.alts = idp_arena_alloc(c->a, nx * ny * sizeof(cue_value *));
	r->as.d.dflt = idp_arena_alloc(c->a, nx * ny * sizeof(bool));
	cue_value *first_err = NULL;
	for (size_t i = 0; i < nx; i++) {
		cue_value *xi = x->kind == CV_DISJ ? x->as.d.alts[i] : x;
		bool di = x->kind == CV_DISJ ? x->as.d.dflt[i] : false;
		for (size_t j = 0; j < ny; j++) {
			cue_value *yj = y->kind == CV_DISJ ? y->as.d.alts[j] : y;
			bool dj = y->kind == CV_DISJ ? y->as.d.dflt[j] : false;
			cue_value *u = cue_unify(c, xi, yj);
			if (u->kind == CV_STRUCT || u->kind == CV_LIST)
				u = deep_error(c, u, 0);
			if (u->kind == CV_BOTTOM) {
				/* The last alternative is usually the general one (*1 | int):
				 * its conflict says most about what was wanted. */
				first_err = u;
				continue;
			}
			bool dup = false;
			for (size_t k = 0; k < r->as.d.n; k++)
				if (cue_is_concrete_scalar(u) && cue_values_equal(r->as.d.alts[k], u)) {
					dup = true;
					r->as.d.dflt[k] = r->as.d.dflt[k] || ((di || !xdef) && (dj || !ydef) && (xdef || ydef));
				}
			if (dup)
				continue;
			r->as.d.alts[r->as.d.n] = u;
			r->as.d.dflt[r->as.d.n] = (di || !xdef) && (dj || !ydef) && (xdef || ydef);
			r->as.d.has_default |= r->as.d.dflt[r->as.d.n];
			r->as.d.n++;
		}
	}
	if (r->as.d.n == 0) {
		if (nx * ny == 1 && first_err)
			return first_err;
		cue_value *enum_err = enum_violation(c, x, y);
		if (enum_err)
			return enum_err;
		/* The conflict's own place (an element of a property, say) says
		 * more than the disjunction's. */
		return cue_bottom(c, first_err ? first_err->pos : y->pos, false, "%s%s",
				  first_err ? cue_err_msg(c, first_err) : "empty disjunction",
				  nx * ny > 1 ? " (and no other alternative matches)" : "");
	}
	if (r->as.d.n == 1)
		return r->as.d.alts[0];
	return r;
}

/* Struct or list unification makes a new vertex holding both sides. */
static cue_value *unify_composite(cue_ctx *c, cue_value *x, cue_value *y)
{
	cue_vertex *v = cue_vertex_new(c, x->as.v->parent, NULL, y->pos);
	cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, x, false, false});
	cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, y, false, false});
	return cue_vertex_value(c, v);
}

cue_value *cue_unify(cue_ctx *c, cue_value *x, cue_value *y)
{
	if (x->kind == CV_BOTTOM)
		return x;
	if (y->kind == CV_BOTTOM)
		return y;
	if (x->kind == CV_TOP)
		return y;
	if (y->kind == CV_TOP)
		return x;
	if (x->kind == CV_DISJ || y->kind == CV_DISJ)
		return unify_disj(c, x, y);
	if (x->kind == CV_CONSTRAINT)
		return constrain(c, x, y);
	if (y->kind == CV_CONSTRAINT)
		return constrain(c, y, x);
	if ((x->kind == CV_STRUCT && y->kind == CV_STRUCT) || (x->kind == CV_LIST && y->kind == CV_LIST))
		return x->as.v == y->as.v ? x : unify_composite(c, x, y);
	if (cue_is_concrete_scalar(x) && cue_is_concrete_scalar(y)) {
		if (x->kind == y->kind && cue_values_equal(x, y))
			return y;
		return cue_bottom_lazy(c, y->pos, false, "conflicting values %s and %s%s", x, y, NULL);
	}
	return cue_bottom_lazy(c, y->pos, false, "conflicting values %s and %s (mismatched types)%s", x, y, NULL);
}

cue_value *cue_concrete(cue_ctx *c, cue_value *v, unsigned mask, const char *what)
{
	if (v->kind == CV_DISJ) {
		cue_value *pick = NULL;
		size_t ndef = 0;
		for (size_t i = 0; i < v->as.d.n; i++)
			if (v->as.d.dflt[i]) {
				pick = v->as.d.alts[i];
				ndef++;
			}
		if (ndef != 1)
			return cue_bottom(c, v->pos, true, "incomplete value: %s has no single default%s%s",
					  "disjunction", what ? " for " : "", what ? what : "");
		v = pick;
	}
	if (v->kind == CV_BOTTOM)
		return v;
	unsigned bit = cue_kind_bit(v);
	bool concrete = cue_is_concrete_scalar(v) || v->kind == CV_STRUCT || v->kind == CV_LIST ||
			v->kind == CV_BUILTIN || v->kind == CV_PACKAGE;
	if (!concrete)
		return cue_bottom_lazy(c, v->pos, true, what ? "incomplete value %s%s in %s" : "incomplete value %s%s%s", v,
				       NULL, what);
	if (mask && !(bit & mask))
		return cue_bottom(c, v->pos, false, "%s%s%s: want %s, found %s", what ? "invalid operand" : "invalid value",
				  what ? " of " : "", what ? what : "", cue_mask_text(mask), cue_kind_text(c, v));
	return v;
}

