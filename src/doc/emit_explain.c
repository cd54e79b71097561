/* YAML with a comment after every leaf (idp render --explain). libyaml's
 * emitter cannot write comments, so the documents are emitted as usual, the
 * text is parsed back to learn on which line each leaf landed, and the
 * comments are appended to those lines. The parse walks events in the same
 * order as the tree, so leaf i of the tree is leaf i of the text. */
#include "doc/doc_private.h"

#include <string.h>
#include <yaml.h>

typedef struct leaf_list {
	const idp_doc_node **items;
	size_t len, cap;
} leaf_list;

typedef struct line_list {
	size_t *items; /* 0-based line of each leaf, in tree order */
	size_t len, cap;
} line_list;


/* Leaves in emit order: scalars, and maps and lists that print as {} or []. */
static void collect_leaves(idp_arena *a, const idp_doc_node *n, leaf_list *out)
{
	if (n->kind == IDP_DOC_MAP && n->as.map.len) {
		for (size_t i = 0; i < n->as.map.len; i++)
			collect_leaves(a, n->as.map.items[i].value, out);
	} else if (n->kind == IDP_DOC_SEQ && n->as.seq.len) {
		for (size_t i = 0; i < n->as.seq.len; i++)
			collect_leaves(a, n->as.seq.items[i], out);
	} else {
		out->items = idp_arena_grow(a, out->items, out->len, &out->cap, sizeof(*out->items));
		out->items[out->len++] = n;
	}
}

/* A container being read back: maps alternate key and value. */
typedef struct frame {
	bool is_map, want_key, empty;
} frame;

#define EXPLAIN_MAX_DEPTH 4096

static void record(idp_arena *a, line_list *out, size_t line)
{
	out->items = idp_arena_grow(a, out->items, out->len, &out->cap, sizeof(*out->items));
	out->items[out->len++] = line;
}

/* Reading one event: the line of each leaf it ends, in order. A block
 * scalar's comment goes on its header line, since its text runs on below. */
static int read_event(idp_arena *a, const yaml_event_t *ev, frame *stack, size_t *depth, line_list *out, idp_err *err)
{
	frame *top = *depth ? &stack[*depth - 1] : NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (top)
			top->empty = false;
		if (top && top->is_map && top->want_key) {
			top->want_key = false;
			return 0;
		}
		if (top && top->is_map)
			top->want_key = true;
		bool block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
			     ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
		record(a, out, block ? ev->start_mark.line : ev->end_mark.line);
		return 0;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (*depth == EXPLAIN_MAX_DEPTH)
			return idp_err_set(err, IDP_ERUNTIME, "emitted YAML nests too deep to explain");
		if (top)
			top->empty = false;
		stack[(*depth)++] = (frame){ev->type == YAML_MAPPING_START_EVENT, true, true};
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (top->empty)
			record(a, out, ev->end_mark.line);
		if (--*depth && stack[*depth - 1].is_map)
			stack[*depth - 1].want_key = true;
		return 0;
	default: return 0;
	}
}

static int leaf_lines(idp_arena *a, const idp_buf *text, line_list *out, idp_err *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return idp_err_set(err, IDP_ERUNTIME, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)text->ptr, text->len);
	frame *stack = idp_arena_alloc(a, EXPLAIN_MAX_DEPTH * sizeof(*stack));
	size_t depth = 0;
	int rc = 0;
	for (bool done = false; !done && rc == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = idp_err_set(err, IDP_ERUNTIME, "cannot read back emitted YAML: %s",
					 p.problem ? p.problem : "parser error");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = read_event(a, &ev, stack, &depth, out, err);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* A comment ends at the line's end: a note cannot break the YAML around
 * it. Control characters, YAML's other line breaks (U+0085, U+2028,
 * U+2029) and bytes that are not UTF-8 become '?'. */
static void append_note(idp_buf *out, const idp_buf *note)
{
	const unsigned char *s = (const unsigned char *)note->ptr;
	size_t n = note->len;
	for (size_t i = 0; i < n;) {
		size_t bad = 0;
		size_t len = s[i] < 0x80 ? 1 : (s[i] >> 5) == 6 ? 2 : (s[i] >> 4) == 14 ? 3 : (s[i] >> 3) == 30 ? 4 : 0;
		if (len == 0 || i + len > n || !idp_utf8_valid((const char *)s + i, len, &bad) ||
		    (len == 1 && (s[i] < 0x20 || s[i] == 0x7f)) || (len == 2 && s[i] == 0xC2 && s[i + 1] == 0x85) ||
		    (len == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))) {
			/* A line break or tab reads as a space; anything else unprintable as '?'. */
			bool blank = len == 1 && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t');
			idp_buf_putc(out, blank ? ' ' : '?');
			i += len ? len : 1;
			continue;
		}
		idp_buf_append(out, (const char *)s + i, len);
		i += len;
	}
}

/* Appends text with "  # note" after each line that ends a leaf. */
static void write_commented(const idp_buf *text, const leaf_list *leaves, const line_list *lines,
			    idp_doc_explain_fn describe, void *ctx, idp_buf *out)
{
	idp_buf note = IDP_BUF_INIT;
	size_t leaf = 0, line = 0;
	const char *p = text->ptr, *end = text->ptr + text->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		idp_buf_append(out, p, (size_t)(eol - p));
		const char *sep = "  # ";
		for (; leaf < lines->len && lines->items[leaf] == line; leaf++) {
			idp_buf_puts(out, sep);
			idp_buf_clear(&note);
			describe(ctx, leaves->items[leaf], &note);
			append_note(out, &note);
			sep = "; ";
		}
		if (nl)
			idp_buf_putc(out, '\n');
		p = nl ? nl + 1 : end;
		line++;
	}
	idp_buf_free(&note);
}

int idp_doc_emit_yaml_explained(idp_doc_node *const *docs, size_t n, idp_doc_explain_fn describe, void *ctx,
				idp_buf *out, idp_err *err)
{
	idp_buf text = IDP_BUF_INIT;
	int rc = idp_doc_emit_yaml(docs, n, &text, err);
	idp_arena *a = idp_arena_new();
	leaf_list leaves = {0};
	line_list lines = {0};
	for (size_t i = 0; rc == 0 && i < n; i++)
		collect_leaves(a, docs[i], &leaves);
	if (rc == 0)
		rc = leaf_lines(a, &text, &lines, err);
	if (rc == 0 && lines.len != leaves.len)
		rc = idp_err_set(err, IDP_ERUNTIME, "explain: %zu leaves in the tree but %zu in the text", leaves.len,
				 lines.len);
	if (rc == 0)
		write_commented(&text, &leaves, &lines, describe, ctx, out);
	idp_arena_free(a);
	idp_buf_free(&text);
	return rc;
}
