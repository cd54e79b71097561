/*
 * base: arena, buffer, errors, strings, UTF-8, Kubernetes names, files and
 * embedded files.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

/* ---------------------------------------------------------------- arena */

static bool is_aligned(const void *p)
{
	return ((uintptr_t)p % alignof(max_align_t)) == 0;
}

Test(base, arena_many_allocations_are_aligned_and_disjoint)
{
	idp_arena *a = idp_arena_new();
	enum { N = 20000 };
	unsigned char **ptrs = idp_xcalloc(N, sizeof *ptrs);
	size_t total = 0;
	for (size_t k = 0; k < N; k++) {
		size_t n = 1 + (k * 7919) % 200;
		ptrs[k] = idp_arena_alloc(a, n);
		cr_assert_not_null(ptrs[k]);
		cr_assert(is_aligned(ptrs[k]), "allocation %zu of %zu bytes at %p is not aligned to %zu",
			  k, n, (void *)ptrs[k], alignof(max_align_t));
		memset(ptrs[k], (int)(k & 0xff), n);
		total += n;
	}
	for (size_t k = 0; k < N; k++) {
		size_t n = 1 + (k * 7919) % 200;
		for (size_t j = 0; j < n; j++)
			if (ptrs[k][j] != (unsigned char)(k & 0xff))
				cr_assert_fail("allocation %zu was overwritten at byte %zu", k, j);
	}
	cr_assert_geq(idp_arena_used(a), total, "used %zu < %zu bytes handed out",
		      idp_arena_used(a), total);
	free(ptrs);
	idp_arena_free(a);
}

Test(base, arena_large_allocation_past_the_chunk_size)
{
	idp_arena *a = idp_arena_new();
	void *small = idp_arena_alloc(a, 10);
	size_t big = (size_t)8 << 20;
	unsigned char *p = idp_arena_alloc(a, big);
	cr_assert_not_null(p);
	cr_assert(is_aligned(p));
	memset(p, 0xab, big);
	cr_assert_eq(p[big - 1], 0xab);
	void *after = idp_arena_alloc(a, 24);
	cr_assert(is_aligned(after));
	memset(small, 1, 10);
	memset(after, 2, 24);
	cr_assert_eq(p[0], 0xab, "later allocations must not overlap the large one");
	cr_assert_eq(p[big - 1], 0xab);
	idp_arena_free(a);
}

/* A reset arena is empty again, keeps working, and does not grow when the
 * same work is repeated on it (the gateway resets one per request). */
Test(base, arena_reset_reuses_memory)
{
	idp_arena *a = idp_arena_new();
	for (int round = 0; round < 50; round++) {
		idp_arena_reset(a);
		cr_assert_eq(idp_arena_used(a), 0);
		for (int i = 0; i < 2000; i++) {
			char *s = idp_arena_printf(a, "round %d item %d", round, i);
			cr_assert_str_eq(s, idp_arena_printf(a, "round %d item %d", round, i));
		}
		(void)idp_arena_alloc(a, 200000); /* a large one too */
	}
	cr_assert_gt(idp_arena_used(a), 0);
	idp_arena_reset(a);
	char *p = idp_arena_strdup(a, "still usable");
	cr_assert_str_eq(p, "still usable");
	idp_arena_free(a);
}

Test(base, arena_zalloc_strdup_printf)
{
	idp_arena *a = idp_arena_new();
	unsigned char *z = idp_arena_zalloc(a, 1000);
	for (size_t k = 0; k < 1000; k++)
		cr_assert_eq(z[k], 0, "zalloc byte %zu is %u", k, z[k]);
	char src[] = "hello";
	char *d = idp_arena_strdup(a, src);
	src[0] = 'J';
	cr_assert_str_eq(d, "hello");
	char *nd = idp_arena_strndup(a, "abcdef", 3);
	cr_assert_str_eq(nd, "abc");
	char *e = idp_arena_strdup(a, "");
	cr_assert_str_eq(e, "");
	char *f = idp_arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159);
	cr_assert_str_eq(f, "x-42-003.1");
	char longer[5001];
	memset(longer, 'q', 5000);
	longer[5000] = '\0';
	char *g = idp_arena_printf(a, "<%s>", longer);
	cr_assert_eq(strlen(g), 5002);
	cr_assert_eq(g[0], '<');
	cr_assert_eq(g[5001], '>');
	idp_arena_free(a);
	idp_arena_free(NULL);
}

