/* Whole-tree operations: equality and deep merge. */
#include "doc/doc_private.h"

#include <string.h>

/* Exact: 2^53 + 1 as an int is not the double 2^53, though C's conversion
 * would round it to that. */
static bool int_equals_float(int64_t i, double f)
{
	if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != (double)(int64_t)f)
		return false;
	return (int64_t)f == i;
}

static bool equal(const idp_doc_node *x, const idp_doc_node *y, bool typed)
{
	if (x == y)
		return true;
	if (!x || !y)
		return false;
	/* JSON has one number type: 1 and 1.0 are the same value (unless typed). */
	if (!typed && x->kind == IDP_DOC_INT && y->kind == IDP_DOC_FLOAT)
		return int_equals_float(x->as.i, y->as.f);
	if (!typed && x->kind == IDP_DOC_FLOAT && y->kind == IDP_DOC_INT)
		return int_equals_float(y->as.i, x->as.f);
	if (x->kind != y->kind)
		return false;
	switch (x->kind) {
	case IDP_DOC_NULL: return true;
	case IDP_DOC_BOOL: return x->as.b == y->as.b;
	case IDP_DOC_INT: return x->as.i == y->as.i;
	case IDP_DOC_FLOAT: return x->as.f == y->as.f;
	case IDP_DOC_STR:
		return x->as.str.len == y->as.str.len && memcmp(x->as.str.ptr, y->as.str.ptr, x->as.str.len) == 0;
	case IDP_DOC_SEQ:
		if (x->as.seq.len != y->as.seq.len)
			return false;
		for (size_t i = 0; i < x->as.seq.len; i++)
			if (!equal(x->as.seq.items[i], y->as.seq.items[i], typed))
				return false;
		return true;
	case IDP_DOC_MAP:
		if (x->as.map.len != y->as.map.len)
			return false;
		for (size_t i = 0; i < x->as.map.len; i++) {
			/* Same position first: maps compared are usually in the same order. */
			const idp_doc_entry *e = &x->as.map.items[i];
			const idp_doc_node *other = strcmp(y->as.map.items[i].key, e->key) == 0
							    ? y->as.map.items[i].value
							    : idp_doc_map_get(y, e->key);
			if (!other || !equal(e->value, other, typed))
				return false;
		}
		return true;
	}
	return false;
}

bool idp_doc_equal(const idp_doc_node *x, const idp_doc_node *y)
{
	return equal(x, y, false);
}

bool idp_doc_equal_typed(const idp_doc_node *x, const idp_doc_node *y)
{
	return equal(x, y, true);
}

idp_doc_node *idp_doc_merge(idp_arena *a, idp_doc_node *dst, const idp_doc_node *src, int flags)
{
	if (!src)
		return dst;
	if (!dst || dst->kind != IDP_DOC_MAP || src->kind != IDP_DOC_MAP) {
		if ((flags & IDP_DOC_MERGE_PATCH) && src->kind == IDP_DOC_MAP) {
			/* A patch map against a non-map starts from an empty map. */
			idp_doc_node *fresh = idp_doc_new_map(a);
			fresh->pos = src->pos;
			return idp_doc_merge(a, fresh, src, flags);
		}
		return idp_doc_copy(a, src);
	}
	for (size_t i = 0; i < src->as.map.len; i++) {
		const idp_doc_entry *e = &src->as.map.items[i];
		if ((flags & IDP_DOC_MERGE_PATCH) && e->value->kind == IDP_DOC_NULL) {
			idp_doc_map_delete(dst, e->key);
			continue;
		}
		idp_doc_node *cur = idp_doc_map_get(dst, e->key);
		idp_doc_node *merged = idp_doc_merge(a, cur, e->value, flags);
		if (merged != cur)
			idp_doc_map_set(a, dst, e->key, merged);
	}
	return dst;
}
