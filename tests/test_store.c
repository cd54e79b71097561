/*
 * The store (suite "store"): a real SQLite database in a temporary state
 * directory: WAL mode, migrations applied once, records round-trip, secrets
 * encrypted at rest (not in the database file in plain text, a tampered
 * value refused, the key file private), generated secrets stable.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "testutil.h"

typedef struct fixture {
	char *dir;
	idp_store *s;
	idp_arena *a;
	idp_err err;
} fixture;

static fixture open_fixture(void)
{
	fixture f = {idp_fixture_tmpdir(), NULL, idp_arena_new(), IDP_ERR_INIT};
	cr_assert_not_null(f.dir);
	char state[4096];
	snprintf(state, sizeof state, "%s/state/nested", f.dir);
	cr_assert_eq(idp_store_open(state, &f.s, &f.err), 0, "%s", tu_errstr(&f.err));
	return f;
}

static void close_fixture(fixture *f)
{
	idp_store_close(f->s);
	idp_err_clear(&f->err);
	idp_arena_free(f->a);
	idp_fixture_rmtree(f->dir);
	free(f->dir);
}

static char *state_path(const fixture *f, const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/state/nested/%s", f->dir, name);
	return path;
}

Test(store, opens_in_wal_mode_with_private_files_and_migrates_once)
{
	fixture f = open_fixture();
	cr_expect_eq(idp_store_schema_version(f.s), 4);
	struct stat st;
	cr_assert_eq(stat(state_path(&f, "secret.key"), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(stat(state_path(&f, ""), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(state_path(&f, "state.db"), &db), SQLITE_OK);
	sqlite3_stmt *q;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	/* Opening again applies nothing twice and keeps the key. */
	unsigned char key1[32], key2[32];
	int fd = open(state_path(&f, "secret.key"), O_RDONLY);
	cr_assert_eq(read(fd, key1, 32), 32);
	close(fd);
	idp_store_close(f.s);
	cr_assert_eq(idp_store_open(state_path(&f, ""), &f.s, &f.err), 0, "%s", tu_errstr(&f.err));
	cr_expect_eq(idp_store_schema_version(f.s), 4);
	fd = open(state_path(&f, "secret.key"), O_RDONLY);
	cr_assert_eq(read(fd, key2, 32), 32);
	close(fd);
	cr_expect_eq(memcmp(key1, key2, 32), 0);
	close_fixture(&f);
}

Test(store, a_key_file_others_can_read_is_refused)
{
	fixture f = open_fixture();
	idp_store_close(f.s);
	f.s = NULL;
	chmod(state_path(&f, "secret.key"), 0644);
	idp_err err = IDP_ERR_INIT;
	idp_store *s = NULL;
	cr_expect_eq(idp_store_open(state_path(&f, ""), &s, &err), IDP_EINPUT);
	cr_expect(tu_contains(err.msg, "chmod 600"), "%s", tu_errstr(&err));
	idp_err_clear(&err);
	close_fixture(&f);
}

