/* Building and reading nodes: constructors, map and list edits, deep copy. */
#include "doc/doc_private.h"

#include <string.h>

const char *idp_doc_kind_name(idp_doc_kind kind)
{
	switch (kind) {
	case IDP_DOC_NULL: return "null";
	case IDP_DOC_BOOL: return "bool";
	case IDP_DOC_INT: return "int";
	case IDP_DOC_FLOAT: return "float";
	case IDP_DOC_STR: return "string";
	case IDP_DOC_MAP: return "map";
	case IDP_DOC_SEQ: return "list";
	}
	return "unknown";
}

idp_doc_node *doc_node_new(idp_arena *a, idp_doc_kind kind, idp_pos pos)
{
	idp_doc_node *n = idp_arena_zalloc(a, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	return n;
}

static const idp_pos no_pos = {NULL, 0, 0};

idp_doc_node *idp_doc_new_null(idp_arena *a)
{
	return doc_node_new(a, IDP_DOC_NULL, no_pos);
}

idp_doc_node *idp_doc_new_bool(idp_arena *a, bool v)
{
	idp_doc_node *n = doc_node_new(a, IDP_DOC_BOOL, no_pos);
	n->as.b = v;
	return n;
}

idp_doc_node *idp_doc_new_int(idp_arena *a, int64_t v)
{
	idp_doc_node *n = doc_node_new(a, IDP_DOC_INT, no_pos);
	n->as.i = v;
	return n;
}

idp_doc_node *idp_doc_new_float(idp_arena *a, double v)
{
	idp_doc_node *n = doc_node_new(a, IDP_DOC_FLOAT, no_pos);
	n->as.f = v;
	return n;
}

idp_doc_node *idp_doc_new_strn(idp_arena *a, const char *s, size_t len)
{
	idp_doc_node *n = doc_node_new(a, IDP_DOC_STR, no_pos);
	n->as.str.ptr = idp_arena_strndup(a, s, len);
	n->as.str.len = len;
	return n;
}

idp_doc_node *idp_doc_new_str(idp_arena *a, const char *s)
{
	return idp_doc_new_strn(a, s, strlen(s));
}

idp_doc_node *idp_doc_new_str_at(idp_arena *a, const char *s, idp_pos pos)
{
	idp_doc_node *n = idp_doc_new_strn(a, s, strlen(s));
	n->pos = pos;
	return n;
}

idp_doc_node *idp_doc_new_map(idp_arena *a)
{
	return doc_node_new(a, IDP_DOC_MAP, no_pos);
}

idp_doc_node *idp_doc_new_seq(idp_arena *a)
{
	return doc_node_new(a, IDP_DOC_SEQ, no_pos);
}

/* Arrays in an arena cannot grow in place: a full one is copied to a new
 * block twice the size (the old block is reclaimed with the arena). */
static void *grow(idp_arena *a, void *items, size_t len, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	void *n = idp_arena_alloc(a, ncap * elem);
	if (len)
		memcpy(n, items, len * elem);
	*cap = ncap;
	return n;
}

idp_doc_node *idp_doc_map_get(const idp_doc_node *map, const char *key)
{
	if (!map || map->kind != IDP_DOC_MAP)
		return NULL;
	for (size_t i = 0; i < map->as.map.len; i++)
		if (idp_str_eq(map->as.map.items[i].key, key))
			return map->as.map.items[i].value;
	return NULL;
}

const char *idp_doc_map_get_str(const idp_doc_node *map, const char *key)
{
	const idp_doc_node *v = idp_doc_map_get(map, key);
	return v && v->kind == IDP_DOC_STR ? v->as.str.ptr : NULL;
}

void idp_doc_map_set(idp_arena *a, idp_doc_node *map, const char *key, idp_doc_node *value)
{
	for (size_t i = 0; i < map->as.map.len; i++) {
		if (strcmp(map->as.map.items[i].key, key) == 0) {
			map->as.map.items[i].value = value;
			return;
		}
	}
	idp_doc_map_append(a, map, key, value ? value->pos : no_pos, value);
}

void idp_doc_map_append(idp_arena *a, idp_doc_node *map, const char *key, idp_pos key_pos, idp_doc_node *value)
{
	if (map->as.map.len == map->as.map.cap)
		map->as.map.items = grow(a, map->as.map.items, map->as.map.len, &map->as.map.cap,
					 sizeof(idp_doc_entry));
	idp_doc_entry *e = &map->as.map.items[map->as.map.len++];
	e->key = idp_arena_strdup(a, key);
	e->key_pos = key_pos;
	e->value = value;
}

bool idp_doc_map_delete(idp_doc_node *map, const char *key)
{
	if (!map || map->kind != IDP_DOC_MAP)
		return false;
	for (size_t i = 0; i < map->as.map.len; i++) {
		if (strcmp(map->as.map.items[i].key, key) == 0) {
			memmove(&map->as.map.items[i], &map->as.map.items[i + 1],
				(map->as.map.len - i - 1) * sizeof(idp_doc_entry));
			map->as.map.len--;
			return true;
		}
	}
	return false;
}

void idp_doc_seq_push(idp_arena *a, idp_doc_node *seq, idp_doc_node *value)
{
	if (seq->as.seq.len == seq->as.seq.cap)
		seq->as.seq.items = grow(a, seq->as.seq.items, seq->as.seq.len, &seq->as.seq.cap,
					 sizeof(idp_doc_node *));
	seq->as.seq.items[seq->as.seq.len++] = value;
}

/* Positions name their file by pointer; a copy may outlive the arena that
 * holds the name, so names move along. Nearly every node of a tree shares
 * one name, so the last one is remembered. */
typedef struct copy_ctx {
	idp_arena *a;
	const char *from, *to;
} copy_ctx;

static idp_pos copy_pos(copy_ctx *c, idp_pos p)
{
	if (p.file && p.file != c->from) {
		c->from = p.file;
		c->to = idp_arena_strdup(c->a, p.file);
	}
	if (p.file)
		p.file = c->to;
	return p;
}

static idp_doc_node *copy_node(copy_ctx *ctx, const idp_doc_node *n)
{
	idp_arena *a = ctx->a;
	idp_doc_node *c = idp_arena_alloc(a, sizeof(*c));
	*c = *n;
	c->pos = copy_pos(ctx, n->pos);
	switch (n->kind) {
	case IDP_DOC_STR:
		c->as.str.ptr = idp_arena_strndup(a, n->as.str.ptr, n->as.str.len);
		break;
	case IDP_DOC_MAP:
		c->as.map.cap = n->as.map.len;
		c->as.map.items = n->as.map.len ? idp_arena_alloc(a, n->as.map.len * sizeof(idp_doc_entry)) : NULL;
		for (size_t i = 0; i < n->as.map.len; i++) {
			c->as.map.items[i].key = idp_arena_strdup(a, n->as.map.items[i].key);
			c->as.map.items[i].key_pos = copy_pos(ctx, n->as.map.items[i].key_pos);
			c->as.map.items[i].value = copy_node(ctx, n->as.map.items[i].value);
		}
		break;
	case IDP_DOC_SEQ:
		c->as.seq.cap = n->as.seq.len;
		c->as.seq.items = n->as.seq.len ? idp_arena_alloc(a, n->as.seq.len * sizeof(idp_doc_node *)) : NULL;
		for (size_t i = 0; i < n->as.seq.len; i++)
			c->as.seq.items[i] = copy_node(ctx, n->as.seq.items[i]);
		break;
	default:
		break;
	}
	return c;
}

idp_doc_node *idp_doc_copy(idp_arena *a, const idp_doc_node *n)
{
	copy_ctx ctx = {a, NULL, NULL};
	return copy_node(&ctx, n);
}
