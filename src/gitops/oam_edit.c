/* The OAM updater's edit: one component added to spec.components of an OAM
 * Application file, every other byte kept (comments, order, quoting, line
 * endings). The file is parsed twice: into the doc model, to find the
 * Application and check names by value, and as libyaml events, to learn
 * where spec.components stands in the text. The result is parsed again and
 * must equal the input plus exactly the new component, or nothing is
 * returned. */
#include "gitops/gitops_private.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* ---------------------------------------------------------------- the component */

/* Plain when a YAML 1.1 reader reads it back as this string, else quoted. */
static void put_scalar(idp_buf *b, const char *s, bool flow)
{
	bool plain = *s && !flow && !idp_doc_str_needs_quotes(s, strlen(s));
	for (const char *p = s; plain && *p; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '/' ||
			(p != s && strchr("._@-:", *p) && !(*p == ':' && (p[1] == '\0' || p[1] == ' ')));
	if (plain) {
		idp_buf_puts(b, s);
		return;
	}
	idp_buf_putc(b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			idp_buf_putc(b, '\\');
		idp_buf_putc(b, *p);
	}
	idp_buf_putc(b, '"');
}

typedef struct prop {
	const char *key, *value; /* value NULL: left out */
	bool number;
} prop;

/* The properties the original updater meant to write (reference §3.3),
 * with source: api-driven so that the webservice never requests itself. */
static size_t component_props(idp_arena *a, const idp_doc_node *spec, prop *out)
{
	const char *name = idp_doc_map_get_str(spec, "name");
	const char *registry = idp_doc_map_get_str(spec, "imageRegistry");
	size_t n = 0;
	out[n++] = (prop){"image", registry && *registry ? idp_arena_printf(a, "%s/%s:latest", registry, name)
						       : idp_arena_printf(a, "%s:latest", name), false};
	out[n++] = (prop){"port", "8080", true};
	out[n++] = (prop){"healthPath", "/health", false};
	out[n++] = (prop){"language", idp_doc_map_get_str(spec, "language"), false};
	out[n++] = (prop){"framework", idp_doc_map_get_str(spec, "framework"), false};
	static const char *const optional[] = {"database", "cache"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = idp_doc_map_get_str(spec, optional[i]);
		if (v && strcmp(v, "none") != 0)
			out[n++] = (prop){optional[i], v, false};
	}
	const char *rt = idp_doc_map_get_str(spec, "realtime");
	if (rt && *rt && strcmp(rt, "none") != 0)
		out[n++] = (prop){"realtime", rt, false};
	out[n++] = (prop){"source", "api-driven", false};
	return n;
}

static int claim_spec(const idp_doc_node *claim, const idp_doc_node **spec, const char **name, idp_err *err)
{
	*spec = idp_doc_map_get(claim, "spec");
	*name = idp_doc_map_get_str(*spec, "name");
	if (!*name)
		return idp_err_at(err, claim->pos, "spec.name", "the claim has no spec.name");
	const char *bad = idp_name_check_dns1123_label(*name);
	if (bad)
		return idp_err_at(err, idp_doc_map_get(*spec, "name")->pos, "spec.name", "invalid service name \"%s\": %s",
				  *name, bad);
	/* These go into the component, and language/framework into the commit
	 * message: lower-case words only (the XRD's enumerations are). */
	static const char *const words[] = {"language", "framework", "database", "cache", "realtime"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const idp_doc_node *v = idp_doc_map_get(*spec, words[i]);
		if (!v)
			continue;
		bool ok = v->kind == IDP_DOC_STR && v->as.str.len > 0 && v->as.str.len <= 63;
		for (size_t k = 0; ok && k < v->as.str.len; k++) {
			char c = v->as.str.ptr[k];
			ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
		}
		char path[32];
		snprintf(path, sizeof(path), "spec.%s", words[i]);
		if (!ok)
			return idp_err_at(err, v->pos, path, "%s must be a lower-case word", words[i]);
	}
	const idp_doc_node *reg = idp_doc_map_get(*spec, "imageRegistry");
	for (size_t k = 0; reg && reg->kind == IDP_DOC_STR && k < reg->as.str.len; k++)
		if ((unsigned char)reg->as.str.ptr[k] < 0x21 || reg->as.str.ptr[k] == '"')
			return idp_err_at(err, reg->pos, "spec.imageRegistry", "imageRegistry holds a blank or a quote");
	return 0;
}

static void indent(idp_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		idp_buf_putc(b, ' ');
}

int idp_gitops_component_text(idp_arena *a, const idp_doc_node *claim, unsigned dash_col, unsigned key_col,
			      const char *eol, const char **out, idp_err *err)
{
	const idp_doc_node *spec;
	const char *name;
	int rc = claim_spec(claim, &spec, &name, err);
	if (rc)
		return rc;
	prop props[12];
	size_t n = component_props(a, spec, props);
	idp_buf b = IDP_BUF_INIT;
	indent(&b, dash_col);
	idp_buf_puts(&b, "-");
	indent(&b, key_col > dash_col ? key_col - dash_col - 1 : 1);
	idp_buf_puts(&b, "name: ");
	put_scalar(&b, name, false);
	idp_buf_printf(&b, "%s", eol);
	indent(&b, key_col);
	idp_buf_printf(&b, "type: webservice%s", eol);
	indent(&b, key_col);
	idp_buf_printf(&b, "properties:%s", eol);
	for (size_t i = 0; i < n; i++) {
		if (!props[i].value)
			continue;
		indent(&b, key_col + 2);
		idp_buf_printf(&b, "%s: ", props[i].key);
		if (props[i].number)
			idp_buf_puts(&b, props[i].value);
		else
			put_scalar(&b, props[i].value, false);
		idp_buf_puts(&b, eol);
	}
	*out = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	return 0;
}

/* The same component as one flow mapping, for `components: [a, b]`. */
static const char *component_flow(idp_arena *a, const idp_doc_node *claim)
{
	const idp_doc_node *spec = idp_doc_map_get(claim, "spec");
	prop props[12];
	size_t n = component_props(a, spec, props);
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, "{name: ");
	put_scalar(&b, idp_doc_map_get_str(spec, "name"), true);
	idp_buf_puts(&b, ", type: webservice, properties: {");
	const char *sep = "";
	for (size_t i = 0; i < n; i++) {
		if (!props[i].value)
			continue;
		idp_buf_printf(&b, "%s%s: ", sep, props[i].key);
		if (props[i].number)
			idp_buf_puts(&b, props[i].value);
		else
			put_scalar(&b, props[i].value, true);
		sep = ", ";
	}
	idp_buf_puts(&b, "}}");
	const char *s = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	return s;
}

