/* Setting one scalar in a YAML file as a text edit (idp release set-image):
 * the value is replaced where it stands, or its missing keys are added as
 * lines at the end of the deepest map that exists, indented like that map's
 * keys. Every other byte stays. */
#include "gitops/gitops_private.h"

#include <string.h>
#include <yaml.h>

/* One frame of the event walk: a map or list, and how far along the path
 * it is (-1: off the path). */
typedef struct set_frame {
	bool is_map, want_key, flow;
	int depth;               /* path elements matched by this node */
	long index;              /* lists: the next item's index */
	const char *key;         /* maps: the key just read (arena) */
	yaml_mark_t start;       /* the node's first token */
	yaml_mark_t first_key;   /* maps: where the first key stands */
	bool has_key;
	yaml_mark_t last_end;    /* the end of the last token inside it */
} set_frame;

/* What the walk found for the path. */
typedef struct set_found {
	int depth;                     /* elements of the path that exist */
	bool scalar;                   /* the whole path exists and is a scalar */
	yaml_mark_t value_start, value_end;
	bool null_value;               /* the deepest existing node is a null scalar (`annotations:`) */
	yaml_mark_t key_mark;          /* with null_value: its key */
	set_frame map;                 /* the deepest existing map on the path */
	bool have_map;
} set_found;

static bool later_mark(yaml_mark_t a, yaml_mark_t b)
{
	return a.line > b.line || (a.line == b.line && a.column > b.column);
}

/* The path element a child of f is: its key, or its index. */
static bool child_matches(const set_frame *f, const idp_gitops_path_step *step)
{
	if (f->is_map)
		return step->key && f->key && strcmp(step->key, f->key) == 0;
	return !step->key && f->index == step->index;
}

static void note_token_end(set_frame *stack, size_t depth, yaml_mark_t end)
{
	for (size_t i = 0; i < depth; i++)
		if (later_mark(end, stack[i].last_end))
			stack[i].last_end = end;
}

static void after_child(set_frame *f)
{
	if (!f)
		return;
	if (f->is_map) {
		f->want_key = true;
		f->key = NULL;
	} else {
		f->index++;
	}
}

static int walk(idp_arena *a, const char *file, const char *text, size_t len, size_t doc_index,
		const idp_gitops_path_step *path, size_t n, set_found *found, idp_err *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return idp_err_set(err, IDP_ERUNTIME, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	set_frame stack[256];
	size_t depth = 0, doc = 0;
	bool in_doc = false, done = false, null_doc = false;
	int rc = 0;
	memset(found, 0, sizeof(*found));
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = idp_err_at(err, (idp_pos){file, (uint32_t)p.problem_mark.line + 1, (uint32_t)p.problem_mark.column + 1},
					NULL, "%s", p.problem ? p.problem : "YAML syntax error");
			break;
		}
		set_frame *top = depth ? &stack[depth - 1] : NULL;
		bool mine = in_doc && doc == doc_index;
		/* How deep along the path the node starting now is. */
		int node_depth = -1;
		if (mine && !top)
			node_depth = 0;
		else if (mine && top && top->depth >= 0 && (size_t)top->depth < n && !(top->is_map && top->want_key) &&
			 child_matches(top, &path[top->depth]))
			node_depth = top->depth + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT: in_doc = true; break;
		case YAML_DOCUMENT_END_EVENT:
			in_doc = false;
			/* The doc model leaves out empty and null documents: so does the count. */
			if (!null_doc)
				done = doc++ == doc_index;
			null_doc = false;
			break;
		case YAML_SCALAR_EVENT:
			if (!depth && gitops_null_scalar(&ev))
				null_doc = true;
			if (mine)
				note_token_end(stack, depth, ev.end_mark);
			if (top && top->is_map && top->want_key) {
				top->want_key = false;
				top->key = idp_arena_strdup(a, (const char *)ev.data.scalar.value);
				if (!top->has_key) {
					top->has_key = true;
					top->first_key = ev.start_mark;
				}
				if (top->depth >= 0 && (size_t)top->depth < n && child_matches(top, &path[top->depth]))
					found->key_mark = ev.start_mark;
				break;
			}
			if (node_depth >= 0 && node_depth > found->depth) {
				found->depth = node_depth;
				found->value_start = ev.start_mark;
				found->value_end = ev.end_mark;
				found->scalar = (size_t)node_depth == n;
				const char *v = (const char *)ev.data.scalar.value;
				found->null_value = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
						    (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0);
			}
			after_child(top);
			break;
		case YAML_ALIAS_EVENT:
			after_child(top);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: {
			if (depth == sizeof(stack) / sizeof(stack[0])) {
				rc = idp_err_set(err, IDP_EINPUT, "%s: nests too deep to edit", file);
				break;
			}
			bool is_map = ev.type == YAML_MAPPING_START_EVENT;
			bool flow = is_map ? ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
					   : ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
			if (node_depth >= 0 && node_depth >= found->depth) {
				found->depth = node_depth;
				found->scalar = false;
				found->null_value = false;
			}
			stack[depth++] = (set_frame){is_map, true, flow, node_depth, 0, NULL, ev.start_mark, {0}, false, ev.start_mark};
			break;
		}
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT: {
			set_frame f = stack[--depth];
			if (mine && f.flow)
				note_token_end(stack, depth, ev.end_mark);
			if (f.flow)
				f.last_end = ev.end_mark;
			if (f.is_map && f.depth >= 0 && f.depth == found->depth) {
				found->map = f;
				found->have_map = true;
			}
			after_child(depth ? &stack[depth - 1] : NULL);
			break;
		}
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* The lines for path[from..n) with value, the first key at column col. */
static const char *nested_lines(idp_arena *a, const idp_gitops_path_step *path, size_t from, size_t n,
				const char *value, unsigned col, const char *eol)
{
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = from; i < n; i++) {
		for (unsigned k = 0; k < col + 2 * (unsigned)(i - from); k++)
			idp_buf_putc(&b, ' ');
		if (i + 1 < n)
			idp_buf_printf(&b, "%s:%s", path[i].key, eol);
		else
			idp_buf_printf(&b, "%s: %s%s", path[i].key, value, eol);
	}
	const char *s = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	return s;
}

