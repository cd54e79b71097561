/* Documents in, objects out: Applications rendered, claims checked against
 * their XRD or, inline, composed until none is left. */
#include "compose/compose.h"
#include "render/render_private.h"

#include <string.h>

/* A composition that makes a claim that makes... stops here. */
#define MAX_COMPOSITIONS 10000

typedef struct obj_list {
	idp_doc_node **items;
	size_t n, cap;
} obj_list;

static void obj_push(idp_arena *a, obj_list *l, idp_doc_node *obj)
{
	l->items = idp_arena_grow(a, l->items, l->n, &l->cap, sizeof(*l->items));
	l->items[l->n++] = obj;
}

static const idp_doc_node *xrd_of(const idp_render_registry *reg, const idp_doc_node *obj)
{
	return render_registry_xrd(reg, idp_doc_map_get_str(obj, "apiVersion"), idp_doc_map_get_str(obj, "kind"));
}

/* A kubernetes.crossplane.io Object wrapping a claim: the claim. */
static idp_doc_node *wrapped_claim(const idp_render_registry *reg, const idp_doc_node *obj)
{
	const char *api = idp_doc_map_get_str(obj, "apiVersion"), *kind = idp_doc_map_get_str(obj, "kind");
	if (!api || !kind || strncmp(api, "kubernetes.crossplane.io/", 25) != 0 || strcmp(kind, "Object") != 0)
		return NULL;
	idp_doc_node *m;
	if (idp_doc_path_get(obj, "spec.forProvider.manifest", &m, NULL) || m->kind != IDP_DOC_MAP)
		return NULL;
	return xrd_of(reg, m) ? m : NULL;
}

/* The claim with the namespace it will live in (-n, else "default") when
 * it names none, as Crossplane would see it. */
static idp_doc_node *with_namespace(idp_arena *a, const idp_doc_node *claim, const idp_doc_node *xrd,
				    const char *ns)
{
	const char *claim_kind = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(xrd, "spec"), "claimNames"), "kind");
	const char *kind = idp_doc_map_get_str(claim, "kind");
	idp_doc_node *meta = idp_doc_map_get(claim, "metadata");
	if (!claim_kind || !kind || strcmp(claim_kind, kind) != 0 || !meta || meta->kind != IDP_DOC_MAP ||
	    idp_doc_map_get(meta, "namespace"))
		return (idp_doc_node *)claim;
	idp_doc_node *copy = idp_doc_copy(a, claim);
	idp_pos at = ns ? idp_pos_made("idp render -n")
		        : idp_pos_made("Kubernetes: an object without a namespace is in default");
	idp_doc_map_set(a, idp_doc_map_get(copy, "metadata"), "namespace", idp_doc_new_str_at(a, ns ? ns : "default", at));
	return copy;
}

static int compose_claim(idp_arena *a, idp_render_registry *reg, const idp_render_opts *opts, idp_doc_node *claim,
			 idp_compose_result *res, idp_err *err)
{
	const idp_doc_node *xrd = xrd_of(reg, claim), *composition;
	idp_doc_node *c = with_namespace(a, claim, xrd, opts->namespace);
	int rc = idp_compose_xrd_validate(a, xrd, c, err);
	if (rc == 0)
		rc = render_registry_composition(reg, xrd, c, &composition, err);
	if (rc)
		return rc;
	idp_compose_opts co = IDP_COMPOSE_OPTS_INIT;
	co.xrd = xrd;
	co.unwrap_objects = opts->unwrap_objects;
	co.composition_checked = true;
	rc = idp_compose_run(a, c, composition, &co, res, err);
	if (rc) {
		const char *name = idp_doc_map_get_str(idp_doc_map_get(claim, "metadata"), "name");
		idp_err_wrap(err, "%s %s", idp_doc_map_get_str(claim, "kind"), name ? name : "(unnamed)");
	}
	return rc;
}

/* Sorts obj into out (an ordinary object) or pending (a claim to compose). */
static int route(idp_arena *a, idp_render_registry *reg, const idp_render_opts *opts, idp_doc_node *obj,
		 obj_list *out, obj_list *pending, idp_err *err)
{
	bool inline_ = opts->compose == IDP_RENDER_COMPOSE_INLINE;
	const idp_doc_node *xrd = xrd_of(reg, obj);
	if (xrd) {
		if (inline_) {
			obj_push(a, pending, obj);
			return 0;
		}
		/* Staying a claim: it must still be one its XRD accepts, in the
		 * namespace -n names when it names none. */
		if (opts->namespace)
			obj = with_namespace(a, obj, xrd, opts->namespace);
		idp_arena *scratch = idp_arena_new();
		int rc = idp_compose_xrd_validate(scratch, xrd, obj, err);
		idp_arena_free(scratch);
		if (rc)
			return rc;
		obj_push(a, out, obj);
		return 0;
	}
	idp_doc_node *inner = inline_ ? wrapped_claim(reg, obj) : NULL;
	obj_push(a, inner ? pending : out, inner ? inner : obj);
	return 0;
}

