/* The cue room through its public API: compile, fill, export. The
 * conformance corpus (tests/cue/) covers the dialect construct by
 * construct through the CLI; these tests cover what only the API shows:
 * filling documents in, and where errors point. */
#include <criterion/criterion.h>
#include <string.h>

#include "cue/cue.h"

typedef struct run {
	idp_arena *a;
	idp_err err;
	idp_buf json;
	int rc;
} run;

/* Compiles src, fills yaml (if any) at path, exports expr as compact JSON. */
static void eval(run *r, const char *src, const char *path, const char *yaml, const char *expr)
{
	r->a = idp_arena_new();
	r->err = (idp_err)IDP_ERR_INIT;
	r->json = (idp_buf)IDP_BUF_INIT;
	idp_cue_program *p;
	r->rc = idp_cue_compile(r->a, "t.cue", src, strlen(src), &p, &r->err);
	if (r->rc == 0 && yaml) {
		idp_doc_stream s;
		r->rc = idp_doc_load(r->a, "app.yaml", yaml, strlen(yaml), NULL, &s, &r->err);
		if (r->rc == 0)
			r->rc = idp_cue_fill(p, path, s.docs[0], &r->err);
	}
	idp_doc_node *out;
	if (r->rc == 0)
		r->rc = idp_cue_export(p, expr, &out, &r->err);
	if (r->rc == 0)
		r->rc = idp_doc_emit_json(out, IDP_DOC_JSON_COMPACT, &r->json, &r->err);
}

static void done(run *r)
{
	idp_err_clear(&r->err);
	idp_buf_free(&r->json);
	idp_arena_free(r->a);
}

static void expect_json(const char *src, const char *path, const char *yaml, const char *expr, const char *want)
{
	run r;
	eval(&r, src, path, yaml, expr);
	cr_expect_eq(r.rc, 0, "%s\n-> error %s:%u:%u: %s", src, r.err.file ? r.err.file : "", r.err.line, r.err.col,
		     r.err.msg ? r.err.msg : "");
	if (r.rc == 0)
		cr_expect_str_eq(idp_buf_cstr(&r.json), want, "%s", src);
	done(&r);
}

/* want: IDP_EINPUT for a conflict, IDP_EINCOMPLETE for a value nothing set. */
static void expect_error_code(int want, const char *src, const char *path, const char *yaml, const char *expr,
			      const char *file, unsigned line, unsigned col, const char *word);

#define expect_error(...) expect_error_code(IDP_EINPUT, __VA_ARGS__)

static void expect_error_code(int want, const char *src, const char *path, const char *yaml, const char *expr,
			      const char *file, unsigned line, unsigned col, const char *word)
{
	run r;
	eval(&r, src, path, yaml, expr);
	cr_expect_eq(r.rc, want, "%s: want error %d, got %d (%s)", src, want, r.rc, idp_buf_cstr(&r.json));
	if (r.rc == want) {
		cr_expect_str_eq(r.err.file ? r.err.file : "", file, "%s: %s", src, r.err.msg);
		cr_expect_eq(r.err.line, line, "%s: line %u, want %u (%s)", src, r.err.line, line, r.err.msg);
		if (col)
			cr_expect_eq(r.err.col, col, "%s: col %u, want %u (%s)", src, r.err.col, col, r.err.msg);
		cr_expect(strstr(r.err.msg, word) != NULL, "%s: message \"%s\" lacks \"%s\"", src, r.err.msg, word);
	}
	done(&r);
}

Test(cue_eval, fields_references_and_defaults)
{
	expect_json("a: 1\nb: a + 1\nc: *\"x\" | string\nd: {e: b * 2}\n", "", NULL, NULL,
		    "{\"a\":1,\"b\":2,\"c\":\"x\",\"d\":{\"e\":4}}");
}

