/* idp cue eval: evaluate a CUE file and print it as `cue export` would. */
#include "cmd/cmd.h"
#include "cue/cue.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char cue_usage[] =
	"usage: idp cue eval FILE [-e EXPR] [-o yaml|json]\n"
	"\n"
	"Evaluates a CUE file in the dialect KubeVela definitions use (docs/CUE.md)\n"
	"and prints the result as `cue export` does: concrete values, defaults\n"
	"applied, hidden fields, definitions and unset optional fields left out.\n"
	"\n"
	"  -e, --expression  print this expression instead of the whole file\n"
	"  -o, --output      json (default) or yaml\n"
	"      --repeat N    evaluate N times in-process first and print the rate (benchmarks)\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input (syntax, conflict, incomplete).\n";

/* --repeat N: parse, evaluate and export N times in-process (each in its own
 * arena) and print the rate on stderr, for bench/cue.sh. */
static int eval_repeatedly(const char *src, size_t len, const char *path, const char *expr, long n, idp_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		idp_arena *a = idp_arena_new();
		idp_cue_program *p;
		idp_doc_node *doc;
		int rc = idp_cue_compile(a, path, src, len, &p, err);
		if (rc == 0)
			rc = idp_cue_export(p, expr, &doc, err);
		idp_arena_free(a);
		if (rc)
			return rc;
	}
	idp_cmd_report_rate("cue eval", "evaluations", n, &t0);
	return 0;
}

int idp_cmd_cue(int argc, char **argv)
{
	static const struct option opts[] = {{"expression", required_argument, NULL, 'e'},
					     {"repeat", required_argument, NULL, 'r'},
					     {"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	if (argc < 2 || strcmp(argv[1], "eval") != 0) {
		bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
		fputs(cue_usage, help ? stdout : stderr);
		return help ? IDP_EXIT_OK : IDP_EXIT_INPUT;
	}
	const char *expr = NULL;
	bool yaml = false;
	long repeat = 1;
	int ch;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "e:o:r:h", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(cue_usage, stdout);
			return IDP_EXIT_OK;
		}
		if (ch == 'e')
			expr = optarg;
		else if (ch == 'r' && (repeat = strtol(optarg, NULL, 10)) >= 1 && repeat <= 100000000)
			continue;
		else if (ch == 'o' && (strcmp(optarg, "yaml") == 0 || strcmp(optarg, "json") == 0))
			yaml = strcmp(optarg, "yaml") == 0;
		else {
			fputs(cue_usage, stderr);
			return IDP_EXIT_INPUT;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "idp cue eval: want exactly one FILE\n%s", cue_usage);
		return IDP_EXIT_INPUT;
	}
	const char *path = argv[optind];
	idp_err err = IDP_ERR_INIT;
	idp_buf src = IDP_BUF_INIT, out = IDP_BUF_INIT;
	idp_arena *a = idp_arena_new();
	idp_cue_program *prog;
	idp_doc_node *doc;
	int rc = idp_file_read(path, IDP_DOC_MAX_BYTES_DEFAULT, &src, &err);
	if (rc == 0)
		rc = idp_cue_compile(a, strcmp(path, "-") == 0 ? "<stdin>" : path, idp_buf_cstr(&src), src.len, &prog, &err);
	if (rc == 0 && repeat > 1)
		rc = eval_repeatedly(idp_buf_cstr(&src), src.len, path, expr, repeat, &err);
	if (rc == 0)
		rc = idp_cue_export(prog, expr, &doc, &err);
	if (rc == 0) {
		rc = yaml ? idp_doc_emit_yaml(&doc, 1, &out, &err) : idp_doc_emit_json(doc, IDP_DOC_JSON_PRETTY, &out, &err);
		if (!yaml)
			idp_buf_putc(&out, '\n');
	}
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, stdout);
	else
		idp_cmd_print_err(&err);
	idp_err_clear(&err);
	idp_buf_free(&src);
	idp_buf_free(&out);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}
