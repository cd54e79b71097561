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
	"usage: idp render -f FILE|DIR|-|embedded:NAME [-f ...] [-d DEFINITIONS ...] [-n NAMESPACE]\n"
	"                  [--app-revision NAME] [--cluster-version MAJOR.MINOR]\n"
	"                  [--compose claims|inline] [--unwrap-objects] [--explain] [-o yaml|json]\n"
	"                  [--out DIR]\n"
	"\n"
	"Renders OAM Applications and platform claims into Kubernetes objects, as\n"
	"`vela dry-run` and Crossplane would. The catalog built into idp (idp def list)\n"
	"is always loaded; -d adds or overrides definitions: ComponentDefinition,\n"
	"TraitDefinition, PolicyDefinition (YAML with a CUE template, or KubeVela .cue\n"
	"files), CompositeResourceDefinition and Composition.\n"
	"\n"
	"  -f, --filename         Applications and/or claims (repeatable; - for standard input)\n"
	"  -d, --definitions      a definition file or directory (repeatable)\n"
	"  -n, --namespace        context.namespace (default: the Application's, else default)\n"
	"      --app-revision     context.appRevision (default APP-v1; '' renders it empty)\n"
	"      --cluster-version  context.clusterVersion (default 1.29)\n"
	"      --compose MODE     claims (default): claims stay claims, checked against their XRD;\n"
	"                         inline: claims are composed here, recursively, and replaced by\n"
	"                         their resources\n"
	"      --unwrap-objects   inline: print what provider-kubernetes Objects wrap\n"
	"  -o, --output           yaml (default) or json (several objects as a v1 List)\n"
	"      --explain          YAML with a comment after every value saying what produced it: a\n"
	"                         property of the Application, a parameter's default, a template,\n"
	"                         a trait or policy, a Composition's base or patch, an XRD default,\n"
	"                         or a rule of KubeVela or Crossplane, with its file:line:column\n"
	"      --out DIR          write one file per object and a kustomization.yaml into DIR\n"
	"                         (replaced as a whole; it must be empty or written by idp render)\n"
	"      --repeat N         render N times in-process first and print the rate (benchmarks)\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input. Nothing is printed or\n"
	"written unless everything renders.\n";

static const char def_usage[] =
	"usage: idp def list [-d FILE|DIR ...]\n"
	"       idp def show NAME [-d FILE|DIR ...]\n"
	"       idp def vet FILE|DIR ...\n"
	"\n"
	"list prints every definition: the catalog built into idp and those of -d,\n"
	"which override it by name (name, kind, workload, description).\n"
	"show prints a definition's parameters: type, default, whether required,\n"
	"and the +usage / +short comments of its template (+ignore hides one).\n"
	"vet parses and evaluates definition files without an Application: syntax,\n"
	"unsupported constructs, and a parameter block in each.\n";

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
 * rate on stderr (for bench/; definitions are loaded once). */
static int render_repeatedly(idp_render_registry *reg, idp_doc_node *const *docs, size_t n_docs,
			     const idp_render_opts *ro, long n, idp_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		idp_arena *scratch = idp_arena_new();
		idp_doc_node **objs;
		size_t count;
		int rc = idp_render_docs(scratch, reg, docs, n_docs, ro, &objs, &count, err);
		idp_arena_free(scratch);
		if (rc)
			return rc;
	}
	idp_cmd_report_rate("render", "renders", n, &t0);
	return 0;
}

typedef struct render_cli {
	idp_render_opts ro;
	idp_cmd_inputs inputs;
	bool json, explain;
	const char *out_dir;
	long repeat;
} render_cli;

/* parse_render_flags' answer to -h: positive, unlike every error code
 * (IDP_EINPUT is -1). */
#define RENDER_WANTS_HELP 1

