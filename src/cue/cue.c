/* The cue room's public API: compile, fill, export. */
#include "cue/eval.h"

#include <string.h>

int idp_cue_compile(idp_arena *a, const char *file, const char *src, size_t len, idp_cue_program **out,
		    idp_err *err)
{
	return idp_cue_compile_at(a, (idp_pos){file, 1, 1}, src, len, out, err);
}

int idp_cue_compile_at(idp_arena *a, idp_pos origin, const char *src, size_t len, idp_cue_program **out,
		       idp_err *err)
{
	idp_cue_program *p = idp_arena_zalloc(a, sizeof(*p));
	int rc = cue_parse_at(a, origin, src, len, &p->file, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->file.root->as.strct.n; i++) {
		cue_decl *d = &p->file.root->as.strct.decls[i];
		if (d->kind == CUE_DECL_IMPORT && !cue_package_known(d->str))
			return idp_err_at(err, d->pos, NULL, "unsupported CUE construct import \"%s\" (not a package of this dialect)",
					  d->str);
	}
	*out = idp_cue_instantiate(a, p);
	return 0;
}

idp_cue_program *idp_cue_instantiate(idp_arena *a, const idp_cue_program *compiled)
{
	idp_cue_program *p = idp_arena_zalloc(a, sizeof(*p));
	p->file = compiled->file;
	p->ctx.a = a;
	p->ctx.root = cue_vertex_new(&p->ctx, NULL, NULL, p->file.root->pos);
	cue_vertex_add(&p->ctx, p->ctx.root, (cue_conjunct){p->file.root, NULL, NULL, false, false});
	return p;
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
	cue_vertex_add_value_arc(c, v, label, pos, val);
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

/* The value of expr ("" for the whole file), evaluated in the file's scope. */
static int value_at(idp_cue_program *p, const char *expr, cue_value **out, idp_err *err);

int idp_cue_export(idp_cue_program *p, const char *expr, idp_doc_node **out, idp_err *err)
{
	cue_value *v = NULL;
	int rc = value_at(p, expr, &v, err);
	return rc ? rc : cue_export_value(&p->ctx, v, out, err);
}

int idp_cue_check(idp_cue_program *p, const char *expr, idp_err *err)
{
	cue_value *v = NULL;
	int rc = value_at(p, expr, &v, err);
	if (rc)
		return rc;
	return cue_check_value(&p->ctx, v, err);
}

/* The comment above the field that a dotted path of plain labels names. */
static const char *field_doc(idp_cue_program *p, const char *path)
{
	cue_vertex *v = p->ctx.root;
	const char *doc = NULL;
	char *copy = idp_arena_strdup(p->ctx.a, path ? path : "");
	for (char *part = strtok(copy, "."); part && v; part = strtok(NULL, ".")) {
		cue_arc *arc = cue_vertex_arc(v, part);
		if (!arc)
			return NULL;
		doc = arc->doc;
		cue_value *val = cue_vertex_value(&p->ctx, arc->v);
		v = val->kind == CV_STRUCT ? val->as.v : NULL;
	}
	return doc;
}

int idp_cue_export_annotated(idp_cue_program *p, const char *expr, idp_doc_node **out,
			     idp_doc_node **directives, idp_err *err)
{
	cue_value *v = NULL;
	int rc = value_at(p, expr, &v, err);
	if (rc)
		return rc;
	p->ctx.directives = idp_doc_new_map(p->ctx.a);
	/* The exported field's own comment (`// +patchStrategy=jsonPatch` above
	 * `patch:`) is recorded under the empty path. */
	const char *doc = field_doc(p, expr);
	if (doc)
		idp_doc_map_set(p->ctx.a, p->ctx.directives, "", idp_doc_new_str(p->ctx.a, doc));
	rc = cue_export_value(&p->ctx, v, out, err);
	*directives = p->ctx.directives;
	p->ctx.directives = NULL;
	return rc;
}

static int check_fields(cue_ctx *c, cue_value *v, const idp_doc_node *doc, idp_buf *path, idp_err *err)
{
	v = cue_concrete(c, v, 0, NULL);
	if (v->kind != CV_STRUCT || doc->kind != IDP_DOC_MAP)
		return 0; /* types are checked by unification, not here */
	cue_vertex *s = v->as.v;
	if (s->npatterns || s->open || s->ellipsis || s->list_open)
		return 0;
	size_t base = path->len;
	for (size_t i = 0; i < doc->as.map.len; i++) {
		const idp_doc_entry *e = &doc->as.map.items[i];
		path->len = base;
		path->ptr[base] = '\0';
		idp_doc_path_push_key(path, e->key);
		cue_arc *arc = cue_vertex_arc(s, e->key);
		if (!arc) {
			const char **names = idp_arena_alloc(c->a, (s->narcs ? s->narcs : 1) * sizeof(char *));
			size_t n = 0;
			for (size_t k = 0; k < s->narcs; k++)
				if (s->arcs[k].label[0] != '_' && s->arcs[k].label[0] != '#')
					names[n++] = s->arcs[k].label;
			const char *near = idp_str_closest(e->key, names, n);
			return idp_err_at(err, e->key_pos, path->ptr, "unknown parameter \"%s\"%s%s%s", e->key,
					  near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
		}
		int rc = check_fields(c, cue_vertex_value(c, arc->v), e->value, path, err);
		if (rc)
			return rc;
	}
	path->len = base;
	if (path->ptr)
		path->ptr[base] = '\0';
	return 0;
}

int idp_cue_check_fields(idp_cue_program *p, const char *path, const idp_doc_node *doc, const char *doc_path,
			 idp_err *err)
{
	cue_value *v = NULL;
	int rc = value_at(p, path, &v, err);
	if (rc)
		return rc;
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, doc_path ? doc_path : "");
	rc = check_fields(&p->ctx, v, doc, &b, err);
	idp_buf_free(&b);
	return rc;
}

/* ident(.ident)*, where an ident is a plain field name (not a type name
 * or builtin that an expression would resolve differently). */
static bool is_label_path(const char *s)
{
	static const char *const reserved[] = {"string", "int", "float", "number", "bool", "bytes", "len",
					       "close", "div", "mod", "quo", "rem", "null", "true", "false", "_"};
	size_t start = 0;
	for (size_t i = 0;; i++) {
		char ch = s[i];
		if (ch == '.' || ch == '\0') {
			if (i == start || (s[start] >= '0' && s[start] <= '9'))
				return false;
			for (size_t k = 0; start == 0 && k < sizeof(reserved) / sizeof(reserved[0]); k++)
				if (strlen(reserved[k]) == i && strncmp(s, reserved[k], i) == 0)
					return false;
			if (ch == '\0')
				return true;
			start = i + 1;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '#' || ch == '$'))
			return false;
	}
}

