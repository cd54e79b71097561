/*
 * libFuzzer target for transforms and Go formatting: the input is a YAML
 * stream of a transform (or a list of them) and an input value. Every
 * transform must end in a value or an error with a message; a Format
 * string is also run with the value and a few more arguments.
 */
#include <stdint.h>
#include <stdlib.h>

#include "compose/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16 * 1024)
		return 0;
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_load(a, "fuzz.yaml", (const char *)data, size, NULL, &s, &err) != 0 || s.len == 0) {
		idp_err_clear(&err);
		idp_arena_free(a);
		return 0;
	}
	idp_doc_node *t = s.docs[0];
	idp_doc_node *v = s.len > 1 ? s.docs[1] : idp_doc_new_null(a);
	size_t n = t->kind == IDP_DOC_SEQ ? t->as.seq.len : 1;
	for (size_t i = 0; i < n; i++) {
		idp_doc_node *one = t->kind == IDP_DOC_SEQ ? t->as.seq.items[i] : t;
		idp_compose_transform_check(one, &err);
		idp_err_clear(&err);
		idp_doc_node *out = NULL;
		if (idp_compose_transform(a, one, v, &out, &err) == 0) {
			if (!out)
				abort();
			v = out;
		} else if (!err.msg || !*err.msg) {
			abort();
		}
		idp_err_clear(&err);
	}
	if (t->kind == IDP_DOC_STR) {
		const idp_doc_node *args[3] = {v, t, idp_doc_new_int(a, -7)};
		idp_buf out = IDP_BUF_INIT;
		idp_compose_sprintf(&out, t->as.str.ptr, args, 3);
		idp_buf_free(&out);
	}
	idp_arena_free(a);
	return 0;
}
