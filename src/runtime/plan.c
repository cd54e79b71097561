/* What each rendered object becomes on one machine (docs/RUNTIME.md, "From
 * objects to local things"): a pure function of the objects, so that every
 * mapping is tested without starting anything, and nothing is dropped
 * silently: what has no local form is an item with a reason. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

static const char *str_at(const idp_doc_node *n, const char *path)
{
	idp_doc_node *v;
	return idp_doc_path_get(n, path, &v, NULL) == 0 && v->kind == IDP_DOC_STR ? v->as.str.ptr : NULL;
}

static void add_host(idp_arena *a, idp_runtime_item *it, const char *name, const char *ns)
{
	/* What workloads may write for a Service: svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local. */
	const char *forms[] = {name, idp_arena_printf(a, "%s.%s", name, ns), idp_arena_printf(a, "%s.%s.svc", name, ns),
			       idp_arena_printf(a, "%s.%s.svc.cluster.local", name, ns)};
	for (size_t i = 0; i < 4; i++) {
		it->hosts = idp_arena_grow(a, it->hosts, it->n_hosts, &it->hosts_cap, sizeof(*it->hosts));
		it->hosts[it->n_hosts++] = forms[i];
	}
}

static idp_runtime_item *push(idp_arena *a, idp_runtime_plan *p, idp_runtime_item_kind kind, const idp_doc_node *obj)
{
	p->items = idp_arena_grow(a, p->items, p->n, &p->cap, sizeof(*p->items));
	idp_runtime_item *it = &p->items[p->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	const char *k = idp_doc_map_get_str(obj, "kind"), *ns = str_at(obj, "metadata.namespace");
	it->name = str_at(obj, "metadata.name");
	it->namespace = ns ? ns : "default";
	it->object = idp_arena_printf(a, "%s/%s/%s", k ? k : "?", it->namespace, it->name ? it->name : "?");
	return it;
}

static void unavailable(idp_arena *a, idp_runtime_plan *p, const idp_doc_node *obj, const char *reason)
{
	push(a, p, IDP_LOCAL_UNAVAILABLE, obj)->reason = reason;
}

/* A Helm release of known software (Bitnami's charts and their Service names). */
static void helm_release(idp_arena *a, idp_runtime_plan *p, const idp_doc_node *obj)
{
	const idp_doc_node *fp = idp_doc_map_get(idp_doc_map_get(obj, "spec"), "forProvider");
	const char *chart = str_at(fp, "chart.name");
	const char *ns = str_at(fp, "namespace");
	const char *full = str_at(fp, "values.fullnameOverride");
	const char *release = str_at(obj, "metadata.name");
	const char *base = full ? full : release;
	if (!chart || !base) {
		unavailable(a, p, obj, "a Helm release without a chart name");
		return;
	}
	if (strcmp(chart, "redis") == 0) {
		idp_runtime_item *it = push(a, p, IDP_LOCAL_DAEMON, obj);
		it->namespace = ns ? ns : it->namespace;
		it->daemon = IDP_DAEMON_REDIS;
		it->secret = str_at(fp, "values.auth.existingSecret");
		it->password_key = str_at(fp, "values.auth.existingSecretPasswordKey");
		add_host(a, it, idp_arena_printf(a, "%s-master", base), it->namespace);
		add_host(a, it, base, it->namespace);
		it->reason = "redis-server on its own loopback address";
	} else if (strcmp(chart, "postgresql") == 0) {
		idp_runtime_item *it = push(a, p, IDP_LOCAL_DAEMON, obj);
		it->namespace = ns ? ns : it->namespace;
		it->daemon = IDP_DAEMON_POSTGRESQL;
		it->secret = str_at(fp, "values.auth.existingSecret");
		it->password_key = str_at(fp, "values.auth.secretKeys.userPasswordKey");
		it->user = str_at(fp, "values.auth.username");
		it->database = str_at(fp, "values.auth.database");
		add_host(a, it, base, it->namespace);
		it->reason = "PostgreSQL (its own cluster) on its own loopback address";
	} else if (strcmp(chart, "mongodb") == 0 || strcmp(chart, "kafka") == 0) {
		unavailable(a, p, obj,
			    idp_arena_printf(a, "the %s chart has no local daemon yet (mongod / a Kafka broker: issue 8)", chart));
	} else {
		unavailable(a, p, obj, idp_arena_printf(a, "chart %s: no local equivalent is known", chart));
	}
}

/* A Knative Service whose image is local:PATH runs PATH behind the gateway. */
static void knative_service(idp_arena *a, idp_runtime_plan *p, const idp_doc_node *obj)
{
	idp_doc_node *c0;
	if (idp_doc_path_get(obj, "spec.template.spec.containers[0]", &c0, NULL) != 0) {
		unavailable(a, p, obj, "a Knative Service without a container");
		return;
	}
	const char *image = idp_doc_map_get_str(c0, "image");
	if (!image || strncmp(image, "local:", 6) != 0 || !image[6]) {
		unavailable(a, p, obj,
			    idp_arena_printf(a, "image %s is no local program (image: local:PATH, or an idp-local.yaml "
						"that maps it; containers are not run)",
					     image ? image : "(none)"));
		return;
	}
	idp_runtime_item *it = push(a, p, IDP_LOCAL_PROCESS, obj);
	it->program = image + 6;
	it->port = 8080;
	idp_doc_node *port;
	if (idp_doc_path_get(c0, "ports[0].containerPort", &port, NULL) == 0 && port->kind == IDP_DOC_INT)
		it->port = (int)port->as.i;
	it->health_path = str_at(c0, "readinessProbe.httpGet.path");
	const idp_doc_node *from = idp_doc_map_get(c0, "envFrom");
	for (size_t i = 0; from && from->kind == IDP_DOC_SEQ && i < from->as.seq.len; i++) {
		const char *s = str_at(from->as.seq.items[i], "secretRef.name");
		if (!s)
			continue;
		it->env_from = idp_arena_grow(a, it->env_from, it->n_env_from, &it->env_from_cap, sizeof(*it->env_from));
		it->env_from[it->n_env_from++] = s;
	}
	it->reason = "processes started by the gateway on demand (scale to zero)";
}

static void secret(idp_arena *a, idp_runtime_plan *p, const idp_doc_node *obj)
{
	idp_runtime_item *it = push(a, p, IDP_LOCAL_SECRET, obj);
	const char *gen = str_at(obj, "metadata.annotations[\"platform.example.org/generate\"]");
	for (const char *s = gen; s && *s;) {
		size_t n = strcspn(s, ",");
		if (n) {
			it->generate = idp_arena_grow(a, it->generate, it->n_generate, &it->generate_cap, sizeof(*it->generate));
			it->generate[it->n_generate++] = idp_arena_strndup(a, s, n);
		}
		s += n + (s[n] == ',');
	}
	it->reason = "files (0600) and environment; generated values kept encrypted in the store";
}

int idp_runtime_plan_objects(idp_arena *a, idp_doc_node *const *objs, size_t n, idp_runtime_plan *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		const idp_doc_node *o = objs[i];
		const char *api = idp_doc_map_get_str(o, "apiVersion"), *kind = idp_doc_map_get_str(o, "kind");
		if (!api || !kind) {
			unavailable(a, out, o, "not a Kubernetes object");
			continue;
		}
		const char *slash = strchr(api, '/');
		size_t glen = slash ? (size_t)(slash - api) : 0;
		char group[128];
		snprintf(group, sizeof(group), "%.*s", (int)(glen < sizeof(group) ? glen : sizeof(group) - 1), api);
		if (strcmp(kind, "Release") == 0 && strcmp(group, "helm.crossplane.io") == 0)
			helm_release(a, out, o);
		else if (strcmp(kind, "Service") == 0 && strcmp(group, "serving.knative.dev") == 0)
			knative_service(a, out, o);
		else if (strcmp(kind, "Secret") == 0 && !*group)
			secret(a, out, o);
		else if (strcmp(kind, "ConfigMap") == 0 && !*group)
			push(a, out, IDP_LOCAL_CONFIG, o)->reason = "files and environment";
		else if (strcmp(kind, "Namespace") == 0 && !*group)
			push(a, out, IDP_LOCAL_NAMESPACE, o)->reason = "a scope of its own (data directory)";
		else if ((strcmp(kind, "Service") == 0 && !*group) || strcmp(group, "networking.istio.io") == 0)
			push(a, out, IDP_LOCAL_ROUTE, o)->reason = "taken by the gateway's routes";
		else if (strcmp(kind, "Job") == 0 && strcmp(group, "batch") == 0)
			unavailable(a, out, o, "a Job runs a container image; containers are not run locally");
		else if (strcmp(group, "repo.github.upbound.io") == 0 || strcmp(kind, "Repository") == 0)
			unavailable(a, out, o, "GitHub repositories are not made from one machine");
		else
			unavailable(a, out, o,
				    idp_arena_printf(a, "%s of %s has no local form", kind, *group ? group : "the core API"));
	}
	return 0;
}
