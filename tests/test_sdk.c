/*
 * libidp-service (sdk/): every endpoint and WebSocket message type over
 * real sockets, against services built on the SDK (tests/sdk_service.c and
 * examples/health-streaming) started as processes; MQTT through a real
 * mosquitto started here; Kafka through librdkafka's mock cluster hosted
 * by the test. Each service is stopped with SIGTERM and must exit 0 (under
 * the sanitizers that also means no leak was reported).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <mosquitto.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* ---------------------------------------------------------------- processes */

typedef struct svc_proc {
	pid_t pid;
	int port;
	char *dir, *log;
} svc_proc;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7f000001)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Starts prog with env (NULL-terminated "K=V" list) added to the test's
 * environment, PORT on a free port and HOST 127.0.0.1; waits for it to
 * accept. stderr goes to dir/service.err. */
static svc_proc start(const char *prog, const char *const env[])
{
	svc_proc p = {0};
	p.dir = idp_fixture_tmpdir();
	cr_assert_not_null(p.dir);
	p.port = idp_fixture_free_port();
	if (asprintf(&p.log, "%s/service.err", p.dir) < 0)
		abort();
	p.pid = fork();
	if (p.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* (a test that fails midway leaves nothing behind) */
		char port[16];
		snprintf(port, sizeof port, "%d", p.port);
		setenv("PORT", port, 1);
		setenv("HOST", "127.0.0.1", 1);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		int fd = open(p.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	for (double end = now_s() + 10; now_s() < end; usleep(20000)) {
		int fd = dial(p.port);
		if (fd >= 0) {
			close(fd);
			return p;
		}
		if (waitpid(p.pid, NULL, WNOHANG) == p.pid)
			break;
	}
	char *log = idp_fixture_read_file(p.log, NULL);
	cr_assert_fail("%s did not start:\n%s", prog, log ? log : "");
	return p;
}

/* SIGTERM, then the exit status (0 is a clean, leak-free stop). */
static int stop(svc_proc *p)
{
	kill(p->pid, SIGTERM);
	int st = 0;
	for (double end = now_s() + 10; now_s() < end; usleep(10000))
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			break;
		}
	if (p->pid) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
		st = 255 << 8;
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (code != 0) {
		char *log = idp_fixture_read_file(p->log, NULL);
		fprintf(stderr, "--- service log ---\n%s\n", log ? log : "");
		free(log);
	}
	idp_fixture_rmtree(p->dir);
	free(p->dir);
	free(p->log);
	return code;
}

/* ---------------------------------------------------------------- HTTP */

typedef struct http_reply {
	int status;
	char head[4096];
	char *body;
} http_reply;

static void send_all(int fd, const void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* One request on a new connection (Connection: close); the whole answer. */
/* The Host header requests carry (the gateway routes by it). */
static const char *host_header = "svc";

static http_reply http(int port, const char *method, const char *path, const char *body, const char *extra)
{
	http_reply r = {0};
	int fd = dial(port);
	cr_assert(fd >= 0);
	char head[4096];
	int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 method, path, host_header, extra ? extra : "", body ? strlen(body) : 0);
	cr_assert(n > 0 && (size_t)n < sizeof head, "request head too long");
	send_all(fd, head, (size_t)n);
	if (body)
		send_all(fd, body, strlen(body));
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	struct pollfd pfd = {fd, POLLIN, 0};
	while (len < cap - 1 && poll(&pfd, 1, 5000) > 0) {
		ssize_t got = recv(fd, buf + len, cap - 1 - len, 0);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	close(fd);
	sscanf(buf, "HTTP/1.1 %d", &r.status);
	char *sep = strstr(buf, "\r\n\r\n");
	if (sep) {
		snprintf(r.head, sizeof r.head, "%.*s", (int)(sep - buf), buf);
		r.body = strdup(sep + 4);
	} else {
		r.body = strdup("");
	}
	free(buf);
	return r;
}

static json_t *json_of(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	cr_assert_not_null(j, "not JSON (%s): %s", e.text, text);
	return j;
}

static const char *jstr(json_t *obj, const char *path)
{
	/* "a.b.c" */
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *cur = obj;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, k);
	return json_string_value(cur);
}

/* ---------------------------------------------------------------- WebSocket client */

typedef struct wsc {
	int fd;
	char *buf;
	size_t len, cap;
} wsc;

static bool fill(wsc *c, int timeout_ms)
{
	if (c->len == c->cap) {
		c->cap *= 2;
		c->buf = realloc(c->buf, c->cap);
	}
	struct pollfd pfd = {c->fd, POLLIN, 0};
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (got <= 0)
		return false;
	c->len += (size_t)got;
	return true;
}

static wsc ws_open(int port, const char *path)
{
	wsc c = {.fd = dial(port), .cap = 1 << 16};
	cr_assert(c.fd >= 0);
	c.buf = malloc(c.cap);
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			 path, host_header);
	send_all(c.fd, req, (size_t)n);
	char *end = NULL;
	while (!(end = memmem(c.buf, c.len, "\r\n\r\n", 4)))
		cr_assert(fill(&c, 5000), "no answer to the WebSocket handshake");
	cr_assert(strncmp(c.buf, "HTTP/1.1 101", 12) == 0, "handshake: %.*s", (int)(end - c.buf), c.buf);
	cr_assert(memmem(c.buf, (size_t)(end - c.buf), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28), "Sec-WebSocket-Accept");
	size_t used = (size_t)(end + 4 - c.buf);
	memmove(c.buf, c.buf + used, c.len - used);
	c.len -= used;
	return c;
}

