/*
 * JSON values the way the Go code of Crossplane sees them: their Go types,
 * equality, float formatting (strconv), encoding/json marshalling and
 * unmarshalling. Patches pass values through these, so a composition's
 * output is byte for byte what Crossplane writes.
 */
#include "compose/compose_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *compose_go_type(const idp_doc_node *v)
{
	if (!v)
		return "<nil>";
	switch (v->kind) {
	case IDP_DOC_NULL:
		return "<nil>";
	case IDP_DOC_BOOL:
		return "bool";
	case IDP_DOC_INT:
		return "int64";
	case IDP_DOC_FLOAT:
		return "float64";
	case IDP_DOC_STR:
		return "string";
	case IDP_DOC_MAP:
		return "map[string]interface {}";
	case IDP_DOC_SEQ:
		return "[]interface {}";
	}
	return "<nil>";
}

/* ---------------------------------------------------------------- floats */

/* The shortest digits that read back as f (strconv's shortest mode):
 * digits[] without a point, *nd of them, decimal point after *dp digits. */
static void shortest_digits(double f, char *digits, int *nd, int *dp)
{
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f || prec == 17)
			break;
	}
	/* tmp is d.ddde[+-]XX */
	int n = 0;
	const char *p = tmp;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n++] = *p;
	int exp = atoi(p + 1);
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = 0;
	*nd = n;
	*dp = exp + 1;
	if (n == 1 && digits[0] == '0') {
		*nd = 0;
		*dp = 0;
	}
}

static void put_exp(idp_buf *out, char e, int exp)
{
	idp_buf_putc(out, e);
	idp_buf_putc(out, exp < 0 ? '-' : '+');
	if (exp < 0)
		exp = -exp;
	if (exp < 10)
		idp_buf_printf(out, "0%d", exp);
	else
		idp_buf_printf(out, "%d", exp);
}

/* %e / %f of the shortest digits, as strconv's fmtE / fmtF. */
static void shortest_e(idp_buf *out, const char *d, int nd, int dp, int prec, char e)
{
	idp_buf_putc(out, nd ? d[0] : '0');
	if (prec > 0) {
		idp_buf_putc(out, '.');
		for (int i = 1; i <= prec; i++)
			idp_buf_putc(out, i < nd ? d[i] : '0');
	}
	put_exp(out, e, nd ? dp - 1 : 0);
}

static void shortest_f(idp_buf *out, const char *d, int nd, int dp, int prec)
{
	if (dp > 0) {
		for (int i = 0; i < dp; i++)
			idp_buf_putc(out, i < nd ? d[i] : '0');
	} else {
		idp_buf_putc(out, '0');
	}
	if (prec > 0) {
		idp_buf_putc(out, '.');
		for (int i = 0; i < prec; i++) {
			int j = dp + i;
			idp_buf_putc(out, j >= 0 && j < nd ? d[j] : '0');
		}
	}
}

