/* Application -> objects: components, traits, patches, labels. */
#include "render/render_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_object(render_ctx *r, idp_doc_node *obj)
{
	r->objects = idp_arena_grow(r->a, r->objects, r->n, &r->cap, sizeof(*r->objects));
	r->objects[r->n++] = obj;
}

static idp_doc_node *map_or_empty(render_ctx *r, const idp_doc_node *m)
{
	return m && m->kind == IDP_DOC_MAP ? (idp_doc_node *)m : idp_doc_new_map(r->a);
}

static idp_doc_node *int_at(render_ctx *r, int64_t v, idp_pos pos)
{
	idp_doc_node *n = idp_doc_new_int(r->a, v);
	n->pos = pos;
	return n;
}

/* KubeVela's `context` for one component (and, for traits, what it has so
 * far). Each value carries where it comes from, so that what a template
 * makes of it can be explained. */
static idp_doc_node *make_context(render_ctx *r, const idp_doc_node *component, const idp_doc_node *output,
				  const idp_doc_node *outputs)
{
	idp_arena *a = r->a;
	idp_doc_node *ctx = idp_doc_new_map(a), *cv = idp_doc_new_map(a);
	const idp_doc_node *meta = idp_doc_map_get(r->app, "metadata");
	idp_pos cluster = idp_pos_made("idp render --cluster-version (default " IDP_RENDER_CLUSTER_DEFAULT ")");
	idp_doc_map_set(a, ctx, "name", idp_doc_copy(a, component));
	idp_doc_map_set(a, ctx, "namespace", idp_doc_new_str_at(a, r->namespace, r->namespace_pos));
	idp_doc_map_set(a, ctx, "appName", idp_doc_new_str_at(a, r->app_name, r->app_name_pos));
	idp_doc_map_set(a, ctx, "appRevision", idp_doc_new_str_at(a, r->revision, r->revision_pos));
	idp_doc_map_set(a, ctx, "appRevisionNum", int_at(r, 1, idp_pos_made("KubeVela: a render is revision 1")));
	idp_doc_map_set(a, ctx, "appLabels", map_or_empty(r, idp_doc_map_get(meta, "labels")));
	idp_doc_map_set(a, ctx, "appAnnotations", map_or_empty(r, idp_doc_map_get(meta, "annotations")));
	idp_doc_map_set(a, cv, "major", int_at(r, r->opts->cluster_major, cluster));
	idp_doc_map_set(a, cv, "minor", int_at(r, r->opts->cluster_minor, cluster));
	idp_doc_map_set(a, cv, "gitVersion",
			idp_doc_new_str_at(a, idp_arena_printf(a, "v%d.%d.0", r->opts->cluster_major, r->opts->cluster_minor),
					   cluster));
	idp_doc_map_set(a, cv, "platform", idp_doc_new_str_at(a, "", cluster));
	idp_doc_map_set(a, ctx, "clusterVersion", cv);
	if (output)
		idp_doc_map_set(a, ctx, "output", (idp_doc_node *)output);
	if (outputs)
		idp_doc_map_set(a, ctx, "outputs", (idp_doc_node *)outputs);
	return ctx;
}

/* A label KubeVela adds besides its name, component and revision labels. */
typedef struct render_label {
	const char *key, *value;
	idp_pos pos;
} render_label;

/* KubeVela's labels, after those the template set. */
static void add_labels(render_ctx *r, idp_doc_node *obj, const idp_doc_node *component, const render_label *extra,
		       size_t n_extra)
{
	if (obj->kind != IDP_DOC_MAP)
		return;
	idp_doc_node *meta = idp_doc_map_get(obj, "metadata");
	if (!meta || meta->kind != IDP_DOC_MAP) {
		meta = idp_doc_new_map(r->a);
		idp_doc_map_set(r->a, obj, "metadata", meta);
	}
	idp_doc_node *labels = idp_doc_map_get(meta, "labels");
	if (!labels || labels->kind != IDP_DOC_MAP) {
		labels = idp_doc_new_map(r->a);
		idp_doc_map_set(r->a, meta, "labels", labels);
	}
	idp_doc_map_set(r->a, labels, "app.oam.dev/name", idp_doc_new_str_at(r->a, r->app_name, r->app_name_pos));
	idp_doc_map_set(r->a, labels, "app.oam.dev/component", idp_doc_copy(r->a, component));
	idp_doc_map_set(r->a, labels, "app.oam.dev/appRevision", idp_doc_new_str_at(r->a, r->revision, r->revision_pos));
	for (size_t i = 0; i < n_extra; i++)
		idp_doc_map_set(r->a, labels, extra[i].key, idp_doc_new_str_at(r->a, extra[i].value, extra[i].pos));
}

/* ---------------------------------------------------------------- patches */

