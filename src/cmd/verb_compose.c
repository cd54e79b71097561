/* idp compose: a Crossplane Composition run offline, like `crossplane
 * render` but with no Docker and classic patch-and-transform too. */
#include "cmd/cmd.h"
#include "compose/compose.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char compose_usage[] =
	"usage: idp compose XR.yaml COMPOSITION.yaml [--xrd XRD.yaml] [--observed FILE|DIR]\n"
	"                   [--environment ENV.yaml] [--desired FILE] [--include-context]\n"
	"                   [--unwrap-objects] [-o yaml|json]\n"
	"\n"
	"Composes a composite resource (or a claim, with --xrd) with a Composition the\n"
	"way Crossplane would: classic `spec.resources` or a Pipeline of\n"
	"function-patch-and-transform steps. Prints the composite resource with every\n"
	"field the patches wrote, then each composed resource (annotated with\n"
	"crossplane.io/composition-resource-name). Warnings go to stderr as Result\n"
	"documents.\n"
	"\n"
	"      --xrd FILE          the CompositeResourceDefinition (validates the XR)\n"
	"      --observed PATH     observed composed resources (and their connection\n"
	"                          Secrets), matched by crossplane.io/composition-resource-name\n"
	"      --environment FILE  the environment (EnvironmentConfig data) as a map\n"
	"      --desired FILE      composed resources produced by earlier pipeline steps\n"
	"      --include-context   also print the final context (the environment)\n"
	"      --unwrap-objects    print a kubernetes.crossplane.io Object's manifest instead\n"
	"  -o, --output FORMAT     yaml (default) or json\n"
	"      --repeat N          compose N times in-process first and print the rate\n"
	"  -h, --help              this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input.\n";

typedef struct docs {
	idp_doc_node **items;
	size_t len;
} docs;

static int load_all(idp_arena *a, const char *arg, docs *out, idp_err *err)
{
	idp_cmd_inputs in = {0};
	int rc = idp_cmd_inputs_add(&in, arg, err);
	for (size_t i = 0; rc == 0 && i < in.len; i++) {
		idp_doc_stream s;
		rc = idp_cmd_input_load(a, &in.items[i], &s, err);
		if (rc != 0)
			break;
		idp_doc_node **items = idp_arena_alloc(a, (out->len + s.len + 1) * sizeof(*items));
		if (out->len)
			memcpy(items, out->items, out->len * sizeof(*items));
		memcpy(items + out->len, s.docs, s.len * sizeof(*items));
		out->items = items;
		out->len += s.len;
	}
	idp_cmd_inputs_free(&in);
	return rc;
}

static int load_one(idp_arena *a, const char *arg, const char *what, idp_doc_node **out, idp_err *err)
{
	docs d = {0};
	if (load_all(a, arg, &d, err) != 0)
		return IDP_EINPUT;
	if (d.len != 1)
		return idp_err_at(err, (idp_pos){arg, 1, 1}, NULL, "want one %s document, found %zu", what, d.len);
	*out = d.items[0];
	return 0;
}

static void print_docs(idp_doc_node *const *items, size_t n, bool json, FILE *to)
{
	idp_buf out = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	int rc = 0;
	if (!json) {
		rc = idp_doc_emit_yaml(items, n, &out, &err);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++) {
			rc = idp_doc_emit_json(items[i], IDP_DOC_JSON_PRETTY, &out, &err);
			idp_buf_putc(&out, '\n');
		}
	}
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, to);
	else
		idp_cmd_print_err(&err);
	idp_buf_free(&out);
	idp_err_clear(&err);
}

static idp_doc_node *render_doc(idp_arena *a, const char *kind)
{
	idp_doc_node *d = idp_doc_new_map(a);
	idp_doc_map_set(a, d, "apiVersion", idp_doc_new_str(a, "render.crossplane.io/v1beta1"));
	idp_doc_map_set(a, d, "kind", idp_doc_new_str(a, kind));
	return d;
}

static int compose_repeatedly(const idp_doc_node *xr, const idp_doc_node *comp, const idp_compose_opts *o, long n,
			      idp_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A control plane checks a Composition once, when it is admitted. */
	if (idp_compose_check(comp, err) != 0)
		return IDP_EINPUT;
	idp_compose_opts checked = *o;
	checked.composition_checked = true;
	o = &checked;
	for (long i = 0; i < n; i++) {
		idp_arena *scratch = idp_arena_new();
		idp_compose_result r;
		int rc = idp_compose_run(scratch, xr, comp, o, &r, err);
		idp_arena_free(scratch);
		if (rc)
			return rc;
	}
	idp_cmd_report_rate("compose", "compositions", n, &t0);
	return 0;
}

