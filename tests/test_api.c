/*
 * `idp serve` over real HTTP (suite "api"): a server started per test on
 * free loopback ports, its API reached directly and through the gateway;
 * an application that runs tests/gw_backend as its program.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "api/api_private.h"
#include "base/base.h"
#include "testutil.h"

typedef struct server {
	char *dir, state[4200];
	int api_port, gw_port;
	idp_fixture_daemon *d;
	char token[256];
} server;

static server srv;

static char *run_idp(char *const argv[], int *status)
{
	char *out = NULL, *err = NULL;
	*status = idp_fixture_run(argv, NULL, &out, &err);
	size_t n = strlen(out) + strlen(err) + 1;
	char *both = malloc(n);
	snprintf(both, n, "%s%s", out, err);
	free(out);
	free(err);
	return both;
}

static void start_server(void)
{
	srv.dir = idp_fixture_tmpdir();
	snprintf(srv.state, sizeof srv.state, "%s/state", srv.dir);
	srv.api_port = idp_fixture_free_port();
	srv.gw_port = idp_fixture_free_port();
	char listen[64], gateway[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", srv.api_port);
	snprintf(gateway, sizeof gateway, "127.0.0.1:%d", srv.gw_port);
	char *argv[] = {IDP_BIN, "serve", "--state", srv.state, "--listen", listen, "--gateway", gateway, NULL};
	srv.d = idp_fixture_daemon_start("serve", argv, srv.dir, srv.api_port, 20);
	cr_assert_not_null(srv.d, "idp serve did not start");
	char *create[] = {IDP_BIN, "token", "create", "ci", "--state", srv.state, NULL};
	int st;
	char *out = run_idp(create, &st);
	cr_assert_eq(st, 0, "%s", out);
	out[strcspn(out, "\n")] = 0;
	snprintf(srv.token, sizeof srv.token, "%s", out);
	free(out);
	cr_assert(strncmp(srv.token, "idp_ci_", 7) == 0, "%s", srv.token);
}

static void stop_server(void)
{
	idp_fixture_daemon_stop(srv.d);
	srv.d = NULL;
	if (srv.dir) {
		idp_fixture_rmtree(srv.dir);
		free(srv.dir);
		srv.dir = NULL;
	}
}

/* One request (Connection: close); the status, and the body in *body
 * (malloc'd). extra: more header lines ("Name: value\r\n..."), or NULL. */
static int http(int port, const char *method, const char *path, const char *extra, const char *body, char **out)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	*out = strdup("");
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	size_t blen = body ? strlen(body) : 0;
	idp_buf req = IDP_BUF_INIT;
	idp_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n", method, path,
		       blen, extra ? extra : "");
	if (body)
		idp_buf_append(&req, body, blen);
	size_t off = 0;
	while (off < req.len) {
		ssize_t w = write(fd, req.ptr + off, req.len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	idp_buf_free(&req);
	struct timeval tv = {60, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	idp_buf in = IDP_BUF_INIT;
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0)
		idp_buf_append(&in, chunk, (size_t)r);
	close(fd);
	const char *text = idp_buf_cstr(&in);
	const char *b = strstr(text, "\r\n\r\n");
	free(*out);
	*out = strdup(b ? b + 4 : "");
	int status = strncmp(text, "HTTP/1.1 ", 9) == 0 ? atoi(text + 9) : -1;
	idp_buf_free(&in);
	return status;
}

static const char *auth(void)
{
	static char h[400];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", srv.token);
	return h;
}

/* An Application whose webservice runs gw_backend through a script. */
static char *app_yaml(const char *name)
{
	char script[4300];
	snprintf(script, sizeof script, "%s/web.sh", srv.dir);
	const char *text = "#!/bin/sh\nexec " IDP_GW_BACKEND " \"$PORT\" web\n";
	free(idp_fixture_write_file(srv.dir, "web.sh", text, strlen(text)));
	chmod(script, 0755);
	idp_buf b = IDP_BUF_INIT;
	idp_buf_printf(&b,
		       "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: %s\nspec:\n  components:\n"
		       "  - name: web\n    type: webservice\n    properties:\n      image: local:%s\n      port: 8080\n"
		       "      healthPath: /health\n",
		       name, script);
	return idp_buf_detach(&b);
}

/* Tokens: only a keyed hash is stored; a check compares in constant time
 * and a token does not verify under another name. */
Test(api, tokens_are_kept_as_hashes_and_checked_by_name)
{
	char *dir = idp_fixture_tmpdir();
	idp_store *s;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_store_open(dir, &s, &err), 0, "%s", tu_errstr(&err));
	idp_arena *a = idp_arena_new();
	const char *t1, *t2, *who;
	cr_assert_eq(idp_api_token_create(s, a, "ci", &t1, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(idp_api_token_create(s, a, "deploy-bot", &t2, &err), 0);
	cr_expect_eq(idp_api_token_create(s, a, "ci", &t1, &err), IDP_EINPUT, "a name is taken once");
	idp_err_clear(&err);
	cr_expect_eq(idp_api_token_create(s, a, "Bad_Name", &t1, &err), IDP_EINPUT);
	idp_err_clear(&err);
	cr_assert_eq(idp_api_token_check(s, a, t2, &who, &err), 0);
	cr_expect_str_eq(who, "deploy-bot");
	/* The secret of one name under another name is no token. */
	const char *secret = strrchr(t2, '_') + 1;
	cr_expect_eq(idp_api_token_check(s, a, idp_arena_printf(a, "idp_ci_%s", secret), &who, &err), IDP_ENOTFOUND);
	cr_expect_eq(idp_api_token_check(s, a, "idp_ci_", &who, &err), IDP_ENOTFOUND);
	cr_expect_eq(idp_api_token_check(s, a, "bearer", &who, &err), IDP_ENOTFOUND);
	cr_expect_eq(idp_api_token_check(s, a, idp_arena_printf(a, "%sx", t2), &who, &err), IDP_ENOTFOUND);
	idp_store_close(s);
	/* Not in the database, not in its WAL. */
	char *db = idp_arena_printf(a, "%s/state.db", dir), *wal = idp_arena_printf(a, "%s/state.db-wal", dir);
	size_t len = 0;
	char *data = idp_fixture_read_file(db, &len);
	cr_expect(!data || !memmem(data, len, secret, strlen(secret)), "a token's secret is in state.db");
	free(data);
	data = idp_fixture_read_file(wal, &len);
	cr_expect(!data || !memmem(data, len, secret, strlen(secret)), "a token's secret is in the WAL");
	free(data);
	idp_arena_free(a);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(api, health_ready_metrics_docs_and_an_openapi_document_that_lists_every_route, .init = start_server,
     .fini = stop_server, .timeout = 60)
{
	char *body;
	cr_expect_eq(http(srv.api_port, "GET", "/health", NULL, NULL, &body), 200, "%s", body);
	cr_expect(strstr(body, "\"ok\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/ready", NULL, NULL, &body), 200, "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/docs", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "/api/v1/applications/{name}/tree"), "%s", body);
	free(body);

	/* Every route of the table is in the document, with its method. */
	cr_assert_eq(http(srv.api_port, "GET", "/openapi.json", NULL, NULL, &body), 200);
	idp_arena *a = idp_arena_new();
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "openapi.json", body, strlen(body), NULL, &s, &err), 0, "%s", tu_errstr(&err));
	const idp_doc_node *paths = idp_doc_map_get(s.docs[0], "paths");
	cr_expect_str_eq(idp_doc_map_get_str(s.docs[0], "openapi"), "3.1.0");
	for (size_t i = 0; i < api_n_routes; i++) {
		char method[16];
		snprintf(method, sizeof method, "%s", api_routes[i].method);
		for (char *p = method; *p; p++)
			*p = (char)(*p - 'A' + 'a');
		const idp_doc_node *op = idp_doc_map_get(idp_doc_map_get(paths, api_routes[i].pattern), method);
		cr_expect_not_null(op, "%s %s is not in /openapi.json", api_routes[i].method, api_routes[i].pattern);
		if (api_routes[i].mutating)
			cr_expect_not_null(idp_doc_map_get(op, "security"), "%s %s needs a token", api_routes[i].method,
					   api_routes[i].pattern);
	}
	/* ... and what the document lists is served (nothing there 404s). */
	for (size_t i = 0; paths && i < paths->as.map.len; i++) {
		const char *p = paths->as.map.items[i].key;
		if (strchr(p, '{') || !idp_doc_map_get(paths->as.map.items[i].value, "get") || strstr(p, "events") ||
		    strstr(p, "/ws"))
			continue;
		char *b2;
		int st = http(srv.api_port, "GET", p, NULL, NULL, &b2);
		cr_expect(st == 200, "GET %s: %d %s", p, st, b2);
		free(b2);
	}
	/* Valid against the OpenAPI 3.1 schema. */
	char *file = idp_fixture_write_file(srv.dir, "openapi.json", body, strlen(body));
	char *check[] = {"/usr/bin/python3", IDP_SOURCE_ROOT "/tests/api/check_openapi.py", file, NULL};
	int st;
	char *out = run_idp(check, &st);
	cr_expect_eq(st, 0, "/openapi.json is not valid OpenAPI 3.1:\n%s", out);
	free(out);
	free(file);
	free(body);
	idp_arena_free(a);

	/* /metrics: latency histograms per route, accepted by promtool. */
	cr_assert_eq(http(srv.api_port, "GET", "/metrics", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "idp_api_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/applications\""),
		  "%s", body);
	cr_expect(strstr(body, "idp_syncs_total{result=\"succeeded\"}"), "%s", body);
	if (idp_fixture_have_program("promtool")) {
		char *pt[] = {"promtool", "check", "metrics", NULL};
		char *o = NULL, *e = NULL;
		cr_expect_eq(idp_fixture_run(pt, body, &o, &e), 0, "promtool: %s%s", o, e);
		free(o);
		free(e);
	}
	free(body);

	/* Unknown routes and methods say so. */
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/nothing", NULL, NULL, &body), 404);
	cr_expect(strstr(body, "no API route"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "DELETE", "/api/v1/definitions", NULL, NULL, &body), 405);
	free(body);
	/* No signing secret: the Slack routes say so. */
	cr_expect_eq(http(srv.api_port, "POST", "/slack/command", NULL, "command=%2Fmicroservice", &body), 503);
	cr_expect(strstr(body, "SLACK_SIGNING_SECRET"), "%s", body);
	free(body);
}

