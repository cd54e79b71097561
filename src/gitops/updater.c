/* The OAM updater: a claim made through the API (api-driven) adds its
 * service to the repository's OAM Application, once; a claim that came from
 * the OAM file itself (oam-driven) never edits it, so nothing loops. The
 * rendered manifests are regenerated in the same commit. */
#include "gitops/gitops_private.h"

#include <strings.h>
#include <string.h>

#define SOURCE_ANNOTATION "webservice.oam.dev/source"

static const char *source_of(const idp_doc_node *claim)
{
	return idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(claim, "metadata"), "annotations"),
				   SOURCE_ANNOTATION);
}

/* api-driven and analyzer-driven edit; anything else (oam-driven in any
 * letter case, or nothing) does not. */
static bool edits(const char *source)
{
	return source && (strcasecmp(source, "api-driven") == 0 || strcasecmp(source, "analyzer-driven") == 0);
}

/* The claims kept in claims/ at HEAD, for the renderer. */
static int claims_at_head(idp_gitops_repo *r, idp_arena *a, idp_gitops_files *out, idp_err *err)
{
	idp_gitops_files all = {0};
	git_commit *head;
	if (gitops_head(r, &head) != 0 || !head)
		return 0;
	git_tree *tree;
	int rc = git_commit_tree(&tree, head) == 0 ? 0 : gitops_git_fail(err, IDP_ERUNTIME, "cannot read HEAD");
	git_commit_free(head);
	if (rc == 0) {
		rc = gitops_list_tree(r->git, tree, a, "claims/", &all, err);
		git_tree_free(tree);
	}
	for (size_t i = 0; rc == 0 && i < all.len; i++)
		if (idp_str_has_suffix(all.items[i].path, ".yaml") || idp_str_has_suffix(all.items[i].path, ".yml"))
			idp_gitops_files_put(a, out, all.items[i].path, all.items[i].content, all.items[i].len);
	return rc;
}

/* The application's name: metadata.name of the OAM Application. */
static const char *app_name(idp_arena *a, const char *text, size_t len)
{
	idp_doc_stream s;
	idp_err ignored = IDP_ERR_INIT;
	const char *name = NULL;
	if (idp_doc_load(a, IDP_GITOPS_OAM_FILE, text, len, NULL, &s, &ignored) == 0)
		for (size_t i = 0; !name && i < s.len; i++)
			name = idp_doc_map_get_str(idp_doc_map_get(s.docs[i], "metadata"), "name");
	idp_err_clear(&ignored);
	return name;
}

int gitops_render_into(idp_gitops_repo *r, idp_arena *a, const idp_gitops_renderer *renderer, const char *oam,
		       size_t oam_len, idp_gitops_files *change, idp_err *err)
{
	const char *app = app_name(a, oam, oam_len);
	if (!app || idp_name_check_dns1123_label(app))
		return idp_err_set(err, IDP_EINPUT, "%s: metadata.name is not a valid application name", IDP_GITOPS_OAM_FILE);
	idp_gitops_files claims = {0}, rendered = {0};
	int rc = claims_at_head(r, a, &claims, err);
	/* The claims this change writes count as well. */
	for (size_t i = 0; rc == 0 && i < change->len; i++) {
		const idp_gitops_file *f = &change->items[i];
		if (strncmp(f->path, "claims/", 7) != 0 || !idp_str_has_suffix(f->path, ".yaml"))
			continue;
		size_t k = 0;
		while (k < claims.len && strcmp(claims.items[k].path, f->path) != 0)
			k++;
		if (k < claims.len)
			claims.items[k] = *f;
		else if (f->content)
			idp_gitops_files_put(a, &claims, f->path, f->content, f->len);
	}
	if (rc == 0)
		rc = renderer->render(renderer->ctx, a, IDP_GITOPS_OAM_FILE, oam, oam_len, &claims, &rendered, err);
	if (rc)
		return rc;
	/* The directory is replaced as a whole: objects that went away go too. */
	idp_gitops_files_delete(a, change, idp_arena_printf(a, "manifests/%s/", app));
	for (size_t i = 0; i < rendered.len; i++)
		idp_gitops_files_put(a, change, idp_arena_printf(a, "manifests/%s/%s", app, rendered.items[i].path),
				     rendered.items[i].content, rendered.items[i].len);
	return 0;
}

static char *summary_of(idp_arena *a, const idp_doc_node *claim)
{
	const idp_doc_node *spec = idp_doc_map_get(claim, "spec");
	const char *lang = idp_doc_map_get_str(spec, "language"), *fw = idp_doc_map_get_str(spec, "framework");
	return idp_arena_printf(a, "Add webservice %s (%s%s%s)", idp_doc_map_get_str(spec, "name"), lang ? lang : "?",
				fw ? "/" : "", fw ? fw : "");
}

