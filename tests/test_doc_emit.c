/*
 * Emitting: the exact kubectl-style YAML text, quoting of strings a YAML 1.1
 * reader would retype, literal blocks, type-preserving round trips, JSON
 * (compact, pretty, escaping, non-finite floats), and a check of emitted
 * ConfigMaps with the schema validator.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define VALIDATOR IDP_SOURCE_ROOT "/../shared/tools/validate-manifests"

/* Loads input and asserts that emitting it gives exactly want. */
static void expect_emits(const char *input, const char *want)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, input, &s, &err), 0, "%s", tu_errstr(&err));
	char *got = tu_emit_yaml(s.docs, s.len);
	cr_assert_str_eq(got, want, "\n--- got ---\n%s--- want ---\n%s", got, want);
	free(got);
	idp_arena_free(a);
}

Test(doc_emit, kubectl_style_block_yaml)
{
	expect_emits("apiVersion: v1\n"
		     "kind: Pod\n"
		     "metadata:\n"
		     "    name: web\n"
		     "    labels: {app: web, tier: \"frontend\"}\n"
		     "spec:\n"
		     "    containers:\n"
		     "        - image: nginx\n"
		     "          name: web\n"
		     "          args: [serve, \"80\"]\n"
		     "          ports:\n"
		     "              - containerPort: 80\n"
		     "                protocol: TCP\n"
		     "    volumes: []\n"
		     "    nodeSelector: {}\n"
		     "    replicas: 3\n"
		     "    paused: false\n"
		     "    ratio: 0.5\n"
		     "    note: null\n"
		     "---\n"
		     "kind: Second\n",
		     /* want */
		     "apiVersion: v1\n"
		     "kind: Pod\n"
		     "metadata:\n"
		     "  name: web\n"
		     "  labels:\n"
		     "    app: web\n"
		     "    tier: frontend\n"
		     "spec:\n"
		     "  containers:\n"
		     "  - image: nginx\n"
		     "    name: web\n"
		     "    args:\n"
		     "    - serve\n"
		     "    - \"80\"\n"
		     "    ports:\n"
		     "    - containerPort: 80\n"
		     "      protocol: TCP\n"
		     "  volumes: []\n"
		     "  nodeSelector: {}\n"
		     "  replicas: 3\n"
		     "  paused: false\n"
		     "  ratio: 0.5\n"
		     "  note: null\n"
		     "---\n"
		     "kind: Second\n");
}

Test(doc_emit, nested_lists_and_empty_collections_in_lists)
{
	expect_emits("matrix: [[1, 2], [3]]\n"
		     "items: [{}, [], {a: 1, b: [x]}]\n",
		     "matrix:\n"
		     "- - 1\n"
		     "  - 2\n"
		     "- - 3\n"
		     "items:\n"
		     "- {}\n"
		     "- []\n"
		     "- a: 1\n"
		     "  b:\n"
		     "  - x\n");
}

Test(doc_emit, top_level_list_and_empty_root_collections)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, "- a\n- {b: 1}\n---\n{}\n---\n[]\n", &s, &err), 0);
	cr_assert_eq(s.len, 3);
	char *got = tu_emit_yaml(s.docs, s.len);
	/* an empty root collection may sit on the `---` line or below it */
	cr_assert(strcmp(got, "- a\n- b: 1\n---\n{}\n---\n[]\n") == 0 ||
			  strcmp(got, "- a\n- b: 1\n--- {}\n--- []\n") == 0,
		  "got:\n%s", got);
	free(got);
	idp_arena_free(a);
}

