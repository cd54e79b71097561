/* PostgreSQL as a local daemon: a cluster of its own (initdb) in the data
 * directory, the server on its loopback address (TCP only), the
 * application's role and database made through libpq, ready when
 * `SELECT 1` works as that role. The cluster's superuser has a password of
 * its own, kept in the data directory for the runtime alone. initdb and
 * postgres refuse root: when the runtime is root they run as nobody, who
 * owns pgdata/ and nothing else (the data directory stays the runtime's,
 * so nobody cannot plant a link where root writes). */
#include "runtime/runtime_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
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
		if (u->switch_user && (setgroups(0, NULL) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0))
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
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
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n && (!u->switch_user || fchown(fd, u->uid, u->gid) == 0);
	close(fd);
	return ok ? 0 : idp_err_set(err, IDP_ERUNTIME, "cannot write %s", path);
}

/* The superuser's password: random, made once, 0600 for the runtime. */
static const char *superuser_password(idp_arena *a, const char *data_dir, idp_err *err)
{
	const char *path = idp_arena_printf(a, "%s/superuser.pw", data_dir);
	idp_buf b = IDP_BUF_INIT;
	idp_err ignored = IDP_ERR_INIT;
	const char *pw = NULL;
	if (idp_file_read(path, 256, &b, &ignored) == 0 && b.len >= 32) {
		pw = idp_arena_strndup(a, b.ptr, b.len);
	} else {
		unsigned char raw[24];
		char hex[sizeof(raw) * 2 + 1];
		if (getrandom(raw, sizeof(raw), 0) == (ssize_t)sizeof(raw)) {
			for (size_t i = 0; i < sizeof(raw); i++)
				snprintf(hex + 2 * i, 3, "%02x", raw[i]);
			runtime_user self = {false, 0, 0};
			if (write_owned(path, hex, &self, err) == 0)
				pw = idp_arena_strdup(a, hex);
		} else {
			idp_err_set(err, IDP_ERUNTIME, "no randomness for the PostgreSQL superuser");
		}
	}
	idp_buf_free(&b);
	idp_err_clear(&ignored);
	return pw;
}

/* Whether pid is gone for good: absent, or a zombie nobody reaped yet (a
 * runtime killed with -9 leaves its postmaster to whoever adopts it, and
 * PostgreSQL counts a zombie as a live postmaster), or another program now. */
static bool pid_is_stale(pid_t pid, const char *pgdata)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *close_paren = strrchr(buf, ')');
	if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
		return true;
	char cwd[4200], real[4200];
	snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
	ssize_t k = readlink(path, cwd, sizeof cwd - 1);
	if (k <= 0)
		return false; /* cannot tell: PostgreSQL's own check decides */
	cwd[k] = 0;
	return realpath(pgdata, real) && strcmp(cwd, real) != 0; /* a postmaster runs in its data directory */
}

/* Removes postmaster.pid when the postmaster it names is stale. */
static void clear_stale_lock(idp_arena *a, const char *pgdata)
{
	const char *lock = idp_arena_printf(a, "%s/postmaster.pid", pgdata);
	FILE *f = fopen(lock, "r");
	long pid = 0;
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0 && pid_is_stale((pid_t)pid, pgdata))
		unlink(lock);
}

