/* idp: the Health Service IDP control plane, one program. */
#include "cmd/cmd.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

typedef struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} verb;

static int cmd_version(int argc, char **argv);
static int cmd_examples(int argc, char **argv);

static const verb verbs[] = {
	{"validate", idp_cmd_validate, "check documents: syntax, apiVersion/kind/metadata, names"},
	{"fmt", idp_cmd_fmt, "print documents in canonical YAML or JSON"},
	{"render", idp_cmd_render, "render Applications and claims with the built-in catalog (as vela dry-run)"},
	{"compose", idp_cmd_compose, "run a Crossplane Composition offline (as crossplane render, no Docker)"},
	{"gateway", idp_cmd_gateway, "run the gateway: host/path routing, scale from zero, Knative KPA"},
	{"def", idp_cmd_def, "definitions: idp def list, idp def show NAME, idp def vet FILE|DIR"},
	{"catalog", idp_cmd_catalog, "idp catalog export DIR: the catalog as manifests for a cluster"},
	{"gitops", idp_cmd_gitops, "GitOps repositories: idp gitops init APP, idp gitops add-component"},
	{"release", idp_cmd_release, "versions: idp release version|tags SERVICE|set-image APP COMPONENT IMAGE"},
	{"history", idp_cmd_history, "an application's GitOps history: source, author, components changed"},
	{"diff", idp_cmd_diff, "the rendered objects that differ between two revisions"},
	{"rollback", idp_cmd_rollback, "commit an old revision's content again (history is kept)"},
	{"up", idp_cmd_up, "run an application on this machine: daemons, processes behind the gateway"},
	{"status", idp_cmd_status, "what the local runtime runs: applications, objects, health"},
	{"sync", idp_cmd_sync, "sync an application now: git head against what runs (waves, prune guard)"},
	{"get", idp_cmd_get, "list applications, components or objects the local runtime runs"},
	{"describe", idp_cmd_describe, "an application as a tree: components, objects, what runs them"},
	{"logs", idp_cmd_logs, "the output of an application's processes and daemons (-f follows)"},
	{"pause", idp_cmd_pause, "stop an application's processes and daemons, keep its data"},
	{"resume", idp_cmd_resume, "start a paused application again"},
	{"down", idp_cmd_down, "stop applications (--purge: and remove their data)"},
	{"daemon", idp_cmd_daemon, "the local runtime's daemon in the foreground (idp up starts it)"},
	{"serve", idp_cmd_serve, "the platform server: the daemon with its HTTP API (idp serve --help)"},
	{"apply", idp_cmd_apply, "run the claim workflow for an ApplicationClaim here, step by step (-f CLAIM.yaml)"},
	{"token", idp_cmd_token, "API bearer tokens: create NAME, list, delete NAME"},
	{"cue", idp_cmd_cue, "evaluate CUE (the KubeVela dialect): idp cue eval FILE"},
	{"examples", cmd_examples, "list the files built into idp: examples, the catalog, service templates"},
	{"version", cmd_version, "print the version and the commit it was built from"},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *to)
{
	fputs("usage: idp <command> [options]\n\ncommands:\n", to);
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(to, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("  help       this text (idp help COMMAND: that command's options)\n"
	      "\n"
	      "Run `idp COMMAND --help` for a command's options.\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 bad input or usage.\n",
	      to);
}

/* For verbs that take no arguments but --help. Returns -1 to go on. */
static int no_arguments(int argc, char **argv, const char *help)
{
	if (argc <= 1)
		return -1;
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(help, stdout);
		return IDP_EXIT_OK;
	}
	fprintf(stderr, "idp %s: unexpected argument \"%s\"\n%s", argv[0], argv[1], help);
	return IDP_EXIT_INPUT;
}

static int cmd_version(int argc, char **argv)
{
	int rc = no_arguments(argc, argv, "usage: idp version\n\nPrints the version and the git commit of this build.\n");
	if (rc >= 0)
		return rc;
	printf("idp %s (commit %s)\n", IDP_VERSION, IDP_GIT_COMMIT);
	return IDP_EXIT_OK;
}

static int cmd_examples(int argc, char **argv)
{
	int rc = no_arguments(argc, argv,
			      "usage: idp examples\n\nLists the files built into idp; use them as -f embedded:NAME.\n");
	if (rc >= 0)
		return rc;
	size_t n;
	const idp_embedded_file *files = idp_embedded_list(&n);
	for (size_t i = 0; i < n; i++)
		puts(files[i].name);
	return IDP_EXIT_OK;
}

static const verb *find_verb(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static int unknown_verb(const char *name)
{
	const char *names[N_VERBS];
	for (size_t i = 0; i < N_VERBS; i++)
		names[i] = verbs[i].name;
	const char *near = idp_str_closest(name, names, N_VERBS);
	if (near)
		fprintf(stderr, "idp: unknown command \"%s\" (did you mean \"%s\"?)\n", name, near);
	else
		fprintf(stderr, "idp: unknown command \"%s\" (see idp --help)\n", name);
	return IDP_EXIT_INPUT;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return IDP_EXIT_INPUT;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			const verb *v = find_verb(argv[2]);
			if (!v)
				return unknown_verb(argv[2]);
			char *help_argv[] = {argv[2], "--help", NULL};
			return v->run(2, help_argv);
		}
		usage(stdout);
		return IDP_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0)
		return cmd_version(0, NULL);
	const verb *v = find_verb(name);
	if (!v)
		return unknown_verb(name);
	return v->run(argc - 1, argv + 1);
}
