/* Known software as local daemons (docs/RUNTIME.md): redis-server and
 * mosquitto from the operating system, each on its own loopback address
 * and port with its data under the state directory, ready when it answers
 * on its own protocol (redis PING after AUTH, MQTT CONNACK). */
#include "runtime/runtime_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_private(const char *path, const char *text, idp_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
	size_t n = strlen(text);
	bool ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : idp_err_set(err, IDP_ERUNTIME, "cannot write %s", path);
}

/* A value that goes into a config file line: no control characters (a
 * line break would add lines of its own), no quotes. */
static bool config_safe(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\'')
			return false;
	return true;
}

static int check_config_values(const idp_runtime_daemon *d, idp_err *err)
{
	/* PostgreSQL's user and password never reach a file: libpq carries them. */
	bool in_files = d->kind != IDP_DAEMON_POSTGRESQL;
	const char *what[] = {"name", "host", "data directory", "user", "password"};
	const char *vals[] = {d->name, d->host, d->data_dir, in_files ? d->user : NULL, in_files ? d->password : NULL};
	for (size_t i = 0; i < 5; i++)
		if (vals[i] && !config_safe(vals[i]))
			return idp_err_set(err, IDP_EINPUT, "%s: the %s has characters a config file cannot hold",
					   d->name && config_safe(d->name) ? d->name : "daemon", what[i]);
	return 0;
}

/* ---------------------------------------------------------------- talking to them */

static int dial(const char *host, int port, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd p = {fd, POLLOUT, 0};
	int so = 0;
	socklen_t len = sizeof(so);
	if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len) != 0 || so != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req and reads until want_bytes bytes came or the timeout. */