Test(api, every_mutating_call_needs_a_valid_token_and_tokens_never_reach_the_log, .init = start_server,
     .fini = stop_server, .timeout = 60)
{
	char *yaml = app_yaml("guarded");
	for (size_t i = 0; i < api_n_routes; i++) {
		if (!api_routes[i].mutating)
			continue;
		char path[256];
		const char *pat = api_routes[i].pattern, *brace = strstr(pat, "{name}");
		if (brace)
			snprintf(path, sizeof path, "%.*sguarded%s", (int)(brace - pat), pat, brace + 6);
		else
			snprintf(path, sizeof path, "%s", pat);
		char *body;
		cr_expect_eq(http(srv.api_port, api_routes[i].method, path, NULL, yaml, &body), 401, "%s %s: %s",
			     api_routes[i].method, path, body);
		cr_expect(strstr(body, "Authorization: Bearer"), "the 401 says why: %s", body);
		free(body);
		cr_expect_eq(http(srv.api_port, api_routes[i].method, path, "Authorization: Bearer idp_ci_wrong\r\n", yaml,
				  &body),
			     401, "%s %s: %s", api_routes[i].method, path, body);
		cr_expect(strstr(body, "not valid"), "%s", body);
		free(body);
		cr_expect_eq(http(srv.api_port, api_routes[i].method, path, "Authorization: Basic eDp5\r\n", yaml, &body), 401);
		free(body);
	}
	/* Through the gateway too. */
	char *body;
	cr_expect_eq(http(srv.gw_port, "POST", "/api/v1/applications", NULL, yaml, &body), 401, "%s", body);
	free(body);
	/* A valid token works, until it is deleted. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/nosuch/pause", auth(), NULL, &body), 404, "%s", body);
	free(body);
	char *del[] = {IDP_BIN, "token", "delete", "ci", "--state", srv.state, NULL};
	int st;
	char *out = run_idp(del, &st);
	cr_expect_eq(st, 0, "%s", out);
	free(out);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/nosuch/pause", auth(), NULL, &body), 401, "%s", body);
	free(body);
	free(yaml);
	/* The server's log names the caller, never the token. */
	char log[4300];
	snprintf(log, sizeof log, "%s/serve.err", srv.dir);
	char *text = idp_fixture_read_file(log, NULL);
	cr_assert_not_null(text);
	cr_expect(strstr(text, "POST /api/v1/applications/nosuch/pause 404") && strstr(text, "by ci"), "%s", text);
	cr_expect(!strstr(text, srv.token + 7), "a token is in the log");
	cr_expect(!strstr(text, "idp_ci_wrong"), "a token is in the log");
	free(text);
	/* Token names are DNS labels. */
	char *bad[] = {IDP_BIN, "token", "create", "Not/A/Name", "--state", srv.state, NULL};
	out = run_idp(bad, &st);
	cr_expect_eq(st, 2, "%s", out);
	free(out);
}

/* The event stream from a raw socket: events after `after`, until one of
 * type want arrives or the time is up. */
static char *read_events(const char *query, const char *extra, const char *want, double limit)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.api_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char req[512];
	int n = snprintf(req, sizeof req, "GET /api/v1/events%s HTTP/1.1\r\nHost: x\r\n%s\r\n", query, extra ? extra : "");
	cr_assert_eq(write(fd, req, (size_t)n), n);
	idp_buf in = IDP_BUF_INIT;
	double until = tu_now() + limit;
	while (tu_now() < until && !(want && strstr(idp_buf_cstr(&in), want))) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		char chunk[8192];
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r <= 0)
			break;
		idp_buf_append(&in, chunk, (size_t)r);
	}
	close(fd);
	return idp_buf_detach(&in);
}

/* A WebSocket client: the handshake, then the text of each frame the
 * server sends (unmasked), one per line, until want is seen. */
static char *ws_events(const char *query, const char *want, double limit)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.api_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET /api/v1/ws%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			 query);
	cr_assert_eq(write(fd, req, (size_t)n), n);
	idp_buf in = IDP_BUF_INIT, text = IDP_BUF_INIT;
	double until = tu_now() + limit;
	size_t pos = 0;
	bool upgraded = false;
	while (tu_now() < until && !(want && strstr(idp_buf_cstr(&text), want))) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		char chunk[8192];
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r <= 0)
			break;
		idp_buf_append(&in, chunk, (size_t)r);
		if (!upgraded) {
			const char *end = strstr(idp_buf_cstr(&in), "\r\n\r\n");
			if (!end)
				continue;
			cr_assert(strncmp(in.ptr, "HTTP/1.1 101", 12) == 0, "%s", in.ptr);
			cr_expect(strstr(in.ptr, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "the accept key: %s", in.ptr);
			pos = (size_t)(end + 4 - in.ptr);
			upgraded = true;
		}
		for (;;) { /* whole frames from pos */
			const unsigned char *f = (const unsigned char *)in.ptr + pos;
			size_t avail = in.len - pos, head = 2, len;
			if (avail < 2)
				break;
			len = f[1] & 127;
			if (len == 126) {
				if (avail < 4)
					break;
				len = (size_t)f[2] << 8 | f[3];
				head = 4;
			}
			if (avail < head + len)
				break;
			cr_expect_eq(f[0], 0x81, "a final text frame");
			idp_buf_append(&text, f + head, len);
			idp_buf_putc(&text, '\n');
			pos += head + len;
		}
	}
	close(fd);
	idp_buf_free(&in);
	return idp_buf_detach(&text);
}