static void ws_close(wsc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

/* A frame as a client sends it (masked unless mask is false). */
static void ws_send_frame(wsc *c, int opcode, const void *p, size_t n, bool mask)
{
	unsigned char h[14];
	size_t hl = 2;
	h[0] = (unsigned char)(0x80 | opcode);
	unsigned char m = mask ? 0x80 : 0;
	if (n < 126) {
		h[1] = (unsigned char)(m | n);
	} else if (n < 65536) {
		h[1] = m | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = m | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
	if (mask) {
		memcpy(h + hl, key, 4);
		hl += 4;
	}
	unsigned char *out = malloc(hl + n);
	memcpy(out, h, hl);
	for (size_t i = 0; i < n; i++)
		out[hl + i] = mask ? ((const unsigned char *)p)[i] ^ key[i % 4] : ((const unsigned char *)p)[i];
	send_all(c->fd, out, hl + n);
	free(out);
}

static void ws_send(wsc *c, const char *text)
{
	ws_send_frame(c, 1, text, strlen(text), true);
}

/* The next frame: its opcode and payload (malloc'd, NUL-terminated), or
 * -1 when none comes within timeout_ms or the connection ends. */
static int ws_recv(wsc *c, char **payload, size_t *n, int timeout_ms)
{
	double end = now_s() + timeout_ms / 1000.0;
	for (;;) {
		if (c->len >= 2) {
			unsigned char *b = (unsigned char *)c->buf;
			size_t hl = 2, len = b[1] & 0x7f;
			if (len == 126 && c->len >= 4)
				len = (size_t)b[2] << 8 | b[3], hl = 4;
			else if (len == 127 && c->len >= 10) {
				len = 0;
				for (int i = 0; i < 8; i++)
					len = len << 8 | b[2 + i];
				hl = 10;
			}
			if ((b[1] & 0x7f) < 126 || hl > 2) {
				if (c->len >= hl + len) {
					int op = b[0] & 0x0f;
					*payload = malloc(len + 1);
					memcpy(*payload, c->buf + hl, len);
					(*payload)[len] = '\0';
					*n = len;
					memmove(c->buf, c->buf + hl + len, c->len - hl - len);
					c->len -= hl + len;
					return op;
				}
			}
		}
		int left = (int)((end - now_s()) * 1000);
		if (left <= 0 || !fill(c, left))
			return -1;
	}
}

/* Frames until one whose message_type is type (others skipped); its JSON,
 * or NULL. */
static json_t *ws_expect(wsc *c, const char *type, int timeout_ms)
{
	double end = now_s() + timeout_ms / 1000.0;
	for (;;) {
		char *p;
		size_t n;
		int left = (int)((end - now_s()) * 1000);
		int op = ws_recv(c, &p, &n, left > 0 ? left : 1);
		if (op < 0)
			return NULL;
		if (op == 1) {
			json_t *j = json_of(p);
			free(p);
			if (strcmp(jstr(j, "message_type") ? jstr(j, "message_type") : "", type) == 0)
				return j;
			json_decref(j);
		} else {
			free(p);
		}
	}
}

/* Subscribes c to topic and waits for the confirmation. */
static void ws_subscribe(wsc *c, const char *topic)
{
	char msg[300];
	snprintf(msg, sizeof msg, "{\"message_type\":\"subscribe\",\"payload\":{\"topic\":\"%s\"}}", topic);
	ws_send(c, msg);
	json_t *j = ws_expect(c, "subscription_confirmed", 5000);
	cr_assert_not_null(j, "subscribing to %s", topic);
	json_decref(j);
}

/* Skips text frames until the server's close frame; its status code, or
 * -1 when none comes within timeout_ms. */
static int ws_close_code(wsc *c, int timeout_ms)
{
	char *payload;
	size_t n;
	int op;
	while ((op = ws_recv(c, &payload, &n, timeout_ms)) == 1)
		free(payload);
	if (op != 8)
		return op < 0 ? -1 : (free(payload), -1);
	int code = n >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1]) : 0;
	free(payload);
	return code;
}

/* ---------------------------------------------------------------- HTTP routes */

Test(sdk, standard_routes, .timeout = 60)
{
	const char *env[] = {"SERVICE_NAME=orders-agent-c", "AGENT_TYPE=orders", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);

	http_reply r = http(p.port, "GET", "/health", NULL, NULL);
	cr_assert_eq(r.status, 200);
	json_t *j = json_of(r.body);
	cr_assert_str_eq(jstr(j, "status"), "healthy");
	cr_assert_str_eq(jstr(j, "service"), "orders-agent-c");
	cr_assert_null(json_object_get(j, "realtime_enabled"), "no platform: no realtime fields");
	json_decref(j);
	free(r.body);

	r = http(p.port, "GET", "/", NULL, NULL);
	j = json_of(r.body);
	cr_assert_str_eq(jstr(j, "name"), "orders-agent-c");
	cr_assert_str_eq(jstr(j, "status"), "running");
	cr_assert(strstr(r.body, "\"capabilities\":[\"health\",\"openapi\",\"echo\",\"fail\"]"), "%s", r.body);
	json_decref(j);
	free(r.body);

	/* /openapi.json: valid OpenAPI 3.1, with the registered endpoints */
	r = http(p.port, "GET", "/openapi.json", NULL, NULL);
	cr_assert_eq(r.status, 200);
	j = json_of(r.body);
	cr_assert_str_eq(jstr(j, "openapi"), "3.1.0");
	cr_assert_not_null(json_object_get(json_object_get(j, "paths"), "/echo"));
	cr_assert_null(json_object_get(json_object_get(j, "paths"), "/ws"), "no realtime: no /ws");
	json_decref(j);
	if (access("/usr/bin/python3", X_OK) == 0) {
		char *file = idp_fixture_write_file(p.dir, "openapi.json", r.body, strlen(r.body));
		char *check[] = {"/usr/bin/python3", IDP_SOURCE_ROOT "/tests/api/check_openapi.py", file, NULL};
		char *out = NULL, *err = NULL;
		int rc = idp_fixture_run(check, NULL, &out, &err);
		cr_assert(rc == 0 || strstr(err, "No module named 'jsonschema'"), "openapi.json invalid:\n%s%s", out, err);
		free(out), free(err), free(file);
	}
	free(r.body);

	r = http(p.port, "GET", "/docs", NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "text/html"));
	cr_assert(strstr(r.body, "<code>/echo</code>") && strstr(r.body, "orders-agent-c"), "%s", r.body);
	free(r.body);

	/* POST: the original's AgentResponse */
	r = http(p.port, "POST", "/echo", "{\"query\":\"hi\",\"parameters\":{\"k\":1}}", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	j = json_of(r.body);
	cr_assert_str_eq(jstr(j, "result.query"), "hi");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(j, "result"), "parameters"), "k")), 1);
	cr_assert_str_eq(jstr(j, "metadata.agent_type"), "orders");
	cr_assert_str_eq(jstr(j, "metadata.implementation"), "c", "the last '-' token of the name");
	cr_assert_str_eq(jstr(j, "metadata.task_type"), "echo");
	cr_assert(strncmp(jstr(j, "result.task_id"), "echo-", 5) == 0);
	cr_assert(json_is_number(json_object_get(j, "processing_time")));
	json_decref(j);
	free(r.body);

	struct {
		const char *method, *path, *body;
		int status;
		const char *says;
	} bad[] = {
		{"POST", "/echo", "{\"parameters\":{}}", 422, "\"loc\":[\"body\",\"query\"]"},
		{"POST", "/echo", "{\"query\":\"x\",\"priority\":\"high\"}", 422, "priority"},
		{"POST", "/echo", "[1,2]", 422, "valid dict"},
		{"POST", "/echo", "{\"query\":", 400, "invalid JSON at line 1"},
		{"POST", "/fail", "{\"query\":\"x\"}", 500, "this endpoint always fails"},
		{"GET", "/echo", NULL, 405, "Method Not Allowed"},
		{"GET", "/nope", NULL, 404, "Not Found"},
		{"GET", "/ws", NULL, 404, "Not Found"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = http(p.port, bad[i].method, bad[i].path, bad[i].body, NULL);
		cr_expect_eq(r.status, bad[i].status, "%s %s: %d %s", bad[i].method, bad[i].path, r.status, r.body);
		cr_expect(strstr(r.body, bad[i].says), "%s %s: %s", bad[i].method, bad[i].path, r.body);
		free(r.body);
	}
	cr_assert_eq(stop(&p), 0);
}

