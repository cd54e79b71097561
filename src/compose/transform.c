/*
 * Transforms: map, match, math, string and convert, with
 * function-patch-and-transform's semantics and messages (transforms.go).
 * Values carry Go's types: an int64 stays an int64, JSON from the
 * Composition (map values, match results) arrives as float64, as Go's
 * encoding/json gives it.
 */
#include "compose/compose_private.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <locale.h>
#include <wchar.h>
#include <wctype.h>
#include <zlib.h>

/* ---------------------------------------------------------------- helpers */

static const char *str_of(const idp_doc_node *t, const char *key)
{
	return idp_doc_map_get_str(t, key);
}

/* fmt.Sprintf("%v", v) */
static void sprint_v(idp_buf *out, const idp_doc_node *v)
{
	const idp_doc_node *args[1] = {v};
	idp_compose_sprintf(out, "%v", args, 1);
}

static idp_doc_node *new_str_buf(idp_arena *a, const idp_buf *b)
{
	return idp_doc_new_strn(a, b->ptr ? b->ptr : "", b->len);
}

/* Go's RE2 syntax mapped onto POSIX extended expressions for the common
 * cases: \d \D \w \W \s \S (also in brackets), (?i) at the start, and
 * non-capturing groups (?:...) which become plain groups (group numbers
 * then shift; documented). */
/* The error Go's regexp package gives for what glibc rejected, for the
 * common mistakes (its texts are what users search for). */
static int re2_error(int code, const char *re, idp_err *err)
{
	const char *last = strrchr(re, '[');
	if (code == REG_EBRACK || (last && !strchr(last + 1, ']'))) {
		const char *open = last;
		return idp_err_set(err, IDP_EINPUT, "error parsing regexp: missing closing ]: `%s`", open ? open : re);
	}
	if (code == REG_BADRPT) {
		const char *p = re;
		for (; *p; p++)
			if ((*p == '*' || *p == '+' || *p == '?') && (p == re || p[-1] == '(' || p[-1] == '|'))
				return idp_err_set(err, IDP_EINPUT, "error parsing regexp: missing argument to repetition operator: `%c`",
						   *p);
	}
	if (code == REG_EPAREN)
		return idp_err_set(err, IDP_EINPUT, "error parsing regexp: missing closing ): `%s`", re);
	if (code == REG_EESCAPE)
		return idp_err_set(err, IDP_EINPUT, "error parsing regexp: trailing backslash at end of expression: ``");
	char msg[256];
	regex_t none;
	memset(&none, 0, sizeof none);
	regerror(code, &none, msg, sizeof(msg));
	return idp_err_set(err, IDP_EINPUT, "error parsing regexp: %s: `%s`", msg, re);
}

int compose_re2_translate(const char *re, idp_buf *out, int *flags_out, idp_err *err)
{
	idp_buf b = IDP_BUF_INIT;
	int flags = REG_EXTENDED;
	const char *p = re;
	if (strncmp(p, "(?i)", 4) == 0) {
		flags |= REG_ICASE;
		p += 4;
	}
	bool in_bracket = false;
	for (; *p; p++) {
		if (!in_bracket && p[0] == '(' && p[1] == '?' && (p[2] == '=' || p[2] == '!' || (p[2] == '<' && (p[3] == '=' || p[3] == '!')))) {
			idp_buf_free(&b);
			return idp_err_set(err, IDP_EINPUT, "error parsing regexp: invalid or unsupported Perl syntax: `%.*s`",
					   p[2] == '<' ? 4 : 3, p);
		}
		if (*p == '\\' && p[1] >= '1' && p[1] <= '9') {
			idp_buf_free(&b);
			return idp_err_set(err, IDP_EINPUT, "error parsing regexp: invalid escape sequence: `\\%c`", p[1]);
		}
		if (*p == '\\' && p[1]) {
			char c = p[1];
			const char *cls = NULL;
			switch (c) {
			case 'd':
				cls = in_bracket ? "0-9" : "[0-9]";
				break;
			case 'D':
				cls = in_bracket ? NULL : "[^0-9]";
				break;
			case 'w':
				cls = in_bracket ? "0-9A-Za-z_" : "[0-9A-Za-z_]";
				break;
			case 'W':
				cls = in_bracket ? NULL : "[^0-9A-Za-z_]";
				break;
			case 's':
				cls = in_bracket ? " \t\n\f\r" : "[ \t\n\f\r]";
				break;
			case 'S':
				cls = in_bracket ? NULL : "[^ \t\n\f\r]";
				break;
			}
			if (cls) {
				idp_buf_puts(&b, cls);
				p++;
				continue;
			}
			if (in_bracket) {
				/* POSIX brackets take backslash literally. */
				idp_buf_putc(&b, c);
				p++;
				continue;
			}
			idp_buf_putc(&b, '\\');
			idp_buf_putc(&b, c);
			p++;
			continue;
		}
		if (!in_bracket && p[0] == '(' && p[1] == '?' && p[2] == ':') {
			idp_buf_putc(&b, '(');
			p += 2;
			continue;
		}
		if (*p == '[' && !in_bracket) {
			in_bracket = true;
			idp_buf_putc(&b, '[');
			if (p[1] == '^') {
				idp_buf_putc(&b, '^');
				p++;
			}
			if (p[1] == ']') {
				idp_buf_putc(&b, ']');
				p++;
			}
			continue;
		}
		if (*p == ']' && in_bracket)
			in_bracket = false;
		idp_buf_putc(&b, *p);
	}
	*out = b;
	*flags_out = flags;
	return 0;
}

