/* History, object-level diffs and rollback. History is never rewritten: a
 * rollback is a new commit with an old revision's content. */
#include "gitops/gitops_private.h"

#include <stdio.h>
#include <string.h>

/* The value of trailer key ("Idp-Source") in a commit message, or NULL. */
static const char *trailer(idp_arena *a, const char *msg, const char *key)
{
	size_t n = strlen(key);
	/* Trailers are the last paragraph: a summary cannot forge one. */
	for (const char *p = strstr(msg, "\n\n"); p; p = strstr(p + 2, "\n\n"))
		if (p[2])
			msg = p + 2;
	for (const char *line = msg; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > n + 1 && strncmp(line, key, n) == 0 && line[n] == ':')
			return idp_arena_strndup(a, line + n + 2 > line + len ? line + len : line + n + 2,
						 len > n + 2 ? len - n - 2 : 0);
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The components of the OAM Application in tree, as a map name -> node. */
static idp_doc_node *components_in(idp_gitops_repo *r, idp_arena *a, git_tree *tree)
{
	idp_doc_node *by_name = idp_doc_new_map(a);
	idp_buf text = IDP_BUF_INIT;
	idp_err ignored = IDP_ERR_INIT;
	idp_doc_stream s;
	if (tree && gitops_read_tree_file(r->git, tree, IDP_GITOPS_OAM_FILE, &text, &ignored) == 0 &&
	    idp_doc_load(a, IDP_GITOPS_OAM_FILE, idp_buf_cstr(&text), text.len, NULL, &s, &ignored) == 0) {
		for (size_t i = 0; i < s.len; i++) {
			idp_doc_node *comps;
			if (idp_doc_path_get(s.docs[i], "spec.components", &comps, NULL) || comps->kind != IDP_DOC_SEQ)
				continue;
			for (size_t k = 0; k < comps->as.seq.len; k++) {
				const char *name = idp_doc_map_get_str(comps->as.seq.items[k], "name");
				if (name)
					idp_doc_map_set(a, by_name, name, comps->as.seq.items[k]);
			}
		}
	}
	idp_err_clear(&ignored);
	idp_buf_free(&text);
	return by_name;
}

/* "+a -b ~c" between a commit's parent and itself. */
static const char *components_changed(idp_gitops_repo *r, idp_arena *a, git_commit *c)
{
	git_tree *tree = NULL, *ptree = NULL;
	git_commit *parent = NULL;
	git_commit_tree(&tree, c);
	if (git_commit_parentcount(c) > 0 && git_commit_parent(&parent, c, 0) == 0)
		git_commit_tree(&ptree, parent);
	idp_doc_node *now = components_in(r, a, tree), *before = components_in(r, a, ptree);
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = 0; i < now->as.map.len; i++) {
		const idp_doc_node *old = idp_doc_map_get(before, now->as.map.items[i].key);
		if (!old || !idp_doc_equal(old, now->as.map.items[i].value))
			idp_buf_printf(&b, "%s%c%s", b.len ? " " : "", old ? '~' : '+', now->as.map.items[i].key);
	}
	for (size_t i = 0; i < before->as.map.len; i++)
		if (!idp_doc_map_get(now, before->as.map.items[i].key))
			idp_buf_printf(&b, "%s-%s", b.len ? " " : "", before->as.map.items[i].key);
	const char *s = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	return s;
}