/* The value of +name=value in a directive comment, or NULL. */
static const char *directive(render_ctx *r, const idp_doc_node *dirs, const char *path, const char *name)
{
	const char *doc = idp_doc_map_get_str(dirs, path);
	if (!doc)
		return NULL;
	char *key = idp_arena_printf(r->a, "+%s=", name);
	const char *at = strstr(doc, key);
	if (!at)
		return NULL;
	at += strlen(key);
	size_t n = strcspn(at, " \t\n");
	return idp_arena_strndup(r->a, at, n);
}

static idp_doc_node *patch(render_ctx *r, idp_doc_node *dst, const idp_doc_node *src, const char *path,
			   const idp_doc_node *dirs);

/* +patchKey above a chained label (`spec: template: spec: containers:`)
 * sits on its first label: look up the chain while it is made of map keys. */
static const char *patch_key(render_ctx *r, const idp_doc_node *dirs, const char *path)
{
	char *p = idp_arena_strdup(r->a, path);
	for (;;) {
		const char *key = directive(r, dirs, p, "patchKey");
		if (key)
			return key;
		char *dot = strrchr(p, '.');
		if (!dot || strchr(dot, '[') || strchr(dot, ']'))
			return NULL;
		*dot = '\0';
		if (strchr(p, ']') && strrchr(p, ']') > strrchr(p, '.'))
			return directive(r, dirs, p, "patchKey");
	}
}

static idp_doc_node *patch_list(render_ctx *r, idp_doc_node *dst, const idp_doc_node *src, const char *path,
				const idp_doc_node *dirs)
{
	const char *key = patch_key(r, dirs, path);
	const char *strategy = directive(r, dirs, path, "patchStrategy");
	if (strategy && strcmp(strategy, "replace") == 0)
		return idp_doc_copy(r->a, src);
	if (key) { /* merge by key, append the new ones */
		for (size_t i = 0; i < src->as.seq.len; i++) {
			const idp_doc_node *item = src->as.seq.items[i];
			const char *want = idp_doc_map_get_str(item, key);
			char *sub = idp_arena_printf(r->a, "%s[%zu]", path, i);
			size_t hit = dst->as.seq.len;
			for (size_t j = 0; want && j < dst->as.seq.len; j++) {
				const char *have = idp_doc_map_get_str(dst->as.seq.items[j], key);
				if (have && strcmp(have, want) == 0)
					hit = j;
			}
			if (!want && i < dst->as.seq.len) /* no key in the element: it patches its position */
				hit = i;
			if (hit < dst->as.seq.len)
				dst->as.seq.items[hit] = patch(r, dst->as.seq.items[hit], item, sub, dirs);
			else
				idp_doc_seq_push(r->a, dst, idp_doc_copy(r->a, item));
		}
		return dst;
	}
	/* No key: element by element. Export drops a patch list's `...`, so
	 * elements past the patch's end are kept, as KubeVela's [{...}, ...]
	 * patches mean; extra patch elements are appended. */
	for (size_t i = 0; i < src->as.seq.len; i++) {
		if (i < dst->as.seq.len)
			dst->as.seq.items[i] = patch(r, dst->as.seq.items[i], src->as.seq.items[i],
						     idp_arena_printf(r->a, "%s[%zu]", path, i), dirs);
		else
			idp_doc_seq_push(r->a, dst, idp_doc_copy(r->a, src->as.seq.items[i]));
	}
	return dst;
}

/* Strategic merge of a trait's patch into an object. */
static idp_doc_node *patch(render_ctx *r, idp_doc_node *dst, const idp_doc_node *src, const char *path,
			   const idp_doc_node *dirs)
{
	if (!dst)
		return idp_doc_copy(r->a, src);
	if (dst->kind == IDP_DOC_SEQ && src->kind == IDP_DOC_SEQ)
		return patch_list(r, dst, src, path, dirs);
	if (dst->kind != IDP_DOC_MAP || src->kind != IDP_DOC_MAP)
		return idp_doc_copy(r->a, src);
	const char *strategy = *path ? directive(r, dirs, path, "patchStrategy") : NULL;
	if (strategy && strcmp(strategy, "replace") == 0)
		return idp_doc_copy(r->a, src);
	if (strategy && strcmp(strategy, "retainKeys") == 0) /* keys the patch lacks go away */
		for (size_t i = dst->as.map.len; i-- > 0;)
			if (!idp_doc_map_get(src, dst->as.map.items[i].key))
				idp_doc_map_delete(dst, dst->as.map.items[i].key);
	for (size_t i = 0; i < src->as.map.len; i++) {
		const idp_doc_entry *e = &src->as.map.items[i];
		idp_buf sub = IDP_BUF_INIT;
		idp_buf_puts(&sub, path);
		idp_doc_path_push_key(&sub, e->key);
		idp_doc_node *cur = idp_doc_map_get(dst, e->key);
		idp_doc_map_set(r->a, dst, e->key, patch(r, cur, e->value, idp_buf_cstr(&sub), dirs));
		idp_buf_free(&sub);
	}
	return dst;
}

