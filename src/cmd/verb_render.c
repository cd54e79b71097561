/* idp render: an Application through the definitions, as vela dry-run does;
 * idp def vet: check definition files without an Application. */
#include "cmd/cmd.h"
#include "render/render.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char render_usage[] =
	"usage: idp render -f APP.yaml -d DEFINITIONS [-d ...] [-n NAMESPACE] [--app-revision NAME]\n"
	"                  [--cluster-version MAJOR.MINOR]\n"
	"\n"
	"Renders an OAM Application with the component and trait definitions in\n"
	"DEFINITIONS (files or directories of ComponentDefinition/TraitDefinition\n"
	"YAML or KubeVela .cue files) and prints the objects as YAML, as\n"
	"`vela dry-run` does.\n"
	"\n"
	"  -f, --filename         the Application (- for standard input)\n"
	"  -d, --definitions      a definition file or directory (repeatable)\n"
	"  -n, --namespace        context.namespace (default: the Application's, else default)\n"
	"      --app-revision     context.appRevision (default APP-v1; '' renders it empty)\n"
	"      --cluster-version  context.clusterVersion (default 1.29)\n"
	"      --repeat N         render N times in-process first and print the rate (benchmarks)\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input.\n";

static const char vet_usage[] = "usage: idp def vet FILE|DIR ...\n"
				"       idp def show NAME -d FILE|DIR ...\n"
				"\n"
				"vet parses and evaluates definition files without an Application: syntax,\n"
				"unsupported constructs, and a parameter block in each.\n"
				"show prints a definition's parameters: type, default, whether required,\n"
				"and the +usage / +short comments of its template (+ignore hides one).\n";

static int parse_cluster_version(const char *s, idp_render_opts *o)
{
	char *end;
	long major = strtol(s, &end, 10);
	if (end == s || *end != '.')
		return -1;
	const char *m = end + 1;
	long minor = strtol(m, &end, 10);
	if (end == m || *end || major < 0 || major > 99 || minor < 0 || minor > 999)
		return -1;
	o->cluster_major = (int)major;
	o->cluster_minor = (int)minor;
	return 0;
}

/* Definition files that did not load are reported as warnings: a render
 * that does not use them still succeeds. Only when it failed are they
 * printed in full, since one of them may be why. */
static void print_skipped(const idp_render_registry *reg, bool failed)
{
	const idp_errs *skipped = idp_render_registry_skipped(reg);
	if (!failed && skipped->len) {
		fprintf(stderr, "idp render: warning: %zu definition file%s skipped (idp def vet DIR shows why)\n",
			skipped->len, skipped->len == 1 ? "" : "s");
		return;
	}
	for (size_t i = 0; i < skipped->len; i++) /* as errors: one of them may be the cause */
		idp_cmd_print_err(&skipped->items[i]);
}

/* --repeat N: N renders in this process, each in its own arena, and the
 * rate on stderr (for bench/cue.sh; definitions are loaded once). */
static int render_repeatedly(idp_render_registry *reg, const idp_doc_node *app, const idp_render_opts *ro, long n,
			     idp_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		idp_arena *scratch = idp_arena_new();
		idp_doc_node **objs;
		size_t count;
		int rc = idp_render_app(scratch, reg, app, ro, &objs, &count, err);
		idp_arena_free(scratch);
		if (rc)
			return rc;
	}
	idp_cmd_report_rate("render", "renders", n, &t0);
	return 0;
}

