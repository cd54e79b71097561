/* A new application's GitOps repository (docs/GITOPS.md): the Argo CD
 * app-of-apps and its two sync units (platform/ first, then
 * manifests/<app>/), the OAM Application with no components, claims/, and
 * one kustomize overlay per environment. */
#include "gitops/gitops_private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARGOCD_NAMESPACE "argocd"
#define IN_CLUSTER "https://kubernetes.default.svc"

static void put(idp_arena *a, idp_gitops_files *fs, const char *path, const char *text)
{
	idp_gitops_files_put(a, fs, path, text, strlen(text));
}

/* An Argo CD Application syncing path of the repository into namespace,
 * with the original's sync options (automated prune and self-heal,
 * CreateNamespace, ServerSideApply) and a sync wave. */
static char *argo_app(idp_arena *a, const char *name, const char *remote, const char *path, const char *namespace,
		      const char *wave, bool finalizer)
{
	return idp_arena_printf(a,
				"apiVersion: argoproj.io/v1alpha1\n"
				"kind: Application\n"
				"metadata:\n"
				"  name: %s\n"
				"  namespace: " ARGOCD_NAMESPACE "\n"
				"  annotations:\n"
				"    argocd.argoproj.io/sync-wave: \"%s\"\n"
				"%s"
				"spec:\n"
				"  project: default\n"
				"  source:\n"
				"    repoURL: \"%s\"\n"
				"    targetRevision: HEAD\n"
				"    path: %s\n"
				"  destination:\n"
				"    server: " IN_CLUSTER "\n"
				"    namespace: %s\n"
				"  syncPolicy:\n"
				"    automated:\n"
				"      prune: true\n"
				"      selfHeal: true\n"
				"    syncOptions:\n"
				"    - CreateNamespace=true\n"
				"    - ServerSideApply=true\n",
				name, wave,
				finalizer ? "  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n" : "", remote, path,
				namespace);
}

static char *oam_application(idp_arena *a, const char *app)
{
	return idp_arena_printf(a,
				"# The OAM Application of %s: the source of truth for manifests/%s/.\n"
				"# Argo CD never syncs this file; every change is rendered into manifests/ in\n"
				"# the same commit (idp render), and that is what is synced.\n"
				"apiVersion: core.oam.dev/v1beta1\n"
				"kind: Application\n"
				"metadata:\n"
				"  name: %s\n"
				"spec:\n"
				"  components: []\n",
				app, app, app);
}

/* A kustomize patch setting an autoscaling.knative.dev annotation on the
 * revision template of every Knative Service. */
static const char *knative_annotation_patch(idp_arena *a, const char *key, const char *value)
{
	return idp_arena_printf(a,
				"patches:\n"
				"- target:\n"
				"    group: serving.knative.dev\n"
				"    kind: Service\n"
				"  patch: |-\n"
				"    - op: add\n"
				"      path: /spec/template/metadata/annotations/autoscaling.knative.dev~1%s\n"
				"      value: \"%s\"\n",
				key, value);
}

/* One overlay per environment: its namespace, its label, and what differs
 * there (staging caps Knative scale, production keeps one replica warm). */
static char *overlay(idp_arena *a, const char *app, const char *env)
{
	const char *patch = strcmp(env, "staging") == 0      ? knative_annotation_patch(a, "max-scale", "3")
			    : strcmp(env, "production") == 0 ? knative_annotation_patch(a, "min-scale", "1")
							     : "";
	return idp_arena_printf(a,
				"# %s: manifests/%s/ in namespace %s-%s.\n"
				"apiVersion: kustomize.config.k8s.io/v1beta1\n"
				"kind: Kustomization\n"
				"namespace: %s-%s\n"
				"resources:\n"
				"- ../../manifests/%s\n"
				"labels:\n"
				"- pairs:\n"
				"    platform.example.org/environment: %s\n"
				"%s",
				env, app, app, env, app, env, app, env, patch);
}

static const char README[] =
	"# %s GitOps repository\n"
	"\n"
	"Written by `idp gitops`; every change is one commit with an `Idp-Source` trailer.\n"
	"\n"
	"| path | what | synced by Argo CD |\n"
	"|---|---|---|\n"
	"| `apps/` | the app-of-apps and one Application per sync unit | yes (the root) |\n"
	"| `platform/` | what the platform installs: XRDs, Compositions, definitions (`idp catalog export`) | wave 0 |\n"
	"| `manifests/%s/` | the rendered objects (`idp render`), one file per object | wave 1 |\n"
	"| `oam/applications/application.yaml` | the OAM Application: the source of truth | no |\n"
	"| `claims/` | claims made through the API or Slack | no (rendered into manifests/) |\n"
	"| `environments/{dev,staging,production}/` | kustomize overlays of `manifests/%s/` | no |\n";

