/*
 * The CUE parser: tokens from lex.c to the tree of ast.h, recursive
 * descent with one token of lookahead (and a peek at a second where a
 * keyword may be a label: `if: 1`).
 *
 * A declaration is parsed expression first: `foo`, `"foo"`, `(foo)` and
 * `[string]` are ordinary expressions until a ':' (or '?:' / '!:') turns
 * them into a label. That keeps one path for embeddings and fields, and
 * `a: b: c: 1` is just a value that is itself a field.
 *
 * Every construct that nests (parentheses, structs, lists, unary operators,
 * calls, indexes, interpolations, chained labels) goes through enter(), so
 * no input nests deeper than CUE_PARSE_MAX_DEPTH and the C stack stays
 * small. The first error stops the parse.
 *
 * Lists (declarations, elements, arguments, clauses) are collected on one
 * malloc'd LIFO stack and copied into the arena at their exact size when
 * complete, so the arena holds no half-empty growth arrays. An item is
 * pushed only once everything nested in it is parsed, so the lists of
 * nested constructs come and go above it and never interleave.
 */
#include "cue/ast.h"
#include "cue/lex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CUE_PARSE_MAX_DEPTH 256

#define TRY(x)                          \
	do {                            \
		int rc_ = (x);          \
		if (rc_)                \
			return rc_;     \
	} while (0)

typedef struct parser {
	idp_arena *a;
	lexer lx;
	lex_token tok; /* the current token; the lexer stands right after it */
	idp_err *err;
	unsigned depth;
	cue_node *paren; /* the node the last `( expr )` produced, to tell (x): from x: */
	char *stack;     /* the list stack (malloc'd, freed by cue_parse) */
	size_t stack_len, stack_cap;
} parser;

/* Where a new list starts on the stack. */
static size_t list_mark(const parser *p)
{
	return p->stack_len;
}

/* Copies an item onto the stack (items are only ever copied in and out,
 * so the stack needs no alignment). */
static void list_push(parser *p, const void *item, size_t size)
{
	if (p->stack_cap - p->stack_len < size) {
		size_t cap = p->stack_cap ? p->stack_cap * 2 : 4096;
		while (cap - p->stack_len < size)
			cap *= 2;
		p->stack = idp_xrealloc(p->stack, cap);
		p->stack_cap = cap;
	}
	memcpy(p->stack + p->stack_len, item, size);
	p->stack_len += size;
}

static void push_node(parser *p, cue_node *n)
{
	list_push(p, &n, sizeof(n));
}

/* Moves the items pushed since mark into an arena array of exactly their
 * size (NULL when empty) and stores their count in *n. */
static void *list_take(parser *p, size_t mark, size_t size, size_t *n)
{
	size_t bytes = p->stack_len - mark;
	void *out = NULL;
	*n = bytes / size;
	if (bytes) {
		out = idp_arena_alloc(p->a, bytes);
		memcpy(out, p->stack + mark, bytes);
	}
	p->stack_len = mark;
	return out;
}

const char *cue_op_text(cue_op op)
{
	static const char *const text[] = {
		[CUE_OP_NONE] = "",    [CUE_OP_AND] = "&",    [CUE_OP_OR] = "|",     [CUE_OP_LAND] = "&&",
		[CUE_OP_LOR] = "||",   [CUE_OP_EQ] = "==",    [CUE_OP_NEQ] = "!=",   [CUE_OP_LT] = "<",
		[CUE_OP_LEQ] = "<=",   [CUE_OP_GT] = ">",     [CUE_OP_GEQ] = ">=",   [CUE_OP_MATCH] = "=~",
		[CUE_OP_NMATCH] = "!~", [CUE_OP_ADD] = "+",   [CUE_OP_SUB] = "-",    [CUE_OP_MUL] = "*",
		[CUE_OP_DIV] = "/",    [CUE_OP_NOT] = "!",    [CUE_OP_IDIV] = "div", [CUE_OP_MOD] = "mod",
		[CUE_OP_QUO] = "quo",  [CUE_OP_REM] = "rem",
	};
	if ((size_t)op >= sizeof(text) / sizeof(text[0]) || !text[op])
		return "?";
	return text[op];
}

/* ---------------------------------------------------------------- helpers */

static int fail(parser *p, idp_pos pos, const char *fmt, ...) IDP_PRINTF(3, 4);

static int fail(parser *p, idp_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	idp_err_vat(p->err, pos, NULL, fmt, ap);
	va_end(ap);
	return IDP_EINPUT;
}

static int next(parser *p)
{
	return lex_next(&p->lx, &p->tok);
}

static const char *tok_text(parser *p, const lex_token *t)
{
	return idp_arena_strndup(p->a, p->lx.src + t->off, t->end - t->off);
}

static bool is_keyword(lex_kind k)
{
	return k >= LT_PACKAGE && k <= LT_NULL;
}

