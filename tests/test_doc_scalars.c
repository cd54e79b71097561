/*
 * The scalar typing table: how a plain (unquoted) scalar is typed, which
 * must match what kubectl does (YAML 1.1 as read by go-yaml v2 through
 * sigs.k8s.io/yaml), and which strings must be quoted on output so that no
 * YAML 1.1 reader retypes them.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"

typedef struct scalar_case {
	const char *text;
	idp_doc_kind kind;
	int64_t i; /* IDP_DOC_INT */
	double f;  /* IDP_DOC_FLOAT (INFINITY, -INFINITY, NAN allowed) */
	bool b;    /* IDP_DOC_BOOL */
} scalar_case;

#define SC_NULL(t) {t, IDP_DOC_NULL, 0, 0.0, false}
#define SC_BOOL(t, v) {t, IDP_DOC_BOOL, 0, 0.0, v}
#define SC_INT(t, v) {t, IDP_DOC_INT, v, 0.0, false}
#define SC_FLOAT(t, v) {t, IDP_DOC_FLOAT, 0, v, false}
#define SC_STR(t) {t, IDP_DOC_STR, 0, 0.0, false}

/* text -> kind and value, as go-yaml v2's resolve() types a plain scalar. */
static const scalar_case scalar_table[] = {
	/* booleans: the YAML 1.1 set go-yaml v2 accepts, in exactly these spellings */
	SC_BOOL("y", true), SC_BOOL("Y", true),
	SC_BOOL("yes", true), SC_BOOL("Yes", true), SC_BOOL("YES", true),
	SC_BOOL("true", true), SC_BOOL("True", true), SC_BOOL("TRUE", true),
	SC_BOOL("on", true), SC_BOOL("On", true), SC_BOOL("ON", true),
	SC_BOOL("n", false), SC_BOOL("N", false),
	SC_BOOL("no", false), SC_BOOL("No", false), SC_BOOL("NO", false),
	SC_BOOL("false", false), SC_BOOL("False", false), SC_BOOL("FALSE", false),
	SC_BOOL("off", false), SC_BOOL("Off", false), SC_BOOL("OFF", false),
	/* null */
	SC_NULL("null"), SC_NULL("Null"), SC_NULL("NULL"), SC_NULL("~"), SC_NULL(""),
	/* integers: strconv.ParseInt(text without '_', 0, 64) */
	SC_INT("0", 0),
	SC_INT("42", 42),
	SC_INT("-17", -17),
	SC_INT("+5", 5),
	SC_INT("0x1F", 31),
	SC_INT("0755", 493),
	SC_INT("0o17", 15),
	SC_INT("0b101", 5),
	SC_INT("1_000", 1000),
	SC_INT("-1_000", -1000),
	SC_INT("9223372036854775807", INT64_MAX),
	SC_INT("-9223372036854775808", INT64_MIN),
	/* floats: yamlStyleFloat then strconv.ParseFloat */
	SC_FLOAT("1.5", 1.5),
	SC_FLOAT("-0.25", -0.25),
	SC_FLOAT(".5", 0.5),
	SC_FLOAT("1e3", 1000.0),
	SC_FLOAT("1.0e+06", 1000000.0),
	SC_FLOAT("6.02e23", 6.02e23),
	SC_FLOAT(".inf", INFINITY), SC_FLOAT(".Inf", INFINITY), SC_FLOAT(".INF", INFINITY),
	SC_FLOAT("+.inf", INFINITY), SC_FLOAT("+.INF", INFINITY),
	SC_FLOAT("-.inf", -INFINITY), SC_FLOAT("-.Inf", -INFINITY),
	SC_FLOAT(".nan", NAN), SC_FLOAT(".NaN", NAN), SC_FLOAT(".NAN", NAN),
	/* strings: everything else */
	SC_STR("yES"), SC_STR("tRUE"), SC_STR("nULL"), SC_STR("oN"),
	SC_STR("0x"), SC_STR("1.2.3"), SC_STR("12abc"),
	SC_STR("1:20"),       /* go-yaml v2 does not resolve base 60 */
	SC_STR("2024-01-01"), /* a timestamp: kept as a string */
	SC_STR("hello"), SC_STR("nginx:alpine"), SC_STR("my-app"), SC_STR("v1"),
};

