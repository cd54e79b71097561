/*
 * libFuzzer target for Crossplane field paths: the first line of the input
 * is a path, the rest a YAML document. The path is parsed, read, written
 * under every merge policy and expanded; nothing may crash, hang or leak,
 * and a parsed path must print back to a path that parses to the same
 * segments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(idp_arena *a, const char *path)
{
	idp_compose_segment *segs, *again;
	size_t n, m;
	idp_err err = IDP_ERR_INIT;
	if (idp_compose_path_parse(a, path, &segs, &n, &err) != 0) {
		if (!err.msg || !*err.msg)
			abort();
		idp_err_clear(&err);
		return;
	}
	idp_buf b = IDP_BUF_INIT;
	idp_compose_path_format(segs, n, &b);
	/* Fields holding brackets or quotes cannot be written back; skip them. */
	bool printable = true;
	for (size_t i = 0; i < n; i++)
		if (!segs[i].is_index && (strpbrk(segs[i].field, "[]'\"") || !*segs[i].field))
			printable = false;
	if (printable && idp_compose_path_parse(a, idp_buf_cstr(&b), &again, &m, &err) == 0) {
		if (m != n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (segs[i].is_index != again[i].is_index ||
			    (segs[i].is_index ? segs[i].index != again[i].index : strcmp(segs[i].field, again[i].field) != 0))
				abort();
	}
	idp_err_clear(&err);
	idp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16 * 1024)
		return 0;
	const char *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - (const char *)data) : size;
	idp_arena *a = idp_arena_new();
	char *path = idp_arena_strndup(a, (const char *)data, plen);
	if (strlen(path) != plen) {
		idp_arena_free(a);
		return 0;
	}
	check_round_trip(a, path);
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	const char *rest = nl ? nl + 1 : "";
	size_t rlen = nl ? size - plen - 1 : 0;
	idp_doc_node *root = NULL;
	if (idp_doc_load(a, "fuzz.yaml", rest, rlen, NULL, &s, &err) == 0 && s.len > 0 && s.docs[0]->kind == IDP_DOC_MAP)
		root = s.docs[0];
	idp_err_clear(&err);
	if (!root)
		root = idp_doc_new_map(a);
	const idp_doc_node *got;
	if (idp_compose_path_get(a, root, path, &got, &err) == 0 && !got)
		abort();
	idp_err_clear(&err);
	char **paths;
	size_t n;
	idp_compose_path_expand(a, root, path, &paths, &n, &err);
	idp_err_clear(&err);
	idp_doc_node *value = s.len > 1 ? s.docs[1] : idp_doc_new_str(a, "v");
	for (int mode = IDP_COMPOSE_REPLACE; mode <= IDP_COMPOSE_FORCE_MERGE_OBJECTS_APPEND_ARRAYS; mode++) {
		idp_doc_node *copy = idp_doc_copy(a, root);
		idp_compose_path_set(a, copy, path, value, (idp_compose_merge)mode, &err);
		idp_err_clear(&err);
	}
	idp_arena_free(a);
	return 0;
}
