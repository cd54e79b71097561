/*
 * Go's fmt.Sprintf over JSON values. Crossplane's string Format transform
 * and combine patches call fmt.Sprintf, so a composition's names and URLs
 * depend on its exact behaviour, error outputs included (%!s(MISSING),
 * %!d(string=x), %!(EXTRA int64=1)).
 */
#include "compose/compose_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gofmt {
	idp_buf *out;
	int wid, prec;
	bool wid_present, prec_present;
	bool minus, plus, sharp, space, zero;
	bool plus_v, sharp_v;
} gofmt;

static void clear_flags(gofmt *f)
{
	idp_buf *out = f->out;
	*f = (gofmt){0};
	f->out = out;
}

static size_t rune_count(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			count++;
	return count;
}

static void write_padding(gofmt *f, int n)
{
	for (int i = 0; i < n; i++)
		idp_buf_putc(f->out, f->zero && !f->minus ? '0' : ' ');
}

static void pad(gofmt *f, const char *s, size_t n)
{
	if (!f->wid_present || f->wid == 0) {
		idp_buf_append(f->out, s, n);
		return;
	}
	int width = f->wid - (int)rune_count(s, n);
	if (!f->minus) {
		write_padding(f, width);
		idp_buf_append(f->out, s, n);
	} else {
		idp_buf_append(f->out, s, n);
		write_padding(f, width);
	}
}

static void pad_str(gofmt *f, const char *s)
{
	pad(f, s, strlen(s));
}

static void print_value(gofmt *f, const idp_doc_node *v, int verb, int depth);

