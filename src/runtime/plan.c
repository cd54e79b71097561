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
	it->cluster = str_at(obj, "metadata.labels[\"app.oam.dev/cluster\"]");
	it->object = idp_arena_printf(a, "%s/%s/%s%s%s", k ? k : "?", it->namespace, it->name ? it->name : "?",
				      it->cluster ? "@" : "", it->cluster ? it->cluster : "");
	return it;
}

#define KAFKA_REASON "Kafka: librdkafka's mock cluster in the runtime (mock, no persistence)"

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
	} else if (strcmp(chart, "kafka") == 0) {
		idp_runtime_item *it = push(a, p, IDP_LOCAL_DAEMON, obj);
		it->namespace = ns ? ns : it->namespace;
		it->daemon = IDP_DAEMON_KAFKA;
		it->service_port = 9092;
		add_host(a, it, base, it->namespace);
		it->reason = KAFKA_REASON;
	} else if (strcmp(chart, "vcluster") == 0) {
		unavailable(a, p, obj, "the vcluster chart does not run here: what a topology places in its cluster runs in a "
				       "local scope of its own (data, addresses, hosts SVC.NS.CLUSTER.DOMAIN)");
	} else if (strcmp(chart, "mongodb") == 0) {
		unavailable(a, p, obj, "MongoDB: no local daemon yet (mongod is not run by the runtime)");
	} else {
		unavailable(a, p, obj, idp_arena_printf(a, "chart %s: no local equivalent is known", chart));
	}
}

/* A Knative Service whose image is local:PATH runs PATH behind the gateway. */
static void fill_process(idp_arena *a, idp_runtime_item *it, const idp_doc_node *c0);

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
	fill_process(a, it, c0);
}

/* Port, readiness path and envFrom Secrets of a Knative Service's container. */
static void fill_process(idp_arena *a, idp_runtime_item *it, const idp_doc_node *c0)
{
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


/* ---------------------------------------------------------------- Deployments of known software */

/* The repository of an image: registry, "library/" and tag dropped
 * (docker.io/library/postgres:13 -> postgres; bitnami/redis:7 -> bitnami/redis). */
static const char *image_repo(idp_arena *a, const char *image)
{
	const char *s = image;
	const char *slash = strchr(s, '/');
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      strncmp(s, "localhost/", 10) == 0))
		s = slash + 1; /* a registry host */
	if (strncmp(s, "library/", 8) == 0)
		s += 8;
	size_t n = strcspn(s, "@");
	const char *colon = memchr(s, ':', n);
	if (colon && !memchr(colon, '/', n - (size_t)(colon - s)))
		n = (size_t)(colon - s);
	return idp_arena_strndup(a, s, n);
}

typedef struct known_image {
	const char *repo;
	idp_runtime_daemon_kind kind;
} known_image;

/* docs/RUNTIME.md's table: image repositories run as local daemons. */
static const known_image known_images[] = {
	{"postgres", IDP_DAEMON_POSTGRESQL},      {"bitnami/postgresql", IDP_DAEMON_POSTGRESQL},
	{"redis", IDP_DAEMON_REDIS},              {"bitnami/redis", IDP_DAEMON_REDIS},
	{"eclipse-mosquitto", IDP_DAEMON_MOSQUITTO}, {"lensesio/fast-data-dev", IDP_DAEMON_KAFKA},
	{"bitnami/kafka", IDP_DAEMON_KAFKA},      {"apache/kafka", IDP_DAEMON_KAFKA},
	{"confluentinc/cp-kafka", IDP_DAEMON_KAFKA},
};

static const idp_doc_node *secret_named(idp_doc_node *const *objs, size_t n, const char *ns, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *kind = idp_doc_map_get_str(objs[i], "kind"), *on = str_at(objs[i], "metadata.name");
		const char *ons = str_at(objs[i], "metadata.namespace");
		if (kind && !strcmp(kind, "Secret") && on && !strcmp(on, name) && !strcmp(ons ? ons : "default", ns))
			return objs[i];
	}
	return NULL;
}

/* Whether key is one of the comma-separated keys of list. */
static bool listed(const char *list, const char *key)
{
	size_t kn = strlen(key);
	for (const char *s = list; s && *s;) {
		size_t n = strcspn(s, ",");
		if (n == kn && strncmp(s, key, n) == 0)
			return true;
		s += n + (s[n] == ',');
	}
	return false;
}

/* An environment variable of container c0: a literal (*value), or where a
 * Secret holds it (*secret, *key; its value may be generated). */