/* How a token reads in "found ..." (allocated only on the error path). */
static const char *tok_desc(parser *p, const lex_token *t)
{
	int n = (int)(t->end - t->off > 40 ? 40 : t->end - t->off);
	const char *s = p->lx.src + t->off;
	switch (t->kind) {
	case LT_EOF: return "end of file";
	case LT_COMMA:
		if (!t->auto_comma)
			return "','";
		return t->off >= p->lx.len ? "end of file" : "newline";
	case LT_IDENT: return idp_arena_printf(p->a, "identifier %.*s", n, s);
	case LT_INT:
	case LT_FLOAT: return idp_arena_printf(p->a, "number %.*s", n, s);
	case LT_STRING:
	case LT_INTERP: return "string";
	case LT_ATTR: return idp_arena_printf(p->a, "attribute %.*s", n, s);
	default: break;
	}
	if (is_keyword(t->kind))
		return idp_arena_printf(p->a, "keyword %s", lex_kind_text(t->kind));
	return idp_arena_printf(p->a, "'%s'", lex_kind_text(t->kind));
}

static int fail_expected(parser *p, const char *what)
{
	return fail(p, p->tok.pos, "expected %s, found %s", what, tok_desc(p, &p->tok));
}

static int expect(parser *p, lex_kind k, const char *what)
{
	return p->tok.kind == k ? 0 : fail_expected(p, what);
}

static int enter(parser *p, idp_pos pos)
{
	if (++p->depth > CUE_PARSE_MAX_DEPTH)
		return fail(p, pos, "nesting too deep (more than %d levels)", CUE_PARSE_MAX_DEPTH);
	return 0;
}

static void leave(parser *p)
{
	p->depth--;
}