static void put_rune(idp_buf *b, uint32_t r)
{
	char tmp[4];
	size_t n;
	if (r < 0x80) {
		tmp[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		tmp[0] = (char)(0xC0 | (r >> 6));
		tmp[1] = (char)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		tmp[0] = (char)(0xE0 | (r >> 12));
		tmp[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		tmp[2] = (char)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		tmp[0] = (char)(0xF0 | (r >> 18));
		tmp[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		tmp[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		tmp[3] = (char)(0x80 | (r & 0x3F));
		n = 4;
	}
	idp_buf_append(b, tmp, n);
}

static void bad_verb(gofmt *f, const idp_doc_node *v, int verb)
{
	idp_buf_puts(f->out, "%!");
	put_rune(f->out, (uint32_t)verb);
	idp_buf_putc(f->out, '(');
	if (!v || v->kind == IDP_DOC_NULL) {
		idp_buf_puts(f->out, "<nil>");
	} else {
		idp_buf_puts(f->out, compose_go_type(v));
		idp_buf_putc(f->out, '=');
		/* Go prints the value with %v and the flags, width and precision
		 * still in force: "%*d" of (5, "foo") gives %!d(string=  foo). */
		print_value(f, v, 'v', 0);
	}
	idp_buf_putc(f->out, ')');
}

/* ---------------------------------------------------------------- integers */

static void fmt_integer(gofmt *f, int64_t sv, bool is_signed, unsigned base, bool upper, bool unicode)
{
	const char *digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
	if (f->prec_present && f->prec == 0 && sv == 0) {
		/* Go still pads: an empty number with width becomes spaces. */
		bool zero = f->zero;
		f->zero = false;
		write_padding(f, f->wid_present ? f->wid : 0);
		f->zero = zero;
		return;
	}
	bool negative = is_signed && sv < 0;
	uint64_t u = negative ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
	int prec = 0;
	bool zero = f->zero;
	if (f->prec_present) {
		prec = f->prec;
		zero = false;
	} else if (f->zero && f->wid_present && !f->minus && f->wid > 0) {
		prec = f->wid;
		if (negative || f->plus || f->space)
			prec--;
	}
	size_t cap = 72 + (size_t)(prec > 0 ? prec : 0);
	char *buf = idp_xmalloc(cap);
	size_t i = cap;
	do {
		buf[--i] = digits[u % base];
		u /= base;
	} while (u);
	while (i > 0 && (int)(cap - i) < prec)
		buf[--i] = '0';
	if (f->sharp) {
		if (base == 8 && buf[i] != '0')
			buf[--i] = '0';
		else if (base == 16) {
			buf[--i] = digits[16];
			buf[--i] = '0';
		} else if (base == 2) {
			buf[--i] = 'b';
			buf[--i] = '0';
		}
	}
	if (unicode) {
		buf[--i] = '+';
		buf[--i] = 'U';
	}
	if (negative)
		buf[--i] = '-';
	else if (f->plus)
		buf[--i] = '+';
	else if (f->space)
		buf[--i] = ' ';
	bool saved = f->zero;
	f->zero = zero;
	pad(f, buf + i, cap - i);
	f->zero = saved;
	free(buf);
}

static void fmt_int(gofmt *f, int64_t v, int verb)
{
	switch (verb) {
	case 'v':
	case 'd':
		fmt_integer(f, v, true, 10, false, false);
		return;
	case 'b':
		fmt_integer(f, v, true, 2, false, false);
		return;
	case 'o':
		fmt_integer(f, v, true, 8, false, false);
		return;
	case 'O': {
		/* %O always prefixes 0o. */
		idp_buf tmp = IDP_BUF_INIT;
		gofmt g = *f;
		g.out = &tmp;
		g.wid_present = false;
		g.sharp = false;
		g.plus = g.space = false;
		uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		fmt_integer(&g, (int64_t)u, false, 8, false, false);
		idp_buf s = IDP_BUF_INIT;
		if (v < 0)
			idp_buf_putc(&s, '-');
		else if (f->plus)
			idp_buf_putc(&s, '+');
		else if (f->space)
			idp_buf_putc(&s, ' ');
		idp_buf_puts(&s, "0o");
		idp_buf_append(&s, tmp.ptr ? tmp.ptr : "", tmp.len);
		pad(f, s.ptr, s.len);
		idp_buf_free(&tmp);
		idp_buf_free(&s);
		return;
	}
	case 'x':
		fmt_integer(f, v, true, 16, false, false);
		return;
	case 'X':
		fmt_integer(f, v, true, 16, true, false);
		return;
	case 'c': {
		idp_buf tmp = IDP_BUF_INIT;
		uint32_t r = v < 0 || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000) ? 0xFFFD : (uint32_t)v;
		put_rune(&tmp, r);
		pad(f, tmp.ptr, tmp.len);
		idp_buf_free(&tmp);
		return;
	}
	case 'q': {
		idp_buf tmp = IDP_BUF_INIT;
		uint32_t r = v < 0 || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000) ? 0xFFFD : (uint32_t)v;
		idp_buf_putc(&tmp, '\'');
		if (r == '\'' || r == '\\') {
			idp_buf_putc(&tmp, '\\');
			idp_buf_putc(&tmp, (char)r);
		} else if (r == '\n') {
			idp_buf_puts(&tmp, "\\n");
		} else if (r == '\t') {
			idp_buf_puts(&tmp, "\\t");
		} else if (r < 0x20 || r == 0x7F) {
			idp_buf_printf(&tmp, "\\x%02x", r);
		} else if (r >= 0x80 && f->plus) {
			if (r < 0x10000)
				idp_buf_printf(&tmp, "\\u%04x", r);
			else
				idp_buf_printf(&tmp, "\\U%08x", r);
		} else {
			put_rune(&tmp, r);
		}
		idp_buf_putc(&tmp, '\'');
		pad(f, tmp.ptr, tmp.len);
		idp_buf_free(&tmp);
		return;
	}
	case 'U': {
		gofmt g = *f;
		idp_buf tmp = IDP_BUF_INIT;
		g.out = &tmp;
		g.wid_present = false;
		g.sharp = false;
		if (!g.prec_present || g.prec < 4) {
			g.prec_present = true;
			g.prec = 4;
		}
		fmt_integer(&g, v, false, 16, true, true);
		if (f->sharp && v >= 0x20 && v <= 0x10FFFF && v != 0x7F) {
			idp_buf_puts(&tmp, " '");
			put_rune(&tmp, (uint32_t)v);
			idp_buf_putc(&tmp, '\'');
		}
		pad(f, tmp.ptr, tmp.len);
		idp_buf_free(&tmp);
		return;
	}
	default: {
		idp_doc_node n = {.kind = IDP_DOC_INT, .as.i = v};
		bad_verb(f, &n, verb);
	}
	}
}

/* ---------------------------------------------------------------- floats */

/* The '#' flag: always a decimal point and, for %g, trailing zeros up to
 * `digits` significant digits (6 when no precision was given). */
static void sharp_float(idp_buf *num, char fc, int digits)
{
	const char *s = idp_buf_cstr(num);
	const char *e = strpbrk(s, fc == 'x' || fc == 'X' ? "pP" : "eE");
	size_t mant_end = e ? (size_t)(e - s) : num->len;
	int significant = 0;
	bool seen_nonzero = false, has_point = false;
	for (size_t i = 0; i < mant_end; i++) {
		char c = s[i];
		if (c == '.')
			has_point = true;
		else if (c >= '1' && c <= '9')
			seen_nonzero = true;
		if (c >= '0' && c <= '9' && seen_nonzero)
			significant++;
	}
	if (!seen_nonzero)
		significant = 1;
	idp_buf t = IDP_BUF_INIT;
	idp_buf_append(&t, s, mant_end);
	if (!has_point)
		idp_buf_putc(&t, '.');
	if (fc == 'g' || fc == 'G')
		for (int i = significant; i < digits; i++)
			idp_buf_putc(&t, '0');
	idp_buf_puts(&t, s + mant_end);
	idp_buf_free(num);
	*num = t;
}

static void fmt_float(gofmt *f, double v, int verb)
{
	char fc;
	int prec;
	switch (verb) {
	case 'v':
		fc = 'g';
		prec = -1;
		break;
	case 'b':
	case 'g':
	case 'G':
	case 'x':
	case 'X':
		fc = (char)verb;
		prec = -1;
		break;
	case 'f':
	case 'e':
	case 'E':
		fc = (char)verb;
		prec = 6;
		break;
	case 'F':
		fc = 'f';
		prec = 6;
		break;
	default: {
		idp_doc_node n = {.kind = IDP_DOC_FLOAT, .as.f = v};
		bad_verb(f, &n, verb);
		return;
	}
	}
	if (f->prec_present && fc != 'b')
		prec = f->prec;
	idp_buf num = IDP_BUF_INIT;
	compose_format_float(&num, v, fc, prec);
	if (f->sharp && fc != 'b' && isfinite(v))
		sharp_float(&num, fc, fc == 'g' || fc == 'G' || fc == 'x' || fc == 'X' ? (prec < 0 ? 6 : prec) : 0);
	const char *s = idp_buf_cstr(&num);
	char sign = '+';
	if (*s == '-' || *s == '+') {
		sign = *s;
		s++;
	}
	if (f->space && sign == '+' && !f->plus)
		sign = ' ';
	if (*s == 'I' || *s == 'N') {
		bool zero = f->zero;
		f->zero = false;
		idp_buf t = IDP_BUF_INIT;
		if (!(*s == 'N' && !f->space && !f->plus))
			idp_buf_putc(&t, sign);
		idp_buf_puts(&t, s);
		pad(f, t.ptr, t.len);
		idp_buf_free(&t);
		f->zero = zero;
		idp_buf_free(&num);
		return;
	}
	if (f->plus || sign != '+') {
		idp_buf t = IDP_BUF_INIT;
		if (f->zero && !f->minus && f->wid_present && f->wid > (int)strlen(s) + 1) {
			idp_buf_putc(f->out, sign);
			int wid = f->wid;
			f->wid--;
			pad_str(f, s);
			f->wid = wid;
		} else {
			idp_buf_putc(&t, sign);
			idp_buf_puts(&t, s);
			pad(f, t.ptr, t.len);
		}
		idp_buf_free(&t);
		idp_buf_free(&num);
		return;
	}
	pad_str(f, s);
	idp_buf_free(&num);
}

/* ---------------------------------------------------------------- strings */

static size_t truncate_len(gofmt *f, const char *s, size_t n)
{
	if (!f->prec_present)
		return n;
	int left = f->prec;
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (left == 0)
				return i;
			left--;
		}
	}
	return n;
}

