/*
 * The runtime's supervisor (suite "runtime"): real processes. Started in
 * their own group, logs appended to a file, restarted with growing
 * backoff, stopped with their children, and dead when the runtime dies
 * (SIGKILL of the parent leaves no orphan).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "testutil.h"

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

/* Ticks until cond holds or seconds pass. */
#define TICK_UNTIL(s, cond, seconds)                                             \
	do {                                                                     \
		double until_ = mono() + (seconds);                              \
		while (!(cond) && mono() < until_) {                            \
			idp_runtime_tick(s);                                     \
			usleep(5000);                                            \
		}                                                                \
	} while (0)

Test(runtime, starts_logs_and_stops_a_process_group)
{
	char *dir = idp_fixture_tmpdir();
	char log[4096];
	snprintf(log, sizeof log, "%s/svc.log", dir);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	/* A shell that starts a grandchild and prints its environment. */
	char *argv[] = {"sh", "-c", "echo \"hello $GREETING from $(pwd)\"; sleep 100 & wait", NULL};
	char *env[] = {"GREETING=world", NULL};
	idp_runtime_proc_spec spec = {"shop/svc", argv, env, dir, log, false, false, 0, 0, 0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_start(s, &spec, &err), 0, "%s", tu_errstr(&err));
	idp_runtime_proc_status st;
	cr_assert_eq(idp_runtime_status(s, "shop/svc", &st), 0);
	cr_expect_eq(st.state, IDP_RUNTIME_RUNNING);
	cr_expect_eq(getpgid(st.pid), st.pid, "not its own process group");
	pid_t pid = st.pid;
	char *text = NULL;
	double until = mono() + 5;
	while (mono() < until && (!(text = idp_fixture_read_file(log, NULL)) || !strstr(text, "hello"))) {
		free(text);
		text = NULL;
		usleep(10000);
	}
	char want[4200];
	snprintf(want, sizeof want, "hello world from %s\n", dir);
	cr_expect(text && strstr(text, want), "log: %s", text ? text : "(none)");
	free(text);
	/* The name is taken while it runs. */
	cr_expect_eq(idp_runtime_start(s, &spec, &err), IDP_EINPUT);
	idp_err_clear(&err);
	cr_assert_eq(idp_runtime_stop(s, "shop/svc", 1000, &err), 0);
	cr_expect(!alive(pid));
	/* The sleep was the shell's: once its new parent reaps it, the group is empty. */
	until = mono() + 3;
	while (kill(-pid, 0) == 0 && mono() < until)
		usleep(5000);
	cr_expect_eq(kill(-pid, 0), -1, "the group (the sleep) is left");
	cr_assert_eq(idp_runtime_status(s, "shop/svc", &st), 0);
	cr_expect_eq(st.state, IDP_RUNTIME_STOPPED);
	cr_expect_eq(idp_runtime_stop(s, "nope", 10, &err), IDP_ENOTFOUND);
	idp_err_clear(&err);
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* The runtime's own descriptors (sockets, the store) never reach a child. */
Test(runtime, a_child_gets_only_stdin_stdout_and_stderr)
{
	char *dir = idp_fixture_tmpdir();
	char log[4096];
	snprintf(log, sizeof log, "%s/fds.log", dir);
	int leak = open("/dev/null", O_RDONLY); /* not close-on-exec, on purpose */
	cr_assert_geq(leak, 3);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	char *argv[] = {"sh", "-c", "ls /proc/self/fd > /dev/null; for f in /proc/$$/fd/*; do echo ${f##*/}; done", NULL};
	idp_runtime_proc_spec spec = {"fds", argv, NULL, dir, log, false, false, 0, 0, 0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_start(s, &spec, &err), 0, "%s", tu_errstr(&err));
	idp_runtime_proc_status st;
	double until = mono() + 5;
	do {
		idp_runtime_tick(s);
		usleep(5000);
	} while (idp_runtime_status(s, "fds", &st) == 0 && st.state == IDP_RUNTIME_RUNNING && mono() < until);
	char *text = idp_fixture_read_file(log, NULL);
	cr_assert_not_null(text);
	/* The shell's own fds 0, 1, 2 (and maybe one it opens for the glob). */
	cr_expect(strncmp(text, "0\n1\n2\n", 6) == 0, "%s", text);
	int count = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		count += atoi(line) >= 3 && atoi(line) != 255;
	cr_expect_leq(count, 1, "descriptors leaked into the child");
	free(text);
	close(leak);
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(runtime, a_missing_program_is_an_error_at_start)
{
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	char *argv[] = {"no-such-program-idp", NULL};
	idp_runtime_proc_spec spec = {"x", argv, NULL, NULL, NULL, true, false, 0, 0, 0};
	idp_err err = IDP_ERR_INIT;
	cr_expect_eq(idp_runtime_start(s, &spec, &err), IDP_EINPUT);
	cr_expect(tu_contains(err.msg, "no-such-program-idp"), "%s", tu_errstr(&err));
	idp_err_clear(&err);
	idp_runtime_supervisor_free(s);
}

Test(runtime, restarts_with_growing_backoff_and_stops_restarting_on_stop)
{
	idp_runtime_backoff b = {0.05, 0.4, 10.0};
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(&b);
	char *argv[] = {"sh", "-c", "exit 3", NULL};
	idp_runtime_proc_spec spec = {"crashy", argv, NULL, NULL, NULL, true, false, 0, 0, 0};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_start(s, &spec, &err), 0, "%s", tu_errstr(&err));
	idp_runtime_proc_status st = {0};
	double t0 = mono();
	TICK_UNTIL(s, idp_runtime_status(s, "crashy", &st) == 0 && st.restarts >= 4, 5.0);
	double took = mono() - t0;
	cr_expect_geq(st.restarts, 4u);
	cr_expect_eq(st.last_exit, 3);
	/* 0.05 + 0.1 + 0.2 + 0.4: the waits grew (and were capped). */
	cr_expect_geq(took, 0.7, "restarted too fast: %.2f s for 4 restarts", took);
	cr_assert_eq(idp_runtime_stop(s, "crashy", 100, &err), 0);
	unsigned restarts = st.restarts;
	TICK_UNTIL(s, false, 0.6);
	cr_assert_eq(idp_runtime_status(s, "crashy", &st), 0);
	cr_expect_eq(st.state, IDP_RUNTIME_STOPPED);
	cr_expect_leq(st.restarts, restarts + 1);
	/* Without restart: it stays exited, with its status. */
	char *once_argv[] = {"sh", "-c", "exit 7", NULL};
	idp_runtime_proc_spec once = {"once", once_argv, NULL, NULL, NULL, false, false, 0, 0, 0};
	cr_assert_eq(idp_runtime_start(s, &once, &err), 0);
	TICK_UNTIL(s, idp_runtime_status(s, "once", &st) == 0 && st.state == IDP_RUNTIME_EXITED, 5.0);
	cr_expect_eq(st.state, IDP_RUNTIME_EXITED);
	cr_expect_eq(st.last_exit, 7);
	idp_runtime_supervisor_free(s);
}

/* kill -9 of the runtime: its children die with it. */
Test(runtime, children_die_with_the_runtime)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t runtime = fork();
	if (runtime == 0) {
		close(fds[0]);
		idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
		char *argv[] = {"sleep", "100", NULL};
		/* The second runs as nobody (when we are root): changing user
		 * clears the parent-death signal, so it must be set after. */
		idp_runtime_proc_spec spec = {"sleeper", argv, NULL, NULL, NULL, true, false, 0, 0, 0};
		idp_runtime_proc_spec other = {"nobody", argv, NULL, "/", NULL, true, geteuid() == 0, 65534, 65534, 0};
		idp_err err = IDP_ERR_INIT;
		idp_runtime_proc_status st, st2;
		if (idp_runtime_start(s, &spec, &err) != 0 || idp_runtime_status(s, "sleeper", &st) != 0 ||
		    idp_runtime_start(s, &other, &err) != 0 || idp_runtime_status(s, "nobody", &st2) != 0)
			_exit(1);
		if (write(fds[1], &st.pid, sizeof st.pid) != (ssize_t)sizeof st.pid ||
		    write(fds[1], &st2.pid, sizeof st2.pid) != (ssize_t)sizeof st2.pid)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	pid_t child = 0, child2 = 0;
	cr_assert_eq(read(fds[0], &child, sizeof child), (ssize_t)sizeof child);
	cr_assert_eq(read(fds[0], &child2, sizeof child2), (ssize_t)sizeof child2);
	close(fds[0]);
	cr_assert(alive(child) && alive(child2));
	kill(runtime, SIGKILL);
	waitpid(runtime, NULL, 0);
	double until = mono() + 2;
	while ((alive(child) || alive(child2)) && mono() < until)
		usleep(5000);
	/* The children are not ours to reap: once init reaps them, kill() fails. */
	cr_expect(!alive(child), "the runtime's child outlived it");
	cr_expect(!alive(child2), "the runtime's child running as another user outlived it");
}

/* ---------------------------------------------------------------- daemons */

#include <arpa/inet.h>
#include <sys/socket.h>

/* A loopback address of its own for each test run: 127.0.0.2 .. 127.0.0.254. */
static const char *own_loopback(void)
{
	static char host[32];
	snprintf(host, sizeof host, "127.0.0.%d", 2 + (int)(getpid() % 250));
	return host;
}

/* Sends a raw request and returns what came back within 1 s (caller frees). */
static char *talk(const char *host, int port, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return strdup("");
	}
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return strdup("");
	}
	struct timeval tv = {0, 300000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char *buf = calloc(1, 4096);
	size_t got = 0;
	ssize_t r;
	while (got < 4095 && (r = read(fd, buf + got, 4095 - got)) > 0)
		got += (size_t)r;
	close(fd);
	return buf;
}

