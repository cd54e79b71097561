/*
 * Patches: checking a Resources input the way validate.go does, resolving
 * PatchSets, and applying one patch between the observed XR, the desired
 * XR, the environment and a composed resource (patches.go).
 */
#include "compose/compose_private.h"

#include <string.h>

static const char *const patch_types[] = {
	"FromCompositeFieldPath",   "ToCompositeFieldPath",    "CombineFromComposite", "CombineToComposite",
	"FromEnvironmentFieldPath", "ToEnvironmentFieldPath",  "CombineFromEnvironment",
	"CombineToEnvironment",     "PatchSet",
};

const char *compose_patch_type(const idp_doc_node *p)
{
	const char *t = idp_doc_map_get_str(p, "type");
	return t && *t ? t : "FromCompositeFieldPath";
}

const char *compose_patch_from(const idp_doc_node *p)
{
	const char *s = idp_doc_map_get_str(p, "fromFieldPath");
	return s ? s : "";
}

const char *compose_patch_to(const idp_doc_node *p)
{
	const char *s = idp_doc_map_get_str(p, "toFieldPath");
	return s ? s : compose_patch_from(p);
}

bool compose_patch_required(const idp_doc_node *p)
{
	const char *s = idp_doc_map_get_str(idp_doc_map_get(p, "policy"), "fromFieldPath");
	return s && strcmp(s, "Required") == 0;
}

bool compose_patch_to_composed(const idp_doc_node *p)
{
	const char *t = compose_patch_type(p);
	return strcmp(t, "FromCompositeFieldPath") == 0 || strcmp(t, "CombineFromComposite") == 0 ||
	       strcmp(t, "FromEnvironmentFieldPath") == 0 || strcmp(t, "CombineFromEnvironment") == 0;
}

/* ---------------------------------------------------------------- checking */

static int fail_at(idp_err *err, const idp_doc_node *at, const idp_buf *path, const char *fmt, const char *arg)
{
	return idp_err_at(err, at->pos, idp_buf_cstr(path), fmt, arg);
}

/* A child path for messages: path + ".key" / "[i]". */
static void child(idp_buf *out, const idp_buf *base, const char *key, long index)
{
	idp_buf_clear(out);
	idp_buf_puts(out, idp_buf_cstr(base));
	if (key)
		idp_doc_path_push_key(out, key);
	else
		idp_doc_path_push_index(out, (size_t)index);
}

static int check_field_path(const idp_doc_node *p, const char *key, const idp_buf *path, idp_err *err)
{
	const idp_doc_node *v = idp_doc_map_get(p, key);
	if (!v)
		return 0;
	idp_buf at = IDP_BUF_INIT;
	child(&at, path, key, 0);
	if (v->kind != IDP_DOC_STR) {
		fail_at(err, v, &at, "must be a string, not %s", idp_doc_kind_name(v->kind));
		idp_buf_free(&at);
		return IDP_EINPUT;
	}
	idp_arena *a = idp_arena_new();
	idp_compose_segment *segs;
	size_t n;
	idp_err perr = IDP_ERR_INIT;
	int rc = idp_compose_path_parse(a, v->as.str.ptr, &segs, &n, &perr);
	if (rc != 0)
		idp_err_at(err, v->pos, idp_buf_cstr(&at), "bad field path \"%s\": %s", v->as.str.ptr, perr.msg);
	idp_err_clear(&perr);
	idp_arena_free(a);
	idp_buf_free(&at);
	return rc;
}

static int check_transforms(const idp_doc_node *p, const idp_buf *path, idp_err *err)
{
	const idp_doc_node *ts = idp_doc_map_get(p, "transforms");
	if (!ts)
		return 0;
	idp_buf at = IDP_BUF_INIT;
	child(&at, path, "transforms", 0);
	if (ts->kind != IDP_DOC_SEQ) {
		fail_at(err, ts, &at, "must be a list, not %s", idp_doc_kind_name(ts->kind));
		idp_buf_free(&at);
		return IDP_EINPUT;
	}
	idp_buf item = IDP_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < ts->as.seq.len && rc == 0; i++) {
		idp_err terr = IDP_ERR_INIT;
		if (idp_compose_transform_check(ts->as.seq.items[i], &terr) != 0) {
			child(&item, &at, NULL, (long)i);
			rc = fail_at(err, ts->as.seq.items[i], &item, "%s", terr.msg);
		}
		idp_err_clear(&terr);
	}
	idp_buf_free(&item);
	idp_buf_free(&at);
	return rc;
}

