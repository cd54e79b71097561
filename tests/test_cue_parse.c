/*
 * The CUE lexer and parser (src/cue/lex.c, parse.c): every construct of the
 * dialect printed back as an S-expression-like tree, positions, doc
 * comments, automatic comma insertion, every error with its line:column,
 * the nesting cap, a mutation loop that must never crash, and the time to
 * parse 100 KB.
 *
 * The printer reads the AST structs directly. Its notation:
 *   {a: 1, b?: int, c!: string, "k-x": v, (dyn e): v, [pattern]: v}   structs and fields
 *   (embed x) (let x e) (comp (for k v e) (if e) (let x e) {body}) ...T   other declarations
 *   (import name "path") (package name)   header declarations
 *   (op x) (op x y) (. x sel) (idx x i) (call f args...)   expressions
 *   "text" b"bytes" (float 1.5) (interp "a" x "b") [1, ...T]   literals
 *   a field's attributes follow its value: a: int @go(A)
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cue/ast.h"
#include "testutil.h"

/* ---------------------------------------------------------------- printer */

static void pr_node(idp_buf *b, const cue_node *n);

static void pr_str(idp_buf *b, const char *s, size_t len, bool bytes)
{
	idp_buf_puts(b, bytes ? "b\"" : "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': idp_buf_puts(b, "\\\""); break;
		case '\\': idp_buf_puts(b, "\\\\"); break;
		case '\n': idp_buf_puts(b, "\\n"); break;
		case '\t': idp_buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7F || (bytes && c >= 0x80))
				idp_buf_printf(b, "\\x%02X", c);
			else
				idp_buf_putc(b, (char)c);
		}
	}
	idp_buf_putc(b, '"');
}

static void pr_clauses(idp_buf *b, const cue_clause *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (c[i].kind) {
		case CUE_CLAUSE_FOR:
			idp_buf_printf(b, "(for %s%s%s ", c[i].key ? c[i].key : "", c[i].key ? " " : "", c[i].value);
			break;
		case CUE_CLAUSE_IF: idp_buf_puts(b, "(if "); break;
		case CUE_CLAUSE_LET: idp_buf_printf(b, "(let %s ", c[i].value); break;
		}
		pr_node(b, c[i].expr);
		idp_buf_puts(b, ") ");
	}
}

static void pr_label(idp_buf *b, const cue_decl *d)
{
	switch (d->label_kind) {
	case CUE_LABEL_IDENT: idp_buf_puts(b, d->name); break;
	case CUE_LABEL_STRING: pr_str(b, d->name, strlen(d->name), false); break;
	case CUE_LABEL_INTERP: pr_node(b, d->label_expr); break;
	case CUE_LABEL_DYNAMIC:
		idp_buf_puts(b, "(dyn ");
		pr_node(b, d->label_expr);
		idp_buf_putc(b, ')');
		break;
	case CUE_LABEL_PATTERN:
		idp_buf_putc(b, '[');
		pr_node(b, d->label_expr);
		idp_buf_putc(b, ']');
		break;
	}
	idp_buf_puts(b, d->optional ? "?" : d->required ? "!" : "");
}

static void pr_decl(idp_buf *b, const cue_decl *d)
{
	switch (d->kind) {
	case CUE_DECL_FIELD:
		pr_label(b, d);
		idp_buf_puts(b, ": ");
		pr_node(b, d->value);
		if (d->attrs)
			idp_buf_printf(b, " @%s", d->attrs);
		break;
	case CUE_DECL_EMBED:
		idp_buf_puts(b, "(embed ");
		pr_node(b, d->value);
		idp_buf_putc(b, ')');
		break;
	case CUE_DECL_LET:
		idp_buf_printf(b, "(let %s ", d->name);
		pr_node(b, d->value);
		idp_buf_putc(b, ')');
		break;
	case CUE_DECL_COMP:
		idp_buf_puts(b, "(comp ");
		pr_clauses(b, d->clauses, d->n_clauses);
		pr_node(b, d->value);
		idp_buf_putc(b, ')');
		break;
	case CUE_DECL_ELLIPSIS:
		idp_buf_puts(b, "...");
		if (d->value)
			pr_node(b, d->value);
		break;
	case CUE_DECL_IMPORT:
		idp_buf_printf(b, "(import %s ", d->name);
		pr_str(b, d->str, strlen(d->str), false);
		idp_buf_putc(b, ')');
		break;
	case CUE_DECL_PACKAGE: idp_buf_printf(b, "(package %s)", d->name); break;
	}
}

static void pr_nodes(idp_buf *b, cue_node *const *v, size_t n, const char *sep)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			idp_buf_puts(b, sep);
		pr_node(b, v[i]);
	}
}

static void pr_list(idp_buf *b, const cue_node *n)
{
	idp_buf_putc(b, '[');
	pr_nodes(b, n->as.list.elems, n->as.list.n, ", ");
	if (n->as.list.open) {
		idp_buf_puts(b, n->as.list.n ? ", ..." : "...");
		if (n->as.list.tail)
			pr_node(b, n->as.list.tail);
	}
	idp_buf_putc(b, ']');
}

static void pr_node(idp_buf *b, const cue_node *n)
{
	if (!n) {
		idp_buf_puts(b, "<NULL>");
		return;
	}
	switch (n->kind) {
	case CUE_N_TOP: idp_buf_puts(b, "_"); break;
	case CUE_N_BOTTOM: idp_buf_puts(b, "_|_"); break;
	case CUE_N_NULL: idp_buf_puts(b, "null"); break;
	case CUE_N_BOOL: idp_buf_puts(b, n->as.b ? "true" : "false"); break;
	case CUE_N_INT: idp_buf_printf(b, "%lld", (long long)n->as.i); break;
	case CUE_N_FLOAT: idp_buf_printf(b, "(float %g)", n->as.f); break;
	case CUE_N_STRING: pr_str(b, n->as.str.ptr, n->as.str.len, n->as.str.bytes); break;
	case CUE_N_INTERP:
		idp_buf_puts(b, "(interp ");
		pr_nodes(b, n->as.interp.parts, n->as.interp.n, " ");
		idp_buf_putc(b, ')');
		break;
	case CUE_N_IDENT: idp_buf_puts(b, n->as.ident); break;
	case CUE_N_STRUCT:
		idp_buf_putc(b, '{');
		for (size_t i = 0; i < n->as.strct.n; i++) {
			if (i)
				idp_buf_puts(b, ", ");
			pr_decl(b, &n->as.strct.decls[i]);
		}
		idp_buf_putc(b, '}');
		break;
	case CUE_N_LIST: pr_list(b, n); break;
	case CUE_N_UNARY:
		idp_buf_printf(b, "(%s ", cue_op_text(n->as.unary.op));
		pr_node(b, n->as.unary.x);
		idp_buf_putc(b, ')');
		break;
	case CUE_N_BINARY:
		idp_buf_printf(b, "(%s ", cue_op_text(n->as.binary.op));
		pr_node(b, n->as.binary.x);
		idp_buf_putc(b, ' ');
		pr_node(b, n->as.binary.y);
		idp_buf_putc(b, ')');
		break;
	case CUE_N_SELECTOR:
		idp_buf_puts(b, "(. ");
		pr_node(b, n->as.sel.x);
		idp_buf_printf(b, " %s)", n->as.sel.sel);
		break;
	case CUE_N_INDEX:
		idp_buf_puts(b, "(idx ");
		pr_node(b, n->as.index.x);
		idp_buf_putc(b, ' ');
		pr_node(b, n->as.index.index);
		idp_buf_putc(b, ')');
		break;
	case CUE_N_CALL:
		idp_buf_puts(b, "(call ");
		pr_node(b, n->as.call.fn);
		for (size_t i = 0; i < n->as.call.n; i++) {
			idp_buf_putc(b, ' ');
			pr_node(b, n->as.call.args[i]);
		}
		idp_buf_putc(b, ')');
		break;
	case CUE_N_LISTCOMP:
		idp_buf_puts(b, "(comp ");
		pr_clauses(b, n->as.comp.clauses, n->as.comp.n_clauses);
		pr_node(b, n->as.comp.body);
		idp_buf_putc(b, ')');
		break;
	}
}

/* ---------------------------------------------------------------- helpers */

