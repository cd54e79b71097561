/* idp up, status, pause, resume, down, daemon: the local runtime's verbs.
 * Each one talks to the state directory's daemon (starting it for up). */
#include "cmd/cmd.h"
#include "api/api.h"
#include "daemon/daemon.h"
#include "runtime/runtime.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_APP "embedded:examples/counter-app.yaml"

static const char up_usage[] =
	"usage: idp up [-f APP.yaml|embedded:NAME] [--state DIR] [--listen HOST:PORT] [--domain D]\n"
	"              [--grace S] [--stable-window S]\n"
	"\n"
	"Runs an OAM Application on this machine: commits it to its GitOps repository\n"
	"(STATE/gitops/APP-gitops), renders it with its claims composed, starts its redis,\n"
	"PostgreSQL and MQTT as local daemons, and its Knative Services as processes behind\n"
	"the gateway, which scales them to zero when idle and starts them on the next\n"
	"request. Returns when every service answers its readiness probe and prints the URLs.\n"
	"The state directory's daemon is started when none runs (its options are the ones\n"
	"given then).\n"
	"\n"
	"  -f FILE             the Application (default " DEFAULT_APP ");\n"
	"                      local:PATH images are found relative to FILE's directory\n"
	"                      (the current directory for embedded files)\n"
	"  --state DIR         state directory ($IDP_STATE, else ~/.local/state/idp)\n"
	"  --listen HOST:PORT  the gateway's address (127.0.0.1:8080; port 0: any)\n"
	"  --domain D          Knative domain: SERVICE.NAMESPACE.D (localhost)\n"
	"  --grace S           scale-to-zero grace period (Knative's 30)\n"
	"  --stable-window S   autoscaler stable window (Knative's 60)\n";

static const char status_usage[] =
	"usage: idp status [APP] [--state DIR] [-o wide|json]\n"
	"\n"
	"What the local runtime runs: per application its revision, its URLs, and per\n"
	"object what it became here (daemon, process, secret, route, unavailable), its\n"
	"health and why.\n";

static const char pause_usage[] =
	"usage: idp pause [APP] [--state DIR]\n\nStops every process and daemon of APP (of all without APP); data is kept.\n";
static const char resume_usage[] =
	"usage: idp resume [APP] [--state DIR]\n\nStarts the daemons of a paused APP (of all) again; services start on demand.\n";
static const char down_usage[] =
	"usage: idp down [APP] [--purge] [--state DIR]\n"
	"\n"
	"Stops APP (every application, and then the daemon, without APP). --purge removes\n"
	"its data, secrets and GitOps repository from the state directory too.\n";
static const char sync_usage[] =
	"usage: idp sync APP [--dry-run] [--allow-mass-prune] [--state DIR]\n"
	"\n"
	"Syncs APP now, as Argo CD would: the objects at the head of its GitOps repository\n"
	"(an OAM change without its manifests is rendered and committed first) against what\n"
	"runs; applied wave by wave (argocd.argoproj.io/sync-wave), what left git pruned last.\n"
	"A sync that would prune more than half of the live objects stops unless\n"
	"--allow-mass-prune. The daemon also syncs by itself as soon as the repository's\n"
	"branch moves, and re-applies drift (self-heal).\n";
static const char diff_live_usage[] =
	"usage: idp diff APP [--state DIR]\n"
	"\n"
	"What a sync of APP would change: desired (the head of its GitOps repository) against\n"
	"live, per object (+ create, ~ update with the fields, - prune); secret values are never\n"
	"shown. With revisions (idp diff APP REV1 [REV2]) it compares two revisions instead.\n";

static const char logs_usage[] =
	"usage: idp logs APP [COMPONENT] [-f] [--state DIR]\n"
	"\n"
	"The output of APP's processes (every replica of a Knative Service) and of its\n"
	"daemons (redis, PostgreSQL ...), each line prefixed with its name; COMPONENT\n"
	"narrows it (counter: counter, counter-redis, ...). -f follows new lines.\n";
static const char get_usage[] =
	"usage: idp get apps|components|objects [APP] [-o wide|yaml|json] [--state DIR]\n"
	"\n"
	"Lists what the local runtime runs, as kubectl get does: applications (revision,\n"
	"health, objects), components (their objects and health), or objects.\n";
static const char describe_usage[] =
	"usage: idp describe APP [-o json|dot] [--state DIR]\n"
	"\n"
	"APP as a tree: application -> component -> object -> what runs it here (process,\n"
	"daemon, secret files, route), with health and the reason; -o dot for Graphviz.\n";

static const char daemon_usage[] =
	"usage: idp daemon [--state DIR] [--listen HOST:PORT] [--domain D] [--grace S] [--stable-window S]\n"
	"\n"
	"The state directory's daemon in the foreground (idp up starts it in the background):\n"
	"the runtime, the gateway, and the control socket STATE/idp.sock. SIGINT/SIGTERM\n"
	"stop it and everything it runs.\n";

static const char serve_usage[] =
	"usage: idp serve [--listen HOST:PORT] [--gateway HOST:PORT] [--state DIR] [--config FILE]\n"
	"                 [--domain D] [--grace S] [--stable-window S]\n"
	"\n"
	"The platform's server in the foreground: the daemon (runtime, gateway on --gateway,\n"
	"127.0.0.1:8080 by default, control socket) with its HTTP API on. The gateway forwards\n"
	"/api, /slack and /oam to the API; --listen adds a direct listener for it. GET\n"
	"/openapi.json describes every route, /docs shows them. Calls that change something\n"
	"need a token: idp token create NAME. Slack (/slack/command, /slack/events) needs\n"
	"SLACK_SIGNING_SECRET (or slack.signingSecret in --config, a YAML file of mode 600);\n"
	"progress of Slack's requests goes to SLACK_WEBHOOK_URL (slack.webhookUrl).\n"
	"SIGINT/SIGTERM stop it gracefully.\n";
