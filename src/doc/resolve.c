/* Scalar typing, as kubectl does it (go-yaml v2 through sigs.k8s.io/yaml,
 * which is YAML 1.1): the rules every plain scalar goes through on load, and
 * the reverse question the emitter asks: would a reader retype this string? */
#include "doc/doc_private.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *text;
	idp_doc_kind kind;
	int value; /* bool value, or sign of an infinity; 0 for nan and null */
} exact_form;

/* Plain scalars that resolve by exact spelling (go-yaml v2's resolve map). */
static const exact_form exact_forms[] = {
	{"y", IDP_DOC_BOOL, 1},       {"Y", IDP_DOC_BOOL, 1},      {"yes", IDP_DOC_BOOL, 1},
	{"Yes", IDP_DOC_BOOL, 1},     {"YES", IDP_DOC_BOOL, 1},    {"true", IDP_DOC_BOOL, 1},
	{"True", IDP_DOC_BOOL, 1},    {"TRUE", IDP_DOC_BOOL, 1},   {"on", IDP_DOC_BOOL, 1},
	{"On", IDP_DOC_BOOL, 1},      {"ON", IDP_DOC_BOOL, 1},     {"n", IDP_DOC_BOOL, 0},
	{"N", IDP_DOC_BOOL, 0},       {"no", IDP_DOC_BOOL, 0},     {"No", IDP_DOC_BOOL, 0},
	{"NO", IDP_DOC_BOOL, 0},      {"false", IDP_DOC_BOOL, 0},  {"False", IDP_DOC_BOOL, 0},
	{"FALSE", IDP_DOC_BOOL, 0},   {"off", IDP_DOC_BOOL, 0},    {"Off", IDP_DOC_BOOL, 0},
	{"OFF", IDP_DOC_BOOL, 0},     {"~", IDP_DOC_NULL, 0},      {"null", IDP_DOC_NULL, 0},
	{"Null", IDP_DOC_NULL, 0},    {"NULL", IDP_DOC_NULL, 0},   {".nan", IDP_DOC_FLOAT, 0},
	{".NaN", IDP_DOC_FLOAT, 0},   {".NAN", IDP_DOC_FLOAT, 0},  {".inf", IDP_DOC_FLOAT, 1},
	{".Inf", IDP_DOC_FLOAT, 1},   {".INF", IDP_DOC_FLOAT, 1},  {"+.inf", IDP_DOC_FLOAT, 1},
	{"+.Inf", IDP_DOC_FLOAT, 1},  {"+.INF", IDP_DOC_FLOAT, 1}, {"-.inf", IDP_DOC_FLOAT, -1},
	{"-.Inf", IDP_DOC_FLOAT, -1}, {"-.INF", IDP_DOC_FLOAT, -1},
};