/* ---------------------------------------------------------------- buffer */

Test(base, buf_append_puts_putc)
{
	idp_buf b = IDP_BUF_INIT;
	cr_assert_str_eq(idp_buf_cstr(&b), "", "an empty buffer reads as \"\"");
	idp_buf_append(&b, "abc", 3);
	idp_buf_puts(&b, "def");
	idp_buf_putc(&b, 'g');
	cr_assert_eq(b.len, 7);
	cr_assert_str_eq(idp_buf_cstr(&b), "abcdefg");
	cr_assert_eq(b.ptr[b.len], '\0');
	idp_buf_append(&b, "x\0y", 3);
	cr_assert_eq(b.len, 10);
	cr_assert_eq(memcmp(b.ptr, "abcdefgx\0y", 11), 0);
	idp_buf_free(&b);
	cr_assert_eq(b.len, 0);
}

Test(base, buf_printf_grows)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_printf(&b, "%d:%s", 7, "seven");
	cr_assert_str_eq(idp_buf_cstr(&b), "7:seven");
	char big[20001];
	memset(big, 'z', 20000);
	big[20000] = '\0';
	for (int k = 0; k < 10; k++)
		idp_buf_printf(&b, "[%d%s]", k, big);
	cr_assert_eq(b.len, 7 + 10 * (20000 + 3));
	cr_assert_eq(b.ptr[b.len], '\0');
	cr_assert_eq(memcmp(b.ptr + 7, "[0zzz", 5), 0);
	cr_assert_eq(memcmp(b.ptr + b.len - 4, "zzz]", 4), 0);
	cr_assert_geq(b.cap, b.len + 1);
	idp_buf_free(&b);
}

Test(base, buf_clear_keeps_memory_and_detach_hands_it_over)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "some text that takes room");
	size_t cap = b.cap;
	idp_buf_clear(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, cap, "clear keeps the memory");
	cr_assert_str_eq(idp_buf_cstr(&b), "");
	idp_buf_puts(&b, "kept");
	char *s = idp_buf_detach(&b);
	cr_assert_str_eq(s, "kept");
	cr_assert_eq(b.len, 0, "detach resets the buffer");
	cr_assert_str_eq(idp_buf_cstr(&b), "");
	free(s);
	char *empty = idp_buf_detach(&b);
	cr_assert_not_null(empty, "detach never returns NULL");
	cr_assert_str_eq(empty, "");
	free(empty);
	idp_buf_puts(&b, "again");
	cr_assert_str_eq(idp_buf_cstr(&b), "again");
	idp_buf_free(&b);
}

/* ---------------------------------------------------------------- errors */

static char *format_err(const idp_err *err)
{
	idp_buf b = IDP_BUF_INIT;
	idp_err_format(err, &b);
	return idp_buf_detach(&b);
}