/* ---------------------------------------------------------------- finding it in the text */

typedef enum where_kind { AT_NONE, AT_EMPTY_VALUE, AT_FLOW, AT_BLOCK } where_kind;

/* Where spec.components is, as libyaml marks (0-based line and column). */
typedef struct where {
	where_kind kind;
	yaml_mark_t key;          /* the `components` key */
	yaml_mark_t value_start, value_end; /* the value node (scalar or flow sequence) */
	yaml_mark_t first_item;   /* block: the first item's content */
	yaml_mark_t last_end;     /* block: the end of the last item's last token */
	size_t items;
	bool seen;
} where;

typedef struct frame {
	bool is_map, want_key;
	int role; /* 0 other, 1 the root map, 2 spec, 3 spec.components */
	const char *key_is; /* the key just read in a map: "spec"/"components"/NULL */
} frame;

static bool later(yaml_mark_t a, yaml_mark_t b)
{
	return a.line > b.line || (a.line == b.line && a.column > b.column);
}

/* Notes the end of something inside spec.components' sequence. */
static void note_end(where *w, const frame *stack, size_t depth, yaml_mark_t end)
{
	for (size_t i = 0; i < depth; i++)
		if (stack[i].role == 3 && later(end, w->last_end))
			w->last_end = end;
}

/* What the value about to start is, seen from its parent. */
static int role_of_child(const frame *parent)
{
	if (!parent)
		return 1;
	if (parent->is_map && parent->role == 1 && parent->key_is && strcmp(parent->key_is, "spec") == 0)
		return 2;
	if (parent->is_map && parent->role == 2 && parent->key_is && strcmp(parent->key_is, "components") == 0)
		return 3;
	return 0;
}

static void after_value(frame *parent)
{
	if (parent && parent->is_map) {
		parent->want_key = true;
		parent->key_is = NULL;
	}
}