Test(sdk, token_guards_mutating_calls, .timeout = 30)
{
	const char *env[] = {"IDP_SERVICE_TOKEN=s3cret-token", "REALTIME=1", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	http_reply r = http(p.port, "POST", "/echo", "{\"query\":\"x\"}", NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert(strstr(r.head, "www-authenticate: Bearer") || strstr(r.head, "WWW-Authenticate: Bearer"), "%s", r.head);
	free(r.body);
	r = http(p.port, "POST", "/realtime/publish", "{\"topic\":\"t\"}", "Authorization: Bearer wrong-token!\r\n");
	cr_assert_eq(r.status, 401);
	free(r.body);
	r = http(p.port, "POST", "/echo", "{\"query\":\"x\"}", "Authorization: Bearer s3cret-token\r\n");
	cr_assert_eq(r.status, 200, "%s", r.body);
	free(r.body);
	r = http(p.port, "GET", "/health", NULL, NULL);
	cr_assert_eq(r.status, 200, "reads stay open");
	free(r.body);
	/* a WebSocket runs the endpoints (agent_request): it needs the token too */
	r = http(p.port, "GET", "/ws", NULL, "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
	cr_assert_eq(r.status, 401, "%s", r.body);
	free(r.body);
	wsc c = ws_open(p.port, "/ws?access_token=s3cret-token");
	json_t *j = ws_expect(&c, "connection_established", 3000);
	cr_assert_not_null(j);
	json_decref(j);
	ws_close(&c);
	cr_assert_eq(stop(&p), 0);
}

Test(sdk, bad_configuration_is_named, .timeout = 30)
{
	char *argv[] = {"/usr/bin/env", "PORT=80x", IDP_SDK_SERVICE, NULL};
	char *out = NULL, *err = NULL;
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	cr_assert_eq(rc, 2, "%s", err);
	cr_assert(strstr(err, "PORT=80x: want a number from 0 to 65535"), "%s", err);
	free(out), free(err);
	char *argv2[] = {"/usr/bin/env", "PORT=0", "HOST=localhost", IDP_SDK_SERVICE, NULL};
	rc = idp_fixture_run(argv2, NULL, &out, &err);
	cr_assert_eq(rc, 1, "%s", err);
	cr_assert(strstr(err, "HOST=localhost: not an IPv4 address"), "%s", err);
	free(out), free(err);
}

/* ---------------------------------------------------------------- WebSocket */

Test(sdk, websocket_message_types, .timeout = 60)
{
	const char *env[] = {"SERVICE_NAME=ws-test", "REALTIME=1", "WS_MAX_MESSAGE_BYTES=4096", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	wsc c = ws_open(p.port, "/ws");

	json_t *j = ws_expect(&c, "connection_established", 3000);
	cr_assert_not_null(j);
	cr_assert_eq(strlen(jstr(j, "payload.client_id")), 36);
	cr_assert_not_null(jstr(j, "message_id"));
	cr_assert_not_null(jstr(j, "timestamp"));
	json_decref(j);

	ws_send(&c, "{\"message_id\":\"m1\",\"message_type\":\"subscribe\",\"payload\":{\"topic\":\"sensors/+/hr\"}}");
	j = ws_expect(&c, "subscription_confirmed", 3000);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "payload.topic"), "sensors/+/hr");
	cr_assert_str_eq(jstr(j, "response_to"), "m1");
	json_decref(j);

	ws_send(&c, "{\"message_type\":\"ping\",\"correlation_id\":\"c-9\"}");
	j = ws_expect(&c, "pong", 3000);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "correlation_id"), "c-9");
	json_decref(j);

	/* an event on a matching topic reaches the subscriber */
	http_reply r = http(p.port, "POST", "/realtime/publish",
			    "{\"topic\":\"sensors/d1/hr\",\"data\":{\"v\":72},\"event_type\":\"custom_event\",\"correlation_id\":\"k\"}", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"subscribers\":1"), "%s", r.body);
	free(r.body);
	j = ws_expect(&c, "event", 3000);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "payload.topic"), "sensors/d1/hr");
	cr_assert_str_eq(jstr(j, "payload.event.event_type"), "custom_event");
	cr_assert_str_eq(jstr(j, "payload.event.source_service"), "ws-test");
	cr_assert_str_eq(jstr(j, "payload.event.correlation_id"), "k");
	cr_assert_not_null(jstr(j, "payload.event.event_id"));
	cr_assert_not_null(jstr(j, "payload.event.timestamp"));
	json_decref(j);

	ws_send(&c, "{\"message_type\":\"unsubscribe\",\"payload\":{\"topic\":\"sensors/+/hr\"}}");
	j = ws_expect(&c, "unsubscription_confirmed", 3000);
	cr_assert_not_null(j);
	cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "payload"), "topics")), 0);
	json_decref(j);

	ws_send(&c, "{\"message_id\":\"a1\",\"message_type\":\"agent_request\",\"payload\":{\"query\":\"hello\",\"task_type\":\"echo\"}}");
	j = ws_expect(&c, "agent_response", 3000);
	cr_assert_not_null(j);
	cr_assert(json_is_true(json_object_get(json_object_get(j, "payload"), "success")));
	cr_assert_str_eq(jstr(j, "payload.result.query"), "hello");
	cr_assert_str_eq(jstr(j, "response_to"), "a1");
	json_decref(j);

	ws_send(&c, "{\"message_type\":\"agent_request\",\"payload\":{\"query\":\"x\",\"task_type\":\"fail\"}}");
	j = ws_expect(&c, "agent_response", 3000);
	cr_assert(json_is_false(json_object_get(json_object_get(j, "payload"), "success")));
	cr_assert_str_eq(jstr(j, "payload.error"), "this endpoint always fails");
	json_decref(j);

	struct {
		const char *send;
		const char *error;
	} errors[] = {
		{"{\"message_type\":\"agent_request\",\"payload\":{}}", "Query is required"},
		{"{\"message_type\":\"teleport\",\"payload\":{}}", "Unknown message type: teleport"},
		{"{\"message_type\":", "Invalid JSON at line 1"},
		{"[]", "a message is a JSON object"},
		{"{\"payload\":{}}", "message_type is required"},
		{"{\"message_type\":\"subscribe\",\"payload\":{}}", "subscribe needs payload.topic"},
		{"{\"message_type\":\"subscribe\",\"payload\":{\"topic\":\"a/#/b\"}}", "invalid topic"},
		{"{\"message_type\":\"ping\",\"payload\":7}", "payload must be an object"},
	};
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		ws_send(&c, errors[i].send);
		j = ws_expect(&c, "error", 3000);
		cr_assert_not_null(j, "no error reply to %s", errors[i].send);
		cr_expect(strstr(jstr(j, "payload.error"), errors[i].error), "%s -> %s", errors[i].send, jstr(j, "payload.error"));
		json_decref(j);
	}

	/* a binary frame, and a message over WS_MAX_MESSAGE_BYTES: error replies */
	ws_send_frame(&c, 2, "\x01\x02", 2, true);
	j = ws_expect(&c, "error", 3000);
	cr_assert(strstr(jstr(j, "payload.error"), "binary frames are not supported"));
	json_decref(j);
	size_t big = 100000;
	char *huge = malloc(big + 1);
	memset(huge, 'a', big);
	huge[big] = '\0';
	ws_send(&c, huge);
	free(huge);
	j = ws_expect(&c, "error", 3000);
	cr_assert_not_null(j);
	cr_assert(strstr(jstr(j, "payload.error"), "message too large: 100000 bytes (limit 4096)"), "%s", jstr(j, "payload.error"));
	json_decref(j);

	/* still serving after all that */
	ws_send(&c, "{\"message_type\":\"ping\"}");
	j = ws_expect(&c, "pong", 3000);
	cr_assert_not_null(j);
	json_decref(j);

	/* an unmasked client frame breaks the protocol: closed with 1002, and
	 * the service goes on */
	ws_send_frame(&c, 1, "{}", 2, false);
	cr_assert_eq(ws_close_code(&c, 3000), 1002, "closed with 1002");
	ws_close(&c);

	/* a text frame that is not UTF-8: closed with 1007 (RFC 6455 §8.1) */
	c = ws_open(p.port, "/ws");
	ws_send_frame(&c, 1, "\xff\xfe", 2, true);
	cr_assert_eq(ws_close_code(&c, 3000), 1007, "closed with 1007");
	ws_close(&c);

	r = http(p.port, "GET", "/health", NULL, NULL);
	cr_assert_eq(r.status, 200);
	free(r.body);
	cr_assert_eq(stop(&p), 0);
}