static const char apply_usage[] =
	"usage: idp apply -f CLAIM.yaml [--state DIR] [--wait S]\n"
	"\n"
	"Runs the claim workflow for an ApplicationClaim in this process, printing each step:\n"
	"validate, container (the GitOps repository STATE/gitops/<appContainer>-gitops, made\n"
	"once), scaffold (the service's source in STATE/repos/<appContainer>, made once),\n"
	"update-oam (the component added if absent, rendered, committed), sync (the state\n"
	"directory's daemon runs it; started if none runs), wait (until the service is ready,\n"
	"--wait seconds at most, 300 by default), notify. A workflow stopped half-way (the\n"
	"process killed) is resumed by the next apply of the same claim; nothing is made twice.\n";
static const char token_usage[] =
	"usage: idp token create NAME | list | delete NAME [--state DIR]\n"
	"\n"
	"API bearer tokens. create prints the token once: only a hash of it is stored.\n";

typedef struct opts {
	const char *state, *file, *domain, *output, *app;
	char listen_host[256], gateway_host[256];
	int listen_port, gateway_port;
	const char *gateway_arg, *config;
	const char *listen_arg, *grace_arg, *window_arg;
	double grace, window, wait;
	bool purge, dry_run, allow_mass_prune, follow;
	const char *args[3]; /* the operands; app is args[0] */
	size_t n_args;
} opts;

enum { OPT_STATE = 256, OPT_LISTEN, OPT_DOMAIN, OPT_GRACE, OPT_WINDOW, OPT_PURGE, OPT_DRY, OPT_MASS, OPT_GATEWAY, OPT_WAIT, OPT_CONFIG };

static int bad(const char *verb, const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "idp %s: ", verb);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return IDP_EXIT_INPUT;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return false;
	*out = v;
	return true;
}

static bool parse_listen(const char *s, char host[256], int *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= 256)
		return false;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return false;
	snprintf(host, 256, "%.*s", (int)(colon - s), s);
	*port = (int)p;
	return true;
}

/* Flags shared by the verbs; returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, const char *usage, const char *shortopts, opts *o)
{
	static const struct option longopts[] = {{"state", required_argument, NULL, OPT_STATE},
						 {"listen", required_argument, NULL, OPT_LISTEN},
						 {"gateway", required_argument, NULL, OPT_GATEWAY},
						 {"wait", required_argument, NULL, OPT_WAIT},
						 {"config", required_argument, NULL, OPT_CONFIG},
						 {"domain", required_argument, NULL, OPT_DOMAIN},
						 {"grace", required_argument, NULL, OPT_GRACE},
						 {"stable-window", required_argument, NULL, OPT_WINDOW},
						 {"purge", no_argument, NULL, OPT_PURGE},
						 {"dry-run", no_argument, NULL, OPT_DRY},
						 {"allow-mass-prune", no_argument, NULL, OPT_MASS},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	snprintf(o->listen_host, sizeof o->listen_host, "127.0.0.1");
	o->listen_port = 8080;
	snprintf(o->gateway_host, sizeof o->gateway_host, "127.0.0.1");
	o->gateway_port = 8080;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (optarg)
				o->file = optarg;
			else
				o->follow = true; /* idp logs -f */
			break;
		case 'o': o->output = optarg; break;
		case OPT_STATE: o->state = optarg; break;
		case OPT_DOMAIN: o->domain = optarg; break;
		case OPT_PURGE: o->purge = true; break;
		case OPT_DRY: o->dry_run = true; break;
		case OPT_MASS: o->allow_mass_prune = true; break;
		case OPT_LISTEN:
			o->listen_arg = optarg;
			if (!parse_listen(optarg, o->listen_host, &o->listen_port))
				return bad(argv[0], usage, "--listen %s: want HOST:PORT", optarg);
			break;
		case OPT_GATEWAY:
			o->gateway_arg = optarg;
			if (strcmp(argv[0], "serve") != 0)
				return bad(argv[0], usage, "unknown option %s", "--gateway");
			if (!parse_listen(optarg, o->gateway_host, &o->gateway_port))
				return bad(argv[0], usage, "--gateway %s: want HOST:PORT", optarg);
			break;
		case OPT_CONFIG:
			if (strcmp(argv[0], "serve") != 0)
				return bad(argv[0], usage, "unknown option %s", "--config");
			o->config = optarg;
			break;
		case OPT_WAIT:
			if (strcmp(argv[0], "apply") != 0)
				return bad(argv[0], usage, "unknown option %s", "--wait");
			if (!parse_seconds(optarg, &o->wait))
				return bad(argv[0], usage, "--wait %s: want seconds (> 0)", optarg);
			break;
		case OPT_GRACE:
			o->grace_arg = optarg;
			if (!parse_seconds(optarg, &o->grace))
				return bad(argv[0], usage, "--grace %s: want seconds (> 0)", optarg);
			break;
		case OPT_WINDOW:
			o->window_arg = optarg;
			if (!parse_seconds(optarg, &o->window))
				return bad(argv[0], usage, "--stable-window %s: want seconds (> 0)", optarg);
			break;
		case 'h': fputs(usage, stdout); return IDP_EXIT_OK;
		default:
			return bad(argv[0], usage, "unknown or incomplete option %s", argv[optind - 1]);
		}
	}
	size_t max_args = strcmp(argv[0], "logs") == 0 || strcmp(argv[0], "get") == 0 || strcmp(argv[0], "token") == 0 ? 2 : 1;
	while (optind < argc && o->n_args < max_args)
		o->args[o->n_args++] = argv[optind++];
	if (optind < argc)
		return bad(argv[0], usage, "unexpected argument \"%s\"", argv[optind]);
	for (size_t i = 0; i < o->n_args; i++)
		if (idp_name_check_dns1123_label(o->args[i]))
			return bad(argv[0], usage, "\"%s\" is no application or component name (a DNS-1123 label)",
				   o->args[i]);
	o->app = o->n_args ? o->args[0] : NULL;
	if (o->output && strcmp(o->output, "wide") != 0 && strcmp(o->output, "json") != 0 &&
	    !(strcmp(o->output, "dot") == 0 && strcmp(argv[0], "describe") == 0) &&
	    !(strcmp(o->output, "yaml") == 0 && strcmp(argv[0], "get") == 0))
		return bad(argv[0], usage, "-o %s: not an output of this command (see its usage)", o->output);
	return -1;
}

