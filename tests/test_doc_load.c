/*
 * Loading YAML and JSON: positions, streams, key order, every rejected
 * input with its position, aliases and merge keys, files, the seed README's
 * examples and a 10 MB stream round-tripped through the emitter.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "testutil.h"

#define SEED_README "/work/shared/seed/health-service-idp-README.md"

/* ---------------------------------------------------------------- positions */

static const char app_yaml[] =
	"apiVersion: core.oam.dev/v1beta1\n" /* 1 */
	"kind: Application\n"                /* 2 */
	"metadata:\n"                        /* 3 */
	"  name: simple-app\n"               /* 4 */
	"  labels:\n"                        /* 5 */
	"    team: \"core\"\n"               /* 6 */
	"spec:\n"                            /* 7 */
	"  components:\n"                    /* 8 */
	"  - name: hello-api\n"              /* 9 */
	"    type: webservice\n"             /* 10 */
	"    properties:\n"                  /* 11 */
	"      image: nginx:alpine\n"        /* 12 */
	"      port: 80\n"                   /* 13 */
	"      env: [a, \"b\"]\n";           /* 14 */

static void expect_pos(const idp_doc_node *n, uint32_t line, uint32_t col, const char *what)
{
	cr_assert_not_null(n, "%s: missing", what);
	cr_expect_eq(n->pos.line, line, "%s: line %u, want %u", what, (unsigned)n->pos.line,
		     (unsigned)line);
	cr_expect_eq(n->pos.col, col, "%s: col %u, want %u", what, (unsigned)n->pos.col,
		     (unsigned)col);
}

Test(doc_load, values_and_keys_have_1_based_positions)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load(a, "app.yaml", app_yaml, strlen(app_yaml), NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 1);
	cr_assert_str_eq(s.file, "app.yaml");
	idp_doc_node *doc = s.docs[0];

	expect_pos(doc, 1, 1, "root map");
	expect_pos(tu_walk(doc, "apiVersion"), 1, 13, "apiVersion value");
	expect_pos(tu_walk(doc, "metadata/name"), 4, 9, "metadata.name");
	expect_pos(tu_walk(doc, "metadata/labels/team"), 6, 11, "quoted \"core\" (at its quote)");
	expect_pos(tu_walk(doc, "spec/components/0"), 9, 5, "spec.components[0]");
	expect_pos(tu_walk(doc, "spec/components/0/name"), 9, 11, "spec.components[0].name");
	expect_pos(tu_walk(doc, "spec/components/0/properties/image"), 12, 14,
		   "spec.components[0].properties.image");
	expect_pos(tu_walk(doc, "spec/components/0/properties/port"), 13, 13, "port");
	expect_pos(tu_walk(doc, "spec/components/0/properties/env"), 14, 12, "env flow list");
	expect_pos(tu_walk(doc, "spec/components/0/properties/env/1"), 14, 16, "env[1]");

	const idp_doc_entry *kind = tu_entry(doc, "kind");
	cr_assert_not_null(kind);
	cr_expect_eq(kind->key_pos.line, 2);
	cr_expect_eq(kind->key_pos.col, 1);
	const idp_doc_entry *image = tu_entry(tu_walk(doc, "spec/components/0/properties"), "image");
	cr_assert_not_null(image);
	cr_expect_eq(image->key_pos.line, 12, "key image line %u", (unsigned)image->key_pos.line);
	cr_expect_eq(image->key_pos.col, 7, "key image col %u", (unsigned)image->key_pos.col);

	idp_doc_node *img = tu_walk(doc, "spec/components/0/properties/image");
	cr_assert(img->pos.file && strcmp(img->pos.file, "app.yaml") == 0, "pos.file is \"%s\"",
		  img->pos.file ? img->pos.file : "(null)");
	cr_assert(image->key_pos.file && strcmp(image->key_pos.file, "app.yaml") == 0);
	tu_assert_str(img, "nginx:alpine", "image");
	tu_assert_int(tu_walk(doc, "spec/components/0/properties/port"), 80, "port");
	idp_arena_free(a);
}

Test(doc_load, stream_file_is_an_arena_copy)
{
	idp_arena *a = idp_arena_new();
	char name[] = "given.yaml";
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, name, "a: 1\n", 5, NULL, &s, &err), 0, "%s", tu_errstr(&err));
	name[0] = 'X';
	cr_assert_str_eq(s.file, "given.yaml");
	cr_assert_str_eq(tu_walk(s.docs[0], "a")->pos.file, "given.yaml");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- streams */

Test(doc_load, multi_document_stream_skips_empty_and_null_documents)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *text = "a: 1\n"      /* 1 */
			   "---\n"       /* 2 */
			   "b: 2\n"      /* 3 */
			   "---\n"       /* 4 */
			   "---\n"       /* 5 */
			   "# comment\n" /* 6 */
			   "---\n"       /* 7 */
			   "~\n"         /* 8 */
			   "---\n"       /* 9 */
			   "c: 3\n"      /* 10 */
			   "...\n";
	cr_assert_eq(tu_load(a, text, &s, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 3, "want 3 documents, got %zu", s.len);
	tu_assert_int(tu_walk(s.docs[0], "a"), 1, "doc 0 a");
	tu_assert_int(tu_walk(s.docs[1], "b"), 2, "doc 1 b");
	tu_assert_int(tu_walk(s.docs[2], "c"), 3, "doc 2 c");
	expect_pos(tu_walk(s.docs[1], "b"), 3, 4, "doc 1 b (lines count across the stream)");
	expect_pos(tu_walk(s.docs[2], "c"), 10, 4, "doc 2 c");
	idp_arena_free(a);
}

