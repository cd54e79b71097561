/*
 * The route table: which service, tool or API a request goes to, built from
 * rendered objects (Knative Services, Istio VirtualServices and Gateways).
 * Matching is a linear walk over a few dozen entries per host; a table is
 * immutable once built, so swapping tables is atomic for the event loop.
 */
#include "gateway/gateway.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tool_names[IDP_GATEWAY_TOOL_COUNT] = {"argocd", "grafana", "prometheus", "jaeger", "kiali"};
/* The same with their path prefix (matched on every request: no printf). */
static const char *const tool_prefixes[IDP_GATEWAY_TOOL_COUNT] = {"/argocd", "/grafana", "/prometheus", "/jaeger", "/kiali"};

const char *idp_gateway_tool_name(idp_gateway_tool t)
{
	return t < IDP_GATEWAY_TOOL_COUNT ? tool_names[t] : "?";
}

void idp_gateway_config_defaults(idp_gateway_config *c)
{
	memset(c, 0, sizeof(*c));
	c->domain = "localhost";
	c->hold_timeout_s = 30;
	c->hold_max = 1000;
	c->probe_interval_s = 0.005;
	c->tick_s = 2;
	c->max_header_bytes = 16 * 1024;
	c->max_body_bytes = 64 << 20;
	c->idle_timeout_s = 60;
	idp_gateway_kpa_defaults(&c->kpa_defaults);
}

/* ---------------------------------------------------------------- the table */

typedef enum uri_kind { URI_ANY, URI_PREFIX, URI_EXACT, URI_REGEX } uri_kind;

typedef struct string_match {
	uri_kind kind;
	char *text;
	regex_t re;
	bool has_re;
} string_match;

typedef struct header_match {
	char *name;
	string_match value;
} header_match;

typedef struct destination {
	char *service; /* "<ns>/<name>" */
	double weight;
} destination;

typedef struct http_route {
	char *host;            /* lower case, no port */
	string_match uri;
	header_match *headers;
	size_t n_headers;
	char *rewrite;         /* rewrite.uri or NULL */
	double timeout_s;
	destination *dests;
	size_t n_dests;
	double total_weight;
} http_route;

typedef struct service_entry {
	char *key;      /* "<ns>/<name>" */
	char *probe;    /* readinessProbe.httpGet.path of the first container, or NULL */
	char **hosts;
	size_t n_hosts;
	idp_gateway_kpa_config kpa;
} service_entry;

struct idp_gateway_routes {
	const char *tools[IDP_GATEWAY_TOOL_COUNT];
	char *tool_urls[IDP_GATEWAY_TOOL_COUNT];
	char *api;
	service_entry *services;
	size_t n_services;
	http_route *routes;
	size_t n_routes;
	bool use_headers;              /* some route matches on request headers */
	bool lenient;                  /* config skip_foreign_destinations */
	const char **names;            /* for idp_gateway_routes_services */
	idp_gateway_kpa_config *configs;
};

static void string_match_free(string_match *m)
{
	free(m->text);
	if (m->has_re)
		regfree(&m->re);
}

static void http_route_free(http_route *h)
{
	free(h->host);
	string_match_free(&h->uri);
	for (size_t k = 0; k < h->n_headers; k++) {
		free(h->headers[k].name);
		string_match_free(&h->headers[k].value);
	}
	free(h->headers);
	free(h->rewrite);
	for (size_t k = 0; k < h->n_dests; k++)
		free(h->dests[k].service);
	free(h->dests);
}

void idp_gateway_routes_free(idp_gateway_routes *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_services; i++) {
		free(r->services[i].key);
		free(r->services[i].probe);
		for (size_t k = 0; k < r->services[i].n_hosts; k++)
			free(r->services[i].hosts[k]);
		free(r->services[i].hosts);
	}
	for (size_t i = 0; i < r->n_routes; i++)
		http_route_free(&r->routes[i]);
	for (int t = 0; t < IDP_GATEWAY_TOOL_COUNT; t++)
		free(r->tool_urls[t]);
	free(r->api);
	free(r->services);
	free(r->routes);
	free(r->names);
	free(r->configs);
	free(r);
}