Test(cue_eval, hidden_definitions_and_optional_fields_are_not_exported)
{
	expect_json("_h: 1\n#D: {x: int}\no?: 2\nv: _h + 1\n", "", NULL, NULL, "{\"v\":2}");
}

Test(cue_eval, a_filled_document_unifies_with_the_template)
{
	const char *tpl = "parameter: {\n"
			  "\timage: string\n"
			  "\tport: *80 | int\n"
			  "\tcmd?: [...string]\n"
			  "}\n"
			  "output: {\n"
			  "\timage: parameter.image\n"
			  "\tports: [{containerPort: parameter.port}]\n"
			  "\tif parameter.cmd != _|_ {\n"
			  "\t\tcommand: parameter.cmd\n"
			  "\t}\n"
			  "}\n";
	expect_json(tpl, "parameter", "image: nginx\n", "output",
		    "{\"image\":\"nginx\",\"ports\":[{\"containerPort\":80}]}");
	expect_json(tpl, "parameter", "image: nginx\nport: 8080\ncmd: [serve]\n", "output",
		    "{\"image\":\"nginx\",\"ports\":[{\"containerPort\":8080}],\"command\":[\"serve\"]}");
}

Test(cue_eval, a_conflict_with_a_filled_document_points_into_the_document)
{
	const char *tpl = "parameter: {\n\timage: string\n\tport: int & >=1 & <=65535\n}\nout: parameter.port\n";
	expect_error(tpl, "parameter", "image: nginx\nport: \"eighty\"\n", "out", "app.yaml", 2, 7, "conflicting");
	expect_error(tpl, "parameter", "image: nginx\nport: 70000\n", "out", "app.yaml", 2, 7, "out of bound");
}

Test(cue_eval, a_missing_required_value_is_incomplete_at_its_declaration)
{
	expect_error_code(IDP_EINCOMPLETE, "parameter: {image: string}\nout: {image: parameter.image}\n", "", NULL,
			  "out", "t.cue", 1, 20, "incomplete");
}

Test(cue_eval, definitions_close_what_they_are_unified_with)
{
	expect_json("#A: {a: int, b: a + 1}\nx: #A & {a: 1}\n", "", NULL, "x", "{\"a\":1,\"b\":2}");
	expect_error("#A: {a: int}\nx: #A & {a: 1, c: 2}\n", "", NULL, "x", "t.cue", 2, 16, "field not allowed");
}

Test(cue_eval, comprehensions_over_structs_and_lists)
{
	expect_json("m: {a: 1, b: 2}\nl: [for k, v in m if v > 1 {k}]\ns: {for k, v in m {\"x-\\(k)\": v * 10}}\n", "",
		    NULL, NULL, "{\"m\":{\"a\":1,\"b\":2},\"l\":[\"b\"],\"s\":{\"x-a\":10,\"x-b\":20}}");
}

Test(cue_eval, builtins_of_the_dialect)
{
	expect_json("import (\n\t\"strings\"\n\t\"strconv\"\n)\n"
		    "a: strings.ToUpper(\"ab\")\nb: strings.Join([\"x\", \"y\"], \"-\")\nc: strconv.FormatInt(42, 10)\n"
		    "d: len([1, 2, 3])\ne: strings.HasPrefix(\"abc\", \"ab\")\n",
		    "", NULL, NULL, "{\"a\":\"AB\",\"b\":\"x-y\",\"c\":\"42\",\"d\":3,\"e\":true}");
}

Test(cue_eval, an_unknown_import_is_an_unsupported_construct)
{
	expect_error("import \"crypto/sha256\"\na: 1\n", "", NULL, NULL, "t.cue", 1, 0, "unsupported CUE construct");
}

Test(cue_eval, runaway_evaluation_is_capped)
{
	/* A self-feeding struct must stop with an error, not hang or crash. */
	run r;
	eval(&r, "a: {b: a}\n", "", NULL, NULL);
	cr_expect_neq(r.rc, 0, "a structural cycle must fail");
	done(&r);
}
