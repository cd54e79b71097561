/* PostgreSQL as a local daemon: a cluster of its own (initdb) in the data
 * directory, the server on its loopback address, the application's role
 * and database made through libpq, ready when `SELECT 1` works as that
 * role. initdb and postgres refuse root: when the runtime is root they run
 * as nobody, who owns the data directory. */
#include "runtime/runtime_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The newest /usr/lib/postgresql/<version>/bin (Debian keeps them there). */
static const char *bin_dir(idp_arena *a)
{
	DIR *d = opendir("/usr/lib/postgresql");
	long best = -1;
	for (struct dirent *e; d && (e = readdir(d));) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (end != e->d_name && !*end && v > best)
			best = v;
	}
	if (d)
		closedir(d);
	return best < 0 ? NULL : idp_arena_printf(a, "/usr/lib/postgresql/%ld/bin", best);
}

/* Who runs the server: the runtime itself, or nobody when that is root. */
static int server_user(runtime_user *u, idp_err *err)
{
	u->switch_user = geteuid() == 0;
	if (!u->switch_user)
		return 0;
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		return idp_err_set(err, IDP_ERUNTIME, "PostgreSQL refuses root, and there is no user nobody to run it as");
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* Runs argv to completion (as u), its output appended to log. */
static int run_once(char *const argv[], const runtime_user *u, const char *log, idp_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return idp_err_set(err, IDP_ERUNTIME, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (u->switch_user && (setgid(u->gid) != 0 || setuid(u->uid) != 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s failed (see %s)", argv[0], log);
	return 0;
}

static int write_owned(const char *path, const char *text, const runtime_user *u, idp_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n && (!u->switch_user || fchown(fd, u->uid, u->gid) == 0);
	close(fd);
	return ok ? 0 : idp_err_set(err, IDP_ERUNTIME, "cannot write %s", path);
}

int runtime_postgres_prepare(idp_arena *a, const idp_runtime_daemon *d, char ***argv, runtime_user *u, idp_err *err)
{
	if (!d->user || !d->password || !d->database)
		return idp_err_set(err, IDP_EINPUT, "%s: PostgreSQL needs a user, a password and a database", d->name);
	const char *bin = bin_dir(a);
	if (!bin)
		return idp_err_set(err, IDP_EINPUT, "%s: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)", d->name);
	int rc = server_user(u, err);
	if (rc == 0 && u->switch_user && chown(d->data_dir, u->uid, u->gid) != 0)
		rc = idp_err_set(err, IDP_ERUNTIME, "cannot give %s to nobody: %s", d->data_dir, strerror(errno));
	const char *pgdata = idp_arena_printf(a, "%s/pgdata", d->data_dir);
	const char *log = idp_arena_printf(a, "%s/daemon.log", d->data_dir);
	struct stat st;
	if (rc == 0 && stat(pgdata, &st) != 0) { /* a new cluster: superuser postgres with the same password */
		const char *pwfile = idp_arena_printf(a, "%s/.pwfile", d->data_dir);
		rc = write_owned(pwfile, d->password, u, err);
		char *init[] = {(char *)idp_arena_printf(a, "%s/initdb", bin), "-D", (char *)pgdata, "-U", "postgres",
				"--auth=scram-sha-256", "-E", "UTF8", "--no-instructions",
				(char *)idp_arena_printf(a, "--pwfile=%s", pwfile), NULL};
		if (rc == 0)
			rc = run_once(init, u, log, err);
		unlink(pwfile);
	}
	char **v = idp_arena_alloc(a, 10 * sizeof(*v));
	v[0] = (char *)idp_arena_printf(a, "%s/postgres", bin);
	v[1] = "-D";
	v[2] = (char *)pgdata;
	v[3] = "-c";
	v[4] = (char *)idp_arena_printf(a, "listen_addresses=%s", d->host);
	v[5] = "-c";
	v[6] = (char *)idp_arena_printf(a, "port=%d", d->port);
	v[7] = "-c";
	v[8] = (char *)idp_arena_printf(a, "unix_socket_directories=%s", d->data_dir);
	v[9] = NULL;
	*argv = v;
	return rc;
}

static PGconn *connect_as(const idp_runtime_daemon *d, const char *user, const char *db)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", d->port);
	const char *keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", NULL};
	const char *vals[] = {d->host, port, user, d->password, db, "2", NULL};
	return PQconnectdbParams(keys, vals, 0);
}

static bool select_one(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT 1");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
	PQclear(r);
	return ok;
}

bool runtime_postgres_ready(const idp_runtime_daemon *d)
{
	PGconn *c = connect_as(d, d->user, d->database);
	bool ok = PQstatus(c) == CONNECTION_OK && select_one(c);
	PQfinish(c);
	return ok;
}

static bool exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok;
}

/* The role and database of the application, once the server answers. */
int runtime_postgres_setup(const idp_runtime_daemon *d, bool *answered, idp_err *err)
{
	PGconn *c = connect_as(d, "postgres", "postgres");
	*answered = PQstatus(c) == CONNECTION_OK;
	if (!*answered) {
		PQfinish(c);
		return 0;
	}
	char *role = PQescapeIdentifier(c, d->user, strlen(d->user));
	char *db = PQescapeIdentifier(c, d->database, strlen(d->database));
	char *pw = PQescapeLiteral(c, d->password, strlen(d->password));
	char *who = PQescapeLiteral(c, d->user, strlen(d->user)), *dbl = PQescapeLiteral(c, d->database, strlen(d->database));
	int rc = role && db && pw && who && dbl ? 0 : idp_err_set(err, IDP_EINPUT, "%s: bad user or database name", d->name);
	idp_buf sql = IDP_BUF_INIT;
	if (rc == 0) {
		idp_buf_printf(&sql,
			       "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN "
			       "CREATE ROLE %s LOGIN PASSWORD %s; ELSE ALTER ROLE %s LOGIN PASSWORD %s; END IF; END$$",
			       who, role, pw, role, pw);
		if (!exec_ok(c, idp_buf_cstr(&sql)))
			rc = idp_err_set(err, IDP_ERUNTIME, "%s: cannot make role %s: %s", d->name, d->user, PQerrorMessage(c));
	}
	if (rc == 0) {
		idp_buf_clear(&sql);
		idp_buf_printf(&sql, "SELECT 1 FROM pg_database WHERE datname = %s", dbl);
		PGresult *r = PQexec(c, idp_buf_cstr(&sql));
		bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		PQclear(r);
		idp_buf_clear(&sql);
		idp_buf_printf(&sql, "CREATE DATABASE %s OWNER %s", db, role);
		if (!exists && !exec_ok(c, idp_buf_cstr(&sql)))
			rc = idp_err_set(err, IDP_ERUNTIME, "%s: cannot make database %s: %s", d->name, d->database,
					 PQerrorMessage(c));
	}
	idp_buf_free(&sql);
	PQfreemem(role);
	PQfreemem(db);
	PQfreemem(pw);
	PQfreemem(who);
	PQfreemem(dbl);
	PQfinish(c);
	return rc;
}