Test(doc_emit, documents_built_through_the_api)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *d1 = idp_doc_new_map(a);
	idp_doc_map_set(a, d1, "name", idp_doc_new_str(a, "x"));
	idp_doc_node *list = idp_doc_new_seq(a);
	idp_doc_seq_push(a, list, idp_doc_new_int(a, 1));
	idp_doc_seq_push(a, list, idp_doc_new_bool(a, true));
	idp_doc_seq_push(a, list, idp_doc_new_null(a));
	idp_doc_map_set(a, d1, "list", list);
	idp_doc_node *d2 = idp_doc_new_map(a);
	idp_doc_map_set(a, d2, "n", idp_doc_new_int(a, -7));
	idp_doc_node *docs[] = {d1, d2};
	char *got = tu_emit_yaml(docs, 2);
	cr_assert_str_eq(got, "name: x\nlist:\n- 1\n- true\n- null\n---\n\"n\": -7\n");
	free(got);

	/* no documents: no text */
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_emit_yaml(docs, 0, &out, &err), 0);
	cr_assert_eq(out.len, 0, "emitting no documents wrote \"%s\"", idp_buf_cstr(&out));
	idp_buf_free(&out);
	idp_arena_free(a);
}

Test(doc_emit, emit_appends_to_the_buffer)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "a: 1\n");
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	idp_buf_puts(&out, "# head\n");
	cr_assert_eq(idp_doc_emit_yaml(&doc, 1, &out, &err), 0);
	cr_assert_str_eq(idp_buf_cstr(&out), "# head\na: 1\n");
	idp_buf_clear(&out);
	idp_buf_puts(&out, "[");
	cr_assert_eq(idp_doc_emit_json(doc, IDP_DOC_JSON_COMPACT, &out, &err), 0);
	cr_assert(idp_str_has_prefix(idp_buf_cstr(&out), "[{\"a\":1}"), "got %s", idp_buf_cstr(&out));
	idp_buf_free(&out);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- quoting */

Test(doc_emit, strings_that_a_yaml11_reader_retypes_are_double_quoted)
{
	expect_emits("data:\n"
		     "  a: 'on'\n"
		     "  b: 'y'\n"
		     "  c: '0755'\n"
		     "  d: '1e3'\n"
		     "  e: 'null'\n"
		     "  f: ''\n"
		     "  g: 'nginx:alpine'\n"
		     "  h: 'true'\n"
		     "  i: '1:20'\n"
		     "  j: '2024-01-01'\n"
		     "  k: '~'\n"
		     "  l: 'NO'\n"
		     "  m: '12'\n"
		     "  'on': 'off'\n"
		     "  'y': x\n"
		     "  '': empty key\n"
		     "  '<<': merge\n"
		     "  '1.5': my-app\n",
		     "data:\n"
		     "  a: \"on\"\n"
		     "  b: \"y\"\n"
		     "  c: \"0755\"\n"
		     "  d: \"1e3\"\n"
		     "  e: \"null\"\n"
		     "  f: \"\"\n"
		     "  g: nginx:alpine\n"
		     "  h: \"true\"\n"
		     "  i: \"1:20\"\n"
		     "  j: \"2024-01-01\"\n"
		     "  k: \"~\"\n"
		     "  l: \"NO\"\n"
		     "  m: \"12\"\n"
		     "  \"on\": \"off\"\n"
		     "  \"y\": x\n"
		     "  \"\": empty key\n"
		     "  \"<<\": merge\n"
		     "  \"1.5\": my-app\n");
}

Test(doc_emit, scalars_of_each_type_are_written_plainly)
{
	expect_emits("t: true\nf: no\nz: ~\ni: 0x1F\no: 0755\ns: hello world\nneg: -3\n",
		     "t: true\nf: false\nz: null\ni: 31\no: 493\ns: hello world\nneg: -3\n");
}

Test(doc_emit, unicode_is_written_as_is)
{
	expect_emits("name: \"h\\u00e9llo \\u2713\"\n\"\\u65e5\": x\n",
		     "name: h\xc3\xa9llo \xe2\x9c\x93\n\xe6\x97\xa5: x\n");
}

/* Strings that are hard to write: each must come back byte for byte, as a
 * value and as a key. */