int compose_regcomp(const char *re, regex_t *out, idp_err *err)
{
	idp_buf b = IDP_BUF_INIT;
	int flags;
	int rc = compose_re2_translate(re, &b, &flags, err);
	if (rc)
		return rc;
	rc = regcomp(out, idp_buf_cstr(&b), flags);
	idp_buf_free(&b);
	if (rc != 0) {
		regfree(out);
		return re2_error(rc, re, err);
	}
	return 0;
}

/* ---------------------------------------------------------------- checking */

static int required(idp_err *err, const char *field, const char *detail)
{
	return idp_err_set(err, IDP_EINPUT, "%s: Required value: %s", field, detail);
}

static int invalid(idp_err *err, const char *field, const char *value, const char *detail)
{
	return idp_err_set(err, IDP_EINPUT, "%s: Invalid value: \"%s\": %s", field, value ? value : "", detail);
}

static int check_math(const idp_doc_node *m, idp_err *err)
{
	const char *type = str_of(m, "type");
	if (!type || !*type)
		return required(err, "math.type", "math transform type is required");
	if (strcmp(type, "Multiply") == 0) {
		if (!idp_doc_map_get(m, "multiply"))
			return required(err, "math.multiply", "must specify a value if a multiply math transform is specified");
	} else if (strcmp(type, "ClampMin") == 0) {
		if (!idp_doc_map_get(m, "clampMin"))
			return required(err, "math.clampMin", "must specify a value if a clamp min math transform is specified");
	} else if (strcmp(type, "ClampMax") == 0) {
		if (!idp_doc_map_get(m, "clampMax"))
			return required(err, "math.clampMax", "must specify a value if a clamp max math transform is specified");
	} else {
		return invalid(err, "math.type", type, "unknown math transform type");
	}
	static const char *const ints[] = {"multiply", "clampMin", "clampMax"};
	for (size_t i = 0; i < 3; i++) {
		const idp_doc_node *v = idp_doc_map_get(m, ints[i]);
		if (v && v->kind != IDP_DOC_INT)
			return idp_err_set(err, IDP_EINPUT, "math.%s: must be an integer, not %s", ints[i],
					   idp_doc_kind_name(v->kind));
	}
	return 0;
}

static int check_match(const idp_doc_node *m, idp_err *err)
{
	const idp_doc_node *patterns = idp_doc_map_get(m, "patterns");
	if (!patterns || patterns->kind != IDP_DOC_SEQ || patterns->as.seq.len == 0)
		return required(err, "match.patterns",
				"at least one pattern must be specified if a match transform is specified");
	for (size_t i = 0; i < patterns->as.seq.len; i++) {
		const idp_doc_node *p = patterns->as.seq.items[i];
		const char *type = str_of(p, "type");
		if (!type || !*type || strcmp(type, "literal") == 0) {
			const idp_doc_node *lit = idp_doc_map_get(p, "literal");
			if (!lit || lit->kind != IDP_DOC_STR)
				return idp_err_set(err, IDP_EINPUT,
						   "match.patterns[%zu].literal: Required value: literal pattern type requires a literal",
						   i);
		} else if (strcmp(type, "regexp") == 0) {
			const char *re = str_of(p, "regexp");
			if (!re)
				return idp_err_set(err, IDP_EINPUT,
						   "match.patterns[%zu].regexp: Required value: regexp pattern type requires a regexp",
						   i);
			regex_t rx;
			idp_err rerr = IDP_ERR_INIT;
			if (compose_regcomp(re, &rx, &rerr) != 0) {
				idp_err_clear(&rerr);
				return idp_err_set(err, IDP_EINPUT, "match.patterns[%zu].regexp: Invalid value: \"%s\": invalid regexp",
						   i, re);
			}
			regfree(&rx);
		} else {
			return idp_err_set(err, IDP_EINPUT, "match.patterns[%zu].type: Invalid value: \"%s\": unknown pattern type",
					   i, type);
		}
	}
	return 0;
}

static int check_string(const idp_doc_node *s, idp_err *err)
{
	const char *type = str_of(s, "type");
	if (!type || !*type)
		return required(err, "string.type", "string transform type is required");
	if (strcmp(type, "Format") == 0) {
		if (!str_of(s, "fmt"))
			return required(err, "string.fmt", "format transform requires a format");
	} else if (strcmp(type, "Convert") == 0) {
		if (!str_of(s, "convert"))
			return required(err, "string.convert", "convert transform requires a conversion type");
	} else if (strcmp(type, "TrimPrefix") == 0 || strcmp(type, "TrimSuffix") == 0) {
		if (!str_of(s, "trim"))
			return required(err, "string.trim", "trim transform requires a trim value");
	} else if (strcmp(type, "Regexp") == 0) {
		const idp_doc_node *r = idp_doc_map_get(s, "regexp");
		if (!r || r->kind != IDP_DOC_MAP)
			return required(err, "string.regexp", "regexp transform requires a regexp");
		const char *match = str_of(r, "match");
		if (!match || !*match)
			return required(err, "string.regexp.match", "regexp transform requires a match");
		regex_t rx;
		idp_err rerr = IDP_ERR_INIT;
		if (compose_regcomp(match, &rx, &rerr) != 0) {
			idp_err_clear(&rerr);
			return invalid(err, "string.regexp.match", match, "invalid regexp");
		}
		regfree(&rx);
	} else if (strcmp(type, "Join") == 0) {
		if (!idp_doc_map_get(s, "join"))
			return required(err, "string.join", "join transform requires a join");
	} else if (strcmp(type, "Replace") == 0) {
		const idp_doc_node *r = idp_doc_map_get(s, "replace");
		if (!r)
			return required(err, "string.replace", "replace transform requires a replace");
		const char *search = str_of(r, "search");
		if (!search || !*search)
			return required(err, "string.replace.search", "replace transform requires a search");
	} else {
		return invalid(err, "string.type", type, "unknown string transform type");
	}
	return 0;
}

