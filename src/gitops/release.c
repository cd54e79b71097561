/* Versions and images (idp release): MAJOR.MINOR.<sha7> from a source
 * repository, the image tags the original's version-manager gave a build
 * (original-system.md §9.1), and setting a component's image in the OAM
 * Application by component name. */
#include "gitops/gitops_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "1.1" when the file is absent or not MAJOR.MINOR. */
static void parse_version_file(const char *text, size_t len, long *major, long *minor)
{
	*major = 1;
	*minor = 1;
	char buf[64];
	size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	char *end;
	long ma = strtol(buf, &end, 10);
	if (end == buf || *end != '.' || ma < 0)
		return;
	char *m = end + 1;
	long mi = strtol(m, &end, 10);
	if (end == m || mi < 0 || (*end && !isspace((unsigned char)*end)))
		return;
	*major = ma;
	*minor = mi;
}

int idp_gitops_version(idp_arena *a, const char *source, const char **out, idp_err *err)
{
	gitops_git_init();
	git_repository *repo;
	if (git_repository_open_ext(&repo, source, 0, NULL) != 0)
		return idp_err_set(err, IDP_EINPUT, "%s is not in a git repository", source);
	git_object *head = NULL;
	int rc = git_revparse_single(&head, repo, "HEAD^{commit}") == 0
			 ? 0
			 : idp_err_set(err, IDP_EINPUT, "%s: the repository has no commit yet", source);
	git_tree *tree = NULL;
	if (rc == 0 && git_commit_tree(&tree, (git_commit *)head) != 0)
		rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot read HEAD's tree");
	if (rc == 0) {
		idp_buf v = IDP_BUF_INIT;
		idp_err ignored = IDP_ERR_INIT;
		long major = 1, minor = 1;
		if (gitops_read_tree_file(repo, tree, ".version", &v, &ignored) == 0)
			parse_version_file(idp_buf_cstr(&v), v.len, &major, &minor);
		char sha[8];
		git_oid_tostr(sha, sizeof(sha), git_object_id(head));
		*out = idp_arena_printf(a, "%ld.%ld.%s", major, minor, sha);
		idp_buf_free(&v);
		idp_err_clear(&ignored);
	}
	git_tree_free(tree);
	git_object_free(head);
	git_repository_free(repo);
	return rc;
}

/* A branch name as a tag: lower case, [a-z0-9._-], others '-'. */
static char *tag_safe(idp_arena *a, const char *branch)
{
	char *s = idp_arena_strdup(a, branch);
	for (char *p = s; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			*p = '-';
	}
	return s;
}

int idp_gitops_tags(idp_arena *a, const char *service, const char *version, const char *registry, const char *branch,
		    const char ***out, size_t *n, idp_err *err)
{
	const char *bad = idp_name_check_dns1123_label(service);
	if (bad)
		return idp_err_set(err, IDP_EINPUT, "invalid service name \"%s\": %s", service, bad);
	const char *d1 = strchr(version, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || !d2[1])
		return idp_err_set(err, IDP_EINPUT, "version \"%s\": want MAJOR.MINOR.SHA", version);
	const char *sha = d2 + 1;
	const char *image = idp_arena_printf(a, "%s/%s", registry, service);
	const char **tags = idp_arena_alloc(a, 8 * sizeof(*tags));
	size_t k = 0;
	tags[k++] = idp_arena_printf(a, "%s:%s", image, version);
	tags[k++] = idp_arena_printf(a, "%s:%s", image, sha);
	tags[k++] = idp_arena_printf(a, "%s:%s-%s", image, tag_safe(a, branch), sha);
	if (strcmp(branch, "main") == 0 || strcmp(branch, "master") == 0 || strncmp(branch, "release/", 8) == 0) {
		tags[k++] = idp_arena_printf(a, "%s:latest", image);
		tags[k++] = idp_arena_printf(a, "%s:%.*s", image, (int)(d1 - version), version);
		tags[k++] = idp_arena_printf(a, "%s:%.*s", image, (int)(d2 - version), version);
	} else if (strcmp(branch, "develop") == 0) {
		tags[k++] = idp_arena_printf(a, "%s:develop", image);
	}
	*out = tags;
	*n = k;
	return 0;
}

/* An image reference: no blanks or quotes, at most 512 bytes. */
static bool image_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 512)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("./:@_-", *p))
			return false;
	return true;
}

static const char *quoted(idp_arena *a, const char *s)
{
	return idp_arena_printf(a, "\"%s\"", s); /* callers pass [A-Za-z0-9./:@_-] only */
}

