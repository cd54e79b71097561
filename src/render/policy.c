/* Policies: KubeVela's topology and override, and the deploy steps that
 * combine them. Policies of any other type render objects (render.c). */
#include "render/render_private.h"

#include <fnmatch.h>
#include <string.h>

#define TOPOLOGY "topology"
#define OVERRIDE "override"

int render_policies(render_ctx *r, render_policy **out, size_t *n, idp_err *err)
{
	*out = NULL;
	*n = 0;
	idp_doc_node *list;
	if (idp_doc_path_get(r->app, "spec.policies", &list, NULL))
		return 0;
	if (list->kind != IDP_DOC_SEQ)
		return idp_err_at(err, list->pos, "spec.policies", "policies must be a list");
	render_policy *pols = idp_arena_zalloc(r->a, (list->as.seq.len + 1) * sizeof(*pols));
	for (size_t i = 0; i < list->as.seq.len; i++) {
		const idp_doc_node *p = list->as.seq.items[i];
		char *path = idp_arena_printf(r->a, "spec.policies[%zu]", i);
		if (p->kind != IDP_DOC_MAP)
			return idp_err_at(err, p->pos, path, "a policy must be a map");
		const char *name = idp_doc_map_get_str(p, "name");
		if (!name)
			return idp_err_at(err, p->pos, idp_arena_printf(r->a, "%s.name", path), "a policy needs a name");
		for (size_t j = 0; j < i; j++)
			if (strcmp(pols[j].name, name) == 0)
				return idp_err_at(err, idp_doc_map_get(p, "name")->pos, idp_arena_printf(r->a, "%s.name", path),
						  "duplicate policy name \"%s\" (first at line %u)", name,
						  idp_doc_map_get(pols[j].node, "name")->pos.line);
		const render_def *def = render_find_def(r, idp_doc_map_get(p, "type"), RENDER_POLICY,
							idp_arena_printf(r->a, "%s.type", path), err);
		if (!def)
			return IDP_EINPUT;
		pols[i] = (render_policy){p, name, def->name, path, def, idp_doc_map_get(p, "properties")};
		/* Checked here, so that a bad topology or override fails even when
		 * no deploy step uses it. */
		idp_cue_program *prog;
		int rc = render_prepare(r, def, pols[i].props, render_key_position(p, "properties"),
					idp_arena_printf(r->a, "%s.properties", path), idp_doc_new_map(r->a), &prog, err);
		if (rc)
			return rc;
	}
	*out = pols;
	*n = list->as.seq.len;
	return 0;
}

/* ---------------------------------------------------------------- override */

/* KubeVela merges with mergo.WithOverride, which never writes a false, 0
 * or "" over a value (so an override could not turn a flag off); here
 * every value of the patch wins, and lists are replaced. */
static idp_doc_node *merge_properties(render_ctx *r, const idp_doc_node *base, const idp_doc_node *patch)
{
	idp_doc_node *out = base ? idp_doc_copy(r->a, base) : idp_doc_new_map(r->a);
	return patch ? idp_doc_merge(r->a, out, patch, IDP_DOC_MERGE_DEFAULT) : out;
}

/* A trait list patched as KubeVela's MergeComponent does: same type merges
 * its properties (or is removed by `disable: true`), a new type is added. */
static idp_doc_node *merge_traits(render_ctx *r, const idp_doc_node *base, const idp_doc_node *patch)
{
	idp_doc_node *out = idp_doc_new_seq(r->a);
	for (size_t i = 0; base && base->kind == IDP_DOC_SEQ && i < base->as.seq.len; i++)
		idp_doc_seq_push(r->a, out, idp_doc_copy(r->a, base->as.seq.items[i]));
	for (size_t i = 0; patch && patch->kind == IDP_DOC_SEQ && i < patch->as.seq.len; i++) {
		const idp_doc_node *pt = patch->as.seq.items[i];
		const char *type = idp_doc_map_get_str(pt, "type");
		const idp_doc_node *disable = idp_doc_map_get(pt, "disable");
		bool off = disable && disable->kind == IDP_DOC_BOOL && disable->as.b;
		size_t hit = out->as.seq.len;
		for (size_t j = 0; type && j < out->as.seq.len; j++) {
			const char *have = idp_doc_map_get_str(out->as.seq.items[j], "type");
			if (have && strcmp(have, type) == 0)
				hit = j;
		}
		if (hit < out->as.seq.len && off) {
			memmove(&out->as.seq.items[hit], &out->as.seq.items[hit + 1],
				(out->as.seq.len - hit - 1) * sizeof(idp_doc_node *));
			out->as.seq.len--;
		} else if (hit < out->as.seq.len) {
			idp_doc_node *t = out->as.seq.items[hit];
			idp_doc_map_set(r->a, t, "properties",
					merge_properties(r, idp_doc_map_get(t, "properties"), idp_doc_map_get(pt, "properties")));
		} else if (!off) {
			idp_doc_node *t = idp_doc_copy(r->a, pt);
			idp_doc_map_delete(t, "disable");
			idp_doc_seq_push(r->a, out, t);
		}
	}
	return out;
}

