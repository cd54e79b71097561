/* What `down` does when no daemon holds the application: the store's record
 * (and with purge its files) changed directly, so that a daemon starting
 * later does not bring the application back. */
#include "daemon/daemon.h"
#include "daemon/daemon_private.h"
#include "store/store.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int remove_tree(const char *dir, idp_err *err)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return 0;
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot remove %s: %s", dir, strerror(errno));
	return 0;
}

int daemon_forget_app(idp_store *store, const char *state_dir, const char *app, bool purge, idp_err *err)
{
	if (idp_name_check_dns1123_label(app))
		return idp_err_set(err, IDP_EINPUT, "\"%s\" is no application name", app);
	idp_arena *a = idp_arena_new();
	idp_store_app rec;
	int rc = idp_store_app_get(store, a, app, &rec, err);
	if (rc == IDP_ENOTFOUND) {
		idp_err_clear(err);
		rc = idp_err_set(err, IDP_ENOTFOUND, "no application %s in %s", app, state_dir);
	}
	if (rc == 0 && !purge) {
		idp_store_app down = {app, NULL, NULL, "Down", 0};
		rc = idp_store_app_put(store, &down, err);
	} else if (rc == 0) {
		/* Only what lies in the state directory is removed: a repository
		 * elsewhere is a developer's. */
		const char *own_repo = idp_arena_printf(a, "%s/gitops/%s-gitops", state_dir, app);
		rc = remove_tree(idp_arena_printf(a, "%s/apps/%s", state_dir, app), err);
		if (rc == 0 && rec.gitops && strcmp(rec.gitops, own_repo) == 0)
			rc = remove_tree(own_repo, err);
		if (rc == 0)
			rc = idp_store_app_delete(store, app, err);
	}
	idp_arena_free(a);
	return rc;
}

int idp_daemon_forget(const char *state_dir, const char *app, bool purge, idp_arena *a, const char ***done, size_t *n,
		      idp_err *err)
{
	*done = NULL;
	*n = 0;
	idp_store *store;
	int rc = idp_store_open(state_dir, &store, err);
	if (rc)
		return rc;
	idp_store_app *apps = NULL;
	size_t count = 0, cap = 0;
	if (app) {
		rc = daemon_forget_app(store, state_dir, app, purge, err);
		if (rc == 0) {
			*done = idp_arena_grow(a, *done, *n, &cap, sizeof(**done));
			(*done)[(*n)++] = idp_arena_strdup(a, app);
		}
	} else {
		rc = idp_store_app_list(store, a, &apps, &count, err);
		for (size_t i = 0; rc == 0 && i < count; i++) {
			bool down = apps[i].status && strcmp(apps[i].status, "Down") == 0;
			if (down && !purge)
				continue;
			rc = daemon_forget_app(store, state_dir, apps[i].name, purge, err);
			if (rc == 0) {
				*done = idp_arena_grow(a, *done, *n, &cap, sizeof(**done));
				(*done)[(*n)++] = apps[i].name;
			}
		}
	}
	idp_store_close(store);
	return rc;
}
