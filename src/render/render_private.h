/* What the render room's files share. */
#ifndef IDP_RENDER_PRIVATE_H
#define IDP_RENDER_PRIVATE_H

#include "cue/cue.h"
#include "render/render.h"

typedef enum render_kind { RENDER_COMPONENT, RENDER_TRAIT, RENDER_POLICY } render_kind;

typedef struct render_def {
	const char *name;
	render_kind kind;
	const char *file;   /* where the definition was read from */
	const char *src;    /* the CUE source */
	size_t len;
	const char *prefix; /* "" for a YAML template, "template." for a .cue definition */
	uint32_t line_off, col_off; /* where src starts in file (YAML block scalar) */
	idp_cue_program *compiled;  /* parsed once; each render instantiates it */
	idp_cue_program *probe;     /* an unfilled instance, evaluated once, to check properties against */
	const char *description;    /* definition.oam.dev/description, or NULL */
	const char *workload;       /* component: its workload as `plural.group` (services.serving.knative.dev), or NULL */
	const char **applies_to;    /* trait: appliesToWorkloads (NULL: everything) */
	size_t n_applies_to;
} render_def;

/* A Crossplane XRD or Composition from a definitions directory. */
typedef struct render_doc_list {
	const idp_doc_node **items;
	size_t n, cap;
} render_doc_list;

struct idp_render_registry {
	idp_arena *a;
	render_def *defs;
	size_t n, cap;
	idp_errs skipped; /* files in a directory that did not load */
	render_doc_list xrds, compositions;
	bool lazy;          /* loading the built-in catalog: compile and check on first use */
	render_doc_list checked; /* compositions checked so far */
	const idp_embedded_file **deferred; /* built-in Composition files not parsed yet */
	size_t n_deferred;
};

/* The definition, compiled (a built-in one is compiled on first use), or
 * NULL. */
const render_def *render_registry_find(const idp_render_registry *reg, const char *name, render_kind kind);
/* Compiles def if it is not yet (built-in definitions are compiled lazily). */
int render_def_compile(const idp_render_registry *reg, const render_def *def, idp_err *err);
/* "component", "trait" or "policy". */
const char *render_kind_name(render_kind kind);
/* The XRD whose claim or composite kind is apiVersion's group + kind, or NULL. */
const idp_doc_node *render_registry_xrd(const idp_render_registry *reg, const char *api_version, const char *kind);
/* The Composition an XR (made from xrd) selects: enforced, compositionRef,
 * compositionSelector, the XRD's default, else the only one for its kind. */
int render_registry_composition(idp_render_registry *reg, const idp_doc_node *xrd, const idp_doc_node *xr,
				const idp_doc_node **out, idp_err *err);

/* One component as it will be rendered: from the Application, or as an
 * override policy patched or added it. */
typedef struct render_comp {
	const idp_doc_node *node; /* {name, type, properties, traits} */
	const char *path;         /* where errors point: spec.components[i] */
} render_comp;

/* One place the Application is deployed to: a topology (or the default),
 * with the components as its override policies leave them. */
typedef struct render_deployment {
	const char *namespace; /* NULL: the Application's */
	const char *cluster;   /* NULL: the local cluster */
	render_comp *comps;
	size_t n_comps;
	idp_pos namespace_pos, cluster_pos; /* where the topology names them */
} render_deployment;

/* A policy of the Application, checked against its definition. */
typedef struct render_policy {
	const idp_doc_node *node;
	const char *name, *type, *path;
	const render_def *def;
	const idp_doc_node *props; /* may be NULL */
} render_policy;

typedef struct render_ctx {
	idp_arena *a;
	idp_render_registry *reg;
	const idp_render_opts *opts;
	const idp_doc_node *app;
	const char *app_name;
	const char *app_namespace; /* -n, else the Application's, else default */
	const char *namespace;     /* this deployment's */
	const char *revision;
	/* Where each of them comes from (idp render --explain). */
	idp_pos app_name_pos, app_namespace_pos, namespace_pos, revision_pos;
	idp_doc_node **objects;
	size_t n, cap;
} render_ctx;

/* The definition of type_node's type, or NULL and an error with a "did you
 * mean" when there is none. */
const render_def *render_find_def(render_ctx *r, const idp_doc_node *type_node, render_kind kind, const char *path,
				  idp_err *err);
/* Checks props against def's parameters (positions in the Application)
 * and evaluates def with them and context; *out is ready to export. */
int render_prepare(render_ctx *r, const render_def *def, const idp_doc_node *props, idp_pos props_pos,
		   const char *props_path, idp_doc_node *context, idp_cue_program **out, idp_err *err);
/* Where key is written in map, or map's own position. */
idp_pos render_key_position(const idp_doc_node *map, const char *key);

/* policy.c: the Application's policies, and the deployments its topology
 * and override policies (and workflow deploy steps) make. */
int render_policies(render_ctx *r, render_policy **out, size_t *n, idp_err *err);
int render_plan(render_ctx *r, const render_policy *pols, size_t n_pols, render_deployment **out, size_t *n,
		idp_err *err);

#endif
