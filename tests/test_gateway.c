/*
 * The gateway over real sockets (suite "gateway"): the gateway runs its loop
 * in a thread of the test process; its scaler is a small real process
 * launcher that starts tests/gw_backend (a C HTTP service) on a free port per
 * replica and stops it with SIGTERM; clients are plain blocking sockets.
 * Windows and timeouts are short so that no test waits more than 10 s.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "gateway/gateway.h"

#ifndef IDP_GW_BACKEND
#error "IDP_GW_BACKEND must be defined by the build"
#endif

/* ------------------------------------------------------------ the launcher */

#define MAX_PROCS 64

typedef struct proc {
	char service[128];
	pid_t pid;
	int port;
} proc;

static struct {
	idp_gateway *g;
	proc procs[MAX_PROCS];
	size_t n;
	int scale_calls;
	int last_scale;
	const char *ready_after_ms; /* READY_AFTER_MS for new replicas, or NULL */
	pthread_t thread;
	volatile int running;
	pthread_mutex_t lock; /* the gateway is single-threaded: tests touch it only under this lock */
} L = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pid_t spawn_backend(int port, const char *name, const char *ready_after)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		char p[16];
		snprintf(p, sizeof p, "%d", port);
		if (ready_after)
			setenv("READY_AFTER_MS", ready_after, 1);
		/* a killed test service leaves h2o's objects to the kernel */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(IDP_GW_BACKEND, "gw_backend", p, name, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_proc(proc *p)
{
	kill(p->pid, SIGTERM);
	waitpid(p->pid, NULL, 0);
}

static size_t count_of(const char *service)
{
	size_t n = 0;
	for (size_t i = 0; i < L.n; i++)
		n += strcmp(L.procs[i].service, service) == 0;
	return n;
}

/* The scaler: called on the gateway's loop thread. */
static void launcher_scale(void *ctx, const char *service, int32_t replicas)
{
	(void)ctx;
	L.scale_calls++;
	L.last_scale = replicas;
	while ((int32_t)count_of(service) < replicas && L.n < MAX_PROCS) {
		int port = idp_fixture_free_port();
		proc *p = &L.procs[L.n++];
		snprintf(p->service, sizeof p->service, "%s", service);
		p->port = port;
		p->pid = spawn_backend(port, service, L.ready_after_ms);
		/* demo/b has no readinessProbe: NULL lets the gateway fall back to a TCP
		 * check (Knative's default); demo/a is probed on /health. */
		idp_gateway_replica_starting(L.g, service, "127.0.0.1", port, strcmp(service, "demo/b") == 0 ? NULL : "/health");
	}
	while ((int32_t)count_of(service) > replicas) {
		for (size_t i = L.n; i-- > 0;) {
			if (strcmp(L.procs[i].service, service) != 0)
				continue;
			proc p = L.procs[i];
			L.procs[i] = L.procs[--L.n];
			idp_gateway_replica_gone(L.g, p.service, "127.0.0.1", p.port);
			stop_proc(&p);
			break;
		}
	}
}

static void *loop_thread(void *arg)
{
	(void)arg;
	while (L.running) {
		pthread_mutex_lock(&L.lock);
		idp_gateway_run(L.g, 5);
		pthread_mutex_unlock(&L.lock);
	}
	return NULL;
}

static const char app_yaml[] =
	"apiVersion: serving.knative.dev/v1\n"
	"kind: Service\n"
	"metadata: {name: a, namespace: demo}\n"
	"spec:\n"
	"  template:\n"
	"    spec: {containers: [{image: x}]}\n"
	"---\n"
	"apiVersion: serving.knative.dev/v1\n"
	"kind: Service\n"
	"metadata: {name: b, namespace: demo}\n"
	"spec:\n"
	"  template:\n"
	"    metadata:\n"
	"      annotations: {autoscaling.knative.dev/min-scale: \"0\"}\n"
	"    spec: {containerConcurrency: 5, containers: [{image: x}]}\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: Gateway\n"
	"metadata: {name: web, namespace: demo}\n"
	"spec:\n"
	"  selector: {istio: ingressgateway}\n"
	"  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: VirtualService\n"
	"metadata: {name: shop, namespace: demo}\n"
	"spec:\n"
	"  hosts: ['*']\n"
	"  gateways: [web]\n"
	"  http:\n"
	"  - match: [{headers: {x-canary: {exact: 'yes'}}}]\n"
	"    route: [{destination: {host: b}}]\n"
	"  - match: [{uri: {prefix: /v2/}}]\n"
	"    rewrite: {uri: /}\n"
	"    route: [{destination: {host: b.demo.svc.cluster.local}}]\n"
	"  - match: [{uri: {prefix: /timed/}}]\n"
	"    rewrite: {uri: /}\n"
	"    timeout: 0.1s\n"
	"    route: [{destination: {host: a}}]\n"
	"  - match: [{uri: {regex: '/items/[0-9]+'}}]\n"
	"    route: [{destination: {host: a}}]\n"
	"  - route: [{destination: {host: a}, weight: 100}, {destination: {host: b}, weight: 0}]\n";

static proc tool_backend, api_backend;

static void start_gateway(double hold_timeout_s, bool short_windows)
{
	memset(L.procs, 0, sizeof(L.procs));
	L.n = 0;
	L.scale_calls = 0;
	L.ready_after_ms = NULL;
	idp_gateway_config c;
	idp_gateway_config_defaults(&c);
	c.hold_timeout_s = hold_timeout_s;
	c.tick_s = 0.1;
	c.idle_timeout_s = 5;
	if (short_windows) {
		c.kpa_defaults.stable_window_s = 1;
		c.kpa_defaults.scale_to_zero_grace_s = 0.5;
	}
	/* A tool and the API, as plain backends the test starts itself. */
	tool_backend.port = idp_fixture_free_port();
	tool_backend.pid = spawn_backend(tool_backend.port, "grafana", NULL);
	api_backend.port = idp_fixture_free_port();
	api_backend.pid = spawn_backend(api_backend.port, "api", NULL);
	char tool_url[64], api_url[64];
	snprintf(tool_url, sizeof tool_url, "http://127.0.0.1:%d/", tool_backend.port);
	snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", api_backend.port);
	c.tools[IDP_GATEWAY_TOOL_GRAFANA] = tool_url;
	c.api = api_url;
	idp_gateway_scaler s = {NULL, launcher_scale};
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_gateway_new(&c, "127.0.0.1", 0, &s, &L.g, &err), 0, "%s", err.msg);
	idp_arena *a = idp_arena_new();
	idp_doc_stream docs;
	cr_assert_eq(idp_doc_load(a, "app.yaml", app_yaml, strlen(app_yaml), NULL, &docs, &err), 0, "%s", err.msg);
	idp_gateway_routes *r;
	cr_assert_eq(idp_gateway_routes_build(&c, docs.docs, docs.len, &r, &err), 0, "%s", err.msg);
	idp_gateway_set_routes(L.g, r);
	idp_arena_free(a);
	L.running = 1;
	pthread_create(&L.thread, NULL, loop_thread, NULL);
	/* the fixed backends must be listening before the first request */
	const int fixed[2] = {api_backend.port, tool_backend.port};
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 500; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fixed[k])};
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			int ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
			close(fd);
			if (ok)
				break;
			usleep(10000);
		}
}

