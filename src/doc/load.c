/* The loader: libyaml events in, idp_doc_node trees out.
 *
 * libyaml does the parsing; this file adds what kubectl's reader adds on top
 * (YAML 1.1 scalar typing, keys as strings, `<<` merges) and what a server
 * facing untrusted input needs (UTF-8 and size checks, duplicate keys, an
 * alias-expansion cap, a nesting cap). Events are consumed one by one with an
 * explicit stack, so no input can exhaust the C stack. */
#include "doc/doc_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---------------------------------------------------------------- key index */

/* An open-addressing hash from a string to a slot number (+1; 0 is empty).
 * Used for duplicate keys in big maps, merge keys and the anchor table. */
typedef struct key_index {
	uint32_t *slots;
	size_t cap; /* a power of two, or 0 */
	size_t len;
} key_index;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

typedef const char *(*key_of_fn)(const void *ctx, uint32_t slot);

/* Returns a pointer to the slot holding key, or to the empty slot where it
 * would go. */
static uint32_t *index_find(key_index *ix, const char *key, key_of_fn key_of, const void *ctx)
{
	size_t mask = ix->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		uint32_t v = ix->slots[i];
		if (v == 0 || strcmp(key_of(ctx, v - 1), key) == 0)
			return &ix->slots[i];
	}
}

static void index_grow(key_index *ix, key_of_fn key_of, const void *ctx)
{
	key_index bigger = {idp_xcalloc(ix->cap ? ix->cap * 2 : 32, sizeof(uint32_t)),
			    ix->cap ? ix->cap * 2 : 32, 0};
	for (size_t i = 0; i < ix->cap; i++) {
		if (ix->slots[i]) {
			*index_find(&bigger, key_of(ctx, ix->slots[i] - 1), key_of, ctx) = ix->slots[i];
			bigger.len++;
		}
	}
	free(ix->slots);
	*ix = bigger;
}

/* Looks key up; when absent and insert_slot != UINT32_MAX, inserts it.
 * Returns the slot found, or UINT32_MAX when it was absent. */
static uint32_t index_lookup(key_index *ix, const char *key, uint32_t insert_slot, key_of_fn key_of,
			     const void *ctx)
{
	if ((ix->len + 1) * 2 > ix->cap)
		index_grow(ix, key_of, ctx);
	uint32_t *s = index_find(ix, key, key_of, ctx);
	if (*s)
		return *s - 1;
	if (insert_slot != UINT32_MAX) {
		*s = insert_slot + 1;
		ix->len++;
	}
	return UINT32_MAX;
}

/* ---------------------------------------------------------------- loader state */

/* A map or list being built. Children collect in a malloc'd scratch array
 * and move to the arena, at their final size, when the container ends. */
typedef struct frame {
	idp_doc_node *node;
	char *anchor;          /* malloc'd, or NULL */
	idp_doc_entry *entries; /* maps; an entry with key NULL is a pending `<<` merge */
	idp_doc_node **items;   /* lists */
	size_t len, cap;
	key_index keys;        /* explicit keys of a map, once it is big */
	bool has_key;          /* a key was read and waits for its value */
	bool key_is_merge;
	bool has_merge;
	const char *key;       /* arena string */
	idp_pos key_pos;
} frame;

typedef struct anchor_def {
	char *name; /* malloc'd */
	idp_doc_node *node;
} anchor_def;

typedef struct loader {
	idp_arena *a;
	const char *file; /* arena copy */
	idp_doc_load_opts opts;
	idp_err *err;
	frame *stack;
	size_t depth, stack_cap;
	anchor_def *anchors;
	size_t n_anchors, anchors_cap;
	key_index anchor_index;
	size_t alias_nodes;
	idp_doc_node **docs;
	size_t n_docs, docs_cap;
	idp_doc_node *root;
	bool next_scalar_is_merge_key;
	const char *data; /* the input, for turning byte offsets into positions */
} loader;

static idp_pos mark_pos(const loader *L, yaml_mark_t m)
{
	idp_pos p = {L->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1};
	return p;
}

/* ---------------------------------------------------------------- anchors */

static const char *anchor_key(const void *ctx, uint32_t slot)
{
	return ((const loader *)ctx)->anchors[slot].name;
}