int idp_gitops_add_component(idp_gitops_repo *r, idp_arena *a, const idp_doc_node *claim,
			     const idp_gitops_renderer *renderer, const idp_gitops_identity *who,
			     idp_gitops_update *out, idp_err *err)
{
	memset(out, 0, sizeof(*out));
	out->source = source_of(claim);
	out->component = idp_doc_map_get_str(idp_doc_map_get(claim, "spec"), "name");
	if (!edits(out->source)) {
		out->decision = IDP_GITOPS_NOT_API_DRIVEN;
		out->reason = out->source
				      ? idp_arena_printf(a, "the claim is %s: it came from the OAM Application, which is never edited "
							    "for it (no loop)", out->source)
				      : "the claim has no " SOURCE_ANNOTATION " annotation: treated as oam-driven, the OAM "
					"Application is not edited";
		return 0;
	}
	idp_buf text = IDP_BUF_INIT;
	int rc = idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, err);
	if (rc == IDP_ENOTFOUND)
		rc = idp_err_set(err, IDP_EINPUT, "the repository has no %s (not made by idp gitops init?)",
				 IDP_GITOPS_OAM_FILE);
	const char *edited = NULL;
	size_t edited_len = 0;
	bool added = false;
	if (rc == 0)
		rc = idp_gitops_oam_insert(a, IDP_GITOPS_OAM_FILE, idp_buf_cstr(&text), text.len, claim, &edited, &edited_len,
					   &added, err);
	idp_buf_free(&text);
	if (rc)
		return rc;
	if (!added) {
		out->decision = IDP_GITOPS_EXISTS;
		out->reason = idp_arena_printf(a, "a component named %s is in the OAM Application already", out->component);
		return 0;
	}
	idp_gitops_change change = {summary_of(a, claim), NULL, NULL, {0}, NULL};
	idp_gitops_files_put(a, &change.files, IDP_GITOPS_OAM_FILE, edited, edited_len);
	/* The claim is kept in git, and rendered with the Application (its
	 * database, cache and repositories): the component the platform adds
	 * (source: api-driven) requests none of that itself. */
	const char *claim_name = idp_doc_map_get_str(idp_doc_map_get(claim, "metadata"), "name");
	if (!claim_name || idp_name_check_dns1123_subdomain(claim_name))
		return idp_err_at(err, claim->pos, "metadata.name", "the claim needs a valid metadata.name");
	idp_buf yaml = IDP_BUF_INIT;
	rc = idp_doc_emit_yaml((idp_doc_node *const *)&claim, 1, &yaml, err);
	if (rc == 0)
		idp_gitops_files_put(a, &change.files, idp_arena_printf(a, "claims/%s.yaml", claim_name), yaml.ptr, yaml.len);
	idp_buf_free(&yaml);
	if (rc)
		return rc;
	rc = gitops_render_into(r, a, renderer, edited, edited_len, &change.files, err);
	if (rc)
		return rc;
	const char *trailers[] = {idp_arena_printf(a, "Idp-Source: %s", out->source),
				  idp_arena_printf(a, "Idp-Claim: %s", claim_name), NULL};
	change.trailers = trailers;
	rc = idp_gitops_commit(r, &change, who, a, &out->commit, err);
	if (rc == 0) {
		out->decision = IDP_GITOPS_ADDED;
		out->reason = idp_arena_printf(a, "added component %s (commit %.7s)", out->component, out->commit.id);
	}
	return rc;
}

int idp_gitops_file_claim(idp_gitops_repo *r, idp_arena *a, const idp_doc_node *claim, const char *source,
			  const idp_gitops_renderer *renderer, const idp_gitops_identity *who, idp_gitops_commit_result *res,
			  idp_err *err)
{
	const char *claim_name = idp_doc_map_get_str(idp_doc_map_get(claim, "metadata"), "name");
	if (!claim_name || idp_name_check_dns1123_subdomain(claim_name))
		return idp_err_at(err, claim->pos, "metadata.name", "the claim needs a valid metadata.name");
	idp_buf text = IDP_BUF_INIT, yaml = IDP_BUF_INIT;
	int rc = idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, err);
	if (rc == IDP_ENOTFOUND)
		rc = idp_err_set(err, IDP_EINPUT, "the repository has no %s (not made by idp gitops init?)",
				 IDP_GITOPS_OAM_FILE);
	idp_gitops_change change = {idp_arena_printf(a, "File %s %s", idp_doc_map_get_str(claim, "kind"), claim_name), NULL,
				    NULL, {0}, NULL};
	if (rc == 0)
		rc = idp_doc_emit_yaml((idp_doc_node *const *)&claim, 1, &yaml, err);
	if (rc == 0) {
		idp_gitops_files_put(a, &change.files, idp_arena_printf(a, "claims/%s.yaml", claim_name), yaml.ptr, yaml.len);
		rc = gitops_render_into(r, a, renderer, idp_buf_cstr(&text), text.len, &change.files, err);
	}
	idp_buf_free(&text);
	idp_buf_free(&yaml);
	if (rc)
		return rc;
	const char *trailers[] = {idp_arena_printf(a, "Idp-Source: %s", source ? source : "api"),
				  idp_arena_printf(a, "Idp-Claim: %s", claim_name), NULL};
	change.trailers = trailers;
	return idp_gitops_commit(r, &change, who, a, res, err);
}

int idp_gitops_set_application(idp_gitops_repo *r, idp_arena *a, const char *text, size_t len, const char *source,
			       const idp_gitops_renderer *renderer, const idp_gitops_identity *who,
			       idp_gitops_commit_result *res, idp_err *err)
{
	bool render = source && strcmp(source, "render") == 0;
	idp_gitops_change change = {render ? "Render the manifests of the OAM Application" : "Set the OAM Application",
				    NULL, NULL, {0}, NULL};
	idp_gitops_files_put(a, &change.files, IDP_GITOPS_OAM_FILE, text, len);
	int rc = gitops_render_into(r, a, renderer, text, len, &change.files, err);
	if (rc)
		return rc;
	const char *trailers[] = {idp_arena_printf(a, "Idp-Source: %s", source ? source : "up"), NULL};
	change.trailers = trailers;
	return idp_gitops_commit(r, &change, who, a, res, err);
}
