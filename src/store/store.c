/* The state directory: SQLite (WAL) for records, libsodium for secrets. */
#include "store/store.h"
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

struct idp_store {
	sqlite3 *db;
	unsigned char key[KEY_BYTES];
	char *dir;
};

static int store_fail(idp_store *s, idp_err *err, const char *what)
{
	return idp_err_set(err, IDP_ERUNTIME, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

const char *idp_store_default_dir(idp_arena *a)
{
	const char *env = getenv("IDP_STATE");
	if (env && *env)
		return idp_arena_strdup(a, env);
	const char *home = getenv("HOME");
	return idp_arena_printf(a, "%s/.local/state/idp", home && *home ? home : ".");
}

/* ---------------------------------------------------------------- opening */

static int make_dirs(const char *dir, idp_err *err)
{
	char *path = idp_xstrdup(dir);
	int rc = 0;
	for (char *p = path + 1; rc == 0; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				rc = idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", path, strerror(errno));
			if (end)
				break;
			*p = '/';
		}
	}
	free(path);
	return rc;
}

/* The key: read from secret.key, or made (random) on first use. */
static int load_key(idp_store *s, idp_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/secret.key", s->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		/* Written whole under another name, then linked into place: a
		 * process opening it meanwhile never reads half a key. */
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s/secret.key.%ld", s->dir, (long)getpid());
		randombytes_buf(s->key, sizeof(s->key));
		unlink(tmp);
		int wfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		bool ok = wfd >= 0 && write(wfd, s->key, sizeof(s->key)) == (ssize_t)sizeof(s->key) && fsync(wfd) == 0;
		if (wfd >= 0)
			close(wfd);
		int linked = ok ? link(tmp, path) : -1;
		int link_errno = errno;
		unlink(tmp);
		if (!ok)
			return idp_err_set(err, IDP_ERUNTIME, "cannot write %s", tmp);
		if (linked == 0)
			return 0;
		if (link_errno != EEXIST) /* else another process made it meanwhile: read that one */
			return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", path, strerror(link_errno));
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot read %s: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0)
		rc = idp_err_set(err, IDP_EINPUT, "%s is readable by others (mode %03o): chmod 600 it", path,
				 (unsigned)(st.st_mode & 0777));
	else if (read(fd, s->key, sizeof(s->key)) != (ssize_t)sizeof(s->key))
		rc = idp_err_set(err, IDP_ERUNTIME, "%s is not a key (%zu bytes wanted)", path, sizeof(s->key));
	close(fd);
	return rc;
}