static void anchor_define(loader *L, const char *name, idp_doc_node *node)
{
	uint32_t slot = index_lookup(&L->anchor_index, name, (uint32_t)L->n_anchors, anchor_key, L);
	if (slot != UINT32_MAX) { /* YAML lets a later anchor of the same name win */
		L->anchors[slot].node = node;
		return;
	}
	if (L->n_anchors == L->anchors_cap) {
		L->anchors_cap = L->anchors_cap ? L->anchors_cap * 2 : 16;
		L->anchors = idp_xrealloc(L->anchors, L->anchors_cap * sizeof(*L->anchors));
	}
	L->anchors[L->n_anchors].name = idp_xstrdup(name);
	L->anchors[L->n_anchors].node = node;
	L->n_anchors++;
}

static idp_doc_node *anchor_get(loader *L, const char *name)
{
	if (L->n_anchors == 0)
		return NULL;
	uint32_t slot = index_lookup(&L->anchor_index, name, UINT32_MAX, anchor_key, L);
	return slot == UINT32_MAX ? NULL : L->anchors[slot].node;
}

/* Copies an aliased node, counting every node made so that a billion-laughs
 * input stops at the cap instead of exhausting memory. */
static idp_doc_node *alias_copy(loader *L, const idp_doc_node *n, size_t depth, idp_pos at)
{
	if (++L->alias_nodes > L->opts.max_alias_nodes) {
		idp_err_at(L->err, at, NULL,
			   "alias expansion exceeds %zu nodes (a billion-laughs document?)",
			   L->opts.max_alias_nodes);
		return NULL;
	}
	if (depth > L->opts.max_depth) {
		idp_err_at(L->err, at, NULL, "alias expands to nesting deeper than %u levels",
			   (unsigned)L->opts.max_depth);
		return NULL;
	}
	idp_doc_node *c = idp_arena_alloc(L->a, sizeof(*c));
	*c = *n;
	if (n->kind == IDP_DOC_MAP) {
		c->as.map.cap = n->as.map.len;
		c->as.map.items = n->as.map.len ? idp_arena_alloc(L->a, n->as.map.len * sizeof(idp_doc_entry)) : NULL;
		for (size_t i = 0; i < n->as.map.len; i++) {
			c->as.map.items[i] = n->as.map.items[i];
			c->as.map.items[i].value = alias_copy(L, n->as.map.items[i].value, depth + 1, at);
			if (!c->as.map.items[i].value)
				return NULL;
		}
	} else if (n->kind == IDP_DOC_SEQ) {
		c->as.seq.cap = n->as.seq.len;
		c->as.seq.items = n->as.seq.len ? idp_arena_alloc(L->a, n->as.seq.len * sizeof(idp_doc_node *)) : NULL;
		for (size_t i = 0; i < n->as.seq.len; i++) {
			c->as.seq.items[i] = alias_copy(L, n->as.seq.items[i], depth + 1, at);
			if (!c->as.seq.items[i])
				return NULL;
		}
	}
	/* Strings and keys are never changed in place, so they can be shared. */
	return c;
}

/* ---------------------------------------------------------------- keys */

/* Map keys become strings, as sigs.k8s.io/yaml makes them for JSON. */
static const char *key_text(loader *L, const idp_doc_node *k, idp_pos pos)
{
	char tmp[32];
	switch (k->kind) {
	case IDP_DOC_STR:
		if (memchr(k->as.str.ptr, '\0', k->as.str.len)) {
			idp_err_at(L->err, pos, NULL, "map key contains a NUL character");
			return NULL;
		}
		return k->as.str.ptr;
	case IDP_DOC_NULL: return "null";
	case IDP_DOC_BOOL: return k->as.b ? "true" : "false";
	case IDP_DOC_INT: return idp_arena_printf(L->a, "%lld", (long long)k->as.i);
	case IDP_DOC_FLOAT:
		doc_format_float(k->as.f, false, tmp);
		return idp_arena_strdup(L->a, tmp);
	default:
		idp_err_at(L->err, pos, NULL, "map keys must be scalars, not a %s", idp_doc_kind_name(k->kind));
		return NULL;
	}
}

static const char *entry_key(const void *ctx, uint32_t slot)
{
	return ((const frame *)ctx)->entries[slot].key;
}

/* Small maps are searched linearly; past this size they get a hash index. */
#define MAP_INDEX_THRESHOLD 12