/* The Application document and the index of component name in it. */
static int find_component(const char *text, size_t len, idp_arena *a, const char *name, size_t *doc, long *index,
			  idp_err *err)
{
	idp_doc_stream s;
	int rc = idp_doc_load(a, IDP_GITOPS_OAM_FILE, text, len, NULL, &s, err);
	if (rc)
		return rc;
	const char **names = NULL;
	size_t n_names = 0, cap = 0;
	for (size_t i = 0; i < s.len; i++) {
		const char *kind = idp_doc_map_get_str(s.docs[i], "kind");
		if (!kind || strcmp(kind, "Application") != 0)
			continue;
		idp_doc_node *comps;
		if (idp_doc_path_get(s.docs[i], "spec.components", &comps, NULL) || comps->kind != IDP_DOC_SEQ)
			continue;
		for (size_t k = 0; k < comps->as.seq.len; k++) {
			const char *cn = idp_doc_map_get_str(comps->as.seq.items[k], "name");
			if (cn && strcmp(cn, name) == 0) {
				*doc = i;
				*index = (long)k;
				return 0;
			}
			if (cn) {
				names = idp_arena_grow(a, names, n_names, &cap, sizeof(*names));
				names[n_names++] = cn;
			}
		}
	}
	const char *near = idp_str_closest(name, names, n_names);
	return idp_err_set(err, IDP_EINPUT, "%s: no component named \"%s\"%s%s%s", IDP_GITOPS_OAM_FILE, name,
			   near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
}

int idp_gitops_set_image(idp_gitops_repo *r, idp_arena *a, const char *component, const char *image,
			 const char *version, const char *commit, const idp_gitops_renderer *renderer,
			 const idp_gitops_identity *who, idp_gitops_commit_result *res, idp_err *err)
{
	memset(res, 0, sizeof(*res));
	if (!image_ok(image))
		return idp_err_set(err, IDP_EINPUT, "invalid image reference \"%s\"", image);
	if ((version && !image_ok(version)) || (commit && !image_ok(commit)))
		return idp_err_set(err, IDP_EINPUT, "invalid version or commit");
	idp_buf text = IDP_BUF_INIT;
	int rc = idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, err);
	if (rc == IDP_ENOTFOUND)
		rc = idp_err_set(err, IDP_EINPUT, "the repository has no %s", IDP_GITOPS_OAM_FILE);
	const char *cur = idp_arena_strndup(a, idp_buf_cstr(&text), text.len);
	size_t cur_len = text.len;
	idp_buf_free(&text);
	size_t doc = 0;
	long index = 0;
	if (rc == 0)
		rc = find_component(cur, cur_len, a, component, &doc, &index, err);
	if (rc)
		return rc;
	idp_gitops_path_step image_path[] = {{"spec", 0}, {"components", 0}, {NULL, index}, {"properties", 0}, {"image", 0}};
	rc = gitops_yaml_set(a, IDP_GITOPS_OAM_FILE, cur, cur_len, doc, image_path, 5, quoted(a, image), &cur, &cur_len,
			     err);
	/* app.version and app.commit-sha on the Application, as the original
	 * recorded them (§9.1). */
	if (rc == 0 && version) {
		idp_gitops_path_step p[] = {{"metadata", 0}, {"annotations", 0}, {"app.version", 0}};
		rc = gitops_yaml_set(a, IDP_GITOPS_OAM_FILE, cur, cur_len, doc, p, 3, quoted(a, version), &cur, &cur_len, err);
	}
	if (rc == 0 && commit) {
		idp_gitops_path_step p[] = {{"metadata", 0}, {"annotations", 0}, {"app.commit-sha", 0}};
		rc = gitops_yaml_set(a, IDP_GITOPS_OAM_FILE, cur, cur_len, doc, p, 3, quoted(a, commit), &cur, &cur_len, err);
	}
	/* The edit must read back as the intended values. */
	idp_doc_stream s;
	if (rc == 0 && idp_doc_load(a, IDP_GITOPS_OAM_FILE, cur, cur_len, NULL, &s, err) == 0) {
		char path[96];
		snprintf(path, sizeof(path), "spec.components[%ld].properties.image", index);
		const char *paths[] = {path, "metadata.annotations[\"app.version\"]", "metadata.annotations[\"app.commit-sha\"]"};
		const char *want[] = {image, version, commit};
		for (size_t k = 0; rc == 0 && k < 3; k++) {
			idp_doc_node *got;
			if (want[k] && (doc >= s.len || idp_doc_path_get(s.docs[doc], paths[k], &got, NULL) ||
					got->kind != IDP_DOC_STR || strcmp(got->as.str.ptr, want[k]) != 0))
				rc = idp_err_set(err, IDP_EINPUT, "%s: the edit of %s did not read back (an unusual layout?); "
								  "nothing written",
						 IDP_GITOPS_OAM_FILE, paths[k]);
		}
	} else if (rc == 0) {
		rc = IDP_EINPUT;
	}
	if (rc)
		return rc;
	idp_gitops_change change = {idp_arena_printf(a, "Set the image of %s to %s", component, image), NULL, NULL, {0}, NULL};
	idp_gitops_files_put(a, &change.files, IDP_GITOPS_OAM_FILE, cur, cur_len);
	if ((rc = gitops_render_into(r, a, renderer, cur, cur_len, &change.files, err)))
		return rc;
	const char *trailers[] = {"Idp-Source: release", version ? idp_arena_printf(a, "Idp-Version: %s", version) : NULL,
				  NULL};
	change.trailers = trailers;
	return idp_gitops_commit(r, &change, who, a, res, err);
}