static const exact_form *find_exact(const char *s, size_t n)
{
	/* Every exact form starts with one of these: most scalars leave here. */
	if (n == 0 || n > 5 || !strchr("yYnNtTfFoO~.+-", s[0]))
		return NULL;
	for (size_t i = 0; i < sizeof(exact_forms) / sizeof(exact_forms[0]); i++)
		if (exact_forms[i].text[0] == s[0] && strncmp(exact_forms[i].text, s, n) == 0 &&
		    exact_forms[i].text[n] == '\0')
			return &exact_forms[i];
	return NULL;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseInt(s, 0, 64) (after go-yaml removed every '_'):
 * optional sign, then 0x / 0o / 0b / leading-0 octal / decimal. Returns
 * false when the text is not an int or does not fit in int64. */
static bool parse_go_int(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return false;
	unsigned base = 10;
	if (s[i] == '0' && i + 1 < n) {
		char p = s[i + 1];
		if (p == 'x' || p == 'X')
			base = 16, i += 2;
		else if (p == 'o' || p == 'O')
			base = 8, i += 2;
		else if (p == 'b' || p == 'B')
			base = 2, i += 2;
		else
			base = 8, i += 1;
		if (i == n)
			return false;
	}
	uint64_t v = 0;
	for (; i < n; i++) {
		unsigned d = (unsigned)digit_value(s[i]);
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ : go-yaml's float shape. */
static bool is_yaml_float_shape(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t int_digits = 0, frac_digits = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, int_digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, frac_digits++;
		if (int_digits == 0 && frac_digits == 0)
			return false;
	} else if (int_digits == 0) {
		return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exp_digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, exp_digits++;
		if (exp_digits == 0)
			return false;
	}
	return i == n;
}

typedef struct {
	idp_doc_kind kind;
	bool b;
	int64_t i;
	double f;
} resolved;

/* Returns the kind a plain scalar resolves to (IDP_DOC_STR when none other). */
static resolved resolve_text(const char *s, size_t n)
{
	resolved r = {IDP_DOC_STR, false, 0, 0};
	if (n == 0) {
		r.kind = IDP_DOC_NULL;
		return r;
	}
	const exact_form *e = find_exact(s, n);
	if (e) {
		r.kind = e->kind;
		r.b = e->value == 1;
		if (e->kind == IDP_DOC_FLOAT)
			r.f = e->value == 0 ? NAN : e->value > 0 ? INFINITY : -INFINITY;
		return r;
	}
	char c = s[0];
	if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
		return r;
	if (n > 400)
		return r; /* no number is that long; keeps the scratch buffer bounded */
	char plain[401];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_' || c == '.')
			plain[m++] = s[i];
	plain[m] = '\0';
	if (c != '.' && parse_go_int(plain, m, &r.i)) {
		r.kind = IDP_DOC_INT;
		return r;
	}
	/* Also takes integers past int64 (go-yaml: uint64), as floats. */
	if (is_yaml_float_shape(plain, m)) {
		errno = 0;
		double f = strtod(plain, NULL);
		/* Go's ParseFloat fails on overflow, and go-yaml then keeps the string. */
		if (!(errno == ERANGE && isinf(f))) {
			r.kind = IDP_DOC_FLOAT;
			r.f = f;
		}
		return r;
	}
	return r;
}

idp_doc_node *idp_doc_resolve_plain(idp_arena *a, const char *text, size_t len, idp_pos pos)
{
	resolved r = resolve_text(text, len);
	idp_doc_node *node = doc_node_new(a, r.kind, pos);
	switch (r.kind) {
	case IDP_DOC_BOOL: node->as.b = r.b; break;
	case IDP_DOC_INT: node->as.i = r.i; break;
	case IDP_DOC_FLOAT: node->as.f = r.f; break;
	case IDP_DOC_STR:
		node->as.str.ptr = idp_arena_strndup(a, text, len);
		node->as.str.len = len;
		break;
	default: break;
	}
	return node;
}

/* YAML 1.1 sexagesimal numbers (190:20:30), which PyYAML and go-yaml's
 * encoder both treat as numbers. */
static bool is_base60(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	size_t groups = 0;
	while (i < n && s[i] == ':') {
		i++;
		size_t d = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 2)
			i++, d++;
		if (d == 0)
			return false;
		groups++;
	}
	if (groups == 0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			i++;
	}
	return i == n;
}

/* YAML 1.1 timestamps start with four digits and a '-'; go-yaml reads them
 * as times, so a string of that shape must stay quoted. */
static bool is_timestamp_like(const char *s, size_t n)
{
	if (n < 6)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (s[4] != '-' || s[5] < '0' || s[5] > '9')
		return false;
	for (size_t i = 5; i < n; i++)
		if (!strchr("0123456789-:.tTzZ +", s[i]))
			return false;
	return true;
}

/* Numbers that a YAML 1.2 or 1.1 reader other than go-yaml would take:
 * go-yaml leaves "1e400" (overflow) and "0x_1" shapes as strings. */
static bool looks_numeric_elsewhere(const char *s, size_t n)
{
	char c = s[0];
	if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEFxXoO_.+-", s[i]))
			return false;
	return is_yaml_float_shape(s, n) || (n > 1 && s[0] == '0');
}

bool idp_doc_str_needs_quotes(const char *text, size_t len)
{
	if (len == 0)
		return true;
	if (resolve_text(text, len).kind != IDP_DOC_STR)
		return true;
	if ((len == 2 && memcmp(text, "<<", 2) == 0) || (len == 1 && text[0] == '='))
		return true;
	return is_base60(text, len) || is_timestamp_like(text, len) || looks_numeric_elsewhere(text, len);
}

void doc_format_float(double f, bool as_float, char out[static 32])
{
	if (isnan(f)) {
		strcpy(out, ".nan");
		return;
	}
	if (isinf(f)) {
		strcpy(out, f > 0 ? ".inf" : "-.inf");
		return;
	}
	if (!as_float && f == floor(f) && fabs(f) < 1e15) {
		snprintf(out, 32, "%.0f", f);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 32, "%.*g", prec, f);
		if (strtod(out, NULL) == f)
			break;
	}
	if (!as_float || strpbrk(out, ".n"))
		return;
	/* Give the mantissa a '.', so every YAML 1.1 reader sees a float. */
	char *e = strchr(out, 'e');
	size_t at = e ? (size_t)(e - out) : strlen(out);
	memmove(out + at + 2, out + at, strlen(out + at) + 1);
	out[at] = '.';
	out[at + 1] = '0';
}