/* RFC 6901: the parent of the place a JSON pointer names, and its last token. */
static int pointer_parent(render_ctx *r, idp_doc_node *root, const char *ptr, idp_doc_node **parent, char **last,
			  idp_pos pos, idp_err *err)
{
	if (*ptr != '/')
		return idp_err_at(err, pos, "patch.operations", "path \"%s\" is not a JSON pointer", ptr);
	char *copy = idp_arena_strdup(r->a, ptr + 1);
	idp_doc_node *cur = root;
	char *tok = copy;
	for (char *slash = strchr(tok, '/'); slash; slash = strchr(tok, '/')) {
		*slash = '\0';
		idp_doc_node *next = NULL;
		if (cur->kind == IDP_DOC_MAP)
			next = idp_doc_map_get(cur, tok);
		else if (cur->kind == IDP_DOC_SEQ) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);
			next = *end || i >= cur->as.seq.len ? NULL : cur->as.seq.items[i];
		}
		if (!next)
			return idp_err_at(err, pos, "patch.operations", "path \"%s\" does not exist", ptr);
		cur = next;
		tok = slash + 1;
	}
	/* ~1 is '/', ~0 is '~' */
	char *w = tok;
	for (char *q = tok; *q; q++) {
		if (*q == '~' && (q[1] == '0' || q[1] == '1'))
			*w++ = *++q == '0' ? '~' : '/';
		else
			*w++ = *q;
	}
	*w = '\0';
	*parent = cur;
	*last = tok;
	return 0;
}

/* RFC 6902 add, remove, replace and test, as KubeVela's json-patch trait uses. */
static int json_patch(render_ctx *r, idp_doc_node *root, const idp_doc_node *ops, idp_pos pos, idp_err *err)
{
	for (size_t i = 0; ops && ops->kind == IDP_DOC_SEQ && i < ops->as.seq.len; i++) {
		const idp_doc_node *op = ops->as.seq.items[i];
		const char *name = idp_doc_map_get_str(op, "op"), *ptr = idp_doc_map_get_str(op, "path");
		const idp_doc_node *value = idp_doc_map_get(op, "value");
		if (!name || !ptr)
			return idp_err_at(err, pos, "patch.operations", "operation %zu needs op and path", i);
		idp_doc_node *parent = NULL;
		char *last = NULL;
		int rc = pointer_parent(r, root, ptr, &parent, &last, pos, err);
		if (rc)
			return rc;
		bool add = strcmp(name, "add") == 0, remove = strcmp(name, "remove") == 0;
		bool replace = strcmp(name, "replace") == 0, test = strcmp(name, "test") == 0;
		if (!add && !remove && !replace && !test)
			return idp_err_at(err, pos, "patch.operations", "unsupported JSON patch op \"%s\"", name);
		if ((add || replace || test) && !value)
			return idp_err_at(err, pos, "patch.operations", "op %s needs a value", name);
		if (parent->kind == IDP_DOC_MAP) {
			idp_doc_node *cur = idp_doc_map_get(parent, last);
			if ((remove || replace || test) && !cur)
				return idp_err_at(err, pos, "patch.operations", "path \"%s\" does not exist", ptr);
			if (test && !idp_doc_equal(cur, value))
				return idp_err_at(err, pos, "patch.operations", "test failed at \"%s\"", ptr);
			if (remove)
				idp_doc_map_delete(parent, last);
			else if (!test)
				idp_doc_map_set(r->a, parent, last, idp_doc_copy(r->a, value));
			continue;
		}
		if (parent->kind != IDP_DOC_SEQ)
			return idp_err_at(err, pos, "patch.operations", "path \"%s\" crosses a scalar", ptr);
		size_t len = parent->as.seq.len, at = len;
		if (strcmp(last, "-") != 0) {
			char *end;
			at = strtoul(last, &end, 10);
			if (*end || at > len || (at == len && !add))
				return idp_err_at(err, pos, "patch.operations", "index in \"%s\" is out of range", ptr);
		}
		if (add) {
			idp_doc_seq_push(r->a, parent, idp_doc_copy(r->a, value));
			memmove(&parent->as.seq.items[at + 1], &parent->as.seq.items[at], (len - at) * sizeof(idp_doc_node *));
			parent->as.seq.items[at] = idp_doc_copy(r->a, value);
		} else if (remove) {
			memmove(&parent->as.seq.items[at], &parent->as.seq.items[at + 1], (len - at - 1) * sizeof(idp_doc_node *));
			parent->as.seq.len--;
		} else if (replace) {
			parent->as.seq.items[at] = idp_doc_copy(r->a, value);
		} else if (!idp_doc_equal(parent->as.seq.items[at], value)) {
			return idp_err_at(err, pos, "patch.operations", "test failed at \"%s\"", ptr);
		}
	}
	return 0;
}

