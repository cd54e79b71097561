/* idp gitops init|add-component, idp history, idp diff, idp rollback: the
 * gitops room, with the render room wired in as its renderer. */
#include "cmd/cmd.h"
#include "render/render.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

static const char gitops_usage[] =
	"usage: idp gitops init APP [--dir DIR] [--remote URL] [--author 'NAME <EMAIL>'] [--token-file F]\n"
	"       idp gitops add-component --gitops REPO --claim CLAIM.yaml [--author ...]\n"
	"       idp gitops scaffold SERVICE --language python|c [--framework fastapi|idp-sdk] --dir REPO\n"
	"       idp history APP|REPO [--dir DIR] [-n N]\n"
	"       idp diff APP|REPO REV1 [REV2] [--dir DIR]\n"
	"       idp rollback APP|REPO REV [--dir DIR] [--author ...]\n"
	"       idp release version [--source DIR]\n"
	"       idp release tags SERVICE [--source DIR] [--registry REG] [--branch BRANCH]\n"
	"       idp release set-image APP|REPO COMPONENT IMAGE [--version V] [--commit SHA] [--dir DIR]\n"
	"\n"
	"init creates DIR/APP-gitops (DIR defaults to .): the Argo CD app-of-apps, the\n"
	"OAM Application (no components yet), claims/, platform/ (idp catalog export),\n"
	"manifests/APP/ (rendered) and environments/{dev,staging,production} overlays,\n"
	"as one commit. add-component applies an ApplicationClaim: api-driven claims add\n"
	"their webservice to the OAM Application (once) and re-render manifests/ in the\n"
	"same commit; oam-driven ones (or claims without the annotation) change nothing.\n"
	"scaffold writes a service's source into its application container REPO\n"
	"(microservices/SERVICE/: onion layout, tests, Dockerfile, /health, idp-local.yaml).\n"
	"history lists the commits (source, author, components changed); diff compares\n"
	"the rendered objects of two revisions (REV2 defaults to HEAD); rollback commits\n"
	"an old revision's content again. release version prints MAJOR.MINOR.<sha7> of\n"
	"a source repository (.version, default 1.1); tags the image tags of a build\n"
	"(registry default docker.io/socrates12345, the original's; branch default the\n"
	"source's); set-image sets a component's image by component name and records\n"
	"app.version / app.commit-sha, committing only a change. A repository is named by its application\n"
	"(DIR/APP-gitops) or by its path. The author comes from --author, else\n"
	"$IDP_GIT_AUTHOR, else 'idp <idp@localhost>'.\n"
	"\n"
	"A repository with a remote (origin; init --remote sets it) is published:\n"
	"fetched and fast-forwarded first, pushed after the commit; when someone pushed\n"
	"meanwhile the change is made again on the new head (at most 8 times).\n"
	"--token-file F reads an HTTP(S) token from F (a secret); URLs with credentials\n"
	"in them are refused.\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure (git), 2 bad input.\n";

/* ---------------------------------------------------------------- the renderer */

static int render_for_gitops(void *ctx, idp_arena *a, const char *app_file, const char *app_text, size_t app_len,
			     const idp_gitops_files *claims, idp_gitops_files *out, idp_err *err)
{
	(void)ctx;
	idp_render_registry *reg = idp_render_registry_new(a);
	int rc = idp_render_registry_load_builtin(reg, err);
	idp_doc_node **docs = NULL;
	size_t n_docs = 0, cap = 0;
	idp_doc_stream s;
	if (rc == 0)
		rc = idp_doc_load(a, app_file, app_text, app_len, NULL, &s, err);
	for (size_t i = 0; rc == 0 && i < s.len; i++) {
		docs = idp_arena_grow(a, docs, n_docs, &cap, sizeof(*docs));
		docs[n_docs++] = s.docs[i];
	}
	for (size_t c = 0; rc == 0 && claims && c < claims->len; c++) {
		rc = idp_doc_load(a, claims->items[c].path, claims->items[c].content, claims->items[c].len, NULL, &s, err);
		for (size_t i = 0; rc == 0 && i < s.len; i++) {
			docs = idp_arena_grow(a, docs, n_docs, &cap, sizeof(*docs));
			docs[n_docs++] = s.docs[i];
		}
	}
	idp_doc_node **objs = NULL;
	size_t n = 0;
	idp_render_opts ro = IDP_RENDER_OPTS_INIT;
	if (rc == 0)
		rc = idp_render_docs(a, reg, docs, n_docs, &ro, &objs, &n, err);
	if (rc == 0)
		rc = idp_cmd_objects_files(a, objs, n, out, err);
	idp_render_registry_free(reg);
	return rc;
}

