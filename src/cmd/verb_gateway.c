/* idp gateway: the gateway on its own, in front of services started by hand
 * (--replica) or by a command it runs on demand (--exec, scale to zero
 * included). The runtime embeds the same gateway; this verb is for trying
 * it, for benchmarks, and for fronting services that run elsewhere. */
#include "cmd/cmd.h"
#include "gateway/gateway.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

static const char gateway_usage[] =
	"usage: idp gateway -f OBJECTS [--listen HOST:PORT] [--domain D] [--replica SVC=HOST:PORT]...\n"
	"                   [--exec SVC=COMMAND]... [--tool NAME=URL]... [--api URL]\n"
	"                   [--stable-window S] [--grace S] [--hold-timeout S]\n"
	"\n"
	"Runs the gateway: routes requests by host and path to the Knative Services,\n"
	"VirtualServices and Gateways in OBJECTS, holds requests while a service scales\n"
	"up from zero, and scales with Knative's KPA semantics. SVC is NAMESPACE/NAME.\n"
	"\n"
	"  -f FILE|DIR         rendered objects (idp render output)\n"
	"  --listen HOST:PORT  where to listen (127.0.0.1:8080)\n"
	"  --domain D          Knative domain: NAME.NAMESPACE.D (localhost)\n"
	"  --replica SVC=H:P   a replica that is already running (never scaled)\n"
	"  --exec SVC=CMD      start CMD (sh -c) per replica with $PORT set; stopped when\n"
	"                      the service scales down, to zero after the idle window;\n"
	"                      ready when its readinessProbe path answers 2xx, else when\n"
	"                      its port accepts a connection (Knative's default)\n"
	"  --tool NAME=URL     upstream of /argocd, /grafana, /prometheus, /jaeger, /kiali\n"
	"  --api URL           upstream of /api and /slack\n"
	"  --stable-window S   autoscaler stable window in seconds (60)\n"
	"  --grace S           scale-to-zero grace period in seconds (30)\n"
	"  --hold-timeout S    how long a request waits for a replica (30)\n"
	"\n"
	"/metrics on the listen address serves Prometheus metrics. SIGINT/SIGTERM drain\n"
	"and stop.\n";

#define MAX_EXEC 64
#define MAX_PROCS 256

typedef struct exec_spec {
	char *service;
	char *command;
} exec_spec;

typedef struct launched {
	char *service;
	pid_t pid;
	int port;
} launched;

static struct {
	idp_gateway *g;
	exec_spec execs[MAX_EXEC];
	size_t n_execs;
	launched procs[MAX_PROCS];
	size_t n_procs;
} S;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sin;
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static const char *command_for(const char *service)
{
	for (size_t i = 0; i < S.n_execs; i++)
		if (strcmp(S.execs[i].service, service) == 0)
			return S.execs[i].command;
	return NULL;
}

static size_t running(const char *service)
{
	size_t n = 0;
	for (size_t i = 0; i < S.n_procs; i++)
		n += strcmp(S.procs[i].service, service) == 0;
	return n;
}

/* The scaler: a process per replica, started with $PORT and stopped with SIGTERM. */
static void exec_scale(void *ctx, const char *service, int32_t replicas)
{
	(void)ctx;
	const char *cmd = command_for(service);
	if (!cmd)
		return;
	while ((int32_t)running(service) < replicas && S.n_procs < MAX_PROCS) {
		int port = free_port();
		pid_t pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			char p[16];
			snprintf(p, sizeof p, "%d", port);
			setenv("PORT", p, 1);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		if (pid < 0)
			return;
		S.procs[S.n_procs++] = (launched){idp_xstrdup(service), pid, port};
		idp_gateway_replica_starting(S.g, service, "127.0.0.1", port, NULL);
	}
	while ((int32_t)running(service) > replicas) {
		for (size_t i = S.n_procs; i-- > 0;) {
			if (strcmp(S.procs[i].service, service) != 0)
				continue;
			launched l = S.procs[i];
			S.procs[i] = S.procs[--S.n_procs];
			idp_gateway_replica_gone(S.g, l.service, "127.0.0.1", l.port);
			kill(l.pid, SIGTERM);
			waitpid(l.pid, NULL, 0);
			free(l.service);
			break;
		}
	}
}

static int split_pair(const char *arg, char **key, char **value)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return -1;
	*key = idp_xstrndup(arg, (size_t)(eq - arg));
	*value = idp_xstrdup(eq + 1);
	return 0;
}