/* The state directory, absolute (the daemon runs from /), made with its parents. */
static int state_dir(idp_arena *a, opts *o, idp_err *err)
{
	const char *dir = o->state ? o->state : idp_store_default_dir(a);
	if (!dir || !*dir)
		return idp_err_set(err, IDP_EINPUT, "no state directory: set --state, $IDP_STATE or $HOME");
	char *copy = idp_arena_strdup(a, dir);
	for (char *p = copy + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(copy, 0700) != 0 && errno != EEXIST)
				return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", copy, strerror(errno));
			*p = '/';
		}
	if (mkdir(copy, 0700) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", copy, strerror(errno));
	char real[PATH_MAX];
	if (!realpath(copy, real))
		return idp_err_set(err, IDP_ERUNTIME, "%s: %s", copy, strerror(errno));
	o->state = idp_arena_strdup(a, real);
	return 0;
}

static void print_event(void *ctx, const idp_doc_node *ev)
{
	(void)ctx;
	const char *obj = idp_doc_map_get_str(ev, "object"), *health = idp_doc_map_get_str(ev, "health");
	const char *msg = idp_doc_map_get_str(ev, "message");
	printf("  %-48s %-12s %s\n", obj ? obj : "?", health ? health : "?", msg ? msg : "");
	fflush(stdout);
}

static int fail(const idp_err *err, int rc)
{
	idp_cmd_print_err(err);
	return idp_cmd_exit_code(rc);
}

/* The daemon's argv: this program, `daemon`, the options given. */
static char **daemon_argv(idp_arena *a, const opts *o)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	char **v = idp_arena_alloc(a, 16 * sizeof(*v));
	size_t k = 0;
	v[k++] = idp_arena_strdup(a, self);
	v[k++] = "daemon";
	v[k++] = "--state";
	v[k++] = (char *)o->state;
	v[k++] = "--listen";
	v[k++] = idp_arena_printf(a, "%s:%d", o->listen_host, o->listen_port);
	if (o->domain) {
		v[k++] = "--domain";
		v[k++] = (char *)o->domain;
	}
	if (o->grace_arg) {
		v[k++] = "--grace";
		v[k++] = (char *)o->grace_arg;
	}
	if (o->window_arg) {
		v[k++] = "--stable-window";
		v[k++] = (char *)o->window_arg;
	}
	v[k] = NULL;
	return v;
}

/* The Application's text, its name for messages, and where its programs are. */
static int read_app(idp_arena *a, const char *arg, const char **text, const char **base, idp_err *err)
{
	idp_cmd_inputs in = {0};
	int rc = idp_cmd_inputs_add(&in, arg, err);
	if (rc == 0 && in.len != 1)
		rc = idp_err_set(err, IDP_EINPUT, "%s: want one Application file, found %zu files", arg, in.len);
	char dir[PATH_MAX];
	if (rc == 0 && in.items[0].data) {
		*text = idp_arena_strndup(a, in.items[0].data, in.items[0].len);
		if (!getcwd(dir, sizeof dir))
			rc = idp_err_set(err, IDP_ERUNTIME, "getcwd: %s", strerror(errno));
	} else if (rc == 0) {
		idp_buf b = IDP_BUF_INIT;
		rc = idp_file_read(in.items[0].name, 1 << 22, &b, err);
		*text = idp_arena_strndup(a, b.ptr ? b.ptr : "", b.len);
		idp_buf_free(&b);
		char real[PATH_MAX];
		if (rc == 0 && !realpath(in.items[0].name, real))
			rc = idp_err_set(err, IDP_ERUNTIME, "%s: %s", in.items[0].name, strerror(errno));
		if (rc == 0) {
			char *slash = strrchr(real, '/');
			*slash = 0;
			snprintf(dir, sizeof dir, "%s", *real ? real : "/");
		}
	}
	if (rc == 0)
		*base = idp_arena_strdup(a, dir);
	idp_cmd_inputs_free(&in);
	return rc;
}

int idp_cmd_up(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, up_usage, "f:h", &o);
	if (ex >= 0)
		return ex;
	if (o.app)
		return bad(argv[0], up_usage, "unexpected argument \"%s\" (the Application comes with -f)", o.app);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	const char *file = o.file ? o.file : DEFAULT_APP, *text = NULL, *base = NULL;
	int rc = read_app(a, file, &text, &base, &err);
	if (rc == 0)
		rc = state_dir(a, &o, &err);
	if (rc == 0)
		rc = idp_daemon_spawn(o.state, daemon_argv(a, &o), 30, &err);
	idp_doc_node *req = idp_doc_new_map(a), *reply = NULL;
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "up"));
	idp_doc_map_set(a, req, "file", idp_doc_new_str(a, file));
	idp_doc_map_set(a, req, "text", idp_doc_new_str(a, text ? text : ""));
	idp_doc_map_set(a, req, "base_dir", idp_doc_new_str(a, base ? base : "/"));
	if (rc == 0) {
		printf("idp up %s (state %s)\n", file, o.state);
		rc = idp_daemon_call(o.state, a, req, print_event, NULL, &reply, &err);
	}
	if (rc == 0) {
		const char *app = idp_doc_map_get_str(reply, "app"), *rev = idp_doc_map_get_str(reply, "revision");
		printf("%s is ready (revision %.7s)\n", app ? app : "?", rev ? rev : "?");
		const idp_doc_node *urls = idp_doc_map_get(reply, "urls");
		for (size_t i = 0; urls && urls->kind == IDP_DOC_SEQ && i < urls->as.seq.len; i++)
			if (urls->as.seq.items[i]->kind == IDP_DOC_STR)
				printf("  %s\n", urls->as.seq.items[i]->as.str.ptr);
	}
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

