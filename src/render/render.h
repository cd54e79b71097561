/*
 * render: an OAM Application in, Kubernetes objects out, the way KubeVela's
 * `vela dry-run` renders it: each component's CUE template evaluated with
 * its properties as `parameter` and the platform's `context`, then each
 * trait's `patch` merged into the workload and its `outputs` added, with
 * KubeVela's labels. Definitions come from a registry of definition files
 * (YAML ComponentDefinition/TraitDefinition or KubeVela .cue files).
 *
 * Ownership: registries, definitions and rendered objects belong to the
 * idp_arena they were made with. This room writes no files.
 */
#ifndef IDP_RENDER_H
#define IDP_RENDER_H

#include "doc/doc.h"

typedef struct idp_render_registry idp_render_registry;

idp_render_registry *idp_render_registry_new(idp_arena *a);
/* Loads every definition in path: a .yaml/.yml/.cue file, or a directory
 * walked recursively in sorted order. A later definition of the same kind
 * and name replaces an earlier one. In a directory, a file that does not
 * load is skipped and its error kept (idp_render_registry_skipped): an
 * Application fails only if it uses what that file defined. */
int idp_render_registry_load(idp_render_registry *reg, const char *path, idp_err *err);
/* Loads one definition file from memory (name is used in positions). */
int idp_render_registry_add(idp_render_registry *reg, const char *name, const char *data, size_t len,
			    idp_err *err);
/* Loads the catalog built into idp (catalog/ at build time, named
 * embedded:catalog/... in positions): component, trait and policy
 * definitions, and the claims' XRDs and Compositions. */
int idp_render_registry_load_builtin(idp_render_registry *reg, idp_err *err);
/* Errors of the files skipped while loading directories (borrowed; valid
 * until idp_render_registry_free). */
const idp_errs *idp_render_registry_skipped(const idp_render_registry *reg);
/* Releases what the registry holds outside its arena. */
void idp_render_registry_free(idp_render_registry *reg);
/* Number of definitions loaded. */
size_t idp_render_registry_size(const idp_render_registry *reg);
/* Compiles every definition and reports the first error (for `idp def vet`). */
int idp_render_registry_vet(idp_render_registry *reg, idp_err *err);

/* Describes definition name (a component type, else a trait) as a map
 * {name, kind, file, parameters: [...]} (see idp_cue_describe). */
int idp_render_describe(idp_render_registry *reg, const char *name, idp_doc_node **out, idp_err *err);

/* One line of `idp def list`. Strings are borrowed from the registry. */
typedef struct idp_render_def_info {
	const char *name, *kind, *description, *file;
	const char *workload; /* a component's workload, a trait's appliesToWorkloads (comma-separated), or NULL */
} idp_render_def_info;

/* The definitions, components first, then traits, then policies, each by
 * name. The array belongs to the registry's arena. */
size_t idp_render_registry_list(idp_render_registry *reg, idp_render_def_info **out);

typedef enum idp_render_compose {
	IDP_RENDER_COMPOSE_CLAIMS, /* claims stay claims (checked against their XRD) */
	IDP_RENDER_COMPOSE_INLINE  /* claims are replaced by what their Composition makes */
} idp_render_compose;

typedef struct idp_render_opts {
	const char *namespace;    /* NULL: the Application's, else "default" */
	const char *app_revision; /* NULL: "<app>-v1"; "" renders an empty revision */
	int cluster_major, cluster_minor;
	idp_render_compose compose;
	bool unwrap_objects;      /* inline: kubernetes.crossplane.io Objects -> their manifests */
} idp_render_opts;

#define IDP_RENDER_CLUSTER_MAJOR 1
#define IDP_RENDER_CLUSTER_MINOR 29
#define IDP_RENDER_CLUSTER_DEFAULT "1.29"
#define IDP_RENDER_OPTS_INIT \
	{NULL, NULL, IDP_RENDER_CLUSTER_MAJOR, IDP_RENDER_CLUSTER_MINOR, IDP_RENDER_COMPOSE_CLAIMS, false}

/* Renders app (a core.oam.dev Application) into *objects (n of them).
 * Errors name the Application's file:line:column for bad properties and
 * the definition's for template errors. */
int idp_render_app(idp_arena *a, idp_render_registry *reg, const idp_doc_node *app, const idp_render_opts *opts,
		   idp_doc_node ***objects, size_t *n, idp_err *err);

/* Renders documents: each Application into its objects, each claim
 * (a kind some loaded XRD names) as itself; then, with
 * IDP_RENDER_COMPOSE_INLINE, every claim (the Applications' included) is
 * composed and replaced by its resources, recursively, until no claim
 * remains. Order: the documents' objects in order, then the claims'
 * resources. Every claim is checked against its XRD. */
int idp_render_docs(idp_arena *a, idp_render_registry *reg, idp_doc_node *const *docs, size_t n_docs,
		    const idp_render_opts *opts, idp_doc_node ***objects, size_t *n, idp_err *err);

/* --explain: where each value of a render's output came from. */
typedef struct idp_render_explainer idp_render_explainer;

/* An explainer for objects rendered from docs with reg (call it after
 * rendering: Compositions are loaded on first use). Lives in a; docs and
 * reg must outlive it. */
idp_render_explainer *idp_render_explainer_new(idp_arena *a, idp_render_registry *reg, idp_doc_node *const *docs,
					       size_t n_docs);
/* Appends to out what produced leaf (a scalar, or an empty map or list, of
 * a rendered object) and where: "parameter image of component api
 * (app.yaml:12:14)", "default of parameter port of component webservice
 * (...)", "component webservice template: output.spec... (...)",
 * "composition C, resource R, patch 2 (FromCompositeFieldPath spec.x)
 * (...)", "default of spec.x in XRD N (...)", or the rule that made it.
 * Returns false, writing "origin unknown", when the leaf carries none. */
bool idp_render_explain(idp_render_explainer *x, const idp_doc_node *leaf, idp_buf *out);
/* The same with idp_doc_explain_fn's signature, for idp_doc_emit_yaml_explained. */
void idp_render_explain_fn(void *explainer, const idp_doc_node *leaf, idp_buf *out);

/* A file name for each object (kind-name.yaml, lower case; objects whose
 * names would collide get kind.group-[cluster-][namespace-]name.yaml), for
 * writing one file per object. Arena-owned. */
void idp_render_file_names(idp_arena *a, idp_doc_node *const *objs, size_t n, char ***out);

#endif