/* A trait's whole patch: strategic by default, or the strategy its
 * `patch:` field names (jsonMergePatch, jsonPatch, replace). */
static int apply_patch(render_ctx *r, idp_doc_node **target, const idp_doc_node *pt, const idp_doc_node *dirs,
		       idp_pos pos, idp_err *err)
{
	const char *strategy = directive(r, dirs, "", "patchStrategy");
	if (strategy && strcmp(strategy, "jsonMergePatch") == 0) {
		*target = idp_doc_merge(r->a, *target, pt, IDP_DOC_MERGE_PATCH);
		return 0;
	}
	if (strategy && strcmp(strategy, "jsonPatch") == 0)
		return json_patch(r, *target, idp_doc_map_get(pt, "operations"), pos, err);
	if (strategy && strcmp(strategy, "replace") == 0) {
		*target = idp_doc_copy(r->a, pt);
		return 0;
	}
	*target = patch(r, *target, pt, "", dirs);
	return 0;
}

/* A template's `errs`: a non-empty list fails the render with its messages. */
static int check_errs(render_ctx *r, idp_cue_program *p, const render_def *def, idp_pos pos, const char *path,
		      idp_err *err)
{
	char *errs_path = idp_arena_printf(r->a, "%serrs", def->prefix);
	if (!idp_cue_exists(p, errs_path))
		return 0;
	idp_doc_node *errs;
	int rc = idp_cue_export(p, errs_path, &errs, err);
	if (rc)
		return rc;
	if (errs->kind != IDP_DOC_SEQ || errs->as.seq.len == 0)
		return 0;
	idp_buf msg = IDP_BUF_INIT;
	for (size_t i = 0; i < errs->as.seq.len; i++) {
		const idp_doc_node *e = errs->as.seq.items[i];
		idp_buf_printf(&msg, "%s%s", i ? "; " : "", e->kind == IDP_DOC_STR ? e->as.str.ptr : "(not a string)");
	}
	rc = idp_err_at(err, pos, path, "%s %s: %s", render_kind_name(def->kind), def->name, idp_buf_cstr(&msg));
	idp_buf_free(&msg);
	return rc;
}

/* ---------------------------------------------------------------- evaluation */

static const char *field(render_ctx *r, const render_def *def, const char *name)
{
	return *def->prefix ? idp_arena_printf(r->a, "%s%s", def->prefix, name) : name;
}

/* Compiles the definition with the parameters and context filled in,
 * after checking the properties against the declared parameters. */
/* True when a node of tree stands at file:line:col. */
static bool holds_position(const idp_doc_node *tree, const char *file, uint32_t line, uint32_t col)
{
	if (tree->pos.line == line && tree->pos.col == col && tree->pos.file && strcmp(tree->pos.file, file) == 0)
		return true;
	size_t n = tree->kind == IDP_DOC_MAP ? tree->as.map.len : tree->kind == IDP_DOC_SEQ ? tree->as.seq.len : 0;
	for (size_t i = 0; i < n; i++)
		if (holds_position(tree->kind == IDP_DOC_MAP ? tree->as.map.items[i].value : tree->as.seq.items[i], file, line,
				   col))
			return true;
	return false;
}

int render_prepare(render_ctx *r, const render_def *def, const idp_doc_node *properties, idp_pos props_pos,
		   const char *props_path, idp_doc_node *context, idp_cue_program **out, idp_err *err)
{
	const idp_doc_node *props = properties ? properties : idp_doc_new_map(r->a);
	int crc = render_def_compile(r->reg, def, err);
	if (crc)
		return crc;
	/* The declared parameters do not depend on the Application: one
	 * unfilled instance per definition serves every check. */
	render_def *mut = (render_def *)def;
	if (!mut->probe)
		mut->probe = idp_cue_instantiate(r->reg->a, def->compiled);
	int rc = idp_cue_check_fields(def->probe, field(r, def, "parameter"), props, props_path, err);
	*out = idp_cue_instantiate(r->a, def->compiled);
	if (rc == 0)
		rc = idp_cue_fill(*out, "context", context, err);
	if (rc == 0)
		rc = idp_cue_fill(*out, field(r, def, "parameter"), props, err);
	if (rc == 0) { /* a parameter nobody set and with no default is missing */
		idp_err perr = IDP_ERR_INIT;
		if (idp_cue_check(*out, field(r, def, "parameter"), &perr) == IDP_EINCOMPLETE) {
			if (perr.path)
				rc = idp_err_at(err, props_pos, idp_arena_printf(r->a, "%s.%s", props_path, perr.path),
						"required parameter %s is not set", perr.path);
			else
				rc = idp_err_at(err, props_pos, props_path,
						"the properties match no form of the %s's parameters (%s)", def->name, perr.msg);
		} else if (perr.code) {
			/* A property that conflicts with its declaration: name it by its
			 * place in the Application (not a context value, whose position
			 * is elsewhere in the Application or a rule). */
			if (perr.path && perr.file && holds_position(props, perr.file, perr.line, perr.col)) {
				char *full = idp_arena_printf(r->a, "%s.%s", props_path, perr.path);
				free(perr.path);
				perr.path = idp_xstrdup(full);
			}
			idp_err_move(err, &perr);
			rc = err->code;
		}
		idp_err_clear(&perr);
	}
	return rc;
}

