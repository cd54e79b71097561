/* From evaluated values to the doc model (what `cue export` prints), and
 * from documents to values (how an Application's properties get in). */
#include "cue/eval.h"

#include <stdio.h>
#include <string.h>

/* Where the exporter is: a chain of steps on the C stack, written out as a
 * path ("spec.containers[0].image") only when an error or a directive needs
 * it, since most values are exported without either. */
typedef struct export_at {
	const struct export_at *up;
	const char *label; /* NULL at the root */
	bool index;
} export_at;

static void path_write(const export_at *at, idp_buf *b)
{
	if (!at || !at->label)
		return;
	path_write(at->up, b);
	if (at->index)
		idp_buf_printf(b, "[%s]", at->label);
	else
		idp_doc_path_push_key(b, at->label);
}

/* The path in the arena, or NULL at the root (errors then name no path). */
static const char *path_text(cue_ctx *c, const export_at *at)
{
	if (!at || !at->label)
		return NULL;
	idp_buf b = IDP_BUF_INIT;
	path_write(at, &b);
	char *s = idp_arena_strndup(c->a, idp_buf_cstr(&b), b.len);
	idp_buf_free(&b);
	return s;
}

static int export_node(cue_ctx *c, cue_value *v, const export_at *at, idp_doc_node **out, idp_err *err);

static int export_fields(cue_ctx *c, cue_vertex *v, const export_at *at, idp_doc_node *map, idp_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < v->narcs && rc == 0; i++) {
		cue_arc *arc = &v->arcs[i];
		export_at sub = {at, arc->label, false};
		if (arc->label[0] == '_' || arc->label[0] == '#') {
			/* Not exported, but a conflict there is still an error, as in CUE. */
			cue_value *hv = cue_vertex_value(c, arc->v);
			if (hv->kind == CV_BOTTOM && !hv->as.err.incomplete)
				rc = idp_err_at(err, hv->pos, path_text(c, &sub), "%s", cue_err_msg(c, hv));
			continue;
		}
		if (arc->optional) {
			if (arc->required)
				rc = idp_err_at(err, arc->pos, path_text(c, &sub), "field is required but not present");
			continue;
		}
		if (c->directives && arc->doc && strstr(arc->doc, "+patch"))
			idp_doc_map_set(c->a, c->directives, path_text(c, &sub), idp_doc_new_str(c->a, arc->doc));
		idp_doc_node *child;
		rc = export_node(c, cue_vertex_value(c, arc->v), &sub, &child, err);
		if (rc == 0 && map) /* a vertex's labels are unique */
			idp_doc_map_append(c->a, map, arc->label, arc->pos, child);
	}
	return rc;
}

static int export_checked(cue_ctx *c, cue_value *v, const export_at *at, idp_doc_node **out, idp_err *err)
{
	cue_value *cv = cue_concrete(c, v, 0, NULL);
	if (cv->kind == CV_BOTTOM) {
		int rc = idp_err_at(err, cv->pos, path_text(c, at), "%s", cue_err_msg(c, cv));
		if (cv->as.err.incomplete && err && err->code == IDP_EINPUT)
			rc = err->code = IDP_EINCOMPLETE;
		return rc;
	}
	idp_doc_node *n;
	if (c->check_only) { /* the same walk and errors, nothing built */
		*out = NULL;
		if (cv->kind == CV_STRUCT)
			return export_fields(c, cv->as.v, at, NULL, err);
		for (size_t i = 0; cv->kind == CV_LIST && i < cv->as.v->narcs; i++) {
			export_at sub = {at, cv->as.v->arcs[i].label, true};
			int rc = export_node(c, cue_vertex_value(c, cv->as.v->arcs[i].v), &sub, out, err);
			if (rc)
				return rc;
		}
		if (cv->kind != CV_STRUCT && cv->kind != CV_LIST && !cue_is_concrete_scalar(cv))
			return idp_err_at(err, cv->pos, path_text(c, at), "cannot export %s", cue_kind_text(c, cv));
		return 0;
	}
	switch (cv->kind) {
	case CV_NULL: n = idp_doc_new_null(c->a); break;
	case CV_BOOL: n = idp_doc_new_bool(c->a, cv->as.b); break;
	case CV_INT: n = idp_doc_new_int(c->a, cv->as.i); break;
	case CV_FLOAT: n = idp_doc_new_float(c->a, cv->as.f); break;
	case CV_STRING:
	case CV_BYTES: n = idp_doc_new_strn(c->a, cv->as.s.ptr, cv->as.s.len); break;
	case CV_STRUCT: {
		n = idp_doc_new_map(c->a);
		int rc = export_fields(c, cv->as.v, at, n, err);
		if (rc)
			return rc;
		break;
	}
	case CV_LIST: {
		n = idp_doc_new_seq(c->a);
		for (size_t i = 0; i < cv->as.v->narcs; i++) {
			export_at sub = {at, cv->as.v->arcs[i].label, true};
			idp_doc_node *child;
			int rc = export_node(c, cue_vertex_value(c, cv->as.v->arcs[i].v), &sub, &child, err);
			if (rc)
				return rc;
			idp_doc_seq_push(c->a, n, child);
		}
		break;
	}
	default: return idp_err_at(err, cv->pos, path_text(c, at), "cannot export %s", cue_kind_text(c, cv));
	}
	n->pos = cv->pos;
	*out = n;
	return 0;
}

