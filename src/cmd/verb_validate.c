/* idp validate: parse every document and check it is a well-formed object. */
#include "cmd/cmd.h"
#include "manifest/manifest.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char validate_usage[] =
	"usage: idp validate -f FILE|DIR|-|embedded:NAME [-f ...]\n"
	"\n"
	"Parses every document and checks that each is a Kubernetes object:\n"
	"apiVersion, kind and metadata.name present, the name well formed for its\n"
	"kind (DNS-1123), namespace, label and annotation keys valid. Prints one\n"
	"line per problem as FILE:LINE:COLUMN: FIELD: MESSAGE on stderr.\n"
	"\n"
	"  -f, --filename   a file, a directory (walked for .yaml/.yml/.json),\n"
	"                   - for standard input, or embedded:NAME (embedded: = all)\n"
	"  -h, --help       this text\n"
	"\n"
	"Exit status: 0 all valid, 1 runtime failure, 2 a problem was found.\n";

/* Problems of one document are reported in reading order. */
static int by_position(const void *x, const void *y)
{
	const idp_err *a = x, *b = y;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

int idp_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	idp_cmd_inputs inputs = {0};
	idp_err err = IDP_ERR_INIT;
	int worst = 0, c;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(validate_usage, stdout);
			idp_cmd_inputs_free(&inputs);
			return IDP_EXIT_OK;
		}
		if (c != 'f') {
			fputs(validate_usage, stderr);
			idp_cmd_inputs_free(&inputs);
			return IDP_EXIT_INPUT;
		}
		if (idp_cmd_inputs_add(&inputs, optarg, &err)) {
			idp_cmd_print_err(&err);
			worst = IDP_EXIT_INPUT;
			idp_err_clear(&err);
		}
	}
	if (optind < argc || (inputs.len == 0 && worst == 0)) {
		fprintf(stderr, "idp validate: %s\n%s",
			optind < argc ? "unexpected argument (use -f)" : "no input: give -f FILE", validate_usage);
		idp_cmd_inputs_free(&inputs);
		return IDP_EXIT_INPUT;
	}
	size_t docs = 0, problems = 0;
	for (size_t i = 0; i < inputs.len; i++) {
		idp_arena *a = idp_arena_new();
		idp_doc_stream stream;
		int rc = idp_cmd_input_load(a, &inputs.items[i], &stream, &err);
		/* Documents before a syntax error are still checked, and reported first. */
		idp_errs errs = IDP_ERRS_INIT;
		for (size_t d = 0; d < stream.len; d++) {
			size_t first = errs.len;
			idp_manifest_check(stream.docs[d], &errs);
			if (errs.len - first > 1)
				qsort(errs.items + first, errs.len - first, sizeof(idp_err), by_position);
		}
		if (rc) {
			idp_errs_push(&errs, &err);
			int code = idp_cmd_exit_code(rc);
			if (worst != IDP_EXIT_INPUT)
				worst = code;
		} else if (errs.len) {
			worst = IDP_EXIT_INPUT;
		}
		for (size_t e = 0; e < errs.len; e++)
			idp_cmd_print_err(&errs.items[e]);
		problems += errs.len;
		docs += stream.len;
		idp_errs_free(&errs);
		idp_arena_free(a);
	}
	if (problems == 0 && worst == 0)
		printf("%zu document%s in %zu file%s valid\n", docs, docs == 1 ? "" : "s", inputs.len,
		       inputs.len == 1 ? "" : "s");
	idp_cmd_inputs_free(&inputs);
	return worst;
}