/* Returns the index of an explicit key already in the map, or SIZE_MAX. */
static size_t frame_find_key(frame *f, const char *key)
{
	if (f->len <= MAP_INDEX_THRESHOLD && f->keys.cap == 0) {
		for (size_t i = 0; i < f->len; i++)
			if (f->entries[i].key && strcmp(f->entries[i].key, key) == 0)
				return i;
		return SIZE_MAX;
	}
	if (f->keys.cap == 0) /* build the index over what is there */
		for (size_t i = 0; i < f->len; i++)
			if (f->entries[i].key)
				index_lookup(&f->keys, f->entries[i].key, (uint32_t)i, entry_key, f);
	uint32_t s = index_lookup(&f->keys, key, UINT32_MAX, entry_key, f);
	return s == UINT32_MAX ? SIZE_MAX : s;
}

static void frame_push_entry(frame *f, const char *key, idp_pos key_pos, idp_doc_node *value)
{
	if (f->len == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->entries = idp_xrealloc(f->entries, f->cap * sizeof(*f->entries));
	}
	f->entries[f->len].key = key;
	f->entries[f->len].key_pos = key_pos;
	f->entries[f->len].value = value;
	if (key && f->keys.cap)
		index_lookup(&f->keys, key, (uint32_t)f->len, entry_key, f);
	f->len++;
}

static void frame_push_item(frame *f, idp_doc_node *value)
{
	if (f->len == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = idp_xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->len++] = value;
}

/* ---------------------------------------------------------------- tree building */

static int add_node(loader *L, idp_doc_node *node, idp_pos pos);

static int add_map_value(loader *L, frame *f, idp_doc_node *value)
{
	f->has_key = false;
	if (f->key_is_merge) {
		bool ok = value->kind == IDP_DOC_MAP;
		if (value->kind == IDP_DOC_SEQ) {
			ok = true;
			for (size_t i = 0; i < value->as.seq.len; i++)
				if (value->as.seq.items[i]->kind != IDP_DOC_MAP)
					ok = false;
		}
		if (!ok)
			return idp_err_at(L->err, value->pos, NULL,
					  "a `<<` merge key needs a map or a list of maps, not a %s",
					  idp_doc_kind_name(value->kind));
		f->has_merge = true;
		frame_push_entry(f, NULL, f->key_pos, value);
		return 0;
	}
	size_t dup = frame_find_key(f, f->key);
	if (dup != SIZE_MAX)
		return idp_err_at(L->err, f->key_pos, NULL, "duplicate key \"%s\" (first defined at line %u)",
				  f->key, (unsigned)f->entries[dup].key_pos.line);
	frame_push_entry(f, f->key, f->key_pos, value);
	return 0;
}

static int add_node(loader *L, idp_doc_node *node, idp_pos pos)
{
	bool is_merge_key = L->next_scalar_is_merge_key;
	L->next_scalar_is_merge_key = false;
	if (L->depth == 0) {
		L->root = node;
		return 0;
	}
	frame *f = &L->stack[L->depth - 1];
	if (f->node->kind == IDP_DOC_SEQ) {
		frame_push_item(f, node);
		return 0;
	}
	if (f->has_key)
		return add_map_value(L, f, node);
	const char *key = key_text(L, node, pos);
	if (!key)
		return IDP_EINPUT;
	f->key = key;
	f->key_pos = pos;
	f->key_is_merge = is_merge_key;
	f->has_key = true;
	return 0;
}

static int push_frame(loader *L, idp_doc_kind kind, yaml_char_t *anchor, idp_pos pos)
{
	if (L->depth >= L->opts.max_depth)
		return idp_err_at(L->err, pos, NULL, "nesting deeper than %u levels", (unsigned)L->opts.max_depth);
	if (L->depth == L->stack_cap) {
		L->stack_cap = L->stack_cap ? L->stack_cap * 2 : 16;
		L->stack = idp_xrealloc(L->stack, L->stack_cap * sizeof(*L->stack));
	}
	frame *f = &L->stack[L->depth++];
	memset(f, 0, sizeof(*f));
	f->node = doc_node_new(L->a, kind, pos);
	f->anchor = anchor ? idp_xstrdup((const char *)anchor) : NULL;
	return 0;
}