static cue_value *select_path(cue_ctx *c, cue_value *v, const char *path)
{
	char *copy = idp_arena_strdup(c->a, path);
	for (char *part = strtok(copy, "."); part && v->kind != CV_BOTTOM; part = strtok(NULL, "."))
		v = cue_select(c, v, part, v->pos);
	return v;
}

static int value_at(idp_cue_program *p, const char *expr, cue_value **out, idp_err *err)
{
	cue_ctx *c = &p->ctx;
	cue_value *root = cue_vertex_value(c, c->root);
	cue_value *v = root;
	if (expr && *expr && is_label_path(expr)) {
		/* A plain path (template.output): walk the fields, no parse. */
		*out = root->kind == CV_BOTTOM ? root : select_path(c, root, expr);
		return 0;
	}
	if (expr && *expr) {
		cue_file ef;
		int rc = cue_parse(c->a, "<expression>", expr, strlen(expr), &ef, err);
		if (rc)
			return rc;
		if (ef.root->as.strct.n != 1 || ef.root->as.strct.decls[0].kind != CUE_DECL_EMBED)
			return idp_err_set(err, IDP_EINPUT, "-e wants one expression, got \"%s\"", expr);
		if (root->kind == CV_BOTTOM)
			return idp_err_at(err, root->pos, NULL, "%s", cue_err_msg(&p->ctx, root));
		/* The expression sees the file's top-level fields. */
		cue_env *env = idp_arena_zalloc(c->a, sizeof(*env));
		env->strct = p->file.root;
		env->v = c->root;
		v = cue_eval(c, ef.root->as.strct.decls[0].value, env);
	}
	*out = v;
	return 0;
}

bool idp_cue_exists(idp_cue_program *p, const char *path)
{
	cue_value *v = NULL;
	idp_err err = IDP_ERR_INIT;
	bool ok = value_at(p, path, &v, &err) == 0 && !(v->kind == CV_BOTTOM && v->as.err.missing);
	idp_err_clear(&err);
	return ok;
}

int idp_cue_top_labels(idp_cue_program *p, const char ***names, size_t *n, idp_err *err)
{
	cue_value *root = cue_vertex_value(&p->ctx, p->ctx.root);
	if (root->kind == CV_BOTTOM)
		return idp_err_at(err, root->pos, NULL, "%s", cue_err_msg(&p->ctx, root));
	cue_vertex *v = p->ctx.root;
	*names = idp_arena_alloc(p->ctx.a, (v->narcs ? v->narcs : 1) * sizeof(char *));
	*n = 0;
	for (size_t i = 0; i < v->narcs; i++)
		if (cue_arc_is_regular(&v->arcs[i]))
			(*names)[(*n)++] = v->arcs[i].label;
	return 0;
}

