/*
 * runtime: the local target (docs/RUNTIME.md). So far its supervisor: the
 * child processes the runtime runs (web services, redis, PostgreSQL, ...),
 * each in its own process group, logs appended to a file, restarted with
 * backoff when it exits and should not, stopped as a group.
 *
 * A child dies with the runtime (PR_SET_PDEATHSIG), so `kill -9` of idp
 * leaves no orphan behind; grandchildren are in the child's process group,
 * which stop() signals as a whole.
 *
 * Ownership: the supervisor copies what it is given; strings it returns
 * belong to it and live until the process they describe is removed.
 * One thread drives a supervisor.
 */
#ifndef IDP_RUNTIME_H
#define IDP_RUNTIME_H

#include <sys/types.h>

#include "doc/doc.h"

typedef struct idp_runtime_supervisor idp_runtime_supervisor;

typedef struct idp_runtime_proc_spec {
	const char *name;       /* unique within the supervisor ("shop/orders-1") */
	char *const *argv;      /* argv[0] looked up on PATH; NULL-terminated */
	char *const *env;       /* "KEY=value" added to the runtime's environment; NULL-terminated or NULL */
	const char *cwd;        /* NULL: the runtime's */
	const char *log_path;   /* stdout and stderr are appended here; NULL: /dev/null */
	bool restart;           /* start it again when it exits (with backoff) */
	bool as_user;           /* run as uid/gid (the runtime must be root) */
	uid_t uid;
	gid_t gid;
	int stop_signal;        /* what stop() sends first; 0: SIGTERM */
} idp_runtime_proc_spec;

typedef enum idp_runtime_state {
	IDP_RUNTIME_RUNNING,
	IDP_RUNTIME_BACKOFF, /* exited; starts again at next_start */
	IDP_RUNTIME_EXITED,  /* exited and not restarted */
	IDP_RUNTIME_STOPPED  /* stopped on request */
} idp_runtime_state;

typedef struct idp_runtime_proc_status {
	idp_runtime_state state;
	pid_t pid;              /* while running */
	unsigned restarts;      /* starts after the first */
	int last_exit;          /* exit status, or 128+signal; -1 before any exit */
	double next_start;      /* BACKOFF: when (monotonic seconds) */
} idp_runtime_proc_status;

/* Backoff after an exit: first seconds, doubling up to max seconds; an
 * uptime of reset seconds or more starts again from first. */
typedef struct idp_runtime_backoff {
	double first, max, reset;
} idp_runtime_backoff;

#define IDP_RUNTIME_BACKOFF_DEFAULT {0.1, 30.0, 10.0}

idp_runtime_supervisor *idp_runtime_supervisor_new(const idp_runtime_backoff *backoff);
/* Stops every process (as idp_runtime_stop) and frees the supervisor. */
void idp_runtime_supervisor_free(idp_runtime_supervisor *s);

/* Starts a process. Fails when the name is taken by a process not stopped
 * or exited, or when it cannot be started (the executable is missing:
 * IDP_EINPUT). */
int idp_runtime_start(idp_runtime_supervisor *s, const idp_runtime_proc_spec *spec, idp_err *err);

/* Stops the process and its group: SIGTERM, then SIGKILL after grace_ms.
 * Returns when they are gone. Unknown names are IDP_ENOTFOUND. */
int idp_runtime_stop(idp_runtime_supervisor *s, const char *name, int grace_ms, idp_err *err);

/* Removes a process that is not running (stopped, exited, or waiting in
 * backoff) from the supervisor, its environment copy included; a running
 * one is IDP_EINPUT, an unknown name IDP_ENOTFOUND. */
int idp_runtime_forget(idp_runtime_supervisor *s, const char *name);

/* Reaps processes that exited and starts again those whose backoff is over.
 * Call it often (the daemon's loop does, on SIGCHLD and a timer). */
void idp_runtime_tick(idp_runtime_supervisor *s);