static char *lower_dup(const char *s)
{
	char *d = idp_xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

static const char *meta_str(const idp_doc_node *o, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(o, "metadata"), key);
}

static bool is_kind(const idp_doc_node *o, const char *group_prefix, const char *kind)
{
	const char *api = idp_doc_map_get_str(o, "apiVersion"), *k = idp_doc_map_get_str(o, "kind");
	return api && k && strcmp(k, kind) == 0 && strncmp(api, group_prefix, strlen(group_prefix)) == 0;
}

static void add_host(service_entry *s, char *host)
{
	s->hosts = idp_xrealloc(s->hosts, (s->n_hosts + 1) * sizeof(*s->hosts));
	s->hosts[s->n_hosts++] = host;
}

/* The cluster a topology placed the object in (KubeVela's label), or NULL. */
static const char *cluster_of(const idp_doc_node *o)
{
	return idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(o, "metadata"), "labels"), "app.oam.dev/cluster");
}

static int add_knative_service(idp_gateway_routes *r, const idp_gateway_config *c, const idp_doc_node *o,
			       idp_err *err)
{
	const char *name = meta_str(o, "name"), *ns = meta_str(o, "namespace");
	if (!name)
		return idp_err_at(err, o->pos, "metadata.name", "a Knative Service needs a name");
	if (!ns)
		ns = "default";
	const char *why = idp_name_check_dns1123_label(name);
	if (why)
		return idp_err_at(err, o->pos, "metadata.name", "Knative Service name \"%s\": %s", name, why);
	r->services = idp_xrealloc(r->services, (r->n_services + 1) * sizeof(*r->services));
	service_entry *s = &r->services[r->n_services++];
	memset(s, 0, sizeof(*s));
	char buf[512];
	const char *cluster = cluster_of(o);
	if (cluster) {
		/* A topology's copy in another cluster (a vcluster, run locally as
		 * a scope of its own): NAME.NS.CLUSTER.DOMAIN, key NS/NAME@CLUSTER. */
		if ((why = idp_name_check_dns1123_label(cluster)))
			return idp_err_at(err, o->pos, "metadata.labels", "cluster \"%s\": %s", cluster, why);
		snprintf(buf, sizeof buf, "%s/%s@%s", ns, name, cluster);
		s->key = idp_xstrdup(buf);
		snprintf(buf, sizeof buf, "%s.%s.%s.%s", name, ns, cluster, c->domain);
		add_host(s, lower_dup(buf));
	} else {
		snprintf(buf, sizeof buf, "%s/%s", ns, name);
		s->key = idp_xstrdup(buf);
		snprintf(buf, sizeof buf, "%s.%s.%s", name, ns, c->domain);
		add_host(s, lower_dup(buf));
		snprintf(buf, sizeof buf, "%s.%s", name, ns);
		add_host(s, lower_dup(buf));
		snprintf(buf, sizeof buf, "%s.%s.svc.cluster.local", name, ns);
		add_host(s, lower_dup(buf));
	}
	s->kpa = c->kpa_defaults;
	const idp_doc_node *tmpl = idp_doc_map_get(idp_doc_map_get(o, "spec"), "template");
	const idp_doc_node *ann = idp_doc_map_get(idp_doc_map_get(tmpl, "metadata"), "annotations");
	const idp_doc_node *cc = idp_doc_map_get(idp_doc_map_get(tmpl, "spec"), "containerConcurrency");
	const idp_doc_node *containers = idp_doc_map_get(idp_doc_map_get(tmpl, "spec"), "containers");
	if (containers && containers->kind == IDP_DOC_SEQ && containers->as.seq.len > 0) {
		const idp_doc_node *probe = idp_doc_map_get(containers->as.seq.items[0], "readinessProbe");
		const char *path = idp_doc_map_get_str(idp_doc_map_get(probe, "httpGet"), "path");
		if (path)
			s->probe = idp_xstrdup(path);
	}
	int64_t limit = cc && cc->kind == IDP_DOC_INT ? cc->as.i : 0;
	if (cc && (cc->kind != IDP_DOC_INT || limit < 0 || limit > 1000))
		return idp_err_at(err, cc->pos, "spec.template.spec.containerConcurrency", "must be an integer in 0..1000");
	return idp_gateway_kpa_configure(&s->kpa, ann, limit, err);
}