static int check_combine(const idp_doc_node *p, const char *type, const idp_buf *path, idp_err *err)
{
	const idp_doc_node *c = idp_doc_map_get(p, "combine");
	if (!c || c->kind != IDP_DOC_MAP)
		return idp_err_at(err, (c ? c : p)->pos, idp_buf_cstr(path), "combine must be set for patch type %s", type);
	if (!*compose_patch_to(p))
		return idp_err_at(err, p->pos, idp_buf_cstr(path), "toFieldPath must be set for patch type %s", type);
	idp_buf at = IDP_BUF_INIT;
	child(&at, path, "combine", 0);
	const char *strategy = idp_doc_map_get_str(c, "strategy");
	int rc = 0;
	const idp_doc_node *vars = idp_doc_map_get(c, "variables");
	if (!strategy || !*strategy)
		rc = fail_at(err, c, &at, "%s", "a combine strategy must be provided");
	else if (strcmp(strategy, "string") != 0)
		rc = fail_at(err, idp_doc_map_get(c, "strategy"), &at, "unknown combine strategy \"%s\"", strategy);
	else if (!idp_doc_map_get_str(idp_doc_map_get(c, "string"), "fmt"))
		rc = fail_at(err, c, &at, "string must be set for combine strategy %s", strategy);
	else if (!vars || vars->kind != IDP_DOC_SEQ || vars->as.seq.len == 0)
		rc = fail_at(err, c, &at, "%s", "at least one variable must be provided");
	for (size_t i = 0; rc == 0 && i < vars->as.seq.len; i++) {
		const char *f = idp_doc_map_get_str(vars->as.seq.items[i], "fromFieldPath");
		idp_buf v = IDP_BUF_INIT;
		child(&v, &at, "variables", 0);
		idp_buf_printf(&v, "[%zu]", i);
		if (!f || !*f)
			rc = fail_at(err, vars->as.seq.items[i], &v, "%s", "fromFieldPath must be set for each combine variable");
		else
			rc = check_field_path(vars->as.seq.items[i], "fromFieldPath", &v, err);
		idp_buf_free(&v);
	}
	idp_buf_free(&at);
	return rc;
}

