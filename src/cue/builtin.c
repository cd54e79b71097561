/* The builtin functions KubeVela definitions call: len, close, and the few
 * functions of strings, strconv, list and json they import. */
#include "cue/eval.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static cue_value *arg_string(cue_ctx *c, cue_value **args, size_t i, const char *fn)
{
	return cue_concrete(c, args[i], CK_STRING, fn);
}

static cue_value *make_bool_v(cue_ctx *c, idp_pos pos, bool b)
{
	cue_value *v = cue_new(c, CV_BOOL, pos);
	v->as.b = b;
	return v;
}

#define WANT_STRING(var, i, fn)                                                                     \
	cue_value *var = arg_string(c, args, i, fn);                                                \
	if (var->kind == CV_BOTTOM)                                                                 \
		return var

static size_t count_regular(const cue_vertex *v)
{
	size_t n = 0;
	for (size_t i = 0; i < v->narcs; i++)
		n += cue_arc_is_regular(&v->arcs[i]);
	return n;
}

static cue_value *fn_len(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *x = cue_concrete(c, args[0], CK_STRING | CK_BYTES | CK_LIST | CK_STRUCT, "len");
	if (x->kind == CV_BOTTOM)
		return x;
	cue_value *r = cue_new(c, CV_INT, pos);
	if (x->kind == CV_STRING || x->kind == CV_BYTES) { /* bytes, as CUE counts them */
		r->as.i = (int64_t)x->as.s.len;
	} else if (x->kind == CV_LIST) {
		r->as.i = (int64_t)x->as.v->narcs;
	} else {
		r->as.i = (int64_t)count_regular(x->as.v);
	}
	(void)n;
	return r;
}

static cue_value *fn_close(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *x = cue_concrete(c, args[0], CK_STRUCT, "close");
	if (x->kind == CV_BOTTOM)
		return x;
	cue_vertex *v = cue_vertex_new(c, NULL, NULL, pos);
	cue_vertex_add(c, v, (cue_conjunct){NULL, NULL, x, true, false});
	(void)n;
	return cue_vertex_value(c, v);
}

static cue_value *map_case(cue_ctx *c, idp_pos pos, cue_value **args, bool upper)
{
	WANT_STRING(s, 0, upper ? "strings.ToUpper" : "strings.ToLower");
	cue_value *r = cue_string(c, pos, s->as.s.ptr, s->as.s.len);
	char *p = (char *)r->as.s.ptr;
	for (size_t i = 0; i < r->as.s.len; i++) /* ASCII only: the dialect's names are ASCII */
		p[i] = (char)(upper ? toupper((unsigned char)p[i]) : tolower((unsigned char)p[i]));
	return r;
}

static cue_value *fn_to_lower(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return map_case(c, pos, args, false);
}

static cue_value *fn_to_upper(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return map_case(c, pos, args, true);
}

static cue_value *fn_contains(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.Contains");
	WANT_STRING(sub, 1, "strings.Contains");
	(void)n;
	return make_bool_v(c, pos, memmem(s->as.s.ptr, s->as.s.len, sub->as.s.ptr, sub->as.s.len) != NULL);
}

static cue_value *fn_has_prefix(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.HasPrefix");
	WANT_STRING(p, 1, "strings.HasPrefix");
	(void)n;
	return make_bool_v(c, pos, s->as.s.len >= p->as.s.len && memcmp(s->as.s.ptr, p->as.s.ptr, p->as.s.len) == 0);
}

static cue_value *fn_has_suffix(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.HasSuffix");
	WANT_STRING(p, 1, "strings.HasSuffix");
	(void)n;
	return make_bool_v(c, pos, s->as.s.len >= p->as.s.len &&
					   memcmp(s->as.s.ptr + s->as.s.len - p->as.s.len, p->as.s.ptr, p->as.s.len) == 0);
}

