/* JSON out. Written here rather than through jansson because the doc room's
 * JSON must share the YAML side's number formatting (shortest round-trip
 * floats) and must not pay for a second tree. */
#include "doc/doc_private.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 4096

static void json_string(idp_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	idp_buf_putc(out, '"');
	size_t run = 0; /* bytes copied in one go between escapes */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		idp_buf_append(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': idp_buf_puts(out, "\\\""); break;
		case '\\': idp_buf_puts(out, "\\\\"); break;
		case '\n': idp_buf_puts(out, "\\n"); break;
		case '\t': idp_buf_puts(out, "\\t"); break;
		case '\r': idp_buf_puts(out, "\\r"); break;
		case '\b': idp_buf_puts(out, "\\b"); break;
		case '\f': idp_buf_puts(out, "\\f"); break;
		default: {
			char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
			idp_buf_puts(out, esc);
		}
		}
	}
	idp_buf_append(out, s + run, n - run);
	idp_buf_putc(out, '"');
}

static void newline(idp_buf *out, int flags, unsigned depth)
{
	if (!(flags & IDP_DOC_JSON_PRETTY))
		return;
	static const char spaces[] = "\n                                                                ";
	size_t want = (size_t)depth * 4;
	idp_buf_append(out, spaces, 1);
	while (want) {
		size_t n = want < sizeof(spaces) - 2 ? want : sizeof(spaces) - 2;
		idp_buf_append(out, spaces + 1, n);
		want -= n;
	}
}

static int json_node(const idp_doc_node *n, int flags, unsigned depth, idp_buf *out, idp_err *err)
{
	char num[32];
	if (depth > JSON_MAX_DEPTH)
		return idp_err_at(err, n->pos, NULL, "document nests deeper than %d levels", JSON_MAX_DEPTH);
	switch (n->kind) {
	case IDP_DOC_NULL: idp_buf_puts(out, "null"); return 0;
	case IDP_DOC_BOOL: idp_buf_puts(out, n->as.b ? "true" : "false"); return 0;
	case IDP_DOC_INT: idp_buf_printf(out, "%" PRId64, n->as.i); return 0;
	case IDP_DOC_FLOAT:
		if (!isfinite(n->as.f))
			return idp_err_at(err, n->pos, NULL, "%s cannot be represented in JSON",
					  isnan(n->as.f) ? ".nan" : ".inf");
		doc_format_float(n->as.f, true, num);
		idp_buf_puts(out, num);
		return 0;
	case IDP_DOC_STR:
		if (!idp_utf8_valid(n->as.str.ptr, n->as.str.len, NULL))
			return idp_err_at(err, n->pos, NULL, "string is not valid UTF-8");
		json_string(out, n->as.str.ptr, n->as.str.len);
		return 0;
	case IDP_DOC_SEQ:
		idp_buf_putc(out, '[');
		for (size_t i = 0; i < n->as.seq.len; i++) {
			if (i)
				idp_buf_putc(out, ',');
			newline(out, flags, depth + 1);
			if (json_node(n->as.seq.items[i], flags, depth + 1, out, err))
				return IDP_EINPUT;
		}
		if (n->as.seq.len)
			newline(out, flags, depth);
		idp_buf_putc(out, ']');
		return 0;
	case IDP_DOC_MAP:
		idp_buf_putc(out, '{');
		for (size_t i = 0; i < n->as.map.len; i++) {
			if (i)
				idp_buf_putc(out, ',');
			newline(out, flags, depth + 1);
			json_string(out, n->as.map.items[i].key, strlen(n->as.map.items[i].key));
			idp_buf_puts(out, (flags & IDP_DOC_JSON_PRETTY) ? ": " : ":");
			if (json_node(n->as.map.items[i].value, flags, depth + 1, out, err))
				return IDP_EINPUT;
		}
		if (n->as.map.len)
			newline(out, flags, depth);
		idp_buf_putc(out, '}');
		return 0;
	}
	return 0;
}

int idp_doc_emit_json(const idp_doc_node *node, int flags, idp_buf *out, idp_err *err)
{
	size_t start = out->len;
	int rc = json_node(node, flags, 0, out, err);
	if (rc) { /* no partial output */
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}