static const char *const tricky_strings[] = {
	"on", "y", "0755", "1e3", "null", "", "~", "1:20", "2024-01-01", "<<", "=", ".inf", "-.5",
	"- x", "-", "--", "---", "...", "a: b", "a:b", "key:", "#c", "a #b", "a# b", " lead", "trail ",
	" ", "{x}", "[x]", "}", "]", "*x", "&x", "!x", "!!str", "|", ">", "%x", "@x", "`x", "'", "\"",
	"'q'", "\"q\"", "?", "? x", ",", "a,b", "x\\y", "x\ty", "\t", "\ttab first",
	"\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "\x01" "ctl", "\x7f" "del",
	"\r", "a\r\nb", "line1\nline2\n", "line1\nline2", "a\n\nb\n\n", "\n", "\n\n", " \nx",
	"  indented first\nsecond\n", "trailing \nspaces \n", "x\n ", "tab\tin\nblock\n",
	"\xc2\x85" "nel", "a\xe2\x80\xa8" "b", "\xef\xbb\xbf" "bom", "\xc2\xa0nbsp",
	"very long string that goes on and on past eighty columns without any break at all so that a "
	"folding emitter would be tempted to fold it",
	"long words with spaces                                                     many spaces inside "
	"and a few more words to pass the line width of eighty columns",
};

Test(doc_emit, tricky_strings_round_trip_as_values_and_keys)
{
	size_t bad = 0;
	for (size_t k = 0; k < sizeof tricky_strings / sizeof tricky_strings[0]; k++) {
		const char *str = tricky_strings[k];
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = idp_doc_new_map(a);
		idp_doc_map_set(a, doc, "value", idp_doc_new_str(a, str));
		idp_doc_map_set(a, doc, str, idp_doc_new_str(a, "key"));
		idp_doc_node *list = idp_doc_new_seq(a);
		idp_doc_seq_push(a, list, idp_doc_new_str(a, str));
		idp_doc_map_set(a, doc, "list", list);

		/* the string is also a document of its own, between two others */
		idp_doc_node *docs[] = {doc, idp_doc_new_str(a, str), doc};

		idp_buf out = IDP_BUF_INIT;
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_emit_yaml(docs, 3, &out, &err);
		if (rc != 0) {
			cr_expect_fail("[%zu] emit failed: %s", k, tu_errstr(&err));
			bad++;
		} else {
			idp_doc_stream s = {0};
			rc = tu_load(a, idp_buf_cstr(&out), &s, &err);
			if (rc != 0 || s.len != 3) {
				cr_expect_fail("[%zu] \"%s\": emitted text does not load as 3 documents: %s\n%s",
					       k, str, tu_errstr(&err), idp_buf_cstr(&out));
				bad++;
			} else if (!idp_doc_equal(docs[1], s.docs[1]) || !idp_doc_equal(doc, s.docs[2])) {
				cr_expect_fail("[%zu] \"%s\" as a document changed: emitted\n%s", k, str,
					       idp_buf_cstr(&out));
				bad++;
			} else if (!idp_doc_equal(doc, s.docs[0])) {
				idp_doc_node *v = tu_walk(s.docs[0], "value");
				cr_expect_fail("[%zu] \"%s\" changed: emitted\n%s\nvalue came back as %s \"%s\"",
					       k, str, idp_buf_cstr(&out),
					       v ? idp_doc_kind_name(v->kind) : "nothing",
					       v && v->kind == IDP_DOC_STR ? v->as.str.ptr : "");
				bad++;
			}
		}
		idp_err_clear(&err);
		idp_buf_free(&out);
		idp_arena_free(a);
	}
	cr_assert_eq(bad, 0, "%zu strings do not round-trip (see above)", bad);
}

Test(doc_emit, string_with_nul_round_trips)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = idp_doc_new_map(a);
	idp_doc_map_set(a, doc, "v", idp_doc_new_strn(a, "a\0b", 3));
	char *text = tu_emit_one(doc);
	idp_doc_node *back = tu_load_one(a, text);
	idp_doc_node *v = tu_walk(back, "v");
	cr_assert_not_null(v);
	cr_assert_eq(v->kind, IDP_DOC_STR);
	cr_assert_eq(v->as.str.len, 3, "emitted %s", text);
	cr_assert_eq(memcmp(v->as.str.ptr, "a\0b", 3), 0);
	free(text);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- block strings */

