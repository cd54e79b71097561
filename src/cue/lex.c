/*
 * The CUE lexer (see lex.h). It follows the CUE spec's lexical rules and,
 * where the spec is silent, what cuelang.org/go/cue/scanner does: a comma
 * is inserted at a newline after an identifier, keyword, literal, `_|_`,
 * `)`, `]`, `}`, `?`, `...` or attribute, but not when the next line starts
 * with ',' or ':'; a multi-line string closes only at a `"""` that begins
 * its line (after whitespace).
 */
#include "cue/lex.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *text;
	lex_kind kind;
} keywords[] = {
	{"package", LT_PACKAGE}, {"import", LT_IMPORT}, {"for", LT_FOR},   {"in", LT_IN},
	{"if", LT_IF},           {"let", LT_LET},       {"true", LT_TRUE}, {"false", LT_FALSE},
	{"null", LT_NULL},
};

const char *lex_kind_text(lex_kind k)
{
	switch (k) {
	case LT_EOF: return "end of file";
	case LT_IDENT: return "identifier";
	case LT_INT: return "integer";
	case LT_FLOAT: return "number";
	case LT_STRING:
	case LT_INTERP: return "string";
	case LT_ATTR: return "attribute";
	case LT_BOTTOM: return "_|_";
	case LT_PACKAGE: return "package";
	case LT_IMPORT: return "import";
	case LT_FOR: return "for";
	case LT_IN: return "in";
	case LT_IF: return "if";
	case LT_LET: return "let";
	case LT_TRUE: return "true";
	case LT_FALSE: return "false";
	case LT_NULL: return "null";
	case LT_AND: return "&";
	case LT_OR: return "|";
	case LT_LAND: return "&&";
	case LT_LOR: return "||";
	case LT_EQL: return "==";
	case LT_NEQ: return "!=";
	case LT_LSS: return "<";
	case LT_LEQ: return "<=";
	case LT_GTR: return ">";
	case LT_GEQ: return ">=";
	case LT_MAT: return "=~";
	case LT_NMAT: return "!~";
	case LT_ADD: return "+";
	case LT_SUB: return "-";
	case LT_MUL: return "*";
	case LT_QUO: return "/";
	case LT_NOT: return "!";
	case LT_OPTION: return "?";
	case LT_BIND: return "=";
	case LT_PERIOD: return ".";
	case LT_ELLIPSIS: return "...";
	case LT_COMMA: return ",";
	case LT_COLON: return ":";
	case LT_SEMICOLON: return ";";
	case LT_LPAREN: return "(";
	case LT_RPAREN: return ")";
	case LT_LBRACK: return "[";
	case LT_RBRACK: return "]";
	case LT_LBRACE: return "{";
	case LT_RBRACE: return "}";
	}
	return "token";
}

/* ---------------------------------------------------------------- reading */

static idp_pos here(const lexer *lx)
{
	return (idp_pos){lx->file, lx->line, lx->col};
}

/* The byte k places ahead, or -1 past the end. */
static int at(const lexer *lx, size_t k)
{
	size_t i = lx->off + k;
	return i < lx->len ? (unsigned char)lx->src[i] : -1;
}

/* Consumes one byte. Columns count characters, so UTF-8 continuation
 * bytes do not move the column. */
static void adv(lexer *lx)
{
	unsigned char c = (unsigned char)lx->src[lx->off++];
	if (c == '\n') {
		lx->line++;
		lx->col = lx->line_col;
	} else if ((c & 0xC0) != 0x80) {
		lx->col++;
	}
}

static void advn(lexer *lx, size_t n)
{
	while (n-- > 0 && lx->off < lx->len)
		adv(lx);
}

idp_pos lex_pos_at(const lexer *lx, idp_pos from, size_t from_off, size_t off)
{
	for (size_t i = from_off; i < off && i < lx->len; i++) {
		unsigned char c = (unsigned char)lx->src[i];
		if (c == '\n') {
			from.line++;
			from.col = lx->line_col;
		} else if ((c & 0xC0) != 0x80) {
			from.col++;
		}
	}
	return from;
}