static int locate(const char *file, const char *text, size_t len, size_t doc_index, where *w, idp_err *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return idp_err_set(err, IDP_ERUNTIME, "cannot initialise the YAML parser");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	frame stack[256];
	size_t depth = 0, doc = 0;
	bool in_doc = false, done = false, null_doc = false;
	int rc = 0;
	memset(w, 0, sizeof(*w));
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = idp_err_at(err, (idp_pos){file, (uint32_t)p.problem_mark.line + 1, (uint32_t)p.problem_mark.column + 1},
					NULL, "%s", p.problem ? p.problem : "YAML syntax error");
			break;
		}
		frame *top = depth ? &stack[depth - 1] : NULL;
		bool mine = in_doc && doc == doc_index;
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
			if (top && top->is_map && top->want_key) {
				const char *k = (const char *)ev.data.scalar.value;
				top->want_key = false;
				top->key_is = strcmp(k, "spec") == 0 ? "spec" : strcmp(k, "components") == 0 ? "components" : NULL;
				if (mine && top->role == 2 && top->key_is && strcmp(top->key_is, "components") == 0)
					w->key = ev.start_mark;
				break;
			}
			if (mine && role_of_child(top) == 3) {
				w->kind = gitops_null_scalar(&ev) ? AT_EMPTY_VALUE : AT_NONE;
				w->value_start = ev.start_mark;
				w->value_end = ev.end_mark;
				w->seen = true;
			}
			if (mine) {
				if (depth && stack[depth - 1].role == 3)
					w->items++;
				if (depth && stack[depth - 1].role == 3 && w->items == 1)
					w->first_item = ev.start_mark;
				note_end(w, stack, depth, ev.end_mark);
			}
			after_value(top);
			break;
		case YAML_ALIAS_EVENT:
			if (mine)
				note_end(w, stack, depth, ev.end_mark);
			after_value(top);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			if (depth == sizeof(stack) / sizeof(stack[0])) {
				rc = idp_err_at(err, (idp_pos){file, (uint32_t)ev.start_mark.line + 1, 1}, NULL,
						"the file nests too deep to edit");
				break;
			}
			bool is_map = ev.type == YAML_MAPPING_START_EVENT;
			int role = mine ? role_of_child(top) : 0;
			if (role == 1 && !is_map)
				role = 0;
			if (role == 2 && !is_map)
				role = 0;
			if (mine && depth && stack[depth - 1].role == 3) {
				if (++w->items == 1)
					w->first_item = ev.start_mark;
			}
			if (role == 3) {
				w->seen = true;
				w->value_start = ev.start_mark;
				bool flow = is_map ? ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
						   : ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
				w->kind = is_map ? AT_NONE : flow ? AT_FLOW : AT_BLOCK;
				w->last_end = ev.start_mark;
			}
			stack[depth++] = (frame){is_map, true, role, NULL};
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			frame f = stack[--depth];
			bool flow_end = ev.end_mark.index > ev.start_mark.index; /* block ends are zero-length */
			if (mine && f.role == 3)
				w->value_end = ev.end_mark;
			else if (mine && flow_end)
				note_end(w, stack, depth, ev.end_mark);
			after_value(depth ? &stack[depth - 1] : NULL);
			break;
		}
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* The column (0-based, in characters) of the '-' in front of an item. */
static unsigned dash_column(const char *s, size_t len, yaml_mark_t item)
{
	size_t off = gitops_mark_offset(s, len, item);
	size_t i = off;
	while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	if (i > 0 && s[i - 1] == '-')
		return (unsigned)(item.column - (off - i) - 1);
	return item.column >= 2 ? (unsigned)item.column - 2 : 0;
}

/* ---------------------------------------------------------------- the edit */

/* The Application document of a stream, and its index. */
static int find_application(const char *file, const idp_doc_stream *s, const idp_doc_node **app, size_t *index,
			    idp_err *err)
{
	for (size_t i = 0; i < s->len; i++) {
		const char *kind = idp_doc_map_get_str(s->docs[i], "kind");
		const char *api = idp_doc_map_get_str(s->docs[i], "apiVersion");
		if (kind && api && strcmp(kind, "Application") == 0 && strncmp(api, "core.oam.dev/", 13) == 0) {
			*app = s->docs[i];
			*index = i;
			return 0;
		}
	}
	return idp_err_at(err, (idp_pos){file, s->len ? s->docs[0]->pos.line : 1, 1}, NULL,
			  "not an OAM Application (want apiVersion core.oam.dev/v1beta1, kind Application)");
}

