/*
 * Crossplane field paths: parse, read, write, merge and expand wildcards,
 * with crossplane-runtime's (pkg/fieldpath) rules and messages, because
 * compositions written for a cluster must mean the same thing here.
 */
#include "compose/compose_private.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- parsing */

typedef struct segs_builder {
	idp_arena *a;
	idp_compose_segment *items;
	size_t len, cap;
} segs_builder;

static void segs_push(segs_builder *b, idp_compose_segment s)
{
	b->items = idp_arena_grow(b->a, b->items, b->len, &b->cap, sizeof(*b->items));
	b->items[b->len++] = s;
}

/* strings.Trim(s, "'\""): quotes may wrap a bracketed key. */
static void push_field(segs_builder *b, const char *s, size_t len)
{
	while (len && (*s == '\'' || *s == '"')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == '\'' || s[len - 1] == '"'))
		len--;
	idp_compose_segment seg = {false, 0, idp_arena_strndup(b->a, s, len)};
	segs_push(b, seg);
}

/* Inside brackets: an unsigned 32-bit decimal is an index, anything else a
 * field name (strconv.ParseUint(s, 10, 32)). */
static void push_field_or_index(segs_builder *b, const char *s, size_t len)
{
	bool digits = len > 0;
	uint64_t v = 0;
	for (size_t i = 0; i < len && digits; i++) {
		if (s[i] < '0' || s[i] > '9')
			digits = false;
		else {
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > UINT32_MAX)
				digits = false;
		}
	}
	if (!digits) {
		push_field(b, s, len);
		return;
	}
	idp_compose_segment seg = {true, (uint32_t)v, NULL};
	segs_push(b, seg);
}

static int lex_error(idp_err *err, const char *what, char c, size_t pos)
{
	return idp_err_set(err, IDP_EINPUT, "%s '%c' at position %zu", what, c, pos);
}

int idp_compose_path_parse(idp_arena *a, const char *path, idp_compose_segment **segs, size_t *n, idp_err *err)
{
	segs_builder b = {a, NULL, 0, 0};
	size_t len = strlen(path), pos = 0, start = 0;
	*segs = NULL;
	*n = 0;
	for (;;) {
		/* A field name runs to '.', '[' or the end; ']' may not appear. */
		size_t i = pos;
		while (i < len && path[i] != '.' && path[i] != '[' && path[i] != ']')
			i++;
		if (i < len && path[i] == ']')
			return lex_error(err, "unexpected", ']', i);
		if (i > start)
			push_field(&b, path + start, i - start);
		pos = start = i;
		if (pos == len)
			break;
		if (path[pos] == '.') {
			if (pos == 0 || pos == len - 1)
				return lex_error(err, "unexpected", '.', pos);
			pos++;
			start = pos;
			if (path[pos] == '.')
				return lex_error(err, "unexpected", '.', pos);
			if (path[pos] == '[')
				return lex_error(err, "unexpected", '[', pos);
			continue;
		}
		/* '[': a key or index up to the next ']'. */
		const char *close = strchr(path + pos, ']');
		if (!close)
			return lex_error(err, "unterminated", '[', pos);
		pos++;
		size_t rbi = (size_t)(close - (path + pos));
		if (rbi == 0)
			return lex_error(err, "unexpected", ']', pos);
		const char *open = memchr(path + pos, '[', rbi);
		if (open)
			return lex_error(err, "unexpected", '[', (size_t)(open - path));
		push_field_or_index(&b, path + pos, rbi);
		pos += rbi + 1;
		start = pos;
	}
	*segs = b.items;
	*n = b.len;
	return 0;
}

void idp_compose_path_format(const idp_compose_segment *segs, size_t n, idp_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (segs[i].is_index)
			idp_buf_printf(out, "[%u]", (unsigned)segs[i].index);
		else if (strcmp(segs[i].field, "*") == 0 || strchr(segs[i].field, '.'))
			idp_buf_printf(out, "[%s]", segs[i].field);
		else if (i == 0)
			idp_buf_puts(out, segs[i].field);
		else
			idp_buf_printf(out, ".%s", segs[i].field);
	}
}