static int exec(idp_store *s, const char *sql, idp_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = idp_err_set(err, IDP_ERUNTIME, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int idp_store_open(const char *dir, idp_store **out, idp_err *err)
{
	if (!dir || !*dir)
		return idp_err_set(err, IDP_EINPUT, "the state directory is empty");
	if (sodium_init() < 0)
		return idp_err_set(err, IDP_ERUNTIME, "libsodium cannot start");
	idp_store *s = idp_xcalloc(1, sizeof(*s));
	s->dir = idp_xstrdup(dir);
	int rc = make_dirs(dir, err);
	char path[4096];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (rc == 0 && sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				       NULL) != SQLITE_OK)
		rc = s->db ? store_fail(s, err, path) : idp_err_set(err, IDP_ERUNTIME, "store: cannot open %s", path);
	if (rc == 0) {
		sqlite3_busy_timeout(s->db, 5000);
		chmod(path, 0600);
		/* Switching to WAL takes a lock the busy timeout does not wait for
		 * (several processes opening a new state directory at once). */
		for (int tries = 0; tries < 200; tries++) {
			idp_err_clear(err);
			rc = exec(s, "PRAGMA journal_mode=WAL", err);
			if (rc == 0 || sqlite3_errcode(s->db) != SQLITE_BUSY)
				break;
			usleep(10000);
		}
		if (rc == 0)
			rc = exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-512;", err);
	}
	if (rc == 0)
		rc = store_migrate(s->db, err);
	if (rc == 0)
		rc = load_key(s, err);
	if (rc) {
		idp_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void idp_store_close(idp_store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	sodium_memzero(s->key, sizeof(s->key));
	free(s->dir);
	free(s);
}

int idp_store_schema_version(idp_store *s)
{
	return store_schema_version(s->db);
}

/* Ends a transaction: COMMIT when rc is 0 (rolled back, with the error,
 * if the commit fails), else ROLLBACK. */
static int finish(idp_store *s, int rc, idp_err *err)
{
	if (rc == 0 && (rc = exec(s, "COMMIT", err)) == 0)
		return 0;
	exec(s, "ROLLBACK", NULL);
	return rc;
}

/* ---------------------------------------------------------------- statements */

static int prepare(idp_store *s, const char *sql, sqlite3_stmt **st, idp_err *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_fail(s, err, "prepare");
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static const char *col_text(idp_arena *a, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? idp_arena_strdup(a, (const char *)t) : NULL;
}

/* Runs a statement that returns no rows, then finalizes it. */
static int run(idp_store *s, sqlite3_stmt *st, idp_err *err)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_fail(s, err, "write");
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- applications */

int idp_store_app_put(idp_store *s, const idp_store_app *app, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "INSERT INTO apps(name, gitops, revision, status, updated) VALUES(?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT(name) DO UPDATE SET gitops = coalesce(?2, gitops), revision = coalesce(?3, revision), "
			 "status = coalesce(?4, status), updated = ?5",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app->name);
	bind_text(st, 2, app->gitops);
	bind_text(st, 3, app->revision);
	bind_text(st, 4, app->status);
	sqlite3_bind_int64(st, 5, now_s());
	return run(s, st, err);
}

static void read_app(idp_arena *a, sqlite3_stmt *st, idp_store_app *out)
{
	out->name = col_text(a, st, 0);
	out->gitops = col_text(a, st, 1);
	out->revision = col_text(a, st, 2);
	out->status = col_text(a, st, 3);
	out->updated = sqlite3_column_int64(st, 4);
}

int idp_store_app_get(idp_store *s, idp_arena *a, const char *name, idp_store_app *out, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT name, gitops, revision, status, updated FROM apps WHERE name = ?1", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_app(a, st, out);
	else
		rc = step == SQLITE_DONE ? IDP_ENOTFOUND : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_app_list(idp_store *s, idp_arena *a, idp_store_app **out, size_t *n, idp_err *err)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = prepare(s, "SELECT name, gitops, revision, status, updated FROM apps ORDER BY name", &st, err);
	if (rc)
		return rc;
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		read_app(a, st, &(*out)[(*n)++]);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_app_delete(idp_store *s, const char *name, idp_err *err)
{
	int rc = exec(s, "BEGIN IMMEDIATE", err);
	static const char *const sql[] = {"DELETE FROM secrets WHERE app = ?1", "DELETE FROM apps WHERE name = ?1"};
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		sqlite3_stmt *st;
		if ((rc = prepare(s, sql[i], &st, err)) == 0) {
			bind_text(st, 1, name);
			rc = run(s, st, err);
		}
	}
	return finish(s, rc, err);
}

/* ---------------------------------------------------------------- objects */

int idp_store_object_put(idp_store *s, const char *app, const idp_store_object *obj, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "INSERT INTO objects(app, key, desired, live, health, message, updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
			 "ON CONFLICT(app, key) DO UPDATE SET desired = coalesce(?3, desired), live = coalesce(?4, live), "
			 "health = coalesce(?5, health), message = coalesce(?6, message), updated = ?7",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, obj->key);
	bind_text(st, 3, obj->desired);
	bind_text(st, 4, obj->live);
	bind_text(st, 5, obj->health);
	bind_text(st, 6, obj->message);
	sqlite3_bind_int64(st, 7, now_s());
	return run(s, st, err);
}

int idp_store_object_list(idp_store *s, idp_arena *a, const char *app, idp_store_object **out, size_t *n,
			  idp_err *err)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = prepare(s, "SELECT key, desired, live, health, message FROM objects WHERE app = ?1 ORDER BY key", &st,
			 err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		idp_store_object *o = &(*out)[(*n)++];
		o->key = col_text(a, st, 0);
		o->desired = col_text(a, st, 1);
		o->live = col_text(a, st, 2);
		o->health = col_text(a, st, 3);
		o->message = col_text(a, st, 4);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_object_delete(idp_store *s, const char *app, const char *key, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "DELETE FROM objects WHERE app = ?1 AND key = ?2", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, key);
	return run(s, st, err);
}

/* ---------------------------------------------------------------- history */

int idp_store_revision_add(idp_store *s, const char *app, const char *revision, const char *source, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT INTO revisions(app, revision, source, time) VALUES(?1, ?2, ?3, ?4)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, revision);
	bind_text(st, 3, source);
	sqlite3_bind_int64(st, 4, now_s());
	return run(s, st, err);
}

int idp_store_sync_begin(idp_store *s, const char *app, const char *revision, int64_t *id, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT INTO sync_runs(app, revision, started) VALUES(?1, ?2, ?3)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, revision);
	sqlite3_bind_int64(st, 3, now_s());
	rc = run(s, st, err);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int idp_store_sync_end(idp_store *s, int64_t id, const char *result, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "UPDATE sync_runs SET finished = ?2, result = ?3 WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_s());
	bind_text(st, 3, result);
	return run(s, st, err);
}

int idp_store_sync_list(idp_store *s, idp_arena *a, const char *app, size_t max, idp_store_sync_run **out, size_t *n,
			idp_err *err)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = prepare(s,
			 "SELECT id, started, coalesce(finished, 0), revision, result FROM sync_runs WHERE app = ?1 "
			 "ORDER BY id DESC LIMIT ?2",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	sqlite3_bind_int64(st, 2, max ? (int64_t)max : -1);
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		idp_store_sync_run *r = &(*out)[(*n)++];
		r->id = sqlite3_column_int64(st, 0);
		r->started = sqlite3_column_int64(st, 1);
		r->finished = sqlite3_column_int64(st, 2);
		r->revision = col_text(a, st, 3);
		r->result = col_text(a, st, 4);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_event_add(idp_store *s, const char *app, const char *object, const char *type, const char *message,
			idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT INTO events(time, app, object, type, message) VALUES(?1, ?2, ?3, ?4, ?5)", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, now_s());
	bind_text(st, 2, app);
	bind_text(st, 3, object);
	bind_text(st, 4, type);
	bind_text(st, 5, message);
	return run(s, st, err);
}

int idp_store_event_last_id(idp_store *s, int64_t *id, idp_err *err)
{
	sqlite3_stmt *st;
	*id = 0;
	int rc = prepare(s, "SELECT coalesce(max(id), 0) FROM events", &st, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_event_list(idp_store *s, idp_arena *a, int64_t after, size_t max, idp_store_event **out, size_t *n,
			 idp_err *err)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = prepare(s, "SELECT id, time, app, object, type, message FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
			 &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, max ? (int64_t)max : -1);
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		idp_store_event *e = &(*out)[(*n)++];
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		e->app = col_text(a, st, 2);
		e->object = col_text(a, st, 3);
		e->type = col_text(a, st, 4);
		e->message = col_text(a, st, 5);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

/* ---------------------------------------------------------------- workflows */

static double now_frac(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int idp_store_workflow_add(idp_store *s, const char *kind, const char *name, const char *app, const char *claim,
			   const char *origin, int64_t *id, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "INSERT INTO workflows(kind, name, app, claim, origin, state, step, created, updated) "
			 "VALUES(?1, ?2, ?3, ?4, ?5, 'Running', 0, ?6, ?6)",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	bind_text(st, 3, app);
	bind_text(st, 4, claim);
	bind_text(st, 5, origin);
	sqlite3_bind_int64(st, 6, now_s());
	rc = run(s, st, err);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

#define WORKFLOW_COLUMNS "id, kind, name, app, claim, origin, state, step, error, created, updated"

static void read_workflow(idp_arena *a, sqlite3_stmt *st, idp_store_workflow *w)
{
	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(st, 0);
	w->kind = col_text(a, st, 1);
	w->name = col_text(a, st, 2);
	w->app = col_text(a, st, 3);
	w->claim = col_text(a, st, 4);
	w->origin = col_text(a, st, 5);
	w->state = col_text(a, st, 6);
	w->step = sqlite3_column_int(st, 7);
	w->error = col_text(a, st, 8);
	w->created = sqlite3_column_int64(st, 9);
	w->updated = sqlite3_column_int64(st, 10);
}

int idp_store_workflow_get(idp_store *s, idp_arena *a, int64_t id, idp_store_workflow *out, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT " WORKFLOW_COLUMNS " FROM workflows WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		read_workflow(a, st, out);
	else
		rc = step == SQLITE_DONE ? IDP_ENOTFOUND : store_fail(s, err, "read");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	rc = prepare(s,
		     "SELECT step, name, state, message, coalesce(started, 0), coalesce(finished, 0) FROM workflow_steps "
		     "WHERE workflow = ?1 ORDER BY step",
		     &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	size_t cap = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		out->steps = idp_arena_grow(a, out->steps, out->n_steps, &cap, sizeof(*out->steps));
		idp_store_step *x = &out->steps[out->n_steps++];
		x->step = sqlite3_column_int(st, 0);
		x->name = col_text(a, st, 1);
		x->state = col_text(a, st, 2);
		x->message = col_text(a, st, 3);
		x->started = sqlite3_column_double(st, 4);
		x->finished = sqlite3_column_double(st, 5);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_workflow_list(idp_store *s, idp_arena *a, const char *state, size_t max, idp_store_workflow **out,
			    size_t *n, idp_err *err)
{
	sqlite3_stmt *st;
	*out = NULL;
	*n = 0;
	int rc = prepare(s,
			 "SELECT " WORKFLOW_COLUMNS " FROM workflows WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, state);
	sqlite3_bind_int64(st, 2, max ? (int64_t)max : -1);
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*out = idp_arena_grow(a, *out, *n, &cap, sizeof(**out));
		read_workflow(a, st, &(*out)[(*n)++]);
	}
	rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_workflow_find(idp_store *s, const char *kind, const char *name, const char *app, const char *state,
			    int64_t *id, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "SELECT id FROM workflows WHERE kind = ?1 AND name = ?2 AND (?3 IS NULL OR state = ?3) "
			 "AND (?4 IS NULL OR app = ?4) ORDER BY id DESC LIMIT 1",
			 &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	bind_text(st, 3, state);
	bind_text(st, 4, app);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = step == SQLITE_DONE ? IDP_ENOTFOUND : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_workflow_set(idp_store *s, int64_t id, const char *state, int step, const char *error, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "UPDATE workflows SET state = ?2, step = ?3, error = coalesce(?4, error), updated = ?5 WHERE id = ?1",
			 &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, state);
	sqlite3_bind_int(st, 3, step);
	bind_text(st, 4, error);
	sqlite3_bind_int64(st, 5, now_s());
	return run(s, st, err);
}

int idp_store_workflow_step(idp_store *s, int64_t id, int step, const char *name, const char *state,
			    const char *message, idp_err *err)
{
	sqlite3_stmt *st;
	bool running = strcmp(state, "Running") == 0;
	int rc = prepare(s,
			 running ? "INSERT INTO workflow_steps(workflow, step, name, state, started, message) "
				   "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(workflow, step) DO UPDATE SET "
				   "state = ?4, message = ?6, finished = NULL"
				 : "INSERT INTO workflow_steps(workflow, step, name, state, started, finished, message) "
				   "VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT(workflow, step) DO UPDATE SET "
				   "state = ?4, finished = ?5, message = ?6",
			 &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, step);
	bind_text(st, 3, name);
	bind_text(st, 4, state);
	sqlite3_bind_double(st, 5, now_frac());
	bind_text(st, 6, message);
	return run(s, st, err);
}

int idp_store_seen(idp_store *s, const char *key, bool *fresh, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT OR IGNORE INTO seen(key, at) VALUES(?1, ?2)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, now_s());
	rc = run(s, st, err);
	*fresh = rc == 0 && sqlite3_changes(s->db) == 1;
	return rc;
}

/* ---------------------------------------------------------------- tokens */

int idp_store_token_add(idp_store *s, const char *name, const unsigned char *hash, size_t hash_len, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT INTO tokens(name, hash, created) VALUES(?1, ?2, ?3)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	sqlite3_bind_blob(st, 2, hash, (int)hash_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_s());
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step == SQLITE_CONSTRAINT)
		return idp_err_set(err, IDP_EINPUT, "a token named %s exists already", name);
	return step == SQLITE_DONE ? 0 : store_fail(s, err, "write");
}

int idp_store_token_hash(idp_store *s, idp_arena *a, const char *name, const unsigned char **hash, size_t *hash_len,
			 idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT hash FROM tokens WHERE name = ?1", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*hash_len = (size_t)sqlite3_column_bytes(st, 0);
		unsigned char *h = idp_arena_alloc(a, *hash_len + 1);
		memcpy(h, sqlite3_column_blob(st, 0), *hash_len);
		*hash = h;
	} else {
		rc = step == SQLITE_DONE ? IDP_ENOTFOUND : store_fail(s, err, "read");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Steps st to its end, collecting column 0 of each row into *names (in a);
 * finalizes st. */
static int collect_names(idp_store *s, idp_arena *a, sqlite3_stmt *st, const char ***names, size_t *n, idp_err *err)
{
	size_t cap = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		*names = idp_arena_grow(a, *names, *n, &cap, sizeof(**names));
		(*names)[(*n)++] = col_text(a, st, 0);
	}
	int rc = step == SQLITE_DONE ? 0 : store_fail(s, err, "read");
	sqlite3_finalize(st);
	return rc;
}

int idp_store_token_list(idp_store *s, idp_arena *a, const char ***names, size_t *n, idp_err *err)
{
	sqlite3_stmt *st;
	*names = NULL;
	*n = 0;
	int rc = prepare(s, "SELECT name FROM tokens ORDER BY name", &st, err);
	if (rc)
		return rc;
	return collect_names(s, a, st, names, n, err);
}

int idp_store_token_delete(idp_store *s, const char *name, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "DELETE FROM tokens WHERE name = ?1", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	rc = run(s, st, err);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		return idp_err_set(err, IDP_ENOTFOUND, "no token named %s", name);
	return rc;
}

/* ---------------------------------------------------------------- secrets */

/* The row's identity is the associated data: a value copied onto another
 * row does not decrypt there. */
static void secret_ad(idp_buf *ad, const char *app, const char *scope, const char *name)
{
	idp_buf_puts(ad, app);
	idp_buf_putc(ad, '\0');
	idp_buf_puts(ad, scope);
	idp_buf_putc(ad, '\0');
	idp_buf_puts(ad, name);
}

int idp_store_secret_put(idp_store *s, const char *app, const char *scope, const char *name, const void *value,
			 size_t len, idp_err *err)
{
	unsigned char nonce[NONCE_BYTES];
	randombytes_buf(nonce, sizeof(nonce));
	size_t clen = len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned char *cipher = idp_xmalloc(clen);
	idp_buf ad = IDP_BUF_INIT;
	secret_ad(&ad, app, scope, name);
	unsigned long long outlen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(cipher, &outlen, value, len, (const unsigned char *)ad.ptr, ad.len,
						   NULL, nonce, s->key);
	idp_buf_free(&ad);
	sqlite3_stmt *st;
	int rc = prepare(s,
			 "INSERT INTO secrets(app, scope, name, nonce, value) VALUES(?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT(app, scope, name) DO UPDATE SET nonce = ?4, value = ?5",
			 &st, err);
	if (rc == 0) {
		bind_text(st, 1, app);
		bind_text(st, 2, scope);
		bind_text(st, 3, name);
		sqlite3_bind_blob(st, 4, nonce, sizeof(nonce), SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 5, cipher, (int)outlen, SQLITE_TRANSIENT);
		rc = run(s, st, err);
	}
	free(cipher);
	return rc;
}

int idp_store_secret_names(idp_store *s, idp_arena *a, const char *app, const char *scope, const char ***names,
			   size_t *n, idp_err *err)
{
	sqlite3_stmt *st;
	*names = NULL;
	*n = 0;
	int rc = prepare(s, "SELECT name FROM secrets WHERE app = ?1 AND scope = ?2 ORDER BY name", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, scope);
	return collect_names(s, a, st, names, n, err);
}

int idp_store_secret_delete(idp_store *s, const char *app, const char *scope, const char *name, idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "DELETE FROM secrets WHERE app = ?1 AND scope = ?2 AND name = ?3", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, scope);
	bind_text(st, 3, name);
	rc = run(s, st, err);
	return rc == 0 && sqlite3_changes(s->db) == 0 ? IDP_ENOTFOUND : rc;
}

int idp_store_secret_get(idp_store *s, const char *app, const char *scope, const char *name, idp_buf *out,
			 idp_err *err)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT nonce, value FROM secrets WHERE app = ?1 AND scope = ?2 AND name = ?3", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, app);
	bind_text(st, 2, scope);
	bind_text(st, 3, name);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		sqlite3_finalize(st);
		return step == SQLITE_DONE ? IDP_ENOTFOUND : store_fail(s, err, "read");
	}
	const unsigned char *nonce = sqlite3_column_blob(st, 0), *cipher = sqlite3_column_blob(st, 1);
	size_t nlen = (size_t)sqlite3_column_bytes(st, 0), clen = (size_t)sqlite3_column_bytes(st, 1);
	if (!nonce || nlen != NONCE_BYTES || !cipher || clen < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
		sqlite3_finalize(st);
		return idp_err_set(err, IDP_ERUNTIME, "store: secret %s/%s is damaged", scope, name);
	}
	unsigned char *plain = idp_xmalloc(clen);
	idp_buf ad = IDP_BUF_INIT;
	secret_ad(&ad, app, scope, name);
	unsigned long long plen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, cipher, clen, (const unsigned char *)ad.ptr,
						       ad.len, nonce, s->key) != 0)
		rc = idp_err_set(err, IDP_ERUNTIME, "store: secret %s/%s does not decrypt (damaged, or another key)", scope,
				 name);
	else
		idp_buf_append(out, plain, (size_t)plen);
	sodium_memzero(plain, clen);
	free(plain);
	idp_buf_free(&ad);
	sqlite3_finalize(st);
	return rc;
}

int idp_store_secret_generate(idp_store *s, const char *app, const char *scope, const char *name, size_t bytes,
			      idp_buf *out, idp_err *err)
{
	/* Under one write transaction: two processes generating at once agree. */
	int rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	size_t mark = out->len;
	rc = idp_store_secret_get(s, app, scope, name, out, err);
	if (rc == IDP_ENOTFOUND) {
		unsigned char raw[64];
		bytes = bytes == 0 || bytes > sizeof(raw) ? 24 : bytes;
		randombytes_buf(raw, bytes);
		char text[sizeof(raw) * 2];
		sodium_bin2base64(text, sizeof(text), raw, bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		sodium_memzero(raw, sizeof(raw));
		rc = idp_store_secret_put(s, app, scope, name, text, strlen(text), err);
		if (rc == 0) {
			out->len = mark;
			idp_buf_puts(out, text);
		}
		sodium_memzero(text, sizeof(text));
	}
	rc = finish(s, rc, err);
	if (rc && out->ptr) { /* nothing stored: nothing to hand out */
		out->len = mark;
		out->ptr[mark] = '\0';
	}
	return rc;
}