static void stop_gateway(void)
{
	L.running = 0;
	pthread_join(L.thread, NULL);
	idp_gateway_free(L.g);
	for (size_t i = 0; i < L.n; i++)
		stop_proc(&L.procs[i]);
	L.n = 0;
	stop_proc(&tool_backend);
	stop_proc(&api_backend);
}

/* ------------------------------------------------------------ a client */

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Appends what arrives on fd within timeout_ms to buf (NUL-terminated);
 * returns the bytes read, 0 on close or timeout. */
static size_t read_more(int fd, char *buf, size_t *len, size_t cap, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (*len + 1 >= cap || poll(&p, 1, timeout_ms) <= 0)
		return 0;
	ssize_t r = read(fd, buf + *len, cap - 1 - *len);
	if (r <= 0)
		return 0;
	*len += (size_t)r;
	buf[*len] = 0;
	return (size_t)r;
}

/* Reads one response (Content-Length or until close), within timeout_ms. */
static int read_response(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;
	long want = -1;
	buf[0] = 0;
	while (read_more(fd, buf, &len, cap, timeout_ms)) {
		char *end = strstr(buf, "\r\n\r\n");
		if (end && want < 0) {
			char *cl = strcasestr(buf, "content-length:");
			if (cl && cl < end)
				want = (long)(end + 4 - buf) + atol(cl + 15);
		}
		if (want >= 0 && (long)len >= want)
			break;
	}
	buf[len] = 0;
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

static int get(const char *host, const char *path, const char *extra, char *body, size_t cap)
{
	int fd = dial(idp_gateway_port(L.g));
	cr_assert(fd >= 0);
	char req[1024];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path, host,
			 extra ? extra : "");
	send_all(fd, req, (size_t)n);
	char buf[16384];
	int status = read_response(fd, buf, sizeof buf, 8000);
	close(fd);
	const char *b = strstr(buf, "\r\n\r\n");
	snprintf(body, cap, "%s", b ? b + 4 : "");
	return status;
}