static const char *sc_describe(const scalar_case *c, char *buf, size_t cap)
{
	switch (c->kind) {
	case IDP_DOC_BOOL: snprintf(buf, cap, "bool %s", c->b ? "true" : "false"); break;
	case IDP_DOC_INT: snprintf(buf, cap, "int %lld", (long long)c->i); break;
	case IDP_DOC_FLOAT: snprintf(buf, cap, "float %g", c->f); break;
	case IDP_DOC_STR: snprintf(buf, cap, "string \"%s\"", c->text); break;
	default: snprintf(buf, cap, "%s", idp_doc_kind_name(c->kind)); break;
	}
	return buf;
}

/* Checks one node against one table row with cr_expect (so every wrong row
 * is reported); returns true when it matched. */
static bool sc_check(const idp_doc_node *n, const scalar_case *c, const char *how)
{
	char want[128];
	sc_describe(c, want, sizeof want);
	if (!n) {
		cr_expect_fail("%s \"%s\": no node, want %s", how, c->text, want);
		return false;
	}
	if (n->kind != c->kind) {
		cr_expect_fail("%s \"%s\": got kind %s, want %s", how, c->text,
			       idp_doc_kind_name(n->kind), want);
		return false;
	}
	switch (c->kind) {
	case IDP_DOC_BOOL:
		cr_expect_eq(n->as.b, c->b, "%s \"%s\": got %d, want %s", how, c->text, n->as.b, want);
		return n->as.b == c->b;
	case IDP_DOC_INT:
		cr_expect_eq(n->as.i, c->i, "%s \"%s\": got %lld, want %s", how, c->text,
			     (long long)n->as.i, want);
		return n->as.i == c->i;
	case IDP_DOC_FLOAT: {
		bool ok;
		if (isnan(c->f))
			ok = isnan(n->as.f);
		else
			ok = n->as.f == c->f;
		cr_expect(ok, "%s \"%s\": got %.17g, want %s", how, c->text, n->as.f, want);
		return ok;
	}
	case IDP_DOC_STR: {
		bool ok = n->as.str.len == strlen(c->text) &&
			  memcmp(n->as.str.ptr, c->text, n->as.str.len) == 0;
		cr_expect(ok, "%s \"%s\": got string \"%.*s\"", how, c->text, (int)n->as.str.len,
			  n->as.str.ptr);
		return ok;
	}
	default:
		return true;
	}
}

Test(doc_scalars, plain_scalars_resolve_like_kubectl)
{
	idp_arena *a = idp_arena_new();
	size_t bad = 0;
	for (size_t k = 0; k < sizeof scalar_table / sizeof scalar_table[0]; k++) {
		const scalar_case *c = &scalar_table[k];
		idp_pos pos = {"table.yaml", 7, 3};
		idp_doc_node *n = idp_doc_resolve_plain(a, c->text, strlen(c->text), pos);
		if (!sc_check(n, c, "resolve_plain"))
			bad++;
	}
	cr_assert_eq(bad, 0, "%zu rows of the scalar table resolve wrongly (see above)", bad);
	idp_arena_free(a);
}

Test(doc_scalars, resolve_plain_keeps_the_given_position)
{
	idp_arena *a = idp_arena_new();
	const char *texts[] = {"42", "yes", "hello", "~", "1.5"};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		idp_pos pos = {"pos.yaml", 12, 9};
		idp_doc_node *n = idp_doc_resolve_plain(a, texts[k], strlen(texts[k]), pos);
		cr_assert_not_null(n);
		cr_expect_eq(n->pos.line, 12, "\"%s\": line %u", texts[k], (unsigned)n->pos.line);
		cr_expect_eq(n->pos.col, 9, "\"%s\": col %u", texts[k], (unsigned)n->pos.col);
		cr_expect(n->pos.file && strcmp(n->pos.file, "pos.yaml") == 0, "\"%s\": file", texts[k]);
	}
	idp_arena_free(a);
}

Test(doc_scalars, resolve_plain_reads_only_len_bytes)
{
	idp_arena *a = idp_arena_new();
	idp_pos pos = {NULL, 0, 0};
	idp_doc_node *n = idp_doc_resolve_plain(a, "truex", 4, pos);
	cr_assert_not_null(n);
	cr_expect_eq(n->kind, IDP_DOC_BOOL, "\"truex\"[0..4) should be bool, got %s",
		     idp_doc_kind_name(n->kind));
	n = idp_doc_resolve_plain(a, "123456", 2, pos);
	tu_assert_int(n, 12, "\"123456\"[0..2)");
	n = idp_doc_resolve_plain(a, "abcdef", 3, pos);
	tu_assert_str(n, "abc", "\"abcdef\"[0..3)");
	n = idp_doc_resolve_plain(a, "nullx", 0, pos);
	cr_assert_not_null(n);
	cr_expect_eq(n->kind, IDP_DOC_NULL, "an empty plain scalar is null, got %s",
		     idp_doc_kind_name(n->kind));
	idp_arena_free(a);
}