Test(base, err_first_error_wins)
{
	idp_err err = IDP_ERR_INIT;
	cr_assert_not(idp_err_is_set(&err));
	cr_assert_eq(idp_err_set(&err, IDP_EINPUT, "first %d", 1), IDP_EINPUT);
	cr_assert_eq(idp_err_set(&err, IDP_ERUNTIME, "second"), IDP_ERUNTIME,
		     "idp_err_set returns the code it is given");
	idp_pos pos = {"f.yaml", 3, 4};
	cr_assert_eq(idp_err_at(&err, pos, "x", "third"), IDP_EINPUT);
	cr_assert(idp_err_is_set(&err));
	cr_assert_eq(err.code, IDP_EINPUT);
	cr_assert_str_eq(err.msg, "first 1");
	cr_assert_eq(err.line, 0);
	cr_assert_null(err.path);
	idp_err_clear(&err);
	cr_assert_not(idp_err_is_set(&err));
	cr_assert_eq(err.code, IDP_OK);
	cr_assert_null(err.msg);
	cr_assert_eq(idp_err_set(&err, IDP_ERUNTIME, "after clear"), IDP_ERUNTIME);
	cr_assert_str_eq(err.msg, "after clear");
	idp_err_clear(&err);
}

Test(base, err_set_with_null_err_returns_the_code)
{
	cr_assert_eq(idp_err_set(NULL, IDP_EINPUT, "nobody listens"), IDP_EINPUT);
	idp_pos pos = {"f", 1, 1};
	cr_assert_eq(idp_err_at(NULL, pos, NULL, "nobody"), IDP_EINPUT);
}

Test(base, err_format_like_a_compiler)
{
	idp_err err = IDP_ERR_INIT;
	idp_pos pos = {"file", 12, 9};
	cr_assert_eq(idp_err_at(&err, pos, "spec.components[1].type", "unknown component type"),
		     IDP_EINPUT);
	cr_assert_str_eq(err.file, "file");
	cr_assert_eq(err.line, 12);
	cr_assert_eq(err.col, 9);
	cr_assert_str_eq(err.path, "spec.components[1].type");
	char *s = format_err(&err);
	cr_assert_str_eq(s, "file:12:9: spec.components[1].type: unknown component type");
	free(s);
	idp_err_clear(&err);

	idp_pos pos2 = {"file", 1, 2};
	idp_err_at(&err, pos2, NULL, "msg");
	s = format_err(&err);
	cr_assert_str_eq(s, "file:1:2: msg");
	free(s);
	idp_err_clear(&err);

	idp_err_set(&err, IDP_ERUNTIME, "msg");
	s = format_err(&err);
	cr_assert_str_eq(s, "msg");
	free(s);
	idp_err_clear(&err);
}

Test(base, err_format_leaves_out_unknown_parts)
{
	idp_err err = IDP_ERR_INIT;
	idp_pos no_line = {"in.yaml", 0, 0};
	idp_err_at(&err, no_line, NULL, "too big");
	char *s = format_err(&err);
	cr_assert_str_eq(s, "in.yaml: too big");
	free(s);
	idp_err_clear(&err);

	idp_pos no_col = {"in.yaml", 3, 0};
	idp_err_at(&err, no_col, "spec", "bad");
	s = format_err(&err);
	cr_assert_str_eq(s, "in.yaml:3: spec: bad");
	free(s);
	idp_err_clear(&err);

	idp_pos nothing = {NULL, 0, 0};
	idp_err_at(&err, nothing, "spec.x", "bad");
	s = format_err(&err);
	cr_assert_str_eq(s, "spec.x: bad");
	free(s);
	idp_err_clear(&err);
}

Test(base, err_wrap_on_an_unset_error_does_nothing)
{
	idp_err err = IDP_ERR_INIT;
	idp_err_wrap(&err, "context");
	cr_assert_not(idp_err_is_set(&err));
	cr_assert_null(err.msg);
}

Test(base, err_format_appends)
{
	idp_err err = IDP_ERR_INIT;
	idp_err_set(&err, IDP_EINPUT, "bad");
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "error: ");
	idp_err_format(&err, &b);
	cr_assert_str_eq(idp_buf_cstr(&b), "error: bad");
	idp_buf_free(&b);
	idp_err_clear(&err);
}