/* ------------------------------------------------------------ tests */

Test(gateway, routes_by_knative_host_and_scales_from_zero, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	cr_expect_eq(get("a.demo.localhost", "/echo?x=1", NULL, body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "name=demo/a"), "%s", body);
	cr_expect(strstr(body, "path=/echo?x=1"), "%s", body);
	cr_expect(strstr(body, "xff=127.0.0.1"), "%s", body);
	cr_expect(strstr(body, "fwd=for=\"127.0.0.1\";host=\"a.demo.localhost\";proto=http"), "%s", body);
	cr_expect_eq(get("b.demo.localhost:8080", "/echo", NULL, body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "name=demo/b"), "%s", body);
	cr_expect_eq(get("nothing.demo.localhost", "/", NULL, body, sizeof body), 404, "%s", body);
	stop_gateway();
}

Test(gateway, virtual_service_matches, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	cr_expect_eq(get("shop.example.com", "/v2/cart", NULL, body, sizeof body), 200);
	cr_expect(strstr(body, "name=demo/b path=/cart"), "prefix + rewrite: %s", body);
	cr_expect_eq(get("shop.example.com", "/cart", "x-canary: yes\r\n", body, sizeof body), 200);
	cr_expect(strstr(body, "name=demo/b"), "header match: %s", body);
	cr_expect_eq(get("shop.example.com", "/items/42", NULL, body, sizeof body), 200);
	cr_expect(strstr(body, "name=demo/a"), "regex: %s", body);
	cr_expect_eq(get("shop.example.com", "/anything", NULL, body, sizeof body), 200);
	cr_expect(strstr(body, "name=demo/a"), "weights 100/0: %s", body);
	cr_expect_eq(get("other.example.com", "/anything", NULL, body, sizeof body), 404);
	stop_gateway();
}

Test(gateway, tool_prefixes_and_api, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	cr_expect_eq(get("localhost", "/grafana/api/health", NULL, body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "name=grafana path=/api/health"), "%s", body);
	cr_expect(strstr(body, "prefix=/grafana"), "%s", body);
	cr_expect_eq(get("localhost", "/kiali/", NULL, body, sizeof body), 503);
	cr_expect(strstr(body, "gateway.tools.kiali"), "unconfigured tool names its key: %s", body);
	cr_expect_eq(get("a.demo.localhost", "/api/v1/apps", NULL, body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "name=api path=/api/v1/apps"), "/api is not stripped, on any host: %s", body);
	cr_expect_eq(get("localhost", "/slack/events", NULL, body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "path=/slack/events"), "%s", body);
	stop_gateway();
}

/* N clients arrive while the service is at zero; all are held, one replica
 * starts (one scale call), all are answered. */