Test(api, an_application_from_post_to_delete_with_its_events, .init = start_server, .fini = stop_server,
     .timeout = 120)
{
	char *yaml = app_yaml("shop"), *body;
	cr_assert_eq(http(srv.api_port, "POST", "/api/v1/applications", auth(), yaml, &body), 201, "%s", body);
	cr_expect(strstr(body, "\"name\":\"shop\"") && strstr(body, "\"revision\""), "%s", body);
	free(body);
	/* Again: the same application, updated (200), through the gateway. */
	cr_expect_eq(http(srv.gw_port, "POST", "/api/v1/applications", auth(), yaml, &body), 200, "%s", body);
	free(body);

	/* It serves through the gateway (the replica is probed first). */
	int st = 0;
	char host[128];
	snprintf(host, sizeof host, "Host: web.default.localhost\r\n");
	for (double until = tu_now() + 20; tu_now() < until; usleep(100000)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.gw_port)};
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		connect(fd, (struct sockaddr *)&sa, sizeof sa);
		const char *req = "GET /echo HTTP/1.1\r\nHost: web.default.localhost\r\nConnection: close\r\n\r\n";
		cr_assert(write(fd, req, strlen(req)) > 0);
		char buf[2048] = "";
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "name=web")) {
			st = 200;
			break;
		}
	}
	cr_expect_eq(st, 200, "the application does not answer through the gateway");

	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"name\":\"shop\"") && strstr(body, "\"health\":\"Healthy\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/shop", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"object\":\"Service/default/web\"") && strstr(body, "\"components\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/shop/tree", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"component\":\"web\"") && strstr(body, "\"objects\":[{"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/nosuch", NULL, NULL, &body), 404);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/Bad_Name", NULL, NULL, &body), 400);
	free(body);

	/* Sync: a dry run says Synced; the history has the first sync. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/shop/sync", auth(), "{\"dry_run\": true}", &body), 200);
	cr_expect(strstr(body, "\"status\":\"Synced\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/shop/sync", auth(), "{\"dry_rn\": true}", &body), 400);
	cr_expect(strstr(body, "dry_rn"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/shop/syncs", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"result\":\"Succeeded\""), "%s", body);
	free(body);

	/* Pause and resume. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/shop/pause", auth(), NULL, &body), 200, "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/shop", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"paused\":true") && strstr(body, "\"health\":\"Suspended\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications/shop/resume", auth(), NULL, &body), 200, "%s", body);
	free(body);

	/* Bad input: a position in the posted document, nothing applied. */
	const char *bad = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: broken\nspec:\n"
			  "  components:\n  - name: web\n    type: webservice\n    properties:\n      image: x\n      port: eighty\n";
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/applications", auth(), bad, &body), 400);
	cr_expect(strstr(body, "\"line\":11") && strstr(body, "request body"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/broken", NULL, NULL, &body), 404);
	free(body);
	cr_expect_eq(http(srv.api_port, "PUT", "/api/v1/applications/other", auth(), yaml, &body), 400);
	cr_expect(strstr(body, "must agree"), "%s", body);
	free(body);

	/* Render and definitions, without a token (nothing changes). */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/render", NULL, yaml, &body), 200);
	cr_expect(strstr(body, "\"kind\":\"Service\"") && strstr(body, "serving.knative.dev/v1"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/render", NULL, bad, &body), 400);
	cr_expect(strstr(body, "\"line\":11"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/definitions", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"name\":\"webservice\"") && strstr(body, "\"name\":\"realtime-platform\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/definitions/webservice", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"parameters\""), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/definitions/nosuch", NULL, NULL, &body), 404, "%s", body);
	free(body);

	/* Events: replayed from the start, then after a Last-Event-ID. */
	char *ev = read_events("?after=0", NULL, "event: Synced", 10);
	cr_expect(strstr(ev, "text/event-stream"), "%s", ev);
	cr_expect(strstr(ev, "event: Health") && strstr(ev, "\"object\":\"Service/default/web\""), "%s", ev);
	cr_expect(strstr(ev, "event: Synced") && strstr(ev, "\"app\":\"shop\""), "%s", ev);
	free(ev);
	ev = read_events("", "Last-Event-ID: 2\r\n", "id: 3\n", 10);
	cr_expect(strstr(ev, "id: 3\n") && !strstr(ev, "id: 2\n") && !strstr(ev, "id: 1\n"), "%s", ev);
	free(ev);

	/* The same over a WebSocket: a text message per event. */
	ev = ws_events("?after=0", "\"type\":\"Synced\"", 10);
	cr_expect(strstr(ev, "\"type\":\"Health\"") && strstr(ev, "\"type\":\"Synced\""), "%s", ev);
	free(ev);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/ws", NULL, NULL, &body), 400, "%s", body);
	free(body);

	/* Delete (purge): gone, and its files with it. */
	cr_expect_eq(http(srv.api_port, "DELETE", "/api/v1/applications/shop?purge=true", auth(), NULL, &body), 200, "%s",
		     body);
	cr_expect(strstr(body, "\"purged\":true"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/shop", NULL, NULL, &body), 404);
	free(body);
	char gone[4400];
	struct stat sb;
	snprintf(gone, sizeof gone, "%s/gitops/shop-gitops", srv.state);
	cr_expect_neq(stat(gone, &sb), 0, "%s is still there", gone);
	free(yaml);
}

Test(api, a_stop_ends_event_streams_and_the_server_exits, .init = start_server, .fini = stop_server, .timeout = 60)
{
	/* A stream is open while the server is told to stop: it ends, and the
	 * server is gone within the fixture's grace (else it is killed and
	 * the fixture says so). */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.api_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *req = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert(write(fd, req, strlen(req)) > 0);
	char buf[1024];
	cr_assert(read(fd, buf, sizeof buf) > 0);
	double t0 = tu_now();
	idp_fixture_daemon_stop(srv.d);
	srv.d = NULL;
	cr_expect_lt(tu_now() - t0, 4.5, "the stop took %.1f s", tu_now() - t0);
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t r = 1;
	while (r > 0 && poll(&p, 1, 2000) > 0)
		r = read(fd, buf, sizeof buf);
	cr_expect_eq(r, 0, "the stream ended");
	close(fd);
	char log[4300];
	snprintf(log, sizeof log, "%s/serve.err", srv.dir);
	char *text = idp_fixture_read_file(log, NULL);
	cr_expect(text && strstr(text, "stopping (signal)") && !strstr(text, "Assertion") && !strstr(text, "ERROR: "),
		  "%s", text);
	free(text);
}

/* ---------------------------------------------------------------- the claim workflow */

/* GET path for host through the gateway (Connection: close): the whole
 * answer, head and body, in buf. */
static void gw_request(const char *host, const char *path, char *buf, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)srv.gw_port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	cr_assert_eq(write(fd, req, (size_t)n), n);
	size_t got = 0;
	ssize_t r;
	while (got < cap - 1 && (r = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	close(fd);
}

static const char c_claim[] = "apiVersion: platform.example.org/v1alpha1\nkind: ApplicationClaim\nmetadata:\n"
			      "  name: orders\nspec:\n  name: orders\n  language: c\n  framework: idp-sdk\n"
			      "  appContainer: shop\n";

/* GET /api/v1/workflows/ID until its state is no longer Running. */
static char *until_finished(long long id, double limit)
{
	char path[64], *body = NULL;
	snprintf(path, sizeof path, "/api/v1/workflows/%lld", id);
	for (double until = tu_now() + limit; tu_now() < until; usleep(100000)) {
		free(body);
		http(srv.api_port, "GET", path, NULL, NULL, &body);
		if (!strstr(body, "\"state\":\"Running\",\"step\""))
			break;
	}
	return body;
}

static int count_in(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* git log --format=%s of a repository: one subject a line (malloc'd). */
static char *git_subjects(const char *repo)
{
	char *argv[] = {"git", "-C", (char *)repo, "log", "--format=%s", NULL};
	int st;
	char *out = run_idp(argv, &st);
	cr_expect_eq(st, 0, "%s", out);
	return out;
}

Test(api, a_claim_becomes_a_running_service_through_its_workflow, .init = start_server, .fini = stop_server,
     .timeout = 180)
{
	if (!idp_fixture_have_program("meson") || !idp_fixture_have_program("ninja"))
		cr_skip_test("meson or ninja is not installed (the C template builds with them)");
	char *body;
	cr_assert_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), c_claim, &body), 202, "%s", body);
	cr_expect(strstr(body, "\"workflow\":1"), "%s", body);
	free(body);
	body = until_finished(1, 120);
	cr_expect(strstr(body, "\"state\":\"Succeeded\""), "%s", body);
	static const char *const steps[] = {"validate", "container", "scaffold", "update-oam", "sync", "wait", "notify"};
	for (size_t i = 0; i < 7; i++) {
		char want[64];
		snprintf(want, sizeof want, "{\"name\":\"%s\",\"state\":\"Succeeded\"", steps[i]);
		cr_expect(strstr(body, want), "step %s: %s", steps[i], body);
	}
	cr_expect(strstr(body, "\"seconds\":"), "steps are timed: %s", body);
	free(body);
	/* The service answers through the gateway, from its scaffolded source. */
	char buf[2048];
	gw_request("orders.default.localhost", "/health", buf, sizeof buf);
	cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\"service\":\"orders\""), "%s", buf);
	/* The GitOps repository has the component; the claim is filed. */
	char oam[4400];
	snprintf(oam, sizeof oam, "%s/gitops/shop-gitops/oam/applications/application.yaml", srv.state);
	char *text = idp_fixture_read_file(oam, NULL);
	cr_expect(text && strstr(text, "- name: orders") && strstr(text, "image: orders:latest"), "%s", text);
	free(text);
	/* Asked again: a new workflow that makes nothing twice. */
	cr_assert_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), c_claim, &body), 202, "%s", body);
	free(body);
	body = until_finished(2, 60);
	cr_expect(strstr(body, "\"state\":\"Succeeded\"") && strstr(body, "is there already (kept)") &&
			  strstr(body, "in the OAM Application already"),
		  "%s", body);
	free(body);
	char repo[4400];
	snprintf(repo, sizeof repo, "%s/gitops/shop-gitops", srv.state);
	char *log = git_subjects(repo);
	cr_expect_eq(count_in(log, "orders"), 1, "one commit adds orders:\n%s", log);
	free(log);
	/* Lists and lookups. */
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/claims/orders", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "\"id\":2"), "the newest: %s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/workflows?state=Succeeded", NULL, NULL, &body), 200);
	cr_expect_eq(count_in(body, "\"kind\":\"ApplicationClaim\""), 2, "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/workflows/99", NULL, NULL, &body), 404);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/claims/nosuch", NULL, NULL, &body), 404);
	free(body);
}

