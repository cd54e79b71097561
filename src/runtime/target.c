/* The local target: an application's rendered objects applied to one
 * machine (docs/RUNTIME.md). Daemons run while the application is not
 * paused; a Knative Service's processes come and go as the gateway scales
 * it; Secrets are files and environment. Everything an application owns is
 * under STATE/apps/APP/ (data/, secrets/, logs/), so `down --purge` removes
 * one directory and leaves nothing elsewhere. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define STOP_GRACE_MS 1000

typedef struct replica {
	char *proc_name; /* the supervisor's name */
	int port;
	bool told_gone;
} replica;

typedef struct process {
	const idp_runtime_item *item;
	char *service;     /* "ns/name": the gateway's name */
	char *program;     /* absolute, or a name looked up on PATH (a LocalRun's python3) */
	char **args;       /* argv after the program (a LocalRun's command), ${VAR} expanded per replica */
	const char *cwd;   /* where it runs (a LocalRun's directory), or NULL: the app's directory */
	const char *host;  /* where its replicas listen */
	char **env;        /* KEY=value, NULL-terminated; PORT is added per replica */
	replica *replicas;
	size_t n_replicas, cap;
	unsigned next_id;  /* replica numbers, carried over when the replicas are kept */
	const char *problem; /* why it cannot start (program missing), or NULL */
} process;

typedef struct daemon_state {
	const idp_runtime_item *item;
	idp_runtime_daemon spec;
	bool running;
	const char *problem;
	idp_runtime_kafka *kafka; /* IDP_DAEMON_KAFKA: the mock cluster, in this process */
} daemon_state;

typedef struct secret_file {
	const char *object; /* Secret/ns/name */
	const char *key, *path, *value;
} secret_file;

typedef struct app_state {
	char *name;
	secret_file *files; /* what write_secrets wrote: drift is any difference */
	size_t n_files, files_cap;
	unsigned slot;
	idp_arena *arena; /* objects, plan, specs */
	idp_doc_node *const *objs;
	size_t n_objs;
	idp_runtime_plan plan;
	process *procs;
	size_t n_procs;
	daemon_state *daemons;
	size_t n_daemons;
	bool paused;
	struct app_state *next;
} app_state;

struct idp_runtime_target {
	char *state_dir;
	unsigned net;
	idp_runtime_hooks hooks;
	idp_runtime_supervisor *sup;
	app_state *apps; /* in the order applied */
};

/* ---------------------------------------------------------------- files */

static int make_dir(const char *path, mode_t mode, idp_err *err)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", path, strerror(errno));
	/* PostgreSQL runs as nobody when we are root: it must pass through. */
	if (geteuid() == 0 && mode == 0711 && chmod(path, 0711) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot open %s: %s", path, strerror(errno));
	return 0;
}