static cue_value *fn_join(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *l = cue_concrete(c, args[0], CK_LIST, "strings.Join");
	if (l->kind == CV_BOTTOM)
		return l;
	WANT_STRING(sep, 1, "strings.Join");
	idp_buf b = IDP_BUF_INIT;
	cue_value *r = NULL;
	for (size_t i = 0; i < l->as.v->narcs && !r; i++) {
		cue_value *e = cue_concrete(c, cue_vertex_value(c, l->as.v->arcs[i].v), CK_STRING, "strings.Join");
		if (e->kind == CV_BOTTOM) {
			r = e;
			break;
		}
		if (i)
			idp_buf_append(&b, sep->as.s.ptr, sep->as.s.len);
		idp_buf_append(&b, e->as.s.ptr, e->as.s.len);
	}
	if (!r)
		r = cue_string(c, pos, idp_buf_cstr(&b), b.len);
	idp_buf_free(&b);
	(void)n;
	return r;
}

static cue_value *fn_format_int(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *x = cue_concrete(c, args[0], CK_INT, "strconv.FormatInt");
	if (x->kind == CV_BOTTOM)
		return x;
	cue_value *base = cue_concrete(c, args[1], CK_INT, "strconv.FormatInt");
	if (base->kind == CV_BOTTOM)
		return base;
	if (base->as.i < 2 || base->as.i > 36)
		return cue_bottom(c, pos, false, "strconv.FormatInt: base %lld out of range", (long long)base->as.i);
	char buf[72];
	size_t k = sizeof(buf);
	buf[--k] = '\0';
	uint64_t u = x->as.i < 0 ? (uint64_t)0 - (uint64_t)x->as.i : (uint64_t)x->as.i;
	do {
		buf[--k] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % (uint64_t)base->as.i];
		u /= (uint64_t)base->as.i;
	} while (u);
	if (x->as.i < 0)
		buf[--k] = '-';
	(void)n;
	return cue_string(c, pos, buf + k, strlen(buf + k));
}

static cue_value *fn_list_concat(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *outer = cue_concrete(c, args[0], CK_LIST, "list.Concat");
	if (outer->kind == CV_BOTTOM)
		return outer;
	cue_vertex *v = cue_vertex_new(c, NULL, NULL, pos);
	v->is_list = true;
	size_t k = 0;
	for (size_t i = 0; i < outer->as.v->narcs; i++) {
		cue_value *inner = cue_concrete(c, cue_vertex_value(c, outer->as.v->arcs[i].v), CK_LIST, "list.Concat");
		if (inner->kind == CV_BOTTOM)
			return inner;
		for (size_t j = 0; j < inner->as.v->narcs; j++) {
			char label[24];
			cue_vertex_add_value_arc(c, v, cue_index_label(label, k++), pos, cue_vertex_value(c, inner->as.v->arcs[j].v));
		}
	}
	(void)n;
	v->state = VS_DONE;
	v->value = cue_new(c, CV_LIST, pos);
	v->value->as.v = v;
	return v->value;
}

static int compare_strings(const void *x, const void *y)
{
	const cue_value *a = *(cue_value *const *)x, *b = *(cue_value *const *)y;
	size_t n = a->as.s.len < b->as.s.len ? a->as.s.len : b->as.s.len;
	int c = memcmp(a->as.s.ptr, b->as.s.ptr, n);
	return c ? c : (a->as.s.len > b->as.s.len) - (a->as.s.len < b->as.s.len);
}

/* list.SortStrings: the strings in byte order, as Go's sort.Strings. */
static cue_value *fn_list_sort_strings(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	cue_value *l = cue_concrete(c, args[0], CK_LIST, "list.SortStrings");
	if (l->kind == CV_BOTTOM)
		return l;
	size_t len = l->as.v->narcs;
	cue_value **items = idp_arena_alloc(c->a, (len ? len : 1) * sizeof(*items));
	for (size_t i = 0; i < len; i++) {
		items[i] = cue_concrete(c, cue_vertex_value(c, l->as.v->arcs[i].v), CK_STRING, "list.SortStrings");
		if (items[i]->kind == CV_BOTTOM)
			return items[i];
	}
	qsort(items, len, sizeof(*items), compare_strings);
	cue_vertex *v = cue_vertex_new(c, NULL, NULL, pos);
	v->is_list = true;
	for (size_t i = 0; i < len; i++) {
		char label[24];
		cue_vertex_add_value_arc(c, v, cue_index_label(label, i), pos, items[i]);
	}
	(void)n;
	v->state = VS_DONE;
	v->value = cue_new(c, CV_LIST, pos);
	v->value->as.v = v;
	return v->value;
}

