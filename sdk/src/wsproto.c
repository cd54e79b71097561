/* The WebSocket message protocol: reading a client's frame into a request,
 * writing the server's frames, topics. No I/O here. */
#include "wsproto.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void utf8_sanitize(char *s);

static const char *str_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void fail(idp_ws_request *out, const char *fmt, const char *arg)
{
	out->kind = IDP_WS_ERROR;
	snprintf(out->error, sizeof out->error, fmt, arg ? arg : "");
}

static void read_subscription(idp_ws_request *out, json_t *payload, const char *type)
{
	const char *topic = str_member(payload, "topic");
	if (topic == NULL)
		return fail(out, "%s needs payload.topic (a string)", type);
	if (!idp_ws_topic_valid(topic, true))
		return fail(out, "invalid topic in %s: 1-256 bytes, + and # only as whole levels, # last", type);
	out->topic = topic;
}

static void read_agent_request(idp_ws_request *out, json_t *payload)
{
	const char *query = str_member(payload, "query");
	if (query == NULL || *query == '\0')
		return fail(out, "Query is required", NULL);
	json_t *params = json_object_get(payload, "parameters");
	if (params != NULL && !json_is_object(params) && !json_is_null(params))
		return fail(out, "payload.parameters must be an object", NULL);
	out->query = query;
	out->task_type = str_member(payload, "task_type");
	out->parameters = json_is_object(params) ? params : NULL;
}

static void read_request(const char *text, size_t len, size_t max_len, idp_ws_request *out)
{
	memset(out, 0, sizeof *out);
	if (len > max_len) {
		out->kind = IDP_WS_ERROR;
		snprintf(out->error, sizeof out->error, "message too large: %zu bytes (limit %zu)", len, max_len);
		return;
	}
	json_error_t jerr;
	out->msg = json_loadb(text, len, 0, &jerr);
	if (out->msg == NULL) {
		out->kind = IDP_WS_ERROR;
		snprintf(out->error, sizeof out->error, "Invalid JSON at line %d, column %d: %.120s", jerr.line,
			 jerr.column, jerr.text);
		return;
	}
	if (!json_is_object(out->msg))
		return fail(out, "a message is a JSON object with message_type and payload", NULL);
	out->message_id = str_member(out->msg, "message_id");
	out->correlation_id = str_member(out->msg, "correlation_id");
	const char *type = str_member(out->msg, "message_type");
	if (type == NULL)
		return fail(out, "message_type is required (a string)", NULL);
	json_t *payload = json_object_get(out->msg, "payload");
	if (payload != NULL && !json_is_object(payload) && !json_is_null(payload))
		return fail(out, "payload must be an object", NULL);
	if (strcmp(type, "subscribe") == 0) {
		out->kind = IDP_WS_SUBSCRIBE;
		read_subscription(out, payload, type);
	} else if (strcmp(type, "unsubscribe") == 0) {
		out->kind = IDP_WS_UNSUBSCRIBE;
		read_subscription(out, payload, type);
	} else if (strcmp(type, "ping") == 0) {
		out->kind = IDP_WS_PING;
	} else if (strcmp(type, "agent_request") == 0) {
		out->kind = IDP_WS_AGENT_REQUEST;
		read_agent_request(out, payload);
	} else {
		out->kind = IDP_WS_ERROR;
		snprintf(out->error, sizeof out->error, "Unknown message type: %.100s", type);
	}
}

static void finish(idp_ws_request *out)
{
	if (out->kind == IDP_WS_ERROR)
		utf8_sanitize(out->error);
}

void idp_ws_request_read(const char *text, size_t len, size_t max_len, idp_ws_request *out)
{
	read_request(text, len, max_len, out);
	finish(out);
}

void idp_ws_request_clear(idp_ws_request *r)
{
	json_decref(r->msg);
	memset(r, 0, sizeof *r);
}

char *idp_ws_frame(const char *message_type, json_t *payload, const char *response_to, const char *correlation_id)
{
	char id[37], ts[40];
	idp_ws_uuid(id);
	idp_ws_timestamp(ts);
	json_t *f = json_object();
	json_object_set_new(f, "message_id", json_string(id));
	json_object_set_new(f, "message_type", json_string(message_type));
	json_object_set_new(f, "payload", payload ? payload : json_object());
	json_object_set_new(f, "timestamp", json_string(ts));
	if (correlation_id)
		json_object_set_new(f, "correlation_id", json_string(correlation_id));
	if (response_to)
		json_object_set_new(f, "response_to", json_string(response_to));
	char *s = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(f);
	return s;
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
	if (k == 0 || k > n)
		return 0;
	for (size_t j = 1; j < k; j++)
		if ((s[j] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
	    (c == 0xF4 && s[1] >= 0x90))
		return 0;
	return k;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(s + i, n - i)) == 0)
			return false;
	return true;
}

/* Makes s valid UTF-8 in place: a byte that starts no well-formed
 * sequence (a cut one at the end, or input bytes quoted in a message)
 * becomes '?'. */
static void utf8_sanitize(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq((unsigned char *)s + i, n - i)) == 0) {
			s[i] = '?';
			k = 1;
		}
}

bool idp_ws_topic_valid(const char *topic, bool filter)
{
	size_t n = strlen(topic);
	if (n == 0 || n > 256 || !utf8_valid((const unsigned char *)topic, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (topic[i] != '+' && topic[i] != '#')
			continue;
		if (!filter)
			return false;
		bool whole = (i == 0 || topic[i - 1] == '/') && (i + 1 == n || topic[i + 1] == '/');
		if (!whole || (topic[i] == '#' && i + 1 != n))
			return false;
	}
	return true;
}

bool idp_ws_topic_matches(const char *filter, const char *topic)
{
	if (strcmp(filter, "events") == 0 || strcmp(filter, "#") == 0)
		return true;
	const char *f = filter, *t = topic;
	for (;;) {
		size_t fl = strcspn(f, "/"), tl = strcspn(t, "/");
		if (fl == 1 && f[0] == '#')
			return true;
		if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0))
			return false;
		f += fl;
		t += tl;
		if (*f == '\0' || *t == '\0')
			/* "a/#" also matches "a" */
			return *f == *t || (strcmp(f, "/#") == 0);
		f++;
		t++;
	}
}

/* Ids need to be unique, not secret: a per-thread xoshiro256** seeded
 * once from the kernel (a getrandom call per id was a tenth of the cost
 * of fanning out an event). */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next_random(void)
{
	static _Thread_local uint64_t st[4];
	static _Thread_local bool seeded;
	if (!seeded) {
		if (getrandom(st, sizeof st, 0) != (ssize_t)sizeof st) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			st[0] = (uint64_t)ts.tv_nsec ^ 0x9E3779B97F4A7C15ull;
			st[1] = (uint64_t)ts.tv_sec * 0xBF58476D1CE4E5B9ull;
			st[2] = (uint64_t)(uintptr_t)&seeded;
			st[3] = 0x94D049BB133111EBull;
		}
		seeded = true;
	}
	uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;
	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return r;
}

void idp_ws_uuid(char out[37])
{
	unsigned char b[16];
	uint64_t r0 = next_random(), r1 = next_random();
	memcpy(b, &r0, 8);
	memcpy(b + 8, &r1, 8);
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
}

void idp_ws_timestamp(char out[40])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06ldZ", ts.tv_nsec / 1000);
}