static idp_doc_node *merge_component(render_ctx *r, const idp_doc_node *base, const idp_doc_node *patch)
{
	idp_doc_node *c = idp_doc_copy(r->a, base);
	const char *btype = idp_doc_map_get_str(base, "type"), *ptype = idp_doc_map_get_str(patch, "type");
	if (ptype && btype && strcmp(ptype, btype) != 0) { /* another type: the patch replaces the component */
		idp_doc_map_set(r->a, c, "type", idp_doc_copy(r->a, idp_doc_map_get(patch, "type")));
		idp_doc_map_set(r->a, c, "properties", merge_properties(r, NULL, idp_doc_map_get(patch, "properties")));
		idp_doc_map_set(r->a, c, "traits", merge_traits(r, NULL, idp_doc_map_get(patch, "traits")));
		return c;
	}
	if (idp_doc_map_get(patch, "properties"))
		idp_doc_map_set(r->a, c, "properties",
				merge_properties(r, idp_doc_map_get(base, "properties"), idp_doc_map_get(patch, "properties")));
	if (idp_doc_map_get(patch, "traits"))
		idp_doc_map_set(r->a, c, "traits",
				merge_traits(r, idp_doc_map_get(base, "traits"), idp_doc_map_get(patch, "traits")));
	return c;
}

typedef struct comp_list {
	render_comp *items;
	size_t n, cap;
} comp_list;

static void comp_list_push(render_ctx *r, comp_list *l, render_comp c)
{
	l->items = idp_arena_grow(r->a, l->items, l->n, &l->cap, sizeof(*l->items));
	l->items[l->n++] = c;
}

/* One override policy applied to comps. A name is matched whole, with `*`
 * as a wildcard (KubeVela turns it into an unanchored regular expression,
 * so `api` also patched `my-api-v2`). */
