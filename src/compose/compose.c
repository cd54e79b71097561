/*
 * Running a Composition: classic `spec.resources` or a Pipeline of
 * function-patch-and-transform steps, over one XR, the way fn.go runs one
 * step and Crossplane's function composer names and labels what comes out.
 */
#include "compose/compose_private.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANNOTATION_RESOURCE_NAME "crossplane.io/composition-resource-name"
#define LABEL_COMPOSITE "crossplane.io/composite"
#define LABEL_CLAIM_NAME "crossplane.io/claim-name"
#define LABEL_CLAIM_NAMESPACE "crossplane.io/claim-namespace"
#define FN_PATCH_AND_TRANSFORM "function-patch-and-transform"

typedef struct composed {
	const char *name;       /* the template (composition resource) name */
	idp_pos name_pos;       /* where the Composition names it */
	idp_doc_node *resource; /* desired state */
	bool ready;
} composed;

typedef struct run {
	idp_arena *a;
	const idp_compose_opts *opts;
	compose_state st;
	composed *items;
	size_t len, cap;
	char **warnings;
	size_t n_warnings, cap_warnings;
	idp_doc_node *connection; /* map: key -> string (raw bytes) */
	bool skipped;
	const char *uid;
} run;

/* ---------------------------------------------------------------- small helpers */

static void warn(run *r, const char *fmt, ...) IDP_PRINTF(2, 3);
static void warn(run *r, const char *fmt, ...)
{
	idp_buf b = IDP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->warnings = idp_arena_grow(r->a, r->warnings, r->n_warnings, &r->cap_warnings, sizeof(*r->warnings));
	r->warnings[r->n_warnings++] = idp_arena_strdup(r->a, idp_buf_cstr(&b));
	idp_buf_free(&b);
}

static composed *find_composed(run *r, const char *name)
{
	for (size_t i = 0; i < r->len; i++)
		if (strcmp(r->items[i].name, name) == 0)
			return &r->items[i];
	return NULL;
}

static composed *put_composed(run *r, const char *name, idp_pos name_pos, idp_doc_node *res)
{
	composed *c = find_composed(r, name);
	if (!c) {
		r->items = idp_arena_grow(r->a, r->items, r->len, &r->cap, sizeof(*r->items));
		c = &r->items[r->len++];
		c->name = idp_arena_strdup(r->a, name);
		c->name_pos = name_pos;
		c->ready = false;
	}
	c->resource = res;
	return c;
}

static idp_doc_node *map_child(idp_arena *a, idp_doc_node *m, const char *key)
{
	idp_doc_node *c = idp_doc_map_get(m, key);
	if (!c || c->kind != IDP_DOC_MAP) {
		c = idp_doc_new_map(a);
		idp_doc_map_set(a, m, key, c);
	}
	return c;
}

/* obj's metadata map, created when missing and moved right after kind,
 * where a reader of the output expects it. */
static idp_doc_node *metadata_of(idp_arena *a, idp_doc_node *obj)
{
	idp_doc_node *m = idp_doc_map_get(obj, "metadata");
	if (m && m->kind == IDP_DOC_MAP && obj->as.map.len > 2 && obj->as.map.items[2].value == m)
		return m;
	if (!m || m->kind != IDP_DOC_MAP)
		m = idp_doc_new_map(a);
	idp_doc_node *copy = idp_doc_new_map(a);
	bool placed = false;
	for (size_t i = 0; i < obj->as.map.len; i++) {
		const idp_doc_entry *e = &obj->as.map.items[i];
		if (strcmp(e->key, "metadata") == 0)
			continue;
		idp_doc_map_append(a, copy, e->key, e->key_pos, e->value);
		if (!placed && strcmp(e->key, "kind") == 0) {
			idp_doc_map_append(a, copy, "metadata", e->key_pos, m);
			placed = true;
		}
	}
	if (!placed)
		idp_doc_map_append(a, copy, "metadata", obj->pos, m);
	*obj = *copy;
	return m;
}

static const char *annotation(const idp_doc_node *obj, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(obj, "metadata"), "annotations"), key);
}

static const char *meta_str(const idp_doc_node *obj, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(obj, "metadata"), key);
}

static void set_str(idp_arena *a, idp_doc_node *m, const char *key, const char *v, idp_pos pos)
{
	idp_doc_map_set(a, m, key, idp_doc_new_str_at(a, v, pos));
}

/* Sets key to a copy of from (which keeps its position), if there is one. */
static void set_copy(idp_arena *a, idp_doc_node *m, const char *key, const idp_doc_node *from)
{
	if (from)
		idp_doc_map_set(a, m, key, idp_doc_copy(a, from));
}

static const idp_doc_node *meta_node(const idp_doc_node *obj, const char *key)
{
	return idp_doc_map_get(idp_doc_map_get(obj, "metadata"), key);
}

/* ---------------------------------------------------------------- names */

static void hex(char *out, const unsigned char *d, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = 0;
}

/* uuid.NewSHA1(uuid.Nil, gvk.String()+"\x00"+namespace+"\x00"+name): the
 * stable stand-in UID `crossplane render` gives an XR that has none. */