int gitops_yaml_set(idp_arena *a, const char *file, const char *text, size_t len, size_t doc_index,
		    const idp_gitops_path_step *path, size_t n, const char *value, const char **out, size_t *out_len,
		    idp_err *err)
{
	set_found f;
	int rc = walk(a, file, text, len, doc_index, path, n, &f, err);
	if (rc)
		return rc;
	const char *eol = gitops_eol(text, len);
	if (f.scalar) { /* the value is there: replace it */
		size_t from = gitops_mark_offset(text, len, f.value_start), to = gitops_mark_offset(text, len, f.value_end);
		/* An empty value (`key:`) is an empty range just after the colon. */
		const char *with = from == to ? idp_arena_printf(a, " %s", value) : value;
		*out = gitops_splice(a, text, len, from, to, with, out_len);
		return 0;
	}
	if ((size_t)f.depth == n)
		return idp_err_set(err, IDP_EINPUT, "%s: the value to set is a map or a list, not a scalar", file);
	for (size_t i = (size_t)f.depth; i < n; i++)
		if (!path[i].key)
			return idp_err_set(err, IDP_EINPUT, "%s: no list item %ld to set a value in", file, path[i].index);
	if (f.null_value) { /* `annotations:` with nothing: the lines go under the key */
		size_t from = gitops_mark_offset(text, len, f.value_start), to = gitops_mark_offset(text, len, f.value_end);
		const char *lines = nested_lines(a, path, (size_t)f.depth, n, value, (unsigned)f.key_mark.column + 2, eol);
		size_t at = gitops_line_after(text, len, to), mid_len;
		char *mid = gitops_splice(a, text, len, at, at, at == len && len && text[len - 1] != '\n'
							     ? idp_arena_printf(a, "%s%s", eol, lines)
							     : lines,
				    &mid_len);
		*out = gitops_splice(a, mid, mid_len, from, to, "", out_len);
		return 0;
	}
	if (!f.have_map)
		return idp_err_set(err, IDP_EINPUT, "%s: %s is not a map", file, f.depth ? path[f.depth - 1].key : "the document");
	if (f.map.flow) { /* {a: 1} -> {a: 1, key: {…: value}} */
		idp_buf b = IDP_BUF_INIT;
		idp_buf_puts(&b, f.map.has_key ? ", " : "");
		for (size_t i = (size_t)f.depth; i < n; i++)
			idp_buf_printf(&b, "%s: %s", path[i].key, i + 1 < n ? "{" : value);
		for (size_t i = (size_t)f.depth + 1; i < n; i++)
			idp_buf_putc(&b, '}');
		size_t close = gitops_mark_offset(text, len, f.map.last_end) - 1;
		*out = gitops_splice(a, text, len, close, close, idp_buf_cstr(&b), out_len);
		idp_buf_free(&b);
		return 0;
	}
	/* A block map: the new keys follow its last line, indented as its keys. */
	size_t end = gitops_mark_offset(text, len, f.map.last_end);
	size_t at = f.map.last_end.column == 0 && end > 0 ? end : gitops_line_after(text, len, end);
	const char *lines = nested_lines(a, path, (size_t)f.depth, n, value, (unsigned)f.map.first_key.column, eol);
	*out = gitops_splice(a, text, len, at, at, at == len && len && text[len - 1] != '\n' ? idp_arena_printf(a, "%s%s", eol, lines) : lines,
		       out_len);
	return 0;
}