static int apply_override(render_ctx *r, const render_policy *p, comp_list *comps, idp_err *err)
{
	const idp_doc_node *patches = idp_doc_map_get(p->props, "components");
	for (size_t i = 0; patches && patches->kind == IDP_DOC_SEQ && i < patches->as.seq.len; i++) {
		const idp_doc_node *pc = patches->as.seq.items[i];
		const char *pattern = idp_doc_map_get_str(pc, "name"), *type = idp_doc_map_get_str(pc, "type");
		bool matched = false;
		for (size_t j = 0; j < comps->n; j++) {
			const char *name = idp_doc_map_get_str(comps->items[j].node, "name");
			const char *ctype = idp_doc_map_get_str(comps->items[j].node, "type");
			bool hit = pattern ? fnmatch(pattern, name, 0) == 0 : !type || (ctype && strcmp(type, ctype) == 0);
			if (!hit)
				continue;
			matched = true;
			comps->items[j].node = merge_component(r, comps->items[j].node, pc);
		}
		if (matched || !pattern)
			continue;
		char *ppath = idp_arena_printf(r->a, "%s.properties.components[%zu]", p->path, i);
		if (strchr(pattern, '*') || idp_name_check_dns1123_label(pattern))
			return idp_err_at(err, idp_doc_map_get(pc, "name")->pos, idp_arena_printf(r->a, "%s.name", ppath),
					  "override policy %s: \"%s\" matches no component", p->name, pattern);
		if (!type)
			return idp_err_at(err, idp_doc_map_get(pc, "name")->pos, idp_arena_printf(r->a, "%s.name", ppath),
					  "override policy %s: \"%s\" matches no component, and a new one needs a type",
					  p->name, pattern);
		idp_doc_node *added = idp_doc_new_map(r->a);
		idp_doc_map_set(r->a, added, "name", idp_doc_copy(r->a, idp_doc_map_get(pc, "name")));
		idp_doc_map_set(r->a, added, "type", idp_doc_copy(r->a, idp_doc_map_get(pc, "type")));
		idp_doc_map_set(r->a, added, "properties", merge_properties(r, NULL, idp_doc_map_get(pc, "properties")));
		idp_doc_map_set(r->a, added, "traits", merge_traits(r, NULL, idp_doc_map_get(pc, "traits")));
		added->pos = pc->pos;
		comp_list_push(r, comps, (render_comp){added, ppath});
	}
	const idp_doc_node *selector = idp_doc_map_get(p->props, "selector");
	if (!selector || selector->kind != IDP_DOC_SEQ)
		return 0;
	comp_list kept = {0};
	for (size_t i = 0; i < selector->as.seq.len; i++) {
		const idp_doc_node *want = selector->as.seq.items[i];
		size_t j = 0;
		while (j < comps->n && strcmp(idp_doc_map_get_str(comps->items[j].node, "name"), want->as.str.ptr) != 0)
			j++;
		if (j == comps->n) { /* KubeVela drops unknown names silently; a typo would deploy nothing */
			const char **names = idp_arena_alloc(r->a, (comps->n + 1) * sizeof(char *));
			for (size_t k = 0; k < comps->n; k++)
				names[k] = idp_doc_map_get_str(comps->items[k].node, "name");
			const char *near = idp_str_closest(want->as.str.ptr, names, comps->n);
			return idp_err_at(err, want->pos, idp_arena_printf(r->a, "%s.properties.selector[%zu]", p->path, i),
					  "override policy %s selects \"%s\", which is no component%s%s%s", p->name,
					  want->as.str.ptr, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
		}
	}
	/* The selected components keep the Application's order (as KubeVela's
	 * FilterComponents). */
	for (size_t j = 0; j < comps->n; j++)
		for (size_t i = 0; i < selector->as.seq.len; i++)
			if (strcmp(idp_doc_map_get_str(comps->items[j].node, "name"), selector->as.seq.items[i]->as.str.ptr) == 0) {
				comp_list_push(r, &kept, comps->items[j]);
				break;
			}
	*comps = kept;
	return 0;
}

/* ---------------------------------------------------------------- topology */

typedef struct dep_list {
	render_deployment *items;
	size_t n, cap;
} dep_list;

static void dep_push(render_ctx *r, dep_list *l, render_deployment d)
{
	l->items = idp_arena_grow(r->a, l->items, l->n, &l->cap, sizeof(*l->items));
	l->items[l->n++] = d;
}

/* The components after every override in overrides, in order. */
static int overridden(render_ctx *r, const render_policy *const *overrides, size_t n, comp_list *out, idp_err *err)
{
	idp_doc_node *comps;
	idp_doc_path_get(r->app, "spec.components", &comps, NULL);
	*out = (comp_list){0};
	for (size_t i = 0; i < comps->as.seq.len; i++)
		comp_list_push(r, out, (render_comp){comps->as.seq.items[i],
							idp_arena_printf(r->a, "spec.components[%zu]", i)});
	for (size_t i = 0; i < n; i++) {
		int rc = apply_override(r, overrides[i], out, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* A topology's placements: each cluster it names (the local one is
 * "local"), in its namespace. A label selector needs a live cluster
 * registry, which a render does not have. */
static int add_topology(render_ctx *r, const render_policy *t, const comp_list *comps, dep_list *deps, idp_err *err)
{
	const char *ns = idp_doc_map_get_str(t->props, "namespace");
	if (ns && idp_name_check_dns1123_label(ns))
		return idp_err_at(err, idp_doc_map_get(t->props, "namespace")->pos,
				  idp_arena_printf(r->a, "%s.properties.namespace", t->path), "invalid namespace \"%s\": %s", ns,
				  idp_name_check_dns1123_label(ns));
	const idp_doc_node *selector = idp_doc_map_get(t->props, "clusterLabelSelector");
	if (selector && selector->kind == IDP_DOC_MAP && selector->as.map.len)
		return idp_err_at(err, selector->pos, idp_arena_printf(r->a, "%s.properties.clusterLabelSelector", t->path),
				  "topology %s: a cluster label selector cannot be resolved when rendering; list the "
				  "clusters in clusters",
				  t->name);
	const idp_doc_node *clusters = idp_doc_map_get(t->props, "clusters");
	size_t n = clusters && clusters->kind == IDP_DOC_SEQ ? clusters->as.seq.len : 0;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		if (n && clusters->as.seq.items[i]->kind != IDP_DOC_STR)
			return idp_err_at(err, clusters->as.seq.items[i]->pos,
					  idp_arena_printf(r->a, "%s.properties.clusters[%zu]", t->path, i),
					  "a cluster name must be a string");
		const char *cluster = n ? clusters->as.seq.items[i]->as.str.ptr : "local";
		if (strcmp(cluster, "local") != 0 && idp_name_check_dns1123_subdomain(cluster))
			return idp_err_at(err, clusters->as.seq.items[i]->pos,
					  idp_arena_printf(r->a, "%s.properties.clusters[%zu]", t->path, i),
					  "invalid cluster name \"%s\": %s", cluster, idp_name_check_dns1123_subdomain(cluster));
		const idp_doc_node *ns_node = idp_doc_map_get(t->props, "namespace");
		idp_pos ns_pos = ns_node ? ns_node->pos : (idp_pos){0};
		idp_pos cluster_pos = n ? clusters->as.seq.items[i]->pos : (idp_pos){0};
		dep_push(r, deps, (render_deployment){ns, strcmp(cluster, "local") == 0 ? NULL : cluster, comps->items,
						      comps->n, ns_pos, cluster_pos});
	}
	return 0;
}

static const render_policy *policy_named(const render_policy *pols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(pols[i].name, name) == 0)
			return &pols[i];
	return NULL;
}

/* One deploy step: its topologies (none: the local cluster) with its
 * overrides applied. */
static int add_step(render_ctx *r, const render_policy *const *picked, size_t n_picked, dep_list *deps, idp_err *err)
{
	const render_policy **overrides = idp_arena_alloc(r->a, (n_picked + 1) * sizeof(*overrides));
	size_t n_over = 0, n_topo = 0;
	for (size_t i = 0; i < n_picked; i++)
		if (strcmp(picked[i]->type, OVERRIDE) == 0)
			overrides[n_over++] = picked[i];
	comp_list comps;
	int rc = overridden(r, overrides, n_over, &comps, err);
	for (size_t i = 0; rc == 0 && i < n_picked; i++)
		if (strcmp(picked[i]->type, TOPOLOGY) == 0 && ++n_topo)
			rc = add_topology(r, picked[i], &comps, deps, err);
	if (rc == 0 && n_topo == 0)
		dep_push(r, deps, (render_deployment){NULL, NULL, comps.items, comps.n, {0}, {0}});
	return rc;
}

/* The steps of spec.workflow of type deploy, each with its policies. */
static int workflow_steps(render_ctx *r, const render_policy *pols, size_t n_pols, dep_list *deps, bool *any,
			  idp_err *err)
{
	*any = false;
	idp_doc_node *steps;
	if (idp_doc_path_get(r->app, "spec.workflow.steps", &steps, NULL) || steps->kind != IDP_DOC_SEQ)
		return 0;
	for (size_t i = 0; i < steps->as.seq.len; i++) {
		const idp_doc_node *step = steps->as.seq.items[i];
		const char *type = idp_doc_map_get_str(step, "type");
		if (!type || strcmp(type, "deploy") != 0)
			continue;
		*any = true;
		const idp_doc_node *names = idp_doc_map_get(idp_doc_map_get(step, "properties"), "policies");
		size_t n = names && names->kind == IDP_DOC_SEQ ? names->as.seq.len : 0;
		const render_policy **picked = idp_arena_alloc(r->a, (n + 1) * sizeof(*picked));
		for (size_t j = 0; j < n; j++) {
			const idp_doc_node *nm = names->as.seq.items[j];
			picked[j] = nm->kind == IDP_DOC_STR ? policy_named(pols, n_pols, nm->as.str.ptr) : NULL;
			if (!picked[j])
				return idp_err_at(err, nm->pos,
						  idp_arena_printf(r->a, "spec.workflow.steps[%zu].properties.policies[%zu]", i, j),
						  "deploy step uses policy \"%s\", which the Application does not define",
						  nm->kind == IDP_DOC_STR ? nm->as.str.ptr : "?");
		}
		int rc = add_step(r, picked, n, deps, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* As KubeVela's controller: the workflow's deploy steps; without any, one
 * step per topology policy with every override policy (or one step with
 * the overrides when there is no topology). */
int render_plan(render_ctx *r, const render_policy *pols, size_t n_pols, render_deployment **out, size_t *n,
		idp_err *err)
{
	dep_list deps = {0};
	bool any;
	int rc = workflow_steps(r, pols, n_pols, &deps, &any, err);
	if (rc == 0 && !any) {
		const render_policy **overrides = idp_arena_alloc(r->a, (n_pols + 2) * sizeof(*overrides));
		size_t n_over = 0;
		for (size_t i = 0; i < n_pols; i++)
			if (strcmp(pols[i].type, OVERRIDE) == 0)
				overrides[n_over++] = &pols[i];
		bool topo = false;
		for (size_t i = 0; rc == 0 && i < n_pols; i++) {
			if (strcmp(pols[i].type, TOPOLOGY) != 0)
				continue;
			topo = true;
			overrides[n_over] = &pols[i];
			rc = add_step(r, overrides, n_over + 1, &deps, err);
		}
		if (rc == 0 && !topo)
			rc = add_step(r, overrides, n_over, &deps, err);
	}
	*out = deps.items;
	*n = deps.n;
	return rc;
}
