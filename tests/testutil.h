/*
 * Small helpers shared by the base and doc test suites (header-only, every
 * function static inline). Temporary files and child processes come from
 * fixture.h; this file only adds document shortcuts that do NOT go through
 * the code under test where that matters (tu_walk reads the node structs
 * directly, so a broken idp_doc_path_get cannot hide a loader bug).
 */
#ifndef IDP_TESTS_TESTUTIL_H
#define IDP_TESTS_TESTUTIL_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "doc/doc.h"
#include "fixture.h"

/* The error formatted as "file:line:col: path: msg [code N]" in a static
 * buffer (for assertion messages). */
static inline const char *tu_errstr(const idp_err *err)
{
	static char text[2048];
	if (!err || err->code == IDP_OK) {
		snprintf(text, sizeof text, "(no error)");
		return text;
	}
	snprintf(text, sizeof text, "%s:%u:%u: %s: %s [code %d]", err->file ? err->file : "?",
		 (unsigned)err->line, (unsigned)err->col, err->path ? err->path : "-",
		 err->msg ? err->msg : "(null msg)", err->code);
	return text;
}

/* Case-insensitive substring test; NULL haystack never matches. */
static inline bool tu_contains(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* Loads NUL-terminated text as file "test.yaml" with default options. */
static inline int tu_load(idp_arena *a, const char *text, idp_doc_stream *out, idp_err *err)
{
	return idp_doc_load(a, "test.yaml", text, strlen(text), NULL, out, err);
}

/* Loads text that must hold exactly one document and returns it. */
static inline idp_doc_node *tu_load_one(idp_arena *a, const char *text)
{
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = tu_load(a, text, &s, &err);
	if (rc != 0) {
		char why[2048];
		snprintf(why, sizeof why, "%s", tu_errstr(&err));
		idp_err_clear(&err);
		cr_assert_fail("loading failed (rc %d): %s\n--- input ---\n%s", rc, why, text);
	}
	cr_assert_eq(s.len, 1, "expected 1 document, got %zu\n--- input ---\n%s", s.len, text);
	cr_assert_not_null(s.docs[0]);
	return s.docs[0];
}

/* Emits docs as YAML; asserts success; returns malloc'd text (free()). */
static inline char *tu_emit_yaml(idp_doc_node *const *docs, size_t n)
{
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_emit_yaml(docs, n, &out, &err);
	if (rc != 0) {
		char why[2048];
		snprintf(why, sizeof why, "%s", tu_errstr(&err));
		idp_err_clear(&err);
		idp_buf_free(&out);
		cr_assert_fail("idp_doc_emit_yaml failed (rc %d): %s", rc, why);
	}
	return idp_buf_detach(&out);
}

static inline char *tu_emit_one(idp_doc_node *doc)
{
	return tu_emit_yaml(&doc, 1);
}

/* Walks from n along a '/'-separated path of map keys and list indexes,
 * reading the structs directly. Returns NULL when a step is missing. */
static inline idp_doc_node *tu_walk(idp_doc_node *n, const char *path)
{
	const char *p = path;
	while (n && *p) {
		char seg[256];
		size_t k = strcspn(p, "/");
		if (k >= sizeof seg)
			return NULL;
		memcpy(seg, p, k);
		seg[k] = '\0';
		p += k;
		if (*p == '/')
			p++;
		if (n->kind == IDP_DOC_SEQ) {
			char *end;
			unsigned long idx = strtoul(seg, &end, 10);
			if (*end || end == seg || idx >= n->as.seq.len)
				return NULL;
			n = n->as.seq.items[idx];
		} else if (n->kind == IDP_DOC_MAP) {
			idp_doc_node *next = NULL;
			for (size_t i = 0; i < n->as.map.len; i++) {
				if (strcmp(n->as.map.items[i].key, seg) == 0) {
					next = n->as.map.items[i].value;
					break;
				}
			}
			n = next;
		} else {
			return NULL;
		}
	}
	return n;
}

/* The entry of map with this key, read directly; NULL when absent. */
static inline const idp_doc_entry *tu_entry(const idp_doc_node *map, const char *key)
{
	if (!map || map->kind != IDP_DOC_MAP)
		return NULL;
	for (size_t i = 0; i < map->as.map.len; i++)
		if (strcmp(map->as.map.items[i].key, key) == 0)
			return &map->as.map.items[i];
	return NULL;
}

/* The value of map under key, read directly; NULL when absent. */
static inline idp_doc_node *tu_value(const idp_doc_node *map, const char *key)
{
	const idp_doc_entry *e = tu_entry(map, key);
	return e ? e->value : NULL;
}

/* Asserts that n is a string equal to want (NUL-free). */
static inline void tu_assert_str(const idp_doc_node *n, const char *want, const char *what)
{
	cr_assert_not_null(n, "%s: missing (want string \"%s\")", what, want);
	cr_assert_eq(n->kind, IDP_DOC_STR, "%s: kind %s, want string \"%s\"", what,
		     idp_doc_kind_name(n->kind), want);
	cr_assert_eq(n->as.str.len, strlen(want), "%s: length %zu, want %zu (\"%s\" vs \"%s\")", what,
		     n->as.str.len, strlen(want), n->as.str.ptr, want);
	cr_assert_eq(memcmp(n->as.str.ptr, want, n->as.str.len), 0, "%s: \"%s\", want \"%s\"", what,
		     n->as.str.ptr, want);
	cr_assert_eq(n->as.str.ptr[n->as.str.len], '\0', "%s: not NUL-terminated", what);
}

static inline void tu_assert_int(const idp_doc_node *n, int64_t want, const char *what)
{
	cr_assert_not_null(n, "%s: missing (want int %lld)", what, (long long)want);
	cr_assert_eq(n->kind, IDP_DOC_INT, "%s: kind %s, want int %lld", what,
		     idp_doc_kind_name(n->kind), (long long)want);
	cr_assert_eq(n->as.i, want, "%s: %lld, want %lld", what, (long long)n->as.i, (long long)want);
}

/* Keys of a map joined with ',' into out (for order assertions). */
static inline void tu_keys(const idp_doc_node *map, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	if (!map || map->kind != IDP_DOC_MAP)
		return;
	for (size_t i = 0; i < map->as.map.len; i++) {
		int w = snprintf(out + used, cap - used, "%s%s", i ? "," : "", map->as.map.items[i].key);
		if (w < 0 || (size_t)w >= cap - used)
			return;
		used += (size_t)w;
	}
}

/* Seconds on a monotonic clock. */
static inline double tu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