/* The path up to (not including) segment end, for messages. */
static const char *prefix(idp_arena *a, const idp_compose_segment *segs, size_t end)
{
	idp_buf b = IDP_BUF_INIT;
	idp_compose_path_format(segs, end, &b);
	char *s = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	return s;
}

static int parse_path(idp_arena *a, const char *path, idp_compose_segment **segs, size_t *n, idp_err *err)
{
	if (idp_compose_path_parse(a, path, segs, n, err) != 0) {
		idp_err_wrap(err, "cannot parse path \"%s\"", path);
		return IDP_EINPUT;
	}
	return 0;
}

/* ---------------------------------------------------------------- reading */

static int get_segments(idp_arena *a, const idp_doc_node *root, const idp_compose_segment *segs, size_t n,
			const idp_doc_node **out, idp_err *err)
{
	const idp_doc_node *it = root;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].is_index) {
			if (!it || it->kind != IDP_DOC_SEQ)
				return idp_err_set(err, IDP_EINPUT, "%s: not an array", prefix(a, segs, i));
			if (segs[i].index >= it->as.seq.len)
				return idp_err_set(err, IDP_ENOTFOUND, "%s: no such element", prefix(a, segs, i + 1));
			it = it->as.seq.items[segs[i].index];
			continue;
		}
		if (!it || it->kind == IDP_DOC_NULL)
			return idp_err_set(err, IDP_ENOTFOUND, "%s: expected map, got nil", prefix(a, segs, i));
		if (it->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "%s: not an object", prefix(a, segs, i));
		const idp_doc_node *v = idp_doc_map_get(it, segs[i].field);
		if (!v)
			return idp_err_set(err, IDP_ENOTFOUND, "%s: no such field", prefix(a, segs, i + 1));
		it = v;
	}
	*out = it;
	return 0;
}

int idp_compose_path_get(idp_arena *a, const idp_doc_node *root, const char *path, const idp_doc_node **out,
			 idp_err *err)
{
	idp_compose_segment *segs;
	size_t n;
	*out = NULL;
	if (parse_path(a, path, &segs, &n, err) != 0)
		return IDP_EINPUT;
	/* An empty path names nothing, which reads as null (upstream returns nil). */
	if (n == 0) {
		*out = idp_doc_new_null(a);
		return 0;
	}
	return get_segments(a, root, segs, n, out, err);
}

/* ---------------------------------------------------------------- values */

/* mergo's isEmptyValue for JSON values. */
static bool is_empty(const idp_doc_node *v)
{
	if (!v)
		return true;
	switch (v->kind) {
	case IDP_DOC_NULL:
		return true;
	case IDP_DOC_BOOL:
		return !v->as.b;
	case IDP_DOC_INT:
		return v->as.i == 0;
	case IDP_DOC_FLOAT:
		return v->as.f == 0;
	case IDP_DOC_STR:
		return v->as.str.len == 0;
	case IDP_DOC_MAP:
		return v->as.map.len == 0;
	case IDP_DOC_SEQ:
		return v->as.seq.len == 0;
	}
	return true;
}

typedef struct merge_cfg {
	bool override;
	bool append;
} merge_cfg;

static int merge_into_key(idp_arena *a, idp_doc_node *dst_map, const char *key, const idp_doc_node *src,
			  merge_cfg cfg, idp_err *err);

/* mergo.Merge of src's keys into dst (both maps), in place. */
static int merge_maps(idp_arena *a, idp_doc_node *dst, const idp_doc_node *src, merge_cfg cfg, idp_err *err)
{
	for (size_t i = 0; i < src->as.map.len; i++)
		if (merge_into_key(a, dst, src->as.map.items[i].key, src->as.map.items[i].value, cfg, err) != 0)
			return IDP_EINPUT;
	return 0;
}

/* One key of mergo's deepMerge over map[string]any, which is where all of
 * Crossplane's merge policies get their meaning: maps merge recursively,
 * lists are replaced (override) or appended, and a scalar replaces a
 * non-empty value only when overriding. */