Test(doc_emit, multiline_strings_become_literal_blocks)
{
	expect_emits("script: \"line1\\nline2\\n\"\n"
		     "strip: \"a\\nb\"\n",
		     "script: |\n"
		     "  line1\n"
		     "  line2\n"
		     "strip: |-\n"
		     "  a\n"
		     "  b\n");
	expect_emits("spec:\n  list:\n  - \"x\\ny\\n\"\n",
		     "spec:\n"
		     "  list:\n"
		     "  - |\n"
		     "    x\n"
		     "    y\n");
}

Test(doc_emit, literal_blocks_round_trip)
{
	const char *texts[] = {"line1\nline2\n", "a\nb", "keep\n\n\n", "  lead\nx\n", "x\n\n  y\n",
			       "#!/bin/sh\necho \"hi: there\" # not a comment\n", "- not\n- a list\n"};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = idp_doc_new_map(a);
		idp_doc_map_set(a, doc, "s", idp_doc_new_str(a, texts[k]));
		char *text = tu_emit_one(doc);
		idp_doc_node *back = tu_load_one(a, text);
		tu_assert_str(tu_walk(back, "s"), texts[k], text);
		free(text);
		idp_arena_free(a);
	}
}

/* ---------------------------------------------------------------- numbers */

Test(doc_emit, floats_stay_floats_and_keep_their_value)
{
	const double values[] = {2.0, 0.0, 0.1, 1.5, -0.25, 100.0, 1e21, 1e-7, 123456789.125, 3e100,
				 5e-324, 1.7976931348623157e308, -1e6, 0.30000000000000004};
	for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = idp_doc_new_map(a);
		idp_doc_map_set(a, doc, "f", idp_doc_new_float(a, values[k]));
		char *text = tu_emit_one(doc);
		idp_doc_node *f = tu_walk(tu_load_one(a, text), "f");
		cr_assert_not_null(f);
		cr_expect_eq(f->kind, IDP_DOC_FLOAT, "%.17g emitted as \"%s\" reads back as %s", values[k],
			     text, idp_doc_kind_name(f->kind));
		if (f->kind == IDP_DOC_FLOAT)
			cr_expect(f->as.f == values[k], "%.17g emitted as \"%s\" reads back as %.17g",
				  values[k], text, f->as.f);
		free(text);
		idp_arena_free(a);
	}
}

Test(doc_emit, non_finite_floats_round_trip_in_yaml)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "p: .inf\nm: -.inf\nq: .nan\n");
	char *text = tu_emit_one(doc);
	cr_assert_str_eq(text, "p: .inf\nm: -.inf\nq: .nan\n");
	idp_doc_node *back = tu_load_one(a, text);
	cr_assert(isinf(tu_walk(back, "p")->as.f) && tu_walk(back, "p")->as.f > 0);
	cr_assert(isinf(tu_walk(back, "m")->as.f) && tu_walk(back, "m")->as.f < 0);
	cr_assert(isnan(tu_walk(back, "q")->as.f));
	free(text);
	idp_arena_free(a);
}

Test(doc_emit, ints_stay_ints)
{
	const int64_t values[] = {0, 1, -1, 493, 31, INT64_MAX, INT64_MIN, 1000000};
	for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = idp_doc_new_map(a);
		idp_doc_map_set(a, doc, "i", idp_doc_new_int(a, values[k]));
		char *text = tu_emit_one(doc);
		char want[64];
		snprintf(want, sizeof want, "i: %lld\n", (long long)values[k]);
		cr_expect_str_eq(text, want);
		tu_assert_int(tu_walk(tu_load_one(a, text), "i"), values[k], text);
		free(text);
		idp_arena_free(a);
	}
}

/* ---------------------------------------------------------------- JSON */

static const char json_doc[] = "{\"a\": [1, 2, {\"b\": null}], \"s\": \"x\", \"t\": true, "
			       "\"f\": 1.5, \"e\": {}, \"l\": []}";