Test(store, apps_objects_events_and_sync_runs_round_trip)
{
	fixture f = open_fixture();
	idp_store_app app = {"shop", "/tmp/shop-gitops", NULL, "Progressing", 0};
	cr_assert_eq(idp_store_app_put(f.s, &app, &f.err), 0, "%s", tu_errstr(&f.err));
	idp_store_app upd = {"shop", NULL, "abc1234", "Synced", 0};
	cr_assert_eq(idp_store_app_put(f.s, &upd, &f.err), 0);
	idp_store_app got;
	cr_assert_eq(idp_store_app_get(f.s, f.a, "shop", &got, &f.err), 0);
	cr_expect_str_eq(got.gitops, "/tmp/shop-gitops", "a NULL field keeps its value");
	cr_expect_str_eq(got.revision, "abc1234");
	cr_expect_str_eq(got.status, "Synced");
	cr_expect_gt(got.updated, 0);
	cr_expect_eq(idp_store_app_get(f.s, f.a, "nope", &got, &f.err), IDP_ENOTFOUND);

	idp_store_object o = {"Service/default/orders", "{\"kind\":\"Service\"}", NULL, "Progressing", NULL};
	cr_assert_eq(idp_store_object_put(f.s, "shop", &o, &f.err), 0, "%s", tu_errstr(&f.err));
	idp_store_object live = {"Service/default/orders", NULL, "{\"ready\":true}", "Healthy", "1 replica"};
	cr_assert_eq(idp_store_object_put(f.s, "shop", &live, &f.err), 0);
	idp_store_object *objs;
	size_t n;
	cr_assert_eq(idp_store_object_list(f.s, f.a, "shop", &objs, &n, &f.err), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(objs[0].desired, "{\"kind\":\"Service\"}");
	cr_expect_str_eq(objs[0].live, "{\"ready\":true}");
	cr_expect_str_eq(objs[0].health, "Healthy");
	/* An object of an unknown app is refused (foreign keys are on). */
	cr_expect_neq(idp_store_object_put(f.s, "ghost", &o, &f.err), 0);
	idp_err_clear(&f.err);

	int64_t run;
	cr_assert_eq(idp_store_sync_begin(f.s, "shop", "abc1234", &run, &f.err), 0);
	cr_assert_eq(idp_store_sync_end(f.s, run, "Succeeded", &f.err), 0);
	int64_t run2;
	cr_assert_eq(idp_store_sync_begin(f.s, "shop", "def5678", &run2, &f.err), 0);
	idp_store_sync_run *runs;
	cr_assert_eq(idp_store_sync_list(f.s, f.a, "shop", 0, &runs, &n, &f.err), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(runs[0].revision, "def5678", "newest first");
	cr_expect_eq(runs[0].finished, 0, "still running");
	cr_expect_str_eq(runs[1].result, "Succeeded");
	cr_assert_eq(idp_store_sync_list(f.s, f.a, "shop", 1, &runs, &n, &f.err), 0);
	cr_expect_eq(n, 1);
	cr_assert_eq(idp_store_revision_add(f.s, "shop", "abc1234", "api-driven", &f.err), 0);
	cr_assert_eq(idp_store_event_add(f.s, "shop", "Service/default/orders", "Normal", "started", &f.err), 0);
	cr_assert_eq(idp_store_event_add(f.s, NULL, NULL, "Warning", "no app", &f.err), 0);
	idp_store_event *ev;
	cr_assert_eq(idp_store_event_list(f.s, f.a, 0, 0, &ev, &n, &f.err), 0);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(ev[0].message, "started");
	cr_expect_null(ev[1].app);
	cr_assert_eq(idp_store_event_list(f.s, f.a, ev[0].id, 10, &ev, &n, &f.err), 0);
	cr_expect_eq(n, 1);

	/* Deleting the app takes its objects, runs and secrets with it. */
	cr_assert_eq(idp_store_secret_put(f.s, "shop", "default/db", "PASSWORD", "pw", 2, &f.err), 0);
	cr_assert_eq(idp_store_app_delete(f.s, "shop", &f.err), 0, "%s", tu_errstr(&f.err));
	cr_assert_eq(idp_store_object_list(f.s, f.a, "shop", &objs, &n, &f.err), 0);
	cr_expect_eq(n, 0);
	idp_buf b = IDP_BUF_INIT;
	cr_expect_eq(idp_store_secret_get(f.s, "shop", "default/db", "PASSWORD", &b, &f.err), IDP_ENOTFOUND);
	idp_buf_free(&b);
	close_fixture(&f);
}

/* The whole database file (and its WAL) as bytes. */
static bool file_contains(const char *path, const char *needle)
{
	size_t len = 0;
	char *data = idp_fixture_read_file(path, &len);
	bool found = data && memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

Test(store, secrets_are_encrypted_at_rest_and_bound_to_their_row)
{
	fixture f = open_fixture();
	const char *value = "correct-horse-battery-staple";
	cr_assert_eq(idp_store_secret_put(f.s, "shop", "default/orders-postgres-secret", "POSTGRES_PASSWORD", value,
					 strlen(value), &f.err),
		     0, "%s", tu_errstr(&f.err));
	idp_buf b = IDP_BUF_INIT;
	cr_assert_eq(idp_store_secret_get(f.s, "shop", "default/orders-postgres-secret", "POSTGRES_PASSWORD", &b, &f.err), 0);
	cr_expect_str_eq(idp_buf_cstr(&b), value);
	idp_store_close(f.s);
	f.s = NULL;
	cr_expect(!file_contains(state_path(&f, "state.db"), "horse"), "the value is in the database in plain text");
	cr_expect(!file_contains(state_path(&f, "state.db-wal"), "horse"), "the value is in the WAL in plain text");

	/* A ciphertext moved to another row, or changed by one bit, is refused. */
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(state_path(&f, "state.db"), &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
				  "INSERT INTO secrets SELECT app, scope, 'OTHER', nonce, value FROM secrets;"
				  "UPDATE secrets SET value = CAST(value AS BLOB) || x'00' WHERE name = 'POSTGRES_PASSWORD';",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(idp_store_open(state_path(&f, ""), &f.s, &f.err), 0);
	idp_buf_clear(&b);
	cr_expect_eq(idp_store_secret_get(f.s, "shop", "default/orders-postgres-secret", "OTHER", &b, &f.err), IDP_ERUNTIME);
	cr_expect(!tu_contains(f.err.msg, "horse"));
	idp_err_clear(&f.err);
	cr_expect_eq(idp_store_secret_get(f.s, "shop", "default/orders-postgres-secret", "POSTGRES_PASSWORD", &b, &f.err),
		     IDP_ERUNTIME);
	idp_err_clear(&f.err);
	idp_buf_free(&b);
	close_fixture(&f);
}

Test(store, generated_secrets_are_made_once)
{
	fixture f = open_fixture();
	idp_buf one = IDP_BUF_INIT, two = IDP_BUF_INIT, other = IDP_BUF_INIT;
	cr_assert_eq(idp_store_secret_generate(f.s, "shop", "default/redis", "REDIS_PASSWORD", 24, &one, &f.err), 0,
		     "%s", tu_errstr(&f.err));
	cr_expect_eq(one.len, 32, "24 random bytes as URL-safe base64: %s", idp_buf_cstr(&one));
	idp_store_close(f.s);
	cr_assert_eq(idp_store_open(state_path(&f, ""), &f.s, &f.err), 0);
	cr_assert_eq(idp_store_secret_generate(f.s, "shop", "default/redis", "REDIS_PASSWORD", 24, &two, &f.err), 0);
	cr_expect_str_eq(idp_buf_cstr(&two), idp_buf_cstr(&one));
	cr_assert_eq(idp_store_secret_generate(f.s, "shop", "default/redis", "OTHER", 24, &other, &f.err), 0);
	cr_expect_str_neq(idp_buf_cstr(&other), idp_buf_cstr(&one));
	idp_buf_free(&one);
	idp_buf_free(&two);
	idp_buf_free(&other);
	close_fixture(&f);
}

/* Processes opening a new state directory at once all succeed and agree
 * on its key. */
Test(store, processes_opening_a_new_state_directory_at_once)
{
	char *dir = idp_fixture_tmpdir();
	for (int round = 0; round < 20; round++) {
		char state[4200];
		snprintf(state, sizeof state, "%s/s%d", dir, round);
		pid_t kids[6];
		for (int i = 0; i < 6; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				idp_store *s;
				idp_err err = IDP_ERR_INIT;
				idp_buf b = IDP_BUF_INIT;
				int rc = idp_store_open(state, &s, &err) ||
					 idp_store_secret_generate(s, "a", "b", "c", 16, &b, &err);
				_exit(rc ? 1 : 0);
			}
		}
		for (int i = 0; i < 6; i++) {
			int status;
			waitpid(kids[i], &status, 0);
			cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: a process failed to open", round);
		}
	}
	idp_fixture_rmtree(dir);
	free(dir);
}

/* Two processes generating the same secret at once get the same value. */
Test(store, concurrent_processes_agree_on_a_generated_secret)
{
	fixture f = open_fixture();
	char *state = strdup(state_path(&f, ""));
	int pipes[4][2];
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(pipe(pipes[i]), 0);
		pid_t pid = fork();
		if (pid == 0) {
			idp_store *s;
			idp_err err = IDP_ERR_INIT;
			idp_buf b = IDP_BUF_INIT;
			int rc = idp_store_open(state, &s, &err) ||
				 idp_store_secret_generate(s, "shop", "default/db", "PW", 24, &b, &err);
			if (rc == 0 && write(pipes[i][1], b.ptr, b.len) != (ssize_t)b.len)
				rc = 1;
			_exit(rc ? 1 : 0);
		}
		close(pipes[i][1]);
	}
	char got[4][64];
	for (int i = 0; i < 4; i++) {
		ssize_t n = read(pipes[i][0], got[i], sizeof got[i] - 1);
		got[i][n > 0 ? n : 0] = '\0';
		close(pipes[i][0]);
		int status;
		wait(&status);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 1; i < 4; i++)
		cr_expect_str_eq(got[i], got[0]);
	cr_expect_eq(strlen(got[0]), 32);
	free(state);
	close_fixture(&f);
}