static bool valid_io_type(const char *t)
{
	static const char *const types[] = {"string", "bool", "int", "int64", "float64", "object", "array"};
	for (size_t i = 0; i < 7; i++)
		if (strcmp(t, types[i]) == 0)
			return true;
	return false;
}

static const char *convert_format(const idp_doc_node *c)
{
	const char *f = str_of(c, "format");
	return f ? f : "none";
}

static int check_convert(const idp_doc_node *c, idp_err *err)
{
	const char *format = convert_format(c);
	if (strcmp(format, "none") != 0 && strcmp(format, "quantity") != 0 && strcmp(format, "json") != 0)
		return invalid(err, "convert.format", format, "invalid format");
	const char *to = str_of(c, "toType");
	if (!to || !valid_io_type(to))
		return invalid(err, "convert.toType", to, "invalid type");
	return 0;
}

int idp_compose_transform_check(const idp_doc_node *t, idp_err *err)
{
	if (!t || t->kind != IDP_DOC_MAP)
		return idp_err_set(err, IDP_EINPUT, "a transform must be a map");
	const char *type = str_of(t, "type");
	if (!type)
		type = "";
	static const char *const kinds[] = {"math", "map", "match", "string", "convert"};
	for (size_t i = 0; i < 5; i++) {
		if (strcmp(type, kinds[i]) != 0)
			continue;
		const idp_doc_node *cfg = idp_doc_map_get(t, kinds[i]);
		if (!cfg || cfg->kind == IDP_DOC_NULL)
			return idp_err_set(err, IDP_EINPUT, "%s: Required value: given transform type %s requires configuration",
					   kinds[i], kinds[i]);
		if (cfg->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "%s: must be a map", kinds[i]);
		switch (i) {
		case 0:
			return check_math(cfg, err);
		case 1:
			if (cfg->as.map.len == 0)
				return required(err, "map.pairs",
						"at least one pair must be specified if a map transform is specified");
			return 0;
		case 2:
			return check_match(cfg, err);
		case 3:
			return check_string(cfg, err);
		default:
			return check_convert(cfg, err);
		}
	}
	return idp_err_set(err, IDP_EINPUT, "type: Invalid value: \"%s\": unknown transform type", type);
}

/* ---------------------------------------------------------------- math */

static int resolve_math(idp_arena *a, const idp_doc_node *m, const idp_doc_node *in, idp_doc_node **out,
			idp_err *err)
{
	if (check_math(m, err) != 0)
		return IDP_EINPUT;
	if (!in || (in->kind != IDP_DOC_INT && in->kind != IDP_DOC_FLOAT))
		return idp_err_set(err, IDP_EINPUT, "input is required to be a number for math transformer, got %s",
				   compose_go_type(in));
	const char *type = str_of(m, "type");
	if (strcmp(type, "Multiply") == 0) {
		int64_t k = idp_doc_map_get(m, "multiply")->as.i;
		if (in->kind == IDP_DOC_INT)
			*out = idp_doc_new_int(a, (int64_t)((uint64_t)in->as.i * (uint64_t)k)); /* Go wraps */
		else
			*out = idp_doc_new_float(a, in->as.f * (double)k);
		return 0;
	}
	int64_t v = in->kind == IDP_DOC_INT ? in->as.i : (int64_t)in->as.f;
	bool min = strcmp(type, "ClampMin") == 0;
	int64_t bound = idp_doc_map_get(m, min ? "clampMin" : "clampMax")->as.i;
	if ((min && v < bound) || (!min && v > bound))
		*out = idp_doc_new_int(a, bound);
	else
		*out = idp_doc_copy(a, in);
	return 0;
}

/* ---------------------------------------------------------------- map, match */

static int resolve_map(idp_arena *a, const idp_doc_node *m, const idp_doc_node *in, idp_doc_node **out,
		       idp_err *err)
{
	if (!in || in->kind != IDP_DOC_STR)
		return idp_err_set(err, IDP_EINPUT, "type %s is not supported for map transform", compose_go_type(in));
	const idp_doc_node *v = idp_doc_map_get(m, in->as.str.ptr);
	if (!v)
		return idp_err_set(err, IDP_EINPUT, "key %s is not found in map", in->as.str.ptr);
	/* A JSON null decodes to an empty raw value, which Go cannot unmarshal. */
	if (v->kind == IDP_DOC_NULL)
		return idp_err_set(err, IDP_EINPUT, "value for key %s is not valid JSON: unexpected end of JSON input",
				   in->as.str.ptr);
	*out = compose_as_go_json(a, v);
	return 0;
}