/* Inline, the composite is not part of the output: an owner reference to
 * it would make Kubernetes' garbage collector delete the object as soon as
 * it was created (its owner's uid does not exist). */
static void drop_owner(idp_doc_node *obj, const idp_doc_node *composite)
{
	const char *xr = idp_doc_map_get_str(idp_doc_map_get(composite, "metadata"), "name");
	idp_doc_node *meta = idp_doc_map_get(obj, "metadata");
	idp_doc_node *refs = idp_doc_map_get(meta, "ownerReferences");
	if (!xr || !refs || refs->kind != IDP_DOC_SEQ)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < refs->as.seq.len; i++) {
		const char *name = idp_doc_map_get_str(refs->as.seq.items[i], "name");
		if (!name || strcmp(name, xr) != 0)
			refs->as.seq.items[kept++] = refs->as.seq.items[i];
	}
	refs->as.seq.len = kept;
	if (kept == 0)
		idp_doc_map_delete(meta, "ownerReferences");
}

static const char *obj_str(const idp_doc_node *obj, const char *path)
{
	idp_doc_node *v;
	return idp_doc_path_get(obj, path, &v, NULL) == 0 && v->kind == IDP_DOC_STR ? v->as.str.ptr : "";
}

/* What a claim composes lives in the cluster the claim was placed in: a
 * topology's copy of a claim composes a copy of everything. */
static void inherit_cluster(idp_arena *a, idp_doc_node *obj, const idp_doc_node *claim)
{
	const char *cluster = obj_str(claim, "metadata.labels[\"app.oam.dev/cluster\"]");
	idp_doc_node *meta = idp_doc_map_get(obj, "metadata");
	if (!*cluster || !meta || meta->kind != IDP_DOC_MAP)
		return;
	idp_doc_node *labels = idp_doc_map_get(meta, "labels");
	if (!labels) {
		labels = idp_doc_new_map(a);
		idp_doc_map_set(a, meta, "labels", labels);
	}
	if (labels->kind == IDP_DOC_MAP && !idp_doc_map_get(labels, "app.oam.dev/cluster"))
		idp_doc_map_set(a, labels, "app.oam.dev/cluster", idp_doc_new_str(a, cluster));
}

/* Who made obj, for a message: its component, else its claim. */
static const char *origin(idp_arena *a, const idp_doc_node *obj)
{
	const char *comp = obj_str(obj, "metadata.labels[\"app.oam.dev/component\"]");
	if (*comp)
		return idp_arena_printf(a, "component %s", comp);
	const char *claim = obj_str(obj, "metadata.labels[\"crossplane.io/claim-name\"]");
	if (*claim)
		return idp_arena_printf(a, "claim %s", claim);
	const char *xr = obj_str(obj, "metadata.labels[\"crossplane.io/composite\"]");
	return *xr ? idp_arena_printf(a, "composite %s", xr) : "an input document";
}

/* What makes an object one object in a cluster: API group, kind,
 * namespace, name, and the cluster a topology placed it in. */
static const char *identity(idp_arena *a, const idp_doc_node *obj)
{
	const char *api = obj_str(obj, "apiVersion");
	const char *slash = strchr(api, '/');
	return idp_arena_printf(a, "%.*s|%s|%s|%s|%s", slash ? (int)(slash - api) : 0, api, obj_str(obj, "kind"),
				obj_str(obj, "metadata.namespace"), obj_str(obj, "metadata.name"),
				obj_str(obj, "metadata.labels[\"app.oam.dev/cluster\"]"));
}

/* Two objects with the same identity would overwrite each other in the
 * cluster (and in a directory of files); two equal ones are one object,
 * kept where it first appeared. */
static int check_unique(idp_arena *a, obj_list *l, idp_err *err)
{
	const char **ids = idp_arena_alloc(a, (l->n + 1) * sizeof(*ids));
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++) {
		idp_doc_node *x = l->items[i];
		const char *id = identity(a, x);
		bool dup = false;
		for (size_t j = 0; j < kept && !dup && *obj_str(x, "metadata.name"); j++) {
			if (strcmp(ids[j], id) != 0)
				continue;
			const idp_doc_node *y = l->items[j];
			if (!idp_doc_equal(x, y)) {
				const char *ns = obj_str(x, "metadata.namespace");
				return idp_err_at(err, x->pos, NULL,
						  "%s %s%s%s is rendered twice, differently (by %s and by %s): one would "
						  "overwrite the other",
						  obj_str(x, "kind"), ns, *ns ? "/" : "", obj_str(x, "metadata.name"), origin(a, y),
						  origin(a, x));
			}
			dup = true;
		}
		if (!dup) {
			ids[kept] = id;
			l->items[kept++] = x;
		}
	}
	l->n = kept;
	return 0;
}