int idp_gitops_history(idp_gitops_repo *r, idp_arena *a, size_t max, idp_gitops_revision **out, size_t *n,
		       idp_err *err)
{
	*out = NULL;
	*n = 0;
	git_revwalk *walk;
	if (git_revwalk_new(&walk, r->git) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot walk the history");
	git_revwalk_simplify_first_parent(walk);
	if (git_revwalk_push_ref(walk, r->branch) != 0) { /* no commit yet */
		git_revwalk_free(walk);
		return 0;
	}
	size_t cap = 0;
	git_oid id;
	while ((max == 0 || *n < max) && git_revwalk_next(&id, walk) == 0) {
		git_commit *c;
		if (git_commit_lookup(&c, r->git, &id) != 0)
			continue;
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		idp_gitops_revision *rev = &(*out)[(*n)++];
		git_oid_tostr(rev->id, sizeof(rev->id), &id);
		const git_signature *au = git_commit_author(c);
		rev->author = idp_arena_printf(a, "%s <%s>", au->name, au->email);
		rev->time = (int64_t)git_commit_time(c);
		rev->summary = idp_arena_strdup(a, git_commit_summary(c) ? git_commit_summary(c) : "");
		rev->source = trailer(a, git_commit_message(c), "Idp-Source");
		rev->components = components_changed(r, a, c);
		git_commit_free(c);
	}
	git_revwalk_free(walk);
	return 0;
}

/* ---------------------------------------------------------------- diff */

/* The objects under manifests/ at rev, keyed "kind/namespace/name". */
static int objects_at(idp_gitops_repo *r, idp_arena *a, const char *rev, idp_doc_node **out, idp_err *err)
{
	idp_gitops_files files = {0};
	int rc = idp_gitops_list(r, a, rev, "manifests/", &files, err);
	*out = idp_doc_new_map(a);
	for (size_t i = 0; rc == 0 && i < files.len; i++) {
		const char *path = files.items[i].path;
		if (!idp_str_has_suffix(path, ".yaml") || idp_str_has_suffix(path, "/kustomization.yaml"))
			continue;
		idp_doc_stream s;
		rc = idp_doc_load(a, path, files.items[i].content, files.items[i].len, NULL, &s, err);
		for (size_t k = 0; rc == 0 && k < s.len; k++) {
			const idp_doc_node *meta = idp_doc_map_get(s.docs[k], "metadata");
			const char *kind = idp_doc_map_get_str(s.docs[k], "kind"), *ns = idp_doc_map_get_str(meta, "namespace");
			const char *name = idp_doc_map_get_str(meta, "name");
			idp_doc_map_set(a, *out,
					idp_arena_printf(a, "%s/%s%s%s", kind ? kind : "?", ns ? ns : "", ns ? "/" : "",
							 name ? name : "?"),
					s.docs[k]);
		}
	}
	return rc;
}

static int print_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l, void *payload)
{
	(void)d;
	idp_buf *out = payload;
	if (l->origin == GIT_DIFF_LINE_HUNK_HDR && h) {
		idp_buf_append(out, h->header, h->header_len);
		return 0;
	}
	if (l->origin == '+' || l->origin == '-' || l->origin == ' ')
		idp_buf_putc(out, l->origin);
	idp_buf_append(out, l->content, l->content_len);
	return 0;
}

static int diff_object(const idp_doc_node *x, const idp_doc_node *y, idp_buf *out, idp_err *err)
{
	idp_buf tx = IDP_BUF_INIT, ty = IDP_BUF_INIT;
	int rc = idp_doc_emit_yaml((idp_doc_node *const *)&x, 1, &tx, err);
	if (rc == 0)
		rc = idp_doc_emit_yaml((idp_doc_node *const *)&y, 1, &ty, err);
	if (rc == 0) {
		git_patch *p;
		git_diff_options o;
		git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
		if (git_patch_from_buffers(&p, tx.ptr, tx.len, "a", ty.ptr, ty.len, "b", &o) == 0) {
			git_patch_print(p, print_line, out);
			git_patch_free(p);
		}
	}
	idp_buf_free(&tx);
	idp_buf_free(&ty);
	return rc;
}

int idp_gitops_diff(idp_gitops_repo *r, const char *rev1, const char *rev2, idp_buf *out, idp_err *err)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *x, *y;
	int rc = objects_at(r, a, rev1, &x, err);
	if (rc == 0)
		rc = objects_at(r, a, rev2, &y, err);
	for (size_t i = 0; rc == 0 && i < x->as.map.len; i++) {
		const char *key = x->as.map.items[i].key;
		const idp_doc_node *other = idp_doc_map_get(y, key);
		if (!other) {
			idp_buf_printf(out, "- %s\n", key);
		} else if (!idp_doc_equal_typed(x->as.map.items[i].value, other)) {
			idp_buf_printf(out, "~ %s\n", key);
			rc = diff_object(x->as.map.items[i].value, other, out, err);
		}
	}
	for (size_t i = 0; rc == 0 && i < y->as.map.len; i++)
		if (!idp_doc_map_get(x, y->as.map.items[i].key))
			idp_buf_printf(out, "+ %s\n", y->as.map.items[i].key);
	idp_arena_free(a);
	return rc;
}

int idp_gitops_rollback(idp_gitops_repo *r, idp_arena *a, const char *rev, const idp_gitops_identity *who,
			idp_gitops_commit_result *res, idp_err *err)
{
	git_commit *c;
	int rc = gitops_lookup_commit(r, rev, &c, err);
	if (rc)
		return rc;
	char id[41];
	git_oid_tostr(id, sizeof(id), git_commit_id(c));
	const char *summary = idp_arena_strdup(a, git_commit_summary(c) ? git_commit_summary(c) : "");
	git_commit_free(c);
	const char *trailers[] = {"Idp-Source: rollback", idp_arena_printf(a, "Idp-Rollback-To: %s", id), NULL};
	idp_gitops_change change = {idp_arena_printf(a, "Roll back to %.7s (%s)", id, summary), NULL, trailers, {0}, id};
	return idp_gitops_commit(r, &change, who, a, res, err);
}