/* The loader must apply the same table to every plain scalar it reads. */
Test(doc_scalars, loader_applies_the_table_to_plain_values)
{
	size_t bad = 0;
	for (size_t k = 0; k < sizeof scalar_table / sizeof scalar_table[0]; k++) {
		const scalar_case *c = &scalar_table[k];
		idp_arena *a = idp_arena_new();
		char text[256];
		snprintf(text, sizeof text, "v: %s\n", c->text);
		idp_doc_stream s = {0};
		idp_err err = IDP_ERR_INIT;
		int rc = tu_load(a, text, &s, &err);
		if (rc != 0 || s.len != 1) {
			cr_expect_fail("loading \"%s\" failed: %s", text, tu_errstr(&err));
			bad++;
		} else if (!sc_check(tu_walk(s.docs[0], "v"), c, "load")) {
			bad++;
		}
		idp_err_clear(&err);
		idp_arena_free(a);
	}
	cr_assert_eq(bad, 0, "%zu plain values load with the wrong type (see above)", bad);
}

Test(doc_scalars, quoted_and_block_scalars_stay_strings)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a,
					"a: 'yes'\n"
					"b: \"0755\"\n"
					"c: \"null\"\n"
					"d: 'on'\n"
					"e: \"1e3\"\n"
					"f: ''\n"
					"g: \"~\"\n"
					"h: '12'\n"
					"i: \"true\"\n"
					"j: |\n"
					"  true\n"
					"k: >-\n"
					"  42\n");
	tu_assert_str(tu_walk(doc, "a"), "yes", "a: 'yes'");
	tu_assert_str(tu_walk(doc, "b"), "0755", "b: \"0755\"");
	tu_assert_str(tu_walk(doc, "c"), "null", "c: \"null\"");
	tu_assert_str(tu_walk(doc, "d"), "on", "d: 'on'");
	tu_assert_str(tu_walk(doc, "e"), "1e3", "e: \"1e3\"");
	tu_assert_str(tu_walk(doc, "f"), "", "f: ''");
	tu_assert_str(tu_walk(doc, "g"), "~", "g: \"~\"");
	tu_assert_str(tu_walk(doc, "h"), "12", "h: '12'");
	tu_assert_str(tu_walk(doc, "i"), "true", "i: \"true\"");
	tu_assert_str(tu_walk(doc, "j"), "true\n", "j: |");
	tu_assert_str(tu_walk(doc, "k"), "42", "k: >-");
	idp_arena_free(a);
}

Test(doc_scalars, quoted_scalars_in_lists_and_flow_stay_strings)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "l: ['on', \"off\", on, 0755, \"0755\"]\n");
	tu_assert_str(tu_walk(doc, "l/0"), "on", "l[0]");
	tu_assert_str(tu_walk(doc, "l/1"), "off", "l[1]");
	idp_doc_node *n = tu_walk(doc, "l/2");
	cr_assert_not_null(n);
	cr_expect_eq(n->kind, IDP_DOC_BOOL, "plain on in a flow list: %s", idp_doc_kind_name(n->kind));
	tu_assert_int(tu_walk(doc, "l/3"), 493, "l[3] plain 0755");
	tu_assert_str(tu_walk(doc, "l/4"), "0755", "l[4]");
	idp_arena_free(a);
}

Test(doc_scalars, quote_escapes_decode)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a,
					"a: 'it''s'\n"
					"b: 'x''''y'\n"
					"c: \"tab\\there\"\n"
					"d: \"\\u00e9\\x41\"\n"
					"e: \"x\\0y\"\n");
	tu_assert_str(tu_walk(doc, "a"), "it's", "'it''s'");
	tu_assert_str(tu_walk(doc, "b"), "x''y", "'x''''y'");
	tu_assert_str(tu_walk(doc, "c"), "tab\there", "\"tab\\there\"");
	tu_assert_str(tu_walk(doc, "d"), "\xc3\xa9" "A", "\"\\u00e9\\x41\"");
	idp_doc_node *e = tu_walk(doc, "e");
	cr_assert_not_null(e);
	cr_assert_eq(e->kind, IDP_DOC_STR);
	cr_assert_eq(e->as.str.len, 3, "\"x\\0y\" has 3 bytes, got %zu", e->as.str.len);
	cr_assert_eq(memcmp(e->as.str.ptr, "x\0y", 3), 0);
	idp_arena_free(a);
}