Test(runtime, redis_runs_on_its_address_with_a_password_and_comes_back_with_its_data, .timeout = 60)
{
	if (!idp_fixture_have_program("redis-server"))
		cr_skip_test("redis-server is not installed");
	char *dir = idp_fixture_tmpdir();
	char data[4200];
	snprintf(data, sizeof data, "%s/redis", dir);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	idp_runtime_daemon d = {IDP_DAEMON_REDIS, "shop/default/cache", data, own_loopback(), idp_fixture_free_port(), NULL,
				"s3cret", NULL};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_daemon_start(s, &d, 10, &err), 0, "%s", tu_errstr(&err));
	cr_expect(idp_runtime_daemon_ready(&d));
	idp_runtime_daemon wrong = d;
	wrong.password = "nope";
	cr_expect(!idp_runtime_daemon_ready(&wrong), "a wrong password was let in");
	char *r = talk(d.host, d.port, "AUTH s3cret\r\nSET counter 41\r\nINCR counter\r\n");
	cr_expect(strstr(r, ":42") != NULL, "%s", r);
	free(r);
	/* Killed: the supervisor starts it again, and the data is still there. */
	idp_runtime_proc_status st;
	cr_assert_eq(idp_runtime_status(s, d.name, &st), 0);
	pid_t first = st.pid;
	kill(first, SIGKILL);
	TICK_UNTIL(s, idp_runtime_status(s, d.name, &st) == 0 && st.pid && st.pid != first && idp_runtime_daemon_ready(&d),
		   10.0);
	cr_expect_neq(st.pid, first, "not restarted");
	r = talk(d.host, d.port, "AUTH s3cret\r\nGET counter\r\n");
	cr_expect(strstr(r, "42") != NULL, "the data did not survive: %s", r);
	free(r);
	char conf[4300];
	snprintf(conf, sizeof conf, "%s/redis.conf", data);
	struct stat cst;
	cr_assert_eq(stat(conf, &cst), 0);
	cr_expect_eq(cst.st_mode & 0777, 0600, "the config holds the password: 0600");
	idp_runtime_supervisor_free(s);
	cr_expect(!idp_runtime_daemon_ready(&d), "still answering after the runtime stopped");
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(runtime, mosquitto_takes_its_user_only, .timeout = 60)
{
	if (!idp_fixture_have_program("mosquitto") || !idp_fixture_have_program("mosquitto_passwd"))
		cr_skip_test("mosquitto is not installed");
	char *dir = idp_fixture_tmpdir();
	char data[4200];
	snprintf(data, sizeof data, "%s/mqtt", dir);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	idp_runtime_daemon d = {IDP_DAEMON_MOSQUITTO, "shop/default/mqtt", data, own_loopback(), idp_fixture_free_port(),
				"device", "pa55", NULL};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_daemon_start(s, &d, 10, &err), 0, "%s", tu_errstr(&err));
	cr_expect(idp_runtime_daemon_ready(&d));
	idp_runtime_daemon wrong = d;
	wrong.password = "nope";
	cr_expect(!idp_runtime_daemon_ready(&wrong), "a wrong password got a CONNACK 0");
	wrong.user = NULL;
	cr_expect(!idp_runtime_daemon_ready(&wrong), "anonymous got in");
	idp_runtime_supervisor_free(s);
	/* A CONNECT longer than 127 bytes (its length takes two bytes). */
	s = idp_runtime_supervisor_new(NULL);
	static char longpw[161];
	memset(longpw, 'p', 160);
	idp_runtime_daemon big = d;
	big.password = longpw;
	big.port = idp_fixture_free_port();
	cr_assert_eq(idp_runtime_daemon_start(s, &big, 10, &err), 0, "%s", tu_errstr(&err));
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(runtime, a_daemon_that_cannot_start_is_reported_with_its_log, .timeout = 60)
{
	if (!idp_fixture_have_program("redis-server"))
		cr_skip_test("redis-server is not installed");
	char *dir = idp_fixture_tmpdir();
	char data[4200];
	snprintf(data, sizeof data, "%s/redis", dir);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	/* 192.0.2.1 (TEST-NET) is no address of this machine: bind fails. */
	idp_runtime_daemon d = {IDP_DAEMON_REDIS, "bad", data, "192.0.2.1", idp_fixture_free_port(), NULL, NULL, NULL};
	idp_err err = IDP_ERR_INIT;
	cr_expect_eq(idp_runtime_daemon_start(s, &d, 2, &err), IDP_ERUNTIME);
	cr_expect(tu_contains(err.msg, "daemon.log"), "%s", tu_errstr(&err));
	idp_err_clear(&err);
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

#include <dirent.h>
#include <libpq-fe.h>

static bool have_postgres(void)
{
	DIR *d = opendir("/usr/lib/postgresql");
	bool found = false;
	for (struct dirent *e; d && (e = readdir(d));)
		found = found || (e->d_name[0] >= '0' && e->d_name[0] <= '9');
	if (d)
		closedir(d);
	return found;
}

static char *pg_query(const idp_runtime_daemon *d, const char *sql)
{
	char port[16];
	snprintf(port, sizeof port, "%d", d->port);
	const char *keys[] = {"host", "port", "user", "password", "dbname", NULL};
	const char *vals[] = {d->host, port, d->user, d->password, d->database, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	char *out = NULL;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
			out = strdup(PQgetvalue(r, 0, 0));
		else if (PQresultStatus(r) == PGRES_COMMAND_OK)
			out = strdup("ok");
		PQclear(r);
	}
	PQfinish(c);
	return out ? out : strdup("");
}

Test(runtime, postgresql_gets_its_own_cluster_role_and_database, .timeout = 120)
{
	if (!have_postgres())
		cr_skip_test("PostgreSQL is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711); /* nobody (the server's user, when the tests run as root) goes through */
	char data[4200];
	snprintf(data, sizeof data, "%s/pg", dir);
	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	idp_runtime_daemon d = {IDP_DAEMON_POSTGRESQL, "shop/default/db", data, own_loopback(), idp_fixture_free_port(),
				"orders", "pw-'quoted\"", "orders_db"};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_daemon_start(s, &d, 60, &err), 0, "%s", tu_errstr(&err));
	cr_expect(idp_runtime_daemon_ready(&d));
	char *r = pg_query(&d, "CREATE TABLE hits(n int); INSERT INTO hits VALUES (7)");
	cr_expect_str_eq(r, "ok");
	free(r);
	r = pg_query(&d, "SELECT current_user || '@' || current_database()");
	cr_expect_str_eq(r, "orders@orders_db");
	free(r);
	idp_runtime_daemon wrong = d;
	wrong.password = "nope";
	cr_expect(!idp_runtime_daemon_ready(&wrong), "a wrong password was let in");
	/* The application's password is not the superuser's. */
	idp_runtime_daemon super = d;
	super.user = "postgres";
	super.database = "postgres";
	cr_expect(!idp_runtime_daemon_ready(&super), "the application's password opens the superuser");
	/* Stopped and started again (the cluster is kept): the data is there. */
	idp_runtime_supervisor_free(s);
	s = idp_runtime_supervisor_new(NULL);
	cr_assert_eq(idp_runtime_daemon_start(s, &d, 60, &err), 0, "%s", tu_errstr(&err));
	r = pg_query(&d, "SELECT n FROM hits");
	cr_expect_str_eq(r, "7");
	free(r);
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- the example service */

static int get(int port, const char *path, char *body, size_t cap)
{
	char req[256];
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	char *resp = talk("127.0.0.1", port, req);
	int status = atoi(resp + (strncmp(resp, "HTTP/1.1 ", 9) == 0 ? 9 : 0));
	const char *b = strstr(resp, "\r\n\r\n");
	snprintf(body, cap, "%s", b ? b + 4 : "");
	free(resp);
	return status;
}

/* examples/counter against real redis and PostgreSQL run by the runtime,
 * with the settings the platform injects from the claim's Secrets. */
Test(runtime, the_example_counter_service_uses_redis_and_postgresql, .timeout = 180)
{
	if (!have_postgres() || !idp_fixture_have_program("redis-server") || !idp_fixture_have_program("meson"))
		cr_skip_test("PostgreSQL, redis-server or meson is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711);
	char build[4200], pg[4200], rd[4200];
	snprintf(build, sizeof build, "%s/build", dir);
	snprintf(pg, sizeof pg, "%s/pg", dir);
	snprintf(rd, sizeof rd, "%s/redis", dir);
	char *setup[] = {"meson", "setup", build, IDP_SOURCE_ROOT "/examples/counter", NULL};
	char *compile[] = {"ninja", "-C", build, NULL};
	char *out = NULL, *errout = NULL;
	cr_assert_eq(idp_fixture_run(setup, NULL, &out, &errout), 0, "%s%s", out, errout);
	free(out);
	free(errout);
	cr_assert_eq(idp_fixture_run(compile, NULL, &out, &errout), 0, "%s%s", out, errout);
	free(out);
	free(errout);

	idp_runtime_supervisor *s = idp_runtime_supervisor_new(NULL);
	const char *host = own_loopback();
	idp_runtime_daemon db = {IDP_DAEMON_POSTGRESQL, "counter/default/counter-postgresql", pg, host,
				 idp_fixture_free_port(), "counter", "db-pass-1", "counter"};
	idp_runtime_daemon cache = {IDP_DAEMON_REDIS, "counter/default/counter-redis", rd, host, idp_fixture_free_port(),
				    NULL, "redis-pass-1", NULL};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_runtime_daemon_start(s, &db, 60, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(idp_runtime_daemon_start(s, &cache, 10, &err), 0, "%s", tu_errstr(&err));

	int port = idp_fixture_free_port();
	char env_port[32], db_port[32], redis_port[32], db_host[64], redis_host[64], bin[4300], log[4300];
	snprintf(env_port, sizeof env_port, "PORT=%d", port);
	snprintf(db_port, sizeof db_port, "DB_PORT=%d", db.port);
	snprintf(redis_port, sizeof redis_port, "REDIS_PORT=%d", cache.port);
	snprintf(db_host, sizeof db_host, "DB_HOST=%s", host);
	snprintf(redis_host, sizeof redis_host, "REDIS_HOST=%s", host);
	snprintf(bin, sizeof bin, "%s/counter", build);
	snprintf(log, sizeof log, "%s/counter.log", dir);
	char *argv[] = {bin, NULL};
	char *env[] = {env_port, db_host, db_port, "DB_NAME=counter", "DB_USER=counter", "DB_PASSWORD=db-pass-1",
		       redis_host, redis_port, "REDIS_PASSWORD=redis-pass-1", NULL};
	idp_runtime_proc_spec svc = {"counter/default/counter-1", argv, env, dir, log, true, false, 0, 0, 0};
	cr_assert_eq(idp_runtime_start(s, &svc, &err), 0, "%s", tu_errstr(&err));
	char body[512];
	int status = 0;
	double until = mono() + 10;
	while ((status = get(port, "/health", body, sizeof body)) != 200 && mono() < until)
		usleep(20000);
	cr_expect_eq(status, 200, "%s", body);
	cr_expect(strstr(body, "\"status\":\"healthy\"") != NULL, "%s", body);
	cr_expect_eq(get(port, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":1,\"rows\":1}");
	cr_expect_eq(get(port, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":2,\"rows\":2}");
	char *rows = pg_query(&db, "SELECT count(*) FROM visits");
	cr_expect_str_eq(rows, "2");
	free(rows);
	char *r = talk(host, cache.port, "AUTH redis-pass-1\r\nGET counter:visits\r\n");
	cr_expect(strstr(r, "\r\n2\r\n") != NULL, "%s", r);
	free(r);
	/* Redis goes away: /health says so (503), and says so no longer once it is back. */
	cr_assert_eq(idp_runtime_stop(s, cache.name, 2000, &err), 0);
	cr_expect_eq(get(port, "/health", body, sizeof body), 503, "%s", body);
	cr_expect(strstr(body, "\"redis\":\"down\"") != NULL, "%s", body);
	cr_assert_eq(idp_runtime_daemon_start(s, &cache, 10, &err), 0, "%s", tu_errstr(&err));
	cr_expect_eq(get(port, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":3,\"rows\":3}", "the counter survived the restart");
	idp_runtime_supervisor_free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- plan */

#include "render/render.h"

static int fake_generate(void *ctx, const char *ns, const char *secret, const char *key, idp_buf *out, idp_err *err)
{
	(void)ctx;
	(void)err;
	idp_buf_printf(out, "generated:%s/%s/%s", ns, secret, key);
	return 0;
}

static const idp_runtime_item *item(const idp_runtime_plan *p, const char *object)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->items[i].object, object) == 0)
			return &p->items[i];
	cr_assert_fail("no item for %s", object);
	return NULL;
}

static bool has_host(const idp_runtime_item *it, const char *host)
{
	for (size_t i = 0; i < it->n_hosts; i++)
		if (strcmp(it->hosts[i], host) == 0)
			return true;
	return false;
}

/* An embedded example rendered as the runtime gets it: claims composed inline, unwrapped. */
static idp_doc_node **render_example(idp_arena *a, idp_render_registry *reg, const char *name, size_t *n)
{
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_render_registry_load_builtin(reg, &err), 0, "%s", tu_errstr(&err));
	const idp_embedded_file *f = idp_embedded_find(name);
	cr_assert_not_null(f, "%s", name);
	idp_doc_stream s;
	cr_assert_eq(idp_doc_load(a, name, f->data, f->len, NULL, &s, &err), 0);
	idp_render_opts o = IDP_RENDER_OPTS_INIT;
	o.compose = IDP_RENDER_COMPOSE_INLINE;
	o.unwrap_objects = true;
	idp_doc_node **objs;
	cr_assert_eq(idp_render_docs(a, reg, s.docs, s.len, &o, &objs, n, &err), 0, "%s", tu_errstr(&err));
	return objs;
}

Test(runtime, the_counter_app_maps_to_daemons_a_process_secrets_and_reasons)
{
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	size_t n;
	idp_doc_node **objs = render_example(a, reg, "examples/counter-app.yaml", &n);
	idp_runtime_plan p;
	cr_assert_eq(idp_runtime_plan_objects(a, objs, n, &p), 0);
	cr_expect_eq(p.n, n, "one item per object");

	const idp_runtime_item *pg = item(&p, "Release/default/counter-postgresql");
	cr_expect_eq(pg->kind, IDP_LOCAL_DAEMON);
	cr_expect_eq(pg->daemon, IDP_DAEMON_POSTGRESQL);
	cr_expect_str_eq(pg->user, "counter");
	cr_expect_str_eq(pg->database, "counter");
	cr_expect_str_eq(pg->secret, "counter-postgres-secret");
	cr_expect_str_eq(pg->password_key, "DB_PASSWORD");
	cr_expect(has_host(pg, "counter-postgresql.default.svc.cluster.local"));
	const idp_runtime_item *rd = item(&p, "Release/default/counter-redis");
	cr_expect_eq(rd->daemon, IDP_DAEMON_REDIS);
	cr_expect_str_eq(rd->password_key, "REDIS_PASSWORD");
	cr_expect(has_host(rd, "counter-redis-master.default.svc.cluster.local"), "Bitnami's redis Service is <name>-master");
	const idp_runtime_item *svc = item(&p, "Service/default/counter");
	cr_expect_eq(svc->kind, IDP_LOCAL_PROCESS);
	cr_expect_str_eq(svc->program, "examples/counter/build/counter");
	cr_expect_eq(svc->port, 8080);
	cr_expect_str_eq(svc->health_path, "/health");
	cr_assert_eq(svc->n_env_from, 2);
	cr_expect_str_eq(svc->env_from[0], "counter-postgres-secret");
	const idp_runtime_item *sec = item(&p, "Secret/default/counter-postgres-secret");
	cr_expect_eq(sec->kind, IDP_LOCAL_SECRET);
	cr_assert_eq(sec->n_generate, 1);
	cr_expect_str_eq(sec->generate[0], "DB_PASSWORD");
	/* What cannot run here says why; nothing is left out. */
	size_t unavailable = 0;
	for (size_t i = 0; i < p.n; i++)
		if (p.items[i].kind == IDP_LOCAL_UNAVAILABLE) {
			unavailable++;
			cr_expect(p.items[i].reason && *p.items[i].reason, "%s has no reason", p.items[i].object);
		}
	cr_expect_gt(unavailable, 0, "the GitHub repositories and Jobs cannot run here");

	/* Addresses, host rewriting and a Secret's values (generated ones included). */
	idp_runtime_assign_addresses(a, &p);
	cr_assert_not_null(pg->address);
	cr_expect_str_neq(pg->address, rd->address);
	cr_expect(strncmp(pg->address, "127.1.", 6) == 0, "%s", pg->address);
	char want[256];
	snprintf(want, sizeof want, "postgresql://counter@%s:5432/counter", pg->address);
	cr_expect_str_eq(idp_runtime_rewrite_hosts(a, &p, "postgresql://counter@counter-postgresql.default.svc.cluster.local:5432/counter"),
			 want);
	cr_expect_str_eq(idp_runtime_rewrite_hosts(a, &p, "counter-postgresql-extra.default:1 xcounter-redis-master"),
			 "counter-postgresql-extra.default:1 xcounter-redis-master", "only whole names are rewritten");
	snprintf(want, sizeof want, "redis://%s:6379/0", rd->address);
	cr_expect_str_eq(idp_runtime_rewrite_hosts(a, &p, "redis://counter-redis-master.default:6379/0"), want);
	cr_expect_str_eq(idp_runtime_rewrite_hosts(a, &p, "counter"), svc->address, "a whole value is a host");
	cr_expect_str_eq(idp_runtime_rewrite_hosts(a, &p, "user counter here"), "user counter here",
			 "a short name inside text is not a host");
	idp_runtime_env env = {0};
	cr_assert_eq(idp_runtime_secret_values(a, &p, objs, n, "default", "counter-postgres-secret", fake_generate, NULL, &env,
					       &err),
		     0, "%s", tu_errstr(&err));
	const char *host = NULL, *pw = NULL, *url = NULL;
	for (size_t i = 0; i < env.n; i++) {
		if (strcmp(env.keys[i], "DB_HOST") == 0)
			host = env.values[i];
		if (strcmp(env.keys[i], "DB_PASSWORD") == 0)
			pw = env.values[i];
		if (strcmp(env.keys[i], "DATABASE_URL") == 0)
			url = env.values[i];
	}
	cr_expect_str_eq(host ? host : "", pg->address);
	cr_expect_str_eq(pw ? pw : "", "generated:default/counter-postgres-secret/DB_PASSWORD");
	cr_expect(url && strstr(url, pg->address), "%s", url ? url : "(none)");
	cr_expect_eq(idp_runtime_secret_values(a, &p, objs, n, "default", "no-such", fake_generate, NULL, &env, &err),
		     IDP_EINPUT);
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- known software as Deployments, Kafka */

Test(runtime, deployments_of_known_images_map_to_daemons_and_kafka_names_reach_the_mock)
{
	idp_arena *a = idp_arena_new();
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_err err = IDP_ERR_INIT;
	size_t n;
	idp_doc_node **objs = render_example(a, reg, "examples/complex-app.yaml", &n);
	idp_runtime_plan p;
	cr_assert_eq(idp_runtime_plan_objects(a, objs, n, &p), 0);
	const char *ns = "health-streaming-realtime";
	char key[256];
	snprintf(key, sizeof key, "Deployment/%s/postgres", ns);
	const idp_runtime_item *pg = item(&p, key);
	cr_expect_eq(pg->kind, IDP_LOCAL_DAEMON);
	cr_expect_eq(pg->daemon, IDP_DAEMON_POSTGRESQL);
	cr_expect_str_eq(pg->user, "lenses", "POSTGRES_USER from the Secret its envFrom names");
	cr_expect_str_eq(pg->database, "lenses");
	cr_expect_str_eq(pg->secret, "postgres-credentials");
	cr_expect_str_eq(pg->password_key, "POSTGRES_PASSWORD", "a generated key");
	char host[256];
	snprintf(host, sizeof host, "postgres.%s.svc.cluster.local", ns);
	cr_expect(has_host(pg, host), "the Service that selects it");
	snprintf(key, sizeof key, "Deployment/%s/mqtt-broker", ns);
	cr_expect_eq(item(&p, key)->daemon, IDP_DAEMON_MOSQUITTO);
	snprintf(key, sizeof key, "Deployment/%s/kafka", ns);
	idp_runtime_item *kafka = (idp_runtime_item *)item(&p, key);
	cr_expect_eq(kafka->daemon, IDP_DAEMON_KAFKA);
	snprintf(key, sizeof key, "Deployment/%s/metabase", ns);
	cr_expect_eq(item(&p, key)->kind, IDP_LOCAL_UNAVAILABLE, "an image nothing local stands for");
	cr_expect(strstr(item(&p, key)->reason, "metabase/metabase") != NULL, "%s", item(&p, key)->reason);

	/* Names that become paths must be DNS-1123: "../x" would write outside the state directory. */
	const char *evil = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ../../../../tmp/evil}\n"
			   "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../up}\n";
	idp_doc_stream es;
	cr_assert_eq(idp_doc_load(a, "evil.yaml", evil, strlen(evil), NULL, &es, &err), 0);
	idp_runtime_plan ep;
	cr_assert_eq(idp_runtime_plan_objects(a, es.docs, es.len, &ep), 0);
	cr_assert_eq(ep.n, 2);
	for (size_t i = 0; i < ep.n; i++) {
		cr_expect_eq(ep.items[i].kind, IDP_LOCAL_UNAVAILABLE, "%s", ep.items[i].object);
		cr_expect(strstr(ep.items[i].reason, "DNS-1123") != NULL, "%s", ep.items[i].reason);
	}

	/* The mock: a real Kafka protocol endpoint; host:9092 of its names goes to it. */
	idp_runtime_kafka *k;
	cr_assert_eq(idp_runtime_kafka_start(&k, &err), 0, "%s", tu_errstr(&err));
	cr_expect(idp_runtime_kafka_ready(k));
	cr_expect(strncmp(idp_runtime_kafka_bootstrap(k), "127.0.0.1:", 10) == 0, "%s", idp_runtime_kafka_bootstrap(k));
	idp_runtime_assign_addresses(a, &p);
	kafka->address = "127.0.0.1";
	kafka->actual_port = idp_runtime_kafka_port(k);
	char in[256], want[256];
	snprintf(in, sizeof in, "PLAINTEXT://kafka.%s:9092,kafka.%s.svc.cluster.local:9092", ns, ns);
	snprintf(want, sizeof want, "PLAINTEXT://%s,%s", idp_runtime_kafka_bootstrap(k), idp_runtime_kafka_bootstrap(k));
	cr_expect_str_eq(idp_runtime_rewrite_env(a, &p, "KAFKA_BOOTSTRAP_SERVERS", in), want);
	idp_runtime_kafka_stop(k);
	idp_render_registry_free(reg);
	idp_arena_free(a);
}
