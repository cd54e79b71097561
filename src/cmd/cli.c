/* What the verbs share: exit codes, error printing, and the -f inputs. */
#include "cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EMBEDDED_PREFIX "embedded:"

int idp_cmd_exit_code(int rc)
{
	if (rc == 0)
		return IDP_EXIT_OK;
	return rc == IDP_ERUNTIME ? IDP_EXIT_RUNTIME : IDP_EXIT_INPUT;
}

void idp_cmd_print_err(const idp_err *err)
{
	idp_buf line = IDP_BUF_INIT;
	if (!err->file)
		idp_buf_puts(&line, "idp: ");
	idp_err_format(err, &line);
	idp_buf_putc(&line, '\n');
	fputs(line.ptr, stderr);
	idp_buf_free(&line);
}

static void inputs_push(idp_cmd_inputs *in, char *name, const char *data, size_t len)
{
	if (in->len == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 8;
		in->items = idp_xrealloc(in->items, in->cap * sizeof(*in->items));
	}
	in->items[in->len++] = (idp_cmd_input){name, data, len};
}

static bool is_manifest_file(const char *name)
{
	return idp_str_has_suffix(name, ".yaml") || idp_str_has_suffix(name, ".yml") ||
	       idp_str_has_suffix(name, ".json");
}

static int walk_dir(idp_cmd_inputs *in, const char *dir, unsigned depth, idp_err *err)
{
	if (depth > 64)
		return idp_err_set(err, IDP_EINPUT, "%s: directories nest too deep", dir);
	char **names;
	size_t n;
	if (idp_dir_list(dir, &names, &n, err))
		return IDP_EINPUT;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		idp_buf path = IDP_BUF_INIT;
		idp_buf_printf(&path, "%s%s%s", dir, idp_str_has_suffix(dir, "/") ? "" : "/", names[i]);
		struct stat st;
		if (rc == 0 && stat(path.ptr, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = walk_dir(in, path.ptr, depth + 1, err);
			else if (S_ISREG(st.st_mode) && is_manifest_file(names[i])) {
				inputs_push(in, idp_buf_detach(&path), NULL, 0);
			}
		}
		idp_buf_free(&path);
	}
	idp_dir_list_free(names, n);
	return rc;
}

static int add_embedded(idp_cmd_inputs *in, const char *name, idp_err *err)
{
	size_t n;
	const idp_embedded_file *files = idp_embedded_list(&n);
	size_t before = in->len;
	for (size_t i = 0; i < n; i++) {
		/* "embedded:" is every manifest (the service templates and the SDK
		 * they vendor are source code, not manifests); "embedded:examples/"
		 * a folder; else one file. */
		bool match = (*name == '\0' && !idp_str_has_prefix(files[i].name, "templates/") &&
			      !idp_str_has_prefix(files[i].name, "sdk/")) ||
			     strcmp(files[i].name, name) == 0 ||
			     (idp_str_has_suffix(name, "/") && idp_str_has_prefix(files[i].name, name));
		if (match) {
			idp_buf label = IDP_BUF_INIT;
			idp_buf_printf(&label, EMBEDDED_PREFIX "%s", files[i].name);
			inputs_push(in, idp_buf_detach(&label), files[i].data, files[i].len);
		}
	}
	if (in->len == before)
		return idp_err_set(err, IDP_EINPUT, "no embedded file named \"%s\" (see `idp examples`)", name);
	return 0;
}

int idp_cmd_inputs_add(idp_cmd_inputs *in, const char *arg, idp_err *err)
{
	if (idp_str_has_prefix(arg, EMBEDDED_PREFIX))
		return add_embedded(in, arg + strlen(EMBEDDED_PREFIX), err);
	struct stat st;
	if (strcmp(arg, "-") != 0 && stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t before = in->len;
		int rc = walk_dir(in, arg, 0, err);
		if (rc == 0 && in->len == before)
			return idp_err_set(err, IDP_EINPUT, "%s: no .yaml, .yml or .json files in this directory", arg);
		return rc;
	}
	inputs_push(in, idp_xstrdup(arg), NULL, 0);
	return 0;
}

void idp_cmd_inputs_free(idp_cmd_inputs *in)
{
	for (size_t i = 0; i < in->len; i++)
		free(in->items[i].name);
	free(in->items);
	*in = (idp_cmd_inputs){0};
}

int idp_cmd_input_load(idp_arena *a, const idp_cmd_input *input, idp_doc_stream *out, idp_err *err)
{
	if (input->data)
		return idp_doc_load(a, input->name, input->data, input->len, NULL, out, err);
	return idp_doc_load_file(a, input->name, NULL, out, err);
}

void idp_cmd_report_rate(const char *what, const char *unit, long n, const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	fprintf(stderr, "%s: %ld %s in %.3f s: %.0f %s/s, %.1f us each\n", what, n, unit, secs, (double)n / secs, unit,
		secs * 1e6 / (double)n);
}

int idp_cmd_emit_docs(idp_arena *a, idp_doc_node **docs, size_t n, bool json, idp_buf *out, idp_err *err)
{
	if (!json)
		return idp_doc_emit_yaml(docs, n, out, err);
	const idp_doc_node *node = n == 1 ? docs[0] : NULL;
	if (n != 1) { /* as kubectl prints several objects */
		idp_doc_node *list = idp_doc_new_map(a), *items = idp_doc_new_seq(a);
		idp_doc_map_set(a, list, "apiVersion", idp_doc_new_str(a, "v1"));
		idp_doc_map_set(a, list, "kind", idp_doc_new_str(a, "List"));
		for (size_t i = 0; i < n; i++)
			idp_doc_seq_push(a, items, docs[i]);
		idp_doc_map_set(a, list, "items", items);
		node = list;
	}
	int rc = idp_doc_emit_json(node, IDP_DOC_JSON_PRETTY, out, err);
	if (rc == 0)
		idp_buf_putc(out, '\n');
	return rc;
}