static bool container_var(idp_doc_node *const *objs, size_t n, const char *ns, const idp_doc_node *c0,
			  const char *var, const char **value, const char **secret, const char **key)
{
	*value = *secret = *key = NULL;
	const idp_doc_node *env = idp_doc_map_get(c0, "env");
	for (size_t i = 0; env && env->kind == IDP_DOC_SEQ && i < env->as.seq.len; i++) {
		const idp_doc_node *e = env->as.seq.items[i];
		const char *name = idp_doc_map_get_str(e, "name");
		if (!name || strcmp(name, var) != 0)
			continue;
		if ((*value = idp_doc_map_get_str(e, "value")))
			return true;
		*secret = str_at(e, "valueFrom.secretKeyRef.name");
		*key = str_at(e, "valueFrom.secretKeyRef.key");
		break;
	}
	const idp_doc_node *from = idp_doc_map_get(c0, "envFrom");
	for (size_t i = 0; !*secret && from && from->kind == IDP_DOC_SEQ && i < from->as.seq.len; i++) {
		const char *sname = str_at(from->as.seq.items[i], "secretRef.name");
		const idp_doc_node *sec = sname ? secret_named(objs, n, ns, sname) : NULL;
		const char *gen = str_at(sec, "metadata.annotations[\"platform.example.org/generate\"]");
		bool generated = listed(gen, var);
		if (sec && (idp_doc_map_get(idp_doc_map_get(sec, "stringData"), var) || generated)) {
			*secret = sname;
			*key = var;
		}
	}
	if (*secret && *key) { /* a literal in the Secret's stringData is a value */
		const idp_doc_node *sec = secret_named(objs, n, ns, *secret);
		const char *lit = idp_doc_map_get_str(idp_doc_map_get(sec, "stringData"), *key);
		if (lit)
			*value = lit;
		return true;
	}
	return false;
}

/* The core Services in ns whose selector picks pods labelled labels. */
static void services_selecting(idp_arena *a, idp_doc_node *const *objs, size_t n, const char *ns,
			       const idp_doc_node *labels, idp_runtime_item *it)
{
	for (size_t i = 0; labels && i < n; i++) {
		const char *api = idp_doc_map_get_str(objs[i], "apiVersion"), *kind = idp_doc_map_get_str(objs[i], "kind");
		const char *sns = str_at(objs[i], "metadata.namespace"), *name = str_at(objs[i], "metadata.name");
		if (!api || !kind || strcmp(api, "v1") || strcmp(kind, "Service") || !name || strcmp(sns ? sns : "default", ns))
			continue;
		const idp_doc_node *sel = idp_doc_map_get(idp_doc_map_get(objs[i], "spec"), "selector");
		bool match = sel && sel->kind == IDP_DOC_MAP && sel->as.map.len > 0;
		for (size_t k = 0; match && k < sel->as.map.len; k++) {
			const char *want = sel->as.map.items[k].value->kind == IDP_DOC_STR ? sel->as.map.items[k].value->as.str.ptr
											  : NULL;
			const char *have = idp_doc_map_get_str(labels, sel->as.map.items[k].key);
			match = want && have && strcmp(want, have) == 0;
		}
		if (match)
			add_host(a, it, name, ns);
	}
}