/* Decodes one UTF-8 rune; invalid bytes give 0xFFFD with width 1. */
static uint32_t decode_rune(const char *s, size_t n, size_t *w)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] < 0x80) {
		*w = 1;
		return u[0];
	}
	size_t need = u[0] >= 0xF0 && u[0] < 0xF5 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC2 && u[0] < 0xE0 ? 2 : 0;
	if (need == 0 || need > n) {
		*w = 1;
		return 0xFFFD;
	}
	uint32_t r = u[0] & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
	for (size_t i = 1; i < need; i++) {
		if ((u[i] & 0xC0) != 0x80) {
			*w = 1;
			return 0xFFFD;
		}
		r = (r << 6) | (u[i] & 0x3F);
	}
	if ((need == 3 && (r < 0x800 || (r >= 0xD800 && r < 0xE000))) || (need == 4 && (r < 0x10000 || r > 0x10FFFF))) {
		*w = 1;
		return 0xFFFD;
	}
	*w = need;
	return r;
}

/* strconv.Quote (ascii: QuoteToASCII). Printability of non-ASCII runes is
 * approximated: controls and the Unicode separator ranges are escaped. */
static void go_quote(idp_buf *out, const char *s, size_t n, bool ascii)
{
	idp_buf_putc(out, '"');
	for (size_t i = 0; i < n;) {
		size_t w;
		uint32_t r = decode_rune(s + i, n - i, &w);
		if (r == 0xFFFD && w == 1 && (unsigned char)s[i] >= 0x80) {
			idp_buf_printf(out, "\\x%02x", (unsigned char)s[i]);
			i++;
			continue;
		}
		i += w;
		switch (r) {
		case '"':
			idp_buf_puts(out, "\\\"");
			continue;
		case '\\':
			idp_buf_puts(out, "\\\\");
			continue;
		case '\a':
			idp_buf_puts(out, "\\a");
			continue;
		case '\b':
			idp_buf_puts(out, "\\b");
			continue;
		case '\f':
			idp_buf_puts(out, "\\f");
			continue;
		case '\n':
			idp_buf_puts(out, "\\n");
			continue;
		case '\r':
			idp_buf_puts(out, "\\r");
			continue;
		case '\t':
			idp_buf_puts(out, "\\t");
			continue;
		case '\v':
			idp_buf_puts(out, "\\v");
			continue;
		}
		if (r < 0x20 || r == 0x7F) {
			idp_buf_printf(out, "\\x%02x", r);
		} else if (r < 0x80) {
			idp_buf_putc(out, (char)r);
		} else if (ascii || (r >= 0x80 && r < 0xA0) || r == 0xAD || (r >= 0x2028 && r <= 0x202F) ||
			   (r >= 0x200B && r <= 0x200F) || r == 0xFEFF || (r >= 0xE000 && r < 0xF900)) {
			if (r < 0x10000)
				idp_buf_printf(out, "\\u%04x", r);
			else
				idp_buf_printf(out, "\\U%08x", r);
		} else {
			put_rune(out, r);
		}
	}
	idp_buf_putc(out, '"');
}