static const char *render_uid(idp_arena *a, const idp_doc_node *xr)
{
	const char *api = idp_doc_map_get_str(xr, "apiVersion"), *kind = idp_doc_map_get_str(xr, "kind");
	const char *ns = meta_str(xr, "namespace"), *name = meta_str(xr, "name");
	const char *slash = strrchr(api, '/');
	idp_buf b = IDP_BUF_INIT;
	idp_buf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	if (slash)
		idp_buf_append(&b, api, (size_t)(slash - api));
	idp_buf_printf(&b, "/%s, Kind=%s", slash ? slash + 1 : api, kind);
	idp_buf_putc(&b, '\0');
	idp_buf_puts(&b, ns ? ns : "");
	idp_buf_putc(&b, '\0');
	idp_buf_puts(&b, name ? name : "");
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(b.ptr, b.len, d, &n, EVP_sha1(), NULL);
	idp_buf_free(&b);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x50);
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
	char h[33];
	hex(h, d, 16);
	return idp_arena_printf(a, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* names.ChildName: parent prefix + 12 hex of sha256(uid + child), kept
 * within 63 characters. */
static const char *child_name(idp_arena *a, const char *parent, const char *uid, const char *child)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, uid);
	idp_buf_puts(&b, child);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(b.ptr, b.len, d, &n, EVP_sha256(), NULL);
	idp_buf_free(&b);
	char h[65];
	hex(h, d, 32);
	h[12] = 0;
	size_t pl = strlen(parent);
	const char *dash = pl && parent[pl - 1] != '-' ? "-" : "";
	if (pl + strlen(dash) + 12 <= 63)
		return idp_arena_printf(a, "%s%s%s", parent, dash, h);
	char *full = idp_arena_printf(a, "%s%s", parent, dash);
	size_t max = 63 - 12;
	if (full[max - 1] != '-')
		return idp_arena_printf(a, "%.*s-%s", (int)(max - 1), full, h);
	return idp_arena_printf(a, "%.*s%s", (int)max, full, h);
}

/* ---------------------------------------------------------------- checking input */

static int expect_map(const idp_doc_node *parent, const char *key, const char *path, bool required,
		      const idp_doc_node **out, idp_err *err)
{
	const idp_doc_node *v = idp_doc_map_get(parent, key);
	*out = NULL;
	if (!v) {
		if (required)
			return idp_err_at(err, parent->pos, path, "missing required field %s", key);
		return 0;
	}
	if (v->kind != IDP_DOC_MAP)
		return idp_err_at(err, v->pos, path, "must be a map, not %s", idp_doc_kind_name(v->kind));
	*out = v;
	return 0;
}

static int check_object(const idp_doc_node *o, const char *what, idp_err *err)
{
	if (!o || o->kind != IDP_DOC_MAP)
		return idp_err_at(err, o ? o->pos : (idp_pos){0}, NULL, "%s must be a map", what);
	static const char *const keys[] = {"apiVersion", "kind"};
	for (size_t i = 0; i < 2; i++) {
		const idp_doc_node *v = idp_doc_map_get(o, keys[i]);
		if (!v || v->kind != IDP_DOC_STR || v->as.str.len == 0)
			return idp_err_at(err, v ? v->pos : o->pos, keys[i], "%s needs a string %s", what, keys[i]);
	}
	const idp_doc_node *m = idp_doc_map_get(o, "metadata");
	if (m && m->kind != IDP_DOC_MAP)
		return idp_err_at(err, m->pos, "metadata", "must be a map, not %s", idp_doc_kind_name(m->kind));
	return 0;
}

/* Checks a Resources input (a function-patch-and-transform `input`, or a
 * classic Composition's spec) the way ValidateResources does. */
