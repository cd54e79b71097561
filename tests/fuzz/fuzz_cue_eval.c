/*
 * libFuzzer target for the cue room: compile and export arbitrary text.
 * Any input must end in a result or a clean error: no crash, no hang
 * (evaluation is capped in steps and depth), no leak. The exported value,
 * when there is one, must be emittable as YAML.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cue/cue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_cue_program *p;
	idp_doc_node *out;
	if (idp_cue_compile(a, "fuzz.cue", (const char *)data, size, &p, &err) == 0 &&
	    idp_cue_export(p, NULL, &out, &err) == 0) {
		idp_buf yaml = IDP_BUF_INIT;
		idp_err emit_err = IDP_ERR_INIT;
		if (idp_doc_emit_yaml(&out, 1, &yaml, &emit_err) != 0)
			abort(); /* an exported value is always a valid document */
		idp_buf_free(&yaml);
		idp_err_clear(&emit_err);
	}
	if (err.code != IDP_OK && (!err.msg || !*err.msg))
		abort(); /* a failure always says why */
	idp_err_clear(&err);
	idp_arena_free(a);
	return 0;
}