Test(gateway, holds_concurrent_requests_during_a_cold_start, .timeout = 20)
{
	start_gateway(5, false);
	L.ready_after_ms = "150";
	enum { N = 20 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = dial(idp_gateway_port(L.g));
		const char req[] = "GET /echo HTTP/1.1\r\nHost: a.demo.localhost\r\nConnection: close\r\n\r\n";
		send_all(fds[i], req, sizeof req - 1);
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		char buf[4096];
		ok += read_response(fds[i], buf, sizeof buf, 8000) == 200;
		close(fds[i]);
	}
	cr_expect_eq(ok, N, "%d of %d held requests answered", ok, N);
	pthread_mutex_lock(&L.lock);
	cr_expect_eq(count_of("demo/a"), 1, "one replica for one cold start");
	idp_buf m = IDP_BUF_INIT;
	idp_gateway_metrics(L.g, &m);
	pthread_mutex_unlock(&L.lock);
	cr_expect(strstr(idp_buf_cstr(&m), "idp_gateway_cold_starts_total{service=\"demo/a\"} 1"), "%s", idp_buf_cstr(&m));
	idp_buf_free(&m);
	stop_gateway();
}

/* A client that goes away while its request is held must be forgotten
 * (ASan would see a use after free otherwise). */
Test(gateway, client_disconnect_while_held, .timeout = 20)
{
	start_gateway(5, false);
	L.ready_after_ms = "400";
	for (int i = 0; i < 5; i++) {
		int fd = dial(idp_gateway_port(L.g));
		const char req[] = "GET /echo HTTP/1.1\r\nHost: a.demo.localhost\r\n\r\n";
		send_all(fd, req, sizeof req - 1);
		usleep(20000);
		close(fd);
	}
	char body[4096];
	cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 200, "%s", body);
	stop_gateway();
}

Test(gateway, hold_timeout_answers_503, .timeout = 20)
{
	start_gateway(0.3, false);
	L.ready_after_ms = "60000";
	char body[4096];
	cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 503);
	cr_expect(strstr(body, "did not become ready"), "%s", body);
	stop_gateway();
}

Test(gateway, scales_back_to_zero_after_the_grace_period, .timeout = 20)
{
	start_gateway(5, true);
	char body[4096];
	cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 200);
	int zero = 0;
	for (int i = 0; i < 80 && !zero; i++) {
		usleep(100000);
		pthread_mutex_lock(&L.lock);
		zero = count_of("demo/a") == 0;
		pthread_mutex_unlock(&L.lock);
	}
	cr_expect(zero, "demo/a still has a replica after 8 s idle (window 1 s, grace 0.5 s)");
	/* and it comes back on the next request */
	cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 200);
	stop_gateway();
}

Test(gateway, sse_passes_through_unbuffered, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	get("a.demo.localhost", "/echo", NULL, body, sizeof body); /* warm up */
	int fd = dial(idp_gateway_port(L.g));
	const char req[] = "GET /sse HTTP/1.1\r\nHost: a.demo.localhost\r\nConnection: close\r\n\r\n";
	send_all(fd, req, sizeof req - 1);
	char buf[4096] = "";
	size_t len = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double first_event = -1;
	while (read_more(fd, buf, &len, sizeof buf, 3000)) {
		if (first_event < 0 && strstr(buf, "tick 0")) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			first_event = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		}
	}
	close(fd);
	cr_expect(strstr(buf, "text/event-stream"), "%s", buf);
	cr_expect(strstr(buf, "tick 0") && strstr(buf, "tick 2"), "%s", buf);
	cr_expect(first_event >= 0 && first_event < 0.12, "first event after %.3f s: buffered?", first_event);
	stop_gateway();
}