Test(doc_load, empty_inputs_give_zero_documents)
{
	const char *inputs[] = {"", "\n", "# only a comment\n", "---\n", "---\n---\n...\n", "--- null\n"};
	for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_stream s = {0};
		idp_err err = IDP_ERR_INIT;
		int rc = tu_load(a, inputs[k], &s, &err);
		cr_expect_eq(rc, 0, "input %zu: %s", k, tu_errstr(&err));
		cr_expect_eq(s.len, 0, "input %zu (\"%s\"): %zu documents", k, inputs[k], s.len);
		idp_err_clear(&err);
		idp_arena_free(a);
	}
}

Test(doc_load, map_keys_keep_source_order)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "z: 1\na: 2\nm: 3\nb: 4\nw:\n  k2: 1\n  k1: 2\n  k3: 3\n");
	char keys[256];
	tu_keys(doc, keys, sizeof keys);
	cr_assert_str_eq(keys, "z,a,m,b,w");
	tu_keys(tu_walk(doc, "w"), keys, sizeof keys);
	cr_assert_str_eq(keys, "k2,k1,k3");
	idp_arena_free(a);
}

Test(doc_load, json_input_loads)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "{\"a\": [1, 2, {\"b\": null}], \"s\": \"yes\", \"f\": 1.5, "
					   "\"t\": true, \"e\": {}, \"l\": []}");
	idp_doc_node *list = tu_walk(doc, "a");
	cr_assert_not_null(list);
	cr_assert_eq(list->kind, IDP_DOC_SEQ);
	cr_assert_eq(list->as.seq.len, 3);
	tu_assert_int(tu_walk(doc, "a/0"), 1, "a[0]");
	tu_assert_int(tu_walk(doc, "a/1"), 2, "a[1]");
	idp_doc_node *b = tu_walk(doc, "a/2/b");
	cr_assert_not_null(b);
	cr_assert_eq(b->kind, IDP_DOC_NULL);
	tu_assert_str(tu_walk(doc, "s"), "yes", "\"yes\" in JSON is a string");
	cr_assert_eq(tu_walk(doc, "f")->kind, IDP_DOC_FLOAT);
	cr_assert_eq(tu_walk(doc, "t")->kind, IDP_DOC_BOOL);
	cr_assert_eq(tu_walk(doc, "e")->kind, IDP_DOC_MAP);
	cr_assert_eq(tu_walk(doc, "e")->as.map.len, 0);
	cr_assert_eq(tu_walk(doc, "l")->kind, IDP_DOC_SEQ);
	cr_assert_eq(tu_walk(doc, "l")->as.seq.len, 0);
	char keys[128];
	tu_keys(doc, keys, sizeof keys);
	cr_assert_str_eq(keys, "a,s,f,t,e,l");
	idp_arena_free(a);
}

Test(doc_load, pretty_multiline_json_loads)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "{\n"
					   "    \"apiVersion\": \"v1\",\n"
					   "    \"items\": [\n"
					   "        {\n"
					   "            \"n\": -3\n"
					   "        }\n"
					   "    ]\n"
					   "}\n");
	tu_assert_str(tu_walk(doc, "apiVersion"), "v1", "apiVersion");
	tu_assert_int(tu_walk(doc, "items/0/n"), -3, "items[0].n");
	expect_pos(tu_walk(doc, "items/0/n"), 5, 18, "items[0].n");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- rejected input */

typedef struct bad_case {
	const char *name;
	const char *text;
	size_t len;         /* 0: strlen(text) */
	uint32_t line, col; /* 0: not checked */
	const char *words[3]; /* the message must contain one of these (case-insensitive) */
} bad_case;

static void expect_rejected(const bad_case *c, const idp_doc_load_opts *opts)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {.file = "sentinel", .docs = NULL, .len = 4242};
	idp_err err = IDP_ERR_INIT;
	size_t len = c->len ? c->len : strlen(c->text);
	int rc = idp_doc_load(a, "bad.yaml", c->text, len, opts, &s, &err);
	cr_expect_eq(rc, IDP_EINPUT, "%s: rc %d, want IDP_EINPUT (%s)", c->name, rc, tu_errstr(&err));
	cr_expect_eq(err.code, IDP_EINPUT, "%s: err.code %d", c->name, err.code);
	cr_expect(err.msg && *err.msg, "%s: empty message", c->name);
	if (c->line)
		cr_expect_eq(err.line, c->line, "%s: line %u, want %u (%s)", c->name, (unsigned)err.line,
			     (unsigned)c->line, tu_errstr(&err));
	if (c->col)
		cr_expect_eq(err.col, c->col, "%s: col %u, want %u (%s)", c->name, (unsigned)err.col,
			     (unsigned)c->col, tu_errstr(&err));
	if (c->line)
		cr_expect(err.file && strcmp(err.file, "bad.yaml") == 0, "%s: err.file %s", c->name,
			  err.file ? err.file : "(null)");
	bool word = c->words[0] == NULL;
	for (size_t k = 0; k < 3 && c->words[k]; k++)
		word = word || tu_contains(err.msg, c->words[k]);
	cr_expect(word, "%s: message \"%s\" should say \"%s\"", c->name, err.msg ? err.msg : "",
		  c->words[0]);
	/* On failure out holds only the documents complete before the error. */
	cr_expect_lt(s.len, 4242, "%s: out not set on failure", c->name);
	cr_expect(s.file && strcmp(s.file, "bad.yaml") == 0, "%s: out.file on failure", c->name);
	for (size_t d = 0; d < s.len && d < 4242; d++)
		cr_expect_not_null(s.docs[d], "%s: document %zu", c->name, d);
	idp_err_clear(&err);
	idp_arena_free(a);
}