static int pattern_matches(const idp_doc_node *p, const idp_doc_node *in, bool *matches, idp_err *err)
{
	const char *type = str_of(p, "type");
	/* No default: the function's input is not defaulted by the API server. */
	if (!type)
		type = "";
	if (strcmp(type, "literal") == 0) {
		const char *lit = str_of(p, "literal");
		if (!lit)
			return idp_err_set(err, IDP_EINPUT, "literal is required by type literal");
		if (!in || in->kind != IDP_DOC_STR)
			return idp_err_set(err, IDP_EINPUT, "unsupported input type '%s'", compose_go_type(in));
		*matches = strcmp(in->as.str.ptr, lit) == 0 && strlen(lit) == in->as.str.len;
		return 0;
	}
	if (strcmp(type, "regexp") != 0)
		return idp_err_set(err, IDP_EINPUT, "unsupported pattern type '%s'", type);
	const char *re = str_of(p, "regexp");
	if (!re)
		return idp_err_set(err, IDP_EINPUT, "regexp is required by type regexp");
	regex_t rx;
	if (compose_regcomp(re, &rx, err) != 0) {
		idp_err_wrap(err, "cannot compile regexp");
		return IDP_EINPUT;
	}
	int rc = 0;
	if (!in || in->kind == IDP_DOC_NULL)
		rc = idp_err_set(err, IDP_EINPUT, "unsupported input type 'null'");
	else if (in->kind != IDP_DOC_STR)
		rc = idp_err_set(err, IDP_EINPUT, "unsupported input type '%s'", compose_go_type(in));
	else
		*matches = regexec(&rx, in->as.str.ptr, 0, NULL, 0) == 0;
	regfree(&rx);
	return rc;
}

static int resolve_match(idp_arena *a, const idp_doc_node *m, const idp_doc_node *in, idp_doc_node **out,
			 idp_err *err)
{
	const idp_doc_node *patterns = idp_doc_map_get(m, "patterns");
	size_t n = patterns && patterns->kind == IDP_DOC_SEQ ? patterns->as.seq.len : 0;
	for (size_t i = 0; i < n; i++) {
		const idp_doc_node *p = patterns->as.seq.items[i];
		bool matches = false;
		if (pattern_matches(p, in, &matches, err) != 0) {
			idp_err_wrap(err, "cannot match pattern at index %zu", i);
			return IDP_EINPUT;
		}
		if (matches) {
			*out = compose_as_go_json(a, idp_doc_map_get(p, "result"));
			return 0;
		}
	}
	const char *fallback_to = str_of(m, "fallbackTo");
	const idp_doc_node *fallback = idp_doc_map_get(m, "fallbackValue");
	if (fallback && fallback->kind == IDP_DOC_NULL)
		fallback = NULL; /* null leaves the raw value empty: "not set" */
	if (fallback_to && strcmp(fallback_to, "Input") == 0) {
		if (fallback)
			return idp_err_set(err, IDP_EINPUT, "cannot set both a fallback value and the fallback to input flag");
		*out = in ? idp_doc_copy(a, in) : idp_doc_new_null(a);
		return 0;
	}
	*out = compose_as_go_json(a, fallback);
	return 0;
}

/* ---------------------------------------------------------------- string */

static void hex_of(idp_buf *out, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idp_buf_printf(out, "%02x", d[i]);
}

/* The bytes a hash transform hashes: a string as is, anything else as JSON. */
static int hash_input(const idp_doc_node *in, idp_buf *bytes, idp_err *err)
{
	if (in && in->kind == IDP_DOC_STR) {
		idp_buf_append(bytes, in->as.str.ptr, in->as.str.len);
		return 0;
	}
	if (idp_compose_json_marshal(in, bytes, err) != 0) {
		idp_err_wrap(err, "cannot marshal to JSON");
		return IDP_EINPUT;
	}
	return 0;
}

static int digest(idp_buf *out, const char *algo, const idp_doc_node *in, idp_err *err)
{
	idp_buf bytes = IDP_BUF_INIT;
	if (hash_input(in, &bytes, err) != 0) {
		idp_buf_free(&bytes);
		idp_err_wrap(err, "cannot generate hash");
		return IDP_EINPUT;
	}
	const unsigned char *data = (const unsigned char *)(bytes.ptr ? bytes.ptr : "");
	if (strcmp(algo, "adler32") == 0) {
		uLong sum = adler32(adler32(0L, Z_NULL, 0), data, (uInt)bytes.len);
		idp_buf_printf(out, "%lu", (unsigned long)sum);
	} else {
		const EVP_MD *md = strcmp(algo, "sha1") == 0 ? EVP_sha1() : strcmp(algo, "sha256") == 0 ? EVP_sha256() : EVP_sha512();
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dn = 0;
		EVP_Digest(data, bytes.len, d, &dn, md, NULL);
		hex_of(out, d, dn);
	}
	idp_buf_free(&bytes);
	return 0;
}

/* strings.ToUpper / ToLower: simple Unicode case mapping rune by rune
 * (glibc's C.UTF-8 tables); bytes that are not UTF-8 pass through. */
