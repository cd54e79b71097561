/* LocalRun documents (idp-local.yaml): how a service's image runs on this
 * machine without a container, as the GitOps scaffold describes it. */
#include "runtime/runtime.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 4

static void skip(idp_arena *a, idp_runtime_local_runs *out, const char *file, const char *why)
{
	out->skipped = idp_arena_grow(a, out->skipped, out->n_skipped, &out->skipped_cap, sizeof(*out->skipped));
	out->skipped[out->n_skipped++] = idp_arena_printf(a, "%s: %s", file, why);
}

/* A list of strings as a NULL-terminated argv (NULL when it is not one). */
static char **argv_of(idp_arena *a, const idp_doc_node *list)
{
	if (!list || list->kind != IDP_DOC_SEQ || list->as.seq.len == 0)
		return NULL;
	char **v = idp_arena_alloc(a, (list->as.seq.len + 1) * sizeof(*v));
	for (size_t i = 0; i < list->as.seq.len; i++) {
		const idp_doc_node *x = list->as.seq.items[i];
		if (x->kind != IDP_DOC_STR)
			return NULL;
		v[i] = idp_arena_strdup(a, x->as.str.ptr);
	}
	v[list->as.seq.len] = NULL;
	return v;
}

static const char *str_at(const idp_doc_node *n, const char *path)
{
	idp_doc_node *v;
	return idp_doc_path_get(n, path, &v, NULL) == 0 && v->kind == IDP_DOC_STR ? v->as.str.ptr : NULL;
}

static const char *parse_run(idp_arena *a, const idp_doc_node *doc, const char *dir, idp_runtime_local_run *run)
{
	memset(run, 0, sizeof(*run));
	const idp_doc_node *spec = idp_doc_map_get(doc, "spec");
	run->name = str_at(doc, "metadata.name");
	run->dir = dir;
	if (!run->name || idp_name_check_dns1123_label(run->name))
		return "metadata.name is no DNS-1123 label";
	if (!(run->command = argv_of(a, idp_doc_map_get(spec, "command"))))
		return "spec.command is no list of strings";
	const idp_doc_node *build = idp_doc_map_get(spec, "build");
	if (build && build->kind != IDP_DOC_SEQ)
		return "spec.build is no list of commands";
	run->n_build = build ? build->as.seq.len : 0;
	run->build = idp_arena_alloc(a, (run->n_build + 1) * sizeof(*run->build));
	for (size_t i = 0; i < run->n_build; i++)
		if (!(run->build[i] = argv_of(a, build->as.seq.items[i])))
			return "spec.build has a step that is no list of strings";
	const idp_doc_node *env = idp_doc_map_get(spec, "env");
	if (env && env->kind != IDP_DOC_MAP)
		return "spec.env is no map";
	for (size_t i = 0; env && i < env->as.map.len; i++) {
		const idp_doc_node *v = env->as.map.items[i].value;
		if (v->kind != IDP_DOC_STR)
			return "spec.env values are strings";
		size_t cap = run->n_env;
		run->env_keys = idp_arena_grow(a, run->env_keys, run->n_env, &cap, sizeof(*run->env_keys));
		cap = run->n_env;
		run->env_values = idp_arena_grow(a, run->env_values, run->n_env, &cap, sizeof(*run->env_values));
		run->env_keys[run->n_env] = env->as.map.items[i].key;
		run->env_values[run->n_env++] = v->as.str.ptr;
	}
	run->health_path = str_at(spec, "readinessProbe.httpGet.path");
	return NULL;
}

static void load_file(idp_arena *a, const char *dir, const char *file, idp_runtime_local_runs *out)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_load_file(a, file, NULL, &s, &err) != 0) {
		skip(a, out, file, err.msg ? err.msg : "does not load");
		idp_err_clear(&err);
		return;
	}
	for (size_t i = 0; i < s.len; i++) {
		const char *kind = idp_doc_map_get_str(s.docs[i], "kind");
		if (!kind || strcmp(kind, "LocalRun") != 0)
			continue;
		idp_runtime_local_run run;
		const char *why = parse_run(a, s.docs[i], dir, &run);
		bool twice = false;
		for (size_t k = 0; !why && k < out->n && !twice; k++)
			twice = strcmp(out->items[k].name, run.name) == 0;
		if (why || twice) {
			skip(a, out, file, why ? why : idp_arena_printf(a, "LocalRun %s is defined before", run.name));
			continue;
		}
		out->items = idp_arena_grow(a, out->items, out->n, &out->cap, sizeof(*out->items));
		out->items[out->n++] = run;
	}
}

static void walk(idp_arena *a, const char *dir, int depth, idp_runtime_local_runs *out)
{
	char **names;
	size_t n;
	if (depth > MAX_DEPTH || idp_dir_list(dir, &names, &n, NULL) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *path = idp_arena_printf(a, "%s/%s", dir, names[i]);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISREG(st.st_mode) && strcmp(names[i], "idp-local.yaml") == 0)
			load_file(a, dir, path, out);
		else if (S_ISDIR(st.st_mode) && strncmp(names[i], "build", 5) != 0 && strcmp(names[i], "node_modules") != 0)
			walk(a, path, depth + 1, out);
	}
	idp_dir_list_free(names, n);
}

void idp_runtime_local_runs_find(idp_arena *a, const char *dir, idp_runtime_local_runs *out)
{
	memset(out, 0, sizeof(*out));
	walk(a, dir, 0, out);
}