static void frame_release(frame *f)
{
	free(f->anchor);
	free(f->entries);
	free(f->items);
	free(f->keys.slots);
}

static const char *merged_key(const void *ctx, uint32_t slot)
{
	return ((const idp_doc_entry *)ctx)[slot].key;
}

/* Expands pending `<<` entries: a merged key appears where its `<<` stood,
 * unless the map sets it explicitly (anywhere); among merged maps the first
 * one that has a key wins. */
static void resolve_merges(loader *L, frame *f, idp_doc_entry **out, size_t *out_len)
{
	size_t total = 0;
	for (size_t i = 0; i < f->len; i++) {
		const idp_doc_node *v = f->entries[i].value;
		if (f->entries[i].key)
			total++;
		else if (v->kind == IDP_DOC_MAP)
			total += v->as.map.len;
		else
			for (size_t j = 0; j < v->as.seq.len; j++)
				total += v->as.seq.items[j]->as.map.len;
	}
	key_index explicit_keys = {0}, merged_keys = {0};
	for (size_t i = 0; i < f->len; i++)
		if (f->entries[i].key)
			index_lookup(&explicit_keys, f->entries[i].key, (uint32_t)i, entry_key, f);
	idp_doc_entry *res = idp_arena_alloc(L->a, (total ? total : 1) * sizeof(*res));
	size_t n = 0;
	for (size_t i = 0; i < f->len; i++) {
		if (f->entries[i].key) {
			res[n++] = f->entries[i];
			continue;
		}
		const idp_doc_node *v = f->entries[i].value;
		size_t nsrc = v->kind == IDP_DOC_MAP ? 1 : v->as.seq.len;
		for (size_t s = 0; s < nsrc; s++) {
			const idp_doc_node *src = v->kind == IDP_DOC_MAP ? v : v->as.seq.items[s];
			for (size_t j = 0; j < src->as.map.len; j++) {
				const idp_doc_entry *e = &src->as.map.items[j];
				if (index_lookup(&explicit_keys, e->key, UINT32_MAX, entry_key, f) != UINT32_MAX)
					continue;
				res[n] = *e; /* the index reads keys from res, so place it first */
				if (index_lookup(&merged_keys, e->key, (uint32_t)n, merged_key, res) != UINT32_MAX)
					continue;
				n++;
			}
		}
	}
	free(explicit_keys.slots);
	free(merged_keys.slots);
	*out = res;
	*out_len = n;
}

static int pop_frame(loader *L)
{
	frame *f = &L->stack[L->depth - 1];
	idp_doc_node *node = f->node;
	if (node->kind == IDP_DOC_MAP) {
		if (f->has_merge) {
			resolve_merges(L, f, &node->as.map.items, &node->as.map.len);
		} else {
			node->as.map.len = f->len;
			node->as.map.items = f->len ? idp_arena_alloc(L->a, f->len * sizeof(idp_doc_entry)) : NULL;
			if (f->len)
				memcpy(node->as.map.items, f->entries, f->len * sizeof(idp_doc_entry));
		}
		node->as.map.cap = node->as.map.len;
	} else {
		node->as.seq.len = node->as.seq.cap = f->len;
		node->as.seq.items = f->len ? idp_arena_alloc(L->a, f->len * sizeof(idp_doc_node *)) : NULL;
		if (f->len)
			memcpy(node->as.seq.items, f->items, f->len * sizeof(idp_doc_node *));
	}
	if (f->anchor)
		anchor_define(L, f->anchor, node);
	frame_release(f);
	L->depth--;
	return add_node(L, node, node->pos);
}

/* ---------------------------------------------------------------- scalars */

#define TAG_PREFIX "tag:yaml.org,2002:"