static cue_node *new_node(parser *p, cue_node_kind kind, idp_pos pos)
{
	cue_node *n = idp_arena_zalloc(p->a, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	return n;
}

/* The `//` lines above a token as ast.h wants them: each without "//"
 * and one following space, joined with '\n'; NULL if none. */
static const char *doc_text(parser *p, const lex_token *t)
{
	if (t->doc_end <= t->doc_off)
		return NULL;
	const char *s = p->lx.src;
	char *out = idp_arena_alloc(p->a, t->doc_end - t->doc_off + 1);
	size_t o = 0, i = t->doc_off;
	while (i < t->doc_end) {
		while (s[i] == ' ' || s[i] == '\t')
			i++;
		i += 2; /* the group holds only comment lines, so this is "//" */
		if (i < t->doc_end && s[i] == ' ')
			i++;
		size_t start = i;
		while (i < t->doc_end && s[i] != '\n')
			i++;
		size_t end = i > start && s[i - 1] == '\r' ? i - 1 : i;
		memcpy(out + o, s + start, end - start);
		o += end - start;
		if (i < t->doc_end) {
			out[o++] = '\n';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---------------------------------------------------------------- literals */

/* The value of an integer literal (with its 0x/0o/0b prefix and '_'
 * separators); false when it does not fit in 64 bits. */
static bool int_magnitude(const char *s, size_t n, uint64_t *out)
{
	uint64_t base = 10, v = 0;
	size_t i = 0;
	if (n > 2 && s[0] == '0' && strchr("xXob", s[1])) {
		base = s[1] == 'o' ? 8 : s[1] == 'b' ? 2 : 16;
		i = 2;
	}
	for (; i < n; i++) {
		if (s[i] == '_')
			continue;
		uint64_t d = (uint64_t)(s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static int parse_int(parser *p, cue_node **out)
{
	const lex_token *t = &p->tok;
	uint64_t v;
	if (!int_magnitude(p->lx.src + t->off, t->end - t->off, &v) || v > (uint64_t)INT64_MAX)
		return fail(p, t->pos, "integer %s out of range", tok_text(p, t));
	*out = new_node(p, CUE_N_INT, t->pos);
	(*out)->as.i = (int64_t)v;
	return next(p);
}

static int parse_float(parser *p, cue_node **out)
{
	const lex_token *t = &p->tok;
	char *text = idp_arena_alloc(p->a, t->end - t->off + 1);
	size_t n = 0;
	for (size_t i = t->off; i < t->end; i++)
		if (p->lx.src[i] != '_')
			text[n++] = p->lx.src[i];
	text[n] = '\0';
	double d = strtod(text, NULL);
	if (isinf(d))
		return fail(p, t->pos, "number %s out of range", tok_text(p, t));
	*out = new_node(p, CUE_N_FLOAT, t->pos);
	(*out)->as.f = d;
	return next(p);
}

static cue_node *string_node(parser *p, const lex_token *t, idp_pos pos, size_t ws_len, bool line_start)
{
	cue_node *n = new_node(p, CUE_N_STRING, pos);
	char *buf = idp_arena_alloc(p->a, t->end - t->off + 1);
	n->as.str.len = lex_decode(&p->lx, t, ws_len, line_start, buf);
	n->as.str.ptr = buf;
	n->as.str.bytes = t->quote.ch == '\'';
	return n;
}

static int parse_expr(parser *p, cue_node **out);

/* One interpolation: its expression and the fragment that follows it. */
typedef struct interp_piece {
	cue_node *expr;
	lex_token frag;
} interp_piece;

/* The interpolations of a string whose first fragment is the current
 * token, up to its last fragment; returns them as an arena array. */
static int parse_interpolations(parser *p, interp_piece **out, size_t *n)
{
	lex_quote q = p->tok.quote;
	size_t mark = list_mark(p);
	TRY(enter(p, p->tok.pos));
	while (p->tok.kind == LT_INTERP) {
		interp_piece piece;
		TRY(next(p));
		TRY(parse_expr(p, &piece.expr));
		if (p->tok.kind != LT_RPAREN)
			return fail_expected(p, "')' to close the interpolation");
		TRY(lex_resume(&p->lx, &q, &p->tok));
		piece.frag = p->tok;
		list_push(p, &piece, sizeof(piece));
	}
	leave(p);
	*out = list_take(p, mark, sizeof(interp_piece), n);
	return 0;
}

/* A string literal, plain or interpolated, at the current token. */
static int parse_string(parser *p, cue_node **out)
{
	lex_token first = p->tok;
	interp_piece *pieces = NULL;
	size_t n = 0;
	if (first.kind == LT_INTERP)
		TRY(parse_interpolations(p, &pieces, &n));
	const lex_token *last = n ? &pieces[n - 1].frag : &first;
	size_t ws_len = 0;
	if (first.quote.multiline) {
		ws_len = last->ws_len;
		TRY(lex_check_indent(&p->lx, &first, true, last));
		for (size_t i = 0; i < n; i++)
			TRY(lex_check_indent(&p->lx, &pieces[i].frag, false, last));
	}
	if (n == 0) {
		*out = string_node(p, &first, first.pos, ws_len, true);
		return next(p);
	}
	cue_node *s = new_node(p, CUE_N_INTERP, first.pos);
	s->as.interp.n = 2 * n + 1;
	s->as.interp.parts = idp_arena_alloc(p->a, s->as.interp.n * sizeof(cue_node *));
	s->as.interp.parts[0] = string_node(p, &first, first.pos, ws_len, true);
	for (size_t i = 0; i < n; i++) {
		s->as.interp.parts[2 * i + 1] = pieces[i].expr;
		s->as.interp.parts[2 * i + 2] = string_node(p, &pieces[i].frag, pieces[i].frag.cpos, ws_len, false);
	}
	*out = s;
	return next(p);
}

/* A string that must be plain (a quoted selector or an import path):
 * no interpolation, not bytes, no NUL. */
static int parse_plain_string(parser *p, const char *what, cue_node **out)
{
	idp_pos pos = p->tok.pos;
	TRY(parse_string(p, out));
	if ((*out)->kind != CUE_N_STRING || (*out)->as.str.bytes)
		return fail(p, pos, "%s must be a plain double-quoted string", what);
	if (strlen((*out)->as.str.ptr) != (*out)->as.str.len)
		return fail(p, pos, "%s must not contain a NUL character", what);
	return 0;
}

/* ---------------------------------------------------------------- structs, lists, clauses */

static int parse_decls(parser *p, lex_kind closing, cue_node *st);

static int parse_struct_lit(parser *p, cue_node **out)
{
	cue_node *st = new_node(p, CUE_N_STRUCT, p->tok.pos);
	TRY(enter(p, st->pos));
	TRY(next(p));
	TRY(parse_decls(p, LT_RBRACE, st));
	TRY(next(p)); /* parse_decls stops only at '}' */
	leave(p);
	*out = st;
	return 0;
}

static int parse_ident_name(parser *p, const char *what, const char **out)
{
	if (p->tok.kind != LT_IDENT)
		return fail_expected(p, what);
	*out = tok_text(p, &p->tok);
	return next(p);
}

static int parse_clause(parser *p, cue_clause *c)
{
	c->pos = p->tok.pos;
	lex_kind k = p->tok.kind;
	TRY(next(p));
	if (k == LT_IF) {
		c->kind = CUE_CLAUSE_IF;
		return parse_expr(p, &c->expr);
	}
	if (k == LT_LET) {
		c->kind = CUE_CLAUSE_LET;
		TRY(parse_ident_name(p, "identifier after let", &c->value));
		TRY(expect(p, LT_BIND, "'=' after the let name"));
		TRY(next(p));
		return parse_expr(p, &c->expr);
	}
	c->kind = CUE_CLAUSE_FOR;
	TRY(parse_ident_name(p, "identifier after for", &c->value));
	if (p->tok.kind == LT_COMMA && !p->tok.auto_comma) {
		TRY(next(p));
		c->key = c->value;
		TRY(parse_ident_name(p, "identifier after ','", &c->value));
	}
	TRY(expect(p, LT_IN, "'in'"));
	TRY(next(p));
	return parse_expr(p, &c->expr);
}

static bool starts_clause(lex_kind k)
{
	return k == LT_FOR || k == LT_IF || k == LT_LET;
}

/* for/if/let clauses (the current token is for or if), optionally
 * separated by commas as the spec allows, up to the body. */
static int parse_clauses(parser *p, cue_clause **out, size_t *n)
{
	size_t mark = list_mark(p);
	while (starts_clause(p->tok.kind)) {
		cue_clause c = {0};
		TRY(parse_clause(p, &c));
		list_push(p, &c, sizeof(c));
		if (p->tok.kind == LT_COMMA && starts_clause(lex_peek(&p->lx)))
			TRY(next(p));
	}
	*out = list_take(p, mark, sizeof(cue_clause), n);
	return 0;
}

/* Clauses and a struct body; the current token is for or if. */
static int parse_comprehension(parser *p, cue_clause **clauses, size_t *n, cue_node **body)
{
	TRY(parse_clauses(p, clauses, n));
	TRY(expect(p, LT_LBRACE, "'{' after the comprehension clauses"));
	return parse_struct_lit(p, body);
}

/* `...` or `...T` closing a list. */
static int parse_list_tail(parser *p, cue_node *list)
{
	TRY(next(p));
	list->as.list.open = true;
	if (p->tok.kind != LT_COMMA && p->tok.kind != LT_RBRACK)
		TRY(parse_expr(p, &list->as.list.tail));
	if (p->tok.kind == LT_COMMA)
		TRY(next(p));
	return expect(p, LT_RBRACK, "']' after '...' (it must be the last element)");
}

static int parse_list_elem(parser *p, cue_node **out)
{
	if (p->tok.kind == LT_FOR || p->tok.kind == LT_IF) {
		cue_node *c = new_node(p, CUE_N_LISTCOMP, p->tok.pos);
		TRY(parse_comprehension(p, &c->as.comp.clauses, &c->as.comp.n_clauses, &c->as.comp.body));
		*out = c;
		return 0;
	}
	TRY(parse_expr(p, out));
	if (p->tok.kind == LT_BIND)
		return fail(p, p->tok.pos, "unsupported CUE construct alias");
	return 0;
}

static int parse_list_lit(parser *p, cue_node **out)
{
	cue_node *list = new_node(p, CUE_N_LIST, p->tok.pos);
	size_t mark = list_mark(p);
	TRY(enter(p, list->pos));
	TRY(next(p));
	while (p->tok.kind != LT_RBRACK) {
		if (p->tok.kind == LT_ELLIPSIS) {
			TRY(parse_list_tail(p, list));
			break;
		}
		cue_node *e;
		TRY(parse_list_elem(p, &e));
		push_node(p, e);
		if (p->tok.kind == LT_COMMA)
			TRY(next(p));
		else if (p->tok.kind != LT_RBRACK)
			return fail_expected(p, "',' or ']'");
	}
	TRY(next(p));
	leave(p);
	list->as.list.elems = list_take(p, mark, sizeof(cue_node *), &list->as.list.n);
	*out = list;
	return 0;
}

/* ---------------------------------------------------------------- expressions */

static int parse_paren(parser *p, cue_node **out)
{
	TRY(enter(p, p->tok.pos));
	TRY(next(p));
	TRY(parse_expr(p, out));
	TRY(expect(p, LT_RPAREN, "')'"));
	TRY(next(p));
	leave(p);
	p->paren = *out;
	return 0;
}

static int parse_ident(parser *p, cue_node **out)
{
	const lex_token *t = &p->tok;
	if (t->end - t->off == 1 && p->lx.src[t->off] == '_') {
		*out = new_node(p, CUE_N_TOP, t->pos);
	} else {
		*out = new_node(p, CUE_N_IDENT, t->pos);
		(*out)->as.ident = tok_text(p, t);
	}
	return next(p);
}

static int parse_keyword_literal(parser *p, cue_node **out)
{
	lex_kind k = p->tok.kind;
	*out = new_node(p, k == LT_NULL ? CUE_N_NULL : CUE_N_BOOL, p->tok.pos);
	(*out)->as.b = k == LT_TRUE;
	return next(p);
}

/* A literal, identifier, parenthesized expression, struct or list. */
static int parse_operand(parser *p, cue_node **out)
{
	switch (p->tok.kind) {
	case LT_IDENT: return parse_ident(p, out);
	case LT_BOTTOM:
		*out = new_node(p, CUE_N_BOTTOM, p->tok.pos);
		return next(p);
	case LT_NULL:
	case LT_TRUE:
	case LT_FALSE: return parse_keyword_literal(p, out);
	case LT_INT: return parse_int(p, out);
	case LT_FLOAT: return parse_float(p, out);
	case LT_STRING:
	case LT_INTERP: return parse_string(p, out);
	case LT_LPAREN: return parse_paren(p, out);
	case LT_LBRACE: return parse_struct_lit(p, out);
	case LT_LBRACK: return parse_list_lit(p, out);
	default: return fail_expected(p, "expression");
	}
}

/* x.sel: an identifier, a keyword used as a name, or a quoted string. */
static int parse_selector(parser *p, cue_node *x, cue_node **out)
{
	TRY(next(p));
	cue_node *n = new_node(p, CUE_N_SELECTOR, x->pos);
	n->as.sel.x = x;
	n->as.sel.sel_pos = p->tok.pos;
	if (p->tok.kind == LT_IDENT || is_keyword(p->tok.kind)) {
		n->as.sel.sel = tok_text(p, &p->tok);
		TRY(next(p));
	} else if (p->tok.kind == LT_STRING || p->tok.kind == LT_INTERP) {
		cue_node *s;
		TRY(parse_plain_string(p, "a quoted selector", &s));
		n->as.sel.sel = s->as.str.ptr;
	} else {
		return fail_expected(p, "a name after '.'");
	}
	*out = n;
	return 0;
}

static int parse_index(parser *p, cue_node *x, cue_node **out)
{
	cue_node *n = new_node(p, CUE_N_INDEX, x->pos);
	TRY(enter(p, p->tok.pos));
	TRY(next(p));
	n->as.index.x = x;
	TRY(parse_expr(p, &n->as.index.index));
	if (p->tok.kind == LT_COLON)
		return fail(p, p->tok.pos, "unsupported CUE construct slice");
	TRY(expect(p, LT_RBRACK, "']'"));
	TRY(next(p));
	leave(p);
	*out = n;
	return 0;
}

static int parse_call(parser *p, cue_node *fn, cue_node **out)
{
	cue_node *n = new_node(p, CUE_N_CALL, fn->pos);
	size_t mark = list_mark(p);
	TRY(enter(p, p->tok.pos));
	TRY(next(p));
	n->as.call.fn = fn;
	while (p->tok.kind != LT_RPAREN) {
		cue_node *arg;
		TRY(parse_expr(p, &arg));
		push_node(p, arg);
		if (p->tok.kind == LT_COMMA)
			TRY(next(p));
		else if (p->tok.kind != LT_RPAREN)
			return fail_expected(p, "',' or ')'");
	}
	TRY(next(p));
	leave(p);
	n->as.call.args = list_take(p, mark, sizeof(cue_node *), &n->as.call.n);
	*out = n;
	return 0;
}

/* An operand followed by selectors, indexes and calls. */
static int parse_primary(parser *p, cue_node **out)
{
	cue_node *x;
	TRY(parse_operand(p, &x));
	for (;;) {
		switch (p->tok.kind) {
		case LT_PERIOD: TRY(parse_selector(p, x, &x)); break;
		case LT_LBRACK: TRY(parse_index(p, x, &x)); break;
		case LT_LPAREN: TRY(parse_call(p, x, &x)); break;
		default: *out = x; return 0;
		}
	}
}

static bool unary_op(lex_kind k, cue_op *op)
{
	switch (k) {
	case LT_SUB: *op = CUE_OP_SUB; return true;
	case LT_ADD: *op = CUE_OP_ADD; return true;
	case LT_NOT: *op = CUE_OP_NOT; return true;
	case LT_MUL: *op = CUE_OP_MUL; return true;
	case LT_LSS: *op = CUE_OP_LT; return true;
	case LT_LEQ: *op = CUE_OP_LEQ; return true;
	case LT_GTR: *op = CUE_OP_GT; return true;
	case LT_GEQ: *op = CUE_OP_GEQ; return true;
	case LT_NEQ: *op = CUE_OP_NEQ; return true;
	case LT_MAT: *op = CUE_OP_MATCH; return true;
	case LT_NMAT: *op = CUE_OP_NMATCH; return true;
	default: return false;
	}
}

/* -9223372036854775808: the one integer whose magnitude does not fit in
 * int64, so the minus is folded into the literal. */
static bool is_int64_min_magnitude(parser *p)
{
	uint64_t v;
	return p->tok.kind == LT_INT && int_magnitude(p->lx.src + p->tok.off, p->tok.end - p->tok.off, &v) &&
	       v == (uint64_t)INT64_MAX + 1;
}

static int parse_unary(parser *p, cue_node **out)
{
	cue_op op;
	if (!unary_op(p->tok.kind, &op))
		return parse_primary(p, out);
	cue_node *n = new_node(p, CUE_N_UNARY, p->tok.pos);
	TRY(enter(p, n->pos));
	TRY(next(p));
	if (op == CUE_OP_SUB && is_int64_min_magnitude(p)) {
		n->kind = CUE_N_INT;
		n->as.i = INT64_MIN;
		TRY(next(p));
	} else {
		n->as.unary.op = op;
		TRY(parse_unary(p, &n->as.unary.x));
	}
	leave(p);
	*out = n;
	return 0;
}

/* CUE's binary precedence, lowest 1 (|) to highest 7 (* /); 0: not binary. */
static int binary_prec(lex_kind k, cue_op *op)
{
	switch (k) {
	case LT_OR: *op = CUE_OP_OR; return 1;
	case LT_AND: *op = CUE_OP_AND; return 2;
	case LT_LOR: *op = CUE_OP_LOR; return 3;
	case LT_LAND: *op = CUE_OP_LAND; return 4;
	case LT_EQL: *op = CUE_OP_EQ; return 5;
	case LT_NEQ: *op = CUE_OP_NEQ; return 5;
	case LT_LSS: *op = CUE_OP_LT; return 5;
	case LT_LEQ: *op = CUE_OP_LEQ; return 5;
	case LT_GTR: *op = CUE_OP_GT; return 5;
	case LT_GEQ: *op = CUE_OP_GEQ; return 5;
	case LT_MAT: *op = CUE_OP_MATCH; return 5;
	case LT_NMAT: *op = CUE_OP_NMATCH; return 5;
	case LT_ADD: *op = CUE_OP_ADD; return 6;
	case LT_SUB: *op = CUE_OP_SUB; return 6;
	case LT_MUL: *op = CUE_OP_MUL; return 7;
	case LT_QUO: *op = CUE_OP_DIV; return 7;
	default: return 0;
	}
}

/* Precedence climbing: operators of equal precedence associate to the
 * left in the loop; only a tighter operator recurses (at most 7 deep). */
static int parse_binary(parser *p, int min_prec, cue_node **out)
{
	cue_node *x;
	TRY(parse_unary(p, &x));
	for (;;) {
		cue_op op = CUE_OP_NONE;
		int prec = binary_prec(p->tok.kind, &op);
		if (prec == 0 || prec < min_prec)
			break;
		TRY(next(p));
		cue_node *b = new_node(p, CUE_N_BINARY, x->pos);
		b->as.binary.op = op;
		b->as.binary.x = x;
		TRY(parse_binary(p, prec + 1, &b->as.binary.y));
		x = b;
	}
	*out = x;
	return 0;
}

static int parse_expr(parser *p, cue_node **out)
{
	return parse_binary(p, 1, out);
}

/* ---------------------------------------------------------------- declarations */

/* A keyword followed by ':' or '?' is a label (`if: 1`, `true?: bool`). */
static bool keyword_label_follows(parser *p)
{
	if (!is_keyword(p->tok.kind))
		return false;
	lex_kind k = lex_peek(&p->lx);
	return k == LT_COLON || k == LT_OPTION;
}

static bool at_label_end(const parser *p)
{
	return p->tok.kind == LT_COLON || p->tok.kind == LT_OPTION || p->tok.kind == LT_NOT;
}

/* Turns the expression before ':' into d's label. start: its first token. */
static int make_label(parser *p, cue_decl *d, cue_node *x, lex_kind start)
{
	if (start == LT_LPAREN && x == p->paren) {
		d->label_kind = CUE_LABEL_DYNAMIC;
		d->label_expr = x;
		return 0;
	}
	if (x->kind == CUE_N_IDENT) {
		d->label_kind = CUE_LABEL_IDENT;
		d->name = x->as.ident;
		return 0;
	}
	if (x->kind == CUE_N_STRING && !x->as.str.bytes) {
		if (strlen(x->as.str.ptr) != x->as.str.len)
			return fail(p, x->pos, "a label must not contain a NUL character");
		d->label_kind = CUE_LABEL_STRING;
		d->name = x->as.str.ptr;
		return 0;
	}
	if (x->kind == CUE_N_INTERP) {
		d->label_kind = CUE_LABEL_INTERP;
		d->label_expr = x;
		return 0;
	}
	if (x->kind == CUE_N_LIST && start == LT_LBRACK && x->as.list.n == 1 && !x->as.list.open &&
	    x->as.list.elems[0]->kind != CUE_N_LISTCOMP) {
		if (p->tok.kind == LT_OPTION)
			return fail(p, p->tok.pos, "unsupported CUE construct optional pattern constraint [...]?");
		d->label_kind = CUE_LABEL_PATTERN;
		d->label_expr = x->as.list.elems[0];
		return 0;
	}
	return fail(p, x->pos, "invalid label: want an identifier, a string, (expression) or [pattern]");
}

/* Attributes after a field's value: raw text without '@', space-separated. */
static int parse_attrs(parser *p, cue_decl *d)
{
	while (p->tok.kind == LT_ATTR) {
		const char *s = p->lx.src + p->tok.off + 1;
		int n = (int)(p->tok.end - p->tok.off - 1);
		if (d->attrs)
			d->attrs = idp_arena_printf(p->a, "%s %.*s", d->attrs, n, s);
		else
			d->attrs = idp_arena_strndup(p->a, s, (size_t)n);
		TRY(next(p));
	}
	return 0;
}

static int parse_field_or_embed(parser *p, cue_decl *d, bool chained);

/* After a label: `?` or `!`, ':', then the value (possibly another field). */
static int parse_field_rest(parser *p, cue_decl *d)
{
	d->kind = CUE_DECL_FIELD;
	if (p->tok.kind == LT_OPTION || p->tok.kind == LT_NOT) {
		d->optional = p->tok.kind == LT_OPTION;
		d->required = p->tok.kind == LT_NOT;
		TRY(next(p));
	}
	TRY(expect(p, LT_COLON, "':' after the label"));
	TRY(next(p));
	idp_pos pos = p->tok.pos;
	cue_decl inner = {0};
	TRY(parse_field_or_embed(p, &inner, true));
	if (inner.kind == CUE_DECL_FIELD) {
		/* a: b: c is a: {b: c}; the struct sits where its label does */
		d->value = new_node(p, CUE_N_STRUCT, pos);
		d->value->as.strct.decls = idp_arena_alloc(p->a, sizeof(cue_decl));
		d->value->as.strct.decls[0] = inner;
		d->value->as.strct.n = 1;
		return 0;
	}
	d->value = inner.value;
	TRY(parse_attrs(p, d));
	if (p->tok.kind == LT_BIND)
		return fail(p, p->tok.pos, "unsupported CUE construct alias");
	return 0;
}

/* A field or, failing a ':' after the expression, an embedding. chained:
 * this is the value of another field (a: b: ...), one level deeper. */
static int parse_field_or_embed(parser *p, cue_decl *d, bool chained)
{
	lex_token start = p->tok;
	d->pos = start.pos;
	cue_node *x = NULL;
	if (keyword_label_follows(p)) {
		d->label_kind = CUE_LABEL_IDENT;
		d->name = lex_kind_text(start.kind);
		TRY(next(p));
	} else {
		p->paren = NULL;
		TRY(parse_expr(p, &x));
		if (!at_label_end(p)) {
			d->kind = CUE_DECL_EMBED;
			d->value = x;
			return 0;
		}
		TRY(make_label(p, d, x, start.kind));
	}
	if (chained)
		TRY(enter(p, start.pos));
	TRY(parse_field_rest(p, d));
	if (chained)
		leave(p);
	return 0;
}

static int parse_let_decl(parser *p, cue_decl *d)
{
	d->kind = CUE_DECL_LET;
	TRY(next(p));
	TRY(parse_ident_name(p, "identifier after let", &d->name));
	TRY(expect(p, LT_BIND, "'=' after the let name"));
	TRY(next(p));
	return parse_expr(p, &d->value);
}

static int parse_ellipsis_decl(parser *p, cue_decl *d)
{
	d->kind = CUE_DECL_ELLIPSIS;
	TRY(next(p));
	lex_kind k = p->tok.kind;
	if (k != LT_COMMA && k != LT_RBRACE && k != LT_EOF)
		TRY(parse_expr(p, &d->value));
	return 0;
}

/* The local name of an import without one: the last path element, or
 * what follows ':' ("example.com/x:y" is y). */
static const char *import_name(parser *p, const char *path)
{
	const char *colon = strrchr(path, ':');
	const char *slash = strrchr(path, '/');
	const char *name = colon ? colon + 1 : slash ? slash + 1 : path;
	return idp_arena_strdup(p->a, name);
}

/* Where the file is in its header (package, then imports). */
typedef struct decl_ctx {
	bool top;        /* file level */
	bool header;     /* nothing but package and import so far */
	size_t n;        /* declarations so far */
	bool label_like; /* the last declaration is an embedding that could have been a label */
} decl_ctx;

static void push_decl(parser *p, decl_ctx *ctx, const cue_decl *d)
{
	list_push(p, d, sizeof(*d));
	ctx->n++;
}

/* One `[name] "path"` of an import declaration. */
static int parse_import_spec(parser *p, decl_ctx *ctx)
{
	cue_decl d = {.kind = CUE_DECL_IMPORT, .pos = p->tok.pos, .doc = doc_text(p, &p->tok)};
	if (p->tok.kind == LT_IDENT) {
		d.name = tok_text(p, &p->tok);
		TRY(next(p));
	}
	if (p->tok.kind != LT_STRING && p->tok.kind != LT_INTERP)
		return fail_expected(p, "import path string");
	cue_node *s;
	TRY(parse_plain_string(p, "an import path", &s));
	if (s->as.str.len == 0)
		return fail(p, s->pos, "empty import path");
	d.str = s->as.str.ptr;
	if (!d.name)
		d.name = import_name(p, d.str);
	push_decl(p, ctx, &d);
	return 0;
}

static int parse_import(parser *p, decl_ctx *ctx)
{
	TRY(next(p));
	if (p->tok.kind != LT_LPAREN)
		return parse_import_spec(p, ctx);
	TRY(next(p));
	while (p->tok.kind != LT_RPAREN) {
		TRY(parse_import_spec(p, ctx));
		if (p->tok.kind == LT_COMMA)
			TRY(next(p));
		else if (p->tok.kind != LT_RPAREN)
			return fail_expected(p, "',' or ')'");
	}
	return next(p);
}

static int parse_header_decl(parser *p, decl_ctx *ctx)
{
	lex_token t = p->tok;
	const char *kw = lex_kind_text(t.kind);
	if (!ctx->top)
		return fail(p, t.pos, "unexpected keyword %s inside a struct", kw);
	if (!ctx->header)
		return fail(p, t.pos, "%s must come before the other declarations",
			    t.kind == LT_PACKAGE ? "the package clause" : "imports");
	if (t.kind == LT_IMPORT)
		return parse_import(p, ctx);
	if (ctx->n > 0)
		return fail(p, t.pos, "the package clause must be the first declaration");
	cue_decl d = {.kind = CUE_DECL_PACKAGE, .pos = t.pos, .doc = doc_text(p, &t)};
	TRY(next(p));
	TRY(parse_ident_name(p, "package name", &d.name));
	push_decl(p, ctx, &d);
	return 0;
}

/* A declaration other than package and import, into d. */
static int parse_body_decl(parser *p, cue_decl *d, decl_ctx *ctx, bool label)
{
	lex_kind k = p->tok.kind;
	d->pos = p->tok.pos;
	d->doc = doc_text(p, &p->tok);
	if (k == LT_LET && !label)
		return parse_let_decl(p, d);
	if (k == LT_ELLIPSIS)
		return parse_ellipsis_decl(p, d);
	if ((k == LT_FOR || k == LT_IF) && !label) {
		d->kind = CUE_DECL_COMP;
		return parse_comprehension(p, &d->clauses, &d->n_clauses, &d->value);
	}
	TRY(parse_field_or_embed(p, d, false));
	cue_node *x = d->value;
	ctx->label_like = d->kind == CUE_DECL_EMBED && x != p->paren &&
			  (x->kind == CUE_N_IDENT || x->kind == CUE_N_STRING || x->kind == CUE_N_INTERP);
	return 0;
}

static int parse_decl(parser *p, decl_ctx *ctx)
{
	lex_kind k = p->tok.kind;
	bool label = keyword_label_follows(p);
	ctx->label_like = false;
	if ((k == LT_PACKAGE || k == LT_IMPORT) && !label)
		return parse_header_decl(p, ctx);
	ctx->header = false;
	if (k == LT_ATTR)
		return fail(p, p->tok.pos, "unsupported CUE construct declaration attribute");
	if (k == LT_COMMA)
		return fail_expected(p, "declaration");
	cue_decl d = {0};
	TRY(parse_body_decl(p, &d, ctx, label));
	push_decl(p, ctx, &d);
	return 0;
}

/* What may follow a declaration other than ',' or the closing token. */
static int fail_after_decl(parser *p, const decl_ctx *ctx)
{
	const char *close = ctx->top ? "newline" : "'}'";
	if (p->tok.kind == LT_BIND)
		return fail(p, p->tok.pos, "unsupported CUE construct alias");
	if (p->tok.kind == LT_ATTR)
		return fail(p, p->tok.pos, "unsupported CUE construct attribute on an embedding");
	if (ctx->label_like)
		return fail(p, p->tok.pos, "expected ':' or %s, found %s", close, tok_desc(p, &p->tok));
	return fail(p, p->tok.pos, "expected ',' or %s, found %s", close, tok_desc(p, &p->tok));
}

/* Declarations up to closing (LT_RBRACE or LT_EOF), not consumed, into st. */
static int parse_decls(parser *p, lex_kind closing, cue_node *st)
{
	size_t mark = list_mark(p);
	decl_ctx ctx = {closing == LT_EOF, closing == LT_EOF, 0, false};
	while (p->tok.kind != closing) {
		if (p->tok.kind == LT_EOF)
			return fail_expected(p, "'}'");
		TRY(parse_decl(p, &ctx));
		if (p->tok.kind == LT_COMMA)
			TRY(next(p));
		else if (p->tok.kind != closing)
			return fail_after_decl(p, &ctx);
	}
	st->as.strct.decls = list_take(p, mark, sizeof(cue_decl), &st->as.strct.n);
	return 0;
}

/* ---------------------------------------------------------------- entry */

/* Input that no token may hold: NUL bytes and invalid UTF-8. */
static int check_input(parser *p, const char *src, size_t len)
{
	idp_pos start = {p->lx.file, p->lx.line, p->lx.line_col}; /* where the text starts in its file */
	const char *nul = len ? memchr(src, 0, len) : NULL;
	if (nul)
		return fail(p, lex_pos_at(&p->lx, start, 0, (size_t)(nul - src)), "illegal character NUL");
	size_t bad;
	if (len && !idp_utf8_valid(src, len, &bad))
		return fail(p, lex_pos_at(&p->lx, start, 0, bad), "invalid UTF-8");
	return 0;
}

static int parse_file(parser *p, cue_file *out)
{
	TRY(check_input(p, p->lx.src, p->lx.len));
	cue_node *root = new_node(p, CUE_N_STRUCT, (idp_pos){p->lx.file, p->lx.line, p->lx.line_col});
	TRY(next(p));
	TRY(parse_decls(p, LT_EOF, root));
	out->name = p->lx.file;
	out->root = root;
	return 0;
}

int cue_parse(idp_arena *a, const char *file, const char *src, size_t len, cue_file *out, idp_err *err)
{
	return cue_parse_at(a, (idp_pos){file, 1, 1}, src, len, out, err);
}

int cue_parse_at(idp_arena *a, idp_pos origin, const char *src, size_t len, cue_file *out, idp_err *err)
{
	memset(out, 0, sizeof(*out));
	parser p = {.a = a, .err = err};
	origin.file = idp_arena_strdup(a, origin.file ? origin.file : "<input>");
	lex_init(&p.lx, origin, src, len, err);
	int rc = parse_file(&p, out);
	free(p.stack);
	return rc;
}
