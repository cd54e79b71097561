/* Canonical YAML out, through libyaml's emitter. This file only decides the
 * style of each scalar (that is where kubectl compatibility lives); libyaml
 * does the writing and falls back to a quoted style when plain text would
 * not read back the same. */
#include "doc/doc_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Programmatically built trees are not depth-capped by the loader; this keeps
 * recursion bounded for them too. */
#define EMIT_MAX_DEPTH 4096

typedef struct emitter {
	yaml_emitter_t y;
	idp_buf *out;
	idp_err *err;
} emitter;

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	idp_buf_append(data, buffer, size);
	return 1;
}

static int emit(emitter *E, yaml_event_t *ev, const idp_doc_node *at)
{
	if (yaml_emitter_emit(&E->y, ev))
		return 0;
	idp_pos pos = at ? at->pos : (idp_pos){NULL, 0, 0};
	return idp_err_at(E->err, pos, NULL, "cannot emit YAML: %s",
			  E->y.problem ? E->y.problem : "emitter error");
}

/* U+0085, U+2028 and U+2029 are line breaks to a YAML reader: written
 * raw they would split a line, so they are escaped (\N \L \P). */
static bool has_unicode_break(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (((unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] == 0x85) ||
		    (i + 2 < n && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
		     ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)))
			return true;
	return false;
}

static yaml_scalar_style_t string_style(const char *s, size_t n)
{
	if (idp_doc_str_needs_quotes(s, n) || has_unicode_break(s, n))
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	if (memchr(s, '\n', n))
		return YAML_LITERAL_SCALAR_STYLE;
	return YAML_PLAIN_SCALAR_STYLE;
}

static int emit_scalar(emitter *E, const char *text, size_t len, yaml_scalar_style_t style,
		       const idp_doc_node *at)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1, style))
		return idp_err_at(E->err, at ? at->pos : (idp_pos){NULL, 0, 0}, NULL,
				  "cannot emit a string that is not valid UTF-8");
	return emit(E, &ev, at);
}

static int emit_node(emitter *E, const idp_doc_node *n, unsigned depth)
{
	char num[32];
	yaml_event_t ev;
	if (depth > EMIT_MAX_DEPTH)
		return idp_err_at(E->err, n->pos, NULL, "document nests deeper than %d levels", EMIT_MAX_DEPTH);
	switch (n->kind) {
	case IDP_DOC_NULL:
		return emit_scalar(E, "null", 4, YAML_PLAIN_SCALAR_STYLE, n);
	case IDP_DOC_BOOL:
		return emit_scalar(E, n->as.b ? "true" : "false", n->as.b ? 4 : 5, YAML_PLAIN_SCALAR_STYLE, n);
	case IDP_DOC_INT:
		snprintf(num, sizeof(num), "%" PRId64, n->as.i);
		return emit_scalar(E, num, strlen(num), YAML_PLAIN_SCALAR_STYLE, n);
	case IDP_DOC_FLOAT:
		doc_format_float(n->as.f, true, num);
		return emit_scalar(E, num, strlen(num), YAML_PLAIN_SCALAR_STYLE, n);
	case IDP_DOC_STR:
		return emit_scalar(E, n->as.str.ptr, n->as.str.len, string_style(n->as.str.ptr, n->as.str.len), n);
	case IDP_DOC_SEQ:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (emit(E, &ev, n))
			return IDP_EINPUT;
		for (size_t i = 0; i < n->as.seq.len; i++)
			if (emit_node(E, n->as.seq.items[i], depth + 1))
				return IDP_EINPUT;
		yaml_sequence_end_event_initialize(&ev);
		return emit(E, &ev, n);
	case IDP_DOC_MAP:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (emit(E, &ev, n))
			return IDP_EINPUT;
		for (size_t i = 0; i < n->as.map.len; i++) {
			const idp_doc_entry *e = &n->as.map.items[i];
			size_t klen = strlen(e->key);
			if (emit_scalar(E, e->key, klen, string_style(e->key, klen), e->value) ||
			    emit_node(E, e->value, depth + 1))
				return IDP_EINPUT;
		}
		yaml_mapping_end_event_initialize(&ev);
		return emit(E, &ev, n);
	}
	return 0;
}

int idp_doc_emit_yaml(idp_doc_node *const *docs, size_t n, idp_buf *out, idp_err *err)
{
	emitter E = {.out = out, .err = err};
	if (!yaml_emitter_initialize(&E.y))
		return idp_err_set(err, IDP_ERUNTIME, "cannot initialise the YAML emitter");
	yaml_emitter_set_output(&E.y, write_handler, out);
	yaml_emitter_set_indent(&E.y, 2);
	yaml_emitter_set_width(&E.y, -1); /* never fold long strings */
	yaml_emitter_set_unicode(&E.y, 1);
	yaml_emitter_set_break(&E.y, YAML_LN_BREAK);

	size_t start = out->len;
	yaml_event_t ev;
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	int rc = emit(&E, &ev, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		rc = emit(&E, &ev, docs[i]);
		if (rc == 0)
			rc = emit_node(&E, docs[i], 0);
		if (rc == 0) {
			yaml_document_end_event_initialize(&ev, 1);
			rc = emit(&E, &ev, docs[i]);
		}
	}
	if (rc == 0) {
		yaml_stream_end_event_initialize(&ev);
		rc = emit(&E, &ev, NULL);
	}
	if (rc == 0 && !yaml_emitter_flush(&E.y))
		rc = idp_err_set(err, IDP_ERUNTIME, "cannot flush the YAML emitter");
	yaml_emitter_delete(&E.y);
	if (rc) { /* no partial output */
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}