/* ---------------------------------------------------------------- status */

static const char *str_or(const idp_doc_node *m, const char *key, const char *dflt)
{
	const char *s = idp_doc_map_get_str(m, key);
	return s ? s : dflt;
}

/* A health word padded to width, coloured as kubectl-like tools do when
 * standard output is a terminal (and NO_COLOR is not set). */
static const char *paint(const char *health, int width)
{
	static char slots[4][96];
	static int next;
	char *out = slots[next++ % 4];
	static int colour = -1;
	if (colour < 0)
		colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	const char *code = !colour					  ? NULL
			   : strcmp(health, "Healthy") == 0		  ? "32"
			   : strcmp(health, "Progressing") == 0	  ? "33"
			   : strcmp(health, "Degraded") == 0 || strcmp(health, "Missing") == 0 ? "31"
										   : "2";
	int pad = width - (int)strlen(health);
	if (code)
		snprintf(out, sizeof slots[0], "\x1b[%sm%s\x1b[0m%*s", code, health, pad > 0 ? pad : 0, "");
	else
		snprintf(out, sizeof slots[0], "%s%*s", health, pad > 0 ? pad : 0, "");
	return out;
}

static void print_status(const idp_doc_node *reply, bool wide)
{
	const idp_doc_node *apps = idp_doc_map_get(reply, "apps");
	printf("gateway %s\n", str_or(reply, "gateway", "?"));
	if (!apps || apps->kind != IDP_DOC_SEQ || apps->as.seq.len == 0) {
		printf("no applications\n");
		return;
	}
	/* kubectl's layout: columns as wide as their widest cell. */
	size_t w_obj = strlen("OBJECT"), w_local = strlen("LOCAL"), w_health = strlen("HEALTH");
	for (size_t i = 0; i < apps->as.seq.len; i++) {
		const idp_doc_node *objs = idp_doc_map_get(apps->as.seq.items[i], "objects");
		for (size_t k = 0; objs && objs->kind == IDP_DOC_SEQ && k < objs->as.seq.len; k++) {
			const idp_doc_node *ob = objs->as.seq.items[k];
			size_t l;
			if ((l = strlen(str_or(ob, "object", ""))) > w_obj)
				w_obj = l;
			if ((l = strlen(str_or(ob, "local", ""))) > w_local)
				w_local = l;
			if ((l = strlen(str_or(ob, "health", ""))) > w_health)
				w_health = l;
		}
	}
	for (size_t i = 0; i < apps->as.seq.len; i++) {
		const idp_doc_node *app = apps->as.seq.items[i];
		const idp_doc_node *paused = idp_doc_map_get(app, "paused");
		printf("\nAPP %s  revision %.7s%s\n", str_or(app, "name", "?"), str_or(app, "revision", "-"),
		       paused && paused->kind == IDP_DOC_BOOL && paused->as.b ? "  (paused)" : "");
		const idp_doc_node *urls = idp_doc_map_get(app, "urls");
		for (size_t k = 0; urls && urls->kind == IDP_DOC_SEQ && k < urls->as.seq.len; k++)
			if (urls->as.seq.items[k]->kind == IDP_DOC_STR)
				printf("  %s\n", urls->as.seq.items[k]->as.str.ptr);
		printf("%-*s   %-*s   %-*s   %-8s   %s\n", (int)w_obj, "OBJECT", (int)w_local, "LOCAL", (int)w_health, "HEALTH",
		       "REPLICAS", wide ? "MESSAGE" : "ADDRESS");
		const idp_doc_node *objs = idp_doc_map_get(app, "objects");
		for (size_t k = 0; objs && objs->kind == IDP_DOC_SEQ && k < objs->as.seq.len; k++) {
			const idp_doc_node *ob = objs->as.seq.items[k];
			const idp_doc_node *rep = idp_doc_map_get(ob, "replicas"), *port = idp_doc_map_get(ob, "port");
			char replicas[16] = "-", addr[80] = "-";
			if (rep && rep->kind == IDP_DOC_INT)
				snprintf(replicas, sizeof replicas, "%lld", (long long)rep->as.i);
			if (idp_doc_map_get_str(ob, "address"))
				snprintf(addr, sizeof addr, "%s%s%lld", idp_doc_map_get_str(ob, "address"), port ? ":" : "",
					 port && port->kind == IDP_DOC_INT ? (long long)port->as.i : 0LL);
			if (!port && strcmp(addr, "-") != 0)
				snprintf(addr, sizeof addr, "%s", idp_doc_map_get_str(ob, "address"));
			printf("%-*s   %-*s   %s   %-8s   %s\n", (int)w_obj, str_or(ob, "object", "?"), (int)w_local,
			       str_or(ob, "local", "?"), paint(str_or(ob, "health", "?"), (int)w_health), replicas,
			       wide ? str_or(ob, "message", "") : addr);
		}
	}
}

