/*
 * libFuzzer target for the doc room: idp_doc_load on arbitrary bytes.
 *
 * For every input that loads, it checks the canonical-format properties:
 *   1. the emitted YAML loads again (abort if not);
 *   2. fmt(fmt(x)) == fmt(x): emitting the reloaded documents gives
 *      byte-identical text (abort if not);
 *   3. each reloaded document is idp_doc_equal to the original one, unless
 *      the document holds a NaN (NaN != NaN) (abort if not);
 * and it emits JSON for each document (which may fail for .inf/.nan: fine).
 * Memory errors, leaks and undefined behaviour are the sanitizers' job.
 *
 * Build: meson setup ... -Dfuzz=true (clang only); run: tests/fuzz/run.sh.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "doc/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Caps for the first load: small, so one input stays fast. */
#define FUZZ_MAX_BYTES ((size_t)1 << 20)
#define FUZZ_MAX_ALIAS_NODES 10000
#define FUZZ_MAX_DEPTH 64

static bool node_has_nan(const idp_doc_node *n, uint32_t depth)
{
	if (n == NULL || depth > 10000)
		return false;
	switch (n->kind) {
	case IDP_DOC_FLOAT:
		return isnan(n->as.f);
	case IDP_DOC_MAP:
		for (size_t i = 0; i < n->as.map.len; i++)
			if (node_has_nan(n->as.map.items[i].value, depth + 1))
				return true;
		return false;
	case IDP_DOC_SEQ:
		for (size_t i = 0; i < n->as.seq.len; i++)
			if (node_has_nan(n->as.seq.items[i], depth + 1))
				return true;
		return false;
	default:
		return false;
	}
}

/* Prints what went wrong, with the texts involved, and aborts so that
 * libFuzzer records the input as a crash. */
static void fail(const char *what, const idp_err *err, const idp_buf *a, const idp_buf *b)
{
	fprintf(stderr, "fuzz_doc_load: %s\n", what);
	if (err != NULL && idp_err_is_set(err)) {
		idp_buf m = IDP_BUF_INIT;
		idp_err_format(err, &m);
		fprintf(stderr, "  error: %s\n", idp_buf_cstr(&m));
		idp_buf_free(&m);
	}
	if (a != NULL)
		fprintf(stderr, "--- first emission (%zu bytes) ---\n%.*s\n", a->len,
			(int)(a->len > 4096 ? 4096 : a->len), a->ptr ? a->ptr : "");
	if (b != NULL)
		fprintf(stderr, "--- second emission (%zu bytes) ---\n%.*s\n", b->len,
			(int)(b->len > 4096 ? 4096 : b->len), b->ptr ? b->ptr : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idp_doc_load_opts opts = {FUZZ_MAX_BYTES, FUZZ_MAX_ALIAS_NODES, FUZZ_MAX_DEPTH};
	idp_arena *a1 = idp_arena_new();
	idp_doc_stream s1 = {0};
	idp_err err = IDP_ERR_INIT;

	if (idp_doc_load(a1, "fuzz.yaml", (const char *)data, size, &opts, &s1, &err) != 0) {
		/* Rejected input: the error must say why. */
		if (!idp_err_is_set(&err) || err.msg == NULL)
			fail("load failed without an error message", NULL, NULL, NULL);
		idp_err_clear(&err);
		idp_arena_free(a1);
		return 0;
	}
	if (idp_err_is_set(&err))
		fail("load succeeded but left an error set", &err, NULL, NULL);

	idp_buf y1 = IDP_BUF_INIT;
	if (idp_doc_emit_yaml(s1.docs, s1.len, &y1, &err) != 0)
		fail("idp_doc_emit_yaml failed on a loaded stream", &err, &y1, NULL);

	/* The emitted text holds no aliases and no more nesting than the input,
	 * but alias expansion can make it much larger than the input. */
	idp_doc_load_opts opts2 = {y1.len + 1, FUZZ_MAX_ALIAS_NODES, FUZZ_MAX_DEPTH};
	idp_arena *a2 = idp_arena_new();
	idp_doc_stream s2 = {0};
	if (idp_doc_load(a2, "emitted.yaml", y1.ptr ? y1.ptr : "", y1.len, &opts2, &s2, &err) != 0)
		fail("the emitted YAML does not load", &err, &y1, NULL);
	if (s2.len != s1.len) {
		fprintf(stderr, "document count %zu != %zu\n", s2.len, s1.len);
		fail("the emitted YAML has another number of documents", NULL, &y1, NULL);
	}

	idp_buf y2 = IDP_BUF_INIT;
	if (idp_doc_emit_yaml(s2.docs, s2.len, &y2, &err) != 0)
		fail("idp_doc_emit_yaml failed on the reloaded stream", &err, &y1, NULL);
	if (y1.len != y2.len || (y1.len > 0 && memcmp(y1.ptr, y2.ptr, y1.len) != 0))
		fail("fmt(fmt(x)) != fmt(x)", NULL, &y1, &y2);

	for (size_t i = 0; i < s1.len; i++) {
		if (node_has_nan(s1.docs[i], 0))
			continue;
		if (!idp_doc_equal(s1.docs[i], s2.docs[i])) {
			fprintf(stderr, "document %zu differs after a round trip\n", i);
			fail("load(emit(x)) != x", NULL, &y1, &y2);
		}
	}

	idp_buf j = IDP_BUF_INIT;
	for (size_t i = 0; i < s1.len; i++) {
		idp_buf_clear(&j);
		if (idp_doc_emit_json(s1.docs[i], (i & 1) ? IDP_DOC_JSON_PRETTY : IDP_DOC_JSON_COMPACT,
				      &j, &err) != 0) {
			if (!idp_err_is_set(&err))
				fail("idp_doc_emit_json failed without an error", NULL, &y1, NULL);
			idp_err_clear(&err);
		}
	}

	idp_buf_free(&j);
	idp_buf_free(&y2);
	idp_buf_free(&y1);
	idp_err_clear(&err);
	idp_arena_free(a2);
	idp_arena_free(a1);
	return 0;
}
