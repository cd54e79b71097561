/* The supervisor: fork/exec in a new process group, death with the parent,
 * logs to a file, restarts with backoff, group stop. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct proc {
	char *name, **argv, **env, *cwd, *log_path;
	bool restart, as_user;
	uid_t uid;
	gid_t gid;
	int stop_signal;
	idp_runtime_state state;
	pid_t pid;
	unsigned restarts;
	int last_exit;
	double started, next_start, delay;
} proc;

struct idp_runtime_supervisor {
	idp_runtime_backoff backoff;
	proc *procs;
	size_t n, cap;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char **copy_strv(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **c = idp_xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = idp_xstrdup(v[i]);
	return c;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void proc_free(proc *p)
{
	free(p->name);
	free_strv(p->argv);
	free_strv(p->env);
	free(p->cwd);
	free(p->log_path);
}

idp_runtime_supervisor *idp_runtime_supervisor_new(const idp_runtime_backoff *backoff)
{
	idp_runtime_supervisor *s = idp_xcalloc(1, sizeof(*s));
	idp_runtime_backoff def = IDP_RUNTIME_BACKOFF_DEFAULT;
	s->backoff = backoff ? *backoff : def;
	return s;
}

static proc *find(const idp_runtime_supervisor *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->procs[i].name, name) == 0)
			return &s->procs[i];
	return NULL;
}

/* ---------------------------------------------------------------- starting */

/* In the child: becomes its own group, dies with the parent, gets its
 * output file, environment and directory, and execs. On failure the errno
 * goes back through report (close-on-exec: nothing comes back on success). */