/* IDP_ENOTFOUND for an unknown name. */
int idp_runtime_status(const idp_runtime_supervisor *s, const char *name, idp_runtime_proc_status *out);

/* ---------------------------------------------------------------- daemons */

typedef enum idp_runtime_daemon_kind {
	IDP_DAEMON_REDIS,     /* redis-server */
	IDP_DAEMON_MOSQUITTO, /* mosquitto (MQTT 3.1.1 / 5) */
	IDP_DAEMON_POSTGRESQL, /* postgres from /usr/lib/postgresql/<version>/bin */
	IDP_DAEMON_KAFKA      /* no process: idp_runtime_kafka, the mock cluster (the target's) */
} idp_runtime_daemon_kind;

/* A daemon of known software for one Service of an application. */
typedef struct idp_runtime_daemon {
	idp_runtime_daemon_kind kind;
	const char *name;     /* its name in the supervisor */
	const char *data_dir; /* created (0700); its config, data and log live here */
	const char *host;     /* the loopback address it listens on, e.g. 127.0.0.7 */
	int port;
	const char *user;     /* MQTT: the one user (NULL: anonymous, loopback only); PostgreSQL: the database's owner */
	const char *password; /* redis requirepass / the user's; NULL: none */
	const char *database; /* PostgreSQL: the database made for the user */
} idp_runtime_daemon;

/* Writes its configuration (0600), starts it under the supervisor
 * (restarted if it dies), and returns when it answers on its protocol, or
 * fails after timeout_s (it is stopped then) naming its log. */
int idp_runtime_daemon_start(idp_runtime_supervisor *s, const idp_runtime_daemon *d, double timeout_s, idp_err *err);
/* One readiness probe on the real protocol: redis AUTH + PING, MQTT
 * CONNECT -> CONNACK accepted, PostgreSQL `SELECT 1` as the user in its
 * database. */
bool idp_runtime_daemon_ready(const idp_runtime_daemon *d);

/* ---------------------------------------------------------------- Kafka */

/* A Kafka "broker" for one machine without one installed: librdkafka's mock
 * cluster (one broker on 127.0.0.1, a port of its choosing, topics made on
 * first use, no persistence), hosted in the runtime's process. */
typedef struct idp_runtime_kafka idp_runtime_kafka;

int idp_runtime_kafka_start(idp_runtime_kafka **out, idp_err *err);
/* "127.0.0.1:PORT" (borrowed), and the port. */
const char *idp_runtime_kafka_bootstrap(const idp_runtime_kafka *k);
int idp_runtime_kafka_port(const idp_runtime_kafka *k);
/* A metadata request as a client makes it answers with a broker. */
bool idp_runtime_kafka_ready(const idp_runtime_kafka *k);
void idp_runtime_kafka_stop(idp_runtime_kafka *k);

/* ---------------------------------------------------------------- LocalRun (idp-local.yaml) */

/* How to run a service's image without a container: a LocalRun document
 * (apiVersion platform.example.org/v1alpha1) in an idp-local.yaml, as the
 * GitOps scaffold writes one per service. It stands for every image whose
 * repository's last segment is its name (ghcr.io/acme/orders:1.2 ->
 * orders). Strings in the arena given. */
typedef struct idp_runtime_local_run {
	const char *name;        /* metadata.name, a DNS-1123 label */
	const char *dir;         /* the directory of its idp-local.yaml: build and command run there */
	char **command;          /* spec.command, NULL-terminated; ${VAR} is the replica's environment */
	char ***build;           /* spec.build: steps, each an argv (run when command[0] is missing) */
	size_t n_build;
	const char **env_keys, **env_values; /* spec.env */
	size_t n_env;
	const char *health_path; /* spec.readinessProbe.httpGet.path */
} idp_runtime_local_run;

typedef struct idp_runtime_local_runs {
	idp_runtime_local_run *items;
	size_t n, cap;
	const char **skipped;    /* "FILE: why" for files that are not usable LocalRuns */
	size_t n_skipped, skipped_cap;
} idp_runtime_local_runs;