static const idp_gitops_renderer renderer = {render_for_gitops, NULL};

const idp_gitops_renderer *idp_cmd_gitops_renderer(void)
{
	return &renderer;
}

/* ---------------------------------------------------------------- options */

typedef struct gitops_cli {
	const char *dir, *remote, *repo, *claim, *author, *source, *registry, *branch, *version, *commit, *token_file;
	const char *language, *framework;
	idp_gitops_remote rem;
	long max;
	idp_gitops_identity who;
	const char *args[4];
	int nargs;
} gitops_cli;

/* "Name <email>" into who (strings in a). */
static int parse_author(idp_arena *a, const char *s, idp_gitops_identity *who, idp_err *err)
{
	const char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (!lt || !gt || lt == s)
		return idp_err_set(err, IDP_EINPUT, "author \"%s\": want 'Name <email>'", s);
	const char *end = lt;
	while (end > s && end[-1] == ' ')
		end--;
	who->name = idp_arena_strndup(a, s, (size_t)(end - s));
	who->email = idp_arena_strndup(a, lt + 1, (size_t)(gt - lt - 1));
	return 0;
}

static int parse_flags(idp_arena *a, int argc, char **argv, int first, gitops_cli *o, idp_err *err)
{
	enum { OPT_DIR = 1000, OPT_REMOTE, OPT_GITOPS, OPT_CLAIM, OPT_AUTHOR, OPT_SOURCE, OPT_REGISTRY, OPT_BRANCH,
	       OPT_VERSION, OPT_COMMIT, OPT_TOKEN_FILE, OPT_LANGUAGE, OPT_FRAMEWORK };
	static const struct option opts[] = {{"dir", required_argument, NULL, OPT_DIR},
					     {"remote", required_argument, NULL, OPT_REMOTE},
					     {"gitops", required_argument, NULL, OPT_GITOPS},
					     {"claim", required_argument, NULL, OPT_CLAIM},
					     {"author", required_argument, NULL, OPT_AUTHOR},
					     {"source", required_argument, NULL, OPT_SOURCE},
					     {"registry", required_argument, NULL, OPT_REGISTRY},
					     {"branch", required_argument, NULL, OPT_BRANCH},
					     {"version", required_argument, NULL, OPT_VERSION},
					     {"commit", required_argument, NULL, OPT_COMMIT},
					     {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
					     {"language", required_argument, NULL, OPT_LANGUAGE},
					     {"framework", required_argument, NULL, OPT_FRAMEWORK},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	*o = (gitops_cli){".",  NULL, NULL, NULL, getenv("IDP_GIT_AUTHOR"), ".", "docker.io/socrates12345", NULL, NULL,
			  NULL, NULL, NULL, NULL, {NULL, NULL}, 20, IDP_GITOPS_IDENTITY_DEFAULT, {0}, 0};
	optind = first;
	int c, rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: o->dir = optarg; break;
		case OPT_REMOTE: o->remote = optarg; break;
		case OPT_GITOPS: o->repo = optarg; break;
		case OPT_CLAIM: o->claim = optarg; break;
		case OPT_AUTHOR: o->author = optarg; break;
		case OPT_SOURCE: o->source = optarg; break;
		case OPT_REGISTRY: o->registry = optarg; break;
		case OPT_BRANCH: o->branch = optarg; break;
		case OPT_VERSION: o->version = optarg; break;
		case OPT_COMMIT: o->commit = optarg; break;
		case OPT_TOKEN_FILE: o->token_file = optarg; break;
		case OPT_LANGUAGE: o->language = optarg; break;
		case OPT_FRAMEWORK: o->framework = optarg; break;
		case 'n': {
			char *end;
			o->max = strtol(optarg, &end, 10);
			if (end == optarg || *end || o->max < 0)
				return idp_err_set(err, IDP_EINPUT, "-n wants a number of revisions, got \"%s\"", optarg);
			break;
		}
		case 'h': fputs(gitops_usage, stdout); return 1;
		default: return idp_err_set(err, IDP_EINPUT, "bad usage (see idp gitops --help)");
		}
	}
	for (; optind < argc; optind++) {
		if (o->nargs == 4)
			return idp_err_set(err, IDP_EINPUT, "too many arguments (see idp gitops --help)");
		o->args[o->nargs++] = argv[optind];
	}
	if (o->author && *o->author)
		rc = parse_author(a, o->author, &o->who, err);
	if (rc == 0 && o->token_file) {
		idp_buf t = IDP_BUF_INIT;
		rc = idp_file_read(o->token_file, 4096, &t, err);
		size_t n = t.len;
		while (n && (t.ptr[n - 1] == '\n' || t.ptr[n - 1] == '\r' || t.ptr[n - 1] == ' '))
			n--;
		if (rc == 0)
			o->rem.token = idp_arena_strndup(a, t.ptr, n);
		idp_buf_free(&t);
	}
	return rc;
}

