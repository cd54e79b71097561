/*
 * The test fixture (see fixture.h): temporary directories, ports, running
 * programs and daemons. Plain POSIX; failures are printed on stderr with the
 * prefix "fixture: " and reported to the caller as NULL or -1.
 */
#include "fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

struct idp_fixture_daemon {
	pid_t pid; /* also the process group id */
	int port;
	char *name;
	char *workdir;
};

/* Run-time limit of idp_fixture_run. */
#define RUN_DEFAULT_TIMEOUT_S 120.0
/* How long idp_fixture_daemon_stop waits after SIGTERM. */
#define STOP_GRACE_S 5.0
/* How much of a daemon's output is printed when it fails to start. */
#define TAIL_BYTES 2048

/* ------------------------------------------------------------ small helpers */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "fixture: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

/* "a/b", owned by the caller. */
static char *path_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	bool slash = na > 0 && a[na - 1] != '/';
	char *p = xmalloc(na + slash + nb + 1);
	memcpy(p, a, na);
	if (slash)
		p[na] = '/';
	memcpy(p + na + slash, b, nb + 1);
	return p;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const char *tmp_base(void)
{
	const char *base = getenv("TMPDIR");
	return (base && *base) ? base : "/tmp";
}

/* An anonymous read-write temporary file (already unlinked), close-on-exec;
 * -1 on failure. */
static int anon_tmpfile(void)
{
	char *tmpl = path_join(tmp_base(), "idp-fixture-XXXXXX");
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		fprintf(stderr, "fixture: mkstemp %s: %s\n", tmpl, strerror(errno));
		free(tmpl);
		return -1;
	}
	unlink(tmpl);
	free(tmpl);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static bool write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The whole content of fd from offset 0 (pread, so the shared file offset
 * does not matter), NUL-terminated, owned by the caller; NULL on error. */
static char *read_fd_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (cap - n < 4096) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fprintf(stderr, "fixture: out of memory\n");
				abort();
			}
			buf = nb;
		}
		ssize_t r = pread(fd, buf + n, cap - n - 1, (off_t)n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* In a freshly forked child: a clean signal state, and on Linux death with
 * the parent. parent is the pid of the process that forked. */
static void child_common_setup(pid_t parent)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif
}

/* Writes a short message on fd 2 from a child (async-signal-safe). */
static void child_say(const char *what, const char *arg)
{
	const char *e = strerror(errno);
	(void)!write(2, "fixture: ", 9);
	(void)!write(2, what, strlen(what));
	(void)!write(2, arg, strlen(arg));
	(void)!write(2, ": ", 2);
	(void)!write(2, e, strlen(e));
	(void)!write(2, "\n", 1);
}

/* Waits until process pid has exited without reaping it (so its pid, which is
 * also its process group id, cannot be reused yet). Returns 1 when it has
 * exited, 0 when the deadline passed first, -1 on error. */
static int wait_exited_noreap(pid_t pid, double deadline)
{
	double pause = 0.0005;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (si.si_pid == pid)
			return 1;
		if (now_s() >= deadline)
			return 0;
		sleep_s(pause);
		if (pause < 0.02)
			pause *= 2;
	}
}

/* Reaps pid (blocking) and returns the shell-style status: the exit code, or
 * 128+signal; -1 on error. */
static int reap(pid_t pid)
{
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, 0);
		if (r == pid)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* ------------------------------------------------------------ directories and files */

char *idp_fixture_tmpdir(void)
{
	char *tmpl = path_join(tmp_base(), "idp-test-XXXXXX");
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "fixture: mkdtemp %s: %s\n", tmpl, strerror(errno));
		free(tmpl);
		return NULL;
	}
	char *abs = realpath(tmpl, NULL);
	if (abs) {
		free(tmpl);
		return abs;
	}
	return tmpl;
}

/* Pre-order pass: make every directory readable, writable and searchable so
 * that the removal pass can empty it. */
static int rm_chmod_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR) {
		chmod(path, S_IRWXU);
		if (flag == FTW_DNR) /* it could not be read before: walk it now */
			nftw(path, rm_chmod_entry, 16, FTW_PHYS);
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int rc = (flag == FTW_DP || flag == FTW_DNR) ? rmdir(path) : unlink(path);
	if (rc != 0 && errno != ENOENT)
		fprintf(stderr, "fixture: rmtree: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

void idp_fixture_rmtree(const char *dir)
{
	if (!dir || !*dir || strcmp(dir, "/") == 0)
		return;
	struct stat st;
	if (lstat(dir, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(dir);
		return;
	}
	nftw(dir, rm_chmod_entry, 16, FTW_PHYS);
	nftw(dir, rm_entry, 16, FTW_PHYS | FTW_DEPTH);
}

char *idp_fixture_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = path_join(dir, name);
	/* mkdir -p for the directories inside name */
	size_t base = strlen(path) - strlen(name);
	for (char *s = path + base; (s = strchr(s, '/')) != NULL; s++) {
		if (s == path + base)
			continue;
		*s = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "fixture: mkdir %s: %s\n", path, strerror(errno));
			free(path);
			return NULL;
		}
		*s = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fixture: open %s: %s\n", path, strerror(errno));
		free(path);
		return NULL;
	}
	bool ok = write_all(fd, data, len);
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "fixture: write %s: %s\n", path, strerror(errno));
		free(path);
		return NULL;
	}
	return path;
}