/* The LocalRuns in idp-local.yaml files under dir (at most 4 levels down;
 * hidden, build* and node_modules directories are not entered). A file
 * that does not load, or a LocalRun without a valid name or command, is
 * skipped and listed in out->skipped; a name found twice keeps the first. */
void idp_runtime_local_runs_find(idp_arena *a, const char *dir, idp_runtime_local_runs *out);

/* ---------------------------------------------------------------- plan */

typedef enum idp_runtime_item_kind {
	IDP_LOCAL_DAEMON,     /* known software as a local daemon (a Helm release of redis, postgresql) */
	IDP_LOCAL_PROCESS,    /* a program behind the gateway (a Knative Service with image local:PATH) */
	IDP_LOCAL_SECRET,     /* files and environment; values to generate */
	IDP_LOCAL_CONFIG,     /* a ConfigMap: files and environment */
	IDP_LOCAL_NAMESPACE,  /* a scope of its own */
	IDP_LOCAL_ROUTE,      /* a Service or an Istio route: the gateway's */
	IDP_LOCAL_UNAVAILABLE /* no local form: reported, with the reason */
} idp_runtime_item_kind;

/* What one rendered object becomes (strings in the plan's arena). */
typedef struct idp_runtime_item {
	idp_runtime_item_kind kind;
	const char *object;         /* Kind/namespace/name, @cluster when in one */
	const char *namespace, *name;
	const char *cluster;        /* app.oam.dev/cluster (a topology's placement, e.g. a vcluster), NULL: local */
	const char *reason;         /* one line: what it becomes, or why it cannot run here */
	/* daemons */
	idp_runtime_daemon_kind daemon;
	const char *secret, *password_key; /* where its password is */
	const char *user, *database;       /* PostgreSQL */
	const char **hosts;                /* the names workloads reach it by (svc, svc.ns, ... .svc.cluster.local) */
	size_t n_hosts, hosts_cap;
	/* processes */
	const char *program, *health_path;
	const idp_runtime_local_run *local; /* run from a LocalRun (program NULL) */
	int port;
	const char **env_from;             /* Secrets whose keys become its environment */
	size_t n_env_from, env_from_cap;
	/* secrets */
	const char **generate;             /* keys whose values the runtime generates */
	size_t n_generate, generate_cap;
	/* daemons and processes: the loopback address (idp_runtime_assign_addresses) */
	const char *address;
	/* a daemon whose port is not the one declared (Kafka's mock: 9092 ->
	 * its own): "host:port" of its names is rewritten to it; 0: none */
	int service_port, actual_port;
} idp_runtime_item;

typedef struct idp_runtime_plan {
	idp_runtime_item *items;
	size_t n, cap;
	/* The cluster names are resolved in (host rewriting, Secret lookup): a
	 * workload of a vcluster sees that scope's Services and Secrets only.
	 * NULL: the local one. */
	const char *scope;
} idp_runtime_plan;

/* Maps rendered objects (render with --compose inline --unwrap-objects) to
 * local things, one item per object, in order. Never fails on an object it
 * does not know: that becomes IDP_LOCAL_UNAVAILABLE with a reason. */
int idp_runtime_plan_objects(idp_arena *a, idp_doc_node *const *objs, size_t n, idp_runtime_plan *out);

/* Knative Services of p that have no local form, whose image a LocalRun of
 * runs stands for, become processes run from it. */
void idp_runtime_plan_local(idp_arena *a, idp_runtime_plan *p, idp_doc_node *const *objs, size_t n,
			    const idp_runtime_local_runs *runs);

/* ---------------------------------------------------------------- addresses and environment */

/* Gives every daemon and process of p a loopback address of its own
 * (127.1.0.2, 127.1.0.3, ... in plan order: stable for the same objects);
 * a process is also reached by its own Service names. */