static bool is_letter(int c)
{
	/* Non-ASCII characters count as letters: the input is valid UTF-8 and
	 * CUE allows Unicode letters in identifiers. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
	return is_letter(c) || is_digit(c);
}

static int digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* A printable rendering of the character at the current offset, for messages. */
static const char *char_text(const lexer *lx, char buf[16])
{
	int c = at(lx, 0);
	if (c < 0)
		return "end of file";
	if (c == '\n')
		return "newline";
	if (c >= 0x20 && c < 0x7F)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02X", (unsigned)c);
	return buf;
}

void lex_init(lexer *lx, idp_pos origin, const char *src, size_t len, idp_err *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = origin.file;
	lx->src = src ? src : "";
	lx->len = src ? len : 0;
	lx->line = origin.line ? origin.line : 1;
	lx->line_col = origin.col ? origin.col : 1;
	lx->col = lx->line_col;
	lx->err = err;
	if (lx->len >= 3 && memcmp(lx->src, "\xEF\xBB\xBF", 3) == 0)
		lx->off = 3; /* a byte order mark is allowed as the very first character */
}

/* ---------------------------------------------------------------- comments */

/* Scans a `//` comment up to (not including) its newline and keeps it in
 * the doc group when it stands on its own line. */
static void scan_comment(lexer *lx)
{
	uint32_t line = lx->line;
	size_t start = lx->off;
	while (lx->off < lx->len && lx->src[lx->off] != '\n')
		adv(lx);
	if (lx->line_has_token) {
		lx->grp = false; /* a trailing comment documents nothing below it */
	} else if (lx->grp && lx->grp_last_line + 1 == line) {
		lx->grp_end = lx->off;
		lx->grp_last_line = line;
	} else {
		lx->grp = true;
		lx->grp_off = start;
		lx->grp_end = lx->off;
		lx->grp_last_line = line;
	}
}

/* Skips blanks, newlines and comments; stops at a newline or comment when
 * a comma is pending, so that lex_next can insert it there. */
static void skip_space(lexer *lx)
{
	for (;;) {
		int c = at(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r') {
			adv(lx);
		} else if (c == '\n') {
			if (lx->insert_comma)
				return;
			adv(lx);
			lx->line_has_token = false;
		} else if (c == '/' && at(lx, 1) == '/') {
			if (lx->insert_comma)
				return;
			scan_comment(lx);
		} else {
			return;
		}
	}
}

/* After a newline: true when the next line's first character is ',' or
 * ':', where the spec inserts no comma (JSON written with leading commas). */
static bool next_line_continues(const lexer *lx)
{
	for (size_t i = lx->off + 1; i < lx->len; i++) {
		char c = lx->src[i];
		if (c == ',' || c == ':')
			return true;
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return false;
	}
	return false;
}

/* ---------------------------------------------------------------- numbers */

/* Digits of base, with '_' allowed only between two digits. Returns how
 * many digits were read. */
static int scan_digits(lexer *lx, int base, size_t *ndigits)
{
	*ndigits = 0;
	for (;;) {
		int c = at(lx, 0);
		if (c == '_') {
			if (*ndigits == 0 || digit_value(at(lx, 1)) >= base)
				return idp_err_at(lx->err, here(lx), NULL, "invalid '_' in number");
			adv(lx);
			continue;
		}
		if (digit_value(c) >= base)
			return 0;
		adv(lx);
		(*ndigits)++;
	}
}

static int scan_exponent(lexer *lx)
{
	size_t n;
	adv(lx); /* e or E */
	if (at(lx, 0) == '+' || at(lx, 0) == '-')
		adv(lx);
	idp_pos pos = here(lx);
	if (scan_digits(lx, 10, &n))
		return IDP_EINPUT;
	if (n == 0)
		return idp_err_at(lx->err, pos, NULL, "invalid exponent in number");
	return 0;
}

/* What may not follow a number: a multiplier such as 1Ki (not in the
 * dialect) or any identifier character. */
static int check_number_end(lexer *lx, idp_pos start, bool decimal)
{
	int c = at(lx, 0);
	if (!is_ident_char(c) && c != '#')
		return 0;
	if (decimal && (c == 'K' || c == 'M' || c == 'G' || c == 'T' || c == 'P')) {
		size_t k = at(lx, 1) == 'i' ? 2 : 1;
		if (!is_ident_char(at(lx, k)))
			return idp_err_at(lx->err, start, NULL, "unsupported CUE construct number multiplier");
	}
	char buf[16];
	return idp_err_at(lx->err, here(lx), NULL, "invalid number: unexpected %s after the digits",
			  char_text(lx, buf));
}

/* Scans 0x.. 0o.. 0b.. after the '0'. */
static int scan_prefixed(lexer *lx, lex_token *t, idp_pos start)
{
	int p = at(lx, 1);
	int base = (p == 'x' || p == 'X') ? 16 : p == 'o' ? 8 : 2;
	size_t n;
	advn(lx, 2);
	if (scan_digits(lx, base, &n))
		return IDP_EINPUT;
	if (n == 0)
		return idp_err_at(lx->err, start, NULL, "invalid number: no digits after 0%c", p);
	t->kind = LT_INT;
	return check_number_end(lx, start, false);
}

static int scan_number(lexer *lx, lex_token *t)
{
	idp_pos start = here(lx);
	size_t n;
	int p = at(lx, 1);
	if (at(lx, 0) == '0' && (p == 'x' || p == 'X' || p == 'o' || p == 'b'))
		return scan_prefixed(lx, t, start);
	t->kind = LT_INT;
	if (at(lx, 0) != '.' && scan_digits(lx, 10, &n))
		return IDP_EINPUT;
	bool leading_zero = lx->src[t->off] == '0' && lx->off - t->off > 1;
	/* A dot followed by another dot is not a fraction: "1..." is 1 and
	 * an ellipsis, which the parser then rejects with a clear message. */
	if (at(lx, 0) == '.' && at(lx, 1) != '.') {
		t->kind = LT_FLOAT;
		adv(lx);
		if (scan_digits(lx, 10, &n))
			return IDP_EINPUT;
	}
	if (at(lx, 0) == 'e' || at(lx, 0) == 'E') {
		t->kind = LT_FLOAT;
		if (scan_exponent(lx))
			return IDP_EINPUT;
	}
	if (t->kind == LT_INT && leading_zero)
		return idp_err_at(lx->err, start, NULL,
				  "invalid number %.*s: an integer may not start with 0 (octal is written 0o...)",
				  (int)(lx->off - t->off), lx->src + t->off);
	return check_number_end(lx, start, true);
}

/* ---------------------------------------------------------------- strings */

/* True when n '#' follow at offset k. */
static bool hashes_at(const lexer *lx, size_t k, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (at(lx, k + i) != '#')
			return false;
	return true;
}

/* True when the closing delimiter of q starts at the current offset. */
static bool at_close(const lexer *lx, const lex_quote *q)
{
	size_t nq = q->multiline ? 3 : 1;
	for (size_t i = 0; i < nq; i++)
		if (at(lx, i) != q->ch)
			return false;
	return hashes_at(lx, nq, q->hashes);
}

/* n hex digits at offset k, or -1. */
static long hex_at(const lexer *lx, size_t k, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++) {
		int d = digit_value(at(lx, k + (size_t)i));
		if (d >= 16)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A \u or \U escape at the current '\' (after its hashes: skip bytes). */
static int scan_unicode_escape(lexer *lx, const lex_quote *q, size_t skip, idp_pos pos)
{
	int letter = at(lx, skip);
	int n = letter == 'u' ? 4 : 8;
	long v = hex_at(lx, skip + 1, n);
	if (v < 0)
		return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c: want %d hex digits", letter, n);
	size_t len = skip + 1 + (size_t)n;
	if (letter == 'u' && v >= 0xD800 && v <= 0xDBFF) {
		/* JSON writes characters past U+FFFF as a surrogate pair. */
		long lo = -1;
		if (at(lx, len) == '\\' && hashes_at(lx, len + 1, q->hashes) && at(lx, len + 1 + q->hashes) == 'u')
			lo = hex_at(lx, len + 2 + q->hashes, 4);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c%0*lX: unpaired surrogate", letter, n,
					  v);
		len += 2 + q->hashes + 4;
	} else if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
		return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c%0*lX: not a Unicode character", letter, n,
				  v);
	}
	advn(lx, len);
	return 0;
}