static cue_value *fn_json_marshal(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	idp_doc_node *doc;
	idp_err err = IDP_ERR_INIT;
	if (cue_export_value(c, args[0], &doc, &err)) {
		cue_value *r = cue_bottom(c, pos, true, "json.Marshal: %s", err.msg ? err.msg : "incomplete value");
		idp_err_clear(&err);
		return r;
	}
	idp_buf b = IDP_BUF_INIT;
	cue_value *r;
	if (idp_doc_emit_json(doc, IDP_DOC_JSON_COMPACT, &b, &err))
		r = cue_bottom(c, pos, false, "json.Marshal: %s", err.msg);
	else
		r = cue_string(c, pos, idp_buf_cstr(&b), b.len);
	idp_buf_free(&b);
	idp_err_clear(&err);
	(void)n;
	return r;
}

/* div and mod round toward negative infinity (Euclidean for positive
 * divisors); quo and rem truncate, as Go's / and %. */
static cue_value *int_division(cue_ctx *c, idp_pos pos, cue_value **args, const char *name)
{
	cue_value *x = cue_concrete(c, args[0], CK_INT, name), *y = cue_concrete(c, args[1], CK_INT, name);
	if (x->kind == CV_BOTTOM)
		return x;
	if (y->kind == CV_BOTTOM)
		return y;
	if (y->as.i == 0)
		return cue_bottom(c, pos, false, "%s: division by zero", name);
	if (x->as.i == INT64_MIN && y->as.i == -1)
		return cue_bottom(c, pos, false, "%s: integer overflow", name);
	int64_t q = x->as.i / y->as.i, r = x->as.i % y->as.i;
	bool euclid = name[0] == 'd' || name[0] == 'm';
	if (euclid && r < 0) {
		q = y->as.i > 0 ? q - 1 : q + 1;
		r = y->as.i > 0 ? r + y->as.i : r - y->as.i;
	}
	cue_value *v = cue_new(c, CV_INT, pos);
	v->as.i = (name[0] == 'd' || name[0] == 'q') ? q : r;
	return v;
}

static cue_value *fn_div(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return int_division(c, pos, args, "div");
}

static cue_value *fn_mod(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return int_division(c, pos, args, "mod");
}

static cue_value *fn_quo(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return int_division(c, pos, args, "quo");
}

static cue_value *fn_rem(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return int_division(c, pos, args, "rem");
}

static cue_value *fn_atoi(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strconv.Atoi");
	/* Go's Atoi: an optional sign and decimal digits, nothing else. */
	const char *p = s->as.s.ptr + (s->as.s.len && (s->as.s.ptr[0] == '-' || s->as.s.ptr[0] == '+'));
	bool digits = *p != '\0' && strspn(p, "0123456789") == strlen(p) && strlen(s->as.s.ptr) == s->as.s.len;
	errno = 0;
	long long v = digits ? strtoll(s->as.s.ptr, NULL, 10) : 0;
	(void)n;
	if (!digits || errno == ERANGE)
		return cue_bottom(c, pos, false, "strconv.Atoi: parsing \"%.*s\": invalid syntax", (int)s->as.s.len,
				  s->as.s.ptr);
	cue_value *r = cue_new(c, CV_INT, pos);
	r->as.i = v;
	return r;
}

static cue_value *fn_split(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.Split");
	WANT_STRING(sep, 1, "strings.Split");
	idp_doc_node *list = idp_doc_new_seq(c->a);
	const char *p = s->as.s.ptr, *end = s->as.s.ptr + s->as.s.len;
	if (sep->as.s.len == 0) { /* Go splits into UTF-8 sequences */
		while (p < end) {
			size_t k = 1;
			while (p + k < end && ((unsigned char)p[k] & 0xC0) == 0x80)
				k++;
			idp_doc_seq_push(c->a, list, idp_doc_new_strn(c->a, p, k));
			p += k;
		}
	} else {
		for (;;) {
			const char *hit = memmem(p, (size_t)(end - p), sep->as.s.ptr, sep->as.s.len);
			const char *stop = hit ? hit : end;
			idp_doc_seq_push(c->a, list, idp_doc_new_strn(c->a, p, (size_t)(stop - p)));
			if (!hit)
				break;
			p = hit + sep->as.s.len;
		}
	}
	(void)n;
	cue_value *v = cue_from_doc(c, list);
	v->pos = pos;
	return v;
}