Test(doc_load, documents_before_an_error_are_kept_for_checkers)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	const char *text = "a: 1\n---\nb: 2\n---\nc: d: e\n";
	cr_assert_eq(idp_doc_load(a, "bad.yaml", text, strlen(text), NULL, &s, &err), IDP_EINPUT);
	cr_expect_eq(err.line, 5, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 2, "the two complete documents");
	tu_assert_int(tu_walk(s.docs[0], "a"), 1, "first document");
	tu_assert_int(tu_walk(s.docs[1], "b"), 2, "second document");
	idp_err_clear(&err);
	idp_arena_free(a);
}

static const bad_case syntax_cases[] = {
	{"mapping value in a plain scalar", "a: b: c\n", 0, 1, 5,
	 {"syntax", "mapping values are not allowed", NULL}},
	{"list item after a map entry", "key: value\n- item\n", 0, 2, 1,
	 {"syntax", "did not find expected key", NULL}},
	{"tab indentation", "a:\n\tb: 1\n", 0, 2, 1,
	 {"syntax", "cannot start any token", "tab"}},
	{"unclosed flow list", "a: [1, 2\n", 0, 2, 1, {"syntax", "did not find expected", NULL}},
	{"bad indentation", "a:\n  b: 1\n c: 2\n", 0, 3, 2,
	 {"syntax", "did not find expected key", "indent"}},
	{"unclosed double quote", "a: \"abc\n", 0, 0, 0, {"syntax", "quoted scalar", "end of stream"}},
};

Test(doc_load, syntax_errors_have_position)
{
	for (size_t k = 0; k < sizeof syntax_cases / sizeof syntax_cases[0]; k++)
		expect_rejected(&syntax_cases[k], NULL);
}

Test(doc_load, unclosed_quote_points_into_the_input)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, "x: 1\na: \"abc\n", &s, &err), IDP_EINPUT);
	cr_expect(err.line == 2 || err.line == 3, "line %u should be the quote's (2) or the end (3)",
		  (unsigned)err.line);
	idp_err_clear(&err);
	idp_arena_free(a);
}

static const bad_case duplicate_cases[] = {
	{"top-level duplicate", "a: 1\nb: 2\na: 3\n", 0, 3, 1, {"duplicate key", NULL, NULL}},
	{"nested duplicate", "x:\n  w: 1\n  w: 2\n", 0, 3, 3, {"duplicate key", NULL, NULL}},
	{"quoted and plain spelling", "a: 1\n'a': 2\n", 0, 2, 1, {"duplicate key", NULL, NULL}},
	{"JSON duplicate", "{\"a\": 1, \"a\": 2}", 0, 1, 10, {"duplicate key", NULL, NULL}},
	{"duplicate in second document", "a: 1\n---\nb: 1\nc: 2\nb: 3\n", 0, 5, 1,
	 {"duplicate key", NULL, NULL}},
};

Test(doc_load, duplicate_keys_are_rejected_at_the_second_occurrence)
{
	for (size_t k = 0; k < sizeof duplicate_cases / sizeof duplicate_cases[0]; k++)
		expect_rejected(&duplicate_cases[k], NULL);
}

static const bad_case complex_key_cases[] = {
	{"explicit flow-list key", "? [a]\n: b\n", 0, 1, 3, {"key", NULL, NULL}},
	{"implicit flow-list key", "[a]: b\n", 0, 1, 1, {"key", NULL, NULL}},
	{"flow-map key", "x: 1\n{a: 1}: b\n", 0, 2, 1, {"key", NULL, NULL}},
	{"block-map key", "? a: 1\n: b\n", 0, 1, 3, {"key", NULL, NULL}},
};

Test(doc_load, non_scalar_keys_are_rejected)
{
	for (size_t k = 0; k < sizeof complex_key_cases / sizeof complex_key_cases[0]; k++)
		expect_rejected(&complex_key_cases[k], NULL);
}

static const bad_case utf8_cases[] = {
	{"0xff byte", "a: 1\nb: 2\nc: x\xff\n", 0, 3, 5, {"UTF-8", NULL, NULL}},
	{"overlong NUL", "a: \xc0\x80\n", 0, 1, 4, {"UTF-8", NULL, NULL}},
	{"UTF-16 surrogate", "a: ok\nb: \xed\xa0\x80\n", 0, 2, 4, {"UTF-8", NULL, NULL}},
	{"truncated sequence at the end", "a: \xe2\x9c", 0, 1, 4, {"UTF-8", NULL, NULL}},
	{"bad byte in a key", "ok: 1\nk\xfe: 2\n", 0, 2, 2, {"UTF-8", NULL, NULL}},
};

Test(doc_load, invalid_utf8_is_rejected_at_the_bad_byte)
{
	for (size_t k = 0; k < sizeof utf8_cases / sizeof utf8_cases[0]; k++)
		expect_rejected(&utf8_cases[k], NULL);
}