static int parse_render_flags(int argc, char **argv, render_cli *o, idp_render_registry *reg, idp_err *err)
{
	enum { OPT_REV = 1000, OPT_CLUSTER, OPT_REPEAT, OPT_COMPOSE, OPT_UNWRAP, OPT_OUT, OPT_EXPLAIN };
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
					     {"definitions", required_argument, NULL, 'd'},
					     {"namespace", required_argument, NULL, 'n'},
					     {"output", required_argument, NULL, 'o'},
					     {"app-revision", required_argument, NULL, OPT_REV},
					     {"cluster-version", required_argument, NULL, OPT_CLUSTER},
					     {"compose", required_argument, NULL, OPT_COMPOSE},
					     {"unwrap-objects", no_argument, NULL, OPT_UNWRAP},
					     {"out", required_argument, NULL, OPT_OUT},
					     {"explain", no_argument, NULL, OPT_EXPLAIN},
					     {"repeat", required_argument, NULL, OPT_REPEAT},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int rc = 0, c;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "f:d:n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return RENDER_WANTS_HELP;
		case 'f': rc = idp_cmd_inputs_add(&o->inputs, optarg, err); break;
		case 'd': rc = idp_render_registry_load(reg, optarg, err); break;
		case 'n':
			if (idp_name_check_dns1123_label(optarg))
				rc = idp_err_set(err, IDP_EINPUT, "render: invalid namespace \"%s\": %s", optarg,
						 idp_name_check_dns1123_label(optarg));
			o->ro.namespace = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0 || strcmp(optarg, "yaml") == 0)
				o->json = strcmp(optarg, "json") == 0;
			else
				rc = idp_err_set(err, IDP_EINPUT, "render: unknown output format \"%s\" (yaml or json)", optarg);
			break;
		case OPT_REV: o->ro.app_revision = optarg; break;
		case OPT_COMPOSE:
			if (strcmp(optarg, "claims") == 0 || strcmp(optarg, "inline") == 0)
				o->ro.compose = strcmp(optarg, "inline") == 0 ? IDP_RENDER_COMPOSE_INLINE : IDP_RENDER_COMPOSE_CLAIMS;
			else
				rc = idp_err_set(err, IDP_EINPUT, "render: --compose wants claims or inline, got \"%s\"", optarg);
			break;
		case OPT_UNWRAP: o->ro.unwrap_objects = true; break;
		case OPT_OUT: o->out_dir = optarg; break;
		case OPT_EXPLAIN: o->explain = true; break;
		case OPT_REPEAT:
			o->repeat = strtol(optarg, NULL, 10);
			if (o->repeat < 1 || o->repeat > 100000000)
				rc = idp_err_set(err, IDP_EINPUT, "render: --repeat wants 1..100000000");
			break;
		case OPT_CLUSTER:
			if (parse_cluster_version(optarg, &o->ro))
				rc = idp_err_set(err, IDP_EINPUT, "render: --cluster-version wants MAJOR.MINOR, got \"%s\"", optarg);
			break;
		default: rc = idp_err_set(err, IDP_EINPUT, "render: bad usage (see idp render --help)");
		}
	}
	if (rc == 0 && (o->inputs.len == 0 || optind < argc))
		rc = idp_err_set(err, IDP_EINPUT, "render: want -f FILE and no other arguments (see idp render --help)");
	if (rc == 0 && o->ro.unwrap_objects && o->ro.compose != IDP_RENDER_COMPOSE_INLINE)
		rc = idp_err_set(err, IDP_EINPUT, "render: --unwrap-objects needs --compose inline");
	if (rc == 0 && o->explain && (o->out_dir || o->json))
		rc = idp_err_set(err, IDP_EINPUT, "render: --explain prints commented YAML; not with -o json or --out");
	if (rc == 0 && o->out_dir && o->json)
		rc = idp_err_set(err, IDP_EINPUT, "render: --out writes YAML files; -o json prints to standard output");
	return rc;
}

static int load_inputs(idp_arena *a, const idp_cmd_inputs *in, idp_doc_node ***docs, size_t *n, idp_err *err)
{
	size_t cap = 0;
	*docs = NULL;
	*n = 0;
	for (size_t i = 0; i < in->len; i++) {
		idp_doc_stream s;
		int rc = idp_cmd_input_load(a, &in->items[i], &s, err);
		if (rc)
			return rc;
		for (size_t j = 0; j < s.len; j++) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				idp_doc_node **grown = idp_arena_alloc(a, cap * sizeof(*grown));
				if (*n)
					memcpy(grown, *docs, *n * sizeof(*grown));
				*docs = grown;
			}
			(*docs)[(*n)++] = s.docs[j];
		}
	}
	if (*n == 0)
		return idp_err_set(err, IDP_EINPUT, "render: the inputs hold no document");
	return 0;
}