/* Parses src (n bytes) as "test.cue". */
static int parse_n(idp_arena *a, const char *src, size_t n, cue_file *out, idp_err *err)
{
	return cue_parse(a, "test.cue", src, n, out, err);
}

/* Parses src, which must succeed, and returns its root. */
static cue_node *parse_ok(idp_arena *a, const char *src)
{
	cue_file f;
	idp_err err = IDP_ERR_INIT;
	if (parse_n(a, src, strlen(src), &f, &err) != 0) {
		char why[2048];
		snprintf(why, sizeof why, "%s", tu_errstr(&err));
		idp_err_clear(&err);
		cr_assert_fail("parse failed: %s\n--- input ---\n%s", why, src);
	}
	cr_assert_not_null(f.root);
	cr_assert_eq(f.root->kind, CUE_N_STRUCT);
	cr_assert_str_eq(f.name, "test.cue");
	return f.root;
}

typedef struct tree_case {
	const char *src;
	const char *want; /* the printed root struct */
} tree_case;

static void expect_trees(const tree_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		idp_arena *a = idp_arena_new();
		cue_file f;
		idp_err err = IDP_ERR_INIT;
		int rc = parse_n(a, cases[i].src, strlen(cases[i].src), &f, &err);
		cr_expect_eq(rc, 0, "case %zu: %s\n--- input ---\n%s", i, tu_errstr(&err), cases[i].src);
		if (rc == 0) {
			idp_buf b = IDP_BUF_INIT;
			pr_node(&b, f.root);
			cr_expect_str_eq(idp_buf_cstr(&b), cases[i].want,
					 "case %zu\n--- input ---\n%s\n--- got ---\n%s", i, cases[i].src,
					 idp_buf_cstr(&b));
			idp_buf_free(&b);
		}
		idp_err_clear(&err);
		idp_arena_free(a);
	}
}

#define EXPECT_TREES(cases) expect_trees(cases, sizeof(cases) / sizeof(cases[0]))

typedef struct error_case {
	const char *src;
	uint32_t line, col;
	const char *words; /* must appear in the message */
	size_t len;        /* bytes of src, 0 for strlen */
} error_case;

static void expect_errors(const error_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const error_case *c = &cases[i];
		idp_arena *a = idp_arena_new();
		cue_file f;
		idp_err err = IDP_ERR_INIT;
		int rc = parse_n(a, c->src, c->len ? c->len : strlen(c->src), &f, &err);
		cr_expect_eq(rc, IDP_EINPUT, "case %zu: want an error, got rc %d\n--- input ---\n%s", i, rc, c->src);
		if (rc == IDP_EINPUT) {
			cr_expect_eq(err.code, IDP_EINPUT);
			cr_expect(err.file && strcmp(err.file, "test.cue") == 0, "case %zu: file %s", i,
				  tu_errstr(&err));
			cr_expect(err.line == c->line && err.col == c->col,
				  "case %zu: at %u:%u, want %u:%u: %s\n--- input ---\n%s", i, (unsigned)err.line,
				  (unsigned)err.col, (unsigned)c->line, (unsigned)c->col, tu_errstr(&err), c->src);
			cr_expect(tu_contains(err.msg, c->words),
				  "case %zu: message lacks \"%s\": %s\n--- input ---\n%s", i, c->words,
				  tu_errstr(&err), c->src);
		}
		idp_err_clear(&err);
		idp_arena_free(a);
	}
}

#define EXPECT_ERRORS(cases) expect_errors(cases, sizeof(cases) / sizeof(cases[0]))

/* The declaration of struct st labelled name (an identifier or string label). */
static const cue_decl *field(const cue_node *st, const char *name)
{
	cr_assert_not_null(st);
	cr_assert_eq(st->kind, CUE_N_STRUCT, "not a struct looking for %s", name);
	for (size_t i = 0; i < st->as.strct.n; i++) {
		const cue_decl *d = &st->as.strct.decls[i];
		bool named = d->label_kind == CUE_LABEL_IDENT || d->label_kind == CUE_LABEL_STRING;
		if (d->kind == CUE_DECL_FIELD && named && strcmp(d->name, name) == 0)
			return d;
	}
	cr_assert_fail("no field %s", name);
	return NULL;
}

static void expect_pos(idp_pos pos, uint32_t line, uint32_t col, const char *what)
{
	cr_expect(pos.line == line && pos.col == col, "%s: at %u:%u, want %u:%u", what, (unsigned)pos.line,
		  (unsigned)pos.col, (unsigned)line, (unsigned)col);
	cr_expect(pos.file && strcmp(pos.file, "test.cue") == 0, "%s: file %s", what, pos.file ? pos.file : "(null)");
}

/* The KubeVela webservice template's shape (abridged). */
static const char webservice[] =
	"import (\n"                                                                         /* 1 */
	"\t\"strconv\"\n"                                                                    /* 2 */
	"\t\"strings\"\n"                                                                    /* 3 */
	")\n"                                                                                /* 4 */
	"output: {\n"                                                                        /* 5 */
	"\tapiVersion: \"apps/v1\"\n"                                                        /* 6 */
	"\tkind:       \"Deployment\"\n"                                                     /* 7 */
	"\tspec: {\n"                                                                        /* 8 */
	"\t\tselector: matchLabels: \"app.oam.dev/component\": context.name\n"               /* 9 */
	"\t\ttemplate: spec: containers: [{\n"                                               /* 10 */
	"\t\t\tname:  context.name\n"                                                        /* 11 */
	"\t\t\timage: parameter.image\n"                                                     /* 12 */
	"\t\t\tif parameter[\"cmd\"] != _|_ {\n"                                             /* 13 */
	"\t\t\t\tcommand: parameter.cmd\n"                                                   /* 14 */
	"\t\t\t}\n"                                                                          /* 15 */
	"\t\t\tports: [ for v in parameter.ports { containerPort: v.port, name: \"port-\" + "
	"strconv.FormatInt(v.port, 10) } ]\n"                                                /* 16 */
	"\t\t}]\n"                                                                           /* 17 */
	"\t}\n"                                                                              /* 18 */
	"}\n"                                                                                /* 19 */
	"parameter: {\n"                                                                     /* 20 */
	"\t// +usage=Which image would you like to use for your service\n"                   /* 21 */
	"\t// +short=i\n"                                                                    /* 22 */
	"\timage: string\n"                                                                  /* 23 */
	"\tcmd?: [...string]\n"                                                              /* 24 */
	"\tports?: [...{port: int & >=1 & <=65535, protocol: *\"TCP\" | \"UDP\"}]\n"         /* 25 */
	"\tlabels?: [string]: string\n"                                                      /* 26 */
	"}\n";                                                                               /* 27 */

/* ---------------------------------------------------------------- trees */

Test(cue_parse, webservice_template_parses_to_the_expected_tree)
{
	static const tree_case cases[] = {{
		webservice,
		"{(import strconv \"strconv\"), (import strings \"strings\"), "
		"output: {apiVersion: \"apps/v1\", kind: \"Deployment\", "
		"spec: {selector: {matchLabels: {\"app.oam.dev/component\": (. context name)}}, "
		"template: {spec: {containers: [{name: (. context name), image: (. parameter image), "
		"(comp (if (!= (idx parameter \"cmd\") _|_)) {command: (. parameter cmd)}), "
		"ports: [(comp (for v (. parameter ports)) {containerPort: (. v port), "
		"name: (+ \"port-\" (call (. strconv FormatInt) (. v port) 10))})]}]}}}}, "
		"parameter: {image: string, cmd?: [...string], "
		"ports?: [...{port: (& (& int (>= 1)) (<= 65535)), protocol: (| (* \"TCP\") \"UDP\")}], "
		"labels?: {[string]: string}}}",
	}};
	EXPECT_TREES(cases);
}