int runtime_postgres_prepare(idp_arena *a, const idp_runtime_daemon *d, char ***argv, runtime_user *u, idp_err *err)
{
	if (!d->user || !d->password || !d->database)
		return idp_err_set(err, IDP_EINPUT, "%s: PostgreSQL needs a user, a password and a database", d->name);
	const char *bin = bin_dir(a);
	if (!bin)
		return idp_err_set(err, IDP_EINPUT, "%s: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin)", d->name);
	int rc = server_user(u, err);
	const char *pgdata = idp_arena_printf(a, "%s/pgdata", d->data_dir);
	const char *log = idp_arena_printf(a, "%s/daemon.log", d->data_dir);
	const char *super = rc == 0 ? superuser_password(a, d->data_dir, err) : NULL;
	if (rc == 0 && !super)
		rc = err->code ? err->code : IDP_ERUNTIME;
	struct stat st;
	if (rc == 0 && u->switch_user && chmod(d->data_dir, 0711) != 0) /* nobody goes through, to pgdata/ */
		rc = idp_err_set(err, IDP_ERUNTIME, "cannot open %s to nobody: %s", d->data_dir, strerror(errno));
	if (rc == 0 && stat(pgdata, &st) == 0)
		clear_stale_lock(a, pgdata);
	if (rc == 0 && stat(pgdata, &st) != 0) { /* a new cluster */
		if (mkdir(pgdata, 0700) != 0 || (u->switch_user && chown(pgdata, u->uid, u->gid) != 0))
			rc = idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", pgdata, strerror(errno));
		/* initdb reads the superuser's password from a file that exists
		 * only while it runs, readable by the server's user alone. */
		const char *pwfile = idp_arena_printf(a, "%s/.pwfile", d->data_dir);
		if (rc == 0)
			rc = write_owned(pwfile, super, u, err);
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
	v[8] = "unix_socket_directories="; /* TCP only: a socket path in a long data directory would not fit */
	v[9] = NULL;
	*argv = v;
	return rc;
}

static PGconn *connect_as(const idp_runtime_daemon *d, const char *user, const char *password, const char *db)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", d->port);
	const char *keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", NULL};
	const char *vals[] = {d->host, port, user, password, db, "2", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	PQsetErrorContextVisibility(c, PQSHOW_CONTEXT_NEVER);
	return c;
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
	PGconn *c = connect_as(d, d->user, d->password, d->database);
	bool ok = PQstatus(c) == CONNECTION_OK && select_one(c);
	PQfinish(c);
	return ok;
}


/* One statement; its error (never holding a password: those go encrypted)
 * into err. */
static int run_sql(PGconn *c, const idp_runtime_daemon *d, const char *sql, const char *what, idp_err *err)
{
	PGresult *r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok ? 0 : idp_err_set(err, IDP_ERUNTIME, "%s: cannot %s: %s", d->name, what, PQerrorMessage(c));
}

static bool exists(PGconn *c, const char *sql, const char *name)
{
	const char *params[] = {name};
	PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
	bool yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	PQclear(r);
	return yes;
}

/* The role and database of the application, once the server answers. */
int runtime_postgres_setup(const idp_runtime_daemon *d, bool *answered, idp_err *err)
{
	idp_arena *a = idp_arena_new();
	const char *super = superuser_password(a, d->data_dir, err);
	PGconn *c = super ? connect_as(d, "postgres", super, "postgres") : NULL;
	*answered = c && PQstatus(c) == CONNECTION_OK;
	int rc = super ? 0 : IDP_ERUNTIME;
	char *role = NULL, *db = NULL, *pw = NULL, *verifier = NULL;
	if (*answered) {
		role = PQescapeIdentifier(c, d->user, strlen(d->user));
		db = PQescapeIdentifier(c, d->database, strlen(d->database));
		/* The server gets a SCRAM verifier, not the password: no log or
		 * message can show it. */
		verifier = PQencryptPasswordConn(c, d->password, d->user, "scram-sha-256");
		pw = verifier ? PQescapeLiteral(c, verifier, strlen(verifier)) : NULL;
		if (!role || !db || !pw)
			rc = idp_err_set(err, IDP_EINPUT, "%s: bad user or database name", d->name);
	}
	idp_buf sql = IDP_BUF_INIT;
	if (*answered && rc == 0) {
		bool has = exists(c, "SELECT 1 FROM pg_roles WHERE rolname = $1", d->user);
		idp_buf_printf(&sql, "%s ROLE %s LOGIN PASSWORD %s", has ? "ALTER" : "CREATE", role, pw);
		rc = run_sql(c, d, idp_buf_cstr(&sql), "make the role", err);
	}
	if (*answered && rc == 0 && !exists(c, "SELECT 1 FROM pg_database WHERE datname = $1", d->database)) {
		idp_buf_clear(&sql);
		idp_buf_printf(&sql, "CREATE DATABASE %s OWNER %s", db, role);
		rc = run_sql(c, d, idp_buf_cstr(&sql), "make the database", err);
	}
	idp_buf_free(&sql);
	PQfreemem(role);
	PQfreemem(db);
	PQfreemem(pw);
	PQfreemem(verifier);
	PQfinish(c);
	idp_arena_free(a);
	return rc;
}