int compose_check_patch(const idp_doc_node *p, bool in_patch_set, bool environment, const idp_buf *path,
			idp_err *err)
{
	if (!p || p->kind != IDP_DOC_MAP)
		return idp_err_at(err, p ? p->pos : (idp_pos){0}, idp_buf_cstr(path), "a patch must be a map");
	const char *type = compose_patch_type(p);
	size_t known = sizeof(patch_types) / sizeof(patch_types[0]), i = 0;
	for (; i < known; i++)
		if (strcmp(type, patch_types[i]) == 0)
			break;
	const idp_doc_node *type_node = idp_doc_map_get(p, "type");
	idp_pos at = type_node ? type_node->pos : p->pos;
	if (i == known) {
		const char *hint = idp_str_closest(type, patch_types, known);
		if (hint)
			return idp_err_at(err, at, idp_buf_cstr(path), "unknown patch type \"%s\" (did you mean %s?)", type,
					  hint);
		return idp_err_at(err, at, idp_buf_cstr(path), "unknown patch type \"%s\"", type);
	}
	if (environment && (strcmp(type, "PatchSet") == 0 || strcmp(type, "CombineFromEnvironment") == 0 ||
			    strcmp(type, "CombineToEnvironment") == 0))
		return idp_err_at(err, at, idp_buf_cstr(path), "invalid environment patch type \"%s\"", type);
	if (strcmp(type, "PatchSet") == 0) {
		if (in_patch_set)
			return idp_err_at(err, at, idp_buf_cstr(path), "a patch in a PatchSet cannot be of type PatchSet");
		const char *name = idp_doc_map_get_str(p, "patchSetName");
		if (!name || !*name)
			return idp_err_at(err, p->pos, idp_buf_cstr(path), "patchSetName must be set for patch type PatchSet");
		return 0;
	}
	if (strncmp(type, "Combine", 7) == 0) {
		if (check_combine(p, type, path, err) != 0)
			return IDP_EINPUT;
	} else if (!*compose_patch_from(p)) {
		return idp_err_at(err, p->pos, idp_buf_cstr(path), "fromFieldPath must be set for patch type %s", type);
	}
	if (check_field_path(p, "fromFieldPath", path, err) != 0 || check_field_path(p, "toFieldPath", path, err) != 0)
		return IDP_EINPUT;
	if (check_transforms(p, path, err) != 0)
		return IDP_EINPUT;
	const idp_doc_node *policy = idp_doc_map_get(p, "policy");
	if (policy) {
		const idp_doc_node *to = idp_doc_map_get(policy, "toFieldPath");
		const idp_doc_node *from = idp_doc_map_get(policy, "fromFieldPath");
		idp_compose_merge mode;
		if (to && (to->kind != IDP_DOC_STR || !idp_compose_merge_parse(to->as.str.ptr, &mode)))
			return idp_err_at(err, to->pos, idp_buf_cstr(path), "unknown toFieldPathPolicy \"%s\"",
					  to->kind == IDP_DOC_STR ? to->as.str.ptr : "");
		if (from && (from->kind != IDP_DOC_STR ||
			     (strcmp(from->as.str.ptr, "Optional") != 0 && strcmp(from->as.str.ptr, "Required") != 0)))
			return idp_err_at(err, from->pos, idp_buf_cstr(path),
					  "unknown fromFieldPathPolicy \"%s\" (Optional or Required)",
					  from->kind == IDP_DOC_STR ? from->as.str.ptr : "");
	}
	return 0;
}

/* ---------------------------------------------------------------- applying */

static int run_transforms(idp_arena *a, const idp_doc_node *p, idp_doc_node *in, idp_doc_node **out, idp_err *err)
{
	return idp_compose_transforms(a, idp_doc_map_get(p, "transforms"), in, out, err);
}

static idp_compose_merge merge_mode(const idp_doc_node *p)
{
	idp_compose_merge mode = IDP_COMPOSE_REPLACE;
	const char *s = idp_doc_map_get_str(idp_doc_map_get(p, "policy"), "toFieldPath");
	if (s)
		idp_compose_merge_parse(s, &mode);
	return mode;
}

/* What a patch writes is the patch's doing: its values point at the patch
 * (so that errors and idp render --explain name it), not at where it read. */
static void stamp(idp_doc_node *v, idp_pos pos)
{
	v->pos = pos;
	if (v->kind == IDP_DOC_MAP)
		for (size_t i = 0; i < v->as.map.len; i++)
			stamp(v->as.map.items[i].value, pos);
	else if (v->kind == IDP_DOC_SEQ)
		for (size_t i = 0; i < v->as.seq.len; i++)
			stamp(v->as.seq.items[i], pos);
}

static int write_value(idp_arena *a, const idp_doc_node *p, idp_doc_node *to, idp_doc_node *v, idp_err *err)
{
	stamp(v, p->pos);
	const char *path = compose_patch_to(p);
	idp_compose_merge mode = merge_mode(p);
	if (!strstr(path, "[*]")) {
		if (idp_compose_path_set(a, to, path, v, mode, err) != 0) {
			idp_err_wrap(err, "cannot patch to object");
			return IDP_EINPUT;
		}
		return 0;
	}
	char **paths;
	size_t n;
	if (idp_compose_path_expand(a, to, path, &paths, &n, err) != 0)
		return IDP_EINPUT;
	if (n == 0)
		return idp_err_set(err, IDP_EINPUT, "cannot expand ToFieldPath %s", path);
	for (size_t i = 0; i < n; i++)
		if (idp_compose_path_set(a, to, paths[i], v, mode, err) != 0)
			return IDP_EINPUT;
	return 0;
}

