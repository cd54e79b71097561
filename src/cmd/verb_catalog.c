/* idp catalog export DIR: what a real cluster needs to run the built-in
 * catalog, as plain manifests. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

static const char catalog_usage[] =
	"usage: idp catalog export DIR\n"
	"\n"
	"Writes the built-in catalog as manifests a cluster with KubeVela and Crossplane\n"
	"installs (kubectl apply -k DIR): the ComponentDefinitions, TraitDefinitions and\n"
	"PolicyDefinitions (in vela-system, where KubeVela reads system definitions), the\n"
	"claims' CompositeResourceDefinitions and Compositions, and the Crossplane Function\n"
	"package their pipelines run. One file per object and a kustomization.yaml; DIR\n"
	"is replaced as a whole (it must be empty, missing or written by idp).\n"
	"\n"
	"topology and override are KubeVela built-ins (vela-core installs them): they are\n"
	"not exported, so the cluster's own stay in place.\n";

/* The release of function-patch-and-transform whose behaviour the compose
 * room follows (docs/COMPOSE.md). */
#define PT_FUNCTION_PACKAGE "xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform:v0.10.8"
#define DEFINITIONS_NAMESPACE "vela-system"

static bool exported(const char *name)
{
	if (strncmp(name, "catalog/", 8) != 0 || strstr(name, "/examples/") || !idp_str_has_suffix(name, ".yaml"))
		return false;
	return strcmp(name, "catalog/policies/topology.yaml") != 0 && strcmp(name, "catalog/policies/override.yaml") != 0;
}

static bool is_definition(const char *kind)
{
	return kind && (strcmp(kind, "ComponentDefinition") == 0 || strcmp(kind, "TraitDefinition") == 0 ||
			strcmp(kind, "PolicyDefinition") == 0);
}

static idp_doc_node *function_package(idp_arena *a)
{
	idp_doc_node *fn = idp_doc_new_map(a), *meta = idp_doc_new_map(a), *spec = idp_doc_new_map(a);
	idp_doc_map_set(a, fn, "apiVersion", idp_doc_new_str(a, "pkg.crossplane.io/v1"));
	idp_doc_map_set(a, fn, "kind", idp_doc_new_str(a, "Function"));
	idp_doc_map_set(a, meta, "name", idp_doc_new_str(a, "function-patch-and-transform"));
	idp_doc_map_set(a, fn, "metadata", meta);
	idp_doc_map_set(a, spec, "package", idp_doc_new_str(a, PT_FUNCTION_PACKAGE));
	idp_doc_map_set(a, fn, "spec", spec);
	return fn;
}

int idp_cmd_catalog_objects(idp_arena *a, idp_doc_node ***out, size_t *out_n, idp_err *err)
{
	size_t n_files, n = 0, cap = 64;
	const idp_embedded_file *files = idp_embedded_list(&n_files);
	idp_doc_node **objs = idp_arena_alloc(a, cap * sizeof(*objs));
	objs[n++] = function_package(a);
	for (size_t i = 0; i < n_files; i++) {
		if (!exported(files[i].name))
			continue;
		idp_doc_stream s;
		int rc = idp_doc_load(a, idp_arena_printf(a, "embedded:%s", files[i].name), files[i].data, files[i].len,
				      NULL, &s, err);
		if (rc)
			return rc;
		for (size_t j = 0; j < s.len; j++) {
			idp_doc_node *d = s.docs[j], *meta = idp_doc_map_get(d, "metadata");
			if (is_definition(idp_doc_map_get_str(d, "kind")) && meta && meta->kind == IDP_DOC_MAP &&
			    !idp_doc_map_get(meta, "namespace"))
				idp_doc_map_set(a, meta, "namespace", idp_doc_new_str(a, DEFINITIONS_NAMESPACE));
			if (n == cap) {
				idp_doc_node **grown = idp_arena_alloc(a, 2 * cap * sizeof(*grown));
				memcpy(grown, objs, n * sizeof(*grown));
				objs = grown;
				cap *= 2;
			}
			objs[n++] = d;
		}
	}
	*out = objs;
	*out_n = n;
	return 0;
}

static int catalog_export(idp_arena *a, const char *dir, idp_err *err)
{
	idp_doc_node **objs;
	size_t n;
	int rc = idp_cmd_catalog_objects(a, &objs, &n, err);
	return rc ? rc : idp_cmd_write_objects_dir(a, dir, objs, n, err);
}

int idp_cmd_catalog(int argc, char **argv)
{
	bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
	if (help || argc != 3 || strcmp(argv[1], "export") != 0) {
		fputs(catalog_usage, help ? stdout : stderr);
		return help ? IDP_EXIT_OK : IDP_EXIT_INPUT;
	}
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	int rc = catalog_export(a, argv[2], &err);
	if (rc)
		idp_cmd_print_err(&err);
	idp_err_clear(&err);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}