Test(base, err_copies_its_strings)
{
	idp_err err = IDP_ERR_INIT;
	char file[] = "in.yaml", path[] = "a.b", msg[] = "boom";
	idp_pos pos = {file, 5, 6};
	idp_err_at(&err, pos, path, "%s", msg);
	file[0] = path[0] = msg[0] = 'X';
	char *s = format_err(&err);
	cr_assert_str_eq(s, "in.yaml:5:6: a.b: boom");
	free(s);
	idp_err_clear(&err);
}

Test(base, err_wrap_adds_a_prefix)
{
	idp_err err = IDP_ERR_INIT;
	idp_pos pos = {"app.yaml", 2, 3};
	idp_err_at(&err, pos, "spec", "boom");
	idp_err_wrap(&err, "loading %s", "app");
	cr_assert_str_eq(err.msg, "loading app: boom");
	char *s = format_err(&err);
	cr_assert_str_eq(s, "app.yaml:2:3: spec: loading app: boom");
	free(s);
	idp_err_clear(&err);
}

Test(base, err_move_and_list)
{
	idp_err src = IDP_ERR_INIT, dst = IDP_ERR_INIT;
	idp_pos pos = {"m.yaml", 7, 1};
	idp_err_at(&src, pos, "p", "moved");
	idp_err_move(&dst, &src);
	cr_assert_not(idp_err_is_set(&src), "src is reset");
	cr_assert_null(src.msg);
	cr_assert_str_eq(dst.msg, "moved");
	cr_assert_eq(dst.line, 7);

	idp_err_set(&src, IDP_ERUNTIME, "replacement");
	idp_err_move(&dst, &src); /* dst set: it is cleared first */
	cr_assert_str_eq(dst.msg, "replacement");
	cr_assert_eq(dst.code, IDP_ERUNTIME);
	idp_err_clear(&dst);

	idp_errs list = IDP_ERRS_INIT;
	for (int k = 0; k < 20; k++) {
		idp_err e = IDP_ERR_INIT;
		idp_err_set(&e, IDP_EINPUT, "problem %d", k);
		idp_errs_push(&list, &e);
		cr_assert_not(idp_err_is_set(&e), "push resets err");
	}
	cr_assert_eq(list.len, 20);
	cr_assert_str_eq(list.items[0].msg, "problem 0");
	cr_assert_str_eq(list.items[19].msg, "problem 19");
	idp_errs_free(&list);
}

/* ---------------------------------------------------------------- strings */

Test(base, str_prefix_suffix_distance)
{
	cr_assert(idp_str_has_prefix("webservice", "web"));
	cr_assert(idp_str_has_prefix("web", ""));
	cr_assert_not(idp_str_has_prefix("we", "web"));
	cr_assert(idp_str_has_suffix("file.yaml", ".yaml"));
	cr_assert_not(idp_str_has_suffix("yaml", ".yaml"));
	cr_assert_eq(idp_str_distance("kitten", "sitting", 10), 3);
	cr_assert_eq(idp_str_distance("", "abc", 10), 3);
	cr_assert_eq(idp_str_distance("same", "same", 10), 0);
	cr_assert_eq(idp_str_distance("aaaaaaaaaa", "bbbbbbbbbb", 3), 4, "capped at cap+1");
}

Test(base, str_closest_suggests_typos_only)
{
	const char *const types[] = {"webservice", "worker", "task", "cron-task", "realtime-platform",
				     "application-infrastructure"};
	size_t n = sizeof types / sizeof types[0];
	const char *got = idp_str_closest("webservic", types, n);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, "webservice");
	got = idp_str_closest("realtime-platfrom", types, n);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, "realtime-platform");
	cr_assert_null(idp_str_closest("zzzz", types, n));
	cr_assert_null(idp_str_closest("database", types, n));
	cr_assert_null(idp_str_closest("webservic", types, 0));
}

/* ---------------------------------------------------------------- UTF-8 */

typedef struct utf8_case {
	const char *name;
	const char *bytes;
	size_t len;
	bool valid;
	size_t bad; /* first bad byte when invalid */
} utf8_case;