static int merge_into_key(idp_arena *a, idp_doc_node *dst_map, const char *key, const idp_doc_node *src,
			  merge_cfg cfg, idp_err *err)
{
	idp_doc_node *d = idp_doc_map_get(dst_map, key);
	if (src->kind == IDP_DOC_NULL) {
		if (cfg.override)
			idp_doc_map_set(a, dst_map, key, idp_doc_new_null(a));
		return 0;
	}
	if (src->kind == IDP_DOC_MAP && d && d->kind == IDP_DOC_MAP) {
		if (merge_maps(a, d, src, cfg, err) != 0)
			return IDP_EINPUT;
		if (!is_empty(d))
			return 0;
	}
	if (src->kind == IDP_DOC_SEQ) {
		idp_doc_node *ds = d && d->kind != IDP_DOC_NULL ? d : idp_doc_new_seq(a);
		bool dst_map_empty = dst_map->as.map.len == 0;
		if (!cfg.append && (cfg.override || dst_map_empty)) {
			ds = idp_doc_copy(a, src);
		} else if (cfg.append) {
			if (ds->kind != IDP_DOC_SEQ)
				return idp_err_set(err, IDP_EINPUT, "cannot append two slices with different type (%s, %s)",
						   compose_go_type(src), compose_go_type(ds));
			idp_doc_node *joined = idp_doc_new_seq(a);
			for (size_t i = 0; i < ds->as.seq.len; i++)
				idp_doc_seq_push(a, joined, ds->as.seq.items[i]);
			for (size_t i = 0; i < src->as.seq.len; i++)
				idp_doc_seq_push(a, joined, idp_doc_copy(a, src->as.seq.items[i]));
			ds = joined;
		}
		idp_doc_map_set(a, dst_map, key, ds);
		if (d && !is_empty(d))
			return 0;
	}
	if (d && !is_empty(d) && src->kind == IDP_DOC_MAP && d->kind == IDP_DOC_MAP)
		return 0;
	if (cfg.override || !d || is_empty(d))
		idp_doc_map_set(a, dst_map, key, idp_doc_copy(a, src));
	return 0;
}

/* removeSourceDuplicates: with appending, items already in dst are not
 * appended again (top level only, as upstream). */
static idp_doc_node *without_duplicates(idp_arena *a, const idp_doc_node *dst, const idp_doc_node *src)
{
	if (dst->kind != IDP_DOC_SEQ || src->kind != IDP_DOC_SEQ)
		return (idp_doc_node *)src;
	idp_doc_node *out = idp_doc_new_seq(a);
	for (size_t i = 0; i < src->as.seq.len; i++) {
		bool found = false;
		for (size_t j = 0; j < dst->as.seq.len && !found; j++)
			found = idp_doc_equal_typed(src->as.seq.items[i], dst->as.seq.items[j]);
		if (!found)
			idp_doc_seq_push(a, out, src->as.seq.items[i]);
	}
	return out;
}

static merge_cfg merge_cfg_of(idp_compose_merge mode)
{
	switch (mode) {
	case IDP_COMPOSE_MERGE_OBJECTS:
		return (merge_cfg){false, false};
	case IDP_COMPOSE_MERGE_OBJECTS_APPEND_ARRAYS:
		return (merge_cfg){false, true};
	case IDP_COMPOSE_FORCE_MERGE_OBJECTS:
		return (merge_cfg){true, false};
	case IDP_COMPOSE_FORCE_MERGE_OBJECTS_APPEND_ARRAYS:
		return (merge_cfg){true, true};
	case IDP_COMPOSE_REPLACE:
		break;
	}
	return (merge_cfg){true, false};
}

bool idp_compose_merge_parse(const char *name, idp_compose_merge *out)
{
	static const struct {
		const char *name;
		idp_compose_merge mode;
	} table[] = {
		{"Replace", IDP_COMPOSE_REPLACE},
		{"MergeObjects", IDP_COMPOSE_MERGE_OBJECTS},
		{"MergeObject", IDP_COMPOSE_MERGE_OBJECTS},
		{"MergeObjectsAppendArrays", IDP_COMPOSE_MERGE_OBJECTS_APPEND_ARRAYS},
		{"ForceMergeObjects", IDP_COMPOSE_FORCE_MERGE_OBJECTS},
		{"ForceMergeObjectsAppendArrays", IDP_COMPOSE_FORCE_MERGE_OBJECTS_APPEND_ARRAYS},
		{"AppendArray", IDP_COMPOSE_FORCE_MERGE_OBJECTS_APPEND_ARRAYS},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(name, table[i].name) == 0) {
			*out = table[i].mode;
			return true;
		}
	return false;
}