static const service_entry *find_service(const idp_gateway_routes *r, const char *key)
{
	for (size_t i = 0; i < r->n_services; i++)
		if (strcmp(r->services[i].key, key) == 0)
			return &r->services[i];
	return NULL;
}

/* A VirtualService destination host: "svc", "svc.ns", "svc.ns.svc.cluster.local". */
static char *destination_key(const char *host, const char *vs_ns, const char *cluster)
{
	char name[256], ns[256];
	const char *dot = strchr(host, '.');
	if (!dot) {
		snprintf(name, sizeof name, "%s", host);
		snprintf(ns, sizeof ns, "%s", vs_ns);
	} else {
		snprintf(name, sizeof name, "%.*s", (int)(dot - host), host);
		const char *rest = dot + 1, *end = strchr(rest, '.');
		snprintf(ns, sizeof ns, "%.*s", end ? (int)(end - rest) : (int)strlen(rest), rest);
	}
	char key[800];
	snprintf(key, sizeof key, "%s/%s%s%s", ns, name, cluster ? "@" : "", cluster ? cluster : "");
	return idp_xstrdup(key);
}

/* Istio StringMatch: {exact|prefix|regex}. Regexes are RE2; POSIX ERE here
 * handles the anchored forms routes use. */
static int parse_string_match(const idp_doc_node *n, const char *path, string_match *m, idp_err *err)
{
	memset(m, 0, sizeof(*m));
	if (!n || n->kind != IDP_DOC_MAP)
		return idp_err_at(err, n ? n->pos : (idp_pos){0}, path, "must be a map with exact, prefix or regex");
	static const char *const keys[] = {"exact", "prefix", "regex"};
	for (int i = 0; i < 3; i++) {
		const char *v = idp_doc_map_get_str(n, keys[i]);
		if (!v)
			continue;
		m->kind = i == 0 ? URI_EXACT : i == 1 ? URI_PREFIX : URI_REGEX;
		m->text = idp_xstrdup(v);
		if (m->kind == URI_REGEX) {
			char *anchored = idp_xmalloc(strlen(v) + 3);
			sprintf(anchored, "^%s$", v); /* Istio regexes match the whole value */
			int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
			free(anchored);
			if (rc != 0)
				return idp_err_at(err, idp_doc_map_get(n, "regex")->pos, path, "bad regex \"%s\"", v);
			m->has_re = true;
		}
		return 0;
	}
	return idp_err_at(err, n->pos, path, "must have exact, prefix or regex");
}

static bool string_matches(const string_match *m, const char *s, size_t len)
{
	switch (m->kind) {
	case URI_ANY:
		return true;
	case URI_EXACT:
		return strlen(m->text) == len && memcmp(m->text, s, len) == 0;
	case URI_PREFIX:
		return strlen(m->text) <= len && memcmp(m->text, s, strlen(m->text)) == 0;
	case URI_REGEX: {
		char *copy = idp_xstrndup(s, len);
		bool ok = regexec(&m->re, copy, 0, NULL, 0) == 0;
		free(copy);
		return ok;
	}
	}
	return false;
}

/* "5s", "1.5s", "250ms", "1m" */
static int parse_duration(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	if (strcmp(end, "s") == 0)
		*out = v;
	else if (strcmp(end, "ms") == 0)
		*out = v / 1000;
	else if (strcmp(end, "m") == 0)
		*out = v * 60;
	else if (strcmp(end, "h") == 0)
		*out = v * 3600;
	else
		return -1;
	return 0;
}

/* The hosts a VirtualService serves: its own, with "*" replaced by the
 * hosts of the Gateways it is bound to. */
