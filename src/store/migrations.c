/* The schema, as numbered migrations. A room that keeps state adds its
 * migration at the end of the list with the next number; an applied
 * migration is never edited (a database made by an older idp is brought
 * forward by the ones it lacks). */
#include "store/store_private.h"

#include <stdio.h>
#include <time.h>

typedef struct migration {
	int version;
	const char *room; /* who owns the tables it makes */
	const char *sql;
} migration;

static const migration migrations[] = {
	{1, "store",
	 "CREATE TABLE apps(name TEXT PRIMARY KEY, gitops TEXT, revision TEXT, status TEXT, updated INTEGER NOT NULL);"
	 "CREATE TABLE revisions(id INTEGER PRIMARY KEY, app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
	 " revision TEXT NOT NULL, source TEXT, time INTEGER NOT NULL);"
	 "CREATE TABLE objects(app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE, key TEXT NOT NULL,"
	 " desired TEXT, live TEXT, health TEXT, message TEXT, updated INTEGER NOT NULL, PRIMARY KEY(app, key));"
	 "CREATE TABLE sync_runs(id INTEGER PRIMARY KEY, app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,"
	 " revision TEXT, started INTEGER NOT NULL, finished INTEGER, result TEXT);"
	 "CREATE TABLE events(id INTEGER PRIMARY KEY, time INTEGER NOT NULL, app TEXT, object TEXT, type TEXT NOT NULL,"
	 " message TEXT NOT NULL);"
	 "CREATE INDEX events_app ON events(app, id);"
	 /* Values encrypted (XChaCha20-Poly1305, the row's identity as associated data). */
	 "CREATE TABLE secrets(app TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, nonce BLOB NOT NULL,"
	 " value BLOB NOT NULL, PRIMARY KEY(app, scope, name));"},
	/* API bearer tokens: only a hash of each is kept. */
	{2, "api", "CREATE TABLE tokens(name TEXT PRIMARY KEY, hash BLOB NOT NULL, created INTEGER NOT NULL);"},
	/* The claim workflow: a row per request, a row per step it went through. */
	{3, "api",
	 "CREATE TABLE workflows(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, app TEXT NOT NULL,"
	 " claim TEXT NOT NULL, origin TEXT, state TEXT NOT NULL, step INTEGER NOT NULL, error TEXT,"
	 " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	 "CREATE INDEX workflows_state ON workflows(state, id);"
	 "CREATE TABLE workflow_steps(workflow INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,"
	 " step INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL, started REAL, finished REAL, message TEXT,"
	 " PRIMARY KEY(workflow, step));"},
	/* Webhook deliveries already processed (an object's generation). */
	{4, "api", "CREATE TABLE seen(key TEXT PRIMARY KEY, at INTEGER NOT NULL);"},
};

int store_schema_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = 0;
	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

static int fail(sqlite3 *db, idp_err *err, int version, char *msg)
{
	int rc = idp_err_set(err, IDP_ERUNTIME, "store: migration %d: %s", version, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int store_migrate(sqlite3 *db, idp_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db,
			 "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, room TEXT NOT NULL,"
			 " applied INTEGER NOT NULL)",
			 NULL, NULL, &msg) != SQLITE_OK)
		return fail(db, err, 0, msg);
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const migration *m = &migrations[i];
		/* IMMEDIATE: two processes opening a new state directory at once
		 * apply each migration once. */
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
			return fail(db, err, m->version, msg);
		if (store_schema_version(db) >= m->version) {
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
			continue;
		}
		char record[160];
		snprintf(record, sizeof(record), "INSERT INTO schema_migrations VALUES(%d, '%s', %lld)", m->version, m->room,
			 (long long)time(NULL));
		if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, record, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
			return fail(db, err, m->version, msg);
	}
	return 0;
}