Test(gateway, websocket_echo, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	get("a.demo.localhost", "/echo", NULL, body, sizeof body); /* warm up */
	int fd = dial(idp_gateway_port(L.g));
	const char req[] = "GET /ws HTTP/1.1\r\nHost: a.demo.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
	send_all(fd, req, sizeof req - 1);
	char buf[4096] = "";
	size_t len = 0;
	while (!strstr(buf, "\r\n\r\n") && read_more(fd, buf, &len, sizeof buf, 3000))
		;
	cr_assert(strstr(buf, "101"), "%s", buf);
	cr_expect(strstr(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "accept key: %s", buf);
	/* a masked text frame "hi" */
	const unsigned char frame[] = {0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
	send_all(fd, (const char *)frame, sizeof frame);
	char echo[16] = "";
	size_t got = 0;
	while (got < 4 && read_more(fd, echo, &got, sizeof echo, 3000))
		;
	close(fd);
	cr_expect(got >= 4 && (unsigned char)echo[0] == 0x81 && echo[1] == 2 && echo[2] == 'h' && echo[3] == 'i',
		  "echo frame %zu bytes", got);
	stop_gateway();
}

/* A slowloris client (a request head trickling in) and an oversized head do
 * not stop others from being served. */
Test(gateway, slow_and_oversized_clients_do_not_block_others, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	get("a.demo.localhost", "/echo", NULL, body, sizeof body); /* warm up */
	int slow = dial(idp_gateway_port(L.g));
	send_all(slow, "GET /echo HTTP/1.1\r\nHost: a.de", 30);
	int big = dial(idp_gateway_port(L.g));
	char head[40000];
	int n = snprintf(head, sizeof head, "GET /echo HTTP/1.1\r\nHost: a.demo.localhost\r\nX-Big: ");
	memset(head + n, 'x', sizeof head - (size_t)n - 5);
	memcpy(head + sizeof head - 5, "\r\n\r\n", 5);
	send_all(big, head, sizeof head - 1);
	char buf[4096];
	int status = read_response(big, buf, sizeof buf, 3000);
	cr_expect_eq(status, 431, "oversized head got %d", status);
	close(big);
	for (int i = 0; i < 5; i++)
		cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 200);
	close(slow);
	stop_gateway();
}

Test(gateway, metrics_pass_promtool, .timeout = 20)
{
	start_gateway(5, false);
	char body[65536];
	get("a.demo.localhost", "/echo", NULL, body, sizeof body);
	int status = get("127.0.0.1", "/metrics", NULL, body, sizeof body);
	cr_expect_eq(status, 200);
	cr_expect(strstr(body, "idp_gateway_requests_total{service=\"demo/a\",code=\"2xx\"} 1"), "%s", body);
	cr_expect(strstr(body, "idp_gateway_ready_replicas{service=\"demo/a\"} 1"), "%s", body);
	stop_gateway();
	if (!idp_fixture_have_program("promtool")) {
		cr_log_warn("promtool not installed: format not checked");
		return;
	}
	char *argv[] = {"promtool", "check", "metrics", NULL};
	char *out = NULL, *err = NULL;
	int rc = idp_fixture_run(argv, body, &out, &err);
	cr_expect_eq(rc, 0, "promtool check metrics: %s %s", out, err);
	free(out);
	free(err);
}

Test(gateway, route_errors_are_positioned)
{
	static const char bad[] = "apiVersion: networking.istio.io/v1beta1\n"
				  "kind: VirtualService\n"
				  "metadata: {name: x, namespace: demo}\n"
				  "spec:\n"
				  "  hosts: [x.example.com]\n"
				  "  http:\n"
				  "  - route: [{destination: {host: missing}}]\n";
	idp_gateway_config c;
	idp_gateway_config_defaults(&c);
	idp_arena *a = idp_arena_new();
	idp_doc_stream docs;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "vs.yaml", bad, strlen(bad), NULL, &docs, &err), 0);
	idp_gateway_routes *r = NULL;
	cr_expect_eq(idp_gateway_routes_build(&c, docs.docs, docs.len, &r, &err), IDP_EINPUT);
	cr_expect_eq(err.line, 7, "line %u: %s", err.line, err.msg);
	cr_expect(strstr(err.msg, "missing"), "%s", err.msg);
	idp_err_clear(&err);
	/* The local runtime's gateway leaves such a route out instead. */
	c.skip_foreign_destinations = true;
	cr_assert_eq(idp_gateway_routes_build(&c, docs.docs, docs.len, &r, &err), 0, "%s", err.msg);
	idp_gateway_route_match m;
	idp_gateway_routes_match(r, a, "x.example.com", "/", NULL, 0, 0.5, &m);
	cr_expect_eq(m.target, IDP_GATEWAY_NONE);
	idp_gateway_routes_free(r);
	idp_arena_free(a);
}