Test(sdk, websocket_idle_timeout_and_events_route, .timeout = 30)
{
	const char *env[] = {"REALTIME=1", "WS_IDLE_TIMEOUT_SECONDS=0.5", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	wsc c = ws_open(p.port, "/ws/events");
	json_t *j = ws_expect(&c, "connection_established", 3000);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(j, "payload"), "topics"), 0)), "events",
			 "/ws/events subscribes to every event");
	json_decref(j);
	http_reply r = http(p.port, "POST", "/realtime/publish", "{\"topic\":\"any/thing\",\"data\":1}", NULL);
	free(r.body);
	j = ws_expect(&c, "event", 3000);
	cr_assert_not_null(j);
	json_decref(j);
	double t0 = now_s();
	cr_assert_eq(ws_close_code(&c, 5000), 1000, "closed when idle");
	cr_assert(now_s() - t0 < 3, "within the idle timeout and a sweep");
	ws_close(&c);
	cr_assert_eq(stop(&p), 0);
}

/* ---------------------------------------------------------------- SSE and /realtime */

/* Reads the stream until text appears (or 5 s); returns what was read. */
static char *sse_until(int fd, const char *text, char **acc, size_t *len)
{
	double end = now_s() + 5;
	while (!strstr(*acc, text) && now_s() < end) {
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		char buf[8192];
		ssize_t got = recv(fd, buf, sizeof buf, 0);
		if (got <= 0)
			break;
		*acc = realloc(*acc, *len + (size_t)got + 1);
		memcpy(*acc + *len, buf, (size_t)got);
		*len += (size_t)got;
		(*acc)[*len] = '\0';
	}
	return strstr(*acc, text);
}

Test(sdk, sse_stream_and_realtime_routes, .timeout = 30)
{
	const char *env[] = {"REALTIME=1", "SSE_STATUS_INTERVAL_SECONDS=0.2", "SERVICE_NAME=sse-test", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	int fd = dial(p.port);
	const char req[] = "GET /stream/events HTTP/1.1\r\nHost: svc\r\nAccept: text/event-stream\r\n\r\n";
	send_all(fd, req, sizeof req - 1);
	char *acc = calloc(1, 1);
	size_t len = 0;
	cr_assert(sse_until(fd, ": connected", &acc, &len), "%s", acc);
	cr_assert(strstr(acc, "content-type: text/event-stream") || strstr(acc, "Content-Type: text/event-stream"), "%s", acc);
	cr_assert(strcasestr(acc, "cache-control: no-cache"));
	cr_assert(sse_until(fd, "event: status_update\ndata: {\"type\":\"status_update\"", &acc, &len), "%s", acc);

	http_reply r = http(p.port, "POST", "/realtime/publish",
			    "{\"topic\":\"orders\",\"data\":{\"id\":7},\"event_type\":\"system_event\"}", NULL);
	cr_assert_eq(r.status, 200);
	free(r.body);
	cr_assert(sse_until(fd, "\"event_type\":\"system_event\"", &acc, &len), "%s", acc);
	cr_assert(strstr(acc, "event: system_event\ndata: {\"event_id\":"), "%s", acc);
	cr_assert(strstr(acc, "\"topic\":\"orders\""));

	/* broadcast and topic messages to WebSocket clients */
	wsc a = ws_open(p.port, "/ws"), b = ws_open(p.port, "/ws");
	json_decref(ws_expect(&a, "connection_established", 3000));
	json_decref(ws_expect(&b, "connection_established", 3000));
	ws_subscribe(&b, "room 1");
	r = http(p.port, "POST", "/realtime/broadcast", "{\"hello\":\"all\"}", NULL);
	cr_assert(strstr(r.body, "\"status\":\"broadcasted\",\"connections\":2"), "%s", r.body);
	free(r.body);
	json_t *j = ws_expect(&a, "broadcast", 3000);
	cr_assert_str_eq(jstr(j, "payload.hello"), "all");
	json_decref(j);
	r = http(p.port, "POST", "/realtime/topic/room%201", "{\"n\":1}", NULL);
	cr_assert(strstr(r.body, "\"status\":\"sent\",\"topic\":\"room 1\",\"subscribers\":1"), "%s", r.body);
	free(r.body);
	j = ws_expect(&b, "topic_message", 3000);
	cr_assert_str_eq(jstr(j, "payload.topic"), "room 1");
	json_decref(j);

	r = http(p.port, "GET", "/realtime/status", NULL, NULL);
	j = json_of(r.body);
	cr_assert_eq(json_integer_value(json_object_get(j, "websocket_connections")), 2);
	cr_assert_eq(json_integer_value(json_object_get(j, "sse_streams")), 1);
	json_decref(j);
	free(r.body);
	r = http(p.port, "GET", "/realtime/connections", NULL, NULL);
	cr_assert(strstr(r.body, "\"topics\":[\"room 1\"]"), "%s", r.body);
	free(r.body);

	/* publish errors */
	const char *bad[][2] = {{"{\"data\":1}", "topic is required"},
				{"{\"topic\":\"a/+\"}", "no + or #"},
				{"{\"topic\":\"a\",\"transport\":\"kafka\"}", "no KAFKA_BOOTSTRAP_SERVERS"},
				{"{\"topic\":\"a\",\"transport\":\"carrier-pigeon\"}", "transport 0"},
				{"not json", "invalid JSON"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = http(p.port, "POST", "/realtime/publish", bad[i][0], NULL);
		cr_expect_eq(r.status, 400, "%s: %d", bad[i][0], r.status);
		cr_expect(strstr(r.body, bad[i][1]), "%s: %s", bad[i][0], r.body);
		free(r.body);
	}

	/* a graceful stop: WebSockets get 1001, the stream ends, exit 0 */
	kill(p.pid, SIGTERM);
	cr_assert_eq(ws_close_code(&a, 5000), 1001, "going away");
	double t0 = now_s();
	while (now_s() - t0 < 5) {
		char buf[4096];
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, 200) > 0 && recv(fd, buf, sizeof buf, 0) <= 0)
			break;
	}
	cr_assert(now_s() - t0 < 5, "the SSE stream ended");
	close(fd);
	free(acc);
	ws_close(&a);
	ws_close(&b);
	cr_assert_eq(stop(&p), 0);
}