/* Fieldpath.MergeValue's merge(): the merged value to store at the path. */
static int merged_value(idp_arena *a, const idp_doc_node *dst, const idp_doc_node *src, idp_compose_merge mode,
			idp_doc_node **out, idp_err *err)
{
	if (!dst || dst->kind == IDP_DOC_NULL || src->kind == IDP_DOC_NULL || mode == IDP_COMPOSE_REPLACE) {
		*out = (idp_doc_node *)src;
		return 0;
	}
	merge_cfg cfg = merge_cfg_of(mode);
	if (cfg.append)
		src = without_duplicates(a, dst, src);
	/* mergo merges {"arg": dst} with {"arg": src}. */
	idp_doc_node *wrap = idp_doc_new_map(a);
	idp_doc_map_set(a, wrap, "arg", idp_doc_copy(a, dst));
	if (merge_into_key(a, wrap, "arg", src, cfg, err) != 0)
		return IDP_EINPUT;
	*out = idp_doc_map_get(wrap, "arg");
	return 0;
}

/* ---------------------------------------------------------------- writing */

static idp_doc_node *new_container_for(idp_arena *a, const idp_compose_segment *next)
{
	if (!next->is_index)
		return idp_doc_new_map(a);
	idp_doc_node *s = idp_doc_new_seq(a);
	for (uint32_t i = 0; i <= next->index; i++)
		idp_doc_seq_push(a, s, idp_doc_new_null(a));
	return s;
}

static void grow_list(idp_arena *a, idp_doc_node *list, uint32_t index)
{
	while (list->as.seq.len <= index)
		idp_doc_seq_push(a, list, idp_doc_new_null(a));
}

static int set_segments(idp_arena *a, idp_doc_node *root, const idp_compose_segment *segs, size_t n,
			idp_doc_node *v, idp_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (segs[i].is_index && segs[i].index > IDP_COMPOSE_MAX_INDEX)
			return idp_err_set(err, IDP_EINPUT, "index %u is greater than max allowed index %d",
					   (unsigned)segs[i].index, IDP_COMPOSE_MAX_INDEX);
	idp_doc_node *in = root;
	for (size_t i = 0; i < n; i++) {
		bool final = i == n - 1;
		idp_doc_node **slot;
		if (segs[i].is_index) {
			if (!in || in->kind != IDP_DOC_SEQ)
				return idp_err_set(err, IDP_EINPUT, "%s is not an array", prefix(a, segs, i));
			if (segs[i].index >= in->as.seq.len)
				grow_list(a, in, segs[i].index); /* only reachable for a root list */
			slot = &in->as.seq.items[segs[i].index];
			if (final) {
				*slot = v;
				return 0;
			}
			if ((*slot)->kind == IDP_DOC_NULL)
				*slot = new_container_for(a, &segs[i + 1]);
			else if (segs[i + 1].is_index && (*slot)->kind == IDP_DOC_SEQ)
				grow_list(a, *slot, segs[i + 1].index);
			in = *slot;
			continue;
		}
		if (!in || in->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "%s is not an object", prefix(a, segs, i));
		if (final) {
			idp_doc_map_set(a, in, segs[i].field, v);
			return 0;
		}
		idp_doc_node *child = idp_doc_map_get(in, segs[i].field);
		if (!child) {
			child = new_container_for(a, &segs[i + 1]);
			idp_doc_map_set(a, in, segs[i].field, child);
		} else if (segs[i + 1].is_index && child->kind == IDP_DOC_SEQ) {
			grow_list(a, child, segs[i + 1].index);
		}
		in = child;
	}
	return 0;
}