int idp_cmd_gateway(int argc, char **argv)
{
	enum { OPT_LISTEN = 1000, OPT_DOMAIN, OPT_REPLICA, OPT_EXEC, OPT_TOOL, OPT_API, OPT_WINDOW, OPT_GRACE, OPT_HOLD };
	static const struct option opts[] = {{"filename", required_argument, NULL, 'f'},
					     {"listen", required_argument, NULL, OPT_LISTEN},
					     {"domain", required_argument, NULL, OPT_DOMAIN},
					     {"replica", required_argument, NULL, OPT_REPLICA},
					     {"exec", required_argument, NULL, OPT_EXEC},
					     {"tool", required_argument, NULL, OPT_TOOL},
					     {"api", required_argument, NULL, OPT_API},
					     {"stable-window", required_argument, NULL, OPT_WINDOW},
					     {"grace", required_argument, NULL, OPT_GRACE},
					     {"hold-timeout", required_argument, NULL, OPT_HOLD},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	idp_gateway_config c;
	idp_gateway_config_defaults(&c);
	idp_err err = IDP_ERR_INIT;
	idp_arena *a = idp_arena_new();
	idp_cmd_inputs in = {0};
	char host[64] = "127.0.0.1";
	int port = 8080, rc = 0, ch;
	char *replicas[64];
	size_t n_replicas = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		char *key = NULL, *value = NULL;
		switch (ch) {
		case 'h': fputs(gateway_usage, stdout); idp_arena_free(a); return IDP_EXIT_OK;
		case 'f': rc = idp_cmd_inputs_add(&in, optarg, &err); break;
		case OPT_LISTEN:
			if (sscanf(optarg, "%63[^:]:%d", host, &port) != 2 || port < 0 || port > 65535)
				rc = idp_err_set(&err, IDP_EINPUT, "gateway: --listen wants HOST:PORT, got \"%s\"", optarg);
			break;
		case OPT_DOMAIN: c.domain = idp_arena_strdup(a, optarg); break;
		case OPT_REPLICA:
			if (n_replicas < 64)
				replicas[n_replicas++] = optarg;
			break;
		case OPT_EXEC:
			if (split_pair(optarg, &key, &value) != 0 || S.n_execs == MAX_EXEC)
				rc = idp_err_set(&err, IDP_EINPUT, "gateway: --exec wants NAMESPACE/NAME=COMMAND, got \"%s\"", optarg);
			else
				S.execs[S.n_execs++] = (exec_spec){key, value};
			break;
		case OPT_TOOL: {
			if (split_pair(optarg, &key, &value) != 0) {
				rc = idp_err_set(&err, IDP_EINPUT, "gateway: --tool wants NAME=URL, got \"%s\"", optarg);
				break;
			}
			int t = 0;
			for (; t < IDP_GATEWAY_TOOL_COUNT; t++)
				if (strcmp(idp_gateway_tool_name((idp_gateway_tool)t), key) == 0)
					break;
			if (t == IDP_GATEWAY_TOOL_COUNT)
				rc = idp_err_set(&err, IDP_EINPUT, "gateway: unknown tool \"%s\" (argocd, grafana, prometheus, jaeger, kiali)", key);
			else
				c.tools[t] = idp_arena_strdup(a, value);
			free(key);
			free(value);
			break;
		}
		case OPT_API: c.api = idp_arena_strdup(a, optarg); break;
		case OPT_WINDOW: c.kpa_defaults.stable_window_s = atof(optarg); break;
		case OPT_GRACE: c.kpa_defaults.scale_to_zero_grace_s = atof(optarg); break;
		case OPT_HOLD: c.hold_timeout_s = atof(optarg); break;
		default: rc = idp_err_set(&err, IDP_EINPUT, "gateway: bad usage (see idp gateway --help)");
		}
	}
	idp_doc_node **objs = NULL;
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < in.len; i++) {
		idp_doc_stream s;
		rc = idp_cmd_input_load(a, &in.items[i], &s, &err);
		if (rc == 0) {
			idp_doc_node **grown = idp_arena_alloc(a, (n + s.len + 1) * sizeof(*grown));
			if (n)
				memcpy(grown, objs, n * sizeof(*grown));
			memcpy(grown + n, s.docs, s.len * sizeof(*grown));
			objs = grown;
			n += s.len;
		}
	}
	idp_gateway_routes *routes = NULL;
	if (rc == 0)
		rc = idp_gateway_routes_build(&c, objs, n, &routes, &err);
	idp_gateway_scaler scaler = {NULL, exec_scale};
	if (rc == 0)
		rc = idp_gateway_new(&c, host, port, &scaler, &S.g, &err);
	if (rc != 0) {
		idp_cmd_print_err(&err);
		idp_err_clear(&err);
		idp_gateway_routes_free(routes);
		idp_cmd_inputs_free(&in);
		idp_arena_free(a);
		return idp_cmd_exit_code(rc);
	}
	idp_gateway_set_routes(S.g, routes);
	for (size_t i = 0; i < n_replicas; i++) {
		char svc[256], rhost[64];
		int rport;
		if (sscanf(replicas[i], "%255[^=]=%63[^:]:%d", svc, rhost, &rport) == 3)
			idp_gateway_replica_starting(S.g, svc, rhost, rport, NULL);
		else
			fprintf(stderr, "idp gateway: ignoring --replica %s (want NAMESPACE/NAME=HOST:PORT)\n", replicas[i]);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "idp gateway: listening on %s:%d\n", host, idp_gateway_port(S.g));
	while (!stop_requested)
		if (idp_gateway_run(S.g, 100) != 0)
			break;
	idp_gateway_free(S.g);
	for (size_t i = 0; i < S.n_procs; i++) {
		kill(S.procs[i].pid, SIGTERM);
		waitpid(S.procs[i].pid, NULL, 0);
		free(S.procs[i].service);
	}
	for (size_t i = 0; i < S.n_execs; i++) {
		free(S.execs[i].service);
		free(S.execs[i].command);
	}
	idp_cmd_inputs_free(&in);
	idp_arena_free(a);
	return IDP_EXIT_OK;
}