int idp_cue_export_top(idp_cue_program *p, const char *label, idp_doc_node **out, idp_err *err)
{
	cue_value *root = cue_vertex_value(&p->ctx, p->ctx.root);
	if (root->kind == CV_BOTTOM)
		return idp_err_at(err, root->pos, NULL, "%s", cue_err_msg(&p->ctx, root));
	cue_arc *arc = cue_vertex_arc(p->ctx.root, label);
	if (!arc)
		return idp_err_set(err, IDP_EINPUT, "no field %s", label);
	return cue_export_value(&p->ctx, cue_vertex_value(&p->ctx, arc->v), out, err);
}

/* The value of +name=... in a doc comment, to the end of its line. */
static idp_doc_node *doc_directive(cue_ctx *c, const char *doc, const char *name)
{
	if (!doc)
		return NULL;
	char *key = idp_arena_printf(c->a, "+%s=", name);
	const char *at = strstr(doc, key);
	if (!at)
		return NULL;
	at += strlen(key);
	return idp_doc_new_strn(c->a, at, strcspn(at, "\n"));
}

/* A field whose value depends on another parameter (`if language != _|_
 * {framework: ...}`) is incomplete in a definition alone: describe it by
 * the first of its declarations that stands on its own. */
static cue_value *declared_type(cue_ctx *c, cue_vertex *v)
{
	for (size_t k = 0; k < v->ncj; k++) {
		cue_value *t = v->cj[k].val ? v->cj[k].val : v->cj[k].expr ? cue_eval(c, v->cj[k].expr, v->cj[k].env) : NULL;
		if (t && t->kind != CV_BOTTOM)
			return t;
	}
	return NULL;
}

static void describe_fields(cue_ctx *c, cue_vertex *v, const char *prefix, idp_doc_node *list, unsigned depth)
{
	for (size_t i = 0; i < v->narcs && depth < 16; i++) {
		cue_arc *arc = &v->arcs[i];
		if (arc->label[0] == '_' || arc->label[0] == '#' || (arc->doc && strstr(arc->doc, "+ignore")))
			continue;
		char *name = *prefix ? idp_arena_printf(c->a, "%s.%s", prefix, arc->label) : idp_arena_strdup(c->a, arc->label);
		cue_value *val = cue_vertex_value(c, arc->v);
		bool depends = false;
		if (val->kind == CV_BOTTOM && val->as.err.incomplete) {
			cue_value *t = declared_type(c, arc->v);
			depends = t != NULL;
			val = t ? t : val;
		}
		idp_doc_node *d = idp_doc_new_map(c->a);
		idp_doc_map_set(c->a, d, "name", idp_doc_new_str(c->a, name));
		cue_value *shown = val;
		if (val->kind == CV_DISJ) { /* the default, and the type of the rest */
			idp_doc_node *dflt = NULL;
			idp_err ignored = IDP_ERR_INIT;
			cue_value *def = cue_concrete(c, val, 0, NULL);
			if (def->kind != CV_BOTTOM && cue_export_value(c, def, &dflt, &ignored) == 0)
				idp_doc_map_set(c->a, d, "default", dflt);
			idp_err_clear(&ignored);
		}
		idp_buf type = IDP_BUF_INIT;
		if (val->kind == CV_DISJ) /* as CUE writes it: *"a" | "b" | string */
			for (size_t k = 0; k < val->as.d.n; k++)
				idp_buf_printf(&type, "%s%s%s", k ? " | " : "", val->as.d.dflt[k] ? "*" : "",
					       cue_kind_text(c, val->as.d.alts[k]));
		else
			idp_buf_puts(&type, cue_kind_text(c, shown));
		idp_doc_map_set(c->a, d, "type", idp_doc_new_str(c->a, idp_buf_cstr(&type)));
		idp_buf_free(&type);
		bool has_default = idp_doc_map_get(d, "default") != NULL;
		idp_doc_map_set(c->a, d, "required", idp_doc_new_bool(c->a, !arc->optional && !has_default && !depends &&
							val->kind != CV_STRUCT && val->kind != CV_LIST &&
							!(val->kind >= CV_NULL && val->kind <= CV_BYTES)));
		idp_doc_node *usage = doc_directive(c, arc->doc, "usage"), *short_ = doc_directive(c, arc->doc, "short");
		if (usage)
			idp_doc_map_set(c->a, d, "usage", usage);
		if (short_)
			idp_doc_map_set(c->a, d, "short", short_);
		idp_doc_seq_push(c->a, list, d);
		if (val->kind == CV_STRUCT)
			describe_fields(c, val->as.v, name, list, depth + 1);
	}
}

int idp_cue_describe(idp_cue_program *p, const char *path, idp_doc_node **out, idp_err *err)
{
	cue_value *v = NULL;
	int rc = value_at(p, path, &v, err);
	if (rc)
		return rc;
	v = cue_concrete(&p->ctx, v, CK_STRUCT, NULL);
	if (v->kind == CV_BOTTOM)
		return idp_err_at(err, v->pos, path, "%s", cue_err_msg(&p->ctx, v));
	*out = idp_doc_new_seq(p->ctx.a);
	describe_fields(&p->ctx, v->as.v, "", *out, 0);
	return 0;
}