/* Validates and skips the escape at the current '\' (followed by q's
 * hashes, already checked). */
static int scan_escape(lexer *lx, const lex_quote *q)
{
	idp_pos pos = here(lx);
	size_t skip = 1 + q->hashes;
	int c = at(lx, skip);
	bool bytes = q->ch == '\'';
	switch (c) {
	case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\': case '/':
		advn(lx, skip + 1);
		return 0;
	case 'u':
	case 'U': return scan_unicode_escape(lx, q, skip, pos);
	case 'x':
		if (bytes && hex_at(lx, skip + 1, 2) >= 0) {
			advn(lx, skip + 3);
			return 0;
		}
		return idp_err_at(lx->err, pos, NULL, "invalid escape \\x%s", bytes ? ": want 2 hex digits"
								       : " (only in bytes literals '...')");
	default: break;
	}
	if (c == q->ch) {
		advn(lx, skip + 1);
		return 0;
	}
	if (c >= '0' && c <= '7' && bytes) {
		int v = 0;
		for (size_t i = 0; i < 3; i++) {
			int d = at(lx, skip + i);
			if (d < '0' || d > '7')
				return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c: want 3 octal digits", c);
			v = v * 8 + (d - '0');
		}
		if (v > 255)
			return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c%c%c: past 255", c, at(lx, skip + 1),
					  at(lx, skip + 2));
		advn(lx, skip + 3);
		return 0;
	}
	if (c < 0)
		return idp_err_at(lx->err, q->open, NULL, "unterminated string");
	if (c >= 0x21 && c < 0x7F)
		return idp_err_at(lx->err, pos, NULL, "invalid escape \\%c", c);
	return idp_err_at(lx->err, pos, NULL, "invalid escape: '\\' at the end of a line");
}