static idp_doc_node *typed_scalar(loader *L, const yaml_event_t *ev, idp_pos pos)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (!tag || strcmp(tag, "!") == 0) {
		if (plain && !tag)
			return idp_doc_resolve_plain(L->a, text, len, pos);
		idp_doc_node *s = doc_node_new(L->a, IDP_DOC_STR, pos);
		s->as.str.ptr = idp_arena_strndup(L->a, text, len);
		s->as.str.len = len;
		return s;
	}
	if (!idp_str_has_prefix(tag, TAG_PREFIX)) {
		idp_err_at(L->err, pos, NULL, "unsupported tag %s", tag);
		return NULL;
	}
	const char *t = tag + strlen(TAG_PREFIX);
	if (strcmp(t, "str") == 0 || strcmp(t, "binary") == 0 || strcmp(t, "timestamp") == 0) {
		idp_doc_node *s = doc_node_new(L->a, IDP_DOC_STR, pos);
		s->as.str.ptr = idp_arena_strndup(L->a, text, len);
		s->as.str.len = len;
		return s;
	}
	idp_doc_node *n = idp_doc_resolve_plain(L->a, text, len, pos);
	if (strcmp(t, "float") == 0 && n->kind == IDP_DOC_INT) {
		double f = (double)n->as.i;
		n->kind = IDP_DOC_FLOAT;
		n->as.f = f;
	}
	idp_doc_kind want = strcmp(t, "int") == 0     ? IDP_DOC_INT
			    : strcmp(t, "float") == 0 ? IDP_DOC_FLOAT
			    : strcmp(t, "bool") == 0  ? IDP_DOC_BOOL
			    : strcmp(t, "null") == 0  ? IDP_DOC_NULL
						      : IDP_DOC_STR;
	if (want == IDP_DOC_STR) {
		idp_err_at(L->err, pos, NULL, "unsupported tag !!%s on a scalar", t);
		return NULL;
	}
	if (n->kind != want) {
		idp_err_at(L->err, pos, NULL, "value \"%.*s\" is not a valid !!%s", (int)(len > 64 ? 64 : len),
			   text, t);
		return NULL;
	}
	return n;
}

static int check_collection_tag(loader *L, const yaml_char_t *tag, const char *want, idp_pos pos)
{
	if (!tag || strcmp((const char *)tag, "!") == 0)
		return 0;
	if (idp_str_has_prefix((const char *)tag, TAG_PREFIX) &&
	    strcmp((const char *)tag + strlen(TAG_PREFIX), want) == 0)
		return 0;
	return idp_err_at(L->err, pos, NULL, "unsupported tag %s", (const char *)tag);
}

/* ---------------------------------------------------------------- events */

static int on_event(loader *L, const yaml_event_t *ev)
{
	idp_pos pos = mark_pos(L, ev->start_mark);
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		idp_doc_node *n = typed_scalar(L, ev, pos);
		if (!n)
			return IDP_EINPUT;
		if (ev->data.scalar.anchor)
			anchor_define(L, (const char *)ev->data.scalar.anchor, n);
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
		    ev->data.scalar.length == 2 && memcmp(ev->data.scalar.value, "<<", 2) == 0)
			L->next_scalar_is_merge_key = L->depth > 0 &&
						      L->stack[L->depth - 1].node->kind == IDP_DOC_MAP &&
						      !L->stack[L->depth - 1].has_key;
		return add_node(L, n, pos);
	}
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		idp_doc_node *target = anchor_get(L, name);
		if (!target)
			return idp_err_at(L->err, pos, NULL, "alias *%s refers to no anchor defined before it", name);
		idp_doc_node *c = alias_copy(L, target, L->depth, pos);
		if (!c)
			return IDP_EINPUT;
		return add_node(L, c, pos);
	}
	case YAML_SEQUENCE_START_EVENT:
		if (check_collection_tag(L, ev->data.sequence_start.tag, "seq", pos))
			return IDP_EINPUT;
		return push_frame(L, IDP_DOC_SEQ, ev->data.sequence_start.anchor, pos);
	case YAML_MAPPING_START_EVENT:
		if (check_collection_tag(L, ev->data.mapping_start.tag, "map", pos))
			return IDP_EINPUT;
		return push_frame(L, IDP_DOC_MAP, ev->data.mapping_start.anchor, pos);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop_frame(L);
	case YAML_DOCUMENT_START_EVENT:
		L->root = NULL;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		/* Anchors do not cross documents. */
		for (size_t i = 0; i < L->n_anchors; i++)
			free(L->anchors[i].name);
		L->n_anchors = 0;
		free(L->anchor_index.slots);
		L->anchor_index = (key_index){0};
		if (L->root && L->root->kind != IDP_DOC_NULL) {
			if (L->n_docs == L->docs_cap) {
				L->docs_cap = L->docs_cap ? L->docs_cap * 2 : 8;
				L->docs = idp_xrealloc(L->docs, L->docs_cap * sizeof(*L->docs));
			}
			L->docs[L->n_docs++] = L->root;
		}
		L->root = NULL;
		return 0;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------- entry points */