static void change_case(idp_buf *out, const char *s, size_t n, bool up)
{
	static locale_t utf8;
	if (!utf8)
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < n;) {
		wchar_t wc;
		size_t k = utf8 ? mbrtowc(&wc, s + i, n - i, &st) : (size_t)-1;
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			char c = s[i];
			if (up && c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			else if (!up && c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			idp_buf_putc(out, c);
			memset(&st, 0, sizeof st);
			i++;
			continue;
		}
		wint_t m = up ? towupper((wint_t)wc) : towlower((wint_t)wc);
		char tmp[MB_LEN_MAX];
		mbstate_t os;
		memset(&os, 0, sizeof os);
		size_t w = wcrtomb(tmp, (wchar_t)m, &os);
		if (w == (size_t)-1)
			idp_buf_append(out, s + i, k);
		else
			idp_buf_append(out, tmp, w);
		i += k;
	}
	if (utf8)
		uselocale(old);
}

static int string_convert(idp_arena *a, const char *conv, const idp_doc_node *in, idp_doc_node **out,
			  idp_err *err)
{
	idp_buf s = IDP_BUF_INIT, r = IDP_BUF_INIT;
	sprint_v(&s, in);
	int rc = 0;
	if (strcmp(conv, "ToUpper") == 0 || strcmp(conv, "ToLower") == 0) {
		change_case(&r, s.ptr ? s.ptr : "", s.len, conv[2] == 'U');
	} else if (strcmp(conv, "ToJson") == 0) {
		if (idp_compose_json_marshal(in, &r, err) != 0) {
			idp_err_wrap(err, "cannot marshal to JSON");
			rc = IDP_EINPUT;
		}
	} else if (strcmp(conv, "ToBase64") == 0) {
		compose_base64_encode(&r, (const unsigned char *)(s.ptr ? s.ptr : ""), s.len);
	} else if (strcmp(conv, "FromBase64") == 0) {
		if (compose_base64_decode(&r, s.ptr ? s.ptr : "", s.len, err) != 0) {
			idp_err_wrap(err, "string is not valid base64");
			rc = IDP_EINPUT;
		}
	} else if (strcmp(conv, "ToSha1") == 0) {
		rc = digest(&r, "sha1", in, err);
	} else if (strcmp(conv, "ToSha256") == 0) {
		rc = digest(&r, "sha256", in, err);
	} else if (strcmp(conv, "ToSha512") == 0) {
		rc = digest(&r, "sha512", in, err);
	} else if (strcmp(conv, "ToAdler32") == 0) {
		rc = digest(&r, "adler32", in, err);
		if (rc != 0)
			idp_err_wrap(err, "unable to generate Adler checksum");
	} else {
		rc = idp_err_set(err, IDP_EINPUT, "type %s is not supported for string convert", conv);
	}
	if (rc == 0)
		*out = new_str_buf(a, &r);
	idp_buf_free(&s);
	idp_buf_free(&r);
	return rc;
}

static int string_regexp(idp_arena *a, const idp_doc_node *r, const idp_doc_node *in, idp_doc_node **out,
			 idp_err *err)
{
	const char *match = str_of(r, "match");
	const idp_doc_node *g = idp_doc_map_get(r, "group");
	int64_t group = g && g->kind == IDP_DOC_INT ? g->as.i : 0;
	regex_t rx;
	if (compose_regcomp(match ? match : "", &rx, err) != 0) {
		idp_err_wrap(err, "could not compile regexp");
		return IDP_EINPUT;
	}
	idp_buf s = IDP_BUF_INIT;
	sprint_v(&s, in);
	regmatch_t m[10];
	size_t ngroups = rx.re_nsub + 1 < 10 ? rx.re_nsub + 1 : 10;
	int rc = regexec(&rx, idp_buf_cstr(&s), ngroups, m, 0);
	regfree(&rx);
	if (rc != 0 || group < 0 || (size_t)group >= ngroups) {
		idp_buf_free(&s);
		idp_doc_node q = {.kind = IDP_DOC_STR};
		q.as.str.ptr = match;
		q.as.str.len = strlen(match);
		idp_doc_node gn = {.kind = IDP_DOC_INT, .as.i = group};
		const idp_doc_node *args[2] = {&q, &gn};
		idp_buf msg = IDP_BUF_INIT;
		idp_compose_sprintf(&msg, "regexp %q had no matches for group %d", args, 2);
		idp_err_set(err, IDP_EINPUT, "%s", idp_buf_cstr(&msg));
		idp_buf_free(&msg);
		return IDP_EINPUT;
	}
	if (m[group].rm_so < 0)
		*out = idp_doc_new_str(a, "");
	else
		*out = idp_doc_new_strn(a, idp_buf_cstr(&s) + m[group].rm_so, (size_t)(m[group].rm_eo - m[group].rm_so));
	idp_buf_free(&s);
	return 0;
}