/* ---------------------------------------------------------------- MQTT */

static idp_fixture_daemon *start_mosquitto_on(char **dir, int port)
{
	*dir = idp_fixture_tmpdir();
	char conf[256];
	int n = snprintf(conf, sizeof conf, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port);
	free(idp_fixture_write_file(*dir, "m.conf", conf, (size_t)n));
	char *argv[] = {"mosquitto", "-c", "m.conf", NULL};
	idp_fixture_daemon *d = idp_fixture_daemon_start("mosquitto", argv, *dir, port, 10);
	cr_assert_not_null(d);
	return d;
}

static idp_fixture_daemon *start_mosquitto(char **dir)
{
	return start_mosquitto_on(dir, idp_fixture_free_port());
}

typedef struct mqtt_sink {
	pthread_mutex_t mu;
	char topic[256];
	char payload[4096];
	int count;
	bool subscribed;
} mqtt_sink;

static void sink_on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	mqtt_sink *s = obj;
	pthread_mutex_lock(&s->mu);
	snprintf(s->topic, sizeof s->topic, "%s", msg->topic);
	snprintf(s->payload, sizeof s->payload, "%.*s", msg->payloadlen, (const char *)msg->payload);
	s->count++;
	pthread_mutex_unlock(&s->mu);
}

static void sink_on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m, (void)mid, (void)n, (void)granted;
	mqtt_sink *s = obj;
	pthread_mutex_lock(&s->mu);
	s->subscribed = true;
	pthread_mutex_unlock(&s->mu);
}

Test(sdk, mqtt_reading_reaches_websocket_and_alert_goes_out, .timeout = 60)
{
	if (!idp_fixture_have_program("mosquitto"))
		cr_skip_test("mosquitto is not installed");
	char *mdir;
	idp_fixture_daemon *broker = start_mosquitto(&mdir);
	char port_env[32];
	snprintf(port_env, sizeof port_env, "MQTT_PORT=%d", idp_fixture_daemon_port(broker));
	const char *env[] = {"MQTT_HOST=127.0.0.1", port_env, "SERVICE_NAME=health-streaming", "REALTIME_PLATFORM=vitals", NULL};
	svc_proc p = start(IDP_HEALTH_STREAMING, env);

	mosquitto_lib_init();
	mqtt_sink sink = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct mosquitto *m = mosquitto_new("test-sink", true, &sink);
	mosquitto_message_callback_set(m, sink_on_message);
	mosquitto_subscribe_callback_set(m, sink_on_subscribe);
	cr_assert_eq(mosquitto_connect(m, "127.0.0.1", idp_fixture_daemon_port(broker), 10), MOSQ_ERR_SUCCESS);
	mosquitto_subscribe(m, NULL, "alerts/#", 1);
	mosquitto_loop_start(m);

	wsc c = ws_open(p.port, "/ws");
	json_decref(ws_expect(&c, "connection_established", 3000));
	ws_subscribe(&c, "readings/#");
	ws_subscribe(&c, "alerts/#");

	/* the service's MQTT subscription is up once /health says connected */
	bool connected = false;
	for (double end = now_s() + 10; !connected && now_s() < end; usleep(50000)) {
		http_reply r = http(p.port, "GET", "/health", NULL, NULL);
		connected = strstr(r.body, "\"connected\":true") != NULL;
		free(r.body);
	}
	cr_assert(connected, "the service connects to mosquitto");
	for (double end = now_s() + 5; now_s() < end; usleep(20000)) {
		pthread_mutex_lock(&sink.mu);
		bool ok = sink.subscribed;
		pthread_mutex_unlock(&sink.mu);
		if (ok)
			break;
	}
	usleep(200000); /* (the service subscribes right after CONNACK) */

	const char reading[] = "{\"value\": 187, \"unit\": \"bpm\"}";
	cr_assert_eq(mosquitto_publish(m, NULL, "sensors/watch-7/heart_rate", (int)strlen(reading), reading, 1, false), MOSQ_ERR_SUCCESS);
	json_t *j = ws_expect(&c, "event", 5000);
	cr_assert_not_null(j, "the reading reaches the WebSocket client");
	cr_assert_str_eq(jstr(j, "payload.topic"), "readings/watch-7/heart_rate");
	cr_assert_str_eq(jstr(j, "payload.event.event_type"), "data_processed");
	cr_assert_str_eq(jstr(j, "payload.event.data.device"), "watch-7");
	cr_assert_str_eq(jstr(j, "payload.event.data.source"), "mqtt");
	cr_assert_eq(json_real_value(json_object_get(json_object_get(json_object_get(json_object_get(j, "payload"), "event"), "data"), "value")), 187.0);
	json_decref(j);
	j = ws_expect(&c, "event", 5000);
	cr_assert_not_null(j, "and its alert");
	cr_assert_str_eq(jstr(j, "payload.topic"), "alerts/critical");
	cr_assert_str_eq(jstr(j, "payload.event.event_type"), "alert_triggered");
	json_decref(j);

	/* the alert went out on MQTT alerts/critical with the envelope */
	bool got = false;
	for (double end = now_s() + 5; !got && now_s() < end; usleep(20000)) {
		pthread_mutex_lock(&sink.mu);
		got = sink.count > 0;
		pthread_mutex_unlock(&sink.mu);
	}
	cr_assert(got, "an alert on MQTT");
	cr_assert_str_eq(sink.topic, "alerts/critical");
	j = json_of(sink.payload);
	cr_assert_str_eq(jstr(j, "event_type"), "alert_triggered");
	cr_assert_str_eq(jstr(j, "source_service"), "health-streaming");
	cr_assert_str_eq(jstr(j, "data.severity"), "critical");
	cr_assert_str_eq(jstr(j, "data.metric"), "heart_rate");
	json_decref(j);

	/* a reading inside the range raises nothing; a bad payload is dropped */
	mosquitto_publish(m, NULL, "sensors/watch-7/spo2", 2, "97", 1, false);
	mosquitto_publish(m, NULL, "sensors/watch-7/spo2", 5, "hello", 1, false);
	j = ws_expect(&c, "event", 5000);
	cr_assert_str_eq(jstr(j, "payload.topic"), "readings/watch-7/spo2");
	cr_assert(json_is_true(json_object_get(json_object_get(json_object_get(json_object_get(j, "payload"), "event"), "data"), "in_range")));
	json_decref(j);
	usleep(300000);
	pthread_mutex_lock(&sink.mu);
	cr_assert_eq(sink.count, 1, "no alert for 97");
	pthread_mutex_unlock(&sink.mu);

	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	ws_close(&c);
	cr_assert_eq(stop(&p), 0);
	idp_fixture_daemon_stop(broker);
	idp_fixture_rmtree(mdir);
	free(mdir);
}