/* A topology's copy of a Knative Service in another cluster answers on
 * NAME.NS.CLUSTER.DOMAIN and is another service to scale. */
Test(gateway, a_copy_in_a_cluster_has_its_own_host_and_key)
{
	static const char two[] = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
				  "spec: {template: {spec: {containers: [{image: x}]}}}\n---\n"
				  "apiVersion: serving.knative.dev/v1\nkind: Service\n"
				  "metadata: {name: web, namespace: demo, labels: {app.oam.dev/cluster: preview}}\n"
				  "spec: {template: {spec: {containers: [{image: x}]}}}\n";
	idp_gateway_config c;
	idp_gateway_config_defaults(&c);
	idp_arena *a = idp_arena_new();
	idp_doc_stream docs;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "ksvc.yaml", two, strlen(two), NULL, &docs, &err), 0);
	idp_gateway_routes *r = NULL;
	cr_assert_eq(idp_gateway_routes_build(&c, docs.docs, docs.len, &r, &err), 0, "%s", err.msg);
	idp_gateway_route_match m;
	idp_gateway_routes_match(r, a, "web.demo.preview.localhost", "/", NULL, 0, 0.5, &m);
	cr_expect_eq(m.target, IDP_GATEWAY_SERVICE);
	cr_expect_str_eq(m.service ? m.service : "", "demo/web@preview");
	idp_gateway_routes_match(r, a, "web.demo.localhost:8080", "/", NULL, 0, 0.5, &m);
	cr_expect_str_eq(m.service ? m.service : "", "demo/web");
	const char **names;
	const idp_gateway_kpa_config *kpa;
	cr_expect_eq(idp_gateway_routes_services(r, &names, &kpa), 2);
	idp_gateway_routes_free(r);
	idp_arena_free(a);
}

/* Route tables are swapped between requests on the loop thread: requests
 * sent while tables change are all answered. */
Test(gateway, routes_swap_while_traffic_flows, .timeout = 20)
{
	start_gateway(5, false);
	char body[4096];
	cr_expect_eq(get("a.demo.localhost", "/echo", NULL, body, sizeof body), 200);
	idp_gateway_config c;
	idp_gateway_config_defaults(&c);
	idp_arena *a = idp_arena_new();
	idp_doc_stream docs;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "app.yaml", app_yaml, strlen(app_yaml), NULL, &docs, &err), 0);
	enum { N = 40 };
	int fds[N], ok = 0;
	for (int i = 0; i < N; i++) {
		fds[i] = dial(idp_gateway_port(L.g));
		const char req[] = "GET /slow HTTP/1.1\r\nHost: a.demo.localhost\r\nConnection: close\r\n\r\n";
		send_all(fds[i], req, sizeof req - 1);
		if (i % 4 == 0) {
			idp_gateway_routes *r;
			cr_assert_eq(idp_gateway_routes_build(&c, docs.docs, docs.len, &r, &err), 0);
			pthread_mutex_lock(&L.lock);
			idp_gateway_set_routes(L.g, r);
			pthread_mutex_unlock(&L.lock);
		}
	}
	for (int i = 0; i < N; i++) {
		char buf[4096];
		ok += read_response(fds[i], buf, sizeof buf, 8000) == 200;
		close(fds[i]);
	}
	cr_expect_eq(ok, N, "%d of %d answered across %d route swaps", ok, N, N / 4);
	idp_arena_free(a);
	stop_gateway();
}

/* containerConcurrency 5 and 30 requests of 200 ms in flight: the KPA panics
 * (6x the capacity of one replica) and asks for more replicas, and every
 * request is answered (excess requests queue, as Knative's queue-proxy does). */