static int export_node(cue_ctx *c, cue_value *v, const export_at *at, idp_doc_node **out, idp_err *err)
{
	if (++c->depth > IDP_CUE_MAX_DEPTH) {
		c->depth--;
		return idp_err_at(err, v->pos, path_text(c, at), "value nests deeper than %d levels", IDP_CUE_MAX_DEPTH);
	}
	int rc = export_checked(c, v, at, out, err);
	c->depth--;
	return rc;
}

static int export_root(cue_ctx *c, cue_value *v, bool check_only, idp_doc_node **out, idp_err *err)
{
	/* Saved and restored: a builtin evaluated during a check (json.Marshal)
	 * exports a tree of its own in the middle of it. */
	bool saved = c->check_only;
	c->check_only = check_only;
	export_at root = {NULL, NULL, false};
	int rc = export_node(c, v, &root, out, err);
	c->check_only = saved;
	return rc;
}

int cue_export_value(cue_ctx *c, cue_value *v, idp_doc_node **out, idp_err *err)
{
	return export_root(c, v, false, out, err);
}

int cue_check_value(cue_ctx *c, cue_value *v, idp_err *err)
{
	idp_doc_node *none;
	return export_root(c, v, true, &none, err);
}

cue_value *cue_from_doc(cue_ctx *c, const idp_doc_node *doc)
{
	cue_value *r;
	switch (doc->kind) {
	case IDP_DOC_NULL: return cue_new(c, CV_NULL, doc->pos);
	case IDP_DOC_BOOL:
		r = cue_new(c, CV_BOOL, doc->pos);
		r->as.b = doc->as.b;
		return r;
	case IDP_DOC_INT:
		r = cue_new(c, CV_INT, doc->pos);
		r->as.i = doc->as.i;
		return r;
	case IDP_DOC_FLOAT:
		r = cue_new(c, CV_FLOAT, doc->pos);
		r->as.f = doc->as.f;
		return r;
	case IDP_DOC_STR: return cue_string(c, doc->pos, doc->as.str.ptr, doc->as.str.len);
	case IDP_DOC_MAP:
	case IDP_DOC_SEQ: {
		bool map = doc->kind == IDP_DOC_MAP;
		cue_vertex *v = cue_vertex_new(c, NULL, NULL, doc->pos);
		v->is_struct = map;
		v->is_list = !map;
		size_t n = map ? doc->as.map.len : doc->as.seq.len;
		for (size_t i = 0; i < n; i++) {
			char label[24];
			if (map) {
				const idp_doc_entry *e = &doc->as.map.items[i];
				cue_vertex_add_value_arc(c, v, e->key, e->key_pos, cue_from_doc(c, e->value));
			} else {
				cue_vertex_add_value_arc(c, v, cue_index_label(label, i), doc->as.seq.items[i]->pos, cue_from_doc(c, doc->as.seq.items[i]));
			}
		}
		v->state = VS_DONE;
		v->value = cue_new(c, map ? CV_STRUCT : CV_LIST, doc->pos);
		v->value->as.v = v;
		return v->value;
	}
	}
	return cue_new(c, CV_TOP, doc->pos);
}