static void deployment(idp_arena *a, idp_runtime_plan *p, idp_doc_node *const *objs, size_t n, const idp_doc_node *obj)
{
	idp_doc_node *c0;
	if (idp_doc_path_get(obj, "spec.template.spec.containers[0]", &c0, NULL) != 0 || !idp_doc_map_get_str(c0, "image")) {
		unavailable(a, p, obj, "a Deployment without a container image");
		return;
	}
	const char *image = idp_doc_map_get_str(c0, "image"), *repo = image_repo(a, image);
	const known_image *known = NULL;
	for (size_t i = 0; i < sizeof known_images / sizeof *known_images && !known; i++)
		if (strcmp(known_images[i].repo, repo) == 0)
			known = &known_images[i];
	if (!known) {
		unavailable(a, p, obj,
			    idp_arena_printf(a, "image %s: no local daemon is known for it (containers are not run)", image));
		return;
	}
	idp_runtime_item *it = push(a, p, IDP_LOCAL_DAEMON, obj);
	it->daemon = known->kind;
	idp_doc_node *labels = NULL;
	if (idp_doc_path_get(obj, "spec.template.metadata.labels", &labels, NULL) != 0)
		labels = NULL;
	services_selecting(a, objs, n, it->namespace, labels, it);
	const char *value, *secret, *key;
	switch (known->kind) {
	case IDP_DAEMON_POSTGRESQL: {
		const char *user = container_var(objs, n, it->namespace, c0, "POSTGRES_USER", &value, &secret, &key) && value
					   ? value
					   : "postgres";
		const char *db = container_var(objs, n, it->namespace, c0, "POSTGRES_DB", &value, &secret, &key) && value
					 ? value
					 : user;
		if (strcmp(user, "postgres") == 0) {
			it->kind = IDP_LOCAL_UNAVAILABLE;
			it->reason = "POSTGRES_USER is postgres, the local cluster's own superuser: set another user";
			return;
		}
		it->user = user;
		it->database = db;
		if (container_var(objs, n, it->namespace, c0, "POSTGRES_PASSWORD", &value, &secret, &key) && secret) {
			it->secret = secret;
			it->password_key = key;
		}
		it->reason = "PostgreSQL (its own cluster) on its own loopback address";
		break;
	}
	case IDP_DAEMON_REDIS:
		if (container_var(objs, n, it->namespace, c0, "REDIS_PASSWORD", &value, &secret, &key) && secret) {
			it->secret = secret;
			it->password_key = key;
		}
		it->reason = "redis-server on its own loopback address";
		break;
	case IDP_DAEMON_MOSQUITTO:
		it->reason = "mosquitto on its own loopback address (anonymous: reachable from this machine only)";
		break;
	case IDP_DAEMON_KAFKA:
		it->service_port = 9092;
		it->reason = KAFKA_REASON;
		break;
	}
}

/* A namespace and a name become directory and file names under the state
 * directory: only DNS-1123 ones are run ("../x" would write outside it). */
static void refuse_bad_names(idp_arena *a, idp_runtime_item *it)
{
	if (it->kind == IDP_LOCAL_UNAVAILABLE)
		return;
	const char *why = !it->name ? "it has no metadata.name"
			  : it->cluster && idp_name_check_dns1123_label(it->cluster)
				  ? idp_arena_printf(a, "cluster \"%s\" is no DNS-1123 label", it->cluster)
			  : idp_name_check_dns1123_label(it->namespace)
				  ? idp_arena_printf(a, "namespace \"%s\" is no DNS-1123 label", it->namespace)
			  : idp_name_check_dns1123_subdomain(it->name)
				  ? idp_arena_printf(a, "name \"%s\" is no DNS-1123 subdomain", it->name)
				  : NULL;
	if (why) {
		it->kind = IDP_LOCAL_UNAVAILABLE;
		it->reason = idp_arena_printf(a, "not run: %s", why);
	}
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
		else if (strcmp(kind, "Deployment") == 0 && strcmp(group, "apps") == 0)
			deployment(a, out, objs, n, o);
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
		refuse_bad_names(a, &out->items[out->n - 1]);
	}
	return 0;
}

/* The last segment of an image's repository: ghcr.io/acme/orders:1.2 -> orders. */
static const char *image_name(idp_arena *a, const char *image)
{
	const char *repo = image_repo(a, image);
	const char *slash = strrchr(repo, '/');
	return slash ? slash + 1 : repo;
}

void idp_runtime_plan_local(idp_arena *a, idp_runtime_plan *p, idp_doc_node *const *objs, size_t n,
			    const idp_runtime_local_runs *runs)
{
	for (size_t i = 0; runs && i < p->n && i < n; i++) {
		idp_runtime_item *it = &p->items[i];
		const char *api = idp_doc_map_get_str(objs[i], "apiVersion"), *kind = idp_doc_map_get_str(objs[i], "kind");
		idp_doc_node *c0;
		if (it->kind != IDP_LOCAL_UNAVAILABLE || !api || !kind || strncmp(api, "serving.knative.dev/", 20) != 0 ||
		    strcmp(kind, "Service") != 0 || idp_doc_path_get(objs[i], "spec.template.spec.containers[0]", &c0, NULL) != 0 ||
		    !idp_doc_map_get_str(c0, "image"))
			continue;
		const char *name = image_name(a, idp_doc_map_get_str(c0, "image"));
		for (size_t k = 0; k < runs->n; k++) {
			const idp_runtime_local_run *run = &runs->items[k];
			if (strcmp(run->name, name) != 0)
				continue;
			it->kind = IDP_LOCAL_PROCESS;
			it->local = run;
			fill_process(a, it, c0);
			if (!it->health_path)
				it->health_path = run->health_path;
			it->reason = idp_arena_printf(a, "processes of LocalRun %s (%s/idp-local.yaml), started by the gateway "
							 "on demand",
						      run->name, run->dir);
			refuse_bad_names(a, it);
			break;
		}
	}
}