void compose_format_float(idp_buf *out, double f, char fmt, int prec)
{
	if (isnan(f)) {
		idp_buf_puts(out, "NaN");
		return;
	}
	if (isinf(f)) {
		idp_buf_puts(out, f > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (fmt == 'x' || fmt == 'X') {
		char tmp[64];
		if (prec < 0)
			snprintf(tmp, sizeof(tmp), fmt == 'x' ? "%a" : "%A", f);
		else
			snprintf(tmp, sizeof(tmp), fmt == 'x' ? "%.*a" : "%.*A", prec, f);
		/* C writes p+1, Go p+01. */
		char *p = strchr(tmp, fmt == 'x' ? 'p' : 'P');
		if (p && p[1] && p[2] && !p[3]) {
			idp_buf_append(out, tmp, (size_t)(p - tmp) + 2);
			idp_buf_putc(out, '0');
			idp_buf_puts(out, p + 2);
		} else {
			idp_buf_puts(out, tmp);
		}
		return;
	}
	if (fmt == 'b') {
		int exp;
		double m = frexp(fabs(f), &exp);
		int64_t mant = (int64_t)ldexp(m, 53);
		if (f == 0)
			exp = -1074 + 53;
		idp_buf_printf(out, "%s%lldp%+d", signbit(f) ? "-" : "", (long long)mant, exp - 53);
		return;
	}
	if (prec >= 0 && fmt != 'g' && fmt != 'G') {
		char tmp[512];
		if (prec > 400)
			prec = 400;
		snprintf(tmp, sizeof(tmp), fmt == 'E' ? "%.*E" : fmt == 'e' ? "%.*e" : "%.*f", prec, f);
		idp_buf_puts(out, tmp);
		return;
	}
	if (prec >= 0) {
		char tmp[512];
		if (prec > 400)
			prec = 400;
		snprintf(tmp, sizeof(tmp), fmt == 'G' ? "%.*G" : "%.*g", prec == 0 ? 1 : prec, f);
		idp_buf_puts(out, tmp);
		return;
	}
	char d[32];
	int nd, dp;
	if (signbit(f))
		idp_buf_putc(out, '-');
	shortest_digits(fabs(f), d, &nd, &dp);
	char e = fmt == 'G' ? 'E' : 'e';
	if (fmt == 'e' || fmt == 'E') {
		shortest_e(out, d, nd, dp, nd ? nd - 1 : 0, fmt);
		return;
	}
	if (fmt == 'f') {
		shortest_f(out, d, nd, dp, nd - dp > 0 ? nd - dp : 0);
		return;
	}
	/* 'g' shortest: %e when the exponent is < -4 or >= 21 for JSON, 6 here. */
	int exp = nd ? dp - 1 : 0;
	if (exp < -4 || exp >= 6) {
		shortest_e(out, d, nd, dp, nd ? nd - 1 : 0, e);
		return;
	}
	shortest_f(out, d, nd, dp, nd - dp > 0 ? nd - dp : 0);
}

/* ---------------------------------------------------------------- base64 */

void compose_base64_encode(idp_buf *out, const unsigned char *s, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
		idp_buf_append(out, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=', '='};
		idp_buf_append(out, q, 4);
	}
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* base64.StdEncoding.DecodeString: padding required, \r and \n ignored,
 * errors name the offset of the first bad byte as Go does. */
int compose_base64_decode(idp_buf *out, const char *s, size_t n, idp_err *err)
{
	size_t i = 0;
	for (;;) {
		int q[4];
		size_t got = 0, pads = 0;
		while (got < 4) {
			while (i < n && (s[i] == '\r' || s[i] == '\n'))
				i++;
			if (i >= n)
				break;
			char c = s[i];
			if (c == '=') {
				/* Padding: only in the last two positions of a quantum. */
				if (got < 2)
					return idp_err_set(err, IDP_EINPUT, "illegal base64 data at input byte %zu", i);
				size_t j = i + 1;
				pads = 1;
				if (got == 2) {
					while (j < n && (s[j] == '\r' || s[j] == '\n'))
						j++;
					if (j >= n || s[j] != '=')
						return idp_err_set(err, IDP_EINPUT, "illegal base64 data at input byte %zu",
								   j >= n ? n : j);
					j++;
					pads = 2;
				}
				while (j < n && (s[j] == '\r' || s[j] == '\n'))
					j++;
				if (j < n)
					return idp_err_set(err, IDP_EINPUT, "illegal base64 data at input byte %zu", j);
				i = j;
				break;
			}
			int v = b64_value(c);
			if (v < 0)
				return idp_err_set(err, IDP_EINPUT, "illegal base64 data at input byte %zu", i);
			q[got++] = v;
			i++;
		}
		if (got == 0 && pads == 0)
			return 0;
		if (got + pads < 4) {
			/* Go reports where the incomplete quantum starts. */
			return idp_err_set(err, IDP_EINPUT, "illegal base64 data at input byte %zu", n - got);
		}
		uint32_t v = 0;
		for (size_t k = 0; k < got; k++)
			v |= (uint32_t)q[k] << (18 - 6 * k);
		unsigned char bytes[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		idp_buf_append(out, bytes, got - 1);
		if (pads)
			return 0;
	}
}

/* ---------------------------------------------------------------- JSON out */

static void marshal_string(const char *s, size_t len, idp_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	idp_buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			idp_buf_putc(out, '\\');
			idp_buf_putc(out, (char)c);
		} else if (c == '\n') {
			idp_buf_puts(out, "\\n");
		} else if (c == '\r') {
			idp_buf_puts(out, "\\r");
		} else if (c == '\t') {
			idp_buf_puts(out, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			/* encoding/json escapes HTML characters by default. */
			idp_buf_puts(out, "\\u00");
			idp_buf_putc(out, hex[c >> 4]);
			idp_buf_putc(out, hex[c & 15]);
		} else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
			   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
			idp_buf_puts(out, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
			i += 2;
		} else {
			idp_buf_putc(out, (char)c);
		}
	}
	idp_buf_putc(out, '"');
}

/* encoding/json's float format: like 'g' but %e only past 1e21 / below 1e-6. */
static void marshal_float(double f, idp_buf *out)
{
	double abs = fabs(f);
	char fmt = 'f';
	if (abs != 0 && (abs < 1e-6 || abs >= 1e21))
		fmt = 'e';
	idp_buf tmp = IDP_BUF_INIT;
	compose_format_float(&tmp, f, fmt, -1);
	const char *s = idp_buf_cstr(&tmp);
	/* clean up e-09 to e-9 */
	const char *e = strchr(s, 'e');
	if (fmt == 'e' && e && e[1] == '-' && e[2] == '0' && e[3]) {
		idp_buf_append(out, s, (size_t)(e - s) + 2);
		idp_buf_puts(out, e + 3);
	} else {
		idp_buf_puts(out, s);
	}
	idp_buf_free(&tmp);
}

static int key_cmp(const void *x, const void *y)
{
	const idp_doc_entry *a = *(const idp_doc_entry *const *)x, *b = *(const idp_doc_entry *const *)y;
	return strcmp(a->key, b->key);
}

int idp_compose_json_marshal(const idp_doc_node *v, idp_buf *out, idp_err *err)
{
	if (!v) {
		idp_buf_puts(out, "null");
		return 0;
	}
	switch (v->kind) {
	case IDP_DOC_NULL:
		idp_buf_puts(out, "null");
		return 0;
	case IDP_DOC_BOOL:
		idp_buf_puts(out, v->as.b ? "true" : "false");
		return 0;
	case IDP_DOC_INT:
		idp_buf_printf(out, "%lld", (long long)v->as.i);
		return 0;
	case IDP_DOC_FLOAT:
		if (!isfinite(v->as.f)) {
			idp_buf tmp = IDP_BUF_INIT;
			compose_format_float(&tmp, v->as.f, 'g', -1);
			idp_err_set(err, IDP_EINPUT, "json: unsupported value: %s", idp_buf_cstr(&tmp));
			idp_buf_free(&tmp);
			return IDP_EINPUT;
		}
		marshal_float(v->as.f, out);
		return 0;
	case IDP_DOC_STR:
		marshal_string(v->as.str.ptr, v->as.str.len, out);
		return 0;
	case IDP_DOC_SEQ:
		idp_buf_putc(out, '[');
		for (size_t i = 0; i < v->as.seq.len; i++) {
			if (i)
				idp_buf_putc(out, ',');
			if (idp_compose_json_marshal(v->as.seq.items[i], out, err) != 0)
				return IDP_EINPUT;
		}
		idp_buf_putc(out, ']');
		return 0;
	case IDP_DOC_MAP: {
		size_t n = v->as.map.len;
		const idp_doc_entry **sorted = idp_xmalloc((n ? n : 1) * sizeof(*sorted));
		for (size_t i = 0; i < n; i++)
			sorted[i] = &v->as.map.items[i];
		qsort(sorted, n, sizeof(*sorted), key_cmp);
		idp_buf_putc(out, '{');
		int rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i)
				idp_buf_putc(out, ',');
			marshal_string(sorted[i]->key, strlen(sorted[i]->key), out);
			idp_buf_putc(out, ':');
			rc = idp_compose_json_marshal(sorted[i]->value, out, err);
		}
		free(sorted);
		if (rc != 0)
			return rc;
		idp_buf_putc(out, '}');
		return 0;
	}
	}
	return 0;
}

/* ---------------------------------------------------------------- JSON in */

/* A deep copy with every number converted: to float64 (how Go's
 * encoding/json decodes into `any`), or integral floats to int64 (a JSON
 * round trip through Kubernetes' decoder, which keeps integers). */
static idp_doc_node *copy_numbers(idp_arena *a, const idp_doc_node *v, bool to_float)
{
	if (!v)
		return idp_doc_new_null(a);
	idp_doc_node *n;
	switch (v->kind) {
	case IDP_DOC_INT:
		if (!to_float)
			return idp_doc_copy(a, v);
		n = idp_doc_new_float(a, (double)v->as.i);
		break;
	case IDP_DOC_FLOAT: {
		double f = v->as.f;
		/* Go marshals 3.0 as "3"; 1e21 and past stay floats. */
		if (to_float || !isfinite(f) || f != floor(f) || fabs(f) >= 1e21 || f < -9223372036854775808.0 ||
		    f >= 9223372036854775808.0)
			return idp_doc_copy(a, v);
		n = idp_doc_new_int(a, (int64_t)f);
		break;
	}
	case IDP_DOC_MAP:
		n = idp_doc_new_map(a);
		for (size_t i = 0; i < v->as.map.len; i++)
			idp_doc_map_append(a, n, v->as.map.items[i].key, v->as.map.items[i].key_pos,
					   copy_numbers(a, v->as.map.items[i].value, to_float));
		break;
	case IDP_DOC_SEQ:
		n = idp_doc_new_seq(a);
		for (size_t i = 0; i < v->as.seq.len; i++)
			idp_doc_seq_push(a, n, copy_numbers(a, v->as.seq.items[i], to_float));
		break;
	default:
		return idp_doc_copy(a, v);
	}
	n->pos = v->pos;
	return n;
}

idp_doc_node *compose_as_go_json(idp_arena *a, const idp_doc_node *v)
{
	return copy_numbers(a, v, true);
}

idp_doc_node *compose_json_normalize(idp_arena *a, const idp_doc_node *v)
{
	return copy_numbers(a, v, false);
}

typedef struct json_in {
	idp_arena *a;
	const char *s;
	size_t len, pos;
	int depth;
	idp_err *err;
} json_in;

static void skip_ws(json_in *j)
{
	while (j->pos < j->len &&
	       (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' || j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

static int json_fail(json_in *j, const char *what)
{
	if (j->pos >= j->len)
		return idp_err_set(j->err, IDP_EINPUT, "unexpected end of JSON input");
	return idp_err_set(j->err, IDP_EINPUT, "invalid character '%c' %s", j->s[j->pos], what);
}

static void put_utf8(idp_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		idp_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		idp_buf_putc(b, (char)(0xC0 | (cp >> 6)));
		idp_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		idp_buf_putc(b, (char)(0xE0 | (cp >> 12)));
		idp_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		idp_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		idp_buf_putc(b, (char)(0xF0 | (cp >> 18)));
		idp_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		idp_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		idp_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	}
}

static int hex4(json_in *j, uint32_t *out)
{
	if (j->pos + 4 > j->len)
		return json_fail(j, "in string escape code");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = j->s[j->pos + (size_t)i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return json_fail(j, "in \\u hexadecimal character escape");
	}
	j->pos += 4;
	*out = v;
	return 0;
}

static int json_string(json_in *j, idp_buf *b)
{
	j->pos++; /* opening quote */
	while (j->pos < j->len) {
		char c = j->s[j->pos];
		if (c == '"') {
			j->pos++;
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return json_fail(j, "in string literal");
		if (c != '\\') {
			idp_buf_putc(b, c);
			j->pos++;
			continue;
		}
		j->pos++;
		if (j->pos >= j->len)
			break;
		char e = j->s[j->pos++];
		switch (e) {
		case '"':
		case '\\':
		case '/':
			idp_buf_putc(b, e);
			break;
		case 'b':
			idp_buf_putc(b, '\b');
			break;
		case 'f':
			idp_buf_putc(b, '\f');
			break;
		case 'n':
			idp_buf_putc(b, '\n');
			break;
		case 'r':
			idp_buf_putc(b, '\r');
			break;
		case 't':
			idp_buf_putc(b, '\t');
			break;
		case 'u': {
			uint32_t cp;
			if (hex4(j, &cp) != 0)
				return IDP_EINPUT;
			if (cp >= 0xD800 && cp < 0xDC00 && j->pos + 6 <= j->len && j->s[j->pos] == '\\' &&
			    j->s[j->pos + 1] == 'u') {
				size_t save = j->pos;
				j->pos += 2;
				uint32_t lo;
				if (hex4(j, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				else {
					idp_err_clear(j->err);
					j->pos = save;
					cp = 0xFFFD;
				}
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			put_utf8(b, cp);
			break;
		}
		default:
			j->pos--;
			return json_fail(j, "in string escape code");
		}
	}
	return idp_err_set(j->err, IDP_EINPUT, "unexpected end of JSON input");
}

static int json_value(json_in *j, idp_doc_node **out);

static int json_number(json_in *j, idp_doc_node **out)
{
	size_t start = j->pos;
	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
		return json_fail(j, "in numeric literal");
	if (j->s[j->pos] == '0')
		j->pos++;
	else
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	if (j->pos < j->len && j->s[j->pos] == '.') {
		j->pos++;
		if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
			return json_fail(j, "after decimal point in numeric literal");
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (j->pos >= j->len || j->s[j->pos] < '0' || j->s[j->pos] > '9')
			return json_fail(j, "in exponent of numeric literal");
		while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
			j->pos++;
	}
	char *text = idp_arena_strndup(j->a, j->s + start, j->pos - start);
	*out = idp_doc_new_float(j->a, strtod(text, NULL));
	return 0;
}

static bool json_word(json_in *j, const char *w)
{
	size_t n = strlen(w);
	if (j->len - j->pos >= n && memcmp(j->s + j->pos, w, n) == 0) {
		j->pos += n;
		return true;
	}
	return false;
}

static int json_value(json_in *j, idp_doc_node **out)
{
	skip_ws(j);
	if (j->pos >= j->len)
		return json_fail(j, "");
	if (++j->depth > 10000)
		return idp_err_set(j->err, IDP_EINPUT, "exceeded max depth");
	char c = j->s[j->pos];
	int rc = 0;
	if (c == '{') {
		idp_doc_node *m = idp_doc_new_map(j->a);
		j->pos++;
		skip_ws(j);
		if (j->pos < j->len && j->s[j->pos] == '}') {
			j->pos++;
		} else {
			for (;;) {
				skip_ws(j);
				if (j->pos >= j->len || j->s[j->pos] != '"')
					return json_fail(j, "looking for beginning of object key string");
				idp_buf key = IDP_BUF_INIT;
				if (json_string(j, &key) != 0) {
					idp_buf_free(&key);
					return IDP_EINPUT;
				}
				skip_ws(j);
				if (j->pos >= j->len || j->s[j->pos] != ':') {
					idp_buf_free(&key);
					return json_fail(j, "after object key");
				}
				j->pos++;
				idp_doc_node *v;
				if (json_value(j, &v) != 0) {
					idp_buf_free(&key);
					return IDP_EINPUT;
				}
				/* Later duplicates win, as in encoding/json. */
				idp_doc_map_set(j->a, m, idp_buf_cstr(&key), v);
				idp_buf_free(&key);
				skip_ws(j);
				if (j->pos < j->len && j->s[j->pos] == ',') {
					j->pos++;
					continue;
				}
				if (j->pos < j->len && j->s[j->pos] == '}') {
					j->pos++;
					break;
				}
				return json_fail(j, "after object key:value pair");
			}
		}
		*out = m;
	} else if (c == '[') {
		idp_doc_node *s = idp_doc_new_seq(j->a);
		j->pos++;
		skip_ws(j);
		if (j->pos < j->len && j->s[j->pos] == ']') {
			j->pos++;
		} else {
			for (;;) {
				idp_doc_node *v;
				if (json_value(j, &v) != 0)
					return IDP_EINPUT;
				idp_doc_seq_push(j->a, s, v);
				skip_ws(j);
				if (j->pos < j->len && j->s[j->pos] == ',') {
					j->pos++;
					continue;
				}
				if (j->pos < j->len && j->s[j->pos] == ']') {
					j->pos++;
					break;
				}
				return json_fail(j, "after array element");
			}
		}
		*out = s;
	} else if (c == '"') {
		idp_buf b = IDP_BUF_INIT;
		rc = json_string(j, &b);
		if (rc == 0)
			*out = idp_doc_new_strn(j->a, b.ptr ? b.ptr : "", b.len);
		idp_buf_free(&b);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		rc = json_number(j, out);
	} else if (json_word(j, "true")) {
		*out = idp_doc_new_bool(j->a, true);
	} else if (json_word(j, "false")) {
		*out = idp_doc_new_bool(j->a, false);
	} else if (json_word(j, "null")) {
		*out = idp_doc_new_null(j->a);
	} else {
		return json_fail(j, "looking for beginning of value");
	}
	j->depth--;
	return rc;
}

int compose_json_unmarshal(idp_arena *a, const char *text, size_t len, idp_doc_node **out, idp_err *err)
{
	json_in j = {a, text, len, 0, 0, err};
	if (json_value(&j, out) != 0)
		return IDP_EINPUT;
	skip_ws(&j);
	if (j.pos < j.len)
		return json_fail(&j, "after top-level value");
	return 0;
}