/* Finishes the last fragment of a multi-line string whose closing
 * delimiter starts at the current offset: the whitespace before it is the
 * indentation, and the newline before that line is not content. */
static void finish_multiline(const lexer *lx, lex_token *t, size_t last_nl)
{
	if (last_nl == SIZE_MAX) {
		/* Only possible in the first fragment: the closing line directly
		 * follows the opening one, so the string is empty. */
		t->ws_off = t->off;
		t->end = t->off;
	} else {
		t->ws_off = last_nl + 1;
		t->end = last_nl > t->off && lx->src[last_nl - 1] == '\r' ? last_nl - 1 : last_nl;
	}
	t->ws_len = lx->off - t->ws_off;
}

/* Scans string content from the current offset up to the closing delimiter
 * (LT_STRING) or an interpolation `\(` (LT_INTERP). continued: this
 * fragment follows an interpolation, so it does not begin a line. */
static int scan_fragment(lexer *lx, const lex_quote *q, bool continued, lex_token *t)
{
	t->off = lx->off;
	t->cpos = here(lx);
	t->quote = *q;
	t->ws_off = t->ws_len = 0;
	/* A multi-line string closes only at a delimiter alone on its line. */
	bool close_ok = q->multiline && !continued;
	size_t last_nl = SIZE_MAX;
	for (;;) {
		int c = at(lx, 0);
		if (c < 0 || (c == '\n' && !q->multiline))
			return idp_err_at(lx->err, q->open, NULL, "unterminated string");
		if (c == q->ch && (close_ok || !q->multiline) && at_close(lx, q)) {
			t->kind = LT_STRING;
			t->end = lx->off;
			if (q->multiline)
				finish_multiline(lx, t, last_nl);
			advn(lx, (q->multiline ? 3 : 1) + q->hashes);
			return 0;
		}
		if (c == '\\' && hashes_at(lx, 1, q->hashes)) {
			if (at(lx, 1 + q->hashes) == '(') {
				if (q->hashes > 0)
					return idp_err_at(lx->err, here(lx), NULL,
							  "unsupported CUE construct interpolation in a raw string");
				t->kind = LT_INTERP;
				t->end = lx->off;
				advn(lx, 2);
				return 0;
			}
			if (scan_escape(lx, q))
				return IDP_EINPUT;
			close_ok = false;
			continue;
		}
		if (c == '\n') {
			close_ok = true;
			last_nl = lx->off;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			close_ok = false;
		}
		adv(lx);
	}
}