/* A verb that sends {"op": op, "app": APP?, "purge": ...} to a running daemon. */
static int simple_verb(int argc, char **argv, const char *usage, const char *shortopts, const char *op)
{
	opts o;
	int ex = parse(argc, argv, usage, shortopts, &o);
	if (ex >= 0)
		return ex;
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	int rc = state_dir(a, &o, &err);
	idp_doc_node *req = idp_doc_new_map(a), *reply = NULL;
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, op));
	if (o.app)
		idp_doc_map_set(a, req, "app", idp_doc_new_str(a, o.app));
	if (o.purge)
		idp_doc_map_set(a, req, "purge", idp_doc_new_bool(a, true));
	if (o.dry_run)
		idp_doc_map_set(a, req, "dry_run", idp_doc_new_bool(a, true));
	if (o.allow_mass_prune)
		idp_doc_map_set(a, req, "allow_mass_prune", idp_doc_new_bool(a, true));
	if ((strcmp(op, "sync") == 0 || strcmp(op, "diff") == 0) && !o.app) {
		idp_arena_free(a);
		return bad(argv[0], usage, "%s", "which application? (APP)");
	}
	if (rc == 0 && strcmp(op, "down") == 0 && !idp_daemon_running(o.state)) {
		/* Nothing runs; the record says down (and purge removes the files),
		 * so that the next daemon does not bring the application back. */
		const char **done;
		size_t n = 0;
		struct stat st;
		char db[PATH_MAX];
		snprintf(db, sizeof db, "%s/state.db", o.state);
		if (stat(db, &st) == 0)
			rc = idp_daemon_forget(o.state, o.app, o.purge, a, &done, &n, &err);
		printf("no idp daemon runs for %s: nothing to stop", o.state);
		for (size_t i = 0; rc == 0 && i < n; i++)
			printf("%s%s", i ? ", " : "; recorded as down: ", done[i]);
		printf("%s\n", n && o.purge ? " (and purged)" : "");
	} else if (rc == 0) {
		rc = idp_daemon_call(o.state, a, req, print_event, NULL, &reply, &err);
		if (rc == 0 && strcmp(op, "down") == 0 && !o.app)
			rc = idp_daemon_wait_gone(o.state, 60, &err);
		if (rc == 0 && (strcmp(op, "sync") == 0 || strcmp(op, "diff") == 0)) {
			const char *plan = idp_doc_map_get_str(reply, "plan");
			fputs(plan ? plan : "", stdout);
			printf("%s: %s%s%s\n", o.app, str_or(reply, "status", "?"), *str_or(reply, "message", "") ? ": " : "",
			       str_or(reply, "message", ""));
		}
		if (rc == 0 && strcmp(op, "status") == 0) {
			if (o.output && strcmp(o.output, "json") == 0) {
				idp_buf b = IDP_BUF_INIT;
				if (idp_doc_emit_json(reply, IDP_DOC_JSON_PRETTY, &b, &err) == 0)
					fwrite(b.ptr, 1, b.len, stdout);
				idp_buf_free(&b);
			} else {
				print_status(reply, o.output != NULL);
			}
		}
	}
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

int idp_cmd_status(int argc, char **argv)
{
	return simple_verb(argc, argv, status_usage, "o:h", "status");
}

int idp_cmd_pause(int argc, char **argv)
{
	return simple_verb(argc, argv, pause_usage, "h", "pause");
}

int idp_cmd_resume(int argc, char **argv)
{
	return simple_verb(argc, argv, resume_usage, "h", "resume");
}

int idp_cmd_down(int argc, char **argv)
{
	return simple_verb(argc, argv, down_usage, "h", "down");
}

int idp_cmd_sync(int argc, char **argv)
{
	return simple_verb(argc, argv, sync_usage, "h", "sync");
}

int idp_cmd_diff_live(int argc, char **argv)
{
	return simple_verb(argc, argv, diff_live_usage, "h", "diff");
}

/* ---------------------------------------------------------------- logs */

static long print_from(const char *name, const char *path, long from, int width)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return from;
	if (fseek(f, from, SEEK_SET) != 0)
		fseek(f, 0, SEEK_SET);
	char line[8192];
	long at = ftell(f);
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		if (len && line[len - 1] != '\n' && !feof(f)) {
			printf("[%-*s] %s", width, name, line); /* a very long line, in pieces */
		} else if (len && line[len - 1] != '\n') {
			break; /* a line still being written: the next round prints it whole */
		} else {
			printf("[%-*s] %s", width, name, line);
		}
		at = ftell(f);
	}
	fclose(f);
	fflush(stdout);
	return at;
}

int idp_cmd_logs(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, logs_usage, "fh", &o);
	if (ex >= 0)
		return ex;
	if (!o.app)
		return bad(argv[0], logs_usage, "%s", "which application? (APP)");
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	const char **names = NULL, **paths = NULL;
	size_t n = 0;
	int rc = state_dir(a, &o, &err);
	if (rc == 0)
		rc = idp_runtime_logs(a, o.state, o.app, o.n_args > 1 ? o.args[1] : NULL, &names, &paths, &n, &err);
	int width = 0;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(names[i]) > width)
			width = (int)strlen(names[i]);
	long *at = idp_arena_alloc(a, (n + 1) * sizeof(*at));
	for (size_t i = 0; rc == 0 && i < n; i++)
		at[i] = print_from(names[i], paths[i], 0, width);
	while (rc == 0 && o.follow) { /* until interrupted, as tail -f */
		usleep(200000);
		for (size_t i = 0; i < n; i++)
			at[i] = print_from(names[i], paths[i], at[i], width);
	}
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

/* ---------------------------------------------------------------- get, describe */

/* The status reply of the daemon for app (NULL: all). */
static int status_reply(idp_arena *a, opts *o, const char *app, idp_doc_node **reply, idp_err *err)
{
	int rc = state_dir(a, o, err);
	idp_doc_node *req = idp_doc_new_map(a);
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "status"));
	if (app)
		idp_doc_map_set(a, req, "app", idp_doc_new_str(a, app));
	if (rc == 0)
		rc = idp_daemon_call(o->state, a, req, NULL, NULL, reply, err);
	return rc;
}

static size_t seq_len(const idp_doc_node *n)
{
	return n && n->kind == IDP_DOC_SEQ ? n->as.seq.len : 0;
}

static const idp_doc_node *seq_at(const idp_doc_node *n, size_t i)
{
	return n->as.seq.items[i];
}

/* The worst health among an app's (or a component's) objects, Argo CD's
 * order; Unavailable (what cannot run here) does not make an app worse. */