static int check_resources(const idp_doc_node *in, const char *base, bool classic, idp_err *err)
{
	idp_buf path = IDP_BUF_INIT;
	int rc = 0;
	const idp_doc_node *sets = idp_doc_map_get(in, "patchSets");
	const idp_doc_node *res = idp_doc_map_get(in, "resources");
	const idp_doc_node *env = idp_doc_map_get(in, "environment");
	const idp_doc_node *env_patches = env && env->kind == IDP_DOC_MAP ? idp_doc_map_get(env, "patches") : NULL;
	if (sets && sets->kind != IDP_DOC_SEQ)
		rc = idp_err_at(err, sets->pos, "patchSets", "must be a list");
	for (size_t i = 0; rc == 0 && sets && i < sets->as.seq.len; i++) {
		const idp_doc_node *s = sets->as.seq.items[i];
		idp_buf_clear(&path);
		idp_buf_printf(&path, "%spatchSets[%zu]", base, i);
		const char *name = idp_doc_map_get_str(s, "name");
		const idp_doc_node *ps = idp_doc_map_get(s, "patches");
		if (!name || !*name)
			rc = idp_err_at(err, s->pos, idp_buf_cstr(&path), "name is required");
		else if (ps && ps->kind != IDP_DOC_SEQ)
			rc = idp_err_at(err, ps->pos, idp_buf_cstr(&path), "patches must be a list");
		for (size_t j = 0; rc == 0 && ps && j < ps->as.seq.len; j++) {
			idp_buf p = IDP_BUF_INIT;
			idp_buf_printf(&p, "%s.patches[%zu]", idp_buf_cstr(&path), j);
			rc = compose_check_patch(ps->as.seq.items[j], true, false, &p, err);
			idp_buf_free(&p);
		}
	}
	if (rc == 0 && res && res->kind != IDP_DOC_SEQ)
		rc = idp_err_at(err, res->pos, "resources", "must be a list");
	size_t nres = res && res->kind == IDP_DOC_SEQ ? res->as.seq.len : 0;
	size_t nenv = env_patches && env_patches->kind == IDP_DOC_SEQ ? env_patches->as.seq.len : 0;
	if (rc == 0 && nres == 0 && nenv == 0 && !classic)
		rc = idp_err_at(err, in->pos, base, "resources: Required value: resources or environment patches are required");
	for (size_t i = 0; rc == 0 && i < nres; i++) {
		const idp_doc_node *t = res->as.seq.items[i];
		idp_buf_clear(&path);
		idp_buf_printf(&path, "%sresources[%zu]", base, i);
		if (t->kind != IDP_DOC_MAP) {
			rc = idp_err_at(err, t->pos, idp_buf_cstr(&path), "must be a map");
			break;
		}
		const char *name = idp_doc_map_get_str(t, "name");
		if (!name || !*name) {
			rc = idp_err_at(err, t->pos, idp_buf_cstr(&path), "name is required");
			break;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(name, idp_doc_map_get_str(res->as.seq.items[k], "name") ? idp_doc_map_get_str(res->as.seq.items[k], "name") : "") == 0)
				rc = idp_err_at(err, idp_doc_map_get(t, "name")->pos, idp_buf_cstr(&path),
						"duplicate resource name \"%s\"", name);
		const idp_doc_node *base_node = idp_doc_map_get(t, "base");
		if (rc == 0 && base_node && (base_node->kind != IDP_DOC_MAP || check_object(base_node, "a base", err) != 0))
			rc = idp_err_at(err, base_node->pos, idp_buf_cstr(&path), "base must be a Kubernetes object");
		const idp_doc_node *ps = idp_doc_map_get(t, "patches");
		if (rc == 0 && ps && ps->kind != IDP_DOC_SEQ)
			rc = idp_err_at(err, ps->pos, idp_buf_cstr(&path), "patches must be a list");
		for (size_t j = 0; rc == 0 && ps && j < ps->as.seq.len; j++) {
			idp_buf p = IDP_BUF_INIT;
			idp_buf_printf(&p, "%s.patches[%zu]", idp_buf_cstr(&path), j);
			rc = compose_check_patch(ps->as.seq.items[j], false, false, &p, err);
			idp_buf_free(&p);
		}
		const idp_doc_node *checks = idp_doc_map_get(t, "readinessChecks");
		for (size_t j = 0; rc == 0 && checks && checks->kind == IDP_DOC_SEQ && j < checks->as.seq.len; j++) {
			idp_err cerr = IDP_ERR_INIT;
			if (compose_check_readiness(checks->as.seq.items[j], &cerr) != 0) {
				idp_buf p = IDP_BUF_INIT;
				idp_buf_printf(&p, "%s.readinessChecks[%zu]", idp_buf_cstr(&path), j);
				rc = idp_err_at(err, checks->as.seq.items[j]->pos, idp_buf_cstr(&p), "%s", cerr.msg);
				idp_buf_free(&p);
			}
			idp_err_clear(&cerr);
		}
		const idp_doc_node *cds = idp_doc_map_get(t, "connectionDetails");
		for (size_t j = 0; rc == 0 && cds && cds->kind == IDP_DOC_SEQ && j < cds->as.seq.len; j++) {
			idp_err cerr = IDP_ERR_INIT;
			if (compose_check_connection_detail(cds->as.seq.items[j], classic, &cerr) != 0) {
				idp_buf p = IDP_BUF_INIT;
				idp_buf_printf(&p, "%s.connectionDetails[%zu]", idp_buf_cstr(&path), j);
				rc = idp_err_at(err, cds->as.seq.items[j]->pos, idp_buf_cstr(&p), "%s", cerr.msg);
				idp_buf_free(&p);
			}
			idp_err_clear(&cerr);
		}
	}
	for (size_t i = 0; rc == 0 && i < nenv; i++) {
		idp_buf_clear(&path);
		idp_buf_printf(&path, "%senvironment.patches[%zu]", base, i);
		rc = compose_check_patch(env_patches->as.seq.items[i], false, true, &path, err);
	}
	idp_buf_free(&path);
	return rc;
}

/* ---------------------------------------------------------------- one input */

static const idp_doc_node *observed_for(run *r, const char *name)
{
	for (size_t i = 0; i < r->opts->n_observed; i++) {
		const char *n = annotation(r->opts->observed[i], ANNOTATION_RESOURCE_NAME);
		if (n && strcmp(n, name) == 0)
			return r->opts->observed[i];
	}
	return NULL;
}