/* APP (DIR/APP-gitops) or, when it holds a '/', a repository's path (./x
 * for one here): an application's source checkout often sits next to its
 * GitOps repository under the same name. */
static const char *repo_path(idp_arena *a, const gitops_cli *o, const char *app_or_path)
{
	if (strchr(app_or_path, '/'))
		return app_or_path;
	return idp_arena_printf(a, "%s/%s", o->dir, idp_gitops_repo_name(a, app_or_path));
}

static void print_warning(const idp_gitops_commit_result *res)
{
	if (res->warning)
		fprintf(stderr, "idp: warning: %s\n", res->warning);
}

/* ---------------------------------------------------------------- verbs */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int nothing(idp_gitops_repo *r, idp_arena *a, void *ctx, idp_gitops_commit_result *res, idp_err *err)
{
	(void)r;
	(void)a;
	(void)ctx;
	(void)err;
	memset(res, 0, sizeof(*res));
	return 0;
}

/* The first push of a new repository; a remote with history of its own is
 * not taken over. */
static int publish_new(idp_arena *a, const char *path, const gitops_cli *o, idp_err *err)
{
	idp_gitops_repo *r;
	int rc = idp_gitops_open(path, 30000, IDP_GITOPS_OWNED, &r, err);
	char before[41], after[41];
	idp_gitops_commit_result res;
	if (rc == 0)
		rc = idp_gitops_resolve(r, "HEAD", before, err);
	if (rc == 0)
		rc = idp_gitops_set_remote(r, o->remote, err);
	if (rc == 0)
		rc = idp_gitops_publish(r, a, &o->rem, nothing, NULL, &res, err);
	if (rc == 0)
		rc = idp_gitops_resolve(r, "HEAD", after, err);
	if (rc == 0 && strcmp(before, after) != 0)
		rc = idp_err_set(err, IDP_EINPUT, "%s has history already: clone it instead of init", o->remote);
	idp_gitops_close(r);
	return rc;
}

static int gitops_init(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 1)
		return idp_err_set(err, IDP_EINPUT, "gitops init: want APP (see idp gitops --help)");
	idp_doc_node **objs;
	size_t n;
	idp_gitops_files platform = {0};
	int rc = idp_cmd_catalog_objects(a, &objs, &n, err);
	if (rc == 0)
		rc = idp_cmd_objects_files(a, objs, n, &platform, err);
	idp_gitops_init_opts io = {o->remote, NULL, &platform};
	const char *path;
	if (rc == 0)
		rc = idp_gitops_init(a, o->args[0], o->dir, &io, &renderer, &o->who, &path, err);
	if (rc == 0 && o->remote && (rc = publish_new(a, path, o, err)) != 0)
		remove_tree(path); /* made by this command: a failed init leaves nothing */
	if (rc == 0)
		printf("%s\n", path);
	return rc;
}

static int load_claim(idp_arena *a, const char *path, const idp_doc_node **claim, idp_err *err)
{
	idp_doc_stream s;
	int rc = idp_doc_load_file(a, path, NULL, &s, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < s.len; i++) {
		const char *kind = idp_doc_map_get_str(s.docs[i], "kind");
		if (kind && strcmp(kind, "ApplicationClaim") == 0) {
			*claim = s.docs[i];
			return 0;
		}
	}
	return idp_err_at(err, (idp_pos){path, 1, 1}, NULL, "no ApplicationClaim in the file");
}

typedef struct add_op {
	const idp_doc_node *claim;
	const gitops_cli *o;
	idp_gitops_update up;
} add_op;

static int run_add(idp_gitops_repo *r, idp_arena *a, void *ctx, idp_gitops_commit_result *res, idp_err *err)
{
	add_op *op = ctx;
	int rc = idp_gitops_add_component(r, a, op->claim, &renderer, &op->o->who, &op->up, err);
	*res = op->up.commit;
	return rc;
}