static size_t vs_hosts(const idp_doc_node *vs, idp_doc_node *const *objs, size_t n, const char **out, size_t max)
{
	size_t count = 0;
	const idp_doc_node *spec = idp_doc_map_get(vs, "spec");
	const idp_doc_node *hosts = idp_doc_map_get(spec, "hosts");
	const idp_doc_node *gws = idp_doc_map_get(spec, "gateways");
	const char *vs_ns = meta_str(vs, "namespace") ? meta_str(vs, "namespace") : "default";
	for (size_t i = 0; hosts && hosts->kind == IDP_DOC_SEQ && i < hosts->as.seq.len; i++) {
		const idp_doc_node *h = hosts->as.seq.items[i];
		if (h->kind != IDP_DOC_STR)
			continue;
		if (strcmp(h->as.str.ptr, "*") != 0) {
			if (count < max)
				out[count++] = h->as.str.ptr;
			continue;
		}
		for (size_t g = 0; gws && gws->kind == IDP_DOC_SEQ && g < gws->as.seq.len; g++) {
			const char *ref = gws->as.seq.items[g]->kind == IDP_DOC_STR ? gws->as.seq.items[g]->as.str.ptr : "";
			const char *slash = strchr(ref, '/');
			for (size_t k = 0; k < n; k++) {
				if (!is_kind(objs[k], "networking.istio.io/", "Gateway"))
					continue;
				const char *gname = meta_str(objs[k], "name");
				const char *gns = meta_str(objs[k], "namespace") ? meta_str(objs[k], "namespace") : "default";
				bool same = slash ? (strncmp(ref, gns, (size_t)(slash - ref)) == 0 && strlen(gns) == (size_t)(slash - ref) &&
						     strcmp(slash + 1, gname) == 0)
						  : (strcmp(ref, gname) == 0 && strcmp(gns, vs_ns) == 0);
				if (!same)
					continue;
				const idp_doc_node *servers = idp_doc_map_get(idp_doc_map_get(objs[k], "spec"), "servers");
				for (size_t s = 0; servers && servers->kind == IDP_DOC_SEQ && s < servers->as.seq.len; s++) {
					const idp_doc_node *sh = idp_doc_map_get(servers->as.seq.items[s], "hosts");
					for (size_t q = 0; sh && sh->kind == IDP_DOC_SEQ && q < sh->as.seq.len; q++) {
						const char *hv = sh->as.seq.items[q]->kind == IDP_DOC_STR ? sh->as.seq.items[q]->as.str.ptr : NULL;
						/* "ns/host" form: drop the namespace part */
						const char *hs = hv ? strchr(hv, '/') : NULL;
						if (hv && count < max)
							out[count++] = hs ? hs + 1 : hv;
					}
				}
			}
		}
	}
	return count;
}

static int add_http_route(idp_gateway_routes *r, const char *host, const idp_doc_node *route, const idp_doc_node *match,
			  const char *vs_ns, const char *cluster, const char *path, idp_err *err)
{
	r->routes = idp_xrealloc(r->routes, (r->n_routes + 1) * sizeof(*r->routes));
	http_route *h = &r->routes[r->n_routes++];
	memset(h, 0, sizeof(*h));
	h->host = lower_dup(host);
	if (match) {
		const idp_doc_node *uri = idp_doc_map_get(match, "uri");
		if (uri && parse_string_match(uri, path, &h->uri, err) != 0)
			return IDP_EINPUT;
		const idp_doc_node *headers = idp_doc_map_get(match, "headers");
		for (size_t i = 0; headers && headers->kind == IDP_DOC_MAP && i < headers->as.map.len; i++) {
			r->use_headers = true;
			h->headers = idp_xrealloc(h->headers, (h->n_headers + 1) * sizeof(*h->headers));
			header_match *hm = &h->headers[h->n_headers++];
			hm->name = lower_dup(headers->as.map.items[i].key);
			if (parse_string_match(headers->as.map.items[i].value, path, &hm->value, err) != 0)
				return IDP_EINPUT;
		}
	}
	const char *rewrite = idp_doc_map_get_str(idp_doc_map_get(route, "rewrite"), "uri");
	if (rewrite)
		h->rewrite = idp_xstrdup(rewrite);
	const char *timeout = idp_doc_map_get_str(route, "timeout");
	if (timeout && parse_duration(timeout, &h->timeout_s) != 0)
		return idp_err_at(err, idp_doc_map_get(route, "timeout")->pos, path, "bad timeout \"%s\" (like 5s or 250ms)",
				  timeout);
	const idp_doc_node *dests = idp_doc_map_get(route, "route");
	if (!dests || dests->kind != IDP_DOC_SEQ || dests->as.seq.len == 0)
		return idp_err_at(err, route->pos, path, "an HTTP route needs route[].destination");
	for (size_t i = 0; i < dests->as.seq.len; i++) {
		const idp_doc_node *d = dests->as.seq.items[i];
		const char *dhost = idp_doc_map_get_str(idp_doc_map_get(d, "destination"), "host");
		if (!dhost)
			return idp_err_at(err, d->pos, path, "route[%zu] needs destination.host", i);
		char *key = destination_key(dhost, vs_ns, cluster);
		if (!find_service(r, key) && r->lenient) {
			free(key); /* no Knative Service here: this destination is left out */
			continue;
		}
		if (!find_service(r, key)) {
			int rc = idp_err_at(err, idp_doc_map_get(d, "destination")->pos, path,
					    "destination %s is not a Knative Service of this application (%s)", dhost, key);
			free(key);
			return rc;
		}
		const idp_doc_node *w = idp_doc_map_get(d, "weight");
		double weight = w && w->kind == IDP_DOC_INT ? (double)w->as.i : dests->as.seq.len == 1 ? 100 : 0;
		h->dests = idp_xrealloc(h->dests, (h->n_dests + 1) * sizeof(*h->dests));
		h->dests[h->n_dests++] = (destination){key, weight};
		h->total_weight += weight;
	}
	if (h->n_dests == 0 && r->lenient) { /* every destination was left out: so is the route */
		http_route_free(h);
		r->n_routes--;
		return 0;
	}
	if (h->total_weight <= 0)
		return idp_err_at(err, dests->pos, path, "route weights add up to 0");
	return 0;
}