/* The patches of template t with PatchSets inlined (ComposedTemplates). */
static int resolved_patches(run *r, const idp_doc_node *in, const idp_doc_node *t, idp_doc_node **out, idp_err *err)
{
	idp_doc_node *list = idp_doc_new_seq(r->a);
	const idp_doc_node *ps = idp_doc_map_get(t, "patches");
	const idp_doc_node *sets = idp_doc_map_get(in, "patchSets");
	for (size_t i = 0; ps && i < ps->as.seq.len; i++) {
		const idp_doc_node *p = ps->as.seq.items[i];
		if (strcmp(compose_patch_type(p), "PatchSet") != 0) {
			idp_doc_seq_push(r->a, list, (idp_doc_node *)p);
			continue;
		}
		const char *want = idp_doc_map_get_str(p, "patchSetName");
		const idp_doc_node *found = NULL;
		for (size_t k = 0; sets && k < sets->as.seq.len && !found; k++) {
			const char *n = idp_doc_map_get_str(sets->as.seq.items[k], "name");
			if (n && strcmp(n, want) == 0)
				found = sets->as.seq.items[k];
		}
		if (!found)
			return idp_err_at(err, idp_doc_map_get(p, "patchSetName")->pos, NULL,
					  "cannot resolve PatchSets: cannot find PatchSet by name %s", want);
		const idp_doc_node *fps = idp_doc_map_get(found, "patches");
		for (size_t k = 0; fps && k < fps->as.seq.len; k++)
			idp_doc_seq_push(r->a, list, fps->as.seq.items[k]);
	}
	*out = list;
	return 0;
}

static int run_environment_patches(run *r, const idp_doc_node *in, idp_err *err)
{
	const idp_doc_node *env = idp_doc_map_get(in, "environment");
	const idp_doc_node *ps = env ? idp_doc_map_get(env, "patches") : NULL;
	for (size_t i = 0; ps && ps->kind == IDP_DOC_SEQ && i < ps->as.seq.len; i++) {
		const idp_doc_node *p = ps->as.seq.items[i];
		idp_err perr = IDP_ERR_INIT;
		int rc = compose_apply_environment_patch(r->a, p, &r->st, &perr);
		if (rc == IDP_ENOTFOUND && !compose_patch_required(p)) {
			idp_err_clear(&perr);
			continue;
		}
		if (rc != 0) {
			idp_err_at(err, p->pos, NULL, "cannot apply the \"%s\" environment patch at index %zu: %s",
				   compose_patch_type(p), i, perr.msg);
			idp_err_clear(&perr);
			return IDP_EINPUT;
		}
	}
	return 0;
}

/* Runs one template: base (or the desired resource a previous step made),
 * association with the observed resource, then its patches. */
static int run_template(run *r, const idp_doc_node *in, const idp_doc_node *t, idp_err *err)
{
	const char *name = idp_doc_map_get_str(t, "name");
	const idp_doc_node *base = idp_doc_map_get(t, "base");
	idp_doc_node *dcd;
	if (!base) {
		composed *prev = find_composed(r, name);
		if (!prev)
			return idp_err_at(err, t->pos, NULL,
					  "composed resource \"%s\" has no base template, and was not produced by a previous Function in the pipeline",
					  name);
		dcd = idp_doc_copy(r->a, prev->resource);
	} else {
		dcd = compose_json_normalize(r->a, base);
	}
	const idp_doc_node *ocd = observed_for(r, name);
	bool ready = false;
	if (ocd) {
		idp_doc_node *meta = metadata_of(r->a, dcd);
		if (meta_str(ocd, "namespace"))
			set_copy(r->a, meta, "namespace", meta_node(ocd, "namespace"));
		else
			idp_doc_map_delete(meta, "namespace");
		if (meta_str(ocd, "name"))
			set_copy(r->a, meta, "name", meta_node(ocd, "name"));
		else
			idp_doc_map_delete(meta, "name");
		idp_err cerr = IDP_ERR_INIT;
		if (compose_extract_connection(r->a, ocd, r->opts, idp_doc_map_get(t, "connectionDetails"), r->connection,
					       &cerr) != 0)
			warn(r, "cannot extract composite resource connection details from composed resource \"%s\": %s", name,
			     cerr.msg);
		idp_err_clear(&cerr);
		if (idp_compose_ready(r->a, ocd, idp_doc_map_get(t, "readinessChecks"), &ready, &cerr) != 0)
			warn(r, "cannot check readiness of composed resource \"%s\": %s", name, cerr.msg);
		idp_err_clear(&cerr);
	}
	idp_doc_node *patches = NULL;
	if (resolved_patches(r, in, t, &patches, err) != 0)
		return IDP_EINPUT;
	for (size_t i = 0; i < patches->as.seq.len; i++) {
		const idp_doc_node *p = patches->as.seq.items[i];
		idp_err perr = IDP_ERR_INIT;
		int rc = compose_apply_composed_patch(r->a, p, &r->st, ocd, dcd, &perr);
		if (rc == IDP_ENOTFOUND) {
			if (compose_patch_required(p)) {
				if (compose_patch_to_composed(p) && !ocd) {
					warn(r,
					     "not adding new composed resource \"%s\" to desired state because \"%s\" patch at index %zu has 'policy.fromFieldPath: Required': %s",
					     name, compose_patch_type(p), i, perr.msg);
					idp_err_clear(&perr);
					r->skipped = true;
					return 0;
				}
				warn(r,
				     "cannot render composed resource \"%s\" \"%s\" patch at index %zu: ignoring 'policy.fromFieldPath: Required' because 'to' resource already exists: %s",
				     name, compose_patch_type(p), i, perr.msg);
			}
			idp_err_clear(&perr);
			continue;
		}
		if (rc != 0) {
			idp_err_at(err, p->pos, NULL, "cannot render composed resource \"%s\" \"%s\" patch at index %zu: %s", name,
				   compose_patch_type(p), i, perr.msg);
			idp_err_clear(&perr);
			return IDP_EINPUT;
		}
	}
	composed *c = put_composed(r, name, idp_doc_map_get(t, "name")->pos, dcd);
	c->ready = ready;
	return 0;
}