/* ---------------------------------------------------------------- Kafka */

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *bootstrap)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
	if (type == RD_KAFKA_CONSUMER)
		rd_kafka_conf_set(conf, "group.id", "test-reader", errstr, sizeof errstr);
	rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
	cr_assert_not_null(rk, "%s", errstr);
	return rk;
}

Test(sdk, kafka_produce_and_consume_on_the_mock_cluster, .timeout = 90)
{
	char errstr[256];
	rd_kafka_conf_t *hc = rd_kafka_conf_new();
	rd_kafka_conf_set(hc, "log_level", "3", errstr, sizeof errstr);
	rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, hc, errstr, sizeof errstr);
	rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(host, 1);
	cr_assert_not_null(mock);
	const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mock);
	rd_kafka_mock_topic_create(mock, "health_events", 1, 1);
	rd_kafka_mock_topic_create(mock, "commands", 1, 1);
	char bs_env[160];
	snprintf(bs_env, sizeof bs_env, "KAFKA_BOOTSTRAP_SERVERS=%s", bootstrap);

	/* produce: a reading posted over HTTP lands in health_events */
	const char *env[] = {bs_env, "SERVICE_NAME=health-streaming", NULL};
	svc_proc p = start(IDP_HEALTH_STREAMING, env);
	http_reply r = http(p.port, "POST", "/readings", "{\"query\":\"bed-3/temperature\",\"parameters\":{\"value\":36.6}}", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	free(r.body);
	rd_kafka_t *reader = kafka_client(RD_KAFKA_CONSUMER, bootstrap);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(parts, "health_events", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(reader, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	json_t *event = NULL;
	for (double end = now_s() + 15; !event && now_s() < end;) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 200);
		if (m && !m->err)
			event = json_loadb(m->payload, m->len, 0, NULL);
		if (m)
			rd_kafka_message_destroy(m);
	}
	cr_assert_not_null(event, "health_events got the reading");
	cr_assert_str_eq(jstr(event, "event_type"), "data_processed");
	cr_assert_str_eq(jstr(event, "source_service"), "health-streaming");
	cr_assert_str_eq(jstr(event, "data.device"), "bed-3");
	cr_assert_str_eq(jstr(event, "data.metric"), "temperature");
	json_decref(event);
	rd_kafka_consumer_close(reader);
	rd_kafka_destroy(reader);
	r = http(p.port, "GET", "/health", NULL, NULL);
	cr_assert(strstr(r.body, "\"produced\":1"), "%s", r.body);
	free(r.body);
	cr_assert_eq(stop(&p), 0);

	/* consume: a message on a consumer topic is fanned out to subscribers */
	const char *env2[] = {bs_env, "REALTIME=1", "KAFKA_CONSUMER_TOPICS=commands", "SERVICE_NAME=reader", NULL};
	p = start(IDP_SDK_SERVICE, env2);
	wsc c = ws_open(p.port, "/ws");
	json_decref(ws_expect(&c, "connection_established", 3000));
	ws_subscribe(&c, "commands");
	rd_kafka_t *writer = kafka_client(RD_KAFKA_PRODUCER, bootstrap);
	const char cmd[] = "{\"action\":\"calibrate\"}";
	rd_kafka_producev(writer, RD_KAFKA_V_TOPIC("commands"), RD_KAFKA_V_VALUE((void *)cmd, strlen(cmd)),
			  RD_KAFKA_V_KEY("dev-1", 5), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
	rd_kafka_flush(writer, 5000);
	json_t *j = ws_expect(&c, "event", 20000); /* (a consumer group joins in a few seconds) */
	cr_assert_not_null(j, "the Kafka message reaches the WebSocket client");
	cr_assert_str_eq(jstr(j, "payload.event.event_type"), "data_processed");
	cr_assert_str_eq(jstr(j, "payload.event.data.topic"), "commands");
	cr_assert_str_eq(jstr(j, "payload.event.data.message.action"), "calibrate");
	cr_assert_str_eq(jstr(j, "payload.event.data.transport"), "kafka");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(json_object_get(j, "payload"), "event"), "data"), "offset")), 0);
	json_decref(j);
	ws_close(&c);
	rd_kafka_destroy(writer);
	cr_assert_eq(stop(&p), 0);
	rd_kafka_mock_cluster_destroy(mock);
	rd_kafka_destroy(host);
}

/* ---------------------------------------------------------------- on the platform */

static char up_state[4200];

static void down_started(void)
{
	if (!up_state[0])
		return;
	char *argv[] = {IDP_BIN, "down", "--state", up_state, "--purge", NULL};
	char *out = NULL, *err = NULL;
	idp_fixture_run_timeout(argv, NULL, &out, &err, 60);
	free(out), free(err);
}

static void copy_example_file(const char *dir, const char *name)
{
	char src[512];
	snprintf(src, sizeof src, "%s/examples/health-streaming/%s", IDP_SOURCE_ROOT, name);
	size_t n;
	char *text = idp_fixture_read_file(src, &n);
	cr_assert_not_null(text, "%s", src);
	free(idp_fixture_write_file(dir, name, text, n));
	free(text);
}

/* examples/health-streaming/app.yaml on the local runtime: the service is
 * built from its idp-local.yaml, its platform's mosquitto and Kafka come
 * up, and an MQTT reading reaches a WebSocket client and an SSE client
 * through the gateway, while Kafka's health_events gets it. */