Test(doc_load, input_past_max_bytes_is_rejected)
{
	idp_doc_load_opts opts = IDP_DOC_LOAD_OPTS_INIT;
	opts.max_bytes = 16;
	bad_case big = {"20 bytes with max_bytes 16", "a: 1\nb: 2\nc: 3\nd: 4\n", 0, 0, 0,
			{"byte", "large", "size"}};
	expect_rejected(&big, &opts);

	/* exactly max_bytes is allowed ("past" the cap is not) */
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *exact = "a: 1\nb: 2\nc: 345";
	cr_assert_eq(strlen(exact), 16);
	int rc = idp_doc_load(a, "x.yaml", exact, strlen(exact), &opts, &s, &err);
	cr_assert_eq(rc, 0, "16 bytes with max_bytes 16: %s", tu_errstr(&err));
	tu_assert_int(tu_walk(s.docs[0], "c"), 345, "c");
	idp_arena_free(a);
}

Test(doc_load, nesting_past_max_depth_is_rejected)
{
	idp_doc_load_opts opts = IDP_DOC_LOAD_OPTS_INIT;
	opts.max_depth = 4;
	bad_case deep = {"depth 6 with max_depth 4", "a: [[[[[1]]]]]\n", 0, 1, 0,
			 {"depth", "nest", "deep"}};
	expect_rejected(&deep, &opts);
	bad_case deep_block = {"block maps 6 deep with max_depth 4",
			       "a:\n b:\n  c:\n   d:\n    e:\n     f: 1\n", 0, 0, 0,
			       {"depth", "nest", "deep"}};
	expect_rejected(&deep_block, &opts);

	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *shallow = "a: [[1]]\n"; /* 3 levels */
	int rc = idp_doc_load(a, "x.yaml", shallow, strlen(shallow), &opts, &s, &err);
	cr_assert_eq(rc, 0, "3 levels with max_depth 4: %s", tu_errstr(&err));
	idp_arena_free(a);
}

Test(doc_load, very_deep_nesting_fails_cleanly_with_default_options, .timeout = 60)
{
	size_t depth = 20000;
	char *text = idp_xmalloc(2 * depth + 2);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\n';
	text[2 * depth + 1] = '\0';
	bad_case c = {"20000 nested flow lists", text, 0, 1, 0, {"depth", "nest", "deep"}};
	expect_rejected(&c, NULL);
	free(text);
}

/* ---------------------------------------------------------------- aliases */

/* level 0: a list of 10 strings; level k: a list of 10 aliases of level k-1. */
static char *alias_bomb(int levels)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int k = 1; k <= levels; k++) {
		idp_buf_printf(&b, "l%d: &l%d [", k, k);
		for (int j = 0; j < 10; j++)
			idp_buf_printf(&b, "%s*l%d", j ? ", " : "", k - 1);
		idp_buf_puts(&b, "]\n");
	}
	return idp_buf_detach(&b);
}

Test(doc_load, billion_laughs_fails_fast_with_an_alias_error, .timeout = 60)
{
	char *bomb = alias_bomb(9);
	bad_case c = {"9 levels of 10 aliases", bomb, 0, 0, 0, {"alias", NULL, NULL}};
	double t0 = tu_now();
	expect_rejected(&c, NULL);
	double took = tu_now() - t0;
	cr_expect(took < 5.0, "rejecting the alias bomb took %.2f s", took);
	free(bomb);
}

Test(doc_load, max_alias_nodes_caps_expansion)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "base: &big [");
	for (int k = 0; k < 100; k++)
		idp_buf_printf(&b, "%s%d", k ? ", " : "", k);
	idp_buf_puts(&b, "]\ncopy: *big\n");

	idp_doc_load_opts opts = IDP_DOC_LOAD_OPTS_INIT;
	opts.max_alias_nodes = 10;
	bad_case c = {"alias of 100 nodes with max_alias_nodes 10", b.ptr, b.len, 0, 0,
		      {"alias", NULL, NULL}};
	expect_rejected(&c, &opts);

	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, b.ptr);
	idp_doc_node *copy = tu_walk(doc, "copy");
	cr_assert_not_null(copy);
	cr_assert_eq(copy->kind, IDP_DOC_SEQ);
	cr_assert_eq(copy->as.seq.len, 100);
	tu_assert_int(copy->as.seq.items[99], 99, "copy[99]");
	idp_arena_free(a);
	idp_buf_free(&b);
}

Test(doc_load, alias_gives_an_independent_copy)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "base: &a\n"
					   "  x: 1\n"
					   "  l: [1, 2]\n"
					   "copy: *a\n"
					   "scalar: &s hello\n"
					   "again: *s\n");
	idp_doc_node *base = tu_walk(doc, "base"), *copy = tu_walk(doc, "copy");
	tu_assert_int(tu_walk(copy, "x"), 1, "copy.x");
	tu_assert_str(tu_walk(doc, "again"), "hello", "again");
	cr_assert_neq(base, copy, "the alias must not share the anchored node");

	idp_doc_map_set(a, copy, "x", idp_doc_new_int(a, 2));
	idp_doc_seq_push(a, tu_walk(copy, "l"), idp_doc_new_int(a, 3));
	tu_assert_int(tu_walk(copy, "x"), 2, "copy.x after set");
	tu_assert_int(tu_walk(base, "x"), 1, "base.x after changing copy.x");
	cr_assert_eq(tu_walk(base, "l")->as.seq.len, 2, "base.l grew with copy.l");
	cr_assert_eq(tu_walk(copy, "l")->as.seq.len, 3);
	idp_arena_free(a);
}