#define U8(name, s, valid, bad) {name, s, sizeof(s) - 1, valid, bad}

static const utf8_case utf8_table[] = {
	U8("empty", "", true, 0),
	U8("ascii", "hello", true, 0),
	U8("2, 3 and 4-byte sequences", "\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5 \xf0\x9f\x98\x80", true, 0),
	U8("U+0000 is valid", "a\0b", true, 0),
	U8("U+D7FF", "\xed\x9f\xbf", true, 0),
	U8("U+E000", "\xee\x80\x80", true, 0),
	U8("U+10FFFF", "\xf4\x8f\xbf\xbf", true, 0),
	U8("U+FFFF", "\xef\xbf\xbf", true, 0),
	U8("overlong NUL C0 80", "\xc0\x80", false, 0),
	U8("overlong C1 BF after ascii", "ab\xc1\xbf", false, 2),
	U8("overlong 3-byte", "x\xe0\x80\xaf", false, 1),
	U8("overlong 4-byte", "\xf0\x80\x80\xaf", false, 0),
	U8("surrogate ED A0 80", "ok\xed\xa0\x80", false, 2),
	U8("surrogate ED BF BF", "\xed\xbf\xbf", false, 0),
	U8("past U+10FFFF", "\xf4\x90\x80\x80", false, 0),
	U8("F5 lead byte", "abc\xf5\x80\x80\x80", false, 3),
	U8("FF byte", "\xff", false, 0),
	U8("FE byte", "a\xfe", false, 1),
	U8("lone continuation", "a\x80" "b", false, 1),
	U8("truncated 3-byte at the end", "abc\xe2\x9c", false, 3),
	U8("truncated 2-byte at the end", "\xc3", false, 0),
	U8("truncated 4-byte before ascii", "\xf0\x9f\x98" "a", false, 0),
	U8("lead then non-continuation", "ab\xe2x\x93", false, 2),
	U8("valid then invalid", "\xc3\xa9\xc3\xa9\xff", false, 4),
};

Test(base, utf8_validation_table)
{
	for (size_t k = 0; k < sizeof utf8_table / sizeof utf8_table[0]; k++) {
		const utf8_case *c = &utf8_table[k];
		size_t bad = (size_t)-1;
		bool ok = idp_utf8_valid(c->bytes, c->len, &bad);
		cr_expect_eq(ok, c->valid, "%s: valid = %d, want %d", c->name, ok, c->valid);
		if (!c->valid && !ok)
			cr_expect_eq(bad, c->bad, "%s: bad_offset %zu, want %zu", c->name, bad, c->bad);
		cr_expect_eq(idp_utf8_valid(c->bytes, c->len, NULL), c->valid, "%s with NULL offset",
			     c->name);
	}
}

Test(base, utf8_validation_reads_only_n_bytes)
{
	cr_assert(idp_utf8_valid("ok\xff", 2, NULL));
	cr_assert_not(idp_utf8_valid("\xc3\xa9", 1, NULL), "a sequence cut by n is truncated");
}

/* ---------------------------------------------------------------- names */

typedef const char *(*name_check_fn)(const char *);

typedef struct name_case {
	const char *rule;
	name_check_fn fn;
	const char *s;
	bool ok;
} name_case;