static int run_resources(run *r, const idp_doc_node *in, idp_err *err)
{
	if (run_environment_patches(r, in, err) != 0)
		return IDP_EINPUT;
	const idp_doc_node *res = idp_doc_map_get(in, "resources");
	for (size_t i = 0; res && i < res->as.seq.len; i++)
		if (run_template(r, in, res->as.seq.items[i], err) != 0)
			return IDP_EINPUT;
	return 0;
}

/* ---------------------------------------------------------------- the Composition */

static bool is_patch_and_transform(const char *fn)
{
	size_t n = strlen(fn), k = strlen(FN_PATCH_AND_TRANSFORM);
	return strcmp(fn, FN_PATCH_AND_TRANSFORM) == 0 ||
	       (n > k && fn[n - k - 1] == '-' && strcmp(fn + n - k, FN_PATCH_AND_TRANSFORM) == 0);
}

/* The Composition is for xr's apiVersion and kind. */
static int check_type_ref(const idp_doc_node *xr, const idp_doc_node *comp, idp_err *err)
{
	const idp_doc_node *ref = idp_doc_map_get(idp_doc_map_get(comp, "spec"), "compositeTypeRef");
	const char *want_api = idp_doc_map_get_str(ref, "apiVersion"), *want_kind = idp_doc_map_get_str(ref, "kind");
	const char *api = idp_doc_map_get_str(xr, "apiVersion"), *xkind = idp_doc_map_get_str(xr, "kind");
	if (!want_api || !want_kind)
		return idp_err_at(err, (ref ? ref : comp)->pos, "spec.compositeTypeRef", "needs apiVersion and kind");
	if (strcmp(want_api, api) != 0 || strcmp(want_kind, xkind) != 0)
		return idp_err_at(err, ref->pos, "spec.compositeTypeRef",
				  "composition %s composes %s %s, not the composite resource's %s %s",
				  meta_str(comp, "name") ? meta_str(comp, "name") : "(unnamed)", want_api, want_kind, api, xkind);
	return 0;
}

static int check_composition(const idp_doc_node *xr, const idp_doc_node *comp, idp_err *err)
{
	if (idp_compose_check(comp, err) != 0)
		return IDP_EINPUT;
	return check_type_ref(xr, comp, err);
}