static int add_virtual_service(idp_gateway_routes *r, idp_doc_node *const *objs, size_t n, const idp_doc_node *vs,
			       idp_err *err)
{
	const char *hosts[64];
	size_t nh = vs_hosts(vs, objs, n, hosts, 64);
	const char *vs_ns = meta_str(vs, "namespace") ? meta_str(vs, "namespace") : "default";
	const idp_doc_node *http = idp_doc_map_get(idp_doc_map_get(vs, "spec"), "http");
	for (size_t i = 0; http && http->kind == IDP_DOC_SEQ && i < http->as.seq.len; i++) {
		const idp_doc_node *route = http->as.seq.items[i];
		const idp_doc_node *matches = idp_doc_map_get(route, "match");
		size_t nm = matches && matches->kind == IDP_DOC_SEQ ? matches->as.seq.len : 0;
		char path[96];
		snprintf(path, sizeof path, "spec.http[%zu]", i);
		for (size_t h = 0; h < nh; h++) {
			/* Each match is an alternative (OR); none means "everything". */
			for (size_t m = 0; m < (nm ? nm : 1); m++)
				if (add_http_route(r, hosts[h], route, nm ? matches->as.seq.items[m] : NULL, vs_ns, cluster_of(vs),
						   path, err) != 0)
					return IDP_EINPUT;
		}
	}
	return 0;
}

int idp_gateway_routes_build(const idp_gateway_config *c, idp_doc_node *const *objs, size_t n,
			     idp_gateway_routes **out, idp_err *err)
{
	idp_gateway_routes *r = idp_xcalloc(1, sizeof(*r));
	r->lenient = c->skip_foreign_destinations;
	for (int t = 0; t < IDP_GATEWAY_TOOL_COUNT; t++)
		if (c->tools[t]) {
			r->tool_urls[t] = idp_xstrdup(c->tools[t]);
			r->tools[t] = r->tool_urls[t];
		}
	if (c->api)
		r->api = idp_xstrdup(c->api);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (is_kind(objs[i], "serving.knative.dev/", "Service"))
			rc = add_knative_service(r, c, objs[i], err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (is_kind(objs[i], "networking.istio.io/", "VirtualService"))
			rc = add_virtual_service(r, objs, n, objs[i], err);
	if (rc != 0) {
		idp_gateway_routes_free(r);
		*out = NULL;
		return rc;
	}
	r->names = idp_xcalloc(r->n_services + 1, sizeof(*r->names));
	r->configs = idp_xcalloc(r->n_services + 1, sizeof(*r->configs));
	for (size_t i = 0; i < r->n_services; i++) {
		r->names[i] = r->services[i].key;
		r->configs[i] = r->services[i].kpa;
	}
	*out = r;
	return 0;
}

const char *idp_gateway_routes_probe_path(const idp_gateway_routes *r, const char *service)
{
	const service_entry *s = find_service(r, service);
	return s ? s->probe : NULL;
}

bool idp_gateway_routes_use_headers(const idp_gateway_routes *r)
{
	return r && r->use_headers;
}

size_t idp_gateway_routes_services(const idp_gateway_routes *r, const char ***names,
				   const idp_gateway_kpa_config **configs)
{
	*names = r->names;
	*configs = r->configs;
	return r->n_services;
}

/* ---------------------------------------------------------------- matching */

static bool host_equal(const char *pattern, const char *host, size_t hl)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		size_t pl = strlen(pattern) - 1; /* ".example.com" */
		return hl > pl && strncmp(host + hl - pl, pattern + 1, pl) == 0;
	}
	return strlen(pattern) == hl && strncmp(pattern, host, hl) == 0;
}