Test(doc_load, alias_expansion_counts_toward_max_depth)
{
	idp_doc_load_opts opts = IDP_DOC_LOAD_OPTS_INIT;
	opts.max_depth = 6;
	/* a is 5 levels deep, b would be 9 once *a is expanded */
	bad_case c = {"alias expanded past max_depth", "a: &a [[[[1]]]]\nb: [[[[*a]]]]\n", 0, 0, 0,
		      {"depth", "nest", "deep"}};
	expect_rejected(&c, &opts);
}

static const bad_case alias_cases[] = {
	{"undefined alias", "a: 1\nb: *nope\n", 0, 2, 4, {"alias", "anchor", NULL}},
	{"alias inside its own anchor", "a: &a [1, *a]\n", 0, 1, 0, {"alias", "anchor", NULL}},
	{"alias inside its own anchored map", "a: &a {b: *a}\n", 0, 1, 0, {"alias", "anchor", NULL}},
	{"anchor from a previous document", "a: &x 1\n---\nb: *x\n", 0, 3, 4, {"alias", "anchor", NULL}},
};

Test(doc_load, bad_aliases_are_rejected, .timeout = 30)
{
	for (size_t k = 0; k < sizeof alias_cases / sizeof alias_cases[0]; k++)
		expect_rejected(&alias_cases[k], NULL);
}

Test(doc_load, redefined_anchor_uses_the_latest_definition)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: &x 1\nb: &x 2\nc: *x\n");
	tu_assert_int(tu_walk(doc, "c"), 2, "c");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- merge keys */

Test(doc_load, merge_key_merges_an_aliased_map)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "base: &b {x: 1, w: 2}\n"
					   "derived: {<<: *b, w: 3}\n");
	idp_doc_node *d = tu_walk(doc, "derived");
	cr_assert_not_null(d);
	cr_assert_eq(d->kind, IDP_DOC_MAP);
	tu_assert_int(tu_walk(d, "x"), 1, "derived.x");
	tu_assert_int(tu_walk(d, "w"), 3, "derived.w");
	cr_assert_null(tu_entry(d, "<<"), "the << key must not be kept");
	cr_assert_eq(d->as.map.len, 2);
	tu_assert_int(tu_walk(doc, "base/w"), 2, "base.w unchanged");
	idp_arena_free(a);
}

Test(doc_load, merge_key_in_block_style_and_inline_map)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "defaults: &defaults\n"
					   "  adapter: postgres\n"
					   "  host: localhost\n"
					   "development:\n"
					   "  database: dev\n"
					   "  <<: *defaults\n"
					   "inline:\n"
					   "  <<: {p: 1}\n"
					   "  q: 2\n");
	tu_assert_str(tu_walk(doc, "development/adapter"), "postgres", "development.adapter");
	tu_assert_str(tu_walk(doc, "development/host"), "localhost", "development.host");
	tu_assert_str(tu_walk(doc, "development/database"), "dev", "development.database");
	cr_assert_eq(tu_walk(doc, "development")->as.map.len, 3);
	tu_assert_int(tu_walk(doc, "inline/p"), 1, "inline.p");
	tu_assert_int(tu_walk(doc, "inline/q"), 2, "inline.q");
	cr_assert_eq(tu_walk(doc, "inline")->as.map.len, 2);
	idp_arena_free(a);
}

Test(doc_load, merge_key_with_a_list_of_maps_earlier_wins)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: &a {x: 1}\n"
					   "b: &b {x: 2, w: 2}\n"
					   "c:\n"
					   "  <<: [*a, *b]\n"
					   "  z: 3\n");
	tu_assert_int(tu_walk(doc, "c/x"), 1, "c.x (first map in the list wins)");
	tu_assert_int(tu_walk(doc, "c/w"), 2, "c.w");
	tu_assert_int(tu_walk(doc, "c/z"), 3, "c.z");
	cr_assert_eq(tu_walk(doc, "c")->as.map.len, 3);
	idp_arena_free(a);
}

/* kubectl (go-yaml) takes several `<<` keys in one map; the first merge that
 * has a key wins, and explicit keys win over all of them. */
Test(doc_load, several_merge_keys_in_one_map)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: &a {x: 1, k: a}\n"
					   "b: &b {x: 2, w: 2}\n"
					   "c:\n"
					   "  <<: *a\n"
					   "  k: own\n"
					   "  <<: *b\n");
	tu_assert_int(tu_walk(doc, "c/x"), 1, "c.x (first merge wins)");
	tu_assert_int(tu_walk(doc, "c/w"), 2, "c.w");
	tu_assert_str(tu_walk(doc, "c/k"), "own", "c.k (explicit key wins)");
	cr_assert_eq(tu_walk(doc, "c")->as.map.len, 3);
	idp_arena_free(a);
}

static const bad_case merge_cases[] = {
	{"<< with a scalar", "a: {<<: 1}\n", 0, 1, 0, {"merge", "<<", NULL}},
	{"<< with a list holding a scalar", "m: &m {x: 1}\na:\n  <<: [*m, 2]\n", 0, 3, 0,
	 {"merge", "<<", NULL}},
	{"<< with null", "a:\n  <<: ~\n", 0, 2, 0, {"merge", "<<", NULL}},
};

Test(doc_load, merge_key_with_a_non_map_value_is_rejected)
{
	for (size_t k = 0; k < sizeof merge_cases / sizeof merge_cases[0]; k++)
		expect_rejected(&merge_cases[k], NULL);
}