int idp_compose_check(const idp_doc_node *comp, idp_err *err)
{
	if (check_object(comp, "the Composition", err) != 0)
		return IDP_EINPUT;
	const char *kind = idp_doc_map_get_str(comp, "kind");
	if (strcmp(kind, "Composition") != 0)
		return idp_err_at(err, idp_doc_map_get(comp, "kind")->pos, "kind",
				  "expected a Composition (apiextensions.crossplane.io/v1), found kind %s", kind);
	const idp_doc_node *spec, *ref;
	if (expect_map(comp, "spec", "spec", true, &spec, err) != 0 ||
	    expect_map(spec, "compositeTypeRef", "spec.compositeTypeRef", true, &ref, err) != 0)
		return IDP_EINPUT;
	if (!idp_doc_map_get_str(ref, "apiVersion") || !idp_doc_map_get_str(ref, "kind"))
		return idp_err_at(err, ref->pos, "spec.compositeTypeRef", "needs apiVersion and kind");
	const char *mode = idp_doc_map_get_str(spec, "mode");
	if (mode && strcmp(mode, "Pipeline") != 0 && strcmp(mode, "Resources") != 0)
		return idp_err_at(err, idp_doc_map_get(spec, "mode")->pos, "spec.mode",
				  "unknown mode \"%s\" (Pipeline or Resources)", mode);
	if (mode && strcmp(mode, "Pipeline") == 0) {
		const idp_doc_node *steps = idp_doc_map_get(spec, "pipeline");
		if (!steps || steps->kind != IDP_DOC_SEQ || steps->as.seq.len == 0)
			return idp_err_at(err, (steps ? steps : spec)->pos, "spec.pipeline", "a Pipeline needs at least one step");
		for (size_t i = 0; i < steps->as.seq.len; i++) {
			const idp_doc_node *s = steps->as.seq.items[i];
			char path[64];
			snprintf(path, sizeof(path), "spec.pipeline[%zu]", i);
			const char *step = idp_doc_map_get_str(s, "step");
			const char *fn = idp_doc_map_get_str(idp_doc_map_get(s, "functionRef"), "name");
			if (!step || !fn)
				return idp_err_at(err, s->pos, path, "a pipeline step needs `step` and `functionRef.name`");
			if (!is_patch_and_transform(fn))
				return idp_err_at(err, idp_doc_map_get(idp_doc_map_get(s, "functionRef"), "name")->pos, path,
						  "step \"%s\" runs function \"%s\": only function-patch-and-transform runs offline; "
						  "render this step with `crossplane render` (it needs Docker)",
						  step, fn);
			const idp_doc_node *input;
			if (expect_map(s, "input", path, true, &input, err) != 0)
				return IDP_EINPUT;
			const char *iapi = idp_doc_map_get_str(input, "apiVersion"), *ikind = idp_doc_map_get_str(input, "kind");
			if (!iapi || strncmp(iapi, "pt.fn.crossplane.io/", 20) != 0 || !ikind || strcmp(ikind, "Resources") != 0)
				return idp_err_at(err, input->pos, path,
						  "input of function-patch-and-transform must be pt.fn.crossplane.io/v1beta1 Resources");
			char base[80];
			snprintf(base, sizeof(base), "%s.input.", path);
			if (check_resources(input, base, false, err) != 0)
				return IDP_EINPUT;
		}
		return 0;
	}
	return check_resources(spec, "spec.", true, err);
}

/* ---------------------------------------------------------------- output */

/* RenderComposedResourceMetadata + the name generator. */
static void render_metadata(run *r, composed *c)
{
	idp_arena *a = r->a;
	const idp_doc_node *xr = r->st.oxr;
	idp_doc_node *meta = metadata_of(a, c->resource);
	const idp_doc_node *xlabels = idp_doc_map_get(idp_doc_map_get(xr, "metadata"), "labels");
	const idp_doc_node *prefix = idp_doc_map_get(xlabels, LABEL_COMPOSITE);
	const char *name = idp_doc_map_get_str(meta, "name");
	const char *gen = idp_doc_map_get_str(meta, "generateName");
	if ((!name || !*name) && (!gen || !*gen)) {
		gen = idp_arena_printf(a, "%s-", prefix ? prefix->as.str.ptr : "");
		set_str(a, meta, "generateName", gen, idp_pos_made("Crossplane: composed resources are named after their composite"));
	}
	set_copy(a, meta, "namespace", meta_node(xr, "namespace"));
	set_str(a, map_child(a, meta, "annotations"), ANNOTATION_RESOURCE_NAME, c->name, c->name_pos);
	idp_doc_node *labels = map_child(a, meta, "labels");
	set_copy(a, labels, LABEL_COMPOSITE, prefix);
	const char *cn = idp_doc_map_get_str(xlabels, LABEL_CLAIM_NAME);
	const char *cns = idp_doc_map_get_str(xlabels, LABEL_CLAIM_NAMESPACE);
	if (cn && *cn && cns && *cns) {
		set_copy(a, labels, LABEL_CLAIM_NAME, idp_doc_map_get(xlabels, LABEL_CLAIM_NAME));
		set_copy(a, labels, LABEL_CLAIM_NAMESPACE, idp_doc_map_get(xlabels, LABEL_CLAIM_NAMESPACE));
	}
	idp_doc_node *owners = idp_doc_map_get(meta, "ownerReferences");
	if (!owners || owners->kind != IDP_DOC_SEQ) {
		owners = idp_doc_new_seq(a);
		idp_doc_map_set(a, meta, "ownerReferences", owners);
	}
	idp_doc_node *ref = idp_doc_new_map(a);
	idp_pos owner = idp_pos_made("Crossplane: the composite controls what it composes");
	set_copy(a, ref, "apiVersion", idp_doc_map_get(xr, "apiVersion"));
	set_copy(a, ref, "kind", idp_doc_map_get(xr, "kind"));
	set_copy(a, ref, "name", meta_node(xr, "name"));
	set_str(a, ref, "uid", r->uid, owner);
	idp_doc_node *yes = idp_doc_new_bool(a, true);
	yes->pos = owner;
	idp_doc_map_set(a, ref, "controller", yes);
	idp_doc_map_set(a, ref, "blockOwnerDeletion", idp_doc_copy(a, yes));
	idp_doc_seq_push(a, owners, ref);
	name = idp_doc_map_get_str(meta, "name");
	gen = idp_doc_map_get_str(meta, "generateName");
	if ((!name || !*name) && gen && *gen) {
		set_str(a, meta, "name", child_name(a, gen, r->uid, c->name),
			idp_pos_made("Crossplane: a composed resource without a name gets generateName plus a suffix"));
		idp_doc_map_delete(meta, "generateName");
	}
}