Test(api, a_bad_claim_fails_validation_before_anything_is_made, .init = start_server, .fini = stop_server,
     .timeout = 60)
{
	char *body;
	const char *java = "apiVersion: platform.example.org/v1alpha1\nkind: ApplicationClaim\nmetadata:\n  name: x\n"
			   "spec:\n  name: x\n  language: java\n  framework: springboot\n";
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), java, &body), 400);
	cr_expect(strstr(body, "no scaffold template for language java") && strstr(body, "\"line\":7"), "%s", body);
	free(body);
	const char *typo = "apiVersion: platform.example.org/v1alpha1\nkind: ApplicationClaim\nmetadata:\n  name: x\n"
			   "spec:\n  name: x\n  language: c\n  framework: idp-sdk\n  databse: postgres\n";
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), typo, &body), 400);
	cr_expect(strstr(body, "databse"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/workflows", NULL, NULL, &body), 200);
	cr_expect_str_eq(body, "{\"items\":[]}\n");
	free(body);
	char dir[4400];
	struct stat sb;
	snprintf(dir, sizeof dir, "%s/repos", srv.state);
	cr_expect_neq(stat(dir, &sb), 0, "nothing was made");
}

/* kill -9 of the server at each step in turn, after the step's work and
 * before it is recorded; the restarted server finishes the workflow once,
 * and nothing is made twice. */
Test(api, a_server_killed_at_any_step_finishes_the_workflow_once, .timeout = 600)
{
	if (!idp_fixture_have_program("meson") || !idp_fixture_have_program("ninja"))
		cr_skip_test("meson or ninja is not installed");
	static const char *const steps[] = {"validate", "container", "scaffold", "update-oam", "sync", "wait", "notify"};
	for (size_t i = 0; i < 7; i++) {
		setenv("IDP_TEST_KILL_AT_STEP", steps[i], 1);
		start_server();
		unsetenv("IDP_TEST_KILL_AT_STEP");
		char *body;
		cr_assert_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), c_claim, &body), 202, "%s", body);
		free(body);
		/* It dies at the step: the API stops answering. */
		double until = tu_now() + 60;
		while (tu_now() < until && http(srv.api_port, "GET", "/health", NULL, NULL, &body) == 200) {
			free(body);
			usleep(50000);
		}
		free(body);
		cr_expect_lt(tu_now(), until, "the server did not die at %s", steps[i]);
		idp_fixture_daemon_stop(srv.d);
		/* Restarted on the same state: the workflow resumes and ends once. */
		char listen[64], gateway[64];
		snprintf(listen, sizeof listen, "127.0.0.1:%d", srv.api_port);
		snprintf(gateway, sizeof gateway, "127.0.0.1:%d", srv.gw_port);
		char *argv[] = {IDP_BIN, "serve", "--state", srv.state, "--listen", listen, "--gateway", gateway, NULL};
		srv.d = idp_fixture_daemon_start("serve2", argv, srv.dir, srv.api_port, 20);
		cr_assert_not_null(srv.d);
		body = until_finished(1, 120);
		cr_expect(strstr(body, "\"state\":\"Succeeded\""), "killed at %s: %s", steps[i], body);
		cr_expect_eq(count_in(body, "\"state\":\"Succeeded\""), 8, "each step once, killed at %s: %s", steps[i],
			     body);
		free(body);
		cr_expect_eq(http(srv.api_port, "GET", "/api/v1/workflows", NULL, NULL, &body), 200);
		cr_expect_eq(count_in(body, "\"id\":"), 1, "one workflow: %s", body);
		free(body);
		char repo[4400];
		snprintf(repo, sizeof repo, "%s/gitops/shop-gitops", srv.state);
		char *log = git_subjects(repo);
		cr_expect_eq(count_in(log, "orders"), 1, "killed at %s: one commit adds orders:\n%s", steps[i], log);
		free(log);
		snprintf(repo, sizeof repo, "%s/repos/shop", srv.state);
		log = git_subjects(repo);
		cr_expect_eq(count_in(log, "orders"), 1, "killed at %s: one scaffold commit:\n%s", steps[i], log);
		free(log);
		cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications", NULL, NULL, &body), 200);
		cr_expect_eq(count_in(body, "\"name\":\"shop\""), 1, "%s", body);
		free(body);
		stop_server();
	}
}

/* ---------------------------------------------------------------- Slack */

/* Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack). */
#define SLACK_DOC_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_DOC_TS "1531420618"
#define SLACK_DOC_BODY                                                                                                 \
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar" \
	"&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks." \
	"slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015." \
	"47445629121.803a0bc887a14d10d2c447fce8b6703c"
#define SLACK_DOC_SIG "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

Test(api, slack_signatures_as_slack_documents_them)
{
	const char *why;
	size_t len = strlen(SLACK_DOC_BODY);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420618, &why), 0);
	/* The window stays: 300 s either way, not 301. */
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420918, &why), 0);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420919, &why),
		     IDP_EINPUT);
	cr_expect(strstr(why, "5 minutes"), "%s", why);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420317, &why),
		     IDP_EINPUT);
	cr_expect_eq(idp_api_slack_verify("another-secret", SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420618, &why),
		     IDP_EINPUT);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_SIG, SLACK_DOC_BODY, len - 1, 1531420618, &why),
		     IDP_EINPUT, "a changed body");
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, "15314x0618", SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420618, &why),
		     IDP_EINPUT);
	cr_expect(strstr(why, "not a number"), "%s", why);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, NULL, SLACK_DOC_SIG, SLACK_DOC_BODY, len, 1531420618, &why), IDP_EINPUT);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, NULL, SLACK_DOC_BODY, len, 1531420618, &why), IDP_EINPUT);
	cr_expect_eq(idp_api_slack_verify(SLACK_DOC_SECRET, SLACK_DOC_TS, "v0=a2", SLACK_DOC_BODY, len, 1531420618, &why),
		     IDP_EINPUT);
	idp_arena *a = idp_arena_new();
	cr_expect_str_eq(idp_api_form_get(a, SLACK_DOC_BODY, len, "command"), "/webhook-collect");
	cr_expect_str_eq(idp_api_form_get(a, SLACK_DOC_BODY, len, "text"), "");
	cr_expect_null(idp_api_form_get(a, SLACK_DOC_BODY, len, "nosuch"));
	cr_expect_str_eq(idp_api_form_get(a, "text=a+b%21&x=1", 15, "text"), "a b!");
	idp_arena_free(a);
}

