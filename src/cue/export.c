/* From evaluated values to the doc model (what `cue export` prints), and
 * from documents to values (how an Application's properties get in). */
#include "cue/eval.h"

#include <stdio.h>
#include <string.h>

static int export_node(cue_ctx *c, cue_value *v, const char *path, idp_doc_node **out, idp_err *err);
static int export_checked(cue_ctx *c, cue_value *v, const char *path, idp_doc_node **out, idp_err *err);

static void path_join(idp_buf *b, const char *path, const char *label, bool index)
{
	idp_buf_puts(b, path);
	if (index)
		idp_buf_printf(b, "[%s]", label);
	else
		idp_doc_path_push_key(b, label);
}

static int export_fields(cue_ctx *c, cue_vertex *v, const char *path, idp_doc_node *map, idp_err *err)
{
	idp_buf sub = IDP_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < v->narcs && rc == 0; i++) {
		cue_arc *arc = &v->arcs[i];
		idp_buf_clear(&sub);
		path_join(&sub, path, arc->label, false);
		if (arc->label[0] == '_' || arc->label[0] == '#') {
			/* Not exported, but a conflict there is still an error, as in CUE. */
			cue_value *hv = cue_vertex_value(c, arc->v);
			if (hv->kind == CV_BOTTOM && !hv->as.err.incomplete)
				rc = idp_err_at(err, hv->pos, sub.ptr, "%s", hv->as.err.msg);
			continue;
		}
		if (arc->optional) {
			if (arc->required)
				rc = idp_err_at(err, arc->pos, sub.ptr, "field is required but not present");
			continue;
		}
		if (c->directives && arc->doc && strstr(arc->doc, "+patch"))
			idp_doc_map_set(c->a, c->directives, sub.ptr, idp_doc_new_str(c->a, arc->doc));
		idp_doc_node *child;
		rc = export_node(c, cue_vertex_value(c, arc->v), sub.ptr, &child, err);
		if (rc == 0) /* a vertex's labels are unique */
			idp_doc_map_append(c->a, map, arc->label, arc->pos, child);
	}
	idp_buf_free(&sub);
	return rc;
}

static int export_node(cue_ctx *c, cue_value *v, const char *path, idp_doc_node **out, idp_err *err)
{
	if (++c->depth > IDP_CUE_MAX_DEPTH) {
		c->depth--;
		return idp_err_at(err, v->pos, *path ? path : NULL, "value nests deeper than %d levels", IDP_CUE_MAX_DEPTH);
	}
	int rc = export_checked(c, v, path, out, err);
	c->depth--;
	return rc;
}

static int export_checked(cue_ctx *c, cue_value *v, const char *path, idp_doc_node **out, idp_err *err)
{
	cue_value *cv = cue_concrete(c, v, 0, NULL);
	if (cv->kind == CV_BOTTOM) {
		int rc = idp_err_at(err, cv->pos, *path ? path : NULL, "%s", cv->as.err.msg);
		if (cv->as.err.incomplete && err && err->code == IDP_EINPUT)
			rc = err->code = IDP_EINCOMPLETE;
		return rc;
	}
	idp_doc_node *n;
	switch (cv->kind) {
	case CV_NULL: n = idp_doc_new_null(c->a); break;
	case CV_BOOL: n = idp_doc_new_bool(c->a, cv->as.b); break;
	case CV_INT: n = idp_doc_new_int(c->a, cv->as.i); break;
	case CV_FLOAT: n = idp_doc_new_float(c->a, cv->as.f); break;
	case CV_STRING:
	case CV_BYTES: n = idp_doc_new_strn(c->a, cv->as.s.ptr, cv->as.s.len); break;
	case CV_STRUCT: {
		n = idp_doc_new_map(c->a);
		int rc = export_fields(c, cv->as.v, path, n, err);
		if (rc)
			return rc;
		break;
	}
	case CV_LIST: {
		n = idp_doc_new_seq(c->a);
		idp_buf sub = IDP_BUF_INIT;
		for (size_t i = 0; i < cv->as.v->narcs; i++) {
			idp_buf_clear(&sub);
			path_join(&sub, path, cv->as.v->arcs[i].label, true);
			idp_doc_node *child;
			int rc = export_node(c, cue_vertex_value(c, cv->as.v->arcs[i].v), sub.ptr, &child, err);
			if (rc) {
				idp_buf_free(&sub);
				return rc;
			}
			idp_doc_seq_push(c->a, n, child);
		}
		idp_buf_free(&sub);
		break;
	}
	default:
		return idp_err_at(err, cv->pos, *path ? path : NULL, "cannot export %s", cue_kind_text(c, cv));
	}
	n->pos = cv->pos;
	*out = n;
	return 0;
}

int cue_export_value(cue_ctx *c, cue_value *v, idp_doc_node **out, idp_err *err)
{
	return export_node(c, v, "", out, err);
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
				snprintf(label, sizeof(label), "%zu", i);
				cue_vertex_add_value_arc(c, v, label, doc->as.seq.items[i]->pos, cue_from_doc(c, doc->as.seq.items[i]));
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