/* A string literal at the current quote, after hashes '#' already skipped. */
static int scan_string(lexer *lx, uint32_t hashes, idp_pos open, lex_token *t)
{
	lex_quote q = {(char)at(lx, 0), false, hashes, open};
	if (at(lx, 1) == q.ch && at(lx, 2) == q.ch) {
		q.multiline = true;
		advn(lx, 3);
		if (at(lx, 0) == '\r' && at(lx, 1) == '\n')
			adv(lx);
		if (at(lx, 0) != '\n')
			return idp_err_at(lx->err, open, NULL, "expected newline after multi-line quote %c%c%c",
					  q.ch, q.ch, q.ch);
		adv(lx);
	} else {
		adv(lx);
	}
	return scan_fragment(lx, &q, false, t);
}

int lex_resume(lexer *lx, const lex_quote *q, lex_token *t)
{
	memset(t, 0, sizeof(*t));
	t->pos = here(lx);
	int rc = scan_fragment(lx, q, true, t);
	lx->insert_comma = true;
	lx->line_has_token = true;
	return rc;
}

int lex_check_indent(lexer *lx, const lex_token *t, bool line_start, const lex_token *last)
{
	const char *ws = lx->src + last->ws_off;
	size_t wn = last->ws_len;
	for (size_t i = t->off; i <= t->end; i++) {
		if (!(i == t->off ? line_start : lx->src[i - 1] == '\n'))
			continue;
		/* A line with no characters at all needs no indentation. */
		if (i < lx->len &&
		    (lx->src[i] == '\n' || (lx->src[i] == '\r' && i + 1 < lx->len && lx->src[i + 1] == '\n')))
			continue;
		if (i == t->end && t == last)
			continue; /* the closing line itself */
		if (t->end - i < wn || memcmp(lx->src + i, ws, wn) != 0)
			return idp_err_at(lx->err, lex_pos_at(lx, t->cpos, t->off, i), NULL,
					  "invalid indentation in multi-line string: each line must start "
					  "with the whitespace before the closing %c%c%c",
					  t->quote.ch, t->quote.ch, t->quote.ch);
	}
	return 0;
}