int idp_gitops_init(idp_arena *a, const char *app, const char *dir, const idp_gitops_init_opts *opts,
		    const idp_gitops_renderer *renderer, const idp_gitops_identity *who, const char **path,
		    idp_err *err)
{
	const char *bad = idp_name_check_dns1123_label(app);
	if (bad)
		return idp_err_set(err, IDP_EINPUT, "invalid application name \"%s\": %s", app, bad);
	if (opts && opts->remote && idp_gitops_check_url(opts->remote, err))
		return IDP_EINPUT; /* before anything is written */
	gitops_git_init();
	const char *repo_path = idp_arena_printf(a, "%s/%s", dir, idp_gitops_repo_name(a, app));
	struct stat st;
	if (stat(repo_path, &st) == 0)
		return idp_err_set(err, IDP_EINPUT, "%s exists; a new repository needs a new place", repo_path);
	const char *remote = opts && opts->remote ? opts->remote : idp_arena_printf(a, "file://%s", repo_path);
	idp_gitops_files fs = {0};
	put(a, &fs, "README.md", idp_arena_printf(a, README, app, app, app));
	put(a, &fs, "apps/app-of-apps.yaml",
	    argo_app(a, idp_arena_printf(a, "%s-app-of-apps", app), remote, "apps", ARGOCD_NAMESPACE, "0", true));
	put(a, &fs, "apps/platform.yaml",
	    argo_app(a, idp_arena_printf(a, "%s-platform", app), remote, "platform", "vela-system", "0", false));
	put(a, &fs, idp_arena_printf(a, "apps/%s.yaml", app),
	    argo_app(a, app, remote, idp_arena_printf(a, "manifests/%s", app), app, "1", false));
	const char *oam = oam_application(a, app);
	put(a, &fs, IDP_GITOPS_OAM_FILE, oam);
	put(a, &fs, "claims/README.md", "Claims made through the API or Slack, rendered into manifests/ with the OAM Application.\n");
	static const char *const envs[] = {"dev", "staging", "production"};
	for (size_t i = 0; i < 3; i++)
		put(a, &fs, idp_arena_printf(a, "environments/%s/kustomization.yaml", envs[i]), overlay(a, app, envs[i]));
	for (size_t i = 0; opts && opts->platform && i < opts->platform->len; i++) {
		const idp_gitops_file *f = &opts->platform->items[i];
		idp_gitops_files_put(a, &fs, idp_arena_printf(a, "platform/%s", f->path), f->content, f->len);
	}
	if (!opts || !opts->platform || opts->platform->len == 0)
		put(a, &fs, "platform/README.md", "What the platform installs (idp catalog export).\n");
	idp_gitops_files rendered = {0}, no_claims = {0};
	int rc = renderer ? renderer->render(renderer->ctx, a, IDP_GITOPS_OAM_FILE, oam, strlen(oam), &no_claims,
					     &rendered, err)
			  : 0;
	for (size_t i = 0; rc == 0 && i < rendered.len; i++)
		idp_gitops_files_put(a, &fs, idp_arena_printf(a, "manifests/%s/%s", app, rendered.items[i].path),
				     rendered.items[i].content, rendered.items[i].len);
	if (rc)
		return rc;
	git_repository *git;
	git_repository_init_options io;
	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
	io.initial_head = "main";
	if (git_repository_init_ext(&git, repo_path, &io) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, repo_path);
	git_repository_free(git);
	idp_gitops_repo *r;
	rc = idp_gitops_open(repo_path, 5000, IDP_GITOPS_OWNED, &r, err);
	if (rc)
		return rc;
	const char *trailers[] = {"Idp-Source: init", NULL};
	idp_gitops_change change = {idp_arena_printf(a, "Create the GitOps repository of %s", app), NULL, trailers, fs,
				    NULL};
	idp_gitops_commit_result res;
	rc = idp_gitops_commit(r, &change, who, a, &res, err);
	idp_gitops_close(r);
	if (rc == 0)
		*path = repo_path;
	return rc;
}