static ssize_t exchange(int fd, const void *req, size_t len, unsigned char *buf, size_t cap, size_t want_bytes,
			int timeout_ms)
{
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	size_t got = 0;
	double until = now_s() + timeout_ms / 1000.0;
	while (got < want_bytes && got < cap && now_s() < until) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 50) != 1)
			continue;
		ssize_t r = recv(fd, buf + got, cap - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* AUTH then PING, in RESP; ready when both answer +OK / +PONG. */
static bool redis_ready(const idp_runtime_daemon *d)
{
	int fd = dial(d->host, d->port, 200);
	if (fd < 0)
		return false;
	idp_buf req = IDP_BUF_INIT;
	if (d->password)
		idp_buf_printf(&req, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(d->password), d->password);
	idp_buf_puts(&req, "*1\r\n$4\r\nPING\r\n");
	const char *want = d->password ? "+OK\r\n+PONG\r\n" : "+PONG\r\n";
	unsigned char buf[64];
	ssize_t n = exchange(fd, req.ptr, req.len, buf, sizeof(buf) - 1, strlen(want), 500);
	idp_buf_free(&req);
	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0;
}

static void mqtt_string(idp_buf *b, const char *s)
{
	size_t n = strlen(s);
	idp_buf_putc(b, (char)(n >> 8));
	idp_buf_putc(b, (char)(n & 0xff));
	idp_buf_puts(b, s);
}

/* MQTT 3.1.1 CONNECT with the credentials; ready on CONNACK code 0. */
static bool mqtt_ready(const idp_runtime_daemon *d)
{
	int fd = dial(d->host, d->port, 200);
	if (fd < 0)
		return false;
	idp_buf body = IDP_BUF_INIT, pkt = IDP_BUF_INIT;
	mqtt_string(&body, "MQTT");
	idp_buf_putc(&body, 4);                                          /* protocol level 3.1.1 */
	idp_buf_putc(&body, (char)(0x02 | (d->user ? 0xC0 : 0)));      /* clean session, user+password */
	idp_buf_putc(&body, 0);
	idp_buf_putc(&body, 10);                                         /* keep-alive 10 s */
	mqtt_string(&body, "idp-ready");
	if (d->user) {
		mqtt_string(&body, d->user);
		mqtt_string(&body, d->password ? d->password : "");
	}
	idp_buf_putc(&pkt, 0x10);
	for (size_t left = body.len;;) { /* the remaining length, 7 bits a byte */
		unsigned char byte = (unsigned char)(left % 128);
		left /= 128;
		idp_buf_putc(&pkt, (char)(byte | (left ? 0x80 : 0)));
		if (!left)
			break;
	}
	idp_buf_append(&pkt, body.ptr, body.len);
	unsigned char buf[8];
	ssize_t n = exchange(fd, pkt.ptr, pkt.len, buf, sizeof(buf), 4, 500);
	idp_buf_free(&body);
	idp_buf_free(&pkt);
	close(fd);
	return n == 4 && buf[0] == 0x20 && buf[1] == 2 && buf[3] == 0;
}

bool idp_runtime_daemon_ready(const idp_runtime_daemon *d)
{
	switch (d->kind) {
	case IDP_DAEMON_REDIS: return redis_ready(d);
	case IDP_DAEMON_MOSQUITTO: return mqtt_ready(d);
	case IDP_DAEMON_POSTGRESQL: return runtime_postgres_ready(d);
	case IDP_DAEMON_KAFKA: break; /* no process: idp_runtime_kafka_ready */
	}
	return false;
}

/* ---------------------------------------------------------------- starting */

static int redis_argv(idp_arena *a, const idp_runtime_daemon *d, char ***argv, idp_err *err)
{
	const char *conf = idp_arena_printf(a, "%s/redis.conf", d->data_dir);
	const char *text = idp_arena_printf(a,
					    "# Written by idp: %s\n"
					    "bind %s\nport %d\nprotected-mode yes\ndir \"%s\"\ndaemonize no\n"
					    "appendonly yes\nsave 60 1\nlogfile \"\"\n%s%s%s",
					    d->name, d->host, d->port, d->data_dir, d->password ? "requirepass \"" : "",
					    d->password ? d->password : "", d->password ? "\"\n" : "");
	int rc = write_private(conf, text, err);
	char **v = idp_arena_alloc(a, 3 * sizeof(*v));
	v[0] = "redis-server";
	v[1] = (char *)conf;
	v[2] = NULL;
	*argv = v;
	return rc;
}

/* mosquitto_passwd hashes the password into a file mosquitto reads. */
static int mosquitto_argv(idp_arena *a, const idp_runtime_daemon *d, char ***argv, idp_err *err)
{
	const char *conf = idp_arena_printf(a, "%s/mosquitto.conf", d->data_dir);
	const char *pw = idp_arena_printf(a, "%s/passwd", d->data_dir);
	int rc = 0;
	if (d->user) {
		if (!d->password || strchr(d->user, ':') || strchr(d->user, ' '))
			return idp_err_set(err, IDP_EINPUT, "%s: an MQTT user needs a plain name and a password", d->name);
		/* user:password in the 0600 file, hashed in place: the password is
		 * never on a command line (/proc/PID/cmdline). */
		rc = write_private(pw, idp_arena_printf(a, "%s:%s\n", d->user, d->password), err);
		pid_t pid = rc == 0 ? fork() : -1;
		if (pid == 0) {
			execlp("mosquitto_passwd", "mosquitto_passwd", "-U", pw, (char *)NULL);
			_exit(127);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = idp_err_set(err, IDP_ERUNTIME, "%s: mosquitto_passwd failed", d->name);
	}
	/* Run as root, mosquitto would switch to its own user, which cannot
	 * read a 0600 password file: it stays who the runtime is. */
	struct passwd *me = getpwuid(geteuid());
	const char *text = idp_arena_printf(a,
					    "# Written by idp: %s\n"
					    "user %s\n"
					    "listener %d %s\n"
					    "persistence true\npersistence_location %s/\n"
					    "log_dest stderr\n%s%s%s",
					    d->name, me ? me->pw_name : "root", d->port, d->host, d->data_dir,
					    d->user ? "allow_anonymous false\npassword_file " : "allow_anonymous true\n",
					    d->user ? pw : "", d->user ? "\n" : "");
	if (rc == 0)
		rc = write_private(conf, text, err);
	char **v = idp_arena_alloc(a, 4 * sizeof(*v));
	v[0] = "mosquitto";
	v[1] = "-c";
	v[2] = (char *)conf;
	v[3] = NULL;
	*argv = v;
	return rc;
}

static bool ours_running(idp_runtime_supervisor *s, const idp_runtime_daemon *d)
{
	idp_runtime_tick(s);
	idp_runtime_proc_status st;
	return idp_runtime_status(s, d->name, &st) == 0 && st.state == IDP_RUNTIME_RUNNING;
}

int idp_runtime_daemon_start(idp_runtime_supervisor *s, const idp_runtime_daemon *d, double timeout_s, idp_err *err)
{
	if (d->kind == IDP_DAEMON_KAFKA)
		return idp_err_set(err, IDP_EINPUT, "%s: Kafka runs as idp_runtime_kafka, not as a process", d->name);
	int vrc = check_config_values(d, err);
	if (vrc)
		return vrc;
	if (mkdir(d->data_dir, 0700) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", d->data_dir, strerror(errno));
	idp_arena *a = idp_arena_new();
	char **argv = NULL;
	runtime_user u = {false, 0, 0};
	int rc = d->kind == IDP_DAEMON_REDIS       ? redis_argv(a, d, &argv, err)
		 : d->kind == IDP_DAEMON_MOSQUITTO ? mosquitto_argv(a, d, &argv, err)
						   : runtime_postgres_prepare(a, d, &argv, &u, err);
	const char *log = idp_arena_printf(a, "%s/daemon.log", d->data_dir);
	/* PostgreSQL: SIGINT is its fast shutdown (SIGTERM waits for every client). */
	idp_runtime_proc_spec spec = {d->name, argv, NULL, d->data_dir, log, true, u.switch_user, u.uid, u.gid,
				      d->kind == IDP_DAEMON_POSTGRESQL ? SIGINT : 0};
	if (rc == 0)
		rc = idp_runtime_start(s, &spec, err);
	bool started = rc == 0;
	double until = now_s() + timeout_s;
	bool ready = false, set_up = d->kind != IDP_DAEMON_POSTGRESQL;
	/* Ready only while ours runs: something else answering on that address
	 * (a server left by another run) is not it. */
	while (rc == 0 && !(ready = set_up && ours_running(s, d) && idp_runtime_daemon_ready(d) && ours_running(s, d)) &&
	       now_s() < until) {
		if (!set_up && ours_running(s, d)) /* PostgreSQL: the application's role and database first */
			rc = runtime_postgres_setup(d, &set_up, err);
		idp_runtime_tick(s);
		idp_runtime_proc_status st;
		if (idp_runtime_status(s, d->name, &st) == 0 && st.state != IDP_RUNTIME_RUNNING && st.restarts > 2)
			break; /* it keeps dying: say so now */
		usleep(10000);
	}
	if (rc == 0 && !ready)
		rc = idp_err_set(err, IDP_ERUNTIME, "%s (%s) did not answer on %s:%d within %.0f s (see %s)", d->name,
				 argv[0], d->host, d->port, timeout_s, log);
	if (rc && started)
		idp_runtime_stop(s, d->name, 5000, NULL);
	idp_arena_free(a);
	return rc;
}