static int gitops_add_component(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (!o->repo || !o->claim || o->nargs)
		return idp_err_set(err, IDP_EINPUT, "gitops add-component: want --gitops REPO --claim FILE");
	const idp_doc_node *claim = NULL;
	int rc = load_claim(a, o->claim, &claim, err);
	idp_gitops_repo *r = NULL;
	if (rc == 0)
		rc = idp_gitops_open(o->repo, 30000, IDP_GITOPS_OWNED, &r, err);
	add_op op = {claim, o, {0}};
	idp_gitops_commit_result res;
	if (rc == 0)
		rc = idp_gitops_publish(r, a, &o->rem, run_add, &op, &res, err);
	idp_gitops_close(r);
	idp_gitops_update up = op.up;
	if (rc == 0) {
		printf("%s: %s\n",
		       up.decision == IDP_GITOPS_ADDED ? "added" : up.decision == IDP_GITOPS_EXISTS ? "unchanged" : "skipped",
		       up.reason);
		print_warning(&up.commit);
	}
	return rc;
}

static int history(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 1)
		return idp_err_set(err, IDP_EINPUT, "history: want APP (see idp gitops --help)");
	idp_gitops_repo *r;
	int rc = idp_gitops_open(repo_path(a, o, o->args[0]), 30000, IDP_GITOPS_OWNED, &r, err);
	idp_gitops_revision *revs = NULL;
	size_t n = 0;
	if (rc == 0)
		rc = idp_gitops_history(r, a, o->max > 0 ? (size_t)o->max : 0, &revs, &n, err);
	idp_gitops_close(r);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char when[32];
		time_t t = (time_t)revs[i].time;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&t));
		printf("%.7s  %s  %-10s  %s  %s", revs[i].id, when, revs[i].source ? revs[i].source : "-", revs[i].author,
		       revs[i].summary);
		if (*revs[i].components)
			printf("  [%s]", revs[i].components);
		printf("\n");
	}
	return rc;
}

static int diff(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs < 2 || o->nargs > 3)
		return idp_err_set(err, IDP_EINPUT, "diff: want APP REV1 [REV2] (see idp gitops --help)");
	idp_gitops_repo *r;
	int rc = idp_gitops_open(repo_path(a, o, o->args[0]), 30000, IDP_GITOPS_OWNED, &r, err);
	idp_buf out = IDP_BUF_INIT;
	if (rc == 0)
		rc = idp_gitops_diff(r, o->args[1], o->nargs == 3 ? o->args[2] : "HEAD", &out, err);
	idp_gitops_close(r);
	if (rc == 0)
		fwrite(idp_buf_cstr(&out), 1, out.len, stdout);
	idp_buf_free(&out);
	return rc;
}

typedef struct rollback_op {
	char id[41]; /* REV, resolved once, after the first fetch (HEAD~1 means the remote's) */
	const gitops_cli *o;
} rollback_op;

static int run_rollback(idp_gitops_repo *r, idp_arena *a, void *ctx, idp_gitops_commit_result *res, idp_err *err)
{
	rollback_op *op = ctx;
	int rc = op->id[0] ? 0 : idp_gitops_resolve(r, op->o->args[1], op->id, err);
	return rc ? rc : idp_gitops_rollback(r, a, op->id, &op->o->who, res, err);
}

static int rollback(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 2)
		return idp_err_set(err, IDP_EINPUT, "rollback: want APP REV (see idp gitops --help)");
	idp_gitops_repo *r;
	int rc = idp_gitops_open(repo_path(a, o, o->args[0]), 30000, IDP_GITOPS_OWNED, &r, err);
	idp_gitops_commit_result res;
	rollback_op op = {{0}, o};
	if (rc == 0)
		rc = idp_gitops_publish(r, a, &o->rem, run_rollback, &op, &res, err);
	idp_gitops_close(r);
	if (rc == 0) {
		if (res.changed)
			printf("rolled back: commit %.7s has the content of %s\n", res.id, o->args[1]);
		else
			printf("unchanged: HEAD has the content of %s already\n", o->args[1]);
		print_warning(&res);
	}
	return rc;
}

static int release_version(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs)
		return idp_err_set(err, IDP_EINPUT, "release version: no arguments (see idp gitops --help)");
	const char *v;
	int rc = idp_gitops_version(a, o->source, &v, err);
	if (rc == 0)
		printf("%s\n", v);
	return rc;
}

/* The branch the source repository is on (for tags). */
static int source_branch(idp_arena *a, const gitops_cli *o, const char **out, idp_err *err)
{
	if (o->branch) {
		*out = o->branch;
		return 0;
	}
	return idp_gitops_current_branch(a, o->source, out, err); /* a developer's repository: no lock */
}