static char *repeat(char c, size_t n)
{
	char *s = idp_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(base, kubernetes_name_rules)
{
	char *l63 = repeat('a', 63), *l64 = repeat('a', 64);
	char *s253 = repeat('a', 253), *s254 = repeat('a', 254);
	/* 253 chars made of dotted 63-char labels is still a valid subdomain */
	char dotted[254];
	snprintf(dotted, sizeof dotted, "%s.%s.%s.%.61s", l63, l63, l63, l63);
	char qual_long_name[128];
	snprintf(qual_long_name, sizeof qual_long_name, "example.com/%s", l64);
	char qual_ok_long[128];
	snprintf(qual_ok_long, sizeof qual_ok_long, "example.com/%s", l63);

	const name_case table[] = {
		{"dns1123 label", idp_name_check_dns1123_label, "my-app", true},
		{"dns1123 label", idp_name_check_dns1123_label, "a", true},
		{"dns1123 label", idp_name_check_dns1123_label, "0abc", true},
		{"dns1123 label", idp_name_check_dns1123_label, l63, true},
		{"dns1123 label", idp_name_check_dns1123_label, "My_App", false},
		{"dns1123 label", idp_name_check_dns1123_label, "MyApp", false},
		{"dns1123 label", idp_name_check_dns1123_label, "-a", false},
		{"dns1123 label", idp_name_check_dns1123_label, "a-", false},
		{"dns1123 label", idp_name_check_dns1123_label, "a.b", false},
		{"dns1123 label", idp_name_check_dns1123_label, "", false},
		{"dns1123 label", idp_name_check_dns1123_label, l64, false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "a.b-c", true},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "my-app", true},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "app.kubernetes.io", true},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, s253, true},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, dotted, true},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, s254, false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "a..b", false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, ".a", false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "a.", false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "A.b", false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "a_b", false},
		{"dns1123 subdomain", idp_name_check_dns1123_subdomain, "", false},
		{"dns1035 label", idp_name_check_dns1035_label, "abc", true},
		{"dns1035 label", idp_name_check_dns1035_label, "a-1", true},
		{"dns1035 label", idp_name_check_dns1035_label, l63, true},
		{"dns1035 label", idp_name_check_dns1035_label, "1abc", false},
		{"dns1035 label", idp_name_check_dns1035_label, "-a", false},
		{"dns1035 label", idp_name_check_dns1035_label, "a-", false},
		{"dns1035 label", idp_name_check_dns1035_label, "Abc", false},
		{"dns1035 label", idp_name_check_dns1035_label, l64, false},
		{"dns1035 label", idp_name_check_dns1035_label, "", false},
		{"path segment", idp_name_check_path_segment, "admin", true},
		{"path segment", idp_name_check_path_segment, "system:controller:x", true},
		{"path segment", idp_name_check_path_segment, "a.b", true},
		{"path segment", idp_name_check_path_segment, ".", false},
		{"path segment", idp_name_check_path_segment, "..", false},
		{"path segment", idp_name_check_path_segment, "a/b", false},
		{"path segment", idp_name_check_path_segment, "a%b", false},
		{"qualified", idp_name_check_qualified, "app.kubernetes.io/name", true},
		{"qualified", idp_name_check_qualified, "name", true},
		{"qualified", idp_name_check_qualified, "My_Key.x-1", true},
		{"qualified", idp_name_check_qualified, "example.com/MyName", true},
		{"qualified", idp_name_check_qualified, qual_ok_long, true},
		{"qualified", idp_name_check_qualified, "a/b/c", false},
		{"qualified", idp_name_check_qualified, "/name", false},
		{"qualified", idp_name_check_qualified, "prefix/", false},
		{"qualified", idp_name_check_qualified, "-a", false},
		{"qualified", idp_name_check_qualified, "a_", false},
		{"qualified", idp_name_check_qualified, "a b", false},
		{"qualified", idp_name_check_qualified, "Example.com/x", false},
		{"qualified", idp_name_check_qualified, qual_long_name, false},
		{"qualified", idp_name_check_qualified, l64, false},
		{"qualified", idp_name_check_qualified, "", false},
		{"label value", idp_name_check_label_value, "", true},
		{"label value", idp_name_check_label_value, "x", true},
		{"label value", idp_name_check_label_value, "a.b_c-D9", true},
		{"label value", idp_name_check_label_value, l63, true},
		{"label value", idp_name_check_label_value, "-x", false},
		{"label value", idp_name_check_label_value, "x-", false},
		{"label value", idp_name_check_label_value, "_x", false},
		{"label value", idp_name_check_label_value, "a b", false},
		{"label value", idp_name_check_label_value, "a/b", false},
		{"label value", idp_name_check_label_value, l64, false},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
		const name_case *c = &table[k];
		const char *why = c->fn(c->s);
		if (c->ok)
			cr_expect_null(why, "%s \"%.70s\" (%zu chars) should be valid, got: %s", c->rule,
				       c->s, strlen(c->s), why);
		else
			cr_expect(why && *why, "%s \"%.70s\" (%zu chars) should be rejected with a message",
				  c->rule, c->s, strlen(c->s));
	}
	free(l63);
	free(l64);
	free(s253);
	free(s254);
}