/* The JSON text with at most one trailing newline removed. */
static char *emit_json(const idp_doc_node *n, int flags)
{
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_emit_json(n, flags, &out, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	if (out.len && out.ptr[out.len - 1] == '\n')
		out.ptr[--out.len] = '\0';
	return idp_buf_detach(&out);
}

Test(doc_emit, json_compact)
{
	idp_arena *a = idp_arena_new();
	char *got = emit_json(tu_load_one(a, json_doc), IDP_DOC_JSON_COMPACT);
	cr_assert_str_eq(got, "{\"a\":[1,2,{\"b\":null}],\"s\":\"x\",\"t\":true,\"f\":1.5,\"e\":{},\"l\":[]}");
	free(got);
	idp_arena_free(a);
}

Test(doc_emit, json_pretty_uses_4_space_indent)
{
	idp_arena *a = idp_arena_new();
	char *got = emit_json(tu_load_one(a, json_doc), IDP_DOC_JSON_PRETTY);
	cr_assert_str_eq(got, "{\n"
			      "    \"a\": [\n"
			      "        1,\n"
			      "        2,\n"
			      "        {\n"
			      "            \"b\": null\n"
			      "        }\n"
			      "    ],\n"
			      "    \"s\": \"x\",\n"
			      "    \"t\": true,\n"
			      "    \"f\": 1.5,\n"
			      "    \"e\": {},\n"
			      "    \"l\": []\n"
			      "}");
	free(got);
	idp_arena_free(a);
}

Test(doc_emit, json_scalar_typing_follows_the_document)
{
	idp_arena *a = idp_arena_new();
	char *got = emit_json(tu_load_one(a, "a: yes\nb: 'yes'\nc: 0755\nd: ~\ne: \"0755\"\n"),
			      IDP_DOC_JSON_COMPACT);
	cr_assert_str_eq(got, "{\"a\":true,\"b\":\"yes\",\"c\":493,\"d\":null,\"e\":\"0755\"}");
	free(got);
	idp_arena_free(a);
}

/* \u001F and \u001f are the same escape: lower-case the hex digits. */
static void lower_unicode_escapes(char *s)
{
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == '\\') {
			s++;
			continue;
		}
		if (s[0] == '\\' && s[1] == 'u')
			for (int k = 2; k < 6 && s[k]; k++)
				s[k] = (char)tolower((unsigned char)s[k]);
	}
}

Test(doc_emit, json_string_escaping)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = idp_doc_new_map(a);
	idp_doc_map_set(a, doc, "k\"ey", idp_doc_new_str(a, "q\"b\\s\nn\tt\rr\x01" "c\x1f" "d/\xc3\xa9\xe2\x9c\x93"));
	idp_doc_map_set(a, doc, "nul", idp_doc_new_strn(a, "a\0b", 3));
	char *got = emit_json(doc, IDP_DOC_JSON_COMPACT);
	lower_unicode_escapes(got);
	cr_assert_str_eq(got, "{\"k\\\"ey\":\"q\\\"b\\\\s\\nn\\tt\\rr\\u0001c\\u001fd/\xc3\xa9\xe2\x9c\x93\","
			      "\"nul\":\"a\\u0000b\"}");
	free(got);
	idp_arena_free(a);
}

Test(doc_emit, json_output_loads_back_equal)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "apiVersion: v1\n"
					   "kind: ConfigMap\n"
					   "data: {a: \"on\", b: \"line\\nbreak\", c: \"\\u00e9\"}\n"
					   "nums: [1, 2.5, -3, true, null, {}, []]\n"
					   "big: 9223372036854775807\n");
	for (int flags = 0; flags <= 1; flags++) {
		char *json = emit_json(doc, flags);
		idp_doc_node *back = tu_load_one(a, json);
		cr_assert(idp_doc_equal(doc, back), "JSON (flags %d) does not load back equal:\n%s", flags,
			  json);
		free(json);
	}
	idp_arena_free(a);
}