int idp_cmd_compose(int argc, char **argv)
{
	enum { OPT_XRD = 1000, OPT_OBSERVED, OPT_ENV, OPT_DESIRED, OPT_CONTEXT, OPT_UNWRAP, OPT_REPEAT };
	static const struct option opts[] = {{"xrd", required_argument, NULL, OPT_XRD},
					     {"observed", required_argument, NULL, OPT_OBSERVED},
					     {"observed-resources", required_argument, NULL, OPT_OBSERVED},
					     {"environment", required_argument, NULL, OPT_ENV},
					     {"desired", required_argument, NULL, OPT_DESIRED},
					     {"include-context", no_argument, NULL, OPT_CONTEXT},
					     {"unwrap-objects", no_argument, NULL, OPT_UNWRAP},
					     {"output", required_argument, NULL, 'o'},
					     {"repeat", required_argument, NULL, OPT_REPEAT},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_compose_opts o = IDP_COMPOSE_OPTS_INIT;
	docs observed = {0}, desired = {0};
	idp_doc_node *xrd = NULL, *env = NULL, *xr = NULL, *comp = NULL;
	bool context = false, json = false;
	long repeat = 1;
	int rc = 0, c;
	while (rc == 0 && (c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(compose_usage, stdout); idp_arena_free(a); return IDP_EXIT_OK;
		case OPT_XRD: rc = load_one(a, optarg, "CompositeResourceDefinition", &xrd, &err); break;
		case OPT_OBSERVED: rc = load_all(a, optarg, &observed, &err); break;
		case OPT_ENV: rc = load_one(a, optarg, "environment", &env, &err); break;
		case OPT_DESIRED: rc = load_all(a, optarg, &desired, &err); break;
		case OPT_CONTEXT: context = true; break;
		case OPT_UNWRAP: o.unwrap_objects = true; break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "yaml") != 0)
				rc = idp_err_set(&err, IDP_EINPUT, "compose: -o wants yaml or json, got \"%s\"", optarg);
			break;
		case OPT_REPEAT:
			repeat = strtol(optarg, NULL, 10);
			if (repeat < 1 || repeat > 100000000)
				rc = idp_err_set(&err, IDP_EINPUT, "compose: --repeat wants 1..100000000");
			break;
		default: rc = idp_err_set(&err, IDP_EINPUT, "compose: bad usage (see idp compose --help)");
		}
	}
	if (rc == 0 && argc - optind != 2)
		rc = idp_err_set(&err, IDP_EINPUT, "compose: want XR.yaml COMPOSITION.yaml (see idp compose --help)");
	if (rc == 0)
		rc = load_one(a, argv[optind], "composite resource", &xr, &err);
	if (rc == 0)
		rc = load_one(a, argv[optind + 1], "Composition", &comp, &err);
	if (rc == 0 && env && env->kind != IDP_DOC_MAP)
		rc = idp_err_at(&err, env->pos, NULL, "the environment must be a map");
	o.observed = (const idp_doc_node *const *)observed.items;
	o.n_observed = observed.len;
	o.desired = (const idp_doc_node *const *)desired.items;
	o.n_desired = desired.len;
	o.environment = env;
	o.xrd = xrd;
	idp_compose_result r;
	if (rc == 0 && repeat > 1)
		rc = compose_repeatedly(xr, comp, &o, repeat, &err);
	if (rc == 0)
		rc = idp_compose_run(a, xr, comp, &o, &r, &err);
	if (rc != 0) {
		idp_cmd_print_err(&err);
		idp_err_clear(&err);
		idp_arena_free(a);
		return idp_cmd_exit_code(rc);
	}
	size_t n = 1 + r.n_resources + (context ? 1 : 0);
	idp_doc_node **out = idp_arena_alloc(a, n * sizeof(*out));
	out[0] = r.composite;
	memcpy(out + 1, r.resources, r.n_resources * sizeof(*out));
	if (context) {
		idp_doc_node *ctx = render_doc(a, "Context");
		idp_doc_node *fields = idp_doc_new_map(a);
		idp_doc_map_set(a, fields, "apiextensions.crossplane.io/environment", r.environment);
		idp_doc_map_set(a, ctx, "fields", fields);
		out[n - 1] = ctx;
	}
	if (r.n_warnings) {
		idp_doc_node **w = idp_arena_alloc(a, r.n_warnings * sizeof(*w));
		for (size_t i = 0; i < r.n_warnings; i++) {
			w[i] = render_doc(a, "Result");
			idp_doc_map_set(a, w[i], "severity", idp_doc_new_str(a, "SEVERITY_WARNING"));
			idp_doc_map_set(a, w[i], "message", idp_doc_new_str(a, r.warnings[i]));
		}
		print_docs(w, r.n_warnings, false, stderr);
	}
	print_docs(out, n, json, stdout);
	idp_err_clear(&err);
	idp_arena_free(a);
	return IDP_EXIT_OK;
}