static void child(const proc *p, pid_t parent, int report)
{
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int in = open("/dev/null", O_RDONLY);
	int out = open(p->log_path ? p->log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	/* Nothing else of the runtime's (the gateway's listening socket, the
	 * store, other children's pipes) goes into the child; report closes
	 * itself on exec. */
	if (report > 3)
		close_range(3, (unsigned)report - 1, 0);
	close_range((unsigned)report + 1, ~0U, 0);
	if (p->as_user && (setgroups(0, NULL) != 0 || setgid(p->gid) != 0 || setuid(p->uid) != 0))
		goto fail;
	/* After the change of user, which clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the parent died before the prctl */
		_exit(127);
	if (p->cwd && chdir(p->cwd) != 0)
		goto fail;
	for (size_t i = 0; p->env && p->env[i]; i++)
		putenv(p->env[i]);
	execvp(p->argv[0], p->argv);
fail:;
	int e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int spawn(proc *p, idp_err *err)
{
	int report[2];
	if (pipe2(report, O_CLOEXEC) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s: pipe: %s", p->name, strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		return idp_err_set(err, IDP_ERUNTIME, "%s: fork: %s", p->name, strerror(errno));
	}
	if (pid == 0) {
		close(report[0]);
		child(p, parent, report[1]);
	}
	close(report[1]);
	setpgid(pid, pid); /* also here: no window where a signal to the group misses it */
	int e = 0;
	ssize_t got;
	do
		got = read(report[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	close(report[0]);
	if (got == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		p->state = IDP_RUNTIME_EXITED;
		p->last_exit = 127;
		return idp_err_set(err, e == ENOENT ? IDP_EINPUT : IDP_ERUNTIME, "%s: cannot run %s: %s", p->name, p->argv[0],
				   strerror(e));
	}
	p->pid = pid;
	p->state = IDP_RUNTIME_RUNNING;
	p->started = now_s();
	return 0;
}

int idp_runtime_start(idp_runtime_supervisor *s, const idp_runtime_proc_spec *spec, idp_err *err)
{
	if (!spec->name || !spec->argv || !spec->argv[0])
		return idp_err_set(err, IDP_EINPUT, "a process needs a name and a command");
	proc *p = find(s, spec->name);
	if (p && (p->state == IDP_RUNTIME_RUNNING || p->state == IDP_RUNTIME_BACKOFF))
		return idp_err_set(err, IDP_EINPUT, "%s is running already", spec->name);
	if (p) {
		proc_free(p);
	} else {
		s->procs = idp_xrealloc(s->procs, (s->n + 1) * sizeof(*s->procs));
		p = &s->procs[s->n++];
	}
	memset(p, 0, sizeof(*p));
	p->name = idp_xstrdup(spec->name);
	p->argv = copy_strv(spec->argv);
	p->env = copy_strv(spec->env);
	p->cwd = spec->cwd ? idp_xstrdup(spec->cwd) : NULL;
	p->log_path = spec->log_path ? idp_xstrdup(spec->log_path) : NULL;
	p->restart = spec->restart;
	p->as_user = spec->as_user;
	p->uid = spec->uid;
	p->gid = spec->gid;
	p->stop_signal = spec->stop_signal ? spec->stop_signal : SIGTERM;
	p->last_exit = -1;
	p->delay = 0;
	return spawn(p, err);
}

/* ---------------------------------------------------------------- exits */

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

static void exited(idp_runtime_supervisor *s, proc *p, int status, double now)
{
	p->last_exit = exit_code(status);
	kill(-p->pid, SIGKILL); /* what it left in its group goes with it */
	p->pid = 0;
	if (!p->restart) {
		p->state = IDP_RUNTIME_EXITED;
		return;
	}
	/* A process that ran a while starts again at once-ish; one that keeps
	 * dying waits longer each time. */
	p->delay = now - p->started >= s->backoff.reset || p->delay == 0 ? s->backoff.first : p->delay * 2;
	if (p->delay > s->backoff.max)
		p->delay = s->backoff.max;
	p->state = IDP_RUNTIME_BACKOFF;
	p->next_start = now + p->delay;
}

void idp_runtime_tick(idp_runtime_supervisor *s)
{
	double now = now_s();
	for (size_t i = 0; i < s->n; i++) {
		proc *p = &s->procs[i];
		int status;
		if (p->state == IDP_RUNTIME_RUNNING && waitpid(p->pid, &status, WNOHANG) == p->pid)
			exited(s, p, status, now);
		if (p->state == IDP_RUNTIME_BACKOFF && now >= p->next_start) {
			idp_err ignored = IDP_ERR_INIT;
			p->restarts++;
			if (spawn(p, &ignored) != 0) { /* the command went away: try later */
				p->state = IDP_RUNTIME_BACKOFF;
				p->delay = p->delay * 2 > s->backoff.max ? s->backoff.max : p->delay * 2;
				p->next_start = now + p->delay;
			}
			idp_err_clear(&ignored);
		}
	}
}

/* ---------------------------------------------------------------- stopping */

int idp_runtime_stop(idp_runtime_supervisor *s, const char *name, int grace_ms, idp_err *err)
{
	proc *p = find(s, name);
	if (!p)
		return idp_err_set(err, IDP_ENOTFOUND, "no process %s", name);
	if (p->state == IDP_RUNTIME_RUNNING) {
		kill(-p->pid, p->stop_signal);
		double until = now_s() + grace_ms / 1000.0;
		int status = 0;
		pid_t got = 0;
		while ((got = waitpid(p->pid, &status, WNOHANG)) == 0 && now_s() < until)
			usleep(5000);
		if (got == 0) {
			kill(-p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
		kill(-p->pid, SIGKILL); /* grandchildren that ignored SIGTERM */
		p->last_exit = exit_code(status);
		p->pid = 0;
	}
	p->state = IDP_RUNTIME_STOPPED;
	return 0;
}

int idp_runtime_forget(idp_runtime_supervisor *s, const char *name)
{
	proc *p = find(s, name);
	if (!p)
		return IDP_ENOTFOUND;
	if (p->state == IDP_RUNTIME_RUNNING)
		return IDP_EINPUT;
	proc_free(p);
	size_t i = (size_t)(p - s->procs);
	memmove(p, p + 1, (s->n - i - 1) * sizeof(*p));
	s->n--;
	return 0;
}

int idp_runtime_status(const idp_runtime_supervisor *s, const char *name, idp_runtime_proc_status *out)
{
	const proc *p = find(s, name);
	if (!p)
		return IDP_ENOTFOUND;
	*out = (idp_runtime_proc_status){p->state, p->pid, p->restarts, p->last_exit, p->next_start};
	return 0;
}

void idp_runtime_supervisor_free(idp_runtime_supervisor *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		idp_runtime_stop(s, s->procs[i].name, 2000, NULL);
	for (size_t i = 0; i < s->n; i++)
		proc_free(&s->procs[i]);
	free(s->procs);
	free(s);
}