static idp_doc_node *condition(idp_arena *a, const char *type, bool ok, const char *reason, const char *msg)
{
	idp_doc_node *c = idp_doc_new_map(a);
	idp_pos at = idp_pos_made("Crossplane: the composite's conditions");
	set_str(a, c, "lastTransitionTime", "2024-01-01T00:00:00Z", at);
	if (msg)
		set_str(a, c, "message", msg, at);
	set_str(a, c, "reason", reason, at);
	set_str(a, c, "status", ok ? "True" : "False", at);
	set_str(a, c, "type", type, at);
	return c;
}

static idp_doc_node *composite_output(run *r, bool ready, const idp_doc_node *xr_in)
{
	idp_arena *a = r->a;
	idp_doc_node *out = idp_doc_copy(a, r->st.oxr);
	idp_doc_merge(a, out, r->st.dxr, 0);
	if (!meta_str(xr_in, "uid"))
		idp_doc_map_delete(map_child(a, out, "metadata"), "uid");
	idp_doc_node *status = map_child(a, out, "status");
	idp_doc_node *conds = idp_doc_new_seq(a);
	idp_doc_seq_push(a, conds, condition(a, "Synced", true, "ReconcileSuccess", NULL));
	if (ready) {
		idp_doc_seq_push(a, conds, condition(a, "Ready", true, "Available", NULL));
	} else {
		idp_buf msg = IDP_BUF_INIT;
		size_t n = 0;
		for (size_t i = 0; i < r->len; i++) {
			if (r->items[i].ready)
				continue;
			idp_buf_puts(&msg, n++ ? ", " : "Unready resources: ");
			idp_buf_puts(&msg, r->items[i].name);
		}
		idp_doc_seq_push(a, conds, condition(a, "Ready", false, "Creating", n ? idp_buf_cstr(&msg) : NULL));
		idp_buf_free(&msg);
	}
	idp_doc_map_set(a, status, "conditions", conds);
	return out;
}