/* The reference's parser rules as a table, corrected where the original
 * was wrong (marked). Columns: text, name, language, framework, database,
 * cache, namespace, realtime, container (NULL: the default). */
static const struct {
	const char *text, *name, *lang, *fw, *db, *cache, *ns, *rt, *app;
} parser_cases[] = {
	{"create order-service", "order-service", "python", "fastapi", "none", "none", "default", NULL, NULL},
	{"create order-service python with database with redis", "order-service", "python", "fastapi", "postgres", "redis",
	 "default", NULL, NULL},
	{"create payments java with database", "payments", "java", "springboot", "postgres", "none", "default", NULL, NULL},
	{"create api springboot", "api", "java", "springboot", "none", "none", "default", NULL, NULL},
	{"create billing fastapi with db", "billing", "python", "fastapi", "postgres", "none", "default", NULL, NULL},
	{"create users postgresql", "users", "python", "fastapi", "postgres", "none", "default", NULL, NULL},
	{"create users postgres redis", "users", "python", "fastapi", "postgres", "redis", "default", NULL, NULL},
	{"create cart with cache", "cart", "python", "fastapi", "none", "redis", "default", NULL, NULL},
	{"create cart without database without cache", "cart", "python", "fastapi", "none", "none", "default", NULL, NULL},
	{"create cart no-database no-cache", "cart", "python", "fastapi", "none", "none", "default", NULL, NULL},
	{"create cart with database without db", "cart", "python", "fastapi", "none", "none", "default", NULL, NULL},
	{"create inventory in namespace shop", "inventory", "python", "fastapi", "none", "none", "shop", NULL, NULL},
	{"create inventory ns shop", "inventory", "python", "fastapi", "none", "none", "shop", NULL, NULL},
	{"create called inventory", "inventory", "python", "fastapi", "none", "none", "default", NULL, NULL},
	{"create microservice inventory go", "inventory", "go", "gin", "none", "none", "default", NULL, NULL},
	/* corrected: nodejs, go and c are languages (the original made them python) */
	{"create web nodejs", "web", "nodejs", "express", "none", "none", "default", NULL, NULL},
	{"create web express with redis", "web", "nodejs", "express", "none", "redis", "default", NULL, NULL},
	{"create web golang", "web", "go", "gin", "none", "none", "default", NULL, NULL},
	{"create sensor c", "sensor", "c", "idp-sdk", "none", "none", "default", NULL, NULL},
	{"create sensor-c c with redis", "sensor-c", "c", "idp-sdk", "none", "redis", "default", NULL, NULL},
	/* corrected: "realtime NAME" names the platform, not the service */
	{"create vitals realtime health-streaming", "vitals", "python", "fastapi", "none", "none", "default",
	 "health-streaming", NULL},
	{"create vitals streaming hs1 python", "vitals", "python", "fastapi", "none", "none", "default", "hs1", NULL},
	/* corrected: iot is a flag (the original named the platform "true") */
	{"create vitals iot true", "vitals", "python", "fastapi", "none", "none", "default", "vitals-realtime", NULL},
	{"create vitals iot", "vitals", "python", "fastapi", "none", "none", "default", "vitals-realtime", NULL},
	{"create ledger app finance repo finance2", "ledger", "python", "fastapi", "none", "none", "default", NULL,
	 "finance2"},
	{"create Ledger Python WITH DATABASE", "ledger", "python", "fastapi", "postgres", "none", "default", NULL, NULL},
	{"create ledger description \"keeps the books\" c", "ledger", "c", "idp-sdk", "none", "none", "default", NULL, NULL},
};

Test(api, the_microservice_text_parser_table)
{
	idp_arena *a = idp_arena_new();
	for (size_t i = 0; i < sizeof parser_cases / sizeof *parser_cases; i++) {
		idp_api_service_request r;
		idp_err err = IDP_ERR_INIT;
		int rc = idp_api_parse_service(a, parser_cases[i].text, &r, &err);
		cr_assert_eq(rc, 0, "%s: %s", parser_cases[i].text, tu_errstr(&err));
#define FIELD(f, want)                                                                                                 \
	cr_expect((want) ? (r.f && strcmp(r.f, (want)) == 0) : r.f == NULL, "%s: " #f " is %s, want %s",              \
		  parser_cases[i].text, r.f ? r.f : "(null)", (want) ? (want) : "(null)")
		FIELD(name, parser_cases[i].name);
		FIELD(language, parser_cases[i].lang);
		FIELD(framework, parser_cases[i].fw);
		FIELD(database, parser_cases[i].db);
		FIELD(cache, parser_cases[i].cache);
		FIELD(ns, parser_cases[i].ns);
		FIELD(realtime, parser_cases[i].rt);
		FIELD(app_container, parser_cases[i].app);
#undef FIELD
	}
	/* No name: said, not guessed (the original took "realtime" as one). */
	static const char *const nameless[] = {"create", "create realtime health-streaming", "create python with database",
					       "create with redis", ""};
	for (size_t i = 0; i < sizeof nameless / sizeof *nameless; i++) {
		idp_api_service_request r;
		idp_err err = IDP_ERR_INIT;
		cr_expect_eq(idp_api_parse_service(a, nameless[i], &r, &err), IDP_EINPUT, "\"%s\" gave %s", nameless[i],
			     r.name ? r.name : "?");
		cr_expect(err.msg && strstr(err.msg, "which name"), "%s", tu_errstr(&err));
		idp_err_clear(&err);
	}
	idp_api_service_request r;
	idp_err err = IDP_ERR_INIT;
	cr_expect_eq(idp_api_parse_service(a, "create a-name-that-is-much-longer-than-thirty-nine-characters", &r, &err),
		     IDP_EINPUT);
	idp_err_clear(&err);
	idp_arena_free(a);
}

/* A local stand-in for Slack's incoming webhook: every body it receives,
 * one a line, in order. */
typedef struct receiver {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t mu;
	idp_buf got;
	volatile bool stop;
} receiver;