/* ---------------------------------------------------------------- files */

Test(base, file_read_whole_file_and_size_cap)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	char data[100];
	for (size_t k = 0; k < sizeof data; k++)
		data[k] = (char)('a' + k % 26);
	data[50] = '\0'; /* binary-safe */
	char *path = idp_fixture_write_file(dir, "f.bin", data, sizeof data);
	cr_assert_not_null(path);

	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_file_read(path, 1000, &out, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(out.len, sizeof data);
	cr_assert_eq(memcmp(out.ptr, data, sizeof data), 0);
	cr_assert_eq(out.ptr[out.len], '\0');
	idp_buf_free(&out);

	cr_assert_eq(idp_file_read(path, 100, &out, &err), 0, "exactly max bytes is allowed: %s",
		     tu_errstr(&err));
	cr_assert_eq(out.len, 100);
	idp_buf_free(&out);

	int rc = idp_file_read(path, 50, &out, &err);
	cr_assert_lt(rc, 0, "a 100-byte file with max 50 must fail");
	cr_assert_eq(err.code, rc);
	cr_assert(err.msg && *err.msg);
	idp_err_clear(&err);
	idp_buf_free(&out);

	char missing[4096];
	snprintf(missing, sizeof missing, "%s/none.txt", dir);
	rc = idp_file_read(missing, 1000, &out, &err);
	cr_assert_lt(rc, 0);
	cr_assert_eq(err.code, rc);
	idp_err_clear(&err);
	idp_buf_free(&out);

	idp_fixture_rmtree(dir);
	free(path);
	free(dir);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s", dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

Test(base, file_write_atomic_writes_and_replaces)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	char path[4096];
	snprintf(path, sizeof path, "%s/out.yaml", dir);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_file_write_atomic(path, "first\n", 6, &err), 0, "%s", tu_errstr(&err));
	size_t len = 0;
	char *got = idp_fixture_read_file(path, &len);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, "first\n");
	free(got);
	cr_assert_eq(idp_file_write_atomic(path, "second", 6, &err), 0, "%s", tu_errstr(&err));
	got = idp_fixture_read_file(path, &len);
	cr_assert_str_eq(got, "second");
	free(got);
	cr_assert_eq(idp_file_write_atomic(path, "", 0, &err), 0, "%s", tu_errstr(&err));
	got = idp_fixture_read_file(path, &len);
	cr_assert_eq(len, 0);
	free(got);
	cr_assert_eq(count_entries(dir), 1, "no temporary file is left behind");
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(base, file_write_atomic_failure_leaves_no_temp_file)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	idp_err err = IDP_ERR_INIT;

	/* a directory that does not exist */
	char path[4096];
	snprintf(path, sizeof path, "%s/no-such-dir/out.yaml", dir);
	int rc = idp_file_write_atomic(path, "x", 1, &err);
	cr_assert_lt(rc, 0);
	cr_assert_eq(err.code, rc);
	cr_assert(err.msg && *err.msg);
	idp_err_clear(&err);
	cr_assert_eq(count_entries(dir), 0, "a failed write left something in %s", dir);

	/* the target is a non-empty directory: rename fails after the temp file exists */
	char sub[4096];
	snprintf(sub, sizeof sub, "%s/target", dir);
	char *keep = idp_fixture_write_file(dir, "target/keep.txt", "keep", 4);
	cr_assert_not_null(keep);
	rc = idp_file_write_atomic(sub, "x", 1, &err);
	cr_assert_lt(rc, 0);
	idp_err_clear(&err);
	cr_assert_eq(count_entries(dir), 1, "the temporary file must be removed when rename fails");
	size_t len = 0;
	char *kept = idp_fixture_read_file(keep, &len);
	cr_assert_not_null(kept);
	cr_assert_str_eq(kept, "keep");
	free(kept);
	free(keep);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(base, file_write_atomic_keeps_the_mode_of_the_replaced_file)
{
	umask(022);
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	char path[4096];
	snprintf(path, sizeof path, "%s/new.yaml", dir);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_file_write_atomic(path, "a", 1, &err), 0, "%s", tu_errstr(&err));
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644, "a new file has mode %o, want 644 (not mkstemp's 600)",
		     (unsigned)(st.st_mode & 0777));
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(idp_file_write_atomic(path, "b", 1, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640, "a replaced file has mode %o, want 640",
		     (unsigned)(st.st_mode & 0777));
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(base, file_read_dash_reads_standard_input)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	char *path = idp_fixture_write_file(dir, "in.txt", "from stdin\n", 11);
	cr_assert_not_null(path);
	cr_assert_not_null(freopen(path, "r", stdin));
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_file_read("-", 100, &out, &err), 0, "%s", tu_errstr(&err));
	cr_assert_str_eq(idp_buf_cstr(&out), "from stdin\n");
	idp_buf_free(&out);

	cr_assert_not_null(freopen(path, "r", stdin));
	int rc = idp_file_read("-", 5, &out, &err);
	cr_assert_lt(rc, 0, "standard input past max must fail too");
	idp_err_clear(&err);
	idp_buf_free(&out);
	idp_fixture_rmtree(dir);
	free(path);
	free(dir);
}

