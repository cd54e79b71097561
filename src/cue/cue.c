/* The cue room's public API: compile, fill, export. */
#include "cue/eval.h"

#include <string.h>

struct idp_cue_program {
	cue_ctx ctx;
	cue_file file;
};

int idp_cue_compile(idp_arena *a, const char *file, const char *src, size_t len, idp_cue_program **out,
		    idp_err *err)
{
	idp_cue_program *p = idp_arena_zalloc(a, sizeof(*p));
	int rc = cue_parse(a, file, src, len, &p->file, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->file.root->as.strct.n; i++) {
		cue_decl *d = &p->file.root->as.strct.decls[i];
		if (d->kind == CUE_DECL_IMPORT && !cue_package_known(d->str))
			return idp_err_at(err, d->pos, NULL, "unsupported CUE construct import \"%s\" (not a package of this dialect)",
					  d->str);
	}
	p->ctx.a = a;
	p->ctx.file = &p->file;
	p->ctx.root = cue_vertex_new(&p->ctx, NULL, NULL, p->file.root->pos);
	cue_vertex_add(&p->ctx, p->ctx.root, (cue_conjunct){p->file.root, NULL, NULL, false, false});
	*out = p;
	return 0;
}

/* Wraps a value in the structs that path names: fill("a.b", v) is {a: {b: v}}. */
static cue_value *wrap_in_path(cue_ctx *c, const char *path, cue_value *val, idp_pos pos)
{
	if (!*path)
		return val;
	const char *dot = strrchr(path, '.');
	const char *label = dot ? dot + 1 : path;
	cue_vertex *v = cue_vertex_new(c, NULL, NULL, pos);
	v->is_struct = true;
	cue_vertex *e = cue_vertex_new(c, v, idp_arena_strdup(c->a, label), pos);
	cue_vertex_add(c, e, (cue_conjunct){NULL, NULL, val, false, false});
	v->arcs = idp_arena_alloc(c->a, sizeof(cue_arc));
	v->arcs[0] = (cue_arc){e->label, e, false, false, true, pos};
	v->narcs = v->caparcs = 1;
	v->state = VS_DONE;
	v->value = cue_new(c, CV_STRUCT, pos);
	v->value->as.v = v;
	if (!dot)
		return v->value;
	char *parent = idp_arena_strndup(c->a, path, (size_t)(dot - path));
	return wrap_in_path(c, parent, v->value, pos);
}

int idp_cue_fill(idp_cue_program *p, const char *path, const idp_doc_node *doc, idp_err *err)
{
	if (p->ctx.root->state != VS_NEW)
		return idp_err_set(err, IDP_ERUNTIME, "cue: fill after evaluation");
	cue_value *val = wrap_in_path(&p->ctx, path, cue_from_doc(&p->ctx, doc), doc->pos);
	cue_vertex_add(&p->ctx, p->ctx.root, (cue_conjunct){NULL, NULL, val, false, false});
	return 0;
}

int idp_cue_export(idp_cue_program *p, const char *expr, idp_doc_node **out, idp_err *err)
{
	cue_ctx *c = &p->ctx;
	cue_value *root = cue_vertex_value(c, c->root);
	cue_value *v = root;
	if (expr && *expr) {
		cue_file ef;
		int rc = cue_parse(c->a, "<expression>", expr, strlen(expr), &ef, err);
		if (rc)
			return rc;
		if (ef.root->as.strct.n != 1 || ef.root->as.strct.decls[0].kind != CUE_DECL_EMBED)
			return idp_err_set(err, IDP_EINPUT, "-e wants one expression, got \"%s\"", expr);
		if (root->kind == CV_BOTTOM)
			return idp_err_at(err, root->pos, NULL, "%s", root->as.err.msg);
		/* The expression sees the file's top-level fields. */
		cue_env *env = idp_arena_zalloc(c->a, sizeof(*env));
		env->strct = p->file.root;
		env->v = c->root;
		env->file = &p->file;
		v = cue_eval(c, ef.root->as.strct.decls[0].value, env);
	}
	return cue_export_value(c, v, out, err);
}