static int release_tags(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 1)
		return idp_err_set(err, IDP_EINPUT, "release tags: want SERVICE (see idp gitops --help)");
	const char *v, *branch, **tags;
	size_t n;
	int rc = idp_gitops_version(a, o->source, &v, err);
	if (rc == 0)
		rc = source_branch(a, o, &branch, err);
	if (rc == 0)
		rc = idp_gitops_tags(a, o->args[0], v, o->registry, branch, &tags, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		printf("%s%s", tags[i], i + 1 < n ? "," : "\n");
	return rc;
}

static int run_set_image(idp_gitops_repo *r, idp_arena *a, void *ctx, idp_gitops_commit_result *res, idp_err *err)
{
	const gitops_cli *o = ctx;
	return idp_gitops_set_image(r, a, o->args[1], o->args[2], o->version, o->commit, &renderer, &o->who, res, err);
}

static int release_set_image(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 3)
		return idp_err_set(err, IDP_EINPUT, "release set-image: want APP COMPONENT IMAGE (see idp gitops --help)");
	idp_gitops_repo *r;
	int rc = idp_gitops_open(repo_path(a, o, o->args[0]), 30000, IDP_GITOPS_OWNED, &r, err);
	idp_gitops_commit_result res;
	if (rc == 0)
		rc = idp_gitops_publish(r, a, &o->rem, run_set_image, (void *)o, &res, err);
	idp_gitops_close(r);
	if (rc == 0) {
		if (res.changed)
			printf("set: %s uses %s (commit %.7s)\n", o->args[1], o->args[2], res.id);
		else
			printf("unchanged: %s uses %s already\n", o->args[1], o->args[2]);
		print_warning(&res);
	}
	return rc;
}

static int gitops_scaffold(idp_arena *a, const gitops_cli *o, idp_err *err)
{
	if (o->nargs != 1 || !o->language)
		return idp_err_set(err, IDP_EINPUT, "gitops scaffold: want SERVICE --language python|c --dir REPO");
	idp_gitops_commit_result res;
	int rc = idp_gitops_scaffold(a, o->args[0], o->language, o->framework, o->dir, &o->who, &res, err);
	if (rc == 0) {
		if (res.changed)
			printf("scaffolded: %s/microservices/%s (commit %.7s)\n", o->dir, o->args[0], res.id);
		else
			printf("unchanged: %s/microservices/%s exists\n", o->dir, o->args[0]);
		print_warning(&res);
	}
	return rc;
}

typedef int (*gitops_verb)(idp_arena *, const gitops_cli *, idp_err *);

static int run(int argc, char **argv, int first, gitops_verb verb)
{
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	gitops_cli o;
	int rc = parse_flags(a, argc, argv, first, &o, &err);
	if (rc == 1) {
		idp_arena_free(a);
		return IDP_EXIT_OK;
	}
	if (rc == 0)
		rc = verb(a, &o, &err);
	if (rc)
		idp_cmd_print_err(&err);
	idp_err_clear(&err);
	idp_arena_free(a);
	return idp_cmd_exit_code(rc);
}

int idp_cmd_gitops(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return run(argc, argv, 2, gitops_init);
	if (argc >= 2 && strcmp(argv[1], "add-component") == 0)
		return run(argc, argv, 2, gitops_add_component);
	if (argc >= 2 && strcmp(argv[1], "scaffold") == 0)
		return run(argc, argv, 2, gitops_scaffold);
	bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
	fputs(gitops_usage, help ? stdout : stderr);
	return help ? IDP_EXIT_OK : IDP_EXIT_INPUT;
}

int idp_cmd_release(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "version") == 0)
		return run(argc, argv, 2, release_version);
	if (argc >= 2 && strcmp(argv[1], "tags") == 0)
		return run(argc, argv, 2, release_tags);
	if (argc >= 2 && strcmp(argv[1], "set-image") == 0)
		return run(argc, argv, 2, release_set_image);
	bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
	fputs(gitops_usage, help ? stdout : stderr);
	return help ? IDP_EXIT_OK : IDP_EXIT_INPUT;
}

int idp_cmd_history(int argc, char **argv)
{
	return run(argc, argv, 1, history);
}

int idp_cmd_diff(int argc, char **argv)
{
	/* idp diff APP (one operand, no revision): desired against live. */
	size_t operands = 0;
	bool state = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0)
			state = true;
		if (strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "--state") == 0)
			i++;
		else if (argv[i][0] != '-')
			operands++;
	}
	if (state || operands == 1)
		return idp_cmd_diff_live(argc, argv);
	return run(argc, argv, 1, diff);
}

int idp_cmd_rollback(int argc, char **argv)
{
	return run(argc, argv, 1, rollback);
}