/* ApplyFromFieldPathPatch */
static int from_field_path(idp_arena *a, const idp_doc_node *p, const idp_doc_node *from, idp_doc_node *to,
			   idp_err *err)
{
	const idp_doc_node *in;
	int rc = idp_compose_path_get(a, from, compose_patch_from(p), &in, err);
	if (rc != 0)
		return rc;
	idp_doc_node *out;
	if (run_transforms(a, p, idp_doc_copy(a, in), &out, err) != 0)
		return IDP_EINPUT;
	return write_value(a, p, to, compose_json_normalize(a, out), err);
}

/* ApplyCombineFromVariablesPatch: any missing variable skips the patch. */
static int combine(idp_arena *a, const idp_doc_node *p, const idp_doc_node *from, idp_doc_node *to, idp_err *err)
{
	const idp_doc_node *c = idp_doc_map_get(p, "combine");
	const idp_doc_node *vars = idp_doc_map_get(c, "variables");
	size_t n = vars->as.seq.len;
	const idp_doc_node **in = idp_arena_alloc(a, (n ? n : 1) * sizeof(*in));
	for (size_t i = 0; i < n; i++) {
		int rc = idp_compose_path_get(a, from, idp_doc_map_get_str(vars->as.seq.items[i], "fromFieldPath"), &in[i],
					      err);
		if (rc != 0)
			return rc;
	}
	idp_buf s = IDP_BUF_INIT;
	idp_compose_sprintf(&s, idp_doc_map_get_str(idp_doc_map_get(c, "string"), "fmt"), in, n);
	idp_doc_node *v = idp_doc_new_strn(a, s.ptr ? s.ptr : "", s.len);
	idp_buf_free(&s);
	idp_doc_node *out;
	if (run_transforms(a, p, v, &out, err) != 0)
		return IDP_EINPUT;
	return write_value(a, p, to, out, err);
}

static int apply_between(idp_arena *a, const idp_doc_node *p, const idp_doc_node *from, idp_doc_node *to,
			 idp_err *err)
{
	if (strncmp(compose_patch_type(p), "Combine", 7) == 0)
		return combine(a, p, from, to, err);
	return from_field_path(a, p, from, to, err);
}

int compose_apply_environment_patch(idp_arena *a, const idp_doc_node *p, compose_state *st, idp_err *err)
{
	const char *t = compose_patch_type(p);
	if (strcmp(t, "FromCompositeFieldPath") == 0 || strcmp(t, "ToEnvironmentFieldPath") == 0 ||
	    strcmp(t, "CombineFromComposite") == 0)
		return apply_between(a, p, st->oxr, st->env, err);
	if (strcmp(t, "ToCompositeFieldPath") == 0 || strcmp(t, "FromEnvironmentFieldPath") == 0 ||
	    strcmp(t, "CombineToComposite") == 0)
		return apply_between(a, p, st->env, st->dxr, err);
	return 0;
}

int compose_apply_composed_patch(idp_arena *a, const idp_doc_node *p, compose_state *st, const idp_doc_node *ocd,
				 idp_doc_node *dcd, idp_err *err)
{
	if (!ocd && !compose_patch_to_composed(p))
		return 0;
	const char *t = compose_patch_type(p);
	if (strcmp(t, "ToCompositeFieldPath") == 0 || strcmp(t, "CombineToComposite") == 0)
		return apply_between(a, p, ocd, st->dxr, err);
	if (strcmp(t, "ToEnvironmentFieldPath") == 0 || strcmp(t, "CombineToEnvironment") == 0)
		return apply_between(a, p, ocd, st->env, err);
	if (strcmp(t, "FromCompositeFieldPath") == 0 || strcmp(t, "CombineFromComposite") == 0)
		return apply_between(a, p, st->oxr, dcd, err);
	if (strcmp(t, "FromEnvironmentFieldPath") == 0 || strcmp(t, "CombineFromEnvironment") == 0)
		return apply_between(a, p, st->env, dcd, err);
	return 0;
}