/* ---------------------------------------------------------------- embedded files */

Test(base, embedded_files)
{
	const idp_embedded_file *f = idp_embedded_find("examples/simple-app.yaml");
	cr_assert_not_null(f);
	cr_assert_str_eq(f->name, "examples/simple-app.yaml");
	cr_assert_not_null(f->data);
	cr_assert_gt(f->len, 0);
	cr_assert_eq(f->data[f->len], '\0', "embedded data is NUL-terminated");
	cr_assert_eq(strlen(f->data), f->len);
	cr_assert_null(idp_embedded_find("examples/nope.yaml"));
	cr_assert_null(idp_embedded_find(""));

	size_t n = 0;
	const idp_embedded_file *all = idp_embedded_list(&n);
	cr_assert_geq(n, 3);
	for (size_t k = 1; k < n; k++)
		cr_assert_lt(strcmp(all[k - 1].name, all[k].name), 0, "not sorted at %zu: %s, %s", k,
			     all[k - 1].name, all[k].name);
	for (size_t k = 0; k < n; k++) {
		cr_assert_not_null(idp_embedded_find(all[k].name), "%s not found", all[k].name);
		cr_assert_eq(all[k].data[all[k].len], '\0');
	}
}

Test(base, embedded_example_matches_the_source_file)
{
	const idp_embedded_file *f = idp_embedded_find("examples/simple-app.yaml");
	cr_assert_not_null(f);
	size_t len = 0;
	char *disk = idp_fixture_read_file(IDP_SOURCE_ROOT "/examples/simple-app.yaml", &len);
	if (!disk)
		cr_skip_test("SKIP: " IDP_SOURCE_ROOT "/examples/simple-app.yaml absent");
	cr_assert_eq(f->len, len);
	cr_assert_eq(memcmp(f->data, disk, len), 0);
	free(disk);
}