static void *receive(void *arg)
{
	receiver *rv = arg;
	while (!rv->stop) {
		struct pollfd p = {rv->fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(rv->fd, NULL, NULL);
		if (c < 0)
			continue;
		idp_buf in = IDP_BUF_INIT;
		char chunk[4096];
		ssize_t r;
		size_t need = 0;
		const char *head_end = NULL;
		struct timeval tv = {5, 0};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		while ((r = read(c, chunk, sizeof chunk)) > 0) {
			idp_buf_append(&in, chunk, (size_t)r);
			head_end = strstr(idp_buf_cstr(&in), "\r\n\r\n");
			if (head_end) {
				const char *cl = strcasestr(in.ptr, "content-length:");
				need = (size_t)(head_end + 4 - in.ptr) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
				if (in.len >= need)
					break;
			}
		}
		if (head_end) {
			pthread_mutex_lock(&rv->mu);
			idp_buf_append(&rv->got, head_end + 4, in.len - (size_t)(head_end + 4 - in.ptr));
			idp_buf_putc(&rv->got, '\n');
			pthread_mutex_unlock(&rv->mu);
		}
		const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
		if (write(c, ok, strlen(ok)) < 0)
			(void)0;
		close(c);
		idp_buf_free(&in);
	}
	return NULL;
}

static void receiver_start(receiver *rv)
{
	memset(rv, 0, sizeof(*rv));
	rv->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(bind(rv->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t len = sizeof sa;
	getsockname(rv->fd, (struct sockaddr *)&sa, &len);
	rv->port = ntohs(sa.sin_port);
	listen(rv->fd, 16);
	pthread_mutex_init(&rv->mu, NULL);
	pthread_create(&rv->thread, NULL, receive, rv);
}

static char *receiver_stop(receiver *rv)
{
	rv->stop = true;
	pthread_join(rv->thread, NULL);
	close(rv->fd);
	pthread_mutex_destroy(&rv->mu);
	return idp_buf_detach(&rv->got);
}

#define TEST_SLACK_SECRET "test-signing-secret"

/* POST a signed Slack request; ts_skew moves the timestamp, sig (when
 * given) replaces the signature. */
static int slack_post(const char *path, const char *body, long ts_skew, const char *sig, char **out)
{
	char ts[32], mac_hex[65], headers[512];
	snprintf(ts, sizeof ts, "%ld", (long)time(NULL) + ts_skew);
	crypto_auth_hmacsha256_state st;
	unsigned char mac[32];
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)TEST_SLACK_SECRET, strlen(TEST_SLACK_SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"v0:", 3);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(mac_hex, sizeof mac_hex, mac, sizeof mac);
	snprintf(headers, sizeof headers, "X-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: %s%s\r\n", ts,
		 sig ? "" : "v0=", sig ? sig : mac_hex);
	return http(srv.api_port, "POST", path, headers, body, out);
}

static bool debian_fastapi(void)
{
	char *argv[] = {"/usr/bin/python3", "-c", "import fastapi, uvicorn", NULL};
	char *out = NULL, *err = NULL;
	int st = idp_fixture_run(argv, NULL, &out, &err);
	free(out);
	free(err);
	return st == 0;
}

Test(api, slack_commands_are_signed_and_a_service_asked_for_in_slack_runs, .timeout = 400, .fini = stop_server)
{
	receiver rv;
	receiver_start(&rv);
	char hook[128];
	snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hook", rv.port);
	setenv("SLACK_SIGNING_SECRET", TEST_SLACK_SECRET, 1);
	setenv("SLACK_WEBHOOK_URL", hook, 1);
	/* The scaffold's LocalRun runs python3 -m uvicorn: Debian's. */
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", "/usr/bin:/bin:/usr/sbin:/sbin", 1);
	start_server();
	setenv("PATH", path, 1);
	free(path);
	unsetenv("SLACK_SIGNING_SECRET");
	unsetenv("SLACK_WEBHOOK_URL");

	char *body;
	const char *help = "command=%2Fmicroservice&text=help&user_name=ann";
	cr_expect_eq(http(srv.api_port, "POST", "/slack/command", NULL, help, &body), 401, "missing headers: %s", body);
	free(body);
	cr_expect_eq(slack_post("/slack/command", help, 0, "v0=00000000", &body), 401, "%s", body);
	free(body);
	cr_expect_eq(slack_post("/slack/command", help, -400, NULL, &body), 401, "stale: %s", body);
	cr_expect(strstr(body, "5 minutes"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/slack/command",
			  "X-Slack-Request-Timestamp: soon\r\nX-Slack-Signature: v0=00\r\n", help, &body),
		     401);
	cr_expect(strstr(body, "not a number"), "%s", body);
	free(body);
	/* Signed: every command's help, and unknown ones. */
	static const char *const helps[][2] = {{"%2Fmicroservice", "Microservice Management"},
					       {"%2Fservice", "Microservice Management"},
					       {"%2Fappcontainer", "AppContainer Management"},
					       {"%2Fapp-cont", "AppContainer Management"},
					       {"%2Fvcluster", "VCluster Management"}};
	for (size_t i = 0; i < 5; i++) {
		char form[128];
		snprintf(form, sizeof form, "command=%s&text=", helps[i][0]);
		cr_expect_eq(slack_post("/slack/command", form, 0, NULL, &body), 200);
		cr_expect(strstr(body, helps[i][1]) && strstr(body, "\"blocks\""), "%s: %s", helps[i][0], body);
		free(body);
	}
	cr_expect_eq(slack_post("/slack/command", "command=%2Fdeploy&text=x", 0, NULL, &body), 200);
	cr_expect(strstr(body, "❌ Unknown command: /deploy") && strstr(body, "ephemeral"), "%s", body);
	free(body);
	cr_expect_eq(slack_post("/slack/command", "command=%2Fmicroservice&text=create+x+java", 0, NULL, &body), 200);
	cr_expect(strstr(body, "❌") && strstr(body, "no scaffold template for language java"), "%s", body);
	free(body);
	cr_expect_eq(slack_post("/slack/command", "command=%2Fmicroservice&text=status+nosuch", 0, NULL, &body), 200);
	cr_expect(strstr(body, "❌ no microservice nosuch"), "%s", body);
	free(body);
	/* Events: the URL check, other events, bad JSON. */
	cr_expect_eq(slack_post("/slack/events", "{\"type\":\"url_verification\",\"challenge\":\"c-123\"}", 0, NULL, &body),
		     200);
	cr_expect_str_eq(body, "{\"challenge\":\"c-123\"}\n");
	free(body);
	cr_expect_eq(slack_post("/slack/events", "{\"type\":\"event_callback\"}", 0, NULL, &body), 200);
	free(body);
	cr_expect_eq(slack_post("/slack/events", "{not json", 0, NULL, &body), 400);
	cr_expect(strstr(body, "Invalid JSON payload"), "%s", body);
	free(body);

	if (!debian_fastapi() || !idp_fixture_have_program("redis-server") ||
	    !idp_fixture_have_program("/usr/lib/postgresql/15/bin/postgres")) {
		free(receiver_stop(&rv));
		cr_skip_test("Debian's python3-fastapi/uvicorn, redis-server or PostgreSQL 15 is not installed");
	}
	chmod(srv.dir, 0711); /* PostgreSQL runs as nobody when the tests run as root */
	/* The seed's Use Case 1, from Slack. */
	cr_assert_eq(slack_post("/slack/command",
				"command=%2Fmicroservice&text=create+order-service+python+with+database+with+redis"
				"&user_name=ann&channel_id=C1",
				0, NULL, &body),
		     200);
	cr_expect(strstr(body, "in_channel") && strstr(body, "🚀 Microservice `order-service` creation started") &&
			  strstr(body, "*Database:*\\npostgres") && strstr(body, "*Cache:*\\nredis"),
		  "%s", body);
	free(body);
	char *wf = NULL;
	for (double until = tu_now() + 240; tu_now() < until; usleep(200000)) {
		free(wf);
		http(srv.api_port, "GET", "/api/v1/claims/order-service", NULL, NULL, &wf);
		if (strstr(wf, "\"state\":\"Succeeded\",\"step\":\"done\"") || strstr(wf, "\"state\":\"Failed\""))
			break;
	}
	cr_expect(strstr(wf, "\"state\":\"Succeeded\",\"step\":\"done\""), "%s", wf);
	free(wf);
	/* The GitOps repository has the component; it answers through the gateway. */
	char oam[4400];
	snprintf(oam, sizeof oam, "%s/gitops/health-service-idp-gitops/oam/applications/application.yaml", srv.state);
	char *text = idp_fixture_read_file(oam, NULL);
	cr_expect(text && strstr(text, "- name: order-service"), "%s", text);
	free(text);
	char buf[4096];
	gw_request("order-service.default.localhost", "/health", buf, sizeof buf);
	cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "order-service"), "%s", buf);
	/* list and status in Slack. */
	cr_expect_eq(slack_post("/slack/command", "command=%2Fmicroservice&text=list", 0, NULL, &body), 200);
	cr_expect(strstr(body, "✅ `order-service` in `health-service-idp`: Succeeded"), "%s", body);
	free(body);
	cr_expect_eq(slack_post("/slack/command", "command=%2Fservice&text=status+order-service", 0, NULL, &body), 200);
	cr_expect(strstr(body, "*Health:*\\nHealthy") && strstr(body, "✅ update-oam"), "%s", body);
	free(body);
	/* Slack heard start, progress and success, in that order. */
	usleep(500000);
	char *heard = receiver_stop(&rv);
	const char *start = strstr(heard, "🚀 Microservice `order-service` creation started");
	const char *progress = strstr(heard, "⚡ `order-service`: scaffold done");
	const char *success = strstr(heard, "✅ Microservice `order-service` is ready");
	cr_expect(start && progress && success && start < progress && progress < success, "%s", heard);
	cr_expect(strstr(heard, "\"username\":\"Platform Bot\""), "%s", heard);
	free(heard);
	/* delete: the component goes (committed, synced, pruned). */
	cr_expect_eq(slack_post("/slack/command", "command=%2Fmicroservice&text=delete+order-service", 0, NULL, &body), 200);
	cr_expect(strstr(body, "removed from `health-service-idp`"), "%s", body);
	free(body);
	text = idp_fixture_read_file(oam, NULL);
	cr_expect(text && !strstr(text, "order-service"), "%s", text);
	free(text);
}