char *idp_fixture_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *s = read_fd_all(fd, len);
	close(fd);
	return s;
}

/* ------------------------------------------------------------ network */

int idp_fixture_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "fixture: socket: %s\n", strerror(errno));
		return -1;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	socklen_t sl = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
			getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		fprintf(stderr, "fixture: bind 127.0.0.1:0: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

/* True when 127.0.0.1:port accepts a TCP connection right now. */
static bool port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	while (rc != 0 && errno == EINTR);
	close(fd);
	return rc == 0;
}

/* ------------------------------------------------------------ programs */

bool idp_fixture_have_program(const char *prog)
{
	struct stat st;
	if (!prog || !*prog)
		return false;
	if (strchr(prog, '/'))
		return stat(prog, &st) == 0 && S_ISREG(st.st_mode) && access(prog, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *dir = xmalloc(n + 2);
		memcpy(dir, p, n);
		dir[n] = '\0';
		if (n == 0) /* an empty PATH entry means the current directory */
			strcpy(dir, ".");
		char *full = path_join(dir, prog);
		bool ok = stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0;
		free(full);
		free(dir);
		if (ok)
			return true;
		if (!end)
			return false;
		p = end + 1;
	}
}

int idp_fixture_run_timeout(char *const argv[], const char *stdin_data, char **out,
		char **err_out, double timeout_s)
{
	if (out)
		*out = NULL;
	if (err_out)
		*err_out = NULL;
	if (!argv || !argv[0])
		return -1;

	int in_fd = -1, out_fd = -1, err_fd = -1, result = -1;
	if (stdin_data) {
		in_fd = anon_tmpfile();
		if (in_fd < 0 || !write_all(in_fd, stdin_data, strlen(stdin_data)) ||
				lseek(in_fd, 0, SEEK_SET) != 0)
			goto done;
	} else {
		in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in_fd < 0)
			goto done;
	}
	out_fd = anon_tmpfile();
	err_fd = anon_tmpfile();
	if (out_fd < 0 || err_fd < 0)
		goto done;

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fixture: fork: %s\n", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(127);
		child_common_setup(parent);
		execvp(argv[0], argv);
		child_say("cannot execute ", argv[0]);
		_exit(127);
	}
	setpgid(pid, pid); /* also here, so that kill(-pid) works at once */

	int exited = wait_exited_noreap(pid, now_s() + timeout_s);
	/* Kill whatever the program left in its group (or the program itself,
	 * on timeout), then reap it. */
	kill(-pid, SIGKILL);
	result = reap(pid);

	char *o = read_fd_all(out_fd, NULL);
	char *e = read_fd_all(err_fd, NULL);
	if (!o || !e || result < 0) {
		free(o);
		free(e);
		result = -1;
		goto done;
	}
	if (exited != 1) {
		char note[160];
		snprintf(note, sizeof note, "\nfixture: %s killed after %.1f s (timeout)\n", argv[0], timeout_s);
		size_t ne = strlen(e), nn = strlen(note);
		char *e2 = xmalloc(ne + nn + 1);
		memcpy(e2, e, ne);
		memcpy(e2 + ne, note, nn + 1);
		free(e);
		e = e2;
		fprintf(stderr, "fixture: %s killed after %.1f s (timeout)\n", argv[0], timeout_s);
	}
	if (out)
		*out = o;
	else
		free(o);
	if (err_out)
		*err_out = e;
	else
		free(e);

done:
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return result;
}

int idp_fixture_run(char *const argv[], const char *stdin_data, char **out, char **err_out)
{
	return idp_fixture_run_timeout(argv, stdin_data, out, err_out, RUN_DEFAULT_TIMEOUT_S);
}

/* ------------------------------------------------------------ daemons */