Test(gateway, autoscaler_scales_up_under_load, .timeout = 20)
{
	start_gateway(5, true);
	char body[4096];
	cr_expect_eq(get("b.demo.localhost", "/echo", NULL, body, sizeof body), 200);
	enum { N = 30 };
	int fds[N], ok = 0;
	int most = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			fds[i] = dial(idp_gateway_port(L.g));
			const char req[] = "GET /slow HTTP/1.1\r\nHost: b.demo.localhost\r\nConnection: close\r\n\r\n";
			send_all(fds[i], req, sizeof req - 1);
		}
		for (int i = 0; i < N; i++) {
			char buf[4096];
			ok += read_response(fds[i], buf, sizeof buf, 8000) == 200;
			close(fds[i]);
		}
		pthread_mutex_lock(&L.lock);
		int n = (int)count_of("demo/b");
		pthread_mutex_unlock(&L.lock);
		most = n > most ? n : most;
	}
	cr_expect_eq(ok, 3 * N, "%d of %d answered", ok, 3 * N);
	cr_expect_geq(most, 2, "still %d replica(s) with 30 requests in flight against containerConcurrency 5", most);
	stop_gateway();
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The hand-written upstream path (src/gateway/forward.c): bodies both
 * ways, HEAD, a large answer read slowly (the replica is read only as fast
 * as the client takes it), many requests over the pooled connections, a
 * route timeout (504), and a replica that went away (502). */
Test(gateway, forwarding_bodies_timeouts_and_failures, .timeout = 30)
{
	start_gateway(5, false);
	char body[4096];
	/* a request body reaches the replica, with its method */
	int fd = dial(idp_gateway_port(L.g));
	char payload[100000];
	memset(payload, 'p', sizeof payload);
	char head[256];
	int n = snprintf(head, sizeof head, "POST /echo/post HTTP/1.1\r\nHost: a.demo.localhost\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 sizeof payload);
	send_all(fd, head, (size_t)n);
	send_all(fd, payload, sizeof payload);
	char buf[16384];
	cr_expect_eq(read_response(fd, buf, sizeof buf, 8000), 200, "%s", buf);
	cr_expect(strstr(buf, "method=POST len=100000"), "%s", buf);
	close(fd);
	/* HEAD: the replica's length, no body */
	fd = dial(idp_gateway_port(L.g));
	const char hreq[] = "HEAD /hello HTTP/1.1\r\nHost: a.demo.localhost\r\nConnection: close\r\n\r\n";
	send_all(fd, hreq, sizeof hreq - 1);
	size_t len = 0;
	buf[0] = 0;
	while (read_more(fd, buf, &len, sizeof buf, 2000))
		;
	close(fd);
	cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strcasestr(buf, "content-length: 5\r\n"), "%s", buf);
	cr_expect(strstr(buf, "\r\n\r\n") && strstr(buf, "\r\n\r\n")[4] == '\0', "no body after HEAD: %s", buf);
	/* 8 MiB read slowly: intact */
	fd = dial(idp_gateway_port(L.g));
	const char breq[] = "GET /big HTTP/1.1\r\nHost: a.demo.localhost\r\nConnection: close\r\n\r\n";
	send_all(fd, breq, sizeof breq - 1);
	size_t total = 0, cap = (9u << 20);
	char *big = malloc(cap);
	for (int i = 0;; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t got = read(fd, big + total, cap - total);
		if (got <= 0)
			break;
		total += (size_t)got;
		if (i < 20)
			usleep(20000); /* a slow reader at first */
	}
	close(fd);
	char *sep = memmem(big, total, "\r\n\r\n", 4);
	cr_assert_not_null(sep);
	size_t body_len = total - (size_t)(sep + 4 - big);
	cr_expect_eq(body_len, 8u << 20, "got %zu body bytes", body_len);
	bool intact = true;
	for (size_t i = 0; i < body_len && intact; i++)
		intact = sep[4 + i] == "0123456789abcdef"[i % 16];
	cr_expect(intact, "the body arrives unchanged");
	free(big);
	/* many requests in a row reuse the pool */
	for (int i = 0; i < 50; i++)
		cr_assert_eq(get("a.demo.localhost", "/hello", NULL, body, sizeof body), 200);
	/* a route timeout of 0.1 s against a 0.2 s answer: 504 */
	double t0 = now_s();
	cr_expect_eq(get("shop.example.com", "/timed/slow", NULL, body, sizeof body), 504, "%s", body);
	cr_expect(now_s() - t0 < 1.5, "the timeout applies");
	cr_expect(strstr(body, "did not answer in time"), "%s", body);
	/* the replica goes away under the gateway: 502, the gateway goes on */
	for (size_t i = 0; i < L.n; i++)
		if (strcmp(L.procs[i].service, "demo/a") == 0) {
			kill(L.procs[i].pid, SIGKILL);
			waitpid(L.procs[i].pid, NULL, 0);
		}
	usleep(100000);
	int st = get("a.demo.localhost", "/hello", NULL, body, sizeof body);
	cr_expect(st == 502 || st == 503, "%d %s", st, body);
	stop_gateway();
}