static const char *worst(const idp_doc_node *objs, const char *component)
{
	static const char *const order[] = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded"};
	int w = 0;
	for (size_t i = 0; i < seq_len(objs); i++) {
		const idp_doc_node *ob = seq_at(objs, i);
		if (component && strcmp(str_or(ob, "component", "(composed)"), component) != 0)
			continue;
		const char *h = str_or(ob, "health", "Healthy");
		for (int k = 0; k < 5; k++)
			if (strcmp(h, order[k]) == 0 && k > w)
				w = k;
	}
	return order[w];
}

/* The components of an app, in the order their objects come. */
static size_t components_of(idp_arena *a, const idp_doc_node *objs, const char ***out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	for (size_t i = 0; i < seq_len(objs); i++) {
		const char *c = str_or(seq_at(objs, i), "component", "(composed)");
		size_t k = 0;
		while (k < n && strcmp((*out)[k], c) != 0)
			k++;
		if (k == n) {
			*out = idp_arena_grow(a, *out, n, &cap, sizeof(**out));
			(*out)[n++] = c;
		}
	}
	return n;
}

static void print_get(idp_arena *a, const idp_doc_node *reply, const char *what, bool wide)
{
	const idp_doc_node *apps = idp_doc_map_get(reply, "apps");
	if (strcmp(what, "apps") == 0) {
		printf("%-24s %-9s %-12s %-8s %s\n", "NAME", "REVISION", "HEALTH", "OBJECTS", "URL");
		for (size_t i = 0; i < seq_len(apps); i++) {
			const idp_doc_node *app = seq_at(apps, i), *objs = idp_doc_map_get(app, "objects");
			const idp_doc_node *urls = idp_doc_map_get(app, "urls"), *paused = idp_doc_map_get(app, "paused");
			bool p = paused && paused->kind == IDP_DOC_BOOL && paused->as.b;
			printf("%-24s %-9.7s %s %-8zu %s\n", str_or(app, "name", "?"), str_or(app, "revision", "-"),
			       paint(p ? "Suspended" : worst(objs, NULL), 12), seq_len(objs),
			       seq_len(urls) && seq_at(urls, 0)->kind == IDP_DOC_STR ? seq_at(urls, 0)->as.str.ptr : "-");
		}
		return;
	}
	if (strcmp(what, "components") == 0) {
		printf("%-24s %-32s %-12s %s\n", "APP", "COMPONENT", "HEALTH", "OBJECTS");
		for (size_t i = 0; i < seq_len(apps); i++) {
			const idp_doc_node *app = seq_at(apps, i), *objs = idp_doc_map_get(app, "objects");
			const char **comps;
			size_t nc = components_of(a, objs, &comps);
			for (size_t c = 0; c < nc; c++) {
				size_t count = 0;
				for (size_t k = 0; k < seq_len(objs); k++)
					count += strcmp(str_or(seq_at(objs, k), "component", "(composed)"), comps[c]) == 0;
				printf("%-24s %-32s %s %zu\n", str_or(app, "name", "?"), comps[c], paint(worst(objs, comps[c]), 12),
				       count);
			}
		}
		return;
	}
	printf("%-16s %-60s %-12s %-12s %s\n", "APP", "OBJECT", "LOCAL", "HEALTH", wide ? "MESSAGE" : "COMPONENT");
	for (size_t i = 0; i < seq_len(apps); i++) {
		const idp_doc_node *app = seq_at(apps, i), *objs = idp_doc_map_get(app, "objects");
		for (size_t k = 0; k < seq_len(objs); k++) {
			const idp_doc_node *ob = seq_at(objs, k);
			printf("%-16s %-60s %-12s %s %s\n", str_or(app, "name", "?"), str_or(ob, "object", "?"),
			       str_or(ob, "local", "?"), paint(str_or(ob, "health", "?"), 12),
			       wide ? str_or(ob, "message", "") : str_or(ob, "component", "(composed)"));
		}
	}
}

static int print_json(const idp_doc_node *n, idp_err *err)
{
	idp_buf b = IDP_BUF_INIT;
	int rc = idp_doc_emit_json(n, IDP_DOC_JSON_PRETTY, &b, err);
	if (rc == 0)
		fwrite(b.ptr, 1, b.len, stdout);
	idp_buf_free(&b);
	return rc;
}

int idp_cmd_get(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, get_usage, "o:h", &o);
	if (ex >= 0)
		return ex;
	const char *what = o.app;
	if (!what || (strcmp(what, "apps") && strcmp(what, "components") && strcmp(what, "objects")))
		return bad(argv[0], get_usage, "get %s: want apps, components or objects", what ? what : "what?");
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *reply = NULL;
	int rc = status_reply(a, &o, o.n_args > 1 ? o.args[1] : NULL, &reply, &err);
	if (rc == 0 && o.output && strcmp(o.output, "json") == 0) {
		rc = print_json(idp_doc_map_get(reply, "apps"), &err);
	} else if (rc == 0 && o.output && strcmp(o.output, "yaml") == 0) {
		idp_buf b = IDP_BUF_INIT;
		idp_doc_node *apps = idp_doc_map_get(reply, "apps");
		rc = idp_doc_emit_yaml(&apps, 1, &b, &err);
		if (rc == 0)
			fwrite(b.ptr, 1, b.len, stdout);
		idp_buf_free(&b);
	} else if (rc == 0) {
		print_get(a, reply, what, o.output != NULL);
	}
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