int idp_cmd_render(int argc, char **argv)
{
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	render_cli o = {IDP_RENDER_OPTS_INIT, {0}, false, false, NULL, 1};
	/* The built-in catalog first: -d files override it by name. */
	int rc = idp_render_registry_load_builtin(reg, &err);
	if (rc == 0)
		rc = parse_render_flags(argc, argv, &o, reg, &err);
	if (rc == RENDER_WANTS_HELP) {
		fputs(render_usage, stdout);
		idp_cmd_inputs_free(&o.inputs);
		idp_render_registry_free(reg);
		idp_arena_free(a);
		return IDP_EXIT_OK;
	}
	idp_doc_node **docs = NULL, **objs = NULL;
	size_t n_docs = 0, n = 0;
	idp_buf out = IDP_BUF_INIT;
	if (rc == 0)
		rc = load_inputs(a, &o.inputs, &docs, &n_docs, &err);
	if (rc == 0 && o.repeat > 1)
		rc = render_repeatedly(reg, docs, n_docs, &o.ro, o.repeat, &err);
	if (rc == 0)
		rc = idp_render_docs(a, reg, docs, n_docs, &o.ro, &objs, &n, &err);
	if (rc == 0 && o.out_dir)
		rc = idp_cmd_write_objects_dir(a, o.out_dir, objs, n, &err);
	else if (rc == 0 && o.explain)
		rc = idp_doc_emit_yaml_explained(objs, n, idp_render_explain_fn,
						 idp_render_explainer_new(a, reg, docs, n_docs), &out, &err);
	else if (rc == 0)
		rc = idp_cmd_emit_docs(a, objs, n, o.json, &out, &err);
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, stdout);
	else
		idp_cmd_print_err(&err);
	print_skipped(reg, rc != 0);
	idp_buf_free(&out);
	idp_err_clear(&err);
	idp_cmd_inputs_free(&o.inputs);
	idp_render_registry_free(reg);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}

/* The built-in catalog plus the -d arguments of argv[first..]; the first
 * other argument goes to *name. */
static int def_registry(int argc, char **argv, int first, idp_render_registry *reg, const char **name, idp_err *err)
{
	int rc = idp_render_registry_load_builtin(reg, err);
	for (int i = first; rc == 0 && i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			rc = idp_render_registry_load(reg, argv[++i], err);
		else if (name && !*name && argv[i][0] != '-')
			*name = argv[i];
		else
			rc = idp_err_set(err, IDP_EINPUT, "def: unexpected argument \"%s\" (see idp def --help)", argv[i]);
	}
	return rc;
}

static int def_list(int argc, char **argv)
{
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	int rc = def_registry(argc, argv, 2, reg, NULL, &err);
	if (rc == 0) {
		idp_render_def_info *defs;
		size_t n = idp_render_registry_list(reg, &defs);
		int wname = 4, wkind = 4, wload = 20;
		for (size_t i = 0; i < n; i++) {
			wname = (int)strlen(defs[i].name) > wname ? (int)strlen(defs[i].name) : wname;
			wkind = (int)strlen(defs[i].kind) > wkind ? (int)strlen(defs[i].kind) : wkind;
			if (defs[i].workload && (int)strlen(defs[i].workload) > wload)
				wload = (int)strlen(defs[i].workload);
		}
		printf("%-*s  %-*s  %-*s  %s\n", wname, "NAME", wkind, "KIND", wload, "WORKLOAD / APPLIES TO", "DESCRIPTION");
		for (size_t i = 0; i < n; i++)
			printf("%-*s  %-*s  %-*s  %s\n", wname, defs[i].name, wkind, defs[i].kind, wload,
			       defs[i].workload ? defs[i].workload : "-", defs[i].description);
	} else {
		idp_cmd_print_err(&err);
	}
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
	int rc = def_registry(argc, argv, 2, reg, &name, &err);
	if (rc == 0 && !name)
		rc = idp_err_set(&err, IDP_EINPUT, "def show: want NAME (see idp def --help)");
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

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

int idp_cmd_def(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(def_usage, stdout);
		return IDP_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return def_list(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return def_show(argc, argv);
	if (argc < 3 || strcmp(argv[1], "vet") != 0) {
		fputs(def_usage, stderr);
		return IDP_EXIT_INPUT;
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