/* ---------------------------------------------------------------- deployments and the OAM webhook */

Test(api, a_build_sets_an_image_by_component_and_the_oam_webhook_runs_oam_driven_workflows, .init = start_server,
     .fini = stop_server, .timeout = 180)
{
	if (!idp_fixture_have_program("meson") || !idp_fixture_have_program("ninja"))
		cr_skip_test("meson or ninja is not installed");
	char *body;
	cr_assert_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), c_claim, &body), 202, "%s", body);
	free(body);
	body = until_finished(1, 120);
	cr_assert(strstr(body, "\"state\":\"Succeeded\""), "%s", body);
	free(body);
	/* simple-update: registry/svc:commit_sha; an unknown service is said. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/deployments?app=shop", auth(),
			  "{\"services\":\"orders,ghost\",\"registry\":\"ghcr.io/acme\",\"commit_sha\":\"abc1234\"}", &body),
		     200, "%s", body);
	cr_expect(strstr(body, "{\"name\":\"orders\",\"image\":\"ghcr.io/acme/orders:abc1234\",\"result\":\"updated\"}") &&
			  strstr(body, "\"name\":\"ghost\"") && strstr(body, "\"result\":\"unknown\"") && strstr(body, "\"synced\""),
		  "%s", body);
	free(body);
	/* update-deployments, as the source pipeline dispatched it to <app>-gitops. */
	const char *dispatch =
		"{\"event_type\":\"update-deployments\",\"client_payload\":{\"repository\":\"acme/shop-gitops\","
		"\"services\":\"orders,billing\",\"source_commit\":\"def5678\",\"deployments\":{\"orders\":{\"image\":"
		"\"docker.io/acme/orders:def5678\",\"commit\":\"def5678\"}}}}";
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/deployments", auth(), dispatch, &body), 200, "%s", body);
	cr_expect(strstr(body, "\"result\":\"updated\"") && strstr(body, "{\"name\":\"billing\",\"result\":\"skipped\""),
		  "%s", body);
	free(body);
	/* Again: nothing changes, no commit. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/deployments", auth(), dispatch, &body), 200, "%s", body);
	cr_expect(strstr(body, "\"result\":\"unchanged\"") && !strstr(body, "\"commit\""), "%s", body);
	free(body);
	char oam[4400];
	snprintf(oam, sizeof oam, "%s/gitops/shop-gitops/oam/applications/application.yaml", srv.state);
	char *text = idp_fixture_read_file(oam, NULL);
	cr_expect(text && strstr(text, "docker.io/acme/orders:def5678"), "%s", text);
	free(text);
	char repo[4400];
	snprintf(repo, sizeof repo, "%s/gitops/shop-gitops", srv.state);
	char *log = git_subjects(repo);
	cr_expect_eq(count_in(log, "Set the image of orders"), 2, "%s", log);
	free(log);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/deployments", auth(), "{\"services\":\"orders\"}", &body), 400);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/deployments?app=nosuch", auth(),
			  "{\"services\":\"x\",\"registry\":\"r\",\"commit_sha\":\"c\"}", &body),
		     404);
	free(body);

	/* The OAM webhook: an AdmissionReview, always allowed. */
	const char *review =
		"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u-1\","
		"\"operation\":\"CREATE\",\"object\":{\"apiVersion\":\"core.oam.dev/v1beta1\",\"kind\":\"Application\","
		"\"metadata\":{\"name\":\"shop\",\"generation\":1,\"labels\":{\"app-container\":\"shop\"}},"
		"\"spec\":{\"components\":[{\"name\":\"billing\",\"type\":\"webservice\",\"properties\":"
		"{\"image\":\"billing:1\",\"language\":\"c\"}},{\"name\":\"cache\",\"type\":\"redis\"},"
		"{\"name\":\"ids\",\"type\":\"identity-service\"}]}}}}";
	cr_expect_eq(http(srv.api_port, "POST", "/oam/webhook", auth(), review, &body), 200, "%s", body);
	cr_expect(strstr(body, "\"uid\":\"u-1\",\"allowed\":true") &&
			  strstr(body, "Processed 3 components (Pattern 3: 1, Pattern 2: 1, Pattern 1: 1)") &&
			  strstr(body, "billing (workflow 2)"),
		  "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/oam/webhook", auth(), review, &body), 200);
	cr_expect(strstr(body, "already processed") && strstr(body, "\"allowed\":true"), "%s", body);
	free(body);
	body = until_finished(2, 120);
	cr_expect(strstr(body, "\"state\":\"Succeeded\"") && strstr(body, "oam-driven") &&
			  strstr(body, "\"origin\":\"oam-webhook\""),
		  "%s", body);
	free(body);
	text = idp_fixture_read_file(oam, NULL);
	cr_expect(text && !strstr(text, "billing"), "an oam-driven request never edits the OAM file: %s", text);
	free(text);
	snprintf(repo, sizeof repo, "%s/repos/shop/microservices/billing/idp-local.yaml", srv.state);
	struct stat sb;
	cr_expect_eq(stat(repo, &sb), 0, "its source is scaffolded");
	/* Argo Events' shape; other operations and unlabelled objects are let through. */
	const char *argo = "{\"operation\":\"DELETE\",\"body\":\"{\\\"kind\\\":\\\"Application\\\"}\"}";
	cr_expect_eq(http(srv.api_port, "POST", "/oam/webhook", auth(), argo, &body), 200);
	cr_expect(strstr(body, "argo-events-trigger") && strstr(body, "ignored: operation DELETE"), "%s", body);
	free(body);
	const char *plain = "{\"operation\":\"CREATE\",\"body\":\"{\\\"kind\\\":\\\"Application\\\","
			    "\\\"metadata\\\":{\\\"name\\\":\\\"x\\\"}}\"}";
	cr_expect_eq(http(srv.api_port, "POST", "/oam/webhook", auth(), plain, &body), 200);
	cr_expect(strstr(body, "no app-container label") && strstr(body, "\"allowed\":true"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/oam/webhook", auth(), "[1", &body), 400);
	free(body);
}

/* ---------------------------------------------------------------- agent keys */

static int sync_runs(const char *app)
{
	char path[128], *body;
	snprintf(path, sizeof path, "/api/v1/applications/%s/syncs", app);
	http(srv.api_port, "GET", path, NULL, NULL, &body);
	int n = count_in(body, "\"result\":\"Succeeded\"");
	free(body);
	return n;
}

Test(api, agent_keys_become_the_realtime_namespaces_secret_and_change_it_only_when_they_change, .init = start_server,
     .fini = stop_server, .timeout = 120)
{
	if (!idp_fixture_have_program("/usr/lib/postgresql/15/bin/postgres") || !idp_fixture_have_program("mosquitto"))
		cr_skip_test("PostgreSQL 15 or mosquitto is not installed");
	chmod(srv.dir, 0711);
	const char *app = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: rt\nspec:\n"
			  "  components:\n  - name: health\n    type: realtime-platform\n";
	char *body;
	cr_assert_eq(http(srv.api_port, "POST", "/api/v1/applications", auth(), app, &body), 201, "%s", body);
	free(body);
	int runs = sync_runs("rt");
	cr_expect_eq(runs, 1, "the realtime platform's Deployments run as daemons become healthy");
	/* The .env import: other variables and comments are skipped. */
	const char *env = "LENSES_LICENSE_KEY=x\n# a comment\nhealth-realtime-agent-key=\"agent-key-one-123\"\r\n";
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/agent-keys", auth(), env, &body), 200, "%s", body);
	cr_expect_str_eq(body, "{\"items\":[{\"namespace\":\"health-realtime\"}]}\n");
	free(body);
	char file[4400];
	snprintf(file, sizeof file, "%s/apps/rt/secrets/health-realtime.lenses-credentials/AGENT_KEY", srv.state);
	char *value = idp_fixture_read_file(file, NULL);
	cr_expect(value && strcmp(value, "agent-key-one-123") == 0, "%s", value ? value : "(no file)");
	free(value);
	cr_expect_eq(sync_runs("rt"), runs + 1, "the Secret was added");
	/* The same key again: nothing changes (no sync run, no restart). */
	cr_expect_eq(http(srv.api_port, "PUT", "/api/v1/agent-keys/health-realtime", auth(),
			  "{\"agentKey\":\"agent-key-one-123\"}", &body),
		     200, "%s", body);
	free(body);
	cr_expect_eq(sync_runs("rt"), runs + 1, "an unchanged key changes nothing");
	/* Another key: the Secret follows. */
	cr_expect_eq(http(srv.api_port, "PUT", "/api/v1/agent-keys/health-realtime", auth(), "{\"agentKey\":\"agent-key-two\"}",
			  &body),
		     200, "%s", body);
	free(body);
	value = idp_fixture_read_file(file, NULL);
	cr_expect(value && strcmp(value, "agent-key-two") == 0, "%s", value ? value : "(no file)");
	free(value);
	cr_expect_eq(sync_runs("rt"), runs + 2);
	/* Never in git, never in a log, never in an object. */
	char *grep[] = {"grep", "-rl", "agent-key-", srv.dir, "--exclude-dir=secrets", NULL};
	int st;
	char *out = run_idp(grep, &st);
	cr_expect(!strstr(out, "/gitops/") && !strstr(out, ".err") && !strstr(out, ".out"), "found in: %s", out);
	free(out);
	/* Bad input. */
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/agent-keys", auth(), "Bad_NS-agent-key=x\n", &body), 400);
	cr_expect(strstr(body, "request body:1") && strstr(body, "Bad_NS"), "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "POST", "/api/v1/agent-keys", auth(), "OTHER=1\n", &body), 400);
	free(body);
	cr_expect_eq(http(srv.api_port, "DELETE", "/api/v1/agent-keys/health-realtime", auth(), NULL, &body), 200, "%s", body);
	free(body);
	cr_expect_eq(http(srv.api_port, "DELETE", "/api/v1/agent-keys/health-realtime", auth(), NULL, &body), 404);
	free(body);
}

/* ---------------------------------------------------------------- idp apply */

/* The seed's ApplicationClaim example (python/fastapi with PostgreSQL,
 * redis and a realtime platform) through `idp apply`, in process; killed
 * half-way once, then resumed by the next apply. */
Test(api, idp_apply_runs_the_seeds_claim_and_resumes_after_a_kill, .timeout = 300)
{
	if (!debian_fastapi() || !idp_fixture_have_program("redis-server") ||
	    !idp_fixture_have_program("/usr/lib/postgresql/15/bin/postgres") || !idp_fixture_have_program("mosquitto"))
		cr_skip_test("Debian's python3-fastapi/uvicorn, redis-server, PostgreSQL 15 or mosquitto is not installed");
	char *dir = idp_fixture_tmpdir();
	chmod(dir, 0711);
	char state[4200];
	snprintf(state, sizeof state, "%s/state", dir);
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", "/usr/bin:/bin:/usr/sbin:/sbin", 1); /* the LocalRun's python3 is Debian's */
	char *apply[] = {IDP_BIN, "apply", "-f", "embedded:examples/application-claim.yaml", "--state", state, "--listen",
			 "127.0.0.1:0", "--wait", "120", NULL};
	setenv("IDP_TEST_KILL_AT_STEP", "scaffold", 1);
	char *out = NULL, *err = NULL;
	int st = idp_fixture_run_timeout(apply, NULL, &out, &err, 120);
	unsetenv("IDP_TEST_KILL_AT_STEP");
	cr_expect_neq(st, 0, "killed at scaffold: %s%s", out, err);
	cr_expect(strstr(out, "container   Succeeded") && !strstr(out, "scaffold    Succeeded"), "%s", out);
	free(out);
	free(err);
	st = idp_fixture_run_timeout(apply, NULL, &out, &err, 250);
	setenv("PATH", path, 1);
	free(path);
	cr_expect_eq(st, 0, "%s%s", out, err);
	cr_expect(strstr(out, "workflow 1, resumed"), "the same workflow: %s", out);
	cr_expect(strstr(out, "scaffold    Succeeded microservices/my-health-service is there already (kept)"), "%s", out);
	cr_expect(strstr(out, "realtime platform health-streaming added") && strstr(out, "workflow 1 succeeded"), "%s", out);
	cr_expect(!strstr(out, "container   Succeeded"), "a finished step is not run again: %s", out);
	free(out);
	free(err);
	char port_file[4300];
	snprintf(port_file, sizeof port_file, "%s/gateway.port", state);
	char *port = idp_fixture_read_file(port_file, NULL);
	cr_assert_not_null(port);
	srv.gw_port = atoi(port);
	free(port);
	char buf[4096];
	gw_request("my-health-service.default.localhost", "/health", buf, sizeof buf);
	cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "my-health-service"), "%s", buf);
	char *down[] = {IDP_BIN, "down", "--state", state, "--purge", NULL};
	cr_expect_eq(idp_fixture_run_timeout(down, NULL, &out, &err, 60), 0, "%s%s", out, err);
	free(out);
	free(err);
	char *bad[] = {IDP_BIN, "apply", "-f", "embedded:examples/counter-app.yaml", "--state", state, NULL};
	cr_expect_eq(idp_fixture_run_timeout(bad, NULL, &out, &err, 60), 2, "an Application is no claim: %s%s", out, err);
	cr_expect(strstr(err, "takes an ApplicationClaim"), "%s", err);
	free(out);
	free(err);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* The other claims: filed in their container's claims/, composed, synced. */
Test(api, app_container_realtime_and_vcluster_claims_run_their_workflows, .init = start_server, .fini = stop_server,
     .timeout = 120)
{
	if (!idp_fixture_have_program("/usr/lib/postgresql/15/bin/postgres") || !idp_fixture_have_program("mosquitto"))
		cr_skip_test("PostgreSQL 15 or mosquitto is not installed");
	chmod(srv.dir, 0711);
	static const char *const files[] = {"app-container-claim", "realtime-platform-claim", "vcluster-environment-claim"};
	for (size_t i = 0; i < 3; i++) {
		char path[512];
		snprintf(path, sizeof path, IDP_SOURCE_ROOT "/catalog/claims/examples/%s.yaml", files[i]);
		char *yaml = idp_fixture_read_file(path, NULL), *body;
		cr_assert_not_null(yaml, "%s", path);
		cr_expect_eq(http(srv.api_port, "POST", "/api/v1/claims", auth(), yaml, &body), 202, "%s: %s", files[i], body);
		free(body);
		free(yaml);
		body = until_finished((long long)i + 1, 60);
		cr_expect(strstr(body, "\"state\":\"Succeeded\""), "%s: %s", files[i], body);
		free(body);
	}
	char *body;
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/claims/health-streaming", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "RealtimePlatformClaim health-streaming filed in claims/") &&
			  strstr(body, "a RealtimePlatformClaim has no source to scaffold"),
		  "%s", body);
	free(body);
	char file[4400];
	struct stat sb;
	snprintf(file, sizeof file, "%s/gitops/health-service-idp-gitops/claims/dev-env.yaml", srv.state);
	cr_expect_eq(stat(file, &sb), 0, "%s", file);
	snprintf(file, sizeof file, "%s/gitops/my-custom-repo-gitops/claims/my-custom-repo.yaml", srv.state);
	cr_expect_eq(stat(file, &sb), 0, "%s", file);
	/* The realtime platform's daemons run. */
	cr_expect_eq(http(srv.api_port, "GET", "/api/v1/applications/health-service-idp", NULL, NULL, &body), 200);
	cr_expect(strstr(body, "Deployment/health-streaming-realtime/kafka") && strstr(body, "\"local\":\"daemon\""), "%s",
		  body);
	free(body);
}