/* Plain keys are typed like values, then turned back into strings the way
 * sigs.k8s.io/yaml does for JSON: `y:` is the key "true", `0x10:` is "16". */
Test(doc_scalars, plain_keys_become_the_string_of_their_typed_value)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "y: 1\n"
					   "n: 2\n"
					   "0x10: 3\n"
					   "0755: 4\n"
					   "'on': 5\n"
					   "\"0x1F\": 6\n"
					   "plain: 7\n");
	char keys[256];
	tu_keys(doc, keys, sizeof keys);
	cr_assert_str_eq(keys, "true,false,16,493,on,0x1F,plain");
	idp_arena_free(a);

	/* two spellings of one typed key are a duplicate */
	a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(tu_load(a, "yes: 1\nOn: 2\n", &s, &err), IDP_EINPUT);
	cr_assert(tu_contains(err.msg, "duplicate key"), "%s", tu_errstr(&err));
	cr_assert_eq(err.line, 2);
	idp_err_clear(&err);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- quoting */

typedef struct quote_case {
	const char *text;
	bool quote;
} quote_case;

static const quote_case quote_table[] = {
	/* retyped by go-yaml v2 or another YAML 1.1 reader: must be quoted */
	{"on", true}, {"y", true}, {"Y", true}, {"yes", true}, {"NO", true}, {"off", true},
	{"n", true}, {"true", true}, {"False", true}, {"null", true}, {"~", true}, {"", true},
	{"0755", true}, {"0x1F", true}, {"0o17", true}, {"0b101", true}, {"1_000", true},
	{"1e3", true}, {"1.5", true}, {".5", true}, {"12", true}, {"-3", true}, {"+5", true},
	{".inf", true}, {"-.inf", true}, {".nan", true},
	{"1:20", true},        /* YAML 1.1 base 60 (PyYAML reads an int) */
	{"190:20:30", true},   /* idem */
	{"2024-01-01", true},  /* YAML 1.1 timestamp */
	{"2001-12-14T21:59:43Z", true},
	{"<<", true},          /* merge key */
	{"=", true},           /* YAML 1.1 value key */
	/* plain strings no reader retypes: no quotes */
	{"hello", false}, {"nginx:alpine", false}, {"my-app", false}, {"1.2.3", false},
	{"v1", false}, {"Deployment", false}, {"core.oam.dev/v1beta1", false},
	{"app.kubernetes.io/name", false}, {"web-1", false},
};

Test(doc_scalars, strings_that_need_quotes)
{
	size_t bad = 0;
	for (size_t k = 0; k < sizeof quote_table / sizeof quote_table[0]; k++) {
		const quote_case *c = &quote_table[k];
		bool got = idp_doc_str_needs_quotes(c->text, strlen(c->text));
		cr_expect_eq(got, c->quote, "needs_quotes(\"%s\") = %s, want %s", c->text,
			     got ? "true" : "false", c->quote ? "true" : "false");
		if (got != c->quote)
			bad++;
	}
	cr_assert_eq(bad, 0, "%zu rows of the quoting table are wrong (see above)", bad);
}

/* Anything the resolve table does not type as a string must be quoted when
 * it is a string, or it comes back as another type. */
Test(doc_scalars, every_non_string_plain_scalar_needs_quotes)
{
	size_t bad = 0;
	for (size_t k = 0; k < sizeof scalar_table / sizeof scalar_table[0]; k++) {
		const scalar_case *c = &scalar_table[k];
		if (c->kind == IDP_DOC_STR)
			continue;
		if (!idp_doc_str_needs_quotes(c->text, strlen(c->text))) {
			cr_expect_fail("\"%s\" resolves to %s but needs_quotes says false", c->text,
				       idp_doc_kind_name(c->kind));
			bad++;
		}
	}
	cr_assert_eq(bad, 0);
}

Test(doc_scalars, needs_quotes_reads_only_len_bytes)
{
	cr_expect(idp_doc_str_needs_quotes("onward", 2), "\"onward\"[0..2) is \"on\"");
	cr_expect(!idp_doc_str_needs_quotes("hello", 5));
	cr_expect(idp_doc_str_needs_quotes("hello", 0), "the empty string needs quotes");
	cr_expect(idp_doc_str_needs_quotes("12ab", 2), "\"12ab\"[0..2) is \"12\"");
}