static bool can_backquote(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t w;
		uint32_t r = decode_rune(s + i, n - i, &w);
		if ((r == 0xFFFD && w == 1 && (unsigned char)s[i] >= 0x80) || r == '`' || r == 0xFEFF)
			return false;
		if ((r < ' ' && r != '\t') || r == 0x7F)
			return false;
		i += w;
	}
	return true;
}

static void fmt_hex_bytes(gofmt *f, const char *s, size_t n, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
	size_t length = n;
	if (f->prec_present && (size_t)f->prec < length)
		length = (size_t)f->prec;
	int width = (int)(2 * length);
	if (width > 0) {
		if (f->space) {
			if (f->sharp)
				width *= 2;
			width += (int)length - 1;
		} else if (f->sharp) {
			width += 2;
		}
	} else {
		if (f->wid_present)
			write_padding(f, f->wid);
		return;
	}
	if (f->wid_present && f->wid > width && !f->minus)
		write_padding(f, f->wid - width);
	if (f->sharp) {
		idp_buf_putc(f->out, '0');
		idp_buf_putc(f->out, digits[16]);
	}
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)s[i];
		if (f->space && i > 0) {
			idp_buf_putc(f->out, ' ');
			if (f->sharp) {
				idp_buf_putc(f->out, '0');
				idp_buf_putc(f->out, digits[16]);
			}
		}
		idp_buf_putc(f->out, digits[c >> 4]);
		idp_buf_putc(f->out, digits[c & 15]);
	}
	if (f->wid_present && f->wid > width && f->minus)
		write_padding(f, f->wid - width);
}