/* The XR as composition sees it: a name, the composite label, a UID. */
static idp_doc_node *observed_xr(run *r, const idp_doc_node *xr)
{
	idp_arena *a = r->a;
	idp_doc_node *o = compose_json_normalize(a, xr);
	idp_doc_node *meta = metadata_of(a, o);
	if (!idp_doc_map_get_str(meta, "name")) {
		const char *gen = idp_doc_map_get_str(meta, "generateName");
		char *kind = idp_arena_strdup(a, idp_doc_map_get_str(o, "kind"));
		for (char *p = kind; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		set_str(a, meta, "name", gen ? child_name(a, gen, render_uid(a, o), "xr") : kind,
			idp_pos_made("idp compose: an XR without a name is named after its kind"));
	}
	idp_doc_node *labels = map_child(a, meta, "labels");
	if (!idp_doc_map_get_str(labels, LABEL_COMPOSITE))
		set_copy(a, labels, LABEL_COMPOSITE, idp_doc_map_get(meta, "name"));
	const char *uid = idp_doc_map_get_str(meta, "uid");
	r->uid = uid ? uid : render_uid(a, o);
	set_str(a, meta, "uid", r->uid, idp_pos_made("idp compose: a uid derived from the XR's identity"));
	return o;
}

static void warn_pruned(run *r, const char *what, const compose_pruned *pruned, size_t n)
{
	for (size_t i = 0; i < n; i++)
		warn(r, "%s: pruned field not in the XRD's schema: %s:%u:%u: %s", what,
		     pruned[i].pos.file ? pruned[i].pos.file : "-", (unsigned)pruned[i].pos.line,
		     (unsigned)pruned[i].pos.col, pruned[i].path);
}

/* With an XRD: a claim becomes its XR; both are pruned, defaulted and
 * validated against the schema, as the API server would. */
static int prepare_xr(run *r, const idp_doc_node **xr, const idp_doc_node **claim, idp_err *err)
{
	idp_doc_node *obj = idp_doc_copy(r->a, *xr);
	compose_pruned *pruned;
	size_t n;
	if (compose_xrd_apply(r->a, r->opts->xrd, obj, &pruned, &n, err) != 0)
		return IDP_EINPUT;
	bool is_claim = compose_xrd_is_claim(r->opts->xrd, obj);
	warn_pruned(r, is_claim ? "claim" : "composite resource", pruned, n);
	if (!is_claim) {
		*xr = obj;
		return 0;
	}
	idp_doc_node *composite;
	if (compose_claim_to_xr(r->a, r->opts->xrd, obj, &composite, err) != 0 ||
	    compose_xrd_apply(r->a, r->opts->xrd, composite, &pruned, &n, err) != 0)
		return IDP_EINPUT;
	warn_pruned(r, "composite resource", pruned, n);
	*claim = obj;
	*xr = composite;
	return 0;
}

int idp_compose_run(idp_arena *a, const idp_doc_node *xr, const idp_doc_node *composition,
		    const idp_compose_opts *opts, idp_compose_result *out, idp_err *err)
{
	static const idp_compose_opts defaults = IDP_COMPOSE_OPTS_INIT;
	if (!opts)
		opts = &defaults;
	memset(out, 0, sizeof(*out));
	if (check_object(xr, "the composite resource", err) != 0)
		return IDP_EINPUT;
	run r = {0};
	r.a = a;
	r.opts = opts;
	r.connection = idp_doc_new_map(a);
	const idp_doc_node *claim = NULL;
	if (opts->xrd) {
		if (idp_compose_xrd_check(opts->xrd, err) != 0 || prepare_xr(&r, &xr, &claim, err) != 0 ||
		    compose_check_selection(opts->xrd, xr, composition, err) != 0)
			return IDP_EINPUT;
	}
	if (opts->composition_checked ? check_type_ref(xr, composition, err) != 0
				      : check_composition(xr, composition, err) != 0)
		return IDP_EINPUT;
	r.st.oxr = observed_xr(&r, xr);
	r.st.dxr = idp_doc_new_map(a);
	set_copy(a, r.st.dxr, "apiVersion", idp_doc_map_get(xr, "apiVersion"));
	set_copy(a, r.st.dxr, "kind", idp_doc_map_get(xr, "kind"));
	r.st.env = opts->environment && opts->environment->kind == IDP_DOC_MAP ? compose_json_normalize(a, opts->environment)
									      : idp_doc_new_map(a);
	if (!idp_doc_map_get(r.st.env, "apiVersion") && !idp_doc_map_get(r.st.env, "kind")) {
		set_str(a, r.st.env, "apiVersion", "internal.crossplane.io/v1alpha1", idp_pos_made("Crossplane: the environment"));
		set_str(a, r.st.env, "kind", "Environment", idp_pos_made("Crossplane: the environment"));
	}
	for (size_t i = 0; i < opts->n_desired; i++) {
		const char *n = annotation(opts->desired[i], ANNOTATION_RESOURCE_NAME);
		if (!n)
			return idp_err_at(err, opts->desired[i]->pos, "metadata.annotations",
					  "a desired resource needs the %s annotation", ANNOTATION_RESOURCE_NAME);
		idp_pos at = idp_doc_map_get(idp_doc_map_get(idp_doc_map_get(opts->desired[i], "metadata"), "annotations"),
					     ANNOTATION_RESOURCE_NAME)->pos;
		put_composed(&r, n, at, compose_json_normalize(a, opts->desired[i]));
	}
	const idp_doc_node *spec = idp_doc_map_get(composition, "spec");
	const char *mode = idp_doc_map_get_str(spec, "mode");
	if (mode && strcmp(mode, "Pipeline") == 0) {
		const idp_doc_node *steps = idp_doc_map_get(spec, "pipeline");
		for (size_t i = 0; i < steps->as.seq.len; i++)
			if (run_resources(&r, idp_doc_map_get(steps->as.seq.items[i], "input"), err) != 0)
				return IDP_EINPUT;
	} else if (run_resources(&r, spec, err) != 0) {
		return IDP_EINPUT;
	}
	bool ready = !r.skipped;
	for (size_t i = 0; i < r.len; i++) {
		render_metadata(&r, &r.items[i]);
		ready = ready && r.items[i].ready;
	}
	idp_doc_node *secret = NULL;
	if (compose_connection_secret(a, r.st.oxr, composition, r.connection, &secret, err) != 0)
		return IDP_EINPUT;
	out->composite = composite_output(&r, ready, xr);
	out->n_resources = r.len + (secret ? 1 : 0);
	out->resources = idp_arena_alloc(a, (out->n_resources ? out->n_resources : 1) * sizeof(*out->resources));
	for (size_t i = 0; i < r.len; i++)
		out->resources[i] = opts->unwrap_objects ? compose_unwrap_object(a, r.items[i].resource) : r.items[i].resource;
	if (secret)
		out->resources[r.len] = secret;
	if (secret && claim) {
		/* Crossplane copies the XR's connection details to the claim's own Secret. */
		const idp_doc_node *ref = idp_doc_map_get(idp_doc_map_get(claim, "spec"), "writeConnectionSecretToRef");
		const char *cname = idp_doc_map_get_str(ref, "name");
		if (cname) {
			idp_doc_node *copy = idp_doc_copy(a, secret);
			idp_doc_node *m = idp_doc_map_get(copy, "metadata");
			set_copy(a, m, "name", idp_doc_map_get(ref, "name"));
			if (meta_str(claim, "namespace"))
				set_copy(a, m, "namespace", meta_node(claim, "namespace"));
			else
				set_str(a, m, "namespace", "default",
					idp_pos_made("Kubernetes: an object without a namespace is in default"));
			idp_doc_node **grown = idp_arena_alloc(a, (out->n_resources + 1) * sizeof(*grown));
			memcpy(grown, out->resources, out->n_resources * sizeof(*grown));
			grown[out->n_resources++] = copy;
			out->resources = grown;
		}
	}
	out->claim = (idp_doc_node *)claim;
	out->environment = r.st.env;
	out->warnings = r.warnings;
	out->n_warnings = r.n_warnings;
	out->ready = ready;
	return 0;
}
