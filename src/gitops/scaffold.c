/* A service's source, scaffolded into its application container
 * (microservices/<service>/) from the templates built into idp
 * (templates/<language>-<framework>/), as one commit. A template may vendor
 * sources built into idp as they are: the c template gets the service SDK
 * (sdk/) as the meson subproject subprojects/idp-service/, so that the
 * service builds where the SDK is not installed. */
#include "gitops/gitops_private.h"

#include <string.h>
#include <sys/stat.h>

typedef struct template_kind {
	const char *language, *framework, *dir;
	/* The embedded folder copied verbatim (no {{service}} expansion) and
	 * where it goes in the service's folder; NULL: none. */
	const char *vendor, *vendor_to;
} template_kind;

static const template_kind templates[] = {
	{"python", "fastapi", "templates/python-fastapi/", NULL, NULL},
	{"c", "idp-sdk", "templates/c-idp-sdk/", "sdk/", "subprojects/idp-service/"},
};

/* text with every {{service}} replaced. */
static void expand(idp_buf *out, const char *text, size_t len, const char *service)
{
	static const char mark[] = "{{service}}";
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *m = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 1);
		if (!m) {
			idp_buf_append(out, p, (size_t)(end - p));
			break;
		}
		idp_buf_append(out, p, (size_t)(m - p));
		idp_buf_puts(out, service);
		p = m + sizeof(mark) - 1;
	}
}

static int open_or_init(const char *dir, idp_gitops_repo **r, idp_err *err)
{
	gitops_git_init();
	git_repository *probe;
	if (git_repository_open_ext(&probe, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		git_repository_free(probe);
	} else {
		git_repository_init_options io;
		git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		io.flags = GIT_REPOSITORY_INIT_MKPATH;
		io.initial_head = "main";
		if (git_repository_init_ext(&probe, dir, &io) != 0)
			return gitops_git_fail(err, IDP_ERUNTIME, dir);
		git_repository_free(probe);
	}
	return idp_gitops_open(dir, 30000, 0, r, err);
}

int idp_gitops_scaffold(idp_arena *a, const char *service, const char *language, const char *framework,
			const char *dir, const idp_gitops_identity *who, idp_gitops_commit_result *res, idp_err *err)
{
	memset(res, 0, sizeof(*res));
	const char *bad = idp_name_check_dns1123_label(service);
	if (bad)
		return idp_err_set(err, IDP_EINPUT, "invalid service name \"%s\": %s", service, bad);
	const template_kind *t = NULL;
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (strcmp(templates[i].language, language) == 0)
			t = &templates[i];
	if (!t)
		return idp_err_set(err, IDP_EINPUT, "no template for language \"%s\" (python or c)", language);
	if (framework && strcmp(framework, t->framework) != 0)
		return idp_err_set(err, IDP_EINPUT, "language %s goes with framework %s, not %s", language, t->framework,
				   framework);
	idp_gitops_repo *r;
	int rc = open_or_init(dir, &r, err);
	if (rc)
		return rc;
	const char *base = idp_arena_printf(a, "microservices/%s/", service);
	idp_gitops_files existing = {0}, version = {0};
	rc = idp_gitops_list(r, a, "HEAD", base, &existing, err);
	if (rc == IDP_EINPUT) { /* an unborn branch: nothing yet */
		idp_err_clear(err);
		rc = 0;
	} else if (rc == 0) {
		rc = idp_gitops_list(r, a, "HEAD", ".version", &version, err);
	}
	if (rc == 0 && existing.len) {
		idp_gitops_resolve(r, "HEAD", res->id, err);
		idp_gitops_close(r);
		return 0; /* scaffolded before: the developer's code is theirs now */
	}
	idp_gitops_change change = {idp_arena_printf(a, "Scaffold %s (%s/%s)", service, t->language, t->framework), NULL,
				    NULL, {0}, NULL};
	size_t n;
	const idp_embedded_file *files = idp_embedded_list(&n);
	idp_buf text = IDP_BUF_INIT;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (t->vendor && strncmp(files[i].name, t->vendor, strlen(t->vendor)) == 0) {
			idp_gitops_files_put(a, &change.files,
					     idp_arena_printf(a, "%s%s%s", base, t->vendor_to, files[i].name + strlen(t->vendor)),
					     files[i].data, files[i].len);
			continue;
		}
		if (strncmp(files[i].name, t->dir, strlen(t->dir)) != 0)
			continue;
		idp_buf_clear(&text);
		expand(&text, files[i].data, files[i].len, service);
		idp_gitops_files_put(a, &change.files, idp_arena_printf(a, "%s%s", base, files[i].name + strlen(t->dir)),
				     idp_buf_cstr(&text), text.len);
	}
	idp_buf_free(&text);
	if (version.len == 0) /* MAJOR.MINOR for idp release version */
		idp_gitops_files_put(a, &change.files, ".version", "1.1\n", 4);
	const char *trailers[] = {"Idp-Source: scaffold", NULL};
	change.trailers = trailers;
	if (rc == 0)
		rc = idp_gitops_commit(r, &change, who, a, res, err);
	idp_gitops_close(r);
	return rc;
}