static void fmt_string(gofmt *f, const idp_doc_node *v, int verb)
{
	const char *s = v->as.str.ptr;
	size_t n = v->as.str.len;
	switch (verb) {
	case 'v':
		if (!f->sharp_v) {
			pad(f, s, truncate_len(f, s, n));
			return;
		}
		/* %#v quotes */
		__attribute__((fallthrough));
	case 'q': {
		n = truncate_len(f, s, n);
		idp_buf t = IDP_BUF_INIT;
		if (f->sharp && !f->sharp_v && can_backquote(s, n)) {
			idp_buf_putc(&t, '`');
			idp_buf_append(&t, s, n);
			idp_buf_putc(&t, '`');
		} else {
			go_quote(&t, s, n, f->plus);
		}
		pad(f, t.ptr, t.len);
		idp_buf_free(&t);
		return;
	}
	case 's':
		pad(f, s, truncate_len(f, s, n));
		return;
	case 'x':
	case 'X':
		fmt_hex_bytes(f, s, n, verb == 'X');
		return;
	default:
		bad_verb(f, v, verb);
	}
}

/* ---------------------------------------------------------------- values */

static int entry_cmp(const void *x, const void *y)
{
	const idp_doc_entry *a = *(const idp_doc_entry *const *)x, *b = *(const idp_doc_entry *const *)y;
	return strcmp(a->key, b->key);
}