int idp_render_docs(idp_arena *a, idp_render_registry *reg, idp_doc_node *const *docs, size_t n_docs,
		    const idp_render_opts *opts_in, idp_doc_node ***objects, size_t *n, idp_err *err)
{
	idp_render_opts defaults = IDP_RENDER_OPTS_INIT;
	const idp_render_opts *opts = opts_in ? opts_in : &defaults;
	obj_list out = {0}, pending = {0};
	int rc = 0;
	for (size_t d = 0; rc == 0 && d < n_docs; d++) {
		idp_doc_node *doc = docs[d];
		const char *kind = idp_doc_map_get_str(doc, "kind");
		if (kind && strcmp(kind, "Application") == 0) {
			idp_doc_node **objs;
			size_t count;
			rc = idp_render_app(a, reg, doc, opts, &objs, &count, err);
			for (size_t i = 0; rc == 0 && i < count; i++)
				rc = route(a, reg, opts, objs[i], &out, &pending, err);
		} else if (xrd_of(reg, doc)) {
			rc = route(a, reg, opts, doc, &out, &pending, err);
		} else {
			rc = idp_err_at(err, doc->pos, "kind",
					"want an Application or a claim, found %s%s%s (idp def list shows the claim kinds)",
					kind ? kind : "no kind", kind ? " " : "", obj_str(doc, "apiVersion"));
		}
	}
	for (size_t i = 0; rc == 0 && i < pending.n; i++) {
		/* Claims that are the same object (two ApplicationClaims sharing
		 * one AppContainerClaim) are one object in a cluster: composed once. */
		bool again = false;
		for (size_t j = 0; j < i && !again; j++)
			again = idp_doc_equal(pending.items[j], pending.items[i]);
		if (again)
			continue;
		if (i == MAX_COMPOSITIONS)
			return idp_err_set(err, IDP_EINPUT, "render: more than %d claims: do the compositions compose each other?",
					   MAX_COMPOSITIONS);
		idp_compose_result res;
		rc = compose_claim(a, reg, opts, pending.items[i], &res, err);
		for (size_t j = 0; rc == 0 && j < res.n_resources; j++) {
			drop_owner(res.resources[j], res.composite);
			inherit_cluster(a, res.resources[j], pending.items[i]);
			rc = route(a, reg, opts, res.resources[j], &out, &pending, err);
		}
	}
	if (rc == 0)
		rc = check_unique(a, &out, err);
	if (rc)
		return rc;
	*objects = out.items;
	*n = out.n;
	return 0;
}

/* ---------------------------------------------------------------- file names */

static char *file_part(idp_arena *a, const char *s)
{
	char *out = idp_arena_strdup(a, *s ? s : "_");
	for (char *p = out; *p; p++) {
		char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		*p = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ? c : '_';
	}
	if (out[0] == '.')
		out[0] = '_';
	return out;
}

static char *long_name(idp_arena *a, const idp_doc_node *obj)
{
	const char *api = obj_str(obj, "apiVersion");
	const char *slash = strchr(api, '/');
	const char *ns = obj_str(obj, "metadata.namespace");
	const char *cluster = obj_str(obj, "metadata.labels[\"app.oam.dev/cluster\"]");
	char *group = slash ? idp_arena_strndup(a, api, (size_t)(slash - api)) : "core";
	return idp_arena_printf(a, "%s.%s-%s%s%s%s%s.yaml", file_part(a, obj_str(obj, "kind")), file_part(a, group),
				*cluster ? file_part(a, cluster) : "", *cluster ? "-" : "", *ns ? file_part(a, ns) : "",
				*ns ? "-" : "", file_part(a, obj_str(obj, "metadata.name")));
}

void idp_render_file_names(idp_arena *a, idp_doc_node *const *objs, size_t n, char ***out)
{
	char **names = idp_arena_alloc(a, (n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		names[i] = idp_arena_printf(a, "%s-%s.yaml", file_part(a, obj_str(objs[i], "kind")),
					    file_part(a, obj_str(objs[i], "metadata.name")));
	/* Objects whose short names collide all get the long form. */
	bool *clash = idp_arena_zalloc(a, (n + 1) * sizeof(bool));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				clash[i] = clash[j] = true;
	for (size_t i = 0; i < n; i++)
		if (clash[i])
			names[i] = long_name(a, objs[i]);
	*out = names;
}
