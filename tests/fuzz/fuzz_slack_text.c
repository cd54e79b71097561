/*
 * libFuzzer target for the Slack intake: arbitrary bytes as a form body
 * (idp_api_form_get of each field Slack sends) and, through the text field
 * (or the bytes themselves), as the text of `/microservice create`
 * (idp_api_parse_service). A parsed request must carry a name that is a
 * DNS-1123 label of at most 39 characters, a language with its framework,
 * and its claim must emit as YAML; anything else aborts. Memory errors,
 * leaks and undefined behaviour are the sanitizers' job.
 *
 * Build: meson setup ... -Dfuzz=true (clang only); run: tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(idp_arena *a, const char *text)
{
	idp_api_service_request r;
	idp_err err = IDP_ERR_INIT;
	if (idp_api_parse_service(a, text, &r, &err) == 0) {
		if (!r.name || idp_name_check_dns1123_label(r.name) || strlen(r.name) > 39 || !r.language || !r.framework)
			abort();
		idp_doc_node *claim = idp_api_service_claim(a, &r);
		idp_buf out = IDP_BUF_INIT;
		if (idp_doc_emit_yaml(&claim, 1, &out, &err) != 0)
			abort();
		idp_buf_free(&out);
	} else if (!err.msg) {
		abort();
	}
	idp_err_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	idp_arena *a = idp_arena_new();
	const char *body = (const char *)data;
	static const char *const fields[] = {"command", "text", "user_name", "channel_id", "response_url"};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		(void)idp_api_form_get(a, body, size, fields[i]);
	const char *text = idp_api_form_get(a, body, size, "text");
	check_parse(a, text ? text : idp_arena_strndup(a, body, size));
	idp_arena_free(a);
	return 0;
}