/* Prints the last TAIL_BYTES of workdir/NAME.SUFFIX on stderr. */
static void print_tail(const idp_fixture_daemon *d, const char *suffix)
{
	size_t n = strlen(d->name) + strlen(suffix) + 2;
	char *file = xmalloc(n);
	snprintf(file, n, "%s.%s", d->name, suffix);
	char *path = path_join(d->workdir, file);
	size_t len = 0;
	char *s = idp_fixture_read_file(path, &len);
	if (s && len > 0) {
		const char *start = len > TAIL_BYTES ? s + len - TAIL_BYTES : s;
		fprintf(stderr, "fixture: ---- %s (last %zu bytes) ----\n%s%s", path,
				len > TAIL_BYTES ? (size_t)TAIL_BYTES : len, start,
				s[len - 1] == '\n' ? "" : "\n");
		fprintf(stderr, "fixture: ---- end of %s ----\n", file);
	}
	free(s);
	free(path);
	free(file);
}

static void daemon_free(idp_fixture_daemon *d)
{
	free(d->name);
	free(d->workdir);
	free(d);
}

/* Opens workdir/NAME.SUFFIX for the daemon's output. */
static int open_log(const idp_fixture_daemon *d, const char *suffix)
{
	size_t n = strlen(d->name) + strlen(suffix) + 2;
	char *file = xmalloc(n);
	snprintf(file, n, "%s.%s", d->name, suffix);
	char *path = path_join(d->workdir, file);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "fixture: open %s: %s\n", path, strerror(errno));
	free(path);
	free(file);
	return fd;
}

idp_fixture_daemon *idp_fixture_daemon_start(const char *name, char *const argv[],
		const char *workdir, int port, double timeout_s)
{
	if (!name || !*name || !argv || !argv[0] || !workdir || port <= 0 || port > 65535) {
		fprintf(stderr, "fixture: daemon_start: bad arguments\n");
		return NULL;
	}
	idp_fixture_daemon *d = xmalloc(sizeof *d);
	d->pid = -1;
	d->port = port;
	d->name = xstrdup(name);
	d->workdir = xstrdup(workdir);

	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out_fd = open_log(d, "out");
	int err_fd = open_log(d, "err");
	if (null_fd < 0 || out_fd < 0 || err_fd < 0) {
		if (null_fd >= 0)
			close(null_fd);
		if (out_fd >= 0)
			close(out_fd);
		if (err_fd >= 0)
			close(err_fd);
		daemon_free(d);
		return NULL;
	}

	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(127);
		child_common_setup(parent);
		if (chdir(workdir) != 0) {
			child_say("cannot chdir to ", workdir);
			_exit(126);
		}
		execvp(argv[0], argv);
		child_say("cannot execute ", argv[0]);
		_exit(127);
	}
	int fork_errno = errno;
	close(null_fd);
	close(out_fd);
	close(err_fd);
	if (pid < 0) {
		fprintf(stderr, "fixture: fork: %s\n", strerror(fork_errno));
		daemon_free(d);
		return NULL;
	}
	setpgid(pid, pid);
	d->pid = pid;

	double start = now_s(), deadline = start + timeout_s, pause = 0.005;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		int rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if (rc != 0 && errno == EINTR)
			continue;
		if (rc != 0 || si.si_pid == pid) {
			kill(-pid, SIGKILL); /* anything it left behind */
			int st = reap(pid);
			fprintf(stderr, "fixture: daemon %s (%s) exited during start-up with status %d\n",
					name, argv[0], st);
			print_tail(d, "err");
			print_tail(d, "out");
			daemon_free(d);
			return NULL;
		}
		if (port_accepts(port))
			return d;
		if (now_s() >= deadline) {
			kill(-pid, SIGKILL);
			reap(pid);
			fprintf(stderr, "fixture: daemon %s (%s) did not accept connections on "
					"127.0.0.1:%d within %.1f s; killed\n", name, argv[0], port, timeout_s);
			print_tail(d, "err");
			print_tail(d, "out");
			daemon_free(d);
			return NULL;
		}
		sleep_s(pause);
		if (pause < 0.05)
			pause *= 1.5;
	}
}

void idp_fixture_daemon_stop(idp_fixture_daemon *d)
{
	if (!d)
		return;
	if (d->pid > 0) {
		kill(-d->pid, SIGTERM);
		if (wait_exited_noreap(d->pid, now_s() + STOP_GRACE_S) != 1)
			fprintf(stderr, "fixture: daemon %s ignored SIGTERM for %.0f s; killing it\n",
					d->name, STOP_GRACE_S);
		/* The leader is a zombie (or still running): its pid and group id
		 * cannot have been reused, so this only hits its own group. */
		kill(-d->pid, SIGKILL);
		reap(d->pid);
	}
	daemon_free(d);
}

int idp_fixture_daemon_port(const idp_fixture_daemon *d)
{
	return d ? d->port : -1;
}