Test(doc_load, quoted_merge_key_is_an_ordinary_key)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "\"<<\": 1\nb: 2\n");
	tu_assert_int(tu_walk(doc, "<<"), 1, "\"<<\" key");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- odd inputs */

Test(doc_load, reads_only_len_bytes_of_an_unterminated_buffer)
{
	const char text[] = "a: 1\nb: 2\n";
	size_t len = 5; /* "a: 1\n" */
	char *buf = idp_xmalloc(len); /* no NUL: reading past len is caught by ASan */
	memcpy(buf, text, len);
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load(a, "x.yaml", buf, len, NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 1);
	cr_assert_eq(s.docs[0]->as.map.len, 1, "only a: 1 is within len");
	idp_arena_free(a);
	free(buf);
}

/* Valid UTF-8 that YAML does not allow as text: libyaml's reader rejects it
 * but gives only a byte offset, which must still become line:column. */
static const bad_case control_cases[] = {
	{"NUL byte", "a: 1\nb: x\0y\n", 12, 2, 5, {"control", "character", NULL}},
	{"0x01 byte", "a: 1\nb: x\x01y\n", 0, 2, 5, {"control", "character", NULL}},
	{"DEL byte", "a: 1\nb: x\x7fy\n", 0, 2, 5, {"control", "character", NULL}},
	{"U+FFFE", "a: 1\nb: x\xef\xbf\xbey\n", 0, 2, 5, {"control", "character", NULL}},
	{"C1 control U+0080", "a: 1\nbb: \xc2\x80\n", 0, 2, 5, {"control", "character", NULL}},
};

Test(doc_load, control_characters_are_rejected_at_their_position)
{
	for (size_t k = 0; k < sizeof control_cases / sizeof control_cases[0]; k++)
		expect_rejected(&control_cases[k], NULL);
}

Test(doc_load, utf8_bom_is_skipped)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *one = "\xef\xbb\xbf" "a: 1\n";
	int rc = tu_load(a, one, &s, &err);
	cr_expect_eq(rc, 0, "one line after a BOM: %s", tu_errstr(&err));
	if (rc == 0) {
		char keys[64];
		tu_keys(s.docs[0], keys, sizeof keys);
		cr_expect_str_eq(keys, "a", "the BOM became part of the first key");
	}
	idp_err_clear(&err);
	const char *two = "\xef\xbb\xbf" "a: 1\nb: 2\n";
	rc = tu_load(a, two, &s, &err);
	cr_expect_eq(rc, 0, "two lines after a BOM: %s", tu_errstr(&err));
	if (rc == 0)
		tu_assert_int(tu_walk(s.docs[0], "b"), 2, "b");
	idp_err_clear(&err);
	idp_arena_free(a);
}

Test(doc_load, crlf_line_ends)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: 1\r\nb:\r\n  c: two\r\n");
	tu_assert_int(tu_walk(doc, "a"), 1, "a");
	tu_assert_str(tu_walk(doc, "b/c"), "two", "b.c");
	expect_pos(tu_walk(doc, "b/c"), 3, 6, "b.c");
	idp_arena_free(a);
}

Test(doc_load, scalar_and_list_documents)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, "--- 42\n--- hello\n---\n- 1\n- two\n", &s, &err), 0, "%s",
		     tu_errstr(&err));
	cr_assert_eq(s.len, 3);
	tu_assert_int(s.docs[0], 42, "doc 0");
	tu_assert_str(s.docs[1], "hello", "doc 1");
	cr_assert_eq(s.docs[2]->kind, IDP_DOC_SEQ);
	cr_assert_eq(s.docs[2]->as.seq.len, 2);
	idp_arena_free(a);
}

Test(doc_load, str_tag_keeps_a_string)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: !!str 123\nb: !!str true\n");
	tu_assert_str(tu_walk(doc, "a"), "123", "!!str 123");
	tu_assert_str(tu_walk(doc, "b"), "true", "!!str true");
	idp_arena_free(a);
}

Test(doc_load, duplicate_key_in_a_big_map)
{
	idp_buf b = IDP_BUF_INIT;
	for (int k = 0; k < 5000; k++)
		idp_buf_printf(&b, "key-%d: %d\n", k, k);
	idp_buf_puts(&b, "key-17: again\n"); /* line 5001 */
	bad_case c = {"duplicate after 5000 keys", b.ptr, b.len, 5001, 1, {"duplicate key", NULL, NULL}};
	expect_rejected(&c, NULL);
	idp_buf_free(&b);
}

Test(doc_load, utf8_error_column_counts_characters_like_other_positions)
{
	/* libyaml counts columns in characters: x below is at column 4 */
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "\xc3\xa9: x\n");
	expect_pos(tu_walk(doc, "\xc3\xa9"), 1, 4, "value after a 2-byte key");
	idp_arena_free(a);
	bad_case c = {"0xff after a 2-byte character", "ok: 1\n\xc3\xa9: x\xff\n", 0, 2, 5,
		      {"UTF-8", NULL, NULL}};
	expect_rejected(&c, NULL);
}

/* ---------------------------------------------------------------- files */