Test(doc_emit, json_rejects_non_finite_floats_at_their_position)
{
	const char *inputs[] = {"a: 1\nb: .inf\n", "a: 1\nb: -.inf\n", "a: 1\nb: .nan\n"};
	for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = tu_load_one(a, inputs[k]);
		idp_buf out = IDP_BUF_INIT;
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_emit_json(doc, IDP_DOC_JSON_PRETTY, &out, &err);
		cr_expect_eq(rc, IDP_EINPUT, "%s: rc %d", inputs[k], rc);
		cr_expect_eq(err.code, IDP_EINPUT);
		cr_expect_eq(err.line, 2, "%s: %s", inputs[k], tu_errstr(&err));
		cr_expect_eq(err.col, 4, "%s: %s", inputs[k], tu_errstr(&err));
		idp_err_clear(&err);
		idp_buf_free(&out);
		idp_arena_free(a);
	}
}

/* ---------------------------------------------------------------- schema validator */

static idp_doc_node *config_map(idp_arena *a, const char *name, const char *const *kv, size_t n)
{
	idp_doc_node *cm = idp_doc_new_map(a);
	idp_doc_map_set(a, cm, "apiVersion", idp_doc_new_str(a, "v1"));
	idp_doc_map_set(a, cm, "kind", idp_doc_new_str(a, "ConfigMap"));
	idp_doc_node *meta = idp_doc_new_map(a);
	idp_doc_map_set(a, meta, "name", idp_doc_new_str(a, name));
	idp_doc_map_set(a, cm, "metadata", meta);
	idp_doc_node *data = idp_doc_new_map(a);
	for (size_t k = 0; k + 1 < n; k += 2)
		idp_doc_map_set(a, data, kv[k], idp_doc_new_str(a, kv[k + 1]));
	idp_doc_map_set(a, cm, "data", data);
	return cm;
}

static int run_validator(const char *dir, char **out)
{
	char *argv[] = {(char *)VALIDATOR, (char *)dir, NULL};
	char *err_out = NULL;
	int rc = idp_fixture_run(argv, NULL, out, &err_out);
	free(err_out);
	return rc;
}