static void print_value(gofmt *f, const idp_doc_node *v, int verb, int depth)
{
	if (!v || v->kind == IDP_DOC_NULL) {
		if (depth > 0) {
			idp_buf_puts(f->out, f->sharp_v ? "interface {}(nil)" : "<nil>");
			return;
		}
		if (verb == 'v' || verb == 'T')
			pad_str(f, "<nil>");
		else
			bad_verb(f, NULL, verb);
		return;
	}
	if (depth == 0 && verb == 'T') {
		gofmt g = *f;
		g.prec_present = false;
		pad_str(&g, compose_go_type(v));
		return;
	}
	if (depth == 0 && verb == 'p') {
		if (v->kind == IDP_DOC_MAP || v->kind == IDP_DOC_SEQ)
			pad_str(f, "0xc000010000"); /* an address: meaningless in a manifest */
		else
			bad_verb(f, v, verb);
		return;
	}
	switch (v->kind) {
	case IDP_DOC_BOOL:
		if (verb == 't' || verb == 'v')
			pad_str(f, v->as.b ? "true" : "false");
		else
			bad_verb(f, v, verb);
		return;
	case IDP_DOC_INT:
		fmt_int(f, v->as.i, verb);
		return;
	case IDP_DOC_FLOAT:
		fmt_float(f, v->as.f, verb);
		return;
	case IDP_DOC_STR:
		fmt_string(f, v, verb);
		return;
	case IDP_DOC_SEQ:
		if (f->sharp_v) {
			idp_buf_puts(f->out, "[]interface {}{");
			for (size_t i = 0; i < v->as.seq.len; i++) {
				if (i)
					idp_buf_puts(f->out, ", ");
				print_value(f, v->as.seq.items[i], verb, depth + 1);
			}
			idp_buf_putc(f->out, '}');
			return;
		}
		idp_buf_putc(f->out, '[');
		for (size_t i = 0; i < v->as.seq.len; i++) {
			if (i)
				idp_buf_putc(f->out, ' ');
			print_value(f, v->as.seq.items[i], verb, depth + 1);
		}
		idp_buf_putc(f->out, ']');
		return;
	case IDP_DOC_MAP: {
		size_t n = v->as.map.len;
		const idp_doc_entry **sorted = idp_xmalloc((n ? n : 1) * sizeof(*sorted));
		for (size_t i = 0; i < n; i++)
			sorted[i] = &v->as.map.items[i];
		qsort(sorted, n, sizeof(*sorted), entry_cmp);
		idp_buf_puts(f->out, f->sharp_v ? "map[string]interface {}{" : "map[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				idp_buf_puts(f->out, f->sharp_v ? ", " : " ");
			idp_doc_node key = {.kind = IDP_DOC_STR};
			key.as.str.ptr = sorted[i]->key;
			key.as.str.len = strlen(sorted[i]->key);
			print_value(f, &key, verb, depth + 1);
			idp_buf_putc(f->out, ':');
			print_value(f, sorted[i]->value, verb, depth + 1);
		}
		idp_buf_putc(f->out, f->sharp_v ? '}' : ']');
		free(sorted);
		return;
	}
	case IDP_DOC_NULL:
		return;
	}
}

/* ---------------------------------------------------------------- Sprintf */

static bool too_large(int x)
{
	return x > 1000000 || x < -1000000;
}

static int parse_num(const char *s, size_t start, size_t end, int *num, size_t *newi)
{
	*num = 0;
	bool isnum = false;
	size_t i = start;
	for (; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
		if (too_large(*num)) {
			*num = 0;
			*newi = end;
			return false;
		}
		*num = *num * 10 + (s[i] - '0');
		isnum = true;
	}
	*newi = i;
	return isnum;
}

typedef struct printer {
	gofmt f;
	bool reordered, good_arg_num;
} printer;

/* Go's argNumber: an explicit [n] argument index at format[*i]. Returns
 * the argument to use next, moves *i past the index and says whether an
 * index was parsed (even one out of range, which spoils the verb). */
static size_t arg_number(printer *p, size_t arg_num, const char *format, size_t *i, size_t end, size_t nargs,
			 bool *found)
{
	*found = false;
	if (*i >= end || format[*i] != '[')
		return arg_num;
	p->reordered = true;
	size_t wid = 1;
	bool ok = false;
	int index = 0;
	if (end - *i >= 3) {
		for (size_t j = *i + 1; j < end; j++) {
			if (format[j] != ']')
				continue;
			int width;
			size_t newi;
			ok = parse_num(format, *i + 1, j, &width, &newi) && newi == j;
			index = ok ? width - 1 : 0;
			wid = j - *i + 1;
			break;
		}
	}
	*i += wid;
	*found = ok;
	if (ok && index >= 0 && (size_t)index < nargs)
		return (size_t)index;
	p->good_arg_num = false;
	return arg_num;
}

static bool int_from_arg(const idp_doc_node *const *args, size_t nargs, size_t *arg_num, int *out)
{
	*out = 0;
	if (*arg_num >= nargs)
		return false;
	const idp_doc_node *v = args[*arg_num];
	bool ok = false;
	if (v && v->kind == IDP_DOC_INT) {
		if (v->as.i >= -1000000 && v->as.i <= 1000000) {
			*out = (int)v->as.i;
			ok = true;
		}
	}
	(*arg_num)++;
	return ok;
}