Test(cue_parse, numbers_in_every_base_and_float_form)
{
	static const tree_case cases[] = {
		{"a: 0, b: 42, c: 1_000_000", "{a: 0, b: 42, c: 1000000}"},
		{"a: 0x2A, b: 0X2a, c: 0o17, d: 0b101, e: 0xFF_FF", "{a: 42, b: 42, c: 15, d: 5, e: 65535}"},
		{"a: 1.5, b: .5, c: 1e3, d: 1.5e-3, e: 2E+2, f: 1., g: 0.25, h: 01.5",
		 "{a: (float 1.5), b: (float 0.5), c: (float 1000), d: (float 0.0015), e: (float 200), "
		 "f: (float 1), g: (float 0.25), h: (float 1.5)}"},
		{"a: 9223372036854775807", "{a: 9223372036854775807}"},
		/* the one literal whose magnitude is past int64: the minus is folded in */
		{"a: -9223372036854775808", "{a: -9223372036854775808}"},
		{"a: -1, b: +2, c: - -3", "{a: (- 1), b: (+ 2), c: (- (- 3))}"},
		{"a: 1e-400", "{a: (float 0)}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, keywords_top_bottom_and_identifiers)
{
	static const tree_case cases[] = {
		{"a: true, b: false, c: null, d: _, e: _|_", "{a: true, b: false, c: null, d: _, e: _|_}"},
		{"a: int, b: string, c: #Def, d: _hidden, e: _#hid, f: $x, g: bytes, h: number, i: x1_y$",
		 "{a: int, b: string, c: #Def, d: _hidden, e: _#hid, f: $x, g: bytes, h: number, i: x1_y$}"},
		{"#Def: {a: int}\n_h: 1\n_#x: 2", "{#Def: {a: int}, _h: 1, _#x: 2}"},
		{"naïve: \"ü\"", "{naïve: \"ü\"}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, double_quoted_strings_decode_every_escape)
{
	static const tree_case cases[] = {
		{"a: \"plain\", b: \"\"", "{a: \"plain\", b: \"\"}"},
		{"a: \"x\\ty\\n\\\"q\\\" \\\\ \\/\"", "{a: \"x\\ty\\n\\\"q\\\" \\\\ /\"}"},
		{"a: \"\\a\\b\\f\\r\\v\"", "{a: \"\\x07\\x08\\x0C\\x0D\\x0B\"}"},
		{"a: \"\\u00e9\\u00E9 \\U0001F600\"", "{a: \"éé 😀\"}"},
		/* JSON's surrogate pairs combine into one character */
		{"a: \"\\uD83D\\uDE00\"", "{a: \"😀\"}"},
		{"a: \"\\u0000x\"", "{a: \"\\x00x\"}"},
		{"a: \"it's\"", "{a: \"it's\"}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, bytes_and_raw_strings)
{
	static const tree_case cases[] = {
		{"a: 'ab\\x00\\101\\''", "{a: b\"ab\\x00A'\"}"},
		{"a: '', b: 'é'", "{a: b\"\", b: b\"\\xC3\\xA9\"}"},
		{"a: '\\xff\\u00e9'", "{a: b\"\\xFF\\xC3\\xA9\"}"},
		/* in a raw string only \# escapes; a lone \ is itself */
		{"a: #\"x\\ny\"\\#n\"#", "{a: \"x\\\\ny\\\"\\n\"}"},
		{"a: ##\"a\"#b\"##", "{a: \"a\\\"#b\"}"},
		{"a: #\"\"#, b: #\"\\(x)\"#", "{a: \"\", b: \"\\\\(x)\"}"},
		{"a: #'raw\\x'#", "{a: b\"raw\\\\x\"}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, multi_line_strings_strip_the_closing_indentation)
{
	static const tree_case cases[] = {
		{"a: \"\"\"\n    hello\n      world\n\n    end\n    \"\"\"", "{a: \"hello\\n  world\\n\\nend\"}"},
		{"a: \"\"\"\n\tx\n\t\"\"\"\nb: 1", "{a: \"x\", b: 1}"},
		{"a: \"\"\"\n    \"\"\"", "{a: \"\"}"},
		{"a: \"\"\"\n\"\"\"", "{a: \"\"}"},
		{"a: \"\"\"\nno indent\n\"\"\"", "{a: \"no indent\"}"},
		/* a quote inside the text, and """ that does not start its line */
		{"a: \"\"\"\n  say \"hi\" \"\"\" ok\n  \"\"\"", "{a: \"say \\\"hi\\\" \\\"\\\"\\\" ok\"}"},
		{"a: \"\"\"\n  trailing newline\n\n  \"\"\"", "{a: \"trailing newline\\n\"}"},
		{"a: \"\"\"\r\n  crlf\r\n  lines\r\n  \"\"\"", "{a: \"crlf\\nlines\"}"},
		{"a: \"\"\"\n  esc\\tx \\\"\\\"\\\"\n  \"\"\"", "{a: \"esc\\tx \\\"\\\"\\\"\"}"},
		{"a: '''\n  bytes\\x00\n  '''", "{a: b\"bytes\\x00\"}"},
		{"a: #\"\"\"\n  raw \\n \"\"\"\n  \"\"\"#", "{a: \"raw \\\\n \\\"\\\"\\\"\"}"},
		{"a: \"\"\"\n    x: \\(v)\n      y: \\(w)\n    \"\"\"", "{a: (interp \"x: \" v \"\\n  y: \" w \"\")}"},
		{"a: \"\"\"\n  \\(v)\n  \"\"\"", "{a: (interp \"\" v \"\")}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, interpolations_nest_strings_calls_and_structs)
{
	static const tree_case cases[] = {
		{"a: \"a\\(strings.Join([\"x\",\"y\"], \"-\"))b\"",
		 "{a: (interp \"a\" (call (. strings Join) [\"x\", \"y\"] \"-\") \"b\")}"},
		{"a: \"\\(x)\"", "{a: (interp \"\" x \"\")}"},
		{"a: \"\\(a)\\(b)\"", "{a: (interp \"\" a \"\" b \"\")}"},
		{"a: \"x\\(\"y\\(z)\")w\"", "{a: (interp \"x\" (interp \"y\" z \"\") \"w\")}"},
		{"a: \"n=\\( (1 + 2) * 3 )!\"", "{a: (interp \"n=\" (* (+ 1 2) 3) \"!\")}"},
		{"a: \"\\({a: 1}.a)\"", "{a: (interp \"\" (. {a: 1} a) \"\")}"},
		{"a: \"p\\(\")\")q\"", "{a: (interp \"p\" \")\" \"q\")}"},
		{"a: 'b\\(x)'", "{a: (interp b\"b\" x b\"\")}"},
		{"a: \"\\(x)\"\nb: 2", "{a: (interp \"\" x \"\"), b: 2}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, labels_of_every_kind)
{
	static const tree_case cases[] = {
		{"\"app.oam.dev/component\": x", "{\"app.oam.dev/component\": x}"},
		{"\"\\(k)-x\": v", "{(interp \"\" k \"-x\"): v}"},
		{"(k): v, (\"a\" + b)?: 1", "{(dyn k): v, (dyn (+ \"a\" b))?: 1}"},
		{"[string]: int", "{[string]: int}"},
		{"[=~\"^x\"]: _, [!=\"\"]: int", "{[(=~ \"^x\")]: _, [(!= \"\")]: int}"},
		{"a?: int, b!: string, \"c\"?: 1", "{a?: int, b!: string, \"c\"?: 1}"},
		{"if: 1, for?: 2, true: 3, package: 4, in: 5, let: 6, null: 7, import: 8",
		 "{if: 1, for?: 2, true: 3, package: 4, in: 5, let: 6, null: 7, import: 8}"},
		{"x: {if: 1, false?: bool}", "{x: {if: 1, false?: bool}}"},
		{"a: 1, #B: 2, _c: 3, \"\": 4", "{a: 1, #B: 2, _c: 3, \"\": 4}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, chained_labels_become_nested_structs)
{
	static const tree_case cases[] = {
		{"a: b: c: 1", "{a: {b: {c: 1}}}"},
		{"a: b?: \"x\": [string]: int", "{a: {b?: {\"x\": {[string]: int}}}}"},
		{"labels?: [string]: string", "{labels?: {[string]: string}}"},
		{"a: (k): if: 1", "{a: {(dyn k): {if: 1}}}"},
		{"a: b: int @go(B)", "{a: {b: int @go(B)}}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, attributes_are_kept_as_raw_text)
{
	static const tree_case cases[] = {
		{"a: int @go(A)", "{a: int @go(A)}"},
		{"a: int @go(A) @json(\"a,omitempty\")\nb: 1", "{a: int @go(A) json(\"a,omitempty\"), b: 1}"},
		{"a: string @tag(x, \"(\", [1, {2}])", "{a: string @tag(x, \"(\", [1, {2}])}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, binary_operators_follow_cue_precedence)
{
	static const tree_case cases[] = {
		{"a: 1 + 2 * 3", "{a: (+ 1 (* 2 3))}"},
		{"a: 1 - 2 - 3, b: 10 / 2 * 3", "{a: (- (- 1 2) 3), b: (* (/ 10 2) 3)}"},
		{"a: (1 + 2) * 3", "{a: (* (+ 1 2) 3)}"},
		{"a: x | y & z", "{a: (| x (& y z))}"},
		{"a: x & y | z", "{a: (| (& x y) z)}"},
		{"a: p || q && r", "{a: (|| p (&& q r))}"},
		{"a: x == 1 && y != 2 || !z", "{a: (|| (&& (== x 1) (!= y 2)) (! z))}"},
		{"a: x | y || z", "{a: (| x (|| y z))}"},
		{"a: p && q == r + s * t", "{a: (&& p (== q (+ r (* s t))))}"},
		{"a: x < 3, b: x <= 3, c: x > 3, d: x >= 3", "{a: (< x 3), b: (<= x 3), c: (> x 3), d: (>= x 3)}"},
		{"a: s =~ \"^a\" && s !~ \"b\"", "{a: (&& (=~ s \"^a\") (!~ s \"b\"))}"},
		{"a: 1 +\n\t2", "{a: (+ 1 2)}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, unary_operators_bounds_and_default_markers)
{
	static const tree_case cases[] = {
		{"a: int & >=0 & <=100", "{a: (& (& int (>= 0)) (<= 100))}"},
		{"a: !=\"\", b: =~\"^[a-z]+$\", c: !~\"x\", d: <10, e: >0.5",
		 "{a: (!= \"\"), b: (=~ \"^[a-z]+$\"), c: (!~ \"x\"), d: (< 10), e: (> (float 0.5))}"},
		{"a: *\"TCP\" | \"UDP\"", "{a: (| (* \"TCP\") \"UDP\")}"},
		{"a: *_|_ | string", "{a: (| (* _|_) string)}"},
		{"a: *1 | int, b: !x, c: >=-1", "{a: (| (* 1) int), b: (! x), c: (>= (- 1))}"},
		{"a: 2 * *3", "{a: (* 2 (* 3))}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, selectors_indexes_and_calls)
{
	static const tree_case cases[] = {
		{"a: x.y.z, b: x.\"a-b\", c: x.#D, d: x._h",
		 "{a: (. (. x y) z), b: (. x a-b), c: (. x #D), d: (. x _h)}"},
		{"a: x[0], b: x[\"k\"], c: x[i][j].k",
		 "{a: (idx x 0), b: (idx x \"k\"), c: (. (idx (idx x i) j) k)}"},
		{"a: len(x), b: close({a: 1}), c: strings.ToLower(x), d: f(), e: f(1, 2,)",
		 "{a: (call len x), b: (call close {a: 1}), c: (call (. strings ToLower) x), d: (call f), "
		 "e: (call f 1 2)}"},
		{"a: f(\n\t1,\n\t2\n)", "{a: (call f 1 2)}"},
		{"a: x.if.for", "{a: (. (. x if) for)}"},
		{"a: context.output.metadata.name", "{a: (. (. (. context output) metadata) name)}"},
		{"a: [1, 2][0], b: {x: 1}.x, c: \"abc\"[1]",
		 "{a: (idx [1, 2] 0), b: (. {x: 1} x), c: (idx \"abc\" 1)}"},
		{"a: list.Concat([[1], [2]])", "{a: (call (. list Concat) [[1], [2]])}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, lists_open_lists_and_trailing_commas)
{
	static const tree_case cases[] = {
		{"a: [1, 2, 3], b: []", "{a: [1, 2, 3], b: []}"},
		{"a: [...string], b: [...], c: [1, ...int], d: [1, ...], e: [...,]",
		 "{a: [...string], b: [...], c: [1, ...int], d: [1, ...], e: [...]}"},
		{"a: [1, 2,]", "{a: [1, 2]}"},
		{"a: [\n\t1\n\t2,\n\t{x: 3}\n]", "{a: [1, 2, {x: 3}]}"},
		{"a: [...{name: string}]", "{a: [...{name: string}]}"},
		{"a: [[1, [2]], [...[...int]]]", "{a: [[1, [2]], [...[...int]]]}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, list_comprehensions_and_conditional_elements)
{
	static const tree_case cases[] = {
		{"a: [ for x in xs if x > 1 { x } ]", "{a: [(comp (for x xs) (if (> x 1)) {(embed x)})]}"},
		{"a: [ for k, v in m { name: k, value: v } ]", "{a: [(comp (for k v m) {name: k, value: v})]}"},
		{"a: [ if c { 1 }, 2 ]", "{a: [(comp (if c) {(embed 1)}), 2]}"},
		{"a: [ for x in xs let y = x * 2 if y > 2 { y } ]",
		 "{a: [(comp (for x xs) (let y (* x 2)) (if (> y 2)) {(embed y)})]}"},
		{"a: [ for x in xs, if x { x } ]", "{a: [(comp (for x xs) (if x) {(embed x)})]}"},
		{"a: [ for _, v in xs for w in v { w } ]", "{a: [(comp (for _ v xs) (for w v) {(embed w)})]}"},
		{"a: [1, for x in xs { x }, ...]", "{a: [1, (comp (for x xs) {(embed x)}), ...]}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, embeddings_lets_comprehensions_and_ellipses)
{
	static const tree_case cases[] = {
		{"#Base\na: 1", "{(embed #Base), a: 1}"},
		{"{...}", "{(embed {...})}"},
		{"x: {#Base, a: 1}", "{x: {(embed #Base), a: 1}}"},
		{"let x = 1\na: x", "{(let x 1), a: x}"},
		{"x: {let y = a.b, c: y}", "{x: {(let y (. a b)), c: y}}"},
		{"if parameter[\"cmd\"] != _|_ {\n\tcommand: parameter.cmd\n}",
		 "{(comp (if (!= (idx parameter \"cmd\") _|_)) {command: (. parameter cmd)})}"},
		{"for k, v in parameter.labels {\n\t\"\\(k)\": v\n}",
		 "{(comp (for k v (. parameter labels)) {(interp \"\" k \"\"): v})}"},
		{"for x in xs let y = x if y != _|_ { \"\\(y)\": true }",
		 "{(comp (for x xs) (let y x) (if (!= y _|_)) {(interp \"\" y \"\"): true})}"},
		{"if a if b {}", "{(comp (if a) (if b) {})}"},
		{"x: {a: 1, ...}, y: {...string}, z: {\n\ta: 1\n\t...\n}",
		 "{x: {a: 1, ...}, y: {...string}, z: {a: 1, ...}}"},
		{"a: 1, \"b\"", "{a: 1, (embed \"b\")}"},
		{"(x)", "{(embed x)}"},
		{"", "{}"},
		{"// only a comment\n", "{}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, package_and_import_declarations)
{
	static const tree_case cases[] = {
		{"package main\nimport \"strings\"\na: 1", "{(package main), (import strings \"strings\"), a: 1}"},
		{"import (\n\t\"list\"\n\ts \"strconv\"\n\t\"example.com/x/y:z\"\n\t\"k8s.io/api/core/v1\"\n)",
		 "{(import list \"list\"), (import s \"strconv\"), (import z \"example.com/x/y:z\"), "
		 "(import v1 \"k8s.io/api/core/v1\")}"},
		{"import (\"a\", \"b\")\nimport \"c\"", "{(import a \"a\"), (import b \"b\"), (import c \"c\")}"},
		{"import ()\nx: 1", "{x: 1}"},
		{"\xEF\xBB\xBFpackage p", "{(package p)}"},
	};
	EXPECT_TREES(cases);
}

Test(cue_parse, newlines_insert_commas_where_the_spec_says)
{
	static const tree_case cases[] = {
		{"a: 1\nb: 2", "{a: 1, b: 2}"},
		{"a: x\nb: \"s\"\nc: 's'\nd: 1.5\ne: true\nf: false\ng: null\nh: _\ni: _|_\nj: 1",
		 "{a: x, b: \"s\", c: b\"s\", d: (float 1.5), e: true, f: false, g: null, h: _, i: _|_, j: 1}"},
		{"a: f(x)\nb: l[0]\nc: {}\nd: []\ne: 2", "{a: (call f x), b: (idx l 0), c: {}, d: [], e: 2}"},
		{"a: 1 // trailing comment\nb: 2 // another", "{a: 1, b: 2}"},
		{"a: 1\n\n\n\nb: 2\n\n", "{a: 1, b: 2}"},
		/* no comma before a line that starts with ',' or ':' */
		{"a: 1\n, b: 2", "{a: 1, b: 2}"},
		{"a\n: 1", "{a: 1}"},
		/* operators, '(' '[' '{' ',' ':' at the end of a line continue it */
		{"a: x &\n\ty\nb: [\n1,\n]\nc: {\nd:\n2}", "{a: (& x y), b: [1], c: {d: 2}}"},
		{"a: b.\nc", "{a: (. b c)}"},
		{"a: x @go(X)\nb: 1", "{a: x @go(X), b: 1}"},
		{"x: {\n\ta: 1\n}\ny: 2", "{x: {a: 1}, y: 2}"},
		{"a: 1\r\nb: 2\r\n", "{a: 1, b: 2}"},
		{"a: 1;", NULL},
	};
	/* the last case is an error, checked below */
	expect_trees(cases, sizeof(cases) / sizeof(cases[0]) - 1);
	static const error_case errs[] = {
		{"a: 1;", 1, 5, "found ';'", 0},
		{"a: x\n& y", 2, 1, "expected expression, found '&'", 0},
		{"a: [for x in xs\n{ x }]", 1, 16, "expected '{' after the comprehension clauses, found newline", 0},
	};
	EXPECT_ERRORS(errs);
}

/* ---------------------------------------------------------------- doc comments */

Test(cue_parse, doc_comments_attach_to_the_declaration_directly_below)
{
	static const char src[] =
		"// file comment\n"                                                      /* 1 */
		"\n"                                                                     /* 2 */
		"// +usage=Which image would you like to use for your service\n"         /* 3 */
		"// +short=i\n"                                                          /* 4 */
		"image: string\n"                                                        /* 5 */
		"cmd?: [...string] // trailing, not a doc comment\n"                     /* 6 */
		"//+patchKey=name\n"                                                     /* 7 */
		"containers: [...]\n"                                                    /* 8 */
		"// separated by a blank line\n"                                         /* 9 */
		"\n"                                                                     /* 10 */
		"ports: int\n"                                                           /* 11 */
		"x: {\n"                                                                 /* 12 */
		"\t// inner doc\n"                                                       /* 13 */
		"\t//   indented text\n"                                                 /* 14 */
		"\ty: 1 // trailing\n"                                                   /* 15 */
		"\t// doc for z\n"                                                       /* 16 */
		"\tz: 2\n"                                                               /* 17 */
		"}\n"                                                                    /* 18 */
		"// +usage=the condition\n"                                              /* 19 */
		"if cond {\n"                                                            /* 20 */
		"}\n"                                                                    /* 21 */
		"// the let\n"                                                           /* 22 */
		"let v = 1\n"                                                            /* 23 */
		"//\n"                                                                   /* 24 */
		"// empty line above\r\n"                                                /* 25 */
		"e: 1\n";                                                                /* 26 */
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, src);
	const cue_decl *image = field(root, "image");
	cr_assert_not_null(image->doc);
	cr_expect_str_eq(image->doc, "+usage=Which image would you like to use for your service\n+short=i");
	cr_expect_null(field(root, "cmd")->doc, "cmd: %s", field(root, "cmd")->doc);
	cr_assert_not_null(field(root, "containers")->doc);
	cr_expect_str_eq(field(root, "containers")->doc, "+patchKey=name");
	cr_expect_null(field(root, "ports")->doc);
	const cue_decl *x = field(root, "x");
	cr_expect_null(x->doc);
	cr_assert_not_null(field(x->value, "y")->doc);
	cr_expect_str_eq(field(x->value, "y")->doc, "inner doc\n  indented text");
	cr_assert_not_null(field(x->value, "z")->doc);
	cr_expect_str_eq(field(x->value, "z")->doc, "doc for z");
	const cue_decl *comp = &root->as.strct.decls[5];
	cr_assert_eq(comp->kind, CUE_DECL_COMP);
	cr_assert_not_null(comp->doc);
	cr_expect_str_eq(comp->doc, "+usage=the condition");
	const cue_decl *let = &root->as.strct.decls[6];
	cr_assert_eq(let->kind, CUE_DECL_LET);
	cr_assert_not_null(let->doc);
	cr_expect_str_eq(let->doc, "the let");
	cr_assert_not_null(field(root, "e")->doc);
	cr_expect_str_eq(field(root, "e")->doc, "\nempty line above");
	idp_arena_free(a);
}

Test(cue_parse, doc_comments_in_the_webservice_template)
{
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, webservice);
	const cue_decl *param = field(root, "parameter");
	const cue_decl *image = field(param->value, "image");
	cr_assert_not_null(image->doc);
	cr_expect_str_eq(image->doc, "+usage=Which image would you like to use for your service\n+short=i");
	cr_expect_null(field(param->value, "cmd")->doc);
	cr_expect_null(field(root, "output")->doc);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- positions */

Test(cue_parse, nodes_carry_the_position_of_their_first_token)
{
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, webservice);
	expect_pos(root->pos, 1, 1, "root");
	expect_pos(root->as.strct.decls[0].pos, 2, 2, "import \"strconv\" (at its path)");
	expect_pos(root->as.strct.decls[1].pos, 3, 2, "import \"strings\"");
	const cue_decl *output = field(root, "output");
	expect_pos(output->pos, 5, 1, "output label");
	expect_pos(output->value->pos, 5, 9, "output struct at '{'");
	const cue_decl *kind = field(output->value, "kind");
	expect_pos(kind->pos, 7, 2, "kind label");
	expect_pos(kind->value->pos, 7, 14, "\"Deployment\" at its quote");
	const cue_decl *spec = field(output->value, "spec");
	const cue_decl *selector = field(spec->value, "selector");
	expect_pos(selector->pos, 9, 3, "selector label");
	/* chained labels: each synthesised struct sits at its label */
	expect_pos(selector->value->pos, 9, 13, "struct of matchLabels");
	const cue_decl *ml = field(selector->value, "matchLabels");
	expect_pos(ml->pos, 9, 13, "matchLabels label");
	expect_pos(ml->value->pos, 9, 26, "struct of \"app.oam.dev/component\"");
	const cue_decl *comp_label = field(ml->value, "app.oam.dev/component");
	expect_pos(comp_label->value->pos, 9, 51, "context.name selector (at context)");
	expect_pos(comp_label->value->as.sel.sel_pos, 9, 59, "name in context.name");
	const cue_decl *tmpl = field(spec->value, "template");
	const cue_node *containers = field(field(tmpl->value, "spec")->value, "containers")->value;
	expect_pos(containers->pos, 10, 31, "containers list at '['");
	const cue_node *c0 = containers->as.list.elems[0];
	expect_pos(c0->pos, 10, 32, "container struct");
	const cue_decl *cond = &c0->as.strct.decls[2];
	cr_assert_eq(cond->kind, CUE_DECL_COMP);
	expect_pos(cond->pos, 13, 4, "if comprehension");
	expect_pos(cond->clauses[0].pos, 13, 4, "if clause");
	expect_pos(cond->clauses[0].expr->pos, 13, 7, "!= at its left operand");
	expect_pos(cond->clauses[0].expr->as.binary.y->pos, 13, 27, "_|_");
	expect_pos(cond->value->pos, 13, 31, "comprehension body");
	const cue_node *ports = field(c0, "ports")->value;
	const cue_node *lc = ports->as.list.elems[0];
	cr_assert_eq(lc->kind, CUE_N_LISTCOMP);
	expect_pos(lc->pos, 16, 13, "list comprehension at for");
	expect_pos(lc->as.comp.clauses[0].expr->pos, 16, 22, "parameter.ports");
	expect_pos(lc->as.comp.body->pos, 16, 38, "list comprehension body");
	const cue_node *name = field(lc->as.comp.body, "name")->value;
	expect_pos(name->pos, 16, 69, "\"port-\" + ...");
	expect_pos(name->as.binary.y->pos, 16, 79, "strconv.FormatInt(...)");
	expect_pos(name->as.binary.y->as.call.args[1]->pos, 16, 105, "10");
	const cue_decl *param = field(root, "parameter");
	const cue_node *pports = field(param->value, "ports")->value;
	const cue_node *port = field(pports->as.list.tail, "port")->value;
	expect_pos(port->pos, 25, 21, "int & >=1 & <=65535");
	expect_pos(port->as.binary.y->pos, 25, 33, "<=65535");
	const cue_decl *labels = field(param->value, "labels");
	expect_pos(labels->value->pos, 26, 11, "[string] pattern struct");
	expect_pos(labels->value->as.strct.decls[0].pos, 26, 11, "pattern declaration");
	expect_pos(labels->value->as.strct.decls[0].label_expr->pos, 26, 12, "string in [string]");
	idp_arena_free(a);
}

Test(cue_parse, positions_count_characters_and_follow_interpolations)
{
	idp_arena *a = idp_arena_new();
	/*                     1234567890123456789 */
	cue_node *root = parse_ok(a, "é: \"ü\\(x + y)z\" + w\n"
				     "m: \"\"\"\n"
				     "  a\\(q)\n"
				     "  \"\"\"");
	const cue_node *v = field(root, "é")->value;
	expect_pos(v->pos, 1, 4, "binary at the string");
	const cue_node *s = v->as.binary.x;
	cr_assert_eq(s->kind, CUE_N_INTERP);
	expect_pos(s->pos, 1, 4, "interpolation at its quote");
	expect_pos(s->as.interp.parts[0]->pos, 1, 4, "first fragment");
	expect_pos(s->as.interp.parts[1]->pos, 1, 8, "x + y");
	expect_pos(s->as.interp.parts[1]->as.binary.y->pos, 1, 12, "y");
	expect_pos(s->as.interp.parts[2]->pos, 1, 14, "fragment after ')'");
	expect_pos(v->as.binary.y->pos, 1, 19, "w");
	cue_node *q = parse_ok(a, "a: x.\n\t\"b-c\"");
	expect_pos(field(q, "a")->value->as.sel.sel_pos, 2, 2, "quoted selector name on the next line");
	const cue_node *m = field(root, "m")->value;
	expect_pos(m->pos, 2, 4, "multi-line string");
	expect_pos(m->as.interp.parts[1]->pos, 3, 6, "q");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- errors */

Test(cue_parse, syntax_errors_name_the_offending_token)
{
	static const error_case cases[] = {
		{"a: )", 1, 4, "expected expression, found ')'", 0},
		{"x: {a )}", 1, 7, "expected ':' or '}', found ')'", 0},
		{"a )", 1, 3, "expected ':' or newline, found ')'", 0},
		{"a: 1 b: 2", 1, 6, "expected ',' or newline, found identifier b", 0},
		{"x: {a: 1 b: 2}", 1, 10, "expected ',' or '}', found identifier b", 0},
		{"a: {b: 1", 1, 9, "expected '}', found end of file", 0},
		{"a: [1 2]", 1, 7, "expected ',' or ']', found number 2", 0},
		{"a: f(1 2)", 1, 8, "expected ',' or ')', found number 2", 0},
		{"a: (1 + 2", 1, 10, "expected ')', found end of file", 0},
		{"a: x[1", 1, 7, "expected ']', found end of file", 0},
		{"a: x.", 1, 6, "expected a name after '.', found end of file", 0},
		{"a: x.1", 1, 5, "found number .1", 0},
		{"a: : 1", 1, 4, "expected expression, found ':'", 0},
		{"a b", 1, 3, "found identifier b", 0},
		{"a.b: 1", 1, 1, "invalid label", 0},
		{"_: 1", 1, 1, "invalid label", 0},
		{"'x': 1", 1, 1, "invalid label", 0},
		{"[1, 2]: 1", 1, 1, "invalid label", 0},
		{"a?", 1, 3, "expected ':' after the label, found end of file", 0},
		{"a: \"\\(x y)\"", 1, 9, "expected ')' to close the interpolation, found identifier y", 0},
		{"a: \"\\()\"", 1, 7, "expected expression, found ')'", 0},
		{"a: [for x in xs x]", 1, 17, "expected '{' after the comprehension clauses, found identifier x", 0},
		{"a: [let x = 1 {x}]", 1, 5, "expected expression, found keyword let", 0},
		{"for x xs {}", 1, 7, "expected 'in', found identifier xs", 0},
		{"for 1 in xs {}", 1, 5, "expected identifier after for", 0},
		{"let 1 = 2", 1, 5, "expected identifier after let", 0},
		{"let x 2", 1, 7, "expected '=' after the let name", 0},
		{"a: [..., 1]", 1, 10, "expected ']' after '...'", 0},
		{"a: {in}", 1, 5, "expected expression, found keyword in", 0},
		{"x: {,}", 1, 5, "expected declaration, found ','", 0},
		{"a: 1,,", 1, 6, "expected declaration, found ','", 0},
		{"a: x\n& y", 2, 1, "found '&'", 0},
		{"a: 1 ~ 2", 1, 6, "illegal character '~'", 0},
		{"a: 1 ` 2", 1, 6, "illegal character '`'", 0},
		{"#1: 2", 1, 1, "illegal character '#'", 0},
		{"a: ..", 1, 4, "invalid token '..'", 0},
		{"a: @x", 1, 6, "expected '(' after @x", 0},
		{"a: int @go(x", 1, 8, "unterminated attribute", 0},
		{"a: int @(x)", 1, 8, "expected a name after '@'", 0},
		{"a: 1\nb: 2\n  c: )", 3, 6, "expected expression, found ')'", 0},
	};
	EXPECT_ERRORS(cases);
}

Test(cue_parse, literal_errors_point_at_the_literal)
{
	static const error_case cases[] = {
		{"a: \"abc", 1, 4, "unterminated string", 0},
		{"a: \"abc\nb: 1", 1, 4, "unterminated string", 0},
		{"a: 'abc", 1, 4, "unterminated string", 0},
		{"a: \"a\\(x)b", 1, 4, "unterminated string", 0},
		{"a: #\"abc\"", 1, 4, "unterminated string", 0},
		{"a: \"\"\"\n  abc\n", 1, 4, "unterminated string", 0},
		{"a: \"\"\"\n  abc \"\"\"", 1, 4, "unterminated string", 0},
		{"a: \"x\\qy\"", 1, 6, "invalid escape \\q", 0},
		{"a: \"\\", 1, 4, "unterminated string", 0},
		{"a: \"\\u12\"", 1, 5, "invalid escape \\u", 0},
		{"a: \"\\U0011FFFF\"", 1, 5, "invalid escape \\U", 0},
		{"a: \"\\uD800\"", 1, 5, "unpaired surrogate", 0},
		{"a: \"\\uDC00\"", 1, 5, "not a Unicode character", 0},
		{"a: \"\\x41\"", 1, 5, "invalid escape \\x", 0},
		{"a: \"\\101\"", 1, 5, "invalid escape \\1", 0},
		{"a: '\\400'", 1, 5, "past 255", 0},
		{"a: '\\xZZ'", 1, 5, "invalid escape \\x", 0},
		{"a: \"it\\'s\"", 1, 7, "invalid escape \\'", 0},
		{"a: '\\\"'", 1, 5, "invalid escape \\\"", 0},
		{"a: #\"\\#q\"#", 1, 6, "invalid escape \\q", 0},
		{"a: \"\"\"x\n\"\"\"", 1, 4, "expected newline after multi-line quote", 0},
		{"a: \"\"\"\n  x\n y\n  \"\"\"", 3, 1, "invalid indentation", 0},
		{"a: \"\"\"\n\tx\n    \"\"\"", 2, 1, "invalid indentation", 0},
		{"a: \"\"\"\n    x\n  \\(y)\n    \"\"\"", 3, 1, "invalid indentation", 0},
		{"a: \"\"\"\n    x\n  \n    \"\"\"", 3, 1, "invalid indentation", 0},
		{"a: 99999999999999999999", 1, 4, "integer 99999999999999999999 out of range", 0},
		{"a: 9223372036854775808", 1, 4, "integer 9223372036854775808 out of range", 0},
		{"a: -9223372036854775809", 1, 5, "out of range", 0},
		{"a: 0x1_0000_0000_0000_0000", 1, 4, "integer 0x1_0000_0000_0000_0000 out of range", 0},
		{"a: 1e400", 1, 4, "number 1e400 out of range", 0},
		{"a: 0755", 1, 4, "invalid number 0755", 0},
		{"a: 1__0", 1, 5, "invalid '_' in number", 0},
		{"a: 1_", 1, 5, "invalid '_' in number", 0},
		{"a: 0x", 1, 4, "no digits after 0x", 0},
		{"a: 0b2", 1, 4, "no digits after 0b", 0},
		{"a: 1e", 1, 6, "invalid exponent", 0},
		{"a: 1e+x", 1, 7, "invalid exponent", 0},
		{"a: 12abc", 1, 6, "invalid number", 0},
		{"a: 0xFG", 1, 7, "invalid number", 0},
		{"a: \"x\"\"", 1, 7, "unterminated string", 0},
	};
	EXPECT_ERRORS(cases);
}

Test(cue_parse, constructs_outside_the_dialect_are_unsupported)
{
	static const error_case cases[] = {
		{"a: 1Ki", 1, 4, "unsupported CUE construct number multiplier", 0},
		{"a: 1M", 1, 4, "unsupported CUE construct number multiplier", 0},
		{"a: 2.5Gi", 1, 4, "unsupported CUE construct number multiplier", 0},
		{"X=foo: 1", 1, 2, "unsupported CUE construct alias", 0},
		{"foo: X=bar", 1, 7, "unsupported CUE construct alias", 0},
		{"x: {a: 1, X=b: 2}", 1, 12, "unsupported CUE construct alias", 0},
		{"[Name=_]: {name: Name}", 1, 6, "unsupported CUE construct alias", 0},
		{"[string]?: int", 1, 9, "unsupported CUE construct optional pattern constraint", 0},
		{"a: x[1:2]", 1, 7, "unsupported CUE construct slice", 0},
		{"@attr(x)\na: 1", 1, 1, "unsupported CUE construct declaration attribute", 0},
		{"x: {\n\t@attr(x)\n}", 2, 2, "unsupported CUE construct declaration attribute", 0},
		{"#A @attr(x)", 1, 4, "unsupported CUE construct attribute on an embedding", 0},
		{"__x: 1", 1, 1, "unsupported CUE construct reserved identifier __x", 0},
		{"a: __y", 1, 4, "unsupported CUE construct reserved identifier", 0},
		{"a: #\"\\#(x)\"#", 1, 6, "unsupported CUE construct interpolation in a raw string", 0},
	};
	EXPECT_ERRORS(cases);
}

Test(cue_parse, package_and_import_must_open_the_file)
{
	static const error_case cases[] = {
		{"package a\npackage b", 2, 1, "the package clause must be the first declaration", 0},
		{"a: 1\nimport \"strings\"", 2, 1, "imports must come before the other declarations", 0},
		{"a: 1\npackage p", 2, 1, "the package clause must come before", 0},
		{"a: {import \"x\"}", 1, 5, "unexpected keyword import inside a struct", 0},
		{"import \"foo\\(x)\"", 1, 8, "must be a plain double-quoted string", 0},
		{"import 'foo'", 1, 8, "must be a plain double-quoted string", 0},
		{"import \"\"", 1, 8, "empty import path", 0},
		{"import ( \"a\" \"b\" )", 1, 14, "expected ',' or ')', found string", 0},
		{"import x", 1, 9, "expected import path string", 0},
		{"package", 1, 8, "expected package name", 0},
	};
	EXPECT_ERRORS(cases);
}

Test(cue_parse, bad_bytes_in_the_input_are_rejected_with_their_position)
{
	static const error_case cases[] = {
		{"a: 1\nb: \"x\0y\"", 2, 6, "illegal character NUL", 11},
		{"a: \"\xff\"", 1, 5, "invalid UTF-8", 0},
		{"é: \"\xc3\"", 1, 5, "invalid UTF-8", 0},
		{"a: 1\n\xed\xa0\x80: 2", 2, 1, "invalid UTF-8", 0},
	};
	EXPECT_ERRORS(cases);
}

/* ---------------------------------------------------------------- limits */

/* n copies of open, then middle, then n copies of close. */
static char *nest(const char *open, const char *middle, const char *close, size_t n)
{
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		idp_buf_puts(&b, open);
	idp_buf_puts(&b, middle);
	for (size_t i = 0; i < n; i++)
		idp_buf_puts(&b, close);
	return idp_buf_detach(&b);
}

static int parse_text(const char *src, idp_err *err)
{
	idp_arena *a = idp_arena_new();
	cue_file f;
	int rc = parse_n(a, src, strlen(src), &f, err);
	idp_arena_free(a);
	return rc;
}

Test(cue_parse, nesting_is_capped_at_256_levels)
{
	/* per: levels each repetition adds; free: repetitions that are not a
	 * level (the first label of a chain is a field of the file, only the
	 * structs behind it nest) */
	static const struct {
		const char *open, *middle, *close;
		size_t per, free;
	} shapes[] = {
		{"[", "1", "]", 1, 0},   {"{a: ", "1", "}", 1, 0}, {"(", "1", ")", 1, 0},
		{"-", "1", "", 1, 0},    {"a: ", "1", "", 1, 1},   {"f(", "1", ")", 1, 0},
		{"x[", "1", "]", 1, 0},  {"\"\\(", "1", ")\"", 1, 0}, {"!", "x", "", 1, 0},
		{"[for a in b {", "1", "}]", 2, 0},
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		idp_err err = IDP_ERR_INIT;
		size_t reps = 256 / shapes[i].per + shapes[i].free;
		char *ok = nest(shapes[i].open, shapes[i].middle, shapes[i].close, reps);
		cr_expect_eq(parse_text(ok, &err), 0, "shape %zu at 256 levels: %s", i, tu_errstr(&err));
		idp_err_clear(&err);
		free(ok);
		char *deep = nest(shapes[i].open, shapes[i].middle, shapes[i].close, reps + 1);
		cr_expect_eq(parse_text(deep, &err), IDP_EINPUT, "shape %zu past 256 levels", i);
		cr_expect(tu_contains(err.msg, "nesting too deep"), "shape %zu: %s", i, tu_errstr(&err));
		cr_expect_eq(err.line, 1);
		idp_err_clear(&err);
		free(deep);
		/* far past the cap: an error, never a stack overflow */
		char *huge = nest(shapes[i].open, shapes[i].middle, shapes[i].close, 200000);
		cr_expect_eq(parse_text(huge, &err), IDP_EINPUT, "shape %zu at 200000 levels", i);
		idp_err_clear(&err);
		free(huge);
	}
}

Test(cue_parse, the_nesting_error_points_at_the_first_level_too_deep)
{
	char *deep = nest("[", "1", "]", 300);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(parse_text(deep, &err), IDP_EINPUT);
	cr_expect_eq(err.line, 1);
	cr_expect_eq(err.col, 257, "%s", tu_errstr(&err));
	idp_err_clear(&err);
	free(deep);
}

Test(cue_parse, long_flat_inputs_do_not_recurse)
{
	/* 50,000 terms in one binary chain and one list, 50,000 selectors */
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "a: 0");
	for (int i = 0; i < 50000; i++)
		idp_buf_puts(&b, " + 1");
	idp_buf_puts(&b, "\nb: [");
	for (int i = 0; i < 50000; i++)
		idp_buf_puts(&b, "1, ");
	idp_buf_puts(&b, "]\nc: x");
	for (int i = 0; i < 50000; i++)
		idp_buf_puts(&b, ".y");
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, idp_buf_cstr(&b));
	cr_expect_eq(field(root, "b")->value->as.list.n, 50000);
	idp_arena_free(a);
	idp_buf_free(&b);
}

/* ---------------------------------------------------------------- mutations */

static uint64_t prng(uint64_t *s)
{
	/* xorshift64*: deterministic, so a failure replays */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static const char *const fuzz_seeds[] = {
	webservice,
	"package p\nimport \"strings\"\n#D: {a: int | *1, b?: [...string]}\nx: #D & {a: 2}\n"
	"y: \"\\(x.a)-\\(strings.ToUpper(\"q\"))\"\nz: [for k, v in x if v != _|_ {\"\\(k)\": v}]\n",
	"a: \"\"\"\n    multi \\(x)\n    line\n    \"\"\"\nb: #\"raw \\#t\"#\nc: '\\x00\\101'\n",
	"if p.enabled {\n\tlet n = len(p.items)\n\tcount: n * 2 / 1\n}\n[string]: _\n(k): v @go(x)\n...\n",
	"x: [...{name: =~\"^[a-z]$\", port: >=1 & <=65535}] // c\n// doc\ny!: 0x1F + 0o7 - 1.5e3\n",
};

static const char *const fuzz_tokens[] = {
	"\"", "'", "\\(", ")", "(", "{", "}", "[", "]", ":", ",", "\n", "...", "_|_", "#", "\"\"\"\n",
	"for ", "if ", "let ", "in ", "@a(", "//", "\\", "=", "?", "!", "*", "|", "&", "0x", "1e", ".", "é",
};

static void mutate(uint64_t *s, idp_buf *b)
{
	size_t len = b->len;
	size_t pos = len ? (size_t)(prng(s) % len) : 0;
	switch (prng(s) % 5) {
	case 0: /* replace a byte */
		if (len)
			b->ptr[pos] = "{}[]()\":,\\\n#_|.'@=?!*"[prng(s) % 22];
		break;
	case 1: { /* delete a range */
		size_t n = len ? (size_t)(prng(s) % 8) : 0;
		if (pos + n > len)
			n = len - pos;
		memmove(b->ptr + pos, b->ptr + pos + n, len - pos - n);
		b->len -= n;
		b->ptr[b->len] = '\0';
		break;
	}
	case 2: { /* insert a token */
		const char *t = fuzz_tokens[prng(s) % (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))];
		char *tail = idp_xstrdup(b->ptr + pos);
		b->len = pos;
		idp_buf_puts(b, t);
		idp_buf_puts(b, tail);
		free(tail);
		break;
	}
	case 3: /* truncate */
		b->len = pos;
		b->ptr[pos] = '\0';
		break;
	default: { /* duplicate a range */
		size_t n = (size_t)(prng(s) % 40);
		if (pos + n > len)
			n = len - pos;
		char *piece = idp_xstrndup(b->ptr + pos, n);
		char *tail = idp_xstrdup(b->ptr + pos);
		b->len = pos;
		idp_buf_puts(b, piece);
		idp_buf_puts(b, tail);
		free(piece);
		free(tail);
	}
	}
}

Test(cue_parse, mutated_inputs_never_crash)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	size_t n_ok = 0, n_err = 0;
	for (int i = 0; i < 600; i++) {
		idp_buf b = IDP_BUF_INIT;
		idp_buf_puts(&b, fuzz_seeds[i % (sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]))]);
		int rounds = 1 + (int)(prng(&s) % 4);
		for (int r = 0; r < rounds; r++)
			mutate(&s, &b);
		idp_arena *a = idp_arena_new();
		cue_file f;
		idp_err err = IDP_ERR_INIT;
		int rc = parse_n(a, b.ptr ? b.ptr : "", b.len, &f, &err);
		if (rc == 0) {
			cr_expect_not_null(f.root);
			idp_buf out = IDP_BUF_INIT;
			pr_node(&out, f.root); /* walks every node: no dangling pointers */
			idp_buf_free(&out);
			n_ok++;
		} else {
			cr_expect_eq(rc, IDP_EINPUT, "iteration %d: rc %d", i, rc);
			cr_expect(err.msg && err.line >= 1 && err.col >= 1, "iteration %d: %s", i, tu_errstr(&err));
			n_err++;
		}
		idp_err_clear(&err);
		idp_arena_free(a);
		idp_buf_free(&b);
	}
	cr_log_info("mutations: %zu parsed, %zu rejected", n_ok, n_err);
	cr_expect(n_ok > 0 && n_err > 0, "%zu parsed, %zu rejected", n_ok, n_err);
}

/* ---------------------------------------------------------------- misc */

Test(cue_parse, operator_texts)
{
	static const struct {
		cue_op op;
		const char *text;
	} ops[] = {
		{CUE_OP_AND, "&"},    {CUE_OP_OR, "|"},      {CUE_OP_LAND, "&&"},  {CUE_OP_LOR, "||"},
		{CUE_OP_EQ, "=="},    {CUE_OP_NEQ, "!="},    {CUE_OP_LT, "<"},     {CUE_OP_LEQ, "<="},
		{CUE_OP_GT, ">"},     {CUE_OP_GEQ, ">="},    {CUE_OP_MATCH, "=~"}, {CUE_OP_NMATCH, "!~"},
		{CUE_OP_ADD, "+"},    {CUE_OP_SUB, "-"},     {CUE_OP_MUL, "*"},    {CUE_OP_DIV, "/"},
		{CUE_OP_NOT, "!"},    {CUE_OP_IDIV, "div"},  {CUE_OP_MOD, "mod"},  {CUE_OP_QUO, "quo"},
		{CUE_OP_REM, "rem"},  {CUE_OP_NONE, ""},
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		cr_expect_str_eq(cue_op_text(ops[i].op), ops[i].text);
}

Test(cue_parse, strings_are_nul_terminated_and_may_hold_nul)
{
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, "a: \"x\\u0000y\", b: 'p\\x00'");
	const cue_node *s = field(root, "a")->value;
	cr_assert_eq(s->kind, CUE_N_STRING);
	cr_expect_eq(s->as.str.len, 3);
	cr_expect_eq(memcmp(s->as.str.ptr, "x\0y", 4), 0);
	cr_expect_not(s->as.str.bytes);
	const cue_node *bs = field(root, "b")->value;
	cr_expect_eq(bs->as.str.len, 2);
	cr_expect(bs->as.str.bytes);
	cr_expect_eq(bs->as.str.ptr[2], '\0');
	idp_arena_free(a);
	idp_err err = IDP_ERR_INIT;
	cr_expect_eq(parse_text("\"a\\u0000\": 1", &err), IDP_EINPUT);
	cr_expect(tu_contains(err.msg, "NUL"), "%s", tu_errstr(&err));
	idp_err_clear(&err);
}

Test(cue_parse, a_lone_expression_is_one_embedding)
{
	/* how idp_cue_export parses its -e expression */
	idp_arena *a = idp_arena_new();
	cue_node *root = parse_ok(a, "parameter.image");
	cr_assert_eq(root->as.strct.n, 1);
	cr_expect_eq(root->as.strct.decls[0].kind, CUE_DECL_EMBED);
	cr_expect_eq(root->as.strct.decls[0].value->kind, CUE_N_SELECTOR);
	idp_arena_free(a);
}

/* A CUE file of about want bytes: copies of the webservice template, each
 * under its own top-level field. */
static char *big_file(size_t want, size_t *copies)
{
	idp_buf b = IDP_BUF_INIT;
	const char *body = strstr(webservice, "output:");
	*copies = 0;
	idp_buf_puts(&b, "import (\n\t\"strconv\"\n\t\"strings\"\n)\n");
	while (b.len < want) {
		idp_buf_printf(&b, "c%zu: {\n%s}\n", (*copies)++, body);
	}
	return idp_buf_detach(&b);
}

Test(cue_parse, a_100_kb_file_parses_quickly)
{
	size_t copies;
	char *src = big_file(100 * 1024, &copies);
	size_t len = strlen(src);
	int rounds = 20;
	double t0 = tu_now();
	for (int i = 0; i < rounds; i++) {
		idp_arena *a = idp_arena_new();
		cue_file f;
		idp_err err = IDP_ERR_INIT;
		int rc = parse_n(a, src, len, &f, &err);
		cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
		cr_assert_eq(f.root->as.strct.n, copies + 2);
		idp_arena_free(a);
	}
	double per = (tu_now() - t0) / rounds;
	cr_log_info("parsing %zu bytes (%zu templates) takes %.3f ms", len, copies, per * 1e3);
	/* generous: this build has sanitizers and no optimisation */
	cr_expect(per < 0.5, "parsing 100 KB took %.3f s", per);
	free(src);
}