static int write_private(const char *path, const char *data, size_t n, idp_err *err)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
	bool ok = write(fd, data, n) == (ssize_t)n;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return idp_err_set(err, IDP_ERUNTIME, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *app_dir(idp_arena *a, const idp_runtime_target *t, const char *app, const char *sub)
{
	return sub ? idp_arena_printf(a, "%s/apps/%s/%s", t->state_dir, app, sub)
		   : idp_arena_printf(a, "%s/apps/%s", t->state_dir, app);
}

/* ---------------------------------------------------------------- names */

/* "ns<sep>name", or "ns<sep>name@cluster" for an object a topology placed in
 * a cluster (a vcluster's scope): paths and supervisor names. No name holds
 * an '@', so no two scopes share one. */
static const char *scoped(idp_arena *a, const idp_runtime_item *it, char sep)
{
	return it->cluster ? idp_arena_printf(a, "%s%c%s@%s", it->namespace, sep, it->name, it->cluster)
			   : idp_arena_printf(a, "%s%c%s", it->namespace, sep, it->name);
}

/* The gateway's name of a Knative Service: "ns/name", "ns/name@cluster". */
static const char *service_key(idp_arena *a, const idp_runtime_item *it)
{
	return it->cluster ? idp_arena_printf(a, "%s/%s@%s", it->namespace, it->name, it->cluster)
			   : idp_arena_printf(a, "%s/%s", it->namespace, it->name);
}

static const char *log_name(idp_arena *a, const idp_runtime_item *it)
{
	return it->cluster ? idp_arena_printf(a, "%s@%s", it->name, it->cluster) : it->name;
}

/* ---------------------------------------------------------------- target */

idp_runtime_target *idp_runtime_target_new(const char *state_dir, unsigned net, const idp_runtime_hooks *hooks)
{
	idp_runtime_target *t = idp_xcalloc(1, sizeof(*t));
	t->state_dir = idp_xstrdup(state_dir);
	t->net = net;
	if (hooks)
		t->hooks = *hooks;
	t->sup = idp_runtime_supervisor_new(NULL);
	return t;
}

static app_state *find_app(const idp_runtime_target *t, const char *name)
{
	for (app_state *s = t->apps; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void report(idp_runtime_target *t, const char *app, const char *object, const char *health, const char *msg)
{
	if (t->hooks.progress)
		t->hooks.progress(t->hooks.ctx, app, object, health, msg);
}

/* ---------------------------------------------------------------- replicas */

/* A port nothing listens on at host, so that replicas (which may bind any
 * address) never collide. */
static int free_port_at(const char *host)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	socklen_t len = sizeof sin;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* arg with every ${NAME} of env (KEY=value entries) replaced by its value. */
static char *expand(idp_arena *a, const char *arg, char *const *env)
{
	idp_buf out = IDP_BUF_INIT;
	for (const char *s = arg; *s;) {
		const char *end = s[0] == '$' && s[1] == '{' ? strchr(s, '}') : NULL;
		const char *value = NULL;
		for (size_t i = 0; end && env[i] && !value; i++) {
			size_t n = (size_t)(end - s - 2);
			if (strncmp(env[i], s + 2, n) == 0 && env[i][n] == '=')
				value = env[i] + n + 1;
		}
		if (value) {
			idp_buf_puts(&out, value);
			s = end + 1;
		} else {
			idp_buf_putc(&out, *s++);
		}
	}
	char *r = idp_arena_strndup(a, out.ptr ? out.ptr : "", out.len);
	idp_buf_free(&out);
	return r;
}

static int start_replica(idp_runtime_target *t, app_state *app, process *p, idp_err *err)
{
	const char *host = p->host;
	int port = free_port_at(host);
	if (port < 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s: no free port on %s", p->service, host);
	idp_arena *a = idp_arena_new();
	size_t n = strv_len(p->env);
	char **env = idp_arena_alloc(a, (n + 3) * sizeof(*env));
	memcpy(env, p->env, n * sizeof(*env));
	env[n++] = idp_arena_printf(a, "PORT=%d", port);
	env[n++] = idp_arena_printf(a, "HOST=%s", host);
	env[n] = NULL;
	size_t na = strv_len(p->args);
	char **argv = idp_arena_alloc(a, (na + 2) * sizeof(*argv));
	argv[0] = p->program;
	for (size_t i = 0; i < na; i++)
		argv[i + 1] = expand(a, p->args[i], env);
	argv[na + 1] = NULL;
	const char *name = idp_arena_printf(a, "%s/%s-%u", app->name, p->service, p->next_id++);
	const char *log = idp_arena_printf(a, "%s/%s.log", app_dir(a, t, app->name, "logs"), log_name(a, p->item));
	idp_runtime_proc_spec spec = {name, argv, env, p->cwd ? p->cwd : app_dir(a, t, app->name, NULL), log, true, false,
				      0, 0, 0};
	int rc = idp_runtime_start(t->sup, &spec, err);
	if (rc == 0) {
		if (p->n_replicas == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 4;
			p->replicas = idp_xrealloc(p->replicas, p->cap * sizeof(*p->replicas));
		}
		p->replicas[p->n_replicas++] = (replica){idp_xstrdup(name), port, false};
		if (t->hooks.replica_starting)
			t->hooks.replica_starting(t->hooks.ctx, p->service, host, port, p->item->health_path);
	}
	idp_arena_free(a);
	return rc;
}

static void stop_replica(idp_runtime_target *t, process *p, size_t i)
{
	replica r = p->replicas[i];
	if (!r.told_gone && t->hooks.replica_gone)
		t->hooks.replica_gone(t->hooks.ctx, p->service, p->host, r.port);
	idp_runtime_stop(t->sup, r.proc_name, STOP_GRACE_MS, NULL);
	idp_runtime_forget(t->sup, r.proc_name); /* names are not reused: the list would only grow */
	free(r.proc_name);
	memmove(&p->replicas[i], &p->replicas[i + 1], (p->n_replicas - i - 1) * sizeof(*p->replicas));
	p->n_replicas--;
}

static void stop_processes(idp_runtime_target *t, app_state *app)
{
	for (size_t i = 0; i < app->n_procs; i++)
		while (app->procs[i].n_replicas)
			stop_replica(t, &app->procs[i], app->procs[i].n_replicas - 1);
}

static process *find_process(const idp_runtime_target *t, const char *service, app_state **owner)
{
	for (app_state *s = t->apps; s; s = s->next)
		for (size_t i = 0; i < s->n_procs; i++)
			if (strcmp(s->procs[i].service, service) == 0) {
				*owner = s;
				return &s->procs[i];
			}
	return NULL;
}

void idp_runtime_target_scale(idp_runtime_target *t, const char *service, int32_t replicas)
{
	app_state *app = NULL;
	process *p = find_process(t, service, &app);
	if (!p)
		return;
	while ((int32_t)p->n_replicas > replicas && p->n_replicas)
		stop_replica(t, p, p->n_replicas - 1); /* the newest first */
	if (p->problem && p->host && strchr(p->program, '/') && access(p->program, X_OK) == 0)
		p->problem = NULL; /* built since the apply */
	const char *refused = app->paused ? "its application is paused (idp resume starts it again)" : p->problem;
	while (!refused && (int32_t)p->n_replicas < replicas) {
		idp_err err = IDP_ERR_INIT;
		if (start_replica(t, app, p, &err) != 0) {
			report(t, app->name, p->item->object, "Degraded", err.msg);
			refused = idp_arena_strdup(app->arena, err.msg ? err.msg : "it failed to start");
		}
		idp_err_clear(&err);
	}
	if (refused && (int32_t)p->n_replicas < replicas && t->hooks.scale_refused)
		t->hooks.scale_refused(t->hooks.ctx, service, refused);
}

/* ---------------------------------------------------------------- apply */

typedef struct gen_ctx {
	idp_runtime_target *t;
	const char *app;
} gen_ctx;

static int generate_value(void *ctx, const char *ns, const char *secret, const char *key, idp_buf *out, idp_err *err)
{
	gen_ctx *g = ctx;
	if (!g->t->hooks.generate)
		return idp_err_set(err, IDP_ERUNTIME, "no store to keep the generated value of %s/%s %s", ns, secret, key);
	return g->t->hooks.generate(g->t->hooks.ctx, g->app, ns, secret, key, out, err);
}

static const char *env_value(const idp_runtime_env *env, const char *key)
{
	for (size_t i = 0; i < env->n; i++)
		if (strcmp(env->keys[i], key) == 0)
			return env->values[i];
	return NULL;
}

/* A container's env: literal values (hosts rewritten) and secretKeyRefs. */
static int container_env(app_state *app, const idp_doc_node *c0, gen_ctx *g, const char *ns, idp_runtime_env *out,
			 idp_err *err)
{
	idp_arena *a = app->arena;
	const idp_doc_node *list = idp_doc_map_get(c0, "env");
	for (size_t i = 0; list && list->kind == IDP_DOC_SEQ && i < list->as.seq.len; i++) {
		const idp_doc_node *e = list->as.seq.items[i];
		const char *name = idp_doc_map_get_str(e, "name"), *value = idp_doc_map_get_str(e, "value");
		const idp_doc_node *ref = idp_doc_map_get(idp_doc_map_get(e, "valueFrom"), "secretKeyRef");
		if (!name)
			continue;
		if (value) {
			idp_runtime_env_put(a, out, name, idp_runtime_rewrite_env(a, &app->plan, name, value));
		} else if (ref) {
			const char *sname = idp_doc_map_get_str(ref, "name"), *key = idp_doc_map_get_str(ref, "key");
			idp_runtime_env sec = {0};
			if (!sname || !key)
				continue;
			int rc = idp_runtime_secret_values(a, &app->plan, app->objs, app->n_objs, ns, sname, generate_value, g,
							   &sec, err);
			if (rc)
				return rc;
			const char *v = env_value(&sec, key);
			if (!v)
				return idp_err_set(err, IDP_EINPUT, "env %s: Secret %s/%s has no key %s", name, ns, sname, key);
			idp_runtime_env_put(a, out, name, v);
		}
	}
	return 0;
}

static const idp_doc_node *find_object(const app_state *app, const char *object)
{
	for (size_t i = 0; i < app->plan.n; i++)
		if (strcmp(app->plan.items[i].object, object) == 0)
			return app->objs[i];
	return NULL;
}

/* Runs a LocalRun's build steps in its directory (output to
 * logs/NAME.build.log); NULL, or why it failed. Blocking: the first up of
 * a service built from source waits for its build. */
static const char *build_local(idp_runtime_target *t, app_state *app, const idp_runtime_item *it, idp_arena *a)
{
	const char *log = idp_arena_printf(a, "%s/%s.build.log", app_dir(a, t, app->name, "logs"), log_name(a, it));
	for (size_t i = 0; i < it->local->n_build; i++) {
		char **step = it->local->build[i];
		const char *name = idp_arena_printf(a, "%s/build-%s-%zu", app->name, it->name, i);
		idp_runtime_proc_spec spec = {name, step, NULL, it->local->dir, log, false, false, 0, 0, 0};
		idp_err err = IDP_ERR_INIT;
		if (idp_runtime_start(t->sup, &spec, &err) != 0) {
			const char *why = idp_arena_printf(a, "build step %s: %s", step[0], err.msg);
			idp_err_clear(&err);
			return why;
		}
		idp_runtime_proc_status st;
		while (idp_runtime_status(t->sup, name, &st) == 0 && st.state == IDP_RUNTIME_RUNNING) {
			idp_runtime_tick(t->sup);
			usleep(20000);
		}
		idp_runtime_forget(t->sup, name);
		if (st.last_exit != 0)
			return idp_arena_printf(a, "build step %zu (%s) failed with status %d: see %s", i + 1, step[0], st.last_exit,
						log);
	}
	return NULL;
}

static int prepare_process(idp_runtime_target *t, app_state *app, const idp_runtime_item *it, const char *base_dir,
			   process *p, idp_err *err)
{
	idp_arena *a = app->arena;
	gen_ctx g = {t, app->name};
	memset(p, 0, sizeof(*p));
	p->item = it;
	p->service = idp_xstrdup(service_key(a, it));
	if (it->local) {
		/* A LocalRun: its command in its directory; templates listen on 127.0.0.1. */
		const char *cmd = it->local->command[0];
		p->program = idp_xstrdup(strchr(cmd, '/') && cmd[0] != '/' ? idp_arena_printf(a, "%s/%s", it->local->dir, cmd)
									  : cmd);
		p->args = it->local->command + 1;
		p->cwd = it->local->dir;
		p->host = "127.0.0.1";
		if (strchr(p->program, '/') && access(p->program, X_OK) != 0 && it->local->n_build)
			p->problem = build_local(t, app, it, a);
	} else {
		p->program = idp_xstrdup(it->program[0] == '/' ? it->program : idp_arena_printf(a, "%s/%s", base_dir, it->program));
		p->host = it->address;
	}
	if (!p->host)
		p->problem = "no loopback address left in the application's /24";
	else if (!p->problem && strchr(p->program, '/') && access(p->program, X_OK) != 0)
		p->problem = idp_arena_printf(a, "program %s: %s", p->program, strerror(errno));
	idp_runtime_env env = {0};
	for (size_t k = 0; k < it->n_env_from; k++) {
		int rc = idp_runtime_secret_values(a, &app->plan, app->objs, app->n_objs, it->namespace, it->env_from[k],
						   generate_value, &g, &env, err);
		if (rc)
			return rc;
	}
	idp_doc_node *c0;
	const idp_doc_node *obj = find_object(app, it->object);
	if (obj && idp_doc_path_get(obj, "spec.template.spec.containers[0]", &c0, NULL) == 0) {
		int rc = container_env(app, c0, &g, it->namespace, &env, err);
		if (rc)
			return rc;
	}
	for (size_t k = 0; it->local && k < it->local->n_env; k++) /* the LocalRun's own, after git's */
		idp_runtime_env_put(a, &env, it->local->env_keys[k], it->local->env_values[k]);
	p->env = idp_xcalloc(env.n + 1, sizeof(*p->env));
	for (size_t k = 0; k < env.n; k++)
		p->env[k] = idp_xstrdup(idp_arena_printf(a, "%s=%s", env.keys[k], env.values[k]));
	return 0;
}

static int default_port(idp_runtime_daemon_kind k)
{
	return k == IDP_DAEMON_REDIS ? 6379 : k == IDP_DAEMON_POSTGRESQL ? 5432 : 1883;
}

/* Kafka's mock cluster, taken over from the previous apply when it ran one
 * of that name (its port, which workloads were given, stays the same). */
static int start_kafka(app_state *app, app_state *old, idp_runtime_item *it, daemon_state *d, idp_err *err)
{
	for (size_t k = 0; old && k < old->n_daemons && !d->kafka; k++)
		if (old->daemons[k].kafka && strcmp(old->daemons[k].spec.name, d->spec.name) == 0) {
			d->kafka = old->daemons[k].kafka;
			old->daemons[k].kafka = NULL;
			old->daemons[k].running = false;
		}
	if (!d->kafka) {
		int rc = idp_runtime_kafka_start(&d->kafka, err);
		if (rc)
			return rc;
		if (!idp_runtime_kafka_ready(d->kafka))
			return idp_err_set(err, IDP_ERUNTIME, "%s: the Kafka mock cluster answers no metadata request",
					   d->spec.name);
	}
	it->address = "127.0.0.1"; /* where librdkafka's mock listens */
	it->actual_port = idp_runtime_kafka_port(d->kafka);
	d->spec.host = it->address;
	d->spec.port = it->actual_port;
	d->running = true;
	(void)app;
	return 0;
}

static int prepare_daemon(idp_runtime_target *t, app_state *app, app_state *old, idp_runtime_item *it, daemon_state *d,
			  idp_err *err)
{
	idp_arena *a = app->arena;
	memset(d, 0, sizeof(*d));
	d->item = it;
	const char *password = NULL;
	if (it->secret && it->password_key) {
		gen_ctx g = {t, app->name};
		idp_runtime_env env = {0};
		int rc = idp_runtime_secret_values(a, &app->plan, app->objs, app->n_objs, it->namespace, it->secret,
						   generate_value, &g, &env, err);
		if (rc)
			return rc;
		password = env_value(&env, it->password_key);
		if (!password)
			return idp_err_set(err, IDP_EINPUT, "%s: Secret %s/%s has no key %s", it->object, it->namespace,
					   it->secret, it->password_key);
	}
	d->spec = (idp_runtime_daemon){
		.kind = it->daemon,
		.name = idp_arena_printf(a, "%s/%s", app->name, scoped(a, it, '/')),
		.data_dir = idp_arena_printf(a, "%s/%s", app_dir(a, t, app->name, "data"), scoped(a, it, '.')),
		.host = it->address,
		.port = default_port(it->daemon),
		.user = it->user,
		.password = password,
		.database = it->database,
	};
	if (it->daemon == IDP_DAEMON_KAFKA)
		return start_kafka(app, old, it, d, err);
	if (!it->address)
		d->problem = "no loopback address left in the application's /24";
	return 0;
}

static int write_secrets(idp_runtime_target *t, app_state *app, idp_err *err)
{
	idp_arena *a = app->arena;
	gen_ctx g = {t, app->name};
	const char *root = app_dir(a, t, app->name, "secrets");
	/* Written whole each time: a Secret or key that left git leaves no file. */
	struct stat st;
	if (lstat(root, &st) == 0 && nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot clear %s: %s", root, strerror(errno));
	int rc = make_dir(root, 0700, err);
	for (size_t i = 0; rc == 0 && i < app->plan.n; i++) {
		const idp_runtime_item *it = &app->plan.items[i];
		if (it->kind != IDP_LOCAL_SECRET)
			continue;
		idp_runtime_env env = {0};
		const char *dir = idp_arena_printf(a, "%s/%s", root, scoped(a, it, '.'));
		app->plan.scope = it->cluster;
		rc = idp_runtime_secret_values(a, &app->plan, app->objs, app->n_objs, it->namespace, it->name,
					       generate_value, &g, &env, err);
		app->plan.scope = NULL;
		if (rc == 0)
			rc = make_dir(dir, 0700, err);
		for (size_t k = 0; rc == 0 && k < env.n; k++) {
			if (strchr(env.keys[k], '/') || env.keys[k][0] == '.')
				continue; /* a key is no path */
			const char *path = idp_arena_printf(a, "%s/%s", dir, env.keys[k]);
			rc = write_private(path, env.values[k], strlen(env.values[k]), err);
			app->files = idp_arena_grow(a, app->files, app->n_files, &app->files_cap, sizeof(*app->files));
			app->files[app->n_files++] = (secret_file){it->object, env.keys[k], path, env.values[k]};
		}
	}
	return rc;
}

static int start_daemons(idp_runtime_target *t, app_state *app, idp_err *err)
{
	for (size_t i = 0; i < app->n_daemons; i++) {
		daemon_state *d = &app->daemons[i];
		if (d->running || d->problem)
			continue;
		report(t, app->name, d->item->object, "Progressing", d->item->reason);
		int rc = idp_runtime_daemon_start(t->sup, &d->spec, 120, err);
		if (rc) {
			report(t, app->name, d->item->object, "Degraded", err->msg);
			return rc;
		}
		d->running = true;
		report(t, app->name, d->item->object, "Healthy",
		       idp_arena_printf(app->arena, "%s:%d", d->spec.host, d->spec.port));
	}
	return 0;
}

/* keep_kafka: a pause keeps the in-process mock (its port is in the
 * workloads' environment; it holds no process of its own). */
static void stop_daemons(idp_runtime_target *t, app_state *app, bool keep_kafka)
{
	for (size_t i = app->n_daemons; i-- > 0;) {
		daemon_state *d = &app->daemons[i];
		if (d->kafka) {
			if (!keep_kafka) {
				idp_runtime_kafka_stop(d->kafka);
				d->kafka = NULL;
				d->running = false;
			}
		} else if (d->running) {
			idp_runtime_stop(t->sup, d->spec.name, 10000, NULL);
			d->running = false;
		}
	}
}

static void free_app(app_state *app)
{
	for (size_t i = 0; i < app->n_daemons; i++)
		idp_runtime_kafka_stop(app->daemons[i].kafka);
	for (size_t i = 0; i < app->n_procs; i++) {
		process *p = &app->procs[i];
		for (size_t k = 0; k < p->n_replicas; k++)
			free(p->replicas[k].proc_name);
		free(p->replicas);
		free(p->service);
		free(p->program);
		for (size_t k = 0; p->env && p->env[k]; k++)
			free(p->env[k]);
		free(p->env);
	}
	free(app->procs);
	free(app->daemons);
	idp_arena_free(app->arena);
	free(app->name);
	free(app);
}

/* A slot of its own for the application's addresses: its name's hash,
 * probing past the slots other applications hold. */
static unsigned pick_slot(const idp_runtime_target *t, const char *name)
{
	unsigned h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (unsigned k = 0; k < 256; k++) {
		unsigned slot = (h + k) % 256;
		bool taken = false;
		for (const app_state *s = t->apps; s && !taken; s = s->next)
			taken = s->slot == slot && strcmp(s->name, name) != 0;
		if (!taken)
			return slot;
	}
	return h % 256;
}

/* Whether a daemon of old runs the same thing as d (same kind, data, address
 * and credentials): then it is kept running across the apply. */
static bool same_daemon(const daemon_state *old, const daemon_state *d)
{
	const idp_runtime_daemon *x = &old->spec, *y = &d->spec;
	if (old->kafka || d->kafka)
		return false; /* taken over by start_kafka instead */
#define SAME(f) ((x->f == NULL && y->f == NULL) || (x->f && y->f && strcmp(x->f, y->f) == 0))
	return x->kind == y->kind && x->port == y->port && SAME(name) && SAME(data_dir) && SAME(host) && SAME(user) &&
	       SAME(password) && SAME(database);
#undef SAME
}

static unsigned pick_slot(const idp_runtime_target *t, const char *name);

/* What a topology placed in a cluster gets addresses of that cluster's
 * slot: the same Service in two scopes never shares an address. */
static void assign_cluster_addresses(idp_runtime_target *t, app_state *app)
{
	for (size_t i = 0; i < app->plan.n; i++) {
		idp_runtime_item *it = &app->plan.items[i];
		if (!it->cluster || !it->address || it->actual_port)
			continue;
		unsigned slot = pick_slot(t, idp_arena_printf(app->arena, "%s@%s", app->name, it->cluster)), next = 2;
		for (size_t k = 0; k < i; k++) /* the cluster's addresses so far, in plan order */
			if (app->plan.items[k].cluster && strcmp(app->plan.items[k].cluster, it->cluster) == 0 &&
			    app->plan.items[k].address)
				next++;
		it->address = next <= 254 ? idp_arena_printf(app->arena, "127.%u.%u.%u", t->net & 255, slot & 255, next) : NULL;
	}
}

static int build_app(idp_runtime_target *t, app_state *app, app_state *old, const char *base_dir, idp_err *err)
{
	idp_runtime_plan_objects(app->arena, app->objs, app->n_objs, &app->plan);
	/* Images the idp-local.yaml files under base_dir know run from them. */
	idp_runtime_local_runs runs;
	idp_runtime_local_runs_find(app->arena, base_dir, &runs); /* (templates with {{service}} are skipped) */
	idp_runtime_plan_local(app->arena, &app->plan, app->objs, app->n_objs, &runs);
	idp_runtime_assign_addresses_in(app->arena, &app->plan, t->net, app->slot);
	assign_cluster_addresses(t, app);
	size_t np = 0, nd = 0;
	for (size_t i = 0; i < app->plan.n; i++) {
		np += app->plan.items[i].kind == IDP_LOCAL_PROCESS;
		nd += app->plan.items[i].kind == IDP_LOCAL_DAEMON;
	}
	app->procs = idp_xcalloc(np ? np : 1, sizeof(*app->procs));
	app->daemons = idp_xcalloc(nd ? nd : 1, sizeof(*app->daemons));
	/* Daemons first: Kafka's address is known once its mock runs, and the
	 * processes' environment names it. */
	for (size_t i = 0; i < app->plan.n; i++) {
		idp_runtime_item *it = &app->plan.items[i];
		app->plan.scope = it->cluster; /* its names and Secrets are its cluster's */
		int rc = it->kind == IDP_LOCAL_DAEMON ? prepare_daemon(t, app, old, it, &app->daemons[app->n_daemons++], err) : 0;
		app->plan.scope = NULL;
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < app->plan.n; i++) {
		const idp_runtime_item *it = &app->plan.items[i];
		if (it->kind != IDP_LOCAL_PROCESS)
			continue;
		app_state *other = NULL;
		const char *svc = service_key(app->arena, it);
		if (find_process(t, svc, &other) && strcmp(other->name, app->name) != 0)
			return idp_err_set(err, IDP_EINPUT, "Knative Service %s belongs to application %s", svc, other->name);
		app->plan.scope = it->cluster;
		int rc = prepare_process(t, app, it, base_dir, &app->procs[app->n_procs++], err);
		app->plan.scope = NULL;
		if (rc)
			return rc;
	}
	return 0;
}

static bool strv_equal(char *const *x, char *const *y)
{
	size_t i = 0;
	for (; x && y && x[i] && y[i]; i++)
		if (strcmp(x[i], y[i]) != 0)
			return false;
	return (!x || !x[i]) && (!y || !y[i]);
}

/* Replicas of old's processes that app runs the same way (program,
 * environment, address) move to app instead of restarting. */
static void adopt_replicas(app_state *old, app_state *app)
{
	for (size_t i = 0; i < app->n_procs; i++) {
		process *p = &app->procs[i];
		for (size_t k = 0; k < old->n_procs; k++) {
			process *q = &old->procs[k];
			if (strcmp(p->service, q->service) != 0 || strcmp(p->program, q->program) != 0 || !p->host || !q->host ||
			    strcmp(p->host, q->host) != 0 || !strv_equal(p->env, q->env) || !strv_equal(p->args, q->args) ||
			    p->problem || (p->item->health_path == NULL) != (q->item->health_path == NULL))
				continue;
			free(p->replicas);
			p->replicas = q->replicas;
			p->n_replicas = q->n_replicas;
			p->cap = q->cap;
			p->next_id = q->next_id;
			q->replicas = NULL;
			q->n_replicas = q->cap = 0;
			break;
		}
	}
}

static void unlink_app(idp_runtime_target *t, app_state *app)
{
	for (app_state **p = &t->apps; *p; p = &(*p)->next)
		if (*p == app) {
			*p = app->next;
			return;
		}
}

int idp_runtime_target_apply(idp_runtime_target *t, const char *name, idp_arena *a, idp_doc_node *const *objs,
			     size_t n, const char *base_dir, idp_err *err)
{
	app_state *app = idp_xcalloc(1, sizeof(*app));
	app->name = idp_xstrdup(name);
	app->arena = a;
	app->objs = objs;
	app->n_objs = n;
	app->slot = pick_slot(t, name);
	idp_arena *tmp = idp_arena_new();
	int rc = make_dir(idp_arena_printf(tmp, "%s/apps", t->state_dir), 0711, err);
	if (rc == 0)
		rc = make_dir(app_dir(tmp, t, name, NULL), 0711, err);
	if (rc == 0)
		rc = make_dir(app_dir(tmp, t, name, "data"), 0711, err);
	if (rc == 0)
		rc = make_dir(app_dir(tmp, t, name, "logs"), 0700, err);
	idp_arena_free(tmp);
	app_state *old = find_app(t, name);
	if (rc == 0)
		rc = build_app(t, app, old, base_dir, err);
	if (rc == 0)
		rc = write_secrets(t, app, err);
	if (rc) {
		free_app(app);
		return rc;
	}
	/* What changed stops; a daemon that is the same keeps running (and its
	 * data), and so do the replicas of a process that is the same. */
	if (old) {
		adopt_replicas(old, app);
		stop_processes(t, old);
		for (size_t i = 0; i < old->n_daemons; i++) {
			daemon_state *d = &old->daemons[i];
			bool kept = false;
			for (size_t k = 0; k < app->n_daemons && d->running && !kept; k++)
				if (same_daemon(d, &app->daemons[k]))
					kept = app->daemons[k].running = true;
			if (d->running && !kept && !d->kafka)
				idp_runtime_stop(t->sup, d->spec.name, 10000, NULL);
			d->running = false; /* a mock not taken over stops with free_app */
		}
		app->paused = false;
		unlink_app(t, old);
		free_app(old);
	}
	app_state **tail = &t->apps;
	while (*tail)
		tail = &(*tail)->next;
	*tail = app;
	for (size_t i = 0; i < app->plan.n; i++) {
		const idp_runtime_item *it = &app->plan.items[i];
		if (it->kind == IDP_LOCAL_UNAVAILABLE)
			report(t, name, it->object, "Unavailable", it->reason);
	}
	rc = start_daemons(t, app, err);
	/* Knative's initial-scale 1: every revision starts one replica. */
	for (size_t i = 0; rc == 0 && i < app->n_procs; i++) {
		process *p = &app->procs[i];
		if (p->problem) {
			report(t, name, p->item->object, "Degraded", p->problem);
			continue;
		}
		if (p->n_replicas)
			continue; /* kept from the previous apply */
		rc = start_replica(t, app, p, err);
		report(t, name, p->item->object, rc ? "Degraded" : "Progressing", rc ? err->msg : "starting one replica");
	}
	return rc;
}

/* ---------------------------------------------------------------- lifecycle */

int idp_runtime_target_pause(idp_runtime_target *t, const char *name, idp_err *err)
{
	app_state *app = find_app(t, name);
	if (!app)
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s", name);
	app->paused = true;
	stop_processes(t, app);
	stop_daemons(t, app, true);
	return 0;
}

int idp_runtime_target_resume(idp_runtime_target *t, const char *name, idp_err *err)
{
	app_state *app = find_app(t, name);
	if (!app)
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s", name);
	app->paused = false;
	return start_daemons(t, app, err);
}

int idp_runtime_target_remove(idp_runtime_target *t, const char *name, bool purge, idp_err *err)
{
	app_state *app = find_app(t, name);
	if (app) {
		stop_processes(t, app);
		stop_daemons(t, app, false);
		unlink_app(t, app);
		free_app(app);
	}
	if (purge && strchr(name, '/') == NULL && strcmp(name, "..") != 0 && strcmp(name, ".") != 0) {
		idp_arena *a = idp_arena_new();
		const char *dir = app_dir(a, t, name, NULL);
		struct stat st;
		if (lstat(dir, &st) == 0 && nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			int rc = idp_err_set(err, IDP_ERUNTIME, "cannot remove %s: %s", dir, strerror(errno));
			idp_arena_free(a);
			return rc;
		}
		idp_arena_free(a);
	} else if (!app && !purge) {
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s", name);
	}
	return 0;
}

void idp_runtime_target_free(idp_runtime_target *t)
{
	if (!t)
		return;
	while (t->apps) {
		app_state *app = t->apps;
		stop_processes(t, app);
		stop_daemons(t, app, false);
		t->apps = app->next;
		free_app(app);
	}
	idp_runtime_supervisor_free(t->sup);
	free(t->state_dir);
	free(t);
}

void idp_runtime_target_tick(idp_runtime_target *t)
{
	idp_runtime_tick(t->sup);
	/* A replica that exited is restarted by the supervisor on the same
	 * port; meanwhile the gateway must not send it traffic. */
	for (app_state *app = t->apps; app; app = app->next)
		for (size_t i = 0; i < app->n_procs; i++) {
			process *p = &app->procs[i];
			for (size_t k = 0; k < p->n_replicas; k++) {
				replica *r = &p->replicas[k];
				idp_runtime_proc_status st;
				if (idp_runtime_status(t->sup, r->proc_name, &st) != 0)
					continue;
				bool down = st.state != IDP_RUNTIME_RUNNING;
				if (down && !r->told_gone && t->hooks.replica_gone) {
					t->hooks.replica_gone(t->hooks.ctx, p->service, p->host, r->port);
					r->told_gone = true;
				} else if (!down && r->told_gone && t->hooks.replica_starting) {
					t->hooks.replica_starting(t->hooks.ctx, p->service, p->host, r->port,
								  p->item->health_path);
					r->told_gone = false;
				}
			}
		}
}

/* ---------------------------------------------------------------- views */

size_t idp_runtime_target_apps(const idp_runtime_target *t, idp_arena *a, const char ***names)
{
	size_t n = 0, cap = 0;
	*names = NULL;
	for (const app_state *s = t->apps; s; s = s->next) {
		*names = idp_arena_grow(a, *names, n, &cap, sizeof(**names));
		(*names)[n++] = idp_arena_strdup(a, s->name);
	}
	return n;
}

int idp_runtime_target_paused(const idp_runtime_target *t, const char *name, bool *paused)
{
	const app_state *app = find_app(t, name);
	if (!app)
		return IDP_ENOTFOUND;
	*paused = app->paused;
	return 0;
}

size_t idp_runtime_target_running(const idp_runtime_target *t)
{
	size_t n = 0;
	for (const app_state *app = t->apps; app; app = app->next) {
		for (size_t i = 0; i < app->n_procs; i++)
			n += app->procs[i].n_replicas;
		for (size_t i = 0; i < app->n_daemons; i++)
			n += app->daemons[i].running;
	}
	return n;
}

static const char *local_word(idp_runtime_item_kind k)
{
	switch (k) {
	case IDP_LOCAL_DAEMON: return "daemon";
	case IDP_LOCAL_PROCESS: return "process";
	case IDP_LOCAL_SECRET: return "secret";
	case IDP_LOCAL_CONFIG: return "config";
	case IDP_LOCAL_NAMESPACE: return "namespace";
	case IDP_LOCAL_ROUTE: return "route";
	case IDP_LOCAL_UNAVAILABLE: break;
	}
	return "unavailable";
}

static void daemon_status(idp_runtime_target *t, const app_state *app, const daemon_state *d, idp_arena *a,
			  idp_runtime_object_status *o)
{
	o->address = d->spec.host;
	o->port = d->spec.port;
	if (d->problem) {
		o->health = "Degraded";
		o->message = d->problem;
	} else if (d->kafka) {
		o->health = "Healthy"; /* in this process: it answered a metadata request at start */
		o->message = idp_arena_printf(a, "%s on %s", d->item->reason, idp_runtime_kafka_bootstrap(d->kafka));
	} else if (app->paused) {
		o->health = "Suspended";
		o->message = "paused: data kept";
	} else if (!d->running) {
		o->health = "Progressing";
		o->message = "not started";
	} else {
		idp_runtime_proc_status st;
		bool up = idp_runtime_status(t->sup, d->spec.name, &st) == 0 && st.state == IDP_RUNTIME_RUNNING;
		o->health = up ? "Healthy" : "Degraded";
		o->message = up ? idp_arena_printf(a, "%s on %s:%d, pid %d", d->item->reason, d->spec.host, d->spec.port,
						   (int)st.pid)
				: idp_arena_printf(a, "exited (%d), restarting", st.last_exit);
	}
}

static void process_status(const app_state *app, const process *p, idp_arena *a, idp_runtime_object_status *o)
{
	o->address = p->host;
	o->port = -1;
	o->replicas = (int)p->n_replicas;
	if (p->problem) {
		o->health = "Degraded";
		o->message = p->problem;
	} else if (app->paused) {
		o->health = "Suspended";
		o->message = "paused";
	} else {
		o->health = "Healthy";
		o->message = p->n_replicas ? idp_arena_printf(a, "%zu replica(s) of %s", p->n_replicas, p->program)
					   : "scaled to zero: the gateway starts it on the next request";
	}
}

int idp_runtime_target_status(idp_runtime_target *t, const char *name, idp_arena *a, idp_runtime_object_status **out,
			      size_t *n, idp_err *err)
{
	const app_state *app = find_app(t, name);
	if (!app)
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s", name);
	*n = app->plan.n;
	*out = idp_arena_alloc(a, (app->plan.n ? app->plan.n : 1) * sizeof(**out));
	size_t di = 0, pi = 0;
	for (size_t i = 0; i < app->plan.n; i++) {
		const idp_runtime_item *it = &app->plan.items[i];
		idp_runtime_object_status *o = &(*out)[i];
		memset(o, 0, sizeof(*o));
		o->app = idp_arena_strdup(a, app->name);
		o->object = idp_arena_strdup(a, it->object);
		o->local = local_word(it->kind);
		o->health = it->kind == IDP_LOCAL_UNAVAILABLE ? "Unavailable" : app->paused ? "Suspended" : "Healthy";
		o->message = idp_arena_strdup(a, it->reason ? it->reason : "");
		o->port = -1;
		if (it->kind == IDP_LOCAL_DAEMON)
			daemon_status(t, app, &app->daemons[di++], a, o);
		else if (it->kind == IDP_LOCAL_PROCESS)
			process_status(app, &app->procs[pi++], a, o);
		o->message = idp_arena_strdup(a, o->message ? o->message : "");
		o->address = o->address ? idp_arena_strdup(a, o->address) : NULL;
	}
	return 0;
}

/* ---------------------------------------------------------------- live state */

/* Whether the file still holds what was written (a secret value is
 * compared, never returned). */
static bool file_holds(const char *path, const char *value)
{
	idp_buf b = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	bool same = idp_file_read(path, 1 << 20, &b, &err) == 0 && b.len == strlen(value) &&
		    memcmp(b.ptr ? b.ptr : "", value, b.len) == 0;
	idp_err_clear(&err);
	idp_buf_free(&b);
	return same;
}

static void set_ready(idp_arena *a, idp_doc_node *obj, const idp_runtime_object_status *st)
{
	const char *status = strcmp(st->health, "Healthy") == 0	    ? "True"
			     : strcmp(st->health, "Progressing") == 0 ? "Unknown"
								      : "False";
	idp_doc_node *cond = idp_doc_new_map(a);
	idp_doc_map_set(a, cond, "type", idp_doc_new_str(a, "Ready"));
	idp_doc_map_set(a, cond, "status", idp_doc_new_str(a, status));
	idp_doc_map_set(a, cond, "reason", idp_doc_new_str(a, idp_arena_printf(a, "Local%s", st->health)));
	idp_doc_map_set(a, cond, "message", idp_doc_new_str(a, st->message ? st->message : ""));
	idp_doc_node *conds = idp_doc_new_seq(a), *stat = idp_doc_new_map(a);
	idp_doc_seq_push(a, conds, cond);
	idp_doc_map_set(a, stat, "conditions", conds);
	/* A Deployment or StatefulSet run as a daemon: the replica counts its
	 * health is read from (Argo CD's, and the sync's), all or none. */
	const char *kind = idp_doc_map_get_str(obj, "kind");
	if (kind && (strcmp(kind, "Deployment") == 0 || strcmp(kind, "StatefulSet") == 0)) {
		const idp_doc_node *r = idp_doc_map_get(idp_doc_map_get(obj, "spec"), "replicas");
		int64_t want = r && r->kind == IDP_DOC_INT ? r->as.i : 1, have = strcmp(status, "True") == 0 ? want : 0;
		const idp_doc_node *gen = idp_doc_map_get(idp_doc_map_get(obj, "metadata"), "generation");
		idp_doc_map_set(a, stat, "observedGeneration",
				idp_doc_new_int(a, gen && gen->kind == IDP_DOC_INT ? gen->as.i : 0));
		static const char *const counts[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"};
		for (size_t k = 0; k < 4; k++)
			idp_doc_map_set(a, stat, counts[k], idp_doc_new_int(a, k == 0 ? want : have));
	}
	idp_doc_map_set(a, obj, "status", stat);
}

int idp_runtime_target_live(idp_runtime_target *t, const char *name, idp_arena *a, idp_doc_node ***objs,
			    idp_doc_node ***applied, idp_runtime_object_status **status, size_t *n, idp_err *err)
{
	*objs = NULL;
	if (applied)
		*applied = NULL;
	*n = 0;
	app_state *app = find_app(t, name);
	if (!app)
		return 0; /* nothing live */
	size_t ns;
	int rc = idp_runtime_target_status(t, name, a, status, &ns, err);
	if (rc)
		return rc;
	*objs = idp_arena_alloc(a, (app->n_objs + 1) * sizeof(**objs));
	if (applied)
		*applied = idp_arena_alloc(a, (app->n_objs + 1) * sizeof(**applied));
	for (size_t i = 0; i < app->n_objs; i++) {
		if (applied)
			(*applied)[i] = idp_doc_copy(a, app->objs[i]);
		idp_doc_node *o = idp_doc_copy(a, app->objs[i]);
		const idp_runtime_item *it = &app->plan.items[i];
		if (it->kind == IDP_LOCAL_DAEMON || it->kind == IDP_LOCAL_PROCESS)
			set_ready(a, o, &(*status)[i]);
		for (size_t k = 0; it->kind == IDP_LOCAL_SECRET && k < app->n_files; k++) {
			const secret_file *f = &app->files[k];
			if (strcmp(f->object, it->object) != 0 || file_holds(f->path, f->value))
				continue;
			/* Drift: the key reads differently from git's (a generated key
			 * is git's through the annotation that asks for it). */
			idp_doc_node *sd = idp_doc_map_get(o, "stringData");
			if (sd && sd->kind == IDP_DOC_MAP && idp_doc_map_get(sd, f->key)) {
				idp_doc_map_set(a, sd, f->key, idp_doc_new_str(a, "(changed on this machine)"));
				continue;
			}
			idp_doc_node *ann = idp_doc_map_get(idp_doc_map_get(o, "metadata"), "annotations");
			const char *gen = idp_doc_map_get_str(ann, "platform.example.org/generate");
			if (gen)
				idp_doc_map_set(a, ann, "platform.example.org/generate",
						idp_doc_new_str(a, idp_arena_printf(a, "%s (%s changed on this machine)", gen,
										    f->key)));
		}
		(*objs)[(*n)++] = o;
	}
	return 0;
}

/* ---------------------------------------------------------------- logs */

/* A component's logs: its own, its daemons' (NAME-redis) and its copies in
 * a topology's clusters (NAME@cluster). */
static bool log_wanted(const char *name, const char *component)
{
	size_t n = component ? strlen(component) : 0;
	return !component || strcmp(name, component) == 0 || (strncmp(name, component, n) == 0 && (name[n] == '-' || name[n] == '@'));
}

static void add_log(idp_arena *a, const char *name, const char *path, const char ***names, const char ***paths, size_t *n,
		    size_t *cap)
{
	size_t c = *cap;
	*names = idp_arena_grow(a, *names, *n, &c, sizeof(**names));
	*paths = idp_arena_grow(a, *paths, *n, cap, sizeof(**paths));
	(*names)[*n] = idp_arena_strdup(a, name);
	(*paths)[(*n)++] = path;
}

int idp_runtime_logs(idp_arena *a, const char *state_dir, const char *app, const char *component, const char ***names,
		     const char ***paths, size_t *n, idp_err *err)
{
	*names = NULL;
	*paths = NULL;
	*n = 0;
	size_t cap = 0;
	char **files;
	size_t nf;
	const char *logs = idp_arena_printf(a, "%s/apps/%s/logs", state_dir, app);
	const char *data = idp_arena_printf(a, "%s/apps/%s/data", state_dir, app);
	struct stat st;
	if (stat(logs, &st) != 0 && stat(data, &st) != 0)
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s in %s (nothing was run for it)", app, state_dir);
	if (idp_dir_list(logs, &files, &nf, NULL) == 0) {
		for (size_t i = 0; i < nf; i++) {
			size_t len = strlen(files[i]);
			if (len <= 4 || strcmp(files[i] + len - 4, ".log") != 0)
				continue;
			const char *name = idp_arena_strndup(a, files[i], len - 4);
			if (log_wanted(name, component))
				add_log(a, name, idp_arena_printf(a, "%s/%s", logs, files[i]), names, paths, n, &cap);
		}
		idp_dir_list_free(files, nf);
	}
	if (idp_dir_list(data, &files, &nf, NULL) == 0) {
		for (size_t i = 0; i < nf; i++) {
			const char *dot = strchr(files[i], '.'); /* NS.NAME */
			const char *name = dot ? dot + 1 : files[i];
			const char *path = idp_arena_printf(a, "%s/%s/daemon.log", data, files[i]);
			if (log_wanted(name, component) && stat(path, &st) == 0)
				add_log(a, name, path, names, paths, n, &cap);
		}
		idp_dir_list_free(files, nf);
	}
	if (*n == 0 && component)
		return idp_err_set(err, IDP_ENOTFOUND, "application %s has no component %s with a log", app, component);
	return 0;
}