static bool has_component(const idp_doc_node *app, const char *name)
{
	const idp_doc_node *comps = idp_doc_map_get(idp_doc_map_get(app, "spec"), "components");
	for (size_t i = 0; comps && comps->kind == IDP_DOC_SEQ && i < comps->as.seq.len; i++) {
		const char *n = idp_doc_map_get_str(comps->as.seq.items[i], "name");
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/* The edited file must read as the old one plus the one component, last. */
static int check_result(idp_arena *a, const char *file, const idp_doc_stream *before, size_t index,
			const char *text, size_t len, const char *name, idp_err *err)
{
	idp_doc_stream after;
	idp_err perr = IDP_ERR_INIT;
	int rc = idp_doc_load(a, file, text, len, NULL, &after, &perr);
	if (rc == 0 && after.len != before->len)
		rc = IDP_ERUNTIME;
	for (size_t i = 0; rc == 0 && i < after.len; i++) {
		if (i != index) {
			rc = idp_doc_equal_typed(after.docs[i], before->docs[i]) ? 0 : IDP_ERUNTIME;
			continue;
		}
		idp_doc_node *comps, *old;
		const char *last = NULL;
		if (idp_doc_path_get(after.docs[i], "spec.components", &comps, NULL) == 0 && comps->kind == IDP_DOC_SEQ &&
		    comps->as.seq.len)
			last = idp_doc_map_get_str(comps->as.seq.items[comps->as.seq.len - 1], "name");
		if (!last || strcmp(last, name) != 0 || idp_doc_path_get(before->docs[i], "spec.components", &old, NULL)) {
			rc = IDP_ERUNTIME;
			continue;
		}
		/* Without the new component all else is as it was; a list that was
		 * empty (null, or []) may have become a block list. */
		comps->as.seq.len--;
		idp_doc_node *spec = idp_doc_map_get(after.docs[i], "spec");
		if (comps->as.seq.len == 0 && (old->kind == IDP_DOC_NULL || old->kind == IDP_DOC_SEQ))
			idp_doc_map_set(a, spec, "components", old);
		rc = idp_doc_equal_typed(after.docs[i], before->docs[i]) ? 0 : IDP_ERUNTIME;
		idp_doc_map_set(a, spec, "components", comps);
		comps->as.seq.len++;
	}
	if (rc)
		rc = idp_err_set(err, IDP_EINPUT, "%s: the edit did not give the file plus one component (%s); nothing written",
				 file, perr.msg ? perr.msg : "content changed");
	idp_err_clear(&perr);
	return rc;
}

int idp_gitops_oam_insert(idp_arena *a, const char *file, const char *text, size_t len, const idp_doc_node *claim,
			  const char **out, size_t *out_len, bool *added, idp_err *err)
{
	*out = text;
	*out_len = len;
	*added = false;
	const idp_doc_node *spec;
	const char *name;
	int rc = claim_spec(claim, &spec, &name, err);
	idp_doc_stream s;
	if (rc == 0)
		rc = idp_doc_load(a, file, text, len, NULL, &s, err);
	const idp_doc_node *app = NULL;
	size_t index = 0;
	if (rc == 0)
		rc = find_application(file, &s, &app, &index, err);
	if (rc)
		return rc;
	if (has_component(app, name))
		return 0;
	where w;
	if ((rc = locate(file, text, len, index, &w, err)))
		return rc;
	const char *eol = gitops_eol(text, len);
	const char *item;
	char *edited = NULL;
	size_t n = 0;
	switch (w.seen ? w.kind : AT_NONE) {
	case AT_BLOCK: {
		unsigned dash = dash_column(text, len, w.first_item);
		rc = idp_gitops_component_text(a, claim, dash, (unsigned)w.first_item.column, eol, &item, err);
		/* After the line of the last item's last token; a block scalar ends
		 * at the start of the line after its text. */
		size_t end = gitops_mark_offset(text, len, w.last_end);
		size_t at = w.last_end.column == 0 && end > 0 ? end : gitops_line_after(text, len, end);
		/* A last line without a line break gets one before the new item. */
		const char *ins = at == len && len && text[len - 1] != '\n' ? idp_arena_printf(a, "%s%s", eol, item) : item;
		if (rc == 0)
			edited = gitops_splice(a, text, len, at, at, ins, &n);
		break;
	}
	case AT_EMPTY_VALUE:
	case AT_FLOW: {
		if (w.kind == AT_FLOW && w.items > 0) { /* [a, b] -> [a, b, {new}] */
			size_t close = gitops_mark_offset(text, len, w.value_end) - 1;
			edited = gitops_splice(a, text, len, close, close, idp_arena_printf(a, ", %s", component_flow(a, claim)), &n);
			break;
		}
		/* `components:`, `components: ~` or `components: []`: the value goes,
		 * the items follow the key's line. */
		size_t from = gitops_mark_offset(text, len, w.value_start), to = gitops_mark_offset(text, len, w.value_end);
		if (from < to)
			while (from > 0 && (text[from - 1] == ' ' || text[from - 1] == '\t'))
				from--;
		rc = idp_gitops_component_text(a, claim, (unsigned)w.key.column, (unsigned)w.key.column + 2, eol, &item, err);
		if (rc)
			break;
		size_t at = gitops_line_after(text, len, to);
		const char *ins = at == len && len && text[len - 1] != '\n' ? idp_arena_printf(a, "%s%s", eol, item) : item;
		char *mid = gitops_splice(a, text, len, at, at, ins, &n);
		edited = gitops_splice(a, mid, n, from, to, "", &n);
		break;
	}
	default: {
		const idp_doc_node *sp = idp_doc_map_get(app, "spec");
		return idp_err_at(err, sp ? sp->pos : app->pos, "spec.components",
				  "no components list to add to (want spec.components: [] or a list)");
	}
	}
	if (rc == 0)
		rc = check_result(a, file, &s, index, edited, n, name, err);
	if (rc)
		return rc;
	*out = edited;
	*out_len = n;
	*added = true;
	return 0;
}