/* DOT ids are quoted strings; the names here are DNS labels and kinds. */
static void print_dot(idp_arena *a, const idp_doc_node *app)
{
	const char *name = str_or(app, "name", "?");
	const idp_doc_node *objs = idp_doc_map_get(app, "objects");
	printf("digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box];\n  \"app/%s\" [label=\"%s\\n%s\"];\n", name, name, name,
	       worst(objs, NULL));
	const char **comps;
	size_t nc = components_of(a, objs, &comps);
	for (size_t c = 0; c < nc; c++)
		printf("  \"app/%s\" -> \"component/%s\";\n  \"component/%s\" [label=\"%s\\n%s\"];\n", name, comps[c],
		       comps[c], comps[c], worst(objs, comps[c]));
	for (size_t k = 0; k < seq_len(objs); k++) {
		const idp_doc_node *ob = seq_at(objs, k);
		const char *obj = str_or(ob, "object", "?");
		printf("  \"component/%s\" -> \"%s\";\n  \"%s\" [label=\"%s\\n%s (%s)\"];\n", str_or(ob, "component", "(composed)"), obj,
		       obj, obj, str_or(ob, "health", "?"), str_or(ob, "local", "?"));
	}
	puts("}");
}

static void print_tree(idp_arena *a, const idp_doc_node *app)
{
	const idp_doc_node *objs = idp_doc_map_get(app, "objects"), *paused = idp_doc_map_get(app, "paused");
	bool p = paused && paused->kind == IDP_DOC_BOOL && paused->as.b;
	printf("%s  %s  revision %.7s\n", str_or(app, "name", "?"), paint(p ? "Suspended" : worst(objs, NULL), 0),
	       str_or(app, "revision", "-"));
	const char **comps;
	size_t nc = components_of(a, objs, &comps);
	for (size_t c = 0; c < nc; c++) {
		bool last_c = c + 1 == nc;
		printf("%s component %s  %s\n", last_c ? "└─" : "├─", comps[c], paint(worst(objs, comps[c]), 0));
		size_t total = 0, seen = 0;
		for (size_t k = 0; k < seq_len(objs); k++)
			total += strcmp(str_or(seq_at(objs, k), "component", "(composed)"), comps[c]) == 0;
		for (size_t k = 0; k < seq_len(objs); k++) {
			const idp_doc_node *ob = seq_at(objs, k);
			if (strcmp(str_or(ob, "component", "(composed)"), comps[c]) != 0)
				continue;
			bool last_o = ++seen == total;
			const idp_doc_node *rep = idp_doc_map_get(ob, "replicas");
			printf("%s  %s %s  %s\n", last_c ? "  " : "│ ", last_o ? "└─" : "├─", str_or(ob, "object", "?"),
			       paint(str_or(ob, "health", "?"), 0));
			printf("%s  %s    %s: %s", last_c ? "  " : "│ ", last_o ? "  " : "│ ", str_or(ob, "local", "?"),
			       str_or(ob, "message", ""));
			if (rep && rep->kind == IDP_DOC_INT)
				printf(" (%lld running)", (long long)rep->as.i);
			putchar('\n');
		}
	}
}

int idp_cmd_describe(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, describe_usage, "o:h", &o);
	if (ex >= 0)
		return ex;
	if (!o.app)
		return bad(argv[0], describe_usage, "%s", "which application? (APP)");
	if (o.output && strcmp(o.output, "wide") == 0)
		return bad(argv[0], describe_usage, "-o %s: want json or dot", o.output);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *reply = NULL;
	int rc = status_reply(a, &o, o.app, &reply, &err);
	const idp_doc_node *apps = rc == 0 ? idp_doc_map_get(reply, "apps") : NULL;
	if (rc == 0 && seq_len(apps) != 1)
		rc = idp_err_set(&err, IDP_ENOTFOUND, "no application %s runs here", o.app);
	if (rc == 0 && o.output && strcmp(o.output, "json") == 0)
		rc = print_json(seq_at(apps, 0), &err);
	else if (rc == 0 && o.output)
		print_dot(a, seq_at(apps, 0));
	else if (rc == 0)
		print_tree(a, seq_at(apps, 0));
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

int idp_cmd_daemon(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, daemon_usage, "h", &o);
	if (ex >= 0)
		return ex;
	if (o.app)
		return bad(argv[0], daemon_usage, "unexpected argument \"%s\"", o.app);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	int rc = state_dir(a, &o, &err);
	idp_daemon_opts d = {o.state, o.listen_host, o.listen_port, o.domain, o.window, o.grace, idp_cmd_gitops_renderer(),
			     false,   NULL,	     -1,	    NULL,     NULL};
	if (rc == 0 && chdir("/") != 0)
		rc = idp_err_set(&err, IDP_ERUNTIME, "chdir /: %s", strerror(errno));
	if (rc == 0)
		rc = idp_daemon_run(&d, &err);
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

/* --config FILE: YAML, slack: {signingSecret, webhookUrl}; it wins over the
 * environment. A file others may read holding a secret is refused. */
static int read_serve_config(idp_arena *a, const char *path, const char **secret, const char **webhook, idp_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return idp_err_set(err, IDP_EINPUT, "--config %s: %s", path, strerror(errno));
	idp_buf text = IDP_BUF_INIT;
	idp_doc_stream s;
	int rc = idp_file_read(path, 1 << 20, &text, err);
	if (rc == 0)
		rc = idp_doc_load(a, path, text.ptr ? text.ptr : "", text.len, NULL, &s, err);
	idp_buf_free(&text);
	if (rc)
		return rc;
	const idp_doc_node *slack = s.len == 1 ? idp_doc_map_get(s.docs[0], "slack") : NULL;
	for (size_t i = 0; slack && slack->kind == IDP_DOC_MAP && i < slack->as.map.len; i++) {
		const char *k = slack->as.map.items[i].key;
		const idp_doc_node *v = slack->as.map.items[i].value;
		if ((strcmp(k, "signingSecret") != 0 && strcmp(k, "webhookUrl") != 0) || v->kind != IDP_DOC_STR)
			return idp_err_at(err, v->pos, idp_arena_printf(a, "slack.%s", k),
					  "want slack.signingSecret or slack.webhookUrl, a string");
		if (strcmp(k, "signingSecret") == 0 && (st.st_mode & 077))
			return idp_err_set(err, IDP_EINPUT, "--config %s holds a secret and others may read it: chmod 600 %s",
					   path, path);
		*(strcmp(k, "signingSecret") == 0 ? secret : webhook) = v->as.str.ptr;
	}
	return 0;
}