Test(doc_load, load_file_reads_a_file_and_names_it_in_positions)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	const char *text = "x: 1\n---\nw:\n  z: hello\n";
	char *path = idp_fixture_write_file(dir, "in.yaml", text, strlen(text));
	cr_assert_not_null(path);

	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load_file(a, path, NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 2);
	cr_assert_str_eq(s.file, path);
	idp_doc_node *z = tu_walk(s.docs[1], "w/z");
	tu_assert_str(z, "hello", "w.z");
	cr_assert(z->pos.file && strcmp(z->pos.file, path) == 0);
	expect_pos(z, 4, 6, "w.z");
	idp_arena_free(a);

	idp_fixture_rmtree(dir);
	free(path);
	free(dir);
}

Test(doc_load, load_file_dash_reads_standard_input)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	const char *text = "%YAML 1.1\n---\na: yes\n";
	char *path = idp_fixture_write_file(dir, "in.yaml", text, strlen(text));
	cr_assert_not_null(path);
	cr_assert_not_null(freopen(path, "r", stdin));
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load_file(a, "-", NULL, &s, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, 1);
	cr_assert_eq(tu_walk(s.docs[0], "a")->kind, IDP_DOC_BOOL);
	idp_arena_free(a);
	idp_fixture_rmtree(dir);
	free(path);
	free(dir);
}

Test(doc_load, load_file_of_a_missing_file_is_an_error)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *path = "/nonexistent-idp-dir/missing.yaml";
	int rc = idp_doc_load_file(a, path, NULL, &s, &err);
	cr_assert_lt(rc, 0);
	cr_assert_eq(err.code, rc, "err.code %d, rc %d", err.code, rc);
	cr_assert(err.msg && *err.msg);
	cr_assert(tu_contains(err.msg, "missing.yaml") || tu_contains(err.file, "missing.yaml"),
		  "the error should name the file: %s", tu_errstr(&err));
	idp_err_clear(&err);
	idp_arena_free(a);
}

Test(doc_load, load_file_applies_max_bytes)
{
	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	const char *text = "a: 1\nb: 2\nc: 3\nd: 4\n";
	char *path = idp_fixture_write_file(dir, "big.yaml", text, strlen(text));
	cr_assert_not_null(path);
	idp_doc_load_opts opts = IDP_DOC_LOAD_OPTS_INIT;
	opts.max_bytes = 8;
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load_file(a, path, &opts, &s, &err);
	cr_expect_eq(rc, IDP_EINPUT, "rc %d: %s", rc, tu_errstr(&err));
	idp_err_clear(&err);
	idp_arena_free(a);
	idp_fixture_rmtree(dir);
	free(path);
	free(dir);
}

/* ---------------------------------------------------------------- round trips */

/* emit(docs) -> load -> equal -> emit again, byte-identical. */
static void expect_round_trip(idp_doc_node *const *docs, size_t n, const char *what)
{
	char *first = tu_emit_yaml(docs, n);
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load(a, "emitted.yaml", first, strlen(first), NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s: the emitted YAML does not load: %s\n--- emitted ---\n%.4000s", what,
		     tu_errstr(&err), first);
	cr_assert_eq(s.len, n, "%s: %zu documents emitted, %zu loaded back", what, n, s.len);
	for (size_t k = 0; k < n; k++)
		cr_assert(idp_doc_equal(docs[k], s.docs[k]),
			  "%s: document %zu differs after emit+load\n--- emitted ---\n%.4000s", what, k,
			  first);
	char *second = tu_emit_yaml(s.docs, s.len);
	size_t l1 = strlen(first), l2 = strlen(second);
	size_t at = 0;
	while (at < l1 && at < l2 && first[at] == second[at])
		at++;
	cr_assert(l1 == l2 && at == l1,
		  "%s: fmt(fmt(x)) != fmt(x): lengths %zu and %zu, first difference at byte %zu:\n"
		  "--- first ---\n%.300s\n--- second ---\n%.300s",
		  what, l1, l2, at, first + (at > 100 ? at - 100 : 0), second + (at > 100 ? at - 100 : 0));
	free(first);
	free(second);
	idp_arena_free(a);
}

/* The ```yaml blocks of a Markdown text, as malloc'd strings. */
static size_t yaml_blocks(const char *md, char **out, size_t cap)
{
	size_t n = 0;
	const char *p = md;
	while ((p = strstr(p, "```yaml\n")) != NULL && n < cap) {
		if (p != md && p[-1] != '\n') {
			p += 8;
			continue;
		}
		p += 8;
		const char *end = strstr(p, "\n```");
		if (!end)
			break;
		out[n++] = idp_xstrndup(p, (size_t)(end - p) + 1);
		p = end + 4;
	}
	return n;
}

/* Inserts "---\n" before every top-level "apiVersion:" line but the first. */
static char *split_at_api_version(const char *text)
{
	idp_buf b = IDP_BUF_INIT;
	bool seen = false;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		if (strncmp(line, "apiVersion:", 11) == 0) {
			if (seen)
				idp_buf_puts(&b, "---\n");
			seen = true;
		}
		idp_buf_append(&b, line, len);
		line += len;
	}
	return idp_buf_detach(&b);
}