int idp_compose_path_set(idp_arena *a, idp_doc_node *root, const char *path, const idp_doc_node *value,
			 idp_compose_merge mode, idp_err *err)
{
	idp_compose_segment *segs;
	size_t n;
	if (parse_path(a, path, &segs, &n, err) != 0)
		return IDP_EINPUT;
	if (n == 0)
		return 0; /* upstream's setValue walks no segment and succeeds */
	idp_doc_node *v = (idp_doc_node *)value;
	if (mode != IDP_COMPOSE_REPLACE) {
		const idp_doc_node *dst = NULL;
		idp_err gerr = IDP_ERR_INIT;
		int rc = get_segments(a, root, segs, n, &dst, &gerr);
		if (rc == IDP_EINPUT) {
			idp_err_move(err, &gerr);
			return IDP_EINPUT;
		}
		idp_err_clear(&gerr);
		if (merged_value(a, rc == 0 ? dst : NULL, v, mode, &v, err) != 0) {
			idp_err_wrap(err, "failed to merge values");
			return IDP_EINPUT;
		}
	}
	return set_segments(a, root, segs, n, compose_json_normalize(a, v), err);
}

/* ---------------------------------------------------------------- wildcards */

typedef struct path_list {
	idp_arena *a;
	char **items;
	size_t len, cap;
} path_list;

static void paths_push(path_list *l, const idp_compose_segment *segs, size_t n)
{
	l->items = idp_arena_grow(l->a, l->items, l->len, &l->cap, sizeof(*l->items));
	l->items[l->len++] = (char *)prefix(l->a, segs, n);
}

static int expand(path_list *l, const idp_doc_node *root, idp_compose_segment *segs, size_t n, idp_err *err)
{
	idp_arena *a = l->a;
	const idp_doc_node *it = root;
	for (size_t i = 0; i < n; i++) {
		if (!segs[i].is_index && strcmp(segs[i].field, "*") == 0) {
			if (!it || it->kind == IDP_DOC_NULL) {
				idp_err_set(err, IDP_ENOTFOUND, "wildcard field \"%s\" is not found in the path",
					    prefix(a, segs, i));
				return IDP_ENOTFOUND;
			}
			size_t count = it->kind == IDP_DOC_SEQ ? it->as.seq.len
				     : it->kind == IDP_DOC_MAP ? it->as.map.len
								: SIZE_MAX;
			if (count == SIZE_MAX)
				return idp_err_set(err, IDP_EINPUT, "\"%s\": unexpected wildcard usage", prefix(a, segs, i));
			for (size_t k = 0; k < count; k++) {
				idp_compose_segment *copy = idp_arena_alloc(a, n * sizeof(*copy));
				memcpy(copy, segs, n * sizeof(*copy));
				if (it->kind == IDP_DOC_SEQ)
					copy[i] = (idp_compose_segment){true, (uint32_t)k, NULL};
				else
					copy[i] = (idp_compose_segment){false, 0, it->as.map.items[k].key};
				int rc = expand(l, root, copy, n, err);
				if (rc != 0) {
					idp_err_wrap(err, "\"%s\": cannot expand wildcards", prefix(a, copy, n));
					return rc;
				}
			}
			return 0;
		}
		const idp_doc_node *next = NULL;
		idp_err gerr = IDP_ERR_INIT;
		int rc = get_segments(a, root, segs, i + 1, &next, &gerr);
		if (rc == IDP_ENOTFOUND) {
			idp_err_clear(&gerr);
			return 0;
		}
		if (rc != 0) {
			idp_err_move(err, &gerr);
			return rc;
		}
		it = next;
	}
	paths_push(l, segs, n);
	return 0;
}

int idp_compose_path_expand(idp_arena *a, const idp_doc_node *root, const char *path, char ***paths, size_t *n,
			    idp_err *err)
{
	idp_compose_segment *segs;
	size_t nsegs;
	*paths = NULL;
	*n = 0;
	if (parse_path(a, path, &segs, &nsegs, err) != 0)
		return IDP_EINPUT;
	path_list l = {a, NULL, 0, 0};
	int rc = expand(&l, root, segs, nsegs, err);
	if (rc != 0) {
		idp_err_wrap(err, "cannot expand wildcards for segments: \"%s\"", prefix(a, segs, nsegs));
		return rc;
	}
	*paths = l.items;
	*n = l.len;
	return 0;
}