static cue_value *fn_replace(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.Replace");
	WANT_STRING(old, 1, "strings.Replace");
	WANT_STRING(new, 2, "strings.Replace");
	cue_value *limit = cue_concrete(c, args[3], CK_INT, "strings.Replace");
	if (limit->kind == CV_BOTTOM)
		return limit;
	idp_buf b = IDP_BUF_INIT;
	const char *p = s->as.s.ptr, *end = s->as.s.ptr + s->as.s.len;
	int64_t done = 0;
	while (old->as.s.len && (limit->as.i < 0 || done < limit->as.i)) {
		const char *hit = memmem(p, (size_t)(end - p), old->as.s.ptr, old->as.s.len);
		if (!hit)
			break;
		idp_buf_append(&b, p, (size_t)(hit - p));
		idp_buf_append(&b, new->as.s.ptr, new->as.s.len);
		p = hit + old->as.s.len;
		done++;
	}
	idp_buf_append(&b, p, (size_t)(end - p));
	cue_value *r = cue_string(c, pos, idp_buf_cstr(&b), b.len);
	idp_buf_free(&b);
	(void)n;
	return r;
}

static cue_value *fn_trim_space(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	WANT_STRING(s, 0, "strings.TrimSpace");
	size_t a = 0, z = s->as.s.len;
	while (a < z && isspace((unsigned char)s->as.s.ptr[a]))
		a++;
	while (z > a && isspace((unsigned char)s->as.s.ptr[z - 1]))
		z--;
	(void)n;
	return cue_string(c, pos, s->as.s.ptr + a, z - a);
}

static cue_value *trim_affix(cue_ctx *c, idp_pos pos, cue_value **args, bool prefix)
{
	WANT_STRING(s, 0, prefix ? "strings.TrimPrefix" : "strings.TrimSuffix");
	WANT_STRING(a, 1, prefix ? "strings.TrimPrefix" : "strings.TrimSuffix");
	size_t n = s->as.s.len, k = a->as.s.len;
	if (k <= n && memcmp(prefix ? s->as.s.ptr : s->as.s.ptr + n - k, a->as.s.ptr, k) == 0)
		return cue_string(c, pos, prefix ? s->as.s.ptr + k : s->as.s.ptr, n - k);
	return cue_string(c, pos, s->as.s.ptr, n);
}

static cue_value *fn_trim_prefix(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return trim_affix(c, pos, args, true);
}

static cue_value *fn_trim_suffix(cue_ctx *c, idp_pos pos, cue_value **args, size_t n)
{
	(void)n;
	return trim_affix(c, pos, args, false);
}

static const cue_builtin builtins[] = {
	{"", "div", 2, fn_div},
	{"", "mod", 2, fn_mod},
	{"", "quo", 2, fn_quo},
	{"", "rem", 2, fn_rem},
	{"strings", "Split", 2, fn_split},
	{"strings", "Replace", 4, fn_replace},
	{"strings", "TrimSpace", 1, fn_trim_space},
	{"strings", "TrimPrefix", 2, fn_trim_prefix},
	{"strings", "TrimSuffix", 2, fn_trim_suffix},
	{"strconv", "Atoi", 1, fn_atoi},
	{"", "len", 1, fn_len},
	{"", "close", 1, fn_close},
	{"strings", "ToLower", 1, fn_to_lower},
	{"strings", "ToUpper", 1, fn_to_upper},
	{"strings", "Contains", 2, fn_contains},
	{"strings", "HasPrefix", 2, fn_has_prefix},
	{"strings", "HasSuffix", 2, fn_has_suffix},
	{"strings", "Join", 2, fn_join},
	{"strconv", "FormatInt", 2, fn_format_int},
	{"list", "Concat", 1, fn_list_concat},
	{"list", "SortStrings", 1, fn_list_sort_strings},
	{"encoding/json", "Marshal", 1, fn_json_marshal},
};

const cue_builtin *cue_builtin_find(const char *pkg, const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].pkg, pkg) == 0 && strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

bool cue_package_known(const char *path)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (*builtins[i].pkg && strcmp(builtins[i].pkg, path) == 0)
			return true;
	return false;
}