static int resolve_string(idp_arena *a, const idp_doc_node *st, const idp_doc_node *in, idp_doc_node **out,
			  idp_err *err)
{
	const char *type = str_of(st, "type");
	if (!type)
		type = "";
	idp_buf b = IDP_BUF_INIT;
	if (strcmp(type, "Format") == 0) {
		const char *f = str_of(st, "fmt");
		if (!f)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s fmt is not set", type);
		const idp_doc_node *args[1] = {in};
		idp_compose_sprintf(&b, f, args, 1);
	} else if (strcmp(type, "Convert") == 0) {
		const char *conv = str_of(st, "convert");
		if (!conv)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s convert is not set", type);
		return string_convert(a, conv, in, out, err);
	} else if (strcmp(type, "TrimPrefix") == 0 || strcmp(type, "TrimSuffix") == 0) {
		const char *trim = str_of(st, "trim");
		if (!trim)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s trim is not set", type);
		idp_buf s = IDP_BUF_INIT;
		sprint_v(&s, in);
		size_t tl = strlen(trim);
		const char *p = idp_buf_cstr(&s);
		size_t n = s.len;
		if (type[4] == 'P' && n >= tl && memcmp(p, trim, tl) == 0) {
			p += tl;
			n -= tl;
		} else if (type[4] == 'S' && n >= tl && memcmp(p + n - tl, trim, tl) == 0) {
			n -= tl;
		}
		idp_buf_append(&b, p, n);
		idp_buf_free(&s);
	} else if (strcmp(type, "Regexp") == 0) {
		const idp_doc_node *r = idp_doc_map_get(st, "regexp");
		if (!r)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s regexp is not set", type);
		return string_regexp(a, r, in, out, err);
	} else if (strcmp(type, "Join") == 0) {
		const idp_doc_node *j = idp_doc_map_get(st, "join");
		if (!j)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s join is not set", type);
		if (!in || in->kind != IDP_DOC_SEQ)
			return idp_err_set(err, IDP_EINPUT, "could not parse input array");
		const char *sep = str_of(j, "separator");
		if (!sep)
			sep = "";
		for (size_t i = 0; i < in->as.seq.len; i++) {
			sprint_v(&b, in->as.seq.items[i]);
			idp_buf_puts(&b, sep);
		}
		/* Upstream drops one byte of the last separator, whatever its length. */
		if (*sep && b.len)
			b.len--;
	} else if (strcmp(type, "Replace") == 0) {
		const idp_doc_node *r = idp_doc_map_get(st, "replace");
		if (!r)
			return idp_err_set(err, IDP_EINPUT, "string transform of type %s replace is not set", type);
		const char *search = str_of(r, "search"), *with = str_of(r, "replace");
		idp_buf s = IDP_BUF_INIT;
		sprint_v(&s, in);
		const char *p = idp_buf_cstr(&s);
		size_t sl = search ? strlen(search) : 0;
		if (!with)
			with = "";
		if (sl == 0) {
			/* strings.ReplaceAll with "" inserts at every rune boundary. */
			idp_buf_puts(&b, with);
			for (size_t i = 0; i < s.len; i++) {
				idp_buf_putc(&b, p[i]);
				if (i + 1 == s.len || ((unsigned char)p[i + 1] & 0xC0) != 0x80)
					idp_buf_puts(&b, with);
			}
		} else {
			for (size_t i = 0; i < s.len;) {
				if (s.len - i >= sl && memcmp(p + i, search, sl) == 0) {
					idp_buf_puts(&b, with);
					i += sl;
				} else {
					idp_buf_putc(&b, p[i++]);
				}
			}
		}
		idp_buf_free(&s);
	} else {
		return idp_err_set(err, IDP_EINPUT, "type %s is not supported for string transform type", type);
	}
	*out = new_str_buf(a, &b);
	idp_buf_free(&b);
	return 0;
}

/* ---------------------------------------------------------------- convert */

