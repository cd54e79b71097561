/* The CLI's side of the daemon: find it, start it, talk to it. */
#include "daemon/daemon.h"
#include "daemon/daemon_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *idp_daemon_socket_path(idp_arena *a, const char *state_dir)
{
	return idp_arena_printf(a, "%s/idp.sock", state_dir);
}

int daemon_socket_addr(const char *state_dir, struct sockaddr_un *sun, idp_err *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path, sizeof sun->sun_path, "%s/idp.sock", state_dir);
	if (n < 0 || (size_t)n >= sizeof sun->sun_path)
		return idp_err_set(err, IDP_EINPUT, "state directory %s: its socket path is longer than %zu bytes", state_dir,
				   sizeof sun->sun_path - 1);
	return 0;
}

static int connect_daemon(const char *state_dir, idp_err *err)
{
	struct sockaddr_un sun;
	int rc = daemon_socket_addr(state_dir, &sun, err);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		int e = errno;
		close(fd);
		return idp_err_set(err, IDP_ENOTFOUND, "no idp daemon runs for %s (%s)", state_dir, strerror(e));
	}
	return fd;
}

bool idp_daemon_running(const char *state_dir)
{
	idp_err err = IDP_ERR_INIT;
	int fd = connect_daemon(state_dir, &err);
	idp_err_clear(&err);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int idp_daemon_spawn(const char *state_dir, char *const *argv, double timeout_s, idp_err *err)
{
	if (idp_daemon_running(state_dir))
		return 0;
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", state_dir, strerror(errno));
	char log[4200];
	snprintf(log, sizeof log, "%s/daemon.log", state_dir);
	pid_t pid = fork();
	if (pid < 0)
		return idp_err_set(err, IDP_ERUNTIME, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Detached: its own session, so that the terminal's signals and the
		 * CLI's exit leave it running. */
		setsid();
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int in = open("/dev/null", O_RDONLY);
		if (fd < 0 || in < 0)
			_exit(127);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close_range(3, ~0U, 0); /* the CLI's descriptors are not the daemon's */
		execv(argv[0], argv);
		_exit(127);
	}
	double until = now_s() + timeout_s;
	while (now_s() < until) {
		if (idp_daemon_running(state_dir))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* A second `up` racing this one may have won the state directory. */
			if (idp_daemon_running(state_dir))
				return 0;
			return idp_err_set(err, IDP_ERUNTIME, "the idp daemon exited at start (status %d); see %s",
					   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), log);
		}
		usleep(10000);
	}
	return idp_err_set(err, IDP_ERUNTIME, "the idp daemon did not answer within %.0f s; see %s", timeout_s, log);
}

int idp_daemon_wait_gone(const char *state_dir, double timeout_s, idp_err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/daemon.lock", state_dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0; /* never ran here */
	double until = now_s() + timeout_s;
	int rc = 0;
	/* The daemon holds the lock until everything it ran has stopped. */
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (now_s() > until) {
			rc = idp_err_set(err, IDP_ERUNTIME, "the idp daemon of %s is still stopping after %.0f s", state_dir,
					 timeout_s);
			break;
		}
		usleep(20000);
	}
	close(fd);
	return rc;
}

int daemon_write_line(int fd, const idp_doc_node *msg)
{
	idp_buf b = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_emit_json(msg, IDP_DOC_JSON_COMPACT, &b, &err);
	idp_err_clear(&err);
	if (rc == 0) {
		/* emit_json ends with a newline or not: the protocol wants exactly one. */
		while (b.len && b.ptr[b.len - 1] == '\n')
			b.len--;
		idp_buf_putc(&b, '\n');
		for (size_t off = 0; off < b.len && rc == 0;) {
			ssize_t w = send(fd, b.ptr + off, b.len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = -1;
			else
				off += (size_t)w;
		}
	}
	idp_buf_free(&b);
	return rc;
}

static int code_of(const char *code)
{
	if (code && strcmp(code, "input") == 0)
		return IDP_EINPUT;
	if (code && strcmp(code, "notfound") == 0)
		return IDP_ENOTFOUND;
	return IDP_ERUNTIME;
}

/* One reply line: an event (passed on) or the last line (*reply). */
static int take_line(idp_arena *a, const char *line, size_t len, idp_daemon_event_fn on_event, void *ctx,
		     idp_doc_node **reply, idp_err *err)
{
	idp_doc_stream s;
	if (idp_doc_load(a, "idp daemon", line, len, NULL, &s, err) != 0 || s.len != 1 || s.docs[0]->kind != IDP_DOC_MAP)
		return idp_err_set(err, IDP_ERUNTIME, "the idp daemon answered something that is no JSON object");
	idp_doc_node *msg = s.docs[0];
	const idp_doc_node *ok = idp_doc_map_get(msg, "ok");
	if (!ok) {
		if (on_event)
			on_event(ctx, msg);
		return 0;
	}
	*reply = msg;
	if (ok->kind == IDP_DOC_BOOL && ok->as.b)
		return 0;
	const char *e = idp_doc_map_get_str(msg, "error");
	return idp_err_set(err, code_of(idp_doc_map_get_str(msg, "code")), "%s", e ? e : "the idp daemon failed");
}

int idp_daemon_call(const char *state_dir, idp_arena *a, const idp_doc_node *request, idp_daemon_event_fn on_event,
		    void *ctx, idp_doc_node **reply, idp_err *err)
{
	*reply = NULL;
	int fd = connect_daemon(state_dir, err);
	if (fd < 0)
		return fd;
	if (daemon_write_line(fd, request) != 0) {
		close(fd);
		return idp_err_set(err, IDP_ERUNTIME, "cannot send to the idp daemon: %s", strerror(errno));
	}
	idp_buf in = IDP_BUF_INIT;
	int rc = 0;
	char chunk[8192];
	while (rc == 0 && !*reply) {
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = idp_err_set(err, IDP_ERUNTIME, "the idp daemon closed the connection before answering (see %s/daemon.log)",
					 state_dir);
			break;
		}
		idp_buf_append(&in, chunk, (size_t)r);
		char *nl;
		while (rc == 0 && !*reply && in.len && (nl = memchr(in.ptr, '\n', in.len))) {
			size_t n = (size_t)(nl - in.ptr);
			rc = take_line(a, in.ptr, n, on_event, ctx, reply, err);
			memmove(in.ptr, nl + 1, in.len - n - 1);
			in.len -= n + 1;
		}
	}
	idp_buf_free(&in);
	close(fd);
	return rc;
}