static int export_field(render_ctx *r, idp_cue_program *p, const render_def *def, const char *name,
			idp_doc_node **out, idp_doc_node **dirs, idp_err *err)
{
	int rc = dirs ? idp_cue_export_annotated(p, field(r, def, name), out, dirs, err)
		      : idp_cue_export(p, field(r, def, name), out, err);
	if (rc) {
		idp_err_wrap(err, "%s %s: %s", render_kind_name(def->kind), def->name, name);
	}
	return rc;
}

/* Where key is written in map (a missing parameter is reported there), or
 * the map itself when it has no such key. */
idp_pos render_key_position(const idp_doc_node *map, const char *key)
{
	for (size_t i = 0; i < map->as.map.len; i++)
		if (strcmp(map->as.map.items[i].key, key) == 0)
			return map->as.map.items[i].key_pos;
	return map->pos;
}

const render_def *render_find_def(render_ctx *r, const idp_doc_node *type_node, render_kind kind, const char *path,
				  idp_err *err)
{
	if (!type_node || type_node->kind != IDP_DOC_STR) {
		idp_err_at(err, type_node ? type_node->pos : r->app->pos, path, "type must be a string");
		return NULL;
	}
	const render_def *def = render_registry_find(r->reg, type_node->as.str.ptr, kind);
	if (def)
		return def;
	const char **names = idp_arena_alloc(r->a, (r->reg->n ? r->reg->n : 1) * sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < r->reg->n; i++)
		if (r->reg->defs[i].kind == kind)
			names[n++] = r->reg->defs[i].name;
	const char *near = idp_str_closest(type_node->as.str.ptr, names, n);
	idp_err_at(err, type_node->pos, path, "unknown %s type \"%s\"%s%s%s", render_kind_name(kind),
		   type_node->as.str.ptr, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
	return NULL;
}

/* appliesToWorkloads: `*`, the component's type, or its workload as
 * `plural.group`; a trait that lists nothing applies everywhere. */
static bool trait_applies(const render_def *trait, const render_def *comp)
{
	if (!trait->n_applies_to)
		return true;
	for (size_t i = 0; i < trait->n_applies_to; i++) {
		const char *w = trait->applies_to[i];
		if (strcmp(w, "*") == 0 || strcmp(w, comp->name) == 0 || (comp->workload && strcmp(w, comp->workload) == 0))
			return true;
	}
	return false;
}

static int not_applicable(const render_def *tdef, const render_def *def, const char *cname,
			  const idp_doc_node *type_node, const char *path, idp_err *err)
{
	idp_buf list = IDP_BUF_INIT;
	for (size_t i = 0; i < tdef->n_applies_to; i++)
		idp_buf_printf(&list, "%s%s", i ? ", " : "", tdef->applies_to[i]);
	int rc = idp_err_at(err, type_node->pos, path,
			    "trait %s does not apply to component %s of type %s (workload %s); it applies to %s",
			    tdef->name, cname, def->name, def->workload ? def->workload : "unknown", idp_buf_cstr(&list));
	idp_buf_free(&list);
	return rc;
}

/* Strategic, JSON-merge or JSON patches and patchOutputs of one trait. */
static int apply_trait_patches(render_ctx *r, idp_cue_program *tp, const render_def *tdef, const idp_doc_node *tr,
			       idp_doc_node **workload, idp_doc_node *outputs, idp_err *err)
{
	int rc = 0;
	if (idp_cue_exists(tp, field(r, tdef, "patch"))) {
		idp_doc_node *pt, *dirs;
		if ((rc = export_field(r, tp, tdef, "patch", &pt, &dirs, err)) ||
		    (rc = apply_patch(r, workload, pt, dirs, tr->pos, err)))
			return rc;
	}
	if (idp_cue_exists(tp, field(r, tdef, "patchOutputs"))) {
		idp_doc_node *po, *dirs;
		if ((rc = export_field(r, tp, tdef, "patchOutputs", &po, &dirs, err)))
			return rc;
		for (size_t i = 0; po->kind == IDP_DOC_MAP && i < po->as.map.len; i++) {
			idp_doc_node *target = idp_doc_map_get(outputs, po->as.map.items[i].key);
			if (target)
				idp_doc_map_set(r->a, outputs, po->as.map.items[i].key,
						patch(r, target, po->as.map.items[i].value, po->as.map.items[i].key, dirs));
		}
	}
	return 0;
}

static int render_component(render_ctx *r, const render_comp *rc_comp, idp_err *err)
{
	const idp_doc_node *comp = rc_comp->node;
	const char *path = rc_comp->path;
	const idp_doc_node *cname_node = idp_doc_map_get(comp, "name");
	const char *cname = cname_node->as.str.ptr;
	const idp_doc_node *type = idp_doc_map_get(comp, "type");
	const render_def *def = render_find_def(r, type, RENDER_COMPONENT, idp_arena_printf(r->a, "%s.type", path), err);
	if (!def)
		return IDP_EINPUT;
	idp_cue_program *p;
	int rc = render_prepare(r, def, idp_doc_map_get(comp, "properties"), render_key_position(comp, "properties"),
				idp_arena_printf(r->a, "%s.properties", path), make_context(r, cname_node, NULL, NULL), &p, err);
	if (rc == 0)
		rc = check_errs(r, p, def, comp->pos, path, err);
	idp_doc_node *workload = NULL, *outputs = idp_doc_new_map(r->a);
	if (rc == 0)
		rc = export_field(r, p, def, "output", &workload, NULL, err);
	if (rc == 0 && idp_cue_exists(p, field(r, def, "outputs")))
		rc = export_field(r, p, def, "outputs", &outputs, NULL, err);
	if (rc)
		return rc;
	/* Traits, in order: each sees the workload and outputs so far. */
	const idp_doc_node *traits = idp_doc_map_get(comp, "traits");
	if (traits && traits->kind != IDP_DOC_SEQ)
		return idp_err_at(err, traits->pos, idp_arena_printf(r->a, "%s.traits", path), "traits must be a list");
	idp_doc_node *trait_objects = idp_doc_new_seq(r->a);
	for (size_t t = 0; traits && t < traits->as.seq.len; t++) {
		const idp_doc_node *tr = traits->as.seq.items[t];
		char *tpath = idp_arena_printf(r->a, "%s.traits[%zu]", path, t);
		char *type_path = idp_arena_printf(r->a, "%s.type", tpath);
		const idp_doc_node *ttype = idp_doc_map_get(tr, "type");
		const render_def *tdef = render_find_def(r, ttype, RENDER_TRAIT, type_path, err);
		if (!tdef)
			return IDP_EINPUT;
		if (!trait_applies(tdef, def))
			return not_applicable(tdef, def, cname, ttype, type_path, err);
		idp_cue_program *tp;
		/* context.output(s) is the workload so far, made into CUE values for
		 * every trait that may read it: one that never spells "output" cannot
		 * (a third of a trait's render went into that conversion). */
		bool reads_output = memmem(tdef->src, tdef->len, "output", 6) != NULL;
		idp_doc_node *tctx = make_context(r, cname_node, reads_output ? workload : NULL, reads_output ? outputs : NULL);
		if ((rc = render_prepare(r, tdef, idp_doc_map_get(tr, "properties"), render_key_position(tr, "properties"),
					 idp_arena_printf(r->a, "%s.properties", tpath), tctx, &tp, err)) ||
		    (rc = check_errs(r, tp, tdef, tr->pos, tpath, err)) ||
		    (rc = apply_trait_patches(r, tp, tdef, tr, &workload, outputs, err)))
			return rc;
		if (idp_cue_exists(tp, field(r, tdef, "outputs"))) {
			idp_doc_node *to;
			if ((rc = export_field(r, tp, tdef, "outputs", &to, NULL, err)))
				return rc;
			for (size_t i = 0; to->kind == IDP_DOC_MAP && i < to->as.map.len; i++) {
				idp_doc_node *obj = to->as.map.items[i].value;
				render_label extra[] = {{"trait.oam.dev/type", tdef->name, ttype->pos},
							{"trait.oam.dev/resource", to->as.map.items[i].key,
							 to->as.map.items[i].key_pos}};
				add_labels(r, obj, cname_node, extra, 2);
				idp_doc_seq_push(r->a, trait_objects, obj);
			}
		}
	}
	render_label wextra[] = {{"workload.oam.dev/type", def->name, type->pos}};
	add_labels(r, workload, cname_node, wextra, 1);
	/* KubeVela names a workload after its component when the template does not. */
	idp_doc_node *wmeta = idp_doc_map_get(workload, "metadata");
	if (wmeta && !idp_doc_map_get(wmeta, "name")) {
		idp_doc_map_set(r->a, wmeta, "name", idp_doc_copy(r->a, cname_node));
		idp_doc_entry last = wmeta->as.map.items[wmeta->as.map.len - 1];
		memmove(&wmeta->as.map.items[1], &wmeta->as.map.items[0], (wmeta->as.map.len - 1) * sizeof(idp_doc_entry));
		wmeta->as.map.items[0] = last;
	}
	push_object(r, workload);
	for (size_t i = 0; outputs->kind == IDP_DOC_MAP && i < outputs->as.map.len; i++) {
		idp_doc_node *obj = outputs->as.map.items[i].value;
		render_label extra[] = {{"trait.oam.dev/type", "AuxiliaryWorkload",
					 idp_pos_made("KubeVela: a component's outputs are AuxiliaryWorkloads")},
					{"trait.oam.dev/resource", outputs->as.map.items[i].key, outputs->as.map.items[i].key_pos}};
		add_labels(r, obj, cname_node, extra, 2);
		push_object(r, obj);
	}
	for (size_t i = 0; i < trait_objects->as.seq.len; i++)
		push_object(r, trait_objects->as.seq.items[i]);
	return 0;
}

/* A policy of a type other than topology and override renders objects,
 * named after the policy and in the deployment's namespace unless its
 * template says otherwise, with KubeVela's labels (the component label
 * carries the policy's name, as KubeVela's context does). */
static int render_policy_objects(render_ctx *r, const render_policy *pol, idp_err *err)
{
	if (strcmp(pol->type, "topology") == 0 || strcmp(pol->type, "override") == 0)
		return 0;
	idp_cue_program *p;
	int rc = render_prepare(r, pol->def, pol->props, render_key_position(pol->node, "properties"),
				idp_arena_printf(r->a, "%s.properties", pol->path), make_context(r, idp_doc_map_get(pol->node, "name"), NULL, NULL),
				&p, err);
	if (rc == 0)
		rc = check_errs(r, p, pol->def, pol->node->pos, pol->path, err);
	idp_doc_node *objs = idp_doc_new_seq(r->a);
	for (int which = 0; rc == 0 && which < 2; which++) {
		const char *name = which ? "outputs" : "output";
		if (!idp_cue_exists(p, field(r, pol->def, name)))
			continue;
		idp_doc_node *v;
		if ((rc = export_field(r, p, pol->def, name, &v, NULL, err)))
			break;
		if (!which)
			idp_doc_seq_push(r->a, objs, v);
		for (size_t i = 0; which && v->kind == IDP_DOC_MAP && i < v->as.map.len; i++)
			idp_doc_seq_push(r->a, objs, v->as.map.items[i].value);
	}
	for (size_t i = 0; rc == 0 && i < objs->as.seq.len; i++) {
		idp_doc_node *obj = objs->as.seq.items[i];
		if (obj->kind != IDP_DOC_MAP)
			return idp_err_at(err, pol->node->pos, pol->path, "policy %s: an output is not an object", pol->name);
		idp_doc_node *meta = idp_doc_map_get(obj, "metadata");
		if (!meta || meta->kind != IDP_DOC_MAP) {
			meta = idp_doc_new_map(r->a);
			idp_doc_map_set(r->a, obj, "metadata", meta);
		}
		const idp_doc_node *pname = idp_doc_map_get(pol->node, "name");
		if (!idp_doc_map_get(meta, "name"))
			idp_doc_map_set(r->a, meta, "name", idp_doc_copy(r->a, pname));
		add_labels(r, obj, pname, NULL, 0);
		push_object(r, obj);
	}
	return rc;
}

/* Component names are unique: KubeVela keys its resource tracker by them. */
static int check_components(render_ctx *r, const idp_doc_node *comps, idp_err *err)
{
	for (size_t i = 0; i < comps->as.seq.len; i++) {
		const idp_doc_node *comp = comps->as.seq.items[i];
		char *path = idp_arena_printf(r->a, "spec.components[%zu]", i);
		if (comp->kind != IDP_DOC_MAP)
			return idp_err_at(err, comp->pos, path, "a component must be a map");
		const idp_doc_node *name = idp_doc_map_get(comp, "name");
		if (!name || name->kind != IDP_DOC_STR)
			return idp_err_at(err, name ? name->pos : comp->pos, idp_arena_printf(r->a, "%s.name", path),
					  "a component needs a name");
		const char *bad = idp_name_check_dns1123_label(name->as.str.ptr);
		if (bad)
			return idp_err_at(err, name->pos, idp_arena_printf(r->a, "%s.name", path),
					  "invalid component name \"%s\": %s", name->as.str.ptr, bad);
		for (size_t j = 0; j < i; j++) {
			const idp_doc_node *other = idp_doc_map_get(comps->as.seq.items[j], "name");
			if (strcmp(other->as.str.ptr, name->as.str.ptr) == 0)
				return idp_err_at(err, name->pos, idp_arena_printf(r->a, "%s.name", path),
						  "duplicate component name \"%s\" (first at line %u)", name->as.str.ptr,
						  other->pos.line);
		}
	}
	return 0;
}

static void label_cluster(render_ctx *r, size_t from, const render_deployment *dep)
{
	for (size_t i = from; dep->cluster && i < r->n; i++) {
		idp_doc_node *labels = idp_doc_map_get(idp_doc_map_get(r->objects[i], "metadata"), "labels");
		if (labels && labels->kind == IDP_DOC_MAP)
			idp_doc_map_set(r->a, labels, "app.oam.dev/cluster", idp_doc_new_str_at(r->a, dep->cluster, dep->cluster_pos));
	}
}

static bool same_str(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

/* Same namespace (unset: the Application's) and cluster (unset: local). */
static bool same_placement(const render_ctx *r, const render_deployment *x, const render_deployment *y)
{
	return same_str(x->namespace ? x->namespace : r->app_namespace, y->namespace ? y->namespace : r->app_namespace) &&
	       same_str(x->cluster, y->cluster);
}

int idp_render_app(idp_arena *a, idp_render_registry *reg, const idp_doc_node *app, const idp_render_opts *opts,
		   idp_doc_node ***objects, size_t *n, idp_err *err)
{
	idp_render_opts defaults = IDP_RENDER_OPTS_INIT;
	render_ctx r = {0};
	r.a = a;
	r.reg = reg;
	r.opts = opts ? opts : &defaults;
	r.app = app;
	const char *kind = idp_doc_map_get_str(app, "kind");
	if (!kind || strcmp(kind, "Application") != 0)
		return idp_err_at(err, app->pos, "kind", "want an Application, found %s", kind ? kind : "no kind");
	idp_doc_node *name_node;
	if (idp_doc_path_get(app, "metadata.name", &name_node, NULL) || name_node->kind != IDP_DOC_STR)
		return idp_err_at(err, app->pos, "metadata.name", "an Application needs a name");
	r.app_name = name_node->as.str.ptr;
	r.app_name_pos = name_node->pos;
	idp_doc_node *ns;
	if (r.opts->namespace) {
		r.app_namespace = r.opts->namespace;
		r.app_namespace_pos = idp_pos_made("idp render -n");
	} else if (idp_doc_path_get(app, "metadata.namespace", &ns, NULL) == 0 && ns->kind == IDP_DOC_STR) {
		r.app_namespace = ns->as.str.ptr;
		r.app_namespace_pos = ns->pos;
	} else {
		r.app_namespace = "default";
		r.app_namespace_pos = idp_pos_made("KubeVela: an Application without a namespace is in default");
	}
	if (r.opts->app_revision) {
		r.revision = r.opts->app_revision;
		r.revision_pos = idp_pos_made("idp render --app-revision");
	} else {
		r.revision = idp_arena_printf(a, "%s-v1", r.app_name);
		r.revision_pos = idp_pos_made("KubeVela: the first revision of an Application is NAME-v1");
	}
	idp_doc_node *comps;
	if (idp_doc_path_get(app, "spec.components", &comps, NULL) || comps->kind != IDP_DOC_SEQ)
		return idp_err_at(err, app->pos, "spec.components", "an Application needs a list of components");
	render_policy *pols;
	size_t n_pols;
	render_deployment *deps;
	size_t n_deps;
	int rc = check_components(&r, comps, err);
	if (rc == 0)
		rc = render_policies(&r, &pols, &n_pols, err);
	if (rc == 0)
		rc = render_plan(&r, pols, n_pols, &deps, &n_deps, err);
	for (size_t d = 0; rc == 0 && d < n_deps; d++) {
		size_t first = r.n;
		r.namespace = deps[d].namespace ? deps[d].namespace : r.app_namespace;
		r.namespace_pos = deps[d].namespace ? deps[d].namespace_pos : r.app_namespace_pos;
		for (size_t i = 0; rc == 0 && i < deps[d].n_comps; i++)
			rc = render_component(&r, &deps[d].comps[i], err);
		/* Objects of policies go with each placement (once per namespace
		 * and cluster): KubeVela applies them once, in the Application's
		 * namespace, where a NetworkPolicy would protect none of the pods
		 * a topology placed elsewhere. */
		bool seen = false;
		for (size_t e = 0; e < d && !seen; e++)
			seen = same_placement(&r, &deps[e], &deps[d]);
		for (size_t i = 0; rc == 0 && !seen && i < n_pols; i++)
			rc = render_policy_objects(&r, &pols[i], err);
		label_cluster(&r, first, &deps[d]);
	}
	if (rc)
		return rc;
	*objects = r.objects;
	*n = r.n;
	return 0;
}