/* Line and column (1-based, in characters) of byte offset off. */
static idp_pos offset_pos(const char *file, const char *data, size_t off)
{
	idp_pos p = {file, 1, 1};
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\n' || (c == '\r' && (i + 1 >= off || data[i + 1] != '\n'))) {
			p.line++;
			p.col = 1;
		} else if ((c & 0xC0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

static int parser_error(loader *L, const yaml_parser_t *parser)
{
	if (parser->error == YAML_MEMORY_ERROR)
		return idp_err_set(L->err, IDP_ERUNTIME, "%s: out of memory while parsing", L->file);
	/* The reader (bad characters) reports a byte offset, not a mark. */
	if (parser->error == YAML_READER_ERROR)
		return idp_err_at(L->err, offset_pos(L->file, L->data, parser->problem_offset), NULL, "%s",
				  parser->problem ? parser->problem : "unreadable character");
	idp_pos pos = mark_pos(L, parser->problem_mark);
	const char *problem = parser->problem ? parser->problem : "syntax error";
	if (parser->context)
		return idp_err_at(L->err, pos, NULL, "%s %s (line %u column %u)", problem, parser->context,
				  (unsigned)parser->context_mark.line + 1,
				  (unsigned)parser->context_mark.column + 1);
	return idp_err_at(L->err, pos, NULL, "%s", problem);
}

static void loader_release(loader *L)
{
	for (size_t i = 0; i < L->depth; i++)
		frame_release(&L->stack[i]);
	free(L->stack);
	for (size_t i = 0; i < L->n_anchors; i++)
		free(L->anchors[i].name);
	free(L->anchors);
	free(L->anchor_index.slots);
	free(L->docs);
}

int idp_doc_load(idp_arena *a, const char *file, const char *data, size_t len,
		 const idp_doc_load_opts *opts, idp_doc_stream *out, idp_err *err)
{
	idp_doc_load_opts defaults = IDP_DOC_LOAD_OPTS_INIT;
	loader L = {0};
	L.a = a;
	L.file = idp_arena_strdup(a, file ? file : "<input>");
	L.opts = opts ? *opts : defaults;
	L.err = err;
	*out = (idp_doc_stream){L.file, NULL, 0};
	if (len > L.opts.max_bytes)
		return idp_err_at(err, (idp_pos){L.file, 0, 0}, NULL,
				  "input is %zu bytes, larger than the limit of %zu", len, L.opts.max_bytes);
	/* A byte-order mark is not content; dropping it keeps line 1's columns right. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	L.data = data;
	size_t bad;
	if (!idp_utf8_valid(data, len, &bad))
		return idp_err_at(err, offset_pos(L.file, data, bad), NULL,
				  "invalid UTF-8 byte 0x%02x", (unsigned char)data[bad]);

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return idp_err_set(err, IDP_ERUNTIME, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(&L, &parser);
			break;
		}
		bool end = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&L, &ev);
		yaml_event_delete(&ev);
		if (rc || end)
			break;
	}
	yaml_parser_delete(&parser);
	/* Also on failure: the documents complete before the error can still be checked. */
	out->file = L.file;
	out->len = L.n_docs;
	out->docs = idp_arena_alloc(a, (L.n_docs ? L.n_docs : 1) * sizeof(idp_doc_node *));
	if (L.n_docs)
		memcpy(out->docs, L.docs, L.n_docs * sizeof(idp_doc_node *));
	loader_release(&L);
	return rc;
}

int idp_doc_load_file(idp_arena *a, const char *path, const idp_doc_load_opts *opts,
		      idp_doc_stream *out, idp_err *err)
{
	idp_doc_load_opts defaults = IDP_DOC_LOAD_OPTS_INIT;
	idp_buf data = IDP_BUF_INIT;
	*out = (idp_doc_stream){NULL, NULL, 0};
	int rc = idp_file_read(path, (opts ? opts : &defaults)->max_bytes, &data, err);
	if (rc == 0)
		rc = idp_doc_load(a, strcmp(path, "-") == 0 ? "<stdin>" : path, idp_buf_cstr(&data), data.len,
				  opts, out, err);
	idp_buf_free(&data);
	return rc;
}
