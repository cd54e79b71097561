/*
 * `idp up` end to end (suite "up"): the CLI, the daemon it starts, the
 * runtime's real redis and PostgreSQL, the example C service behind the
 * gateway, scale to zero and back, pause, resume, down --purge.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "daemon/daemon.h"
#include "testutil.h"

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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

/* GET path with a Host header through the gateway; the status, and the body in body. */
static int gw_get(int port, const char *host, const char *path, char *body, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	body[0] = 0;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	struct timeval tv = {20, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[8192];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	close(fd);
	const char *b = strstr(buf, "\r\n\r\n");
	snprintf(body, cap, "%s", b ? b + 4 : "");
	return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
}

/* Processes whose working directory is under dir (what the runtime starts
 * runs there), and those running program. */
static int processes_under(const char *dir, const char *program)
{
	DIR *d = opendir("/proc");
	int n = 0;
	size_t len = strlen(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char link[300], target[4200];
		snprintf(link, sizeof link, "/proc/%s/cwd", e->d_name);
		ssize_t k = readlink(link, target, sizeof target - 1);
		bool hit = k > 0 && (size_t)k >= len && strncmp(target, dir, len) == 0;
		if (!hit && program) {
			snprintf(link, sizeof link, "/proc/%s/exe", e->d_name);
			k = readlink(link, target, sizeof target - 1);
			hit = k > 0 && (target[k] = 0, strcmp(target, program) == 0);
		}
		n += hit;
	}
	if (d)
		closedir(d);
	return n;
}

static char *run_idp(const char *verb, const char *state, const char *a1, const char *a2, int *status)
{
	char *argv[12];
	size_t k = 0;
	argv[k++] = IDP_BIN;
	argv[k++] = (char *)verb;
	argv[k++] = "--state";
	argv[k++] = (char *)state;
	if (a1)
		argv[k++] = (char *)a1;
	if (a2)
		argv[k++] = (char *)a2;
	argv[k] = NULL;
	char *out = NULL, *err = NULL;
	*status = idp_fixture_run_timeout(argv, NULL, &out, &err, 200);
	size_t n = strlen(out) + strlen(err) + 2;
	char *both = malloc(n);
	snprintf(both, n, "%s%s", out, err);
	free(out);
	free(err);
	return both;
}

static void build_counter(const char *dir)
{
	char build[4200];
	snprintf(build, sizeof build, "%s/examples/counter/build", dir);
	char *setup[] = {"meson", "setup", build, IDP_SOURCE_ROOT "/examples/counter", NULL};
	char *compile[] = {"ninja", "-C", build, NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(idp_fixture_run(setup, NULL, &out, &err), 0, "%s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(idp_fixture_run(compile, NULL, &out, &err), 0, "%s%s", out, err);
	free(out);
	free(err);
}

#define HOST "counter.default.localhost"

/* A test that fails half-way still stops the daemon it started. */
static char started_state[4200];

static void stop_started_daemon(void)
{
	if (!started_state[0])
		return;
	int st;
	free(run_idp("down", started_state, NULL, NULL, &st));
}

Test(up, the_counter_app_from_up_to_down_purge, .timeout = 400, .fini = stop_started_daemon)
{
	if (!have_postgres() || !idp_fixture_have_program("redis-server") || !idp_fixture_have_program("meson"))
		cr_skip_test("PostgreSQL, redis-server or meson is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711); /* PostgreSQL runs as nobody when the tests run as root */
	build_counter(dir);
	const idp_embedded_file *f = idp_embedded_find("examples/counter-app.yaml");
	cr_assert_not_null(f);
	free(idp_fixture_write_file(dir, "counter-app.yaml", f->data, f->len));
	char app[4200], state[4200], program[4200];
	snprintf(app, sizeof app, "%s/counter-app.yaml", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(program, sizeof program, "%s/examples/counter/build/counter", dir);
	snprintf(started_state, sizeof started_state, "%s", state);

	/* up: daemons, one replica, ready; the URL printed. */
	char *argv[] = {IDP_BIN, "up", "-f", app, "--state", state, "--listen", "127.0.0.1:0", "--grace", "1",
			"--stable-window", "1", NULL};
	char *out = NULL, *err = NULL;
	int st = idp_fixture_run_timeout(argv, NULL, &out, &err, 200);
	cr_assert_eq(st, 0, "%s%s", out, err);
	cr_expect(strstr(out, "counter is ready") != NULL, "%s", out);
	cr_expect(strstr(out, "Release/default/counter-postgresql") && strstr(out, "Healthy"), "%s", out);
	cr_expect(strstr(out, "Unavailable") != NULL, "what cannot run here is said: %s", out);
	free(out);
	free(err);
	char portfile[4300];
	snprintf(portfile, sizeof portfile, "%s/gateway.port", state);
	char *port_text = idp_fixture_read_file(portfile, NULL);
	cr_assert_not_null(port_text);
	int port = atoi(port_text);
	free(port_text);
	cr_assert_gt(port, 0);

	/* Through the gateway: /health, then the counter in redis and rows in PostgreSQL. */
	char body[2048];
	cr_expect_eq(gw_get(port, HOST, "/health", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "healthy") != NULL, "%s", body);
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":1,\"rows\":1}");
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":2,\"rows\":2}");
	cr_expect_eq(processes_under("/nonexistent", program), 1, "one replica runs");

	/* The views: get, describe (a tree, JSON, DOT), logs. */
	int vst;
	char *v = run_idp("get", state, "apps", NULL, &vst);
	cr_expect(vst == 0 && strstr(v, "counter") && strstr(v, "Healthy"), "%s", v);
	free(v);
	v = run_idp("describe", state, "counter", NULL, &vst);
	cr_expect(vst == 0 && strstr(v, "component counter") && strstr(v, "Release/default/counter-redis") &&
			  strstr(v, "daemon: redis-server"),
		  "%s", v);
	free(v);
	v = run_idp("get", state, "objects", "-oyaml", &vst);
	cr_expect(vst == 0 && strstr(v, "object: Release/default/counter-postgresql") && strstr(v, "health: Healthy"), "%s",
		  v);
	free(v);
	v = run_idp("describe", state, "counter", "-odot", &vst);
	cr_expect(vst == 0 && strncmp(v, "digraph \"counter\"", 17) == 0, "%s", v);
	free(v);
	v = run_idp("logs", state, "counter", "counter", &vst);
	cr_expect(vst == 0 && strstr(v, "] counter listening on"), "%s", v);
	free(v);
	v = run_idp("logs", state, "counter", "nosuch", &vst);
	cr_expect(vst == 2 && strstr(v, "no component nosuch"), "%s", v);
	free(v);

	/* Idle past the grace period: zero processes for the service. */
	double idle_from = mono();
	while (processes_under("/nonexistent", program) > 0 && mono() - idle_from < 20)
		usleep(50000);
	double to_zero = mono() - idle_from;
	cr_expect_eq(processes_under("/nonexistent", program), 0, "scaled to zero");
	cr_expect_lt(to_zero, 10, "took %.1f s", to_zero);
	char *s = run_idp("status", state, NULL, NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	cr_expect(strstr(s, "counter-redis") && strstr(s, "daemon"), "%s", s);
	free(s);

	/* The next request starts it, and the data is where it was. */
	double t0 = mono();
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	double cold = mono() - t0;
	cr_expect_str_eq(body, "{\"count\":3,\"rows\":3}");
	cr_expect_lt(cold, 5, "cold start %.3f s", cold);

	/* pause: nothing runs, requests are told why; resume: the data is still there. */
	s = run_idp("pause", state, NULL, NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	cr_expect_eq(processes_under(state, program), 0, "paused: no process, no daemon");
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 503, "%s", body);
	cr_expect(strstr(body, "paused") != NULL, "%s", body);

	/* Requests with wrong types are refused, not read as "everything". */
	idp_arena *ra = idp_arena_new();
	idp_err rerr = IDP_ERR_INIT;
	idp_doc_stream rs;
	const char *bad = "{\"op\": \"down\", \"app\": 7}";
	cr_assert_eq(idp_doc_load(ra, "req", bad, strlen(bad), NULL, &rs, &rerr), 0);
	idp_doc_node *reply = NULL;
	cr_expect_eq(idp_daemon_call(state, ra, rs.docs[0], NULL, NULL, &reply, &rerr), IDP_EINPUT);
	cr_expect(rerr.msg && strstr(rerr.msg, "must be a string"), "%s", rerr.msg ? rerr.msg : "");
	idp_err_clear(&rerr);

	/* A daemon started again keeps a paused application paused. */
	const char *stop = "{\"op\": \"shutdown\"}";
	cr_assert_eq(idp_doc_load(ra, "req", stop, strlen(stop), NULL, &rs, &rerr), 0);
	cr_expect_eq(idp_daemon_call(state, ra, rs.docs[0], NULL, NULL, &reply, &rerr), 0, "%s", rerr.msg);
	cr_expect_eq(idp_daemon_wait_gone(state, 30, &rerr), 0);
	char *dargv[] = {IDP_BIN, "daemon", "--state", state, "--listen", "127.0.0.1:0", "--grace", "1", "--stable-window",
			 "1", NULL};
	cr_assert_eq(idp_daemon_spawn(state, dargv, 30, &rerr), 0, "%s", rerr.msg);
	idp_arena_free(ra);
	usleep(300000);
	cr_expect_eq(processes_under(state, program), 0, "nothing of a paused app starts");
	char *ps = run_idp("status", state, NULL, NULL, &st);
	cr_expect(strstr(ps, "(paused)") != NULL, "%s", ps);
	free(ps);
	port_text = idp_fixture_read_file(portfile, NULL);
	port = atoi(port_text);
	free(port_text);
	s = run_idp("resume", state, NULL, NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":4,\"rows\":4}", "redis and PostgreSQL kept their data");

	/* down --purge: nothing left running, nothing of the app left on disk. */
	s = run_idp("down", state, "--purge", NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	cr_expect_eq(processes_under(state, program), 0, "nothing left running");
	char apps[4300], sock[4300], log[4300];
	snprintf(apps, sizeof apps, "%s/apps/counter", state);
	snprintf(sock, sizeof sock, "%s/idp.sock", state);
	snprintf(log, sizeof log, "%s/daemon.log", state);
	struct stat sb;
	cr_expect_neq(stat(apps, &sb), 0, "the app's data is gone");
	cr_expect_neq(stat(sock, &sb), 0, "the daemon is gone");
	char *daemon_log = idp_fixture_read_file(log, NULL);
	cr_expect(daemon_log && !strstr(daemon_log, "Sanitizer"), "the daemon ran clean:\n%s", daemon_log);
	free(daemon_log);
	/* What the test made, and the state directory: nothing else appeared. */
	char **names;
	size_t n;
	idp_err e = IDP_ERR_INIT;
	cr_assert_eq(idp_dir_list(dir, &names, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		cr_expect(strcmp(names[i], "counter-app.yaml") == 0 || strcmp(names[i], "examples") == 0 ||
				  strcmp(names[i], "state") == 0,
			  "unexpected %s", names[i]);
	idp_dir_list_free(names, n);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(up, verbs_without_a_daemon_and_bad_input_say_why)
{
	char *dir = idp_fixture_tmpdir();
	char state[4200];
	snprintf(state, sizeof state, "%s/state", dir);
	int st;
	char *s = run_idp("status", state, NULL, NULL, &st);
	cr_expect_eq(st, 2, "%s", s); /* not found: the user starts one */
	cr_expect(strstr(s, "no idp daemon runs") != NULL, "%s", s);
	free(s);
	s = run_idp("down", state, NULL, NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	cr_expect(strstr(s, "nothing to stop") != NULL, "%s", s);
	free(s);
	s = run_idp("pause", state, "Not_A_Name", NULL, &st);
	cr_expect_eq(st, 2, "%s", s);
	cr_expect(strstr(s, "DNS-1123") != NULL, "%s", s);
	free(s);
	s = run_idp("up", state, "-f", "/nonexistent/app.yaml", &st);
	cr_expect_eq(st, 2, "%s", s);
	cr_expect(strstr(s, "/nonexistent/app.yaml") != NULL, "%s", s);
	free(s);
	s = run_idp("up", state, "--grace", "soon", &st);
	cr_expect_eq(st, 2, "%s", s);
	cr_expect(strstr(s, "--grace soon") != NULL, "%s", s);
	free(s);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- sync */

static void commit_app(const char *repo, const char *text, const char *msg)
{
	char path[4300];
	snprintf(path, sizeof path, "%s/oam/applications/application.yaml", repo);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	char *argv[] = {"git", "-C", (char *)repo, "-c", "user.name=dev", "-c", "user.email=dev@example.org", "commit",
			"-qam", (char *)msg, NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(idp_fixture_run(argv, NULL, &out, &err), 0, "%s%s", out, err);
	free(out);
	free(err);
}

/* Seconds until GET host/count answers want (or -1 after limit s). */
static double until_status(int port, const char *host, int want, double limit)
{
	double t0 = mono();
	char body[512];
	while (mono() - t0 < limit) {
		if (gw_get(port, host, "/count", body, sizeof body) == want)
			return mono() - t0;
		usleep(10000);
	}
	return -1;
}

static pid_t redis_pid(const char *state)
{
	char dir[4300];
	snprintf(dir, sizeof dir, "%s/apps/counter/data/default.counter-redis", state);
	DIR *d = opendir("/proc");
	pid_t found = 0;
	for (struct dirent *e; d && (e = readdir(d)) && !found;) {
		char link[300], target[4300];
		snprintf(link, sizeof link, "/proc/%s/cwd", e->d_name);
		ssize_t k = readlink(link, target, sizeof target - 1);
		if (k > 0 && (target[k] = 0, strcmp(target, dir) == 0))
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

Test(up, sync_follows_git_prunes_stops_at_the_guard_and_heals_drift, .timeout = 400, .fini = stop_started_daemon)
{
	if (!have_postgres() || !idp_fixture_have_program("redis-server") || !idp_fixture_have_program("meson"))
		cr_skip_test("PostgreSQL, redis-server or meson is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711);
	build_counter(dir);
	const idp_embedded_file *f = idp_embedded_find("examples/counter-app.yaml");
	free(idp_fixture_write_file(dir, "counter-app.yaml", f->data, f->len));
	char app[4200], state[4200], repo[4300];
	snprintf(app, sizeof app, "%s/counter-app.yaml", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(repo, sizeof repo, "%s/gitops/counter-gitops", state);
	snprintf(started_state, sizeof started_state, "%s", state);
	char *argv[] = {IDP_BIN, "up", "-f", app, "--state", state, "--listen", "127.0.0.1:0", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(idp_fixture_run_timeout(argv, NULL, &out, &err, 200), 0, "%s%s", out, err);
	free(out);
	free(err);
	char portfile[4300];
	snprintf(portfile, sizeof portfile, "%s/gateway.port", state);
	char *port_text = idp_fixture_read_file(portfile, NULL);
	int port = atoi(port_text);
	free(port_text);

	/* A component added in git serves within a second (no poll interval). */
	const char *base = f->data;
	const char *infra = strstr(base, "  - name: counter-infrastructure");
	cr_assert_not_null(infra);
	char two[8192];
	snprintf(two, sizeof two,
		 "%.*s  - name: counter2\n    type: webservice\n    properties:\n      image: "
		 "local:examples/counter/build/counter\n      port: 8080\n      healthPath: /health\n      envFrom:\n"
		 "      - secretRef:\n          name: counter-postgres-secret\n      - secretRef:\n          name: "
		 "counter-redis-secret\n%s",
		 (int)(infra - base), base, infra);
	commit_app(repo, two, "add counter2");
	double served = until_status(port, "counter2.default.localhost", 200, 10);
	cr_expect(served >= 0 && served < 1.0, "counter2 served after %.3f s", served);
	/* The commit changed oam/ alone: the daemon rendered manifests/ on top. */
	char *log_argv[] = {"git", "-C", repo, "log", "-3", "--format=%s%n%b", NULL};
	cr_assert_eq(idp_fixture_run(log_argv, NULL, &out, &err), 0);
	cr_expect(strstr(out, "Idp-Source: render") != NULL, "%s", out);
	free(out);
	free(err);

	/* Removed from git: pruned. */
	commit_app(repo, base, "remove counter2");
	double pruned = until_status(port, "counter2.default.localhost", 404, 10);
	cr_expect(pruned >= 0 && pruned < 1.0, "counter2 pruned after %.3f s", pruned);

	/* Most objects removed: the guard stops the sync, nothing changes. */
	char *only = strndup(base, (size_t)(infra - base));
	commit_app(repo, only, "remove the infrastructure");
	free(only);
	usleep(500000);
	char body[512];
	cr_expect_eq(gw_get(port, "counter.default.localhost", "/count", body, sizeof body), 200, "%s", body);
	int st;
	char *s = run_idp("diff", state, "counter", NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	cr_expect(strstr(s, "- Release/default/counter-postgresql") || strstr(s, "counter-postgresql"), "%s", s);
	cr_expect(strstr(s, "would stop") != NULL, "%s", s);
	free(s);
	s = run_idp("sync", state, "counter", NULL, &st);
	cr_expect_eq(st, 2, "%s", s);
	cr_expect(strstr(s, "--allow-mass-prune") != NULL, "%s", s);
	free(s);
	commit_app(repo, base, "bring the infrastructure back");
	usleep(500000);
	s = run_idp("diff", state, "counter", NULL, &st);
	cr_expect(strstr(s, "Synced") != NULL, "%s", s);
	free(s);

	/* Drift: a Secret's file edited, redis killed: both come back. */
	char secret[4400];
	snprintf(secret, sizeof secret, "%s/apps/counter/secrets/default.counter-redis-secret/REDIS_PASSWORD", state);
	char *before = idp_fixture_read_file(secret, NULL);
	cr_assert_not_null(before);
	FILE *w = fopen(secret, "w");
	fputs("tampered", w);
	fclose(w);
	double t0 = mono();
	char *now = NULL;
	while (mono() - t0 < 6) {
		free(now);
		now = idp_fixture_read_file(secret, NULL);
		if (now && strcmp(now, before) == 0)
			break;
		usleep(50000);
	}
	cr_expect_str_eq(now ? now : "", before, "the Secret's file is restored (self-heal)");
	free(now);
	free(before);
	pid_t old = redis_pid(state);
	cr_assert_gt(old, 0);
	kill(old, SIGKILL);
	t0 = mono();
	pid_t fresh = 0;
	while ((fresh = redis_pid(state)) == 0 || fresh == old) {
		if (mono() - t0 > 6)
			break;
		usleep(50000);
	}
	cr_expect(fresh > 0 && fresh != old, "redis runs again");
	cr_expect_eq(until_status(port, "counter.default.localhost", 200, 5) >= 0, true);

	/* kill -9 of the daemon leaves no orphan; the next up runs it all again,
	 * with its data. */
	char lockpath[4300];
	snprintf(lockpath, sizeof lockpath, "%s/daemon.log", state);
	char *dlog = idp_fixture_read_file(lockpath, NULL);
	const char *pidp = dlog ? strstr(dlog, "idp daemon: pid ") : NULL;
	cr_assert_not_null(pidp);
	pid_t daemon_pid = atoi(pidp + strlen("idp daemon: pid "));
	free(dlog);
	cr_assert_gt(daemon_pid, 0);
	cr_assert_eq(kill(daemon_pid, SIGKILL), 0);
	t0 = mono();
	while (processes_under(state, NULL) > 0 && mono() - t0 < 10)
		usleep(50000);
	cr_expect_eq(processes_under(state, NULL), 0, "every child died with the daemon");
	char *argv2[] = {IDP_BIN, "up", "-f", app, "--state", state, "--listen", "127.0.0.1:0", NULL};
	cr_assert_eq(idp_fixture_run_timeout(argv2, NULL, &out, &err, 200), 0, "%s%s", out, err);
	free(out);
	free(err);
	port_text = idp_fixture_read_file(portfile, NULL);
	port = atoi(port_text);
	free(port_text);
	int before_count = 0;
	cr_expect_eq(gw_get(port, "counter.default.localhost", "/count", body, sizeof body), 200, "%s", body);
	cr_expect(sscanf(body, "{\"count\":%d", &before_count) == 1 && before_count > 1, "the counter kept its data: %s",
		  body);
	s = run_idp("down", state, "--purge", NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	started_state[0] = 0;
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- LocalRun */

/* A service scaffolded by idp gitops scaffold runs from its idp-local.yaml:
 * an image the runtime cannot run as a container is built from source and
 * started behind the gateway. */
Test(up, a_scaffolded_service_runs_from_its_idp_local_yaml, .timeout = 300, .fini = stop_started_daemon)
{
	if (!idp_fixture_have_program("meson") || !idp_fixture_have_program("ninja"))
		cr_skip_test("meson or ninja is not installed");
	char *dir = idp_fixture_tmpdir();
	char src[4200], state[4200], app[4300];
	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(app, sizeof app, "%s/app.yaml", src);
	char *scaffold[] = {IDP_BIN, "gitops", "scaffold", "orders", "--language", "c", "--dir", src, NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(idp_fixture_run(scaffold, NULL, &out, &err), 0, "%s%s", out, err);
	free(out);
	free(err);
	const char *yaml = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\nspec:\n"
			   "  components:\n  - name: orders\n    type: webservice\n    properties:\n"
			   "      image: ghcr.io/acme/orders:1.0\n      port: 8080\n      healthPath: /health\n";
	free(idp_fixture_write_file(src, "app.yaml", yaml, strlen(yaml)));
	snprintf(started_state, sizeof started_state, "%s", state);
	char *up[] = {IDP_BIN, "up", "-f", app, "--state", state, "--listen", "127.0.0.1:0", NULL};
	cr_assert_eq(idp_fixture_run_timeout(up, NULL, &out, &err, 250), 0, "%s%s", out, err);
	cr_expect(strstr(out, "shop is ready") != NULL, "%s", out);
	free(out);
	free(err);
	char portfile[4300];
	snprintf(portfile, sizeof portfile, "%s/gateway.port", state);
	char *port_text = idp_fixture_read_file(portfile, NULL);
	int port = atoi(port_text);
	free(port_text);
	char body[1024];
	cr_expect_eq(gw_get(port, "orders.default.localhost", "/health", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "\"service\":\"orders\"") != NULL, "the LocalRun's SERVICE_NAME: %s", body);
	cr_expect_eq(gw_get(port, "orders.default.localhost", "/", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "\"service\":\"orders\"") != NULL, "GET / on the SDK names the service: %s", body);
	int st;
	char *s = run_idp("describe", state, "shop", NULL, &st);
	cr_expect(strstr(s, "microservices/orders/build/orders") != NULL, "built and run from the scaffold: %s", s);
	free(s);
	s = run_idp("down", state, "--purge", NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	started_state[0] = 0;
	idp_fixture_rmtree(dir);
	free(dir);
}

/* A vcluster and a topology placing the app in it and in the local cluster:
 * two copies, each with its own redis, PostgreSQL, Secrets, addresses and
 * host name; what one counts the other does not see. */
Test(up, a_topology_runs_a_copy_in_the_vclusters_scope, .timeout = 400, .fini = stop_started_daemon)
{
	if (!have_postgres() || !idp_fixture_have_program("redis-server") || !idp_fixture_have_program("meson"))
		cr_skip_test("PostgreSQL, redis-server or meson is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711);
	build_counter(dir);
	const idp_embedded_file *f = idp_embedded_find("examples/counter-app.yaml");
	cr_assert_not_null(f);
	const char *more = "  - name: preview\n    type: vcluster\n  policies:\n  - name: where\n    type: topology\n"
			   "    properties:\n      clusters: [local, preview]\n";
	size_t n = f->len + strlen(more) + 1;
	char *yaml = malloc(n);
	snprintf(yaml, n, "%.*s%s", (int)f->len, (const char *)f->data, more);
	free(idp_fixture_write_file(dir, "app.yaml", yaml, strlen(yaml)));
	free(yaml);
	char app[4200], state[4200], program[4200];
	snprintf(app, sizeof app, "%s/app.yaml", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(program, sizeof program, "%s/examples/counter/build/counter", dir);
	snprintf(started_state, sizeof started_state, "%s", state);
	char *argv[] = {IDP_BIN, "up", "-f", app, "--state", state, "--listen", "127.0.0.1:0", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(idp_fixture_run_timeout(argv, NULL, &out, &err, 250), 0, "%s%s", out, err);
	cr_expect(strstr(out, "http://counter.default.preview.localhost:") != NULL, "%s", out);
	cr_expect(strstr(out, "Release/default/counter-redis@preview") != NULL, "%s", out);
	cr_expect(strstr(out, "Release/default/preview-vcluster") && strstr(out, "local scope of its own"), "%s", out);
	free(out);
	free(err);
	char portfile[4300];
	snprintf(portfile, sizeof portfile, "%s/gateway.port", state);
	char *port_text = idp_fixture_read_file(portfile, NULL);
	cr_assert_not_null(port_text);
	int port = atoi(port_text);
	free(port_text);

	char body[2048];
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":1,\"rows\":1}");
	cr_expect_eq(gw_get(port, HOST, "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":2,\"rows\":2}");
	cr_expect_eq(gw_get(port, "counter.default.preview.localhost", "/count", body, sizeof body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"count\":1,\"rows\":1}", "the preview copy has its own redis and PostgreSQL");
	cr_expect_eq(processes_under("/nonexistent", program), 2, "a replica in each scope");

	char path[4400];
	struct stat sb;
	snprintf(path, sizeof path, "%s/apps/counter/data/default.counter-redis@preview", state);
	cr_expect_eq(stat(path, &sb), 0, "%s", path);
	snprintf(path, sizeof path, "%s/apps/counter/secrets/default.counter-postgres-secret@preview", state);
	cr_expect_eq(stat(path, &sb), 0, "%s", path);
	int st;
	char *s = run_idp("logs", state, "counter", "counter", &st);
	cr_expect(st == 0 && strstr(s, "[counter@preview") && strstr(s, "] counter listening on"), "%s", s);
	free(s);
	s = run_idp("status", state, NULL, NULL, &st);
	cr_expect(st == 0 && strstr(s, "Service/default/counter@preview"), "%s", s);
	free(s);

	s = run_idp("down", state, "--purge", NULL, &st);
	cr_expect_eq(st, 0, "%s", s);
	free(s);
	started_state[0] = 0;
	cr_expect_eq(processes_under(state, program), 0, "nothing of either scope runs");
	idp_fixture_rmtree(dir);
	free(dir);
}