void idp_runtime_assign_addresses(idp_arena *a, idp_runtime_plan *p);
/* The same in 127.<net>.<slot>.2 .. .254 (a state directory's net, an
 * application's slot), so that runtimes and applications side by side never
 * share an address. Items beyond the 253rd get none (address NULL). */
void idp_runtime_assign_addresses_in(idp_arena *a, idp_runtime_plan *p, unsigned net, unsigned slot);

/* value with every whole host name of p's daemons and processes (svc,
 * svc.ns, svc.ns.svc, svc.ns.svc.cluster.local) replaced by its address:
 * "postgresql://u@db.default.svc.cluster.local:5432/x" ->
 * "postgresql://u@127.1.0.2:5432/x". */
const char *idp_runtime_rewrite_hosts(idp_arena *a, const idp_runtime_plan *p, const char *value);

/* The same for the value of environment key: a short name that is the
 * whole value is a host only when the key says so (*HOST*, *ADDR*, *URL*,
 * *SERVER*, *ENDPOINT*, *BROKER*, *URI*, *DSN*): DB_USER=counter stays. */
const char *idp_runtime_rewrite_env(idp_arena *a, const idp_runtime_plan *p, const char *key, const char *value);

/* Environment entries, in order; a later key replaces an earlier one. */
typedef struct idp_runtime_env {
	const char **keys, **values;
	size_t n, cap;
} idp_runtime_env;

/* Sets key (a later value replaces an earlier one, as Kubernetes' envFrom). */
void idp_runtime_env_put(idp_arena *a, idp_runtime_env *env, const char *key, const char *value);

/* The value of a generated secret key (made once and kept: the store's
 * idp_store_secret_generate), appended to out. */
typedef int (*idp_runtime_generate_fn)(void *ctx, const char *ns, const char *secret, const char *key, idp_buf *out,
				       idp_err *err);

/* Adds to out the keys of Secret ns/name among objs: its stringData (hosts
 * rewritten) and the keys of its platform.example.org/generate
 * annotation, whose values come from generate. */
int idp_runtime_secret_values(idp_arena *a, const idp_runtime_plan *p, idp_doc_node *const *objs, size_t n,
			      const char *ns, const char *name, idp_runtime_generate_fn generate, void *ctx,
			      idp_runtime_env *out, idp_err *err);

/* ---------------------------------------------------------------- the target */

/* The local target: what the sync engine (and, until it lands, `idp up`)
 * applies an application's rendered objects to. Daemons are started at
 * apply and kept running; processes (Knative Services) are started and
 * stopped by the gateway through idp_runtime_target_scale; Secrets become
 * files (0600) under the state directory and environment. Everything an
 * application owns lives in STATE/apps/APP/: data, secrets, logs. */
typedef struct idp_runtime_target idp_runtime_target;

typedef struct idp_runtime_hooks {
	void *ctx;
	/* A replica of service ("ns/name") listens at host:port and is probed on
	 * probe_path (NULL: the service's readinessProbe, else TCP). */
	void (*replica_starting)(void *ctx, const char *service, const char *host, int port, const char *probe_path);
	void (*replica_gone)(void *ctx, const char *service, const char *host, int port);
	/* More replicas of service cannot start now: why, one line. */
	void (*scale_refused)(void *ctx, const char *service, const char *reason);
	/* Generated secret values, kept (the store); ctx is the hooks' ctx. */
	int (*generate)(void *ctx, const char *app, const char *ns, const char *secret, const char *key, idp_buf *out,
			idp_err *err);
	/* Progress of apply/resume, one line per object (may be NULL). */
	void (*progress)(void *ctx, const char *app, const char *object, const char *health, const char *message);
} idp_runtime_hooks;

/* A target whose files live under state_dir (which must exist), whose
 * addresses are in 127.<net>.0.0/16. The hooks are copied. */