Test(doc_emit, emitted_configmaps_pass_the_schema_validator, .timeout = 120)
{
	if (access(VALIDATOR, X_OK) != 0)
		cr_skip_test("SKIP: %s absent", VALIDATOR);
	if (!idp_fixture_have_program("node"))
		cr_skip_test("SKIP: node absent from PATH (needed by validate-manifests)");

	idp_arena *a = idp_arena_new();
	const char *kv1[] = {"on", "on", "y", "y", "octal", "0755", "exp", "1e3", "null", "null",
			     "true", "true", "sexagesimal", "1:20"};
	const char *kv2[] = {"hex", "0x1F", "date", "2024-01-01", "tilde", "~", "yes", "yes",
			     "off", "off", "float", "1.5", "int", "12", "empty", ""};
	idp_doc_node *docs[] = {config_map(a, "quoting-1", kv1, 14), config_map(a, "quoting-2", kv2, 16)};
	char *text = tu_emit_yaml(docs, 2);

	char *dir = idp_fixture_tmpdir();
	cr_assert_not_null(dir);
	char *path = idp_fixture_write_file(dir, "good/configmaps.yaml", text, strlen(text));
	cr_assert_not_null(path);
	const char *bare = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bare\ndata:\n  a: on\n";
	char *bad_path = idp_fixture_write_file(dir, "bad/bare-on.yaml", bare, strlen(bare));
	cr_assert_not_null(bad_path);

	char gooddir[4096], baddir[4096];
	snprintf(gooddir, sizeof gooddir, "%s/good", dir);
	snprintf(baddir, sizeof baddir, "%s/bad", dir);

	/* the oracle must be able to fail: a bare `on` is a boolean */
	char *out = NULL;
	int rc = run_validator(baddir, &out);
	cr_assert_eq(rc, 1, "validator on a bare `on` exited %d, want 1:\n%s", rc, out ? out : "");
	free(out);

	out = NULL;
	rc = run_validator(gooddir, &out);
	cr_assert_eq(rc, 0, "validator rejected the emitted ConfigMaps (exit %d):\n%s\n--- emitted ---\n%s",
		     rc, out ? out : "", text);
	free(out);

	idp_fixture_rmtree(dir);
	free(bad_path);
	free(path);
	free(dir);
	free(text);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- explained */

/* Notes that name the leaf: its text for a scalar, {} or [] for an empty
 * map or list, so that a misplaced comment shows. */
static void note_leaf(void *ctx, const idp_doc_node *leaf, idp_buf *out)
{
	int *calls = ctx;
	++*calls;
	switch (leaf->kind) {
	case IDP_DOC_MAP: idp_buf_puts(out, "{}"); break;
	case IDP_DOC_SEQ: idp_buf_puts(out, "[]"); break;
	case IDP_DOC_STR:
		if (strchr(leaf->as.str.ptr, '\n'))
			idp_buf_puts(out, "block\nwith a newline");
		else
			idp_buf_printf(out, "=%s", leaf->as.str.ptr);
		break;
	case IDP_DOC_INT: idp_buf_printf(out, "=%lld", (long long)leaf->as.i); break;
	default: idp_buf_printf(out, "=%s", idp_doc_kind_name(leaf->kind)); break;
	}
}

static void expect_explained(const char *input, const char *want, int want_calls)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, input, &s, &err), 0, "%s", tu_errstr(&err));
	idp_buf out = IDP_BUF_INIT;
	int calls = 0;
	cr_assert_eq(idp_doc_emit_yaml_explained(s.docs, s.len, note_leaf, &calls, &out, &err), 0, "%s",
		     tu_errstr(&err));
	cr_assert_str_eq(idp_buf_cstr(&out), want, "\n--- got ---\n%s--- want ---\n%s", idp_buf_cstr(&out), want);
	cr_assert_eq(calls, want_calls);
	/* Comments change nothing a reader sees. */
	idp_doc_stream back = {0};
	cr_assert_eq(tu_load(a, idp_buf_cstr(&out), &back, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(back.len, s.len);
	for (size_t i = 0; i < s.len; i++)
		cr_assert(idp_doc_equal_typed(back.docs[i], s.docs[i]), "document %zu reads back differently", i);
	idp_buf_free(&out);
	idp_arena_free(a);
}

Test(doc_emit, explained_puts_one_comment_after_each_leaf)
{
	expect_explained("kind: Pod\n"
			 "metadata: {name: web, labels: {}}\n"
			 "spec:\n"
			 "  containers:\n"
			 "  - name: web\n"
			 "    args: [serve, \"80\"]\n"
			 "    ports: []\n"
			 "  matrix: [[1, 2], [3]]\n"
			 "  \"on\": yes\n"
			 "  note: null\n"
			 "---\n"
			 "just: one\n",
			 /* want */
			 "kind: Pod  # =Pod\n"
			 "metadata:\n"
			 "  name: web  # =web\n"
			 "  labels: {}  # {}\n"
			 "spec:\n"
			 "  containers:\n"
			 "  - name: web  # =web\n"
			 "    args:\n"
			 "    - serve  # =serve\n"
			 "    - \"80\"  # =80\n"
			 "    ports: []  # []\n"
			 "  matrix:\n"
			 "  - - 1  # =1\n"
			 "    - 2  # =2\n"
			 "  - - 3  # =3\n"
			 "  \"on\": true  # =bool\n"
			 "  note: null  # =null\n"
			 "---\n"
			 "just: one  # =one\n",
			 13);
}

Test(doc_emit, explained_block_scalars_carry_the_comment_on_their_header)
{
	/* The note's newline must not end the comment early. */
	expect_explained("script: |\n"
			 "  echo a # not a comment\n"
			 "  echo b\n"
			 "after: x\n",
			 "script: |  # block with a newline\n"
			 "  echo a # not a comment\n"
			 "  echo b\n"
			 "after: x  # =x\n",
			 2);
}