/* Appends code point v as UTF-8. */
static size_t put_utf8(char *out, long v)
{
	if (v < 0x80) {
		out[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		out[0] = (char)(0xC0 | (v >> 6));
		out[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		out[0] = (char)(0xE0 | (v >> 12));
		out[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		out[2] = (char)(0x80 | (v & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (v >> 18));
	out[1] = (char)(0x80 | ((v >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((v >> 6) & 0x3F));
	out[3] = (char)(0x80 | (v & 0x3F));
	return 4;
}

static long hex_value(const char *s, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++)
		v = v * 16 + digit_value((unsigned char)s[i]);
	return v;
}

/* Decodes one (validated) escape at s[i] == '\\'; returns the bytes
 * consumed from s and stores the output in out (*wrote bytes). */
static size_t decode_escape(const char *s, const lex_quote *q, char *out, size_t *wrote)
{
	size_t k = 1 + q->hashes;
	char c = s[k];
	static const char simple_in[] = "abfnrtv\\/";
	static const char simple_out[] = "\a\b\f\n\r\t\v\\/";
	const char *hit = c ? strchr(simple_in, c) : NULL;
	*wrote = 1;
	if (hit) {
		out[0] = simple_out[hit - simple_in];
		return k + 1;
	}
	if (c == q->ch) {
		out[0] = c;
		return k + 1;
	}
	if (c == 'x') {
		out[0] = (char)hex_value(s + k + 1, 2);
		return k + 3;
	}
	if (c >= '0' && c <= '7') {
		out[0] = (char)(((s[k] - '0') << 6) | ((s[k + 1] - '0') << 3) | (s[k + 2] - '0'));
		return k + 3;
	}
	int n = c == 'u' ? 4 : 8;
	long v = hex_value(s + k + 1, n);
	size_t used = k + 1 + (size_t)n;
	if (c == 'u' && v >= 0xD800 && v <= 0xDBFF) {
		long lo = hex_value(s + used + k + 1, 4);
		v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
		used += k + 5;
	}
	*wrote = put_utf8(out, v);
	return used;
}

/* True when n '#' follow s[i] (within s[0..len)). */
static bool hashes_after(const char *s, size_t len, size_t i, uint32_t n)
{
	for (uint32_t k = 1; k <= n; k++)
		if (i + k >= len || s[i + k] != '#')
			return false;
	return true;
}

size_t lex_decode(const lexer *lx, const lex_token *t, size_t ws_len, bool line_start, char *out)
{
	const char *s = lx->src;
	const lex_quote *q = &t->quote;
	size_t o = 0, i = t->off;
	bool bol = q->multiline && line_start; /* at the beginning of a content line */
	while (i < t->end) {
		char c = s[i];
		if (bol) {
			bol = false;
			if (c != '\n' && !(c == '\r' && i + 1 < lx->len && s[i + 1] == '\n'))
				i += ws_len <= t->end - i ? ws_len : t->end - i;
			continue;
		}
		if (c == '\r' && q->multiline) {
			i++; /* multi-line strings hold no carriage returns (spec) */
		} else if (c == '\\' && hashes_after(s, lx->len, i, q->hashes)) {
			size_t wrote;
			i += decode_escape(s + i, q, out + o, &wrote);
			o += wrote;
		} else {
			out[o++] = c;
			i++;
			bol = c == '\n' && q->multiline;
		}
	}
	out[o] = '\0';
	return o;
}

/* ---------------------------------------------------------------- attributes */

/* @name( ... ) with balanced brackets; quoted strings may hold brackets. */
static int scan_attr(lexer *lx, lex_token *t)
{
	idp_pos start = here(lx);
	adv(lx); /* @ */
	if (!is_letter(at(lx, 0)))
		return idp_err_at(lx->err, start, NULL, "invalid attribute: expected a name after '@'");
	while (is_ident_char(at(lx, 0)))
		adv(lx);
	if (at(lx, 0) != '(')
		return idp_err_at(lx->err, here(lx), NULL, "invalid attribute: expected '(' after @%.*s",
				  (int)(lx->off - t->off - 1), lx->src + t->off + 1);
	char stack[64];
	size_t depth = 0;
	for (;;) {
		int c = at(lx, 0);
		if (c < 0)
			return idp_err_at(lx->err, start, NULL, "unterminated attribute");
		if (c == '(' || c == '[' || c == '{') {
			if (depth == sizeof(stack))
				return idp_err_at(lx->err, here(lx), NULL, "attribute nested too deep");
			stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
		} else if (c == ')' || c == ']' || c == '}') {
			if (stack[depth - 1] != c)
				return idp_err_at(lx->err, here(lx), NULL, "invalid attribute: unexpected '%c'", c);
			if (--depth == 0) {
				adv(lx);
				break;
			}
		} else if (c == '"' || c == '\'') {
			idp_pos q = here(lx);
			adv(lx);
			while (at(lx, 0) != c) {
				if (at(lx, 0) < 0 || at(lx, 0) == '\n')
					return idp_err_at(lx->err, q, NULL, "unterminated string");
				if (at(lx, 0) == '\\' && at(lx, 1) >= 0)
					adv(lx);
				adv(lx);
			}
		}
		adv(lx);
	}
	t->kind = LT_ATTR;
	return 0;
}

/* ---------------------------------------------------------------- tokens */

static int scan_ident(lexer *lx, lex_token *t)
{
	idp_pos start = here(lx);
	if (at(lx, 0) == '#')
		adv(lx);
	else if (at(lx, 0) == '_' && at(lx, 1) == '#')
		advn(lx, 2);
	while (is_ident_char(at(lx, 0)))
		adv(lx);
	const char *s = lx->src + t->off;
	size_t n = lx->off - t->off;
	t->kind = LT_IDENT;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].text) == n && memcmp(keywords[i].text, s, n) == 0)
			t->kind = keywords[i].kind;
	if (n >= 2 && s[0] == '_' && s[1] == '_')
		return idp_err_at(lx->err, start, NULL, "unsupported CUE construct reserved identifier %.*s",
				  (int)n, s);
	return 0;
}

/* '#' starts a definition name (#Foo) or a raw string (#"..."#). */
static int scan_hash(lexer *lx, lex_token *t)
{
	idp_pos start = here(lx);
	uint32_t n = 0;
	while (at(lx, n) == '#')
		n++;
	int c = at(lx, n);
	if (c == '"' || c == '\'') {
		advn(lx, n);
		return scan_string(lx, n, start, t);
	}
	if (n == 1 && is_letter(c))
		return scan_ident(lx, t);
	return idp_err_at(lx->err, start, NULL, "illegal character '#'");
}

/* Two-character operators: the second character c2 makes kind2. */
static lex_kind op2(lexer *lx, int c2, lex_kind kind1, lex_kind kind2)
{
	adv(lx);
	if (at(lx, 0) == c2) {
		adv(lx);
		return kind2;
	}
	return kind1;
}

static int scan_dots(lexer *lx, lex_token *t)
{
	if (is_digit(at(lx, 1)))
		return scan_number(lx, t);
	if (at(lx, 1) == '.' && at(lx, 2) == '.') {
		advn(lx, 3);
		t->kind = LT_ELLIPSIS;
		return 0;
	}
	if (at(lx, 1) == '.')
		return idp_err_at(lx->err, here(lx), NULL, "invalid token '..'");
	adv(lx);
	t->kind = LT_PERIOD;
	return 0;
}

/* Operators that start with < > = ! & |. */
static int scan_operator(lexer *lx, lex_token *t)
{
	int c = at(lx, 0), n = at(lx, 1);
	switch (c) {
	case '<': t->kind = op2(lx, '=', LT_LSS, LT_LEQ); return 0;
	case '>': t->kind = op2(lx, '=', LT_GTR, LT_GEQ); return 0;
	case '&': t->kind = op2(lx, '&', LT_AND, LT_LAND); return 0;
	case '|': t->kind = op2(lx, '|', LT_OR, LT_LOR); return 0;
	case '=': t->kind = n == '~' ? op2(lx, '~', LT_BIND, LT_MAT) : op2(lx, '=', LT_BIND, LT_EQL); return 0;
	case '!': t->kind = n == '~' ? op2(lx, '~', LT_NOT, LT_NMAT) : op2(lx, '=', LT_NOT, LT_NEQ); return 0;
	default: break;
	}
	static const char singles[] = "+-*/?,:;()[]{}";
	static const lex_kind kinds[] = {LT_ADD,    LT_SUB,    LT_MUL,    LT_QUO,    LT_OPTION,
					 LT_COMMA,  LT_COLON,  LT_SEMICOLON, LT_LPAREN, LT_RPAREN,
					 LT_LBRACK, LT_RBRACK, LT_LBRACE, LT_RBRACE};
	const char *hit = c > 0 ? strchr(singles, c) : NULL;
	if (!hit) {
		char buf[16];
		return idp_err_at(lx->err, here(lx), NULL, "illegal character %s", char_text(lx, buf));
	}
	adv(lx);
	t->kind = kinds[hit - singles];
	return 0;
}

static int scan_token(lexer *lx, lex_token *t)
{
	int c = at(lx, 0);
	if (c == '_' && at(lx, 1) == '|' && at(lx, 2) == '_') {
		advn(lx, 3);
		t->kind = LT_BOTTOM;
		return 0;
	}
	if (is_letter(c))
		return scan_ident(lx, t);
	if (is_digit(c))
		return scan_number(lx, t);
	switch (c) {
	case '#': return scan_hash(lx, t);
	case '"':
	case '\'': return scan_string(lx, 0, here(lx), t);
	case '.': return scan_dots(lx, t);
	case '@': return scan_attr(lx, t);
	default: return scan_operator(lx, t);
	}
}

/* Whether a newline after a token of this kind ends the declaration. */
static bool ends_line(lex_kind k)
{
	switch (k) {
	case LT_IDENT: case LT_INT: case LT_FLOAT: case LT_STRING: case LT_ATTR: case LT_BOTTOM:
	case LT_PACKAGE: case LT_IMPORT: case LT_FOR: case LT_IN: case LT_IF: case LT_LET:
	case LT_TRUE: case LT_FALSE: case LT_NULL: case LT_OPTION:
	case LT_RPAREN: case LT_RBRACK: case LT_RBRACE: case LT_ELLIPSIS:
		return true;
	default:
		return false;
	}
}

int lex_next(lexer *lx, lex_token *t)
{
	memset(t, 0, sizeof(*t));
	for (;;) {
		skip_space(lx);
		int c = at(lx, 0);
		bool comment = c == '/' && at(lx, 1) == '/';
		if (!lx->insert_comma || (c >= 0 && c != '\n' && !comment))
			break;
		/* The line ends after a token that may end a declaration. */
		lx->insert_comma = false;
		if (c == '\n' && next_line_continues(lx))
			continue;
		t->kind = LT_COMMA;
		t->auto_comma = true;
		t->pos = here(lx);
		t->off = t->end = lx->off;
		if (c == '\n') {
			adv(lx);
			lx->line_has_token = false;
		}
		return 0;
	}
	t->pos = here(lx);
	t->off = lx->off;
	if (lx->grp && lx->grp_last_line + 1 == t->pos.line && !lx->line_has_token) {
		t->doc_off = lx->grp_off;
		t->doc_end = lx->grp_end;
	}
	lx->grp = false;
	if (lx->off >= lx->len) {
		t->kind = LT_EOF;
		t->end = lx->off;
		return 0;
	}
	if (scan_token(lx, t))
		return IDP_EINPUT;
	if (t->kind != LT_STRING && t->kind != LT_INTERP)
		t->end = lx->off;
	lx->insert_comma = ends_line(t->kind);
	lx->line_has_token = true;
	return 0;
}

lex_kind lex_peek(lexer *lx)
{
	lexer saved = *lx;
	idp_err scratch = IDP_ERR_INIT;
	lex_token t;
	lx->err = &scratch;
	lex_kind k = lex_next(lx, &t) ? LT_EOF : t.kind;
	idp_err_clear(&scratch);
	*lx = saved;
	return k;
}