Test(sdk, health_streaming_app_on_the_local_runtime, .timeout = 300, .fini = down_started)
{
	if (access("/usr/lib/postgresql/15/bin/postgres", X_OK) != 0 || !idp_fixture_have_program("mosquitto") ||
	    !idp_fixture_have_program("meson"))
		cr_skip_test("PostgreSQL 15, mosquitto or meson is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711); /* PostgreSQL runs as nobody when the tests run as root */
	const char *files[] = {"app.yaml", "idp-local.yaml", "main.c", "meson.build"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		copy_example_file(dir, files[i]);
	char link[4200], app[4200];
	snprintf(link, sizeof link, "%s/subprojects", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof link, "%s/subprojects/idp-service", dir);
	cr_assert_eq(symlink(IDP_SOURCE_ROOT "/sdk", link), 0);
	snprintf(app, sizeof app, "%s/app.yaml", dir);
	snprintf(up_state, sizeof up_state, "%s/state", dir);

	char *argv[] = {IDP_BIN, "up", "-f", app, "--state", up_state, "--listen", "127.0.0.1:0", NULL};
	char *out = NULL, *err = NULL;
	int st = idp_fixture_run_timeout(argv, NULL, &out, &err, 250);
	cr_assert_eq(st, 0, "%s%s", out, err);
	cr_assert(strstr(out, "health-streaming is ready"), "%s", out);
	cr_assert(strstr(out, "Deployment/vitals-realtime/mqtt-broker"), "%s", out);
	free(out), free(err);
	char port_file[4300];
	snprintf(port_file, sizeof port_file, "%s/gateway.port", up_state);
	char *port_text = idp_fixture_read_file(port_file, NULL);
	cr_assert_not_null(port_text);
	int gw = atoi(port_text);
	free(port_text);
	host_header = "vitals.default.localhost";

	/* The service found its platform through the injected Secrets. */
	json_t *health = NULL;
	for (double end = now_s() + 15; now_s() < end; usleep(100000)) {
		http_reply r = http(gw, "GET", "/health", NULL, NULL);
		json_decref(health);
		health = r.status == 200 ? json_of(r.body) : NULL;
		free(r.body);
		if (health && json_is_true(json_object_get(json_object_get(json_object_get(health, "transports"), "mqtt"), "connected")))
			break;
	}
	cr_assert_not_null(health);
	json_t *mq = json_object_get(json_object_get(health, "transports"), "mqtt");
	cr_assert(json_is_true(json_object_get(mq, "connected")), "the service reaches the platform's mosquitto");
	const char *broker = json_string_value(json_object_get(mq, "host"));
	int broker_port = (int)json_integer_value(json_object_get(mq, "port"));
	const char *bootstrap = jstr(health, "transports.kafka.bootstrap_servers");
	cr_assert_not_null(bootstrap, "Kafka is configured from vitals-kafka-secret");
	char broker_copy[64], bootstrap_copy[128];
	snprintf(broker_copy, sizeof broker_copy, "%s", broker);
	snprintf(bootstrap_copy, sizeof bootstrap_copy, "%s", bootstrap);
	json_decref(health);

	/* A WebSocket and an SSE client, both through the gateway. */
	wsc c = ws_open(gw, "/ws");
	json_decref(ws_expect(&c, "connection_established", 5000));
	ws_subscribe(&c, "readings/#");
	int sse = dial(gw);
	char req[256];
	int n = snprintf(req, sizeof req, "GET /stream/events HTTP/1.1\r\nHost: %s\r\n\r\n", host_header);
	send_all(sse, req, (size_t)n);
	char *acc = calloc(1, 1);
	size_t len = 0;
	cr_assert(sse_until(sse, ": connected", &acc, &len), "the stream opens through the gateway: %s", acc);

	/* A device reports over MQTT to the platform's broker. */
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("bedside-monitor", true, NULL);
	cr_assert_eq(mosquitto_connect(m, broker_copy, broker_port, 10), MOSQ_ERR_SUCCESS);
	mosquitto_loop_start(m);
	const char reading[] = "{\"value\": 31.2, \"unit\": \"C\"}";
	mosquitto_publish(m, NULL, "sensors/bed-9/temperature", (int)strlen(reading), reading, 1, false);
	json_t *j = ws_expect(&c, "event", 10000);
	cr_assert_not_null(j, "the MQTT reading reaches the WebSocket client through the gateway");
	cr_assert_str_eq(jstr(j, "payload.topic"), "readings/bed-9/temperature");
	cr_assert_str_eq(jstr(j, "payload.event.data.device"), "bed-9");
	json_decref(j);
	cr_assert(sse_until(sse, "\"topic\":\"readings/bed-9/temperature\"", &acc, &len), "and the SSE client: %s", acc);
	cr_assert(sse_until(sse, "event: alert_triggered", &acc, &len), "31.2 C raises an alert: %s", acc);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();

	/* health_events on the runtime's Kafka has the reading. */
	rd_kafka_t *reader = kafka_client(RD_KAFKA_CONSUMER, bootstrap_copy);
	/* every partition of the topic (the key spreads events over them) */
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(reader, "health_events", NULL);
	const struct rd_kafka_metadata *md = NULL;
	cr_assert_eq(rd_kafka_metadata(reader, 0, rkt, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
	cr_assert(md->topic_cnt == 1 && md->topics[0].partition_cnt > 0);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, "health_events", md->topics[0].partitions[i].id)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_assign(reader, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	bool found = false;
	for (double end = now_s() + 15; !found && now_s() < end;) {
		rd_kafka_message_t *km = rd_kafka_consumer_poll(reader, 200);
		if (km && !km->err)
			found = memmem(km->payload, km->len, "\"device\":\"bed-9\"", 16) != NULL;
		if (km)
			rd_kafka_message_destroy(km);
	}
	rd_kafka_consumer_close(reader);
	rd_kafka_destroy(reader);
	cr_assert(found, "health_events flows on one machine");

	close(sse);
	free(acc);
	ws_close(&c);
	down_started();
	up_state[0] = '\0';
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- hostile input (review findings) */

Test(sdk, hostile_input_is_refused_cleanly, .timeout = 60)
{
	const char *env[] = {"SERVICE_NAME=health-streaming", NULL};
	svc_proc p = start(IDP_HEALTH_STREAMING, env);
	/* /realtime/topic/{topic}: dot segments and long paths (the decoded
	 * topic once overflowed a buffer sized from the normalized path) */
	char longpath[1200] = "/realtime/topic/";
	memset(longpath + 16, 'x', 1000);
	longpath[1016] = '\0';
	const char *paths[] = {longpath, "/realtime/topic/a%00b", "/realtime/./topic/a"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		http_reply r = http(p.port, "POST", paths[i], "{}", NULL);
		cr_expect(r.status == 400 || r.status == 404, "%.40s: %d %s", paths[i], r.status, r.body);
		free(r.body);
	}
	http_reply r = http(p.port, "POST", "/realtime/topic/a%2Fb", "{}", NULL);
	cr_expect(strstr(r.body, "\"topic\":\"a/b\""), "%%2F decodes: %s", r.body);
	free(r.body);
	r = http(p.port, "POST", "/realtime/topic/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/../b", "{}", NULL);
	cr_expect(strstr(r.body, "\"topic\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/../b\""), "the topic is the raw path's: %s", r.body);
	free(r.body);
	/* an event type that would break SSE framing or overrun its header */
	char big_type[400];
	snprintf(big_type, sizeof big_type, "{\"topic\":\"t\",\"event_type\":\"%0300d\"}", 7);
	const char *types[] = {"{\"topic\":\"t\",\"event_type\":\"a\\ndata: forged\"}", big_type};
	for (size_t i = 0; i < 2; i++) {
		r = http(p.port, "POST", "/realtime/publish", types[i], NULL);
		cr_expect_eq(r.status, 400, "%s", r.body);
		cr_expect(strstr(r.body, "event_type"), "%s", r.body);
		free(r.body);
	}
	/* a handler that publishes while wslay is reading the same client's
	 * frames (an agent_request followed by a large frame in one write) */
	wsc c = ws_open(p.port, "/ws/events");
	json_decref(ws_expect(&c, "connection_established", 3000));
	const char req[] = "{\"message_type\":\"agent_request\",\"payload\":{\"query\":\"bed-1/heart_rate\",\"task_type\":\"reading\",\"parameters\":{\"value\":80}}}";
	size_t bigl = 9000;
	char *big = malloc(bigl + 64);
	int n = snprintf(big, bigl + 64, "{\"message_type\":\"ping\",\"payload\":{\"pad\":\"%0*d\"}}", (int)bigl, 0);
	/* both frames in one buffer, one send */
	int fd = c.fd;
	c.fd = -1;
	int pair[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	c.fd = pair[0];
	ws_send(&c, req);
	ws_send_frame(&c, 1, big, (size_t)n, true);
	char joined[20000];
	ssize_t jl = recv(pair[1], joined, sizeof joined, MSG_DONTWAIT);
	close(pair[0]);
	close(pair[1]);
	c.fd = fd;
	send_all(c.fd, joined, (size_t)jl);
	free(big);
	json_t *j = ws_expect(&c, "agent_response", 5000);
	cr_assert_not_null(j, "the agent_request is answered");
	cr_assert(json_is_true(json_object_get(json_object_get(j, "payload"), "success")));
	json_decref(j);
	j = ws_expect(&c, "pong", 5000);
	cr_assert_not_null(j, "and the large ping after it");
	json_decref(j);
	ws_close(&c);
	cr_assert_eq(stop(&p), 0);
}

/* A broker that starts after the service is found (libmosquitto does not
 * retry a first connect that failed), and a payload that is not UTF-8
 * reaches an SSE client in base64 instead of crashing the service. */
Test(sdk, mqtt_late_broker_and_binary_payload, .timeout = 60)
{
	if (!idp_fixture_have_program("mosquitto"))
		cr_skip_test("mosquitto is not installed");
	int mport = idp_fixture_free_port();
	char port_env[32];
	snprintf(port_env, sizeof port_env, "MQTT_PORT=%d", mport);
	const char *env[] = {"MQTT_HOST=127.0.0.1", port_env, "MQTT_TOPICS=raw/#", "SERVICE_NAME=raw-reader", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	usleep(300000);
	char *mdir;
	idp_fixture_daemon *broker = start_mosquitto_on(&mdir, mport);
	bool connected = false;
	for (double end = now_s() + 10; !connected && now_s() < end; usleep(100000)) {
		http_reply r = http(p.port, "GET", "/health", NULL, NULL);
		connected = strstr(r.body, "\"connected\":true") != NULL;
		free(r.body);
	}
	cr_assert(connected, "the service finds the broker that started after it");
	usleep(200000);
	int sse = dial(p.port);
	const char req[] = "GET /stream/events HTTP/1.1\r\nHost: svc\r\n\r\n";
	send_all(sse, req, sizeof req - 1);
	char *acc = calloc(1, 1);
	size_t len = 0;
	cr_assert(sse_until(sse, ": connected", &acc, &len));
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("raw-device", true, NULL);
	cr_assert_eq(mosquitto_connect(m, "127.0.0.1", mport, 10), MOSQ_ERR_SUCCESS);
	mosquitto_loop_start(m);
	mosquitto_publish(m, NULL, "raw/dev", 3, "\xff\xfe\x41", 1, false);
	cr_assert(sse_until(sse, "\"payload\":\"//5B\"", &acc, &len), "%s", acc);
	cr_assert(strstr(acc, "\"encoding\":\"base64\""), "%s", acc);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	close(sse);
	free(acc);
	cr_assert_eq(stop(&p), 0);
	idp_fixture_daemon_stop(broker);
	idp_fixture_rmtree(mdir);
	free(mdir);
}

/* A client that sends and never reads (here: a ping flood; wslay answers
 * each with a pong) is closed with 1008 once WS_MAX_QUEUED_BYTES wait for
 * it, instead of the service's memory growing with it. */
Test(sdk, a_client_that_does_not_read_is_closed, .timeout = 60)
{
	const char *env[] = {"REALTIME=1", "WS_MAX_QUEUED_BYTES=65536", NULL};
	svc_proc p = start(IDP_SDK_SERVICE, env);
	wsc c = ws_open(p.port, "/ws");
	char pad[120];
	memset(pad, 'p', sizeof pad);
	/* enough pongs to fill the kernel's buffers and then the service's */
	for (int i = 0; i < 200000; i++) {
		struct pollfd q = {c.fd, POLLOUT, 0};
		if (poll(&q, 1, 2000) <= 0)
			break; /* (the service stopped reading) */
		ws_send_frame(&c, 9, pad, sizeof pad, true);
	}
	int op = 0, code = -1;
	char *payload;
	size_t n;
	for (double end = now_s() + 20; now_s() < end && (op = ws_recv(&c, &payload, &n, 5000)) >= 0;) {
		if (op == 8) {
			code = n >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1]) : 0;
			free(payload);
			break;
		}
		free(payload);
	}
	/* A close frame (1008), or a reset: unread pings are still in the
	 * service's socket when it closes it, so the kernel may reset the
	 * connection and drop what the client had not read yet. */
	cr_assert(code == 1008 || op < 0, "closed for not reading (close code %d, last opcode %d)", code, op);
	bool gone = false; /* (asked while this side is still open: the service let go by itself) */
	for (double end = now_s() + 5; !gone && now_s() < end; usleep(50000)) {
		http_reply r = http(p.port, "GET", "/realtime/connections", NULL, NULL);
		gone = strstr(r.body, "\"websocket\":0") != NULL;
		free(r.body);
	}
	cr_assert(gone, "the service let the client go");
	ws_close(&c);
	cr_assert_eq(stop(&p), 0);
}
