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

typedef struct idp_render_opts {
	const char *namespace;    /* NULL: the Application's, else "default" */
	const char *app_revision; /* NULL: "<app>-v1"; "" renders an empty revision */
	int cluster_major, cluster_minor;
} idp_render_opts;

#define IDP_RENDER_CLUSTER_MAJOR 1
#define IDP_RENDER_CLUSTER_MINOR 29
#define IDP_RENDER_OPTS_INIT {NULL, NULL, IDP_RENDER_CLUSTER_MAJOR, IDP_RENDER_CLUSTER_MINOR}

/* Renders app (a core.oam.dev Application) into *objects (n of them).
 * Errors name the Application's file:line:column for bad properties and
 * the definition's for template errors. */
int idp_render_app(idp_arena *a, idp_render_registry *reg, const idp_doc_node *app, const idp_render_opts *opts,
		   idp_doc_node ***objects, size_t *n, idp_err *err);

#endif