int idp_cmd_render(int argc, char **argv)
{
	enum { OPT_REV = 1000, OPT_CLUSTER, OPT_REPEAT };
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
					     {"definitions", required_argument, NULL, 'd'},
					     {"namespace", required_argument, NULL, 'n'},
					     {"app-revision", required_argument, NULL, OPT_REV},
					     {"cluster-version", required_argument, NULL, OPT_CLUSTER},
					     {"repeat", required_argument, NULL, OPT_REPEAT},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	idp_render_opts ro = IDP_RENDER_OPTS_INIT;
	const char *app_file = NULL;
	long repeat = 1;
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	int rc = 0, c;
	while (rc == 0 && (c = getopt_long(argc, argv, "f:d:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(render_usage, stdout); idp_arena_free(a); return IDP_EXIT_OK;
		case 'f': app_file = optarg; break;
		case 'd': rc = idp_render_registry_load(reg, optarg, &err); break;
		case 'n':
			if (idp_name_check_dns1123_label(optarg))
				rc = idp_err_set(&err, IDP_EINPUT, "render: invalid namespace \"%s\": %s", optarg,
						 idp_name_check_dns1123_label(optarg));
			ro.namespace = optarg;
			break;
		case OPT_REV: ro.app_revision = optarg; break;
		case OPT_REPEAT:
			repeat = strtol(optarg, NULL, 10);
			if (repeat < 1 || repeat > 100000000)
				rc = idp_err_set(&err, IDP_EINPUT, "render: --repeat wants 1..100000000");
			break;
		case OPT_CLUSTER:
			if (parse_cluster_version(optarg, &ro))
				rc = idp_err_set(&err, IDP_EINPUT, "render: --cluster-version wants MAJOR.MINOR, got \"%s\"", optarg);
			break;
		default: rc = idp_err_set(&err, IDP_EINPUT, "render: bad usage (see idp render --help)");
		}
	}
	if (rc == 0 && (!app_file || optind < argc))
		rc = idp_err_set(&err, IDP_EINPUT, "render: want -f APP.yaml and no other arguments (see idp render --help)");
	if (rc == 0 && idp_render_registry_size(reg) == 0)
		rc = idp_err_set(&err, IDP_EINPUT, "render: no definitions: give -d DIR");
	idp_doc_stream s;
	idp_doc_node **objs = NULL;
	size_t n = 0;
	idp_buf out = IDP_BUF_INIT;
	if (rc == 0)
		rc = idp_doc_load_file(a, app_file, NULL, &s, &err);
	if (rc == 0 && s.len != 1)
		rc = idp_err_at(&err, (idp_pos){s.file, 1, 1}, NULL, "want one Application document, found %zu", s.len);
	if (rc == 0 && repeat > 1)
		rc = render_repeatedly(reg, s.docs[0], &ro, repeat, &err);
	if (rc == 0)
		rc = idp_render_app(a, reg, s.docs[0], &ro, &objs, &n, &err);
	if (rc == 0)
		rc = idp_doc_emit_yaml(objs, n, &out, &err);
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, stdout);
	else
		idp_cmd_print_err(&err);
	print_skipped(reg, rc != 0);
	idp_buf_free(&out);
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}

static int def_show(int argc, char **argv)
{
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	const char *name = NULL;
	int rc = 0;
	for (int i = 2; rc == 0 && i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			rc = idp_render_registry_load(reg, argv[++i], &err);
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else
			rc = idp_err_set(&err, IDP_EINPUT, "def show: want NAME -d DIR (see idp def --help)");
	}
	if (rc == 0 && !name)
		rc = idp_err_set(&err, IDP_EINPUT, "def show: want NAME -d DIR (see idp def --help)");
	idp_doc_node *d;
	idp_buf out = IDP_BUF_INIT;
	if (rc == 0)
		rc = idp_render_describe(reg, name, &d, &err);
	if (rc == 0)
		rc = idp_doc_emit_yaml(&d, 1, &out, &err);
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, stdout);
	else
		idp_cmd_print_err(&err);
	idp_buf_free(&out);
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}

int idp_cmd_def(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0 &&
	    !(argc >= 3 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)))
		return def_show(argc, argv);
	if (argc < 2 || strcmp(argv[1], "vet") != 0 || argc < 3 || strcmp(argv[2], "-h") == 0 ||
	    strcmp(argv[2], "--help") == 0) {
		bool help = argc >= 2 && (strcmp(argv[argc - 1], "-h") == 0 || strcmp(argv[argc - 1], "--help") == 0);
		fputs(vet_usage, help ? stdout : stderr);
		return help ? IDP_EXIT_OK : IDP_EXIT_INPUT;
	}
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	int rc = 0;
	for (int i = 2; rc == 0 && i < argc; i++)
		rc = idp_render_registry_load(reg, argv[i], &err);
	if (rc == 0)
		rc = idp_render_registry_vet(reg, &err);
	const idp_errs *skipped = idp_render_registry_skipped(reg);
	for (size_t i = 0; i < skipped->len; i++) /* vet is a check: every bad file counts */
		idp_cmd_print_err(&skipped->items[i]);
	if (rc == 0 && skipped->len == 0)
		printf("%zu definition%s ok\n", idp_render_registry_size(reg), idp_render_registry_size(reg) == 1 ? "" : "s");
	else if (rc)
		idp_cmd_print_err(&err);
	else
		rc = IDP_EINPUT;
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}