Test(doc_load, seed_readme_yaml_examples_round_trip)
{
	size_t mdlen = 0;
	char *md = idp_fixture_read_file(SEED_README, &mdlen);
	if (!md)
		cr_skip_test("SKIP: %s absent", SEED_README);
	char *blocks[64];
	size_t n = yaml_blocks(md, blocks, 64);
	cr_assert_gt(n, 0, "no ```yaml block found in %s", SEED_README);
	size_t loaded = 0;
	for (size_t k = 0; k < n; k++) {
		char what[64];
		snprintf(what, sizeof what, "README yaml block %zu", k);
		idp_arena *a = idp_arena_new();
		idp_doc_stream s = {0};
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_load(a, "README.md", blocks[k], strlen(blocks[k]), NULL, &s, &err);
		if (rc != 0) {
			/* two documents without `---` between them: a duplicate key */
			cr_assert(tu_contains(err.msg, "duplicate key"),
				  "%s fails to load for another reason than a duplicate key: %s", what,
				  tu_errstr(&err));
			idp_err_clear(&err);
			char *split = split_at_api_version(blocks[k]);
			rc = idp_doc_load(a, "README.md", split, strlen(split), NULL, &s, &err);
			cr_assert_eq(rc, 0, "%s split at apiVersion: %s", what, tu_errstr(&err));
			cr_assert_gt(s.len, 1);
			expect_round_trip(s.docs, s.len, what);
			free(split);
		} else {
			cr_assert_gt(s.len, 0, "%s: no documents", what);
			loaded++;
			expect_round_trip(s.docs, s.len, what);
		}
		idp_arena_free(a);
		free(blocks[k]);
	}
	cr_assert_gt(loaded, 0, "no README block loaded as it is");
	free(md);
}

/* About 10 MB of Kubernetes-like documents with every scalar kind. */
static char *big_stream(size_t min_bytes, size_t *ndocs)
{
	idp_buf b = IDP_BUF_INIT;
	size_t i = 0;
	while (b.len < min_bytes) {
		if (i)
			idp_buf_puts(&b, "---\n");
		idp_buf_printf(&b,
			       "apiVersion: apps/v1\n"
			       "kind: Deployment\n"
			       "metadata:\n"
			       "  name: app-%zu\n"
			       "  namespace: ns-%zu\n"
			       "  labels:\n"
			       "    app.kubernetes.io/name: app-%zu\n"
			       "    tier: \"on\"\n"
			       "  annotations:\n"
			       "    note: \"0755\"\n"
			       "    description: \"h\\u00e9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac %zu\"\n"
			       "    'y': \"1:20\"\n"
			       "spec:\n"
			       "  replicas: %zu\n"
			       "  ratio: %zu.25\n"
			       "  whole: 2.0\n"
			       "  tiny: 1.0e-7\n"
			       "  enabled: yes\n"
			       "  paused: off\n"
			       "  mode: '0644'\n"
			       "  octal: 0644\n"
			       "  big: 9223372036854775807\n"
			       "  neg: -%zu\n"
			       "  hex: 0x1F\n"
			       "  empty: \"\"\n"
			       "  nothing: ~\n"
			       "  template:\n"
			       "    spec:\n"
			       "      containers:\n"
			       "      - name: c%zu\n"
			       "        image: \"registry.example.com/app:%zu\"\n"
			       "        args: [\"--port\", \"8080\", \"--flag=on\", 'a: b', \"#x\"]\n"
			       "        env:\n"
			       "        - name: A\n"
			       "          value: \"y\"\n"
			       "        - name: B\n"
			       "          value: \"null\"\n"
			       "        ports:\n"
			       "        - containerPort: 8080\n"
			       "          protocol: TCP\n"
			       "      volumes: []\n"
			       "      nodeSelector: {}\n"
			       "  script: |\n"
			       "    #!/bin/sh\n"
			       "    echo \"hello %zu\"\n"
			       "      indented line\n"
			       "    done\n"
			       "  folded: >\n"
			       "    folded text\n"
			       "    continues here\n"
			       "  keep: |+\n"
			       "    trailing\n"
			       "\n"
			       "  strip: |-\n"
			       "    no newline\n"
			       "  matrix: [[1, 2], [3, 4.5e3], []]\n"
			       "  quoted: 'it''s \"quoted\"'\n",
			       i, i % 7, i, i, i, i, i, i, i, i);
		i++;
	}
	*ndocs = i;
	return idp_buf_detach(&b);
}

Test(doc_load, ten_megabyte_stream_round_trips, .timeout = 600)
{
	size_t ndocs = 0;
	char *text = big_stream((size_t)10 << 20, &ndocs);
	size_t len = strlen(text);
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load(a, "big.yaml", text, len, NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	cr_assert_eq(s.len, ndocs, "%zu documents written, %zu loaded", ndocs, s.len);

	idp_doc_node *last = s.docs[s.len - 1];
	char want[64];
	snprintf(want, sizeof want, "app-%zu", ndocs - 1);
	tu_assert_str(tu_walk(last, "metadata/name"), want, "last metadata.name");
	tu_assert_str(tu_walk(last, "metadata/labels/tier"), "on", "tier");
	tu_assert_str(tu_walk(last, "metadata/annotations/y"), "1:20", "annotations.y");
	tu_assert_int(tu_walk(last, "spec/octal"), 0644, "spec.octal");
	tu_assert_str(tu_walk(last, "spec/keep"), "trailing\n\n", "spec.keep");
	tu_assert_str(tu_walk(last, "spec/strip"), "no newline", "spec.strip");
	tu_assert_str(tu_walk(last, "spec/folded"), "folded text continues here\n", "spec.folded");
	cr_assert_eq(tu_walk(last, "spec/whole")->kind, IDP_DOC_FLOAT);
	cr_assert_eq(tu_walk(last, "spec/enabled")->kind, IDP_DOC_BOOL);

	expect_round_trip(s.docs, s.len, "10 MB stream");
	idp_arena_free(a);
	free(text);
}