void idp_compose_sprintf(idp_buf *out, const char *format, const idp_doc_node *const *args, size_t nargs)
{
	printer p = {{.out = out}, false, true};
	size_t end = strlen(format), arg_num = 0;
	for (size_t i = 0; i < end;) {
		p.good_arg_num = true;
		size_t lasti = i;
		while (i < end && format[i] != '%')
			i++;
		if (i > lasti)
			idp_buf_append(out, format + lasti, i - lasti);
		if (i >= end)
			break;
		i++;
		clear_flags(&p.f);
		for (; i < end; i++) {
			char c = format[i];
			if (c == '#')
				p.f.sharp = true;
			else if (c == '0')
				p.f.zero = true;
			else if (c == '+')
				p.f.plus = true;
			else if (c == '-')
				p.f.minus = true;
			else if (c == ' ')
				p.f.space = true;
			else
				break;
		}
		bool after_index;
		arg_num = arg_number(&p, arg_num, format, &i, end, nargs, &after_index);
		if (i < end && format[i] == '*') {
			i++;
			p.f.wid_present = int_from_arg(args, nargs, &arg_num, &p.f.wid);
			if (!p.f.wid_present)
				idp_buf_puts(out, "%!(BADWIDTH)");
			if (p.f.wid < 0) {
				p.f.wid = -p.f.wid;
				p.f.minus = true;
				p.f.zero = false;
			}
			after_index = false;
		} else {
			p.f.wid_present = parse_num(format, i, end, &p.f.wid, &i);
			if (after_index && p.f.wid_present)
				p.good_arg_num = false;
		}
		if (i + 1 < end && format[i] == '.') {
			i++;
			if (after_index)
				p.good_arg_num = false;
			arg_num = arg_number(&p, arg_num, format, &i, end, nargs, &after_index);
			if (i < end && format[i] == '*') {
				i++;
				p.f.prec_present = int_from_arg(args, nargs, &arg_num, &p.f.prec);
				if (p.f.prec < 0) {
					p.f.prec = 0;
					p.f.prec_present = false;
				}
				if (!p.f.prec_present)
					idp_buf_puts(out, "%!(BADPREC)");
				after_index = false;
			} else {
				p.f.prec_present = parse_num(format, i, end, &p.f.prec, &i);
				if (!p.f.prec_present) {
					p.f.prec = 0;
					p.f.prec_present = true;
				}
			}
		}
		if (!after_index)
			arg_num = arg_number(&p, arg_num, format, &i, end, nargs, &after_index);
		if (i >= end) {
			idp_buf_puts(out, "%!(NOVERB)");
			break;
		}
		size_t w;
		int verb = (int)decode_rune(format + i, end - i, &w);
		i += w;
		if (verb == '%') {
			idp_buf_putc(out, '%');
		} else if (!p.good_arg_num) {
			idp_buf_puts(out, "%!");
			put_rune(out, (uint32_t)verb);
			idp_buf_puts(out, "(BADINDEX)");
		} else if (arg_num >= nargs) {
			idp_buf_puts(out, "%!");
			put_rune(out, (uint32_t)verb);
			idp_buf_puts(out, "(MISSING)");
		} else {
			if (verb == 'v') {
				p.f.sharp_v = p.f.sharp;
				p.f.sharp = false;
				p.f.plus_v = p.f.plus;
				p.f.plus = false;
			}
			print_value(&p.f, args[arg_num], verb, 0);
			arg_num++;
		}
	}
	if (!p.reordered && arg_num < nargs) {
		clear_flags(&p.f);
		idp_buf_puts(out, "%!(EXTRA ");
		for (size_t k = arg_num; k < nargs; k++) {
			if (k > arg_num)
				idp_buf_puts(out, ", ");
			if (!args[k] || args[k]->kind == IDP_DOC_NULL) {
				idp_buf_puts(out, "<nil>");
			} else {
				idp_buf_puts(out, compose_go_type(args[k]));
				idp_buf_putc(out, '=');
				print_value(&p.f, args[k], 'v', 0);
			}
		}
		idp_buf_putc(out, ')');
	}
}