/* A replica that answers before it has read the request's body (as an
 * application refusing an upload does), on a raw socket: the connection
 * must not go back to the pool while the gateway is still writing the
 * body (the next request's write once hit h2o's do_write assertion). */
typedef struct early_replica {
	int listen_fd, port;
	volatile int stop;
	pthread_t thread;
} early_replica;

static void *early_replica_main(void *arg)
{
	early_replica *e = arg;
	while (!e->stop) {
		struct pollfd p = {e->listen_fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(e->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		char buf[65536];
		size_t len = 0;
		/* one request head, then the answer at once */
		while (!memmem(buf, len, "\r\n\r\n", 4) && len < sizeof buf) {
			ssize_t got = read(fd, buf + len, sizeof buf - len);
			if (got <= 0)
				break;
			len += (size_t)got;
		}
		bool post = len > 4 && memcmp(buf, "POST", 4) == 0;
		const char *answer = post ? "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\nno"
					  : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
		send_all(fd, answer, strlen(answer));
		if (post) {
			usleep(300000); /* the gateway is still writing the body meanwhile */
			struct pollfd q = {fd, POLLIN, 0};
			while (poll(&q, 1, 500) > 0 && read(fd, buf, sizeof buf) > 0)
				; /* drain what the gateway sends, until it closes */
		}
		close(fd);
	}
	return NULL;
}

Test(gateway, an_answer_before_the_body_is_written, .timeout = 30)
{
	start_gateway(5, false);
	early_replica e = {0};
	e.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(e.listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
	socklen_t sl = sizeof sin;
	getsockname(e.listen_fd, (struct sockaddr *)&sin, &sl);
	e.port = ntohs(sin.sin_port);
	listen(e.listen_fd, 16);
	pthread_create(&e.thread, NULL, early_replica_main, &e);
	pthread_mutex_lock(&L.lock);
	idp_gateway_replica_starting(L.g, "demo/b", "127.0.0.1", e.port, NULL); /* (ready on a TCP connect) */
	pthread_mutex_unlock(&L.lock);
	usleep(200000);
	/* 4 MiB upload, refused at once */
	int fd = dial(idp_gateway_port(L.g));
	size_t n = 4u << 20;
	char *body = malloc(n);
	memset(body, 'u', n);
	char head[256];
	int hl = snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: b.demo.localhost\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", n);
	send_all(fd, head, (size_t)hl);
	send_all(fd, body, n);
	free(body);
	char buf[16384];
	cr_expect_eq(read_response(fd, buf, sizeof buf, 8000), 413, "%s", buf);
	close(fd);
	/* the next requests get a connection of their own, and the gateway lives */
	char out[4096];
	for (int i = 0; i < 3; i++)
		cr_expect_eq(get("b.demo.localhost", "/after", NULL, out, sizeof out), 200, "%s", out);
	e.stop = 1;
	pthread_join(e.thread, NULL);
	close(e.listen_fd);
	stop_gateway();
}