int idp_cmd_serve(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, serve_usage, "h", &o);
	if (ex >= 0)
		return ex;
	if (o.app)
		return bad(argv[0], serve_usage, "unexpected argument \"%s\"", o.app);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	int rc = state_dir(a, &o, &err);
	const char *secret = getenv("SLACK_SIGNING_SECRET"), *webhook = getenv("SLACK_WEBHOOK_URL");
	if (rc == 0 && o.config)
		rc = read_serve_config(a, o.config, &secret, &webhook, &err);
	idp_daemon_opts d = {o.state,
			     o.gateway_host,
			     o.gateway_port,
			     o.domain,
			     o.window,
			     o.grace,
			     idp_cmd_gitops_renderer(),
			     true,
			     o.listen_arg ? o.listen_host : NULL,
			     o.listen_arg ? o.listen_port : -1,
			     secret && *secret ? secret : NULL,
			     webhook && *webhook ? webhook : NULL};
	if (rc == 0 && idp_daemon_running(o.state))
		rc = idp_err_set(&err, IDP_EINPUT, "a daemon runs for %s already (idp down stops it; idp serve runs its own)",
				 o.state);
	if (rc == 0)
		rc = idp_daemon_run(&d, &err);
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

int idp_cmd_token(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, token_usage, "h", &o);
	if (ex >= 0)
		return ex;
	const char *what = o.app, *name = o.n_args > 1 ? o.args[1] : NULL;
	bool named = what && (strcmp(what, "create") == 0 || strcmp(what, "delete") == 0);
	if (!what || (!named && strcmp(what, "list") != 0))
		return bad(argv[0], token_usage, "token %s: want create, list or delete", what ? what : "what?");
	if (named != (name != NULL))
		return bad(argv[0], token_usage, "token %s: want one NAME", what);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_store *store = NULL;
	int rc = state_dir(a, &o, &err);
	if (rc == 0)
		rc = idp_store_open(o.state, &store, &err);
	if (rc == 0 && strcmp(what, "create") == 0) {
		const char *token;
		rc = idp_api_token_create(store, a, name, &token, &err);
		if (rc == 0)
			printf("%s\n", token);
		if (rc == 0 && isatty(STDOUT_FILENO))
			fprintf(stderr, "idp token: shown once, kept nowhere; send it as Authorization: Bearer <token>\n");
	} else if (rc == 0 && strcmp(what, "delete") == 0) {
		rc = idp_store_token_delete(store, name, &err);
	} else if (rc == 0) {
		const char **names;
		size_t n;
		rc = idp_store_token_list(store, a, &names, &n, &err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			printf("%s\n", names[i]);
	}
	if (store)
		idp_store_close(store);
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}

/* ---------------------------------------------------------------- apply */

static int cli_daemon_call(void *ctx, idp_arena *a, const idp_doc_node *req, idp_doc_node **reply, idp_err *err)
{
	return idp_daemon_call(ctx, a, req, NULL, NULL, reply, err);
}

static void print_step(void *ctx, const idp_store_workflow *w, const char *step, const char *state, const char *msg)
{
	(void)ctx;
	if (strcmp(state, "Running") == 0)
		return;
	printf("  %-11s %-9s %s\n", step, state, msg ? msg : "");
	fflush(stdout);
	(void)w;
}

int idp_cmd_apply(int argc, char **argv)
{
	opts o;
	int ex = parse(argc, argv, apply_usage, "f:h", &o);
	if (ex >= 0)
		return ex;
	if (!o.file)
		return bad(argv[0], apply_usage, "%s", "which claim? (-f CLAIM.yaml)");
	if (o.app)
		return bad(argv[0], apply_usage, "unexpected argument \"%s\"", o.app);
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_store *store = NULL;
	idp_cmd_inputs in = {0};
	idp_doc_stream docs;
	int rc = idp_cmd_inputs_add(&in, o.file, &err);
	if (rc == 0 && in.len != 1)
		rc = idp_err_set(&err, IDP_EINPUT, "%s: want one claim file", o.file);
	if (rc == 0)
		rc = idp_cmd_input_load(a, &in.items[0], &docs, &err);
	if (rc == 0 && docs.len != 1)
		rc = idp_err_set(&err, IDP_EINPUT, "%s: want one claim, found %zu documents", o.file, docs.len);
	if (rc == 0)
		rc = state_dir(a, &o, &err);
	if (rc == 0)
		rc = idp_store_open(o.state, &store, &err);
	idp_api_backend daemon = {(void *)o.state, cli_daemon_call};
	idp_api_workflow_env env = {store, o.state, idp_cmd_gitops_renderer(), &daemon, o.wait, print_step, NULL};
	int64_t id = 0;
	bool existing = false;
	if (rc == 0)
		rc = idp_api_workflow_start(&env, a, docs.docs[0], "cli", &id, &existing, &err);
	if (rc == 0) {
		printf("idp apply %s: workflow %lld%s (state %s)\n", o.file, (long long)id, existing ? ", resumed" : "",
		       o.state);
		fflush(stdout);
	}
	/* The sync step needs the daemon; it is started before, as up does. */
	if (rc == 0)
		rc = idp_daemon_spawn(o.state, daemon_argv(a, &o), 30, &err);
	while (rc == 0) {
		int r = idp_api_workflow_advance(&env, id, &err);
		if (r == IDP_API_WF_DONE)
			break;
		if (r == IDP_API_WF_WAIT)
			usleep(200000);
		else if (r != IDP_API_WF_MORE)
			rc = r;
	}
	if (rc == 0)
		printf("workflow %lld succeeded\n", (long long)id);
	if (store)
		idp_store_close(store);
	idp_cmd_inputs_free(&in);
	int code = rc ? fail(&err, rc) : IDP_EXIT_OK;
	idp_err_clear(&err);
	idp_arena_free(a);
	return code;
}