/* A path under prefix: "/grafana", "/grafana/..." or "/grafana?..." */
static bool under_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/' || path[n] == '?');
}

void idp_gateway_routes_match(const idp_gateway_routes *r, idp_arena *a, const char *host, const char *path,
			      const idp_gateway_header *headers, size_t n_headers, double pick,
			      idp_gateway_route_match *m)
{
	memset(m, 0, sizeof(*m));
	m->path = path;
	/* The platform's own prefixes win on every host. */
	if (under_prefix(path, "/api") || under_prefix(path, "/slack") || under_prefix(path, "/oam")) {
		m->target = IDP_GATEWAY_API;
		m->upstream = r->api;
		return;
	}
	for (int t = 0; t < IDP_GATEWAY_TOOL_COUNT; t++) {
		const char *prefix = tool_prefixes[t];
		if (!under_prefix(path, prefix))
			continue;
		m->target = IDP_GATEWAY_TOOL;
		m->tool = (idp_gateway_tool)t;
		m->upstream = r->tools[t];
		m->prefix = idp_arena_strdup(a, prefix);
		const char *rest = path + strlen(prefix);
		m->path = *rest == '/' ? rest : idp_arena_printf(a, "/%s", rest);
		return;
	}
	size_t hl = strcspn(host ? host : "", ":");
	char *h = idp_arena_strndup(a, host ? host : "", hl);
	for (char *p = h; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	size_t plen = strcspn(path, "?");
	for (size_t i = 0; i < r->n_routes; i++) {
		const http_route *rt = &r->routes[i];
		if (!host_equal(rt->host, h, hl) || !string_matches(&rt->uri, path, plen))
			continue;
		bool ok = true;
		for (size_t k = 0; ok && k < rt->n_headers; k++) {
			ok = false;
			for (size_t q = 0; q < n_headers && !ok; q++)
				ok = strcmp(headers[q].name, rt->headers[k].name) == 0 &&
				     string_matches(&rt->headers[k].value, headers[q].value, headers[q].value_len);
		}
		if (!ok)
			continue;
		double at = pick * rt->total_weight, sum = 0;
		const destination *d = &rt->dests[rt->n_dests - 1];
		for (size_t k = 0; k < rt->n_dests; k++) {
			sum += rt->dests[k].weight;
			if (at < sum) {
				d = &rt->dests[k];
				break;
			}
		}
		m->target = IDP_GATEWAY_SERVICE;
		m->service = d->service;
		m->timeout_s = rt->timeout_s;
		if (rt->rewrite) {
			/* Istio replaces the matched prefix (or the whole path). */
			size_t keep = rt->uri.kind == URI_PREFIX ? strlen(rt->uri.text) : plen;
			m->path = idp_arena_printf(a, "%s%s", rt->rewrite, path + keep);
		}
		return;
	}
	for (size_t i = 0; i < r->n_services; i++)
		for (size_t k = 0; k < r->services[i].n_hosts; k++)
			if (host_equal(r->services[i].hosts[k], h, hl)) {
				m->target = IDP_GATEWAY_SERVICE;
				m->service = r->services[i].key;
				return;
			}
	m->target = IDP_GATEWAY_NONE;
}