/* strconv.ParseBool */
static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* strconv.ParseInt(s, 10, 64) */
static int parse_int(const char *s, int64_t *out, const char **why)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p) {
		*why = "invalid syntax";
		return -1;
	}
	uint64_t v = 0;
	bool range = false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			*why = "invalid syntax";
			return -1;
		}
		if (v > (UINT64_MAX - 9) / 10)
			range = true;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (range || (!neg && v > INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1)) {
		*why = "value out of range";
		*out = neg ? INT64_MIN : INT64_MAX;
		return -1;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Go's underscoreOK: '_' only between digits, or after a base prefix. */
static bool underscores_ok(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	char prev = hex ? '0' : '^';
	if (hex)
		p += 2;
	for (; *p; p++) {
		bool digit = (*p >= '0' && *p <= '9') || (hex && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')));
		if (*p == '_') {
			if (prev != '0')
				return false;
		} else if (!digit && prev == '_') {
			return false;
		}
		prev = *p == '_' ? '_' : digit ? '0' : '!';
	}
	return prev != '_';
}

/* strconv.ParseFloat(s, 64), decimal and the inf/nan words. */
static int parse_float(const char *s, double *out, const char **why)
{
	*why = "invalid syntax";
	if (!*s)
		return -1;
	if (strchr(s, '_')) {
		if (!underscores_ok(s))
			return -1;
		char clean[256];
		size_t n = 0;
		for (const char *q = s; *q && n < sizeof clean - 1; q++)
			if (*q != '_')
				clean[n++] = *q;
		clean[n] = 0;
		return parse_float(clean, out, why);
	}
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0) {
		*out = *s == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (strcasecmp(p, "nan") == 0) {
		*out = NAN;
		return 0;
	}
	for (const char *q = p; *q; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-' ||
		      *q == 'x' || *q == 'X' || *q == 'p' || *q == 'P' || (*q >= 'a' && *q <= 'f') ||
		      (*q >= 'A' && *q <= 'F')))
			return -1;
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	if (*end || end == s)
		return -1;
	if (errno == ERANGE && isinf(*out)) {
		*why = "value out of range";
		return -1;
	}
	return 0;
}

/* resource.ParseQuantity(s).AsApproximateFloat64() */
static int parse_quantity(const char *s, double *out, idp_err *err)
{
	static const char *const format_wrong =
		"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
	const char *p = s;
	if (!*p)
		return idp_err_set(err, IDP_EINPUT, "%s", format_wrong);
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	const char *num = p;
	int dots = 0, digits = 0;
	while ((*p >= '0' && *p <= '9') || *p == '.') {
		if (*p == '.')
			dots++;
		else
			digits++;
		p++;
	}
	if (p == num)
		return idp_err_set(err, IDP_EINPUT, "%s", format_wrong);
	if (dots > 1 || digits == 0)
		return idp_err_set(err, IDP_EINPUT, "unable to parse numeric part of quantity");
	/* Kubernetes keeps unscaled digits and a decimal scale and multiplies
	 * them at the end (AsApproximateFloat64): "0.3" is 3 * 10^-1. */
	double unscaled = 0;
	int frac = 0;
	bool after_point = false;
	for (const char *d = num; d < p; d++) {
		if (*d == '.') {
			after_point = true;
			continue;
		}
		unscaled = unscaled * 10 + (*d - '0');
		frac += after_point;
	}
	double v = unscaled;
	const char *suffix = p;
	/* The suffix is letters then an optional signed integer. */
	const char *q = suffix;
	while (*q && strchr("eEinumkKMGTP", *q))
		q++;
	if (*q == '+' || *q == '-')
		q++;
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q)
		return idp_err_set(err, IDP_EINPUT, "%s", format_wrong);
	static const struct {
		const char *s;
		int base, exp;
	} table[] = {
		{"", 10, 0},  {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
		{"G", 10, 9}, {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
		{"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
	};
	bool found = false;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(suffix, table[i].s) != 0)
			continue;
		if (table[i].base == 10) {
			int e = table[i].exp - frac;
			v = e == 0 ? v : v * pow(10, e);
		} else {
			v = ldexp(v, table[i].exp);
			if (frac)
				v = v * pow(10, -frac);
		}
		found = true;
		break;
	}
	if (!found && (suffix[0] == 'e' || suffix[0] == 'E')) {
		const char *e = suffix + 1;
		const char *d = e;
		if (*d == '+' || *d == '-')
			d++;
		if (*d) {
			bool all = true;
			for (const char *c = d; *c; c++)
				all = all && *c >= '0' && *c <= '9';
			if (all) {
				int ex = atoi(e) - frac;
				v = ex == 0 ? v : v * pow(10, ex);
				found = true;
			}
		}
	}
	if (!found)
		return idp_err_set(err, IDP_EINPUT, "unable to parse quantity's suffix");
	*out = neg ? -v : v;
	return 0;
}

static int resolve_convert(idp_arena *a, const idp_doc_node *c, const idp_doc_node *in, idp_doc_node **out,
			   idp_err *err)
{
	if (check_convert(c, err) != 0)
		return IDP_EINPUT;
	const char *from = compose_go_type(in);
	if (!in || (in->kind != IDP_DOC_STR && in->kind != IDP_DOC_BOOL && in->kind != IDP_DOC_INT &&
		    in->kind != IDP_DOC_FLOAT)) {
		idp_buf b = IDP_BUF_INIT;
		const idp_doc_node *args[1] = {in};
		idp_compose_sprintf(&b, "invalid input type %T", args, 1);
		idp_err_set(err, IDP_EINPUT, "%s", idp_buf_cstr(&b));
		idp_buf_free(&b);
		return IDP_EINPUT;
	}
	const char *to = str_of(c, "toType");
	if (strcmp(to, "int") == 0)
		to = "int64";
	const char *format = convert_format(c);
	if (strcmp(to, from) == 0) {
		*out = idp_doc_copy(a, in);
		return 0;
	}
	bool none = strcmp(format, "none") == 0;
	const char *why = NULL;
	char tmp[64];
	switch (in->kind) {
	case IDP_DOC_STR: {
		const char *s = in->as.str.ptr;
		if (none && strcmp(to, "int64") == 0) {
			int64_t v;
			if (parse_int(s, &v, &why) != 0)
				return idp_err_set(err, IDP_EINPUT, "strconv.ParseInt: parsing \"%s\": %s", s, why);
			*out = idp_doc_new_int(a, v);
			return 0;
		}
		if (none && strcmp(to, "bool") == 0) {
			bool v;
			if (parse_bool(s, &v) != 0)
				return idp_err_set(err, IDP_EINPUT, "strconv.ParseBool: parsing \"%s\": invalid syntax", s);
			*out = idp_doc_new_bool(a, v);
			return 0;
		}
		if (strcmp(to, "float64") == 0 && (none || strcmp(format, "quantity") == 0)) {
			double v = 0;
			if (!none) {
				if (parse_quantity(s, &v, err) != 0)
					return IDP_EINPUT;
			} else if (parse_float(s, &v, &why) != 0) {
				return idp_err_set(err, IDP_EINPUT, "strconv.ParseFloat: parsing \"%s\": %s", s, why);
			}
			*out = idp_doc_new_float(a, v);
			return 0;
		}
		if (strcmp(format, "json") == 0 && (strcmp(to, "object") == 0 || strcmp(to, "array") == 0)) {
			idp_doc_node *v;
			if (compose_json_unmarshal(a, s, in->as.str.len, &v, err) != 0)
				return IDP_EINPUT;
			bool object = to[0] == 'o';
			if (v->kind != IDP_DOC_NULL && v->kind != (object ? IDP_DOC_MAP : IDP_DOC_SEQ))
				return idp_err_set(err, IDP_EINPUT, "json: cannot unmarshal %s into Go value of type %s",
						   v->kind == IDP_DOC_MAP	    ? "object"
						   : v->kind == IDP_DOC_SEQ   ? "array"
						   : v->kind == IDP_DOC_STR   ? "string"
						   : v->kind == IDP_DOC_BOOL  ? "bool"
									      : "number",
						   object ? "map[string]interface {}" : "[]interface {}");
			*out = v;
			return 0;
		}
		break;
	}
	case IDP_DOC_INT:
		if (!none)
			break;
		if (strcmp(to, "string") == 0) {
			snprintf(tmp, sizeof(tmp), "%lld", (long long)in->as.i);
			*out = idp_doc_new_str(a, tmp);
			return 0;
		}
		if (strcmp(to, "bool") == 0) {
			*out = idp_doc_new_bool(a, in->as.i == 1);
			return 0;
		}
		if (strcmp(to, "float64") == 0) {
			*out = idp_doc_new_float(a, (double)in->as.i);
			return 0;
		}
		break;
	case IDP_DOC_BOOL:
		if (!none)
			break;
		if (strcmp(to, "string") == 0) {
			*out = idp_doc_new_str(a, in->as.b ? "true" : "false");
			return 0;
		}
		if (strcmp(to, "int64") == 0) {
			*out = idp_doc_new_int(a, in->as.b ? 1 : 0);
			return 0;
		}
		if (strcmp(to, "float64") == 0) {
			*out = idp_doc_new_float(a, in->as.b ? 1 : 0);
			return 0;
		}
		break;
	case IDP_DOC_FLOAT:
		if (!none)
			break;
		if (strcmp(to, "string") == 0) {
			idp_buf b = IDP_BUF_INIT;
			compose_format_float(&b, in->as.f, 'f', -1);
			*out = new_str_buf(a, &b);
			idp_buf_free(&b);
			return 0;
		}
		if (strcmp(to, "int64") == 0) {
			double f = in->as.f;
			int64_t v = isnan(f) ? INT64_MIN : f >= 9223372036854775807.0 ? INT64_MIN : f < -9223372036854775808.0 ? INT64_MIN : (int64_t)f;
			*out = idp_doc_new_int(a, v);
			return 0;
		}
		if (strcmp(to, "bool") == 0) {
			*out = idp_doc_new_bool(a, in->as.f == 1.0);
			return 0;
		}
		break;
	default:
		break;
	}
	return idp_err_set(err, IDP_EINPUT, "conversion from %s to %s is not supported with format %s", from, to, format);
}

/* ---------------------------------------------------------------- resolve */

int idp_compose_transform(idp_arena *a, const idp_doc_node *t, const idp_doc_node *in, idp_doc_node **out,
			  idp_err *err)
{
	*out = NULL;
	if (!t || t->kind != IDP_DOC_MAP)
		return idp_err_set(err, IDP_EINPUT, "a transform must be a map");
	const char *type = str_of(t, "type");
	if (!type)
		type = "";
	static const char *const kinds[] = {"math", "map", "match", "string", "convert"};
	for (size_t i = 0; i < 5; i++) {
		if (strcmp(type, kinds[i]) != 0)
			continue;
		const idp_doc_node *cfg = idp_doc_map_get(t, kinds[i]);
		if (!cfg || cfg->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "given transform type %s requires configuration", type);
		int rc;
		switch (i) {
		case 0:
			rc = resolve_math(a, cfg, in, out, err);
			break;
		case 1:
			rc = resolve_map(a, cfg, in, out, err);
			break;
		case 2:
			rc = resolve_match(a, cfg, in, out, err);
			break;
		case 3:
			rc = resolve_string(a, cfg, in, out, err);
			break;
		default:
			rc = resolve_convert(a, cfg, in, out, err);
			break;
		}
		if (rc != 0) {
			idp_err_wrap(err, "%s transform could not resolve", type);
			*out = NULL;
		}
		return rc;
	}
	return idp_err_set(err, IDP_EINPUT, "transform type %s is not supported", type);
}

int idp_compose_transforms(idp_arena *a, const idp_doc_node *list, const idp_doc_node *input, idp_doc_node **out,
			   idp_err *err)
{
	idp_doc_node *v = input ? (idp_doc_node *)input : idp_doc_new_null(a);
	for (size_t i = 0; list && list->kind == IDP_DOC_SEQ && i < list->as.seq.len; i++) {
		idp_doc_node *next;
		if (idp_compose_transform(a, list->as.seq.items[i], v, &next, err) != 0) {
			idp_err_wrap(err, "transform at index %zu returned error", i);
			*out = NULL;
			return IDP_EINPUT;
		}
		v = next;
	}
	*out = v;
	return 0;
}
