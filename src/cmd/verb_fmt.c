/* idp fmt: print documents in canonical form (or rewrite files with -w). */
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char fmt_usage[] =
	"usage: idp fmt -f FILE|DIR|-|embedded:NAME [-f ...] [-o yaml|json] [-w]\n"
	"\n"
	"Prints the documents in canonical form: YAML as kubectl writes it (2-space\n"
	"indent, `---` between documents, strings that YAML 1.1 would retype quoted),\n"
	"or JSON (several documents become a v1 List). Comments are not kept.\n"
	"\n"
	"  -f, --filename   input (see idp validate --help)\n"
	"  -o, --output     yaml (default) or json\n"
	"  -w, --write      rewrite each file in place (atomically) instead of printing\n"
	"  -h, --help       this text\n"
	"\n"
	"Nothing is printed or written unless every input loads.\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input.\n";

typedef struct fmt_opts {
	bool json;
	bool write;
} fmt_opts;

static int parse_fmt_args(int argc, char **argv, fmt_opts *o, idp_cmd_inputs *inputs, idp_err *err)
{
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
					     {"output", required_argument, NULL, 'o'},
					     {"write", no_argument, NULL, 'w'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:o:wh", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(fmt_usage, stdout); return 1;
		case 'w': o->write = true; break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "yaml") != 0)
				return idp_err_set(err, IDP_EINPUT, "fmt: unknown output format \"%s\" (yaml or json)", optarg);
			break;
		case 'f':
			if (idp_cmd_inputs_add(inputs, optarg, err))
				return IDP_EINPUT;
			break;
		default: return idp_err_set(err, IDP_EINPUT, "fmt: bad usage (see idp fmt --help)");
		}
	}
	if (optind < argc)
		return idp_err_set(err, IDP_EINPUT, "fmt: unexpected argument \"%s\" (use -f)", argv[optind]);
	if (inputs->len == 0)
		return idp_err_set(err, IDP_EINPUT, "fmt: no input: give -f FILE");
	for (size_t i = 0; o->write && i < inputs->len; i++)
		if (inputs->items[i].data || strcmp(inputs->items[i].name, "-") == 0)
			return idp_err_set(err, IDP_EINPUT, "fmt: -w cannot rewrite %s", inputs->items[i].name);
	return 0;
}

int idp_cmd_fmt(int argc, char **argv)
{
	fmt_opts o = {false, false};
	idp_cmd_inputs inputs = {0};
	idp_err err = IDP_ERR_INIT;
	idp_arena *a = idp_arena_new();
	idp_doc_stream *streams = NULL;
	idp_buf out = IDP_BUF_INIT;
	int rc = parse_fmt_args(argc, argv, &o, &inputs, &err);
	if (rc == 1) { /* --help */
		rc = 0;
		goto done;
	}
	if (rc)
		goto done;
	/* Load everything first: one bad input means no output at all. */
	streams = idp_xcalloc(inputs.len, sizeof(*streams));
	for (size_t i = 0; rc == 0 && i < inputs.len; i++)
		rc = idp_cmd_input_load(a, &inputs.items[i], &streams[i], &err);
	if (rc)
		goto done;
	if (o.write) {
		for (size_t i = 0; rc == 0 && i < inputs.len; i++) {
			idp_buf_clear(&out);
			rc = idp_cmd_emit_docs(a, streams[i].docs, streams[i].len, o.json, &out, &err);
			if (rc == 0)
				rc = idp_file_write_atomic(inputs.items[i].name, out.ptr ? out.ptr : "", out.len, &err);
		}
		goto done;
	}
	size_t total = 0;
	for (size_t i = 0; i < inputs.len; i++)
		total += streams[i].len;
	idp_doc_node **all = idp_arena_alloc(a, (total ? total : 1) * sizeof(*all));
	size_t k = 0;
	for (size_t i = 0; i < inputs.len; i++)
		for (size_t d = 0; d < streams[i].len; d++)
			all[k++] = streams[i].docs[d];
	rc = idp_cmd_emit_docs(a, all, total, o.json, &out, &err);
	if (rc == 0 && fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout) != out.len)
		rc = idp_err_set(&err, IDP_ERUNTIME, "fmt: cannot write to standard output");
done:
	if (rc)
		idp_cmd_print_err(&err);
	idp_err_clear(&err);
	idp_buf_free(&out);
	free(streams);
	idp_arena_free(a);
	idp_cmd_inputs_free(&inputs);
	return idp_cmd_exit_code(rc);
}