idp_runtime_target *idp_runtime_target_new(const char *state_dir, unsigned net, const idp_runtime_hooks *hooks);
/* Stops everything it runs and frees it (the data stays). */
void idp_runtime_target_free(idp_runtime_target *t);

/* Applies app's objects (from render --compose inline --unwrap-objects):
 * takes ownership of arena a, which holds them; relative local: programs
 * are found under base_dir. What left the application is stopped; daemons
 * are started and this returns when they answer (or fails naming the one
 * that did not); Secrets are written; each Knative Service is started once
 * (Knative's initial-scale 1) and left to the gateway. A service name
 * another application owns is IDP_EINPUT. */
int idp_runtime_target_apply(idp_runtime_target *t, const char *app, idp_arena *a, idp_doc_node *const *objs,
			     size_t n, const char *base_dir, idp_err *err);

/* The gateway's scaler: run replicas processes of service ("ns/name"). */
void idp_runtime_target_scale(idp_runtime_target *t, const char *service, int32_t replicas);

/* Every process and daemon of app stopped, data kept; resume starts the
 * daemons again (processes come back on demand). */
int idp_runtime_target_pause(idp_runtime_target *t, const char *app, idp_err *err);
int idp_runtime_target_resume(idp_runtime_target *t, const char *app, idp_err *err);
/* Stops app and forgets it; purge removes STATE/apps/APP too. */
int idp_runtime_target_remove(idp_runtime_target *t, const char *app, bool purge, idp_err *err);

/* Reaps, restarts, and tells the gateway about replicas that died. */
void idp_runtime_target_tick(idp_runtime_target *t);

typedef struct idp_runtime_object_status {
	const char *app, *object;  /* Kind/namespace/name */
	const char *local;         /* daemon, process, secret, config, namespace, route, unavailable */
	const char *health;        /* Healthy, Progressing, Degraded, Suspended, Unavailable */
	const char *message;       /* one line */
	const char *address;       /* daemons and processes */
	int port;                  /* daemons: the port; processes: -1 */
	int replicas;              /* processes: running now */
} idp_runtime_object_status;

/* The applications the target holds (names in a), in the order applied. */
size_t idp_runtime_target_apps(const idp_runtime_target *t, idp_arena *a, const char ***names);
/* Whether app is paused; IDP_ENOTFOUND when the target does not hold it. */
int idp_runtime_target_paused(const idp_runtime_target *t, const char *app, bool *paused);
/* One entry per object of app (strings in a); IDP_ENOTFOUND for an unknown app. */
int idp_runtime_target_status(idp_runtime_target *t, const char *app, idp_arena *a, idp_runtime_object_status **out,
			      size_t *n, idp_err *err);
/* What app's objects are live: the objects applied, in order, each with
 * its status here (one per object, as idp_runtime_target_status); daemons
 * and Knative Services carry a Ready condition from what runs; a Secret
 * whose files were changed or removed carries a changed value under the
 * key (a secret value is never returned). An app the target does not hold
 * has no live objects. */
/* applied (may be NULL): the same objects as they were applied, without
 * what the live view adds (to apply again what a sync does not change). */
int idp_runtime_target_live(idp_runtime_target *t, const char *app, idp_arena *a, idp_doc_node ***objs,
			    idp_doc_node ***applied, idp_runtime_object_status **status, size_t *n, idp_err *err);

/* The log files of app under state_dir, whether or not a daemon runs: its
 * Knative Services' (STATE/apps/APP/logs/NAME.log, every replica) and its
 * daemons' (STATE/apps/APP/data/NS.NAME/daemon.log), with their names
 * (NAME). component NULL: all; else those named component or
 * component-SOMETHING (counter-redis for counter). Processes first, then daemons. */
int idp_runtime_logs(idp_arena *a, const char *state_dir, const char *app, const char *component, const char ***names,
		     const char ***paths, size_t *n, idp_err *err);

/* The processes running now, all applications together (for `down` checks). */
size_t idp_runtime_target_running(const idp_runtime_target *t);

#endif
