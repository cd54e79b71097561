/* Addresses and environment on one machine: every daemon and process of a
 * plan gets a loopback address of its own (127.0.0.0/8 needs no set-up) and
 * keeps its declared port; the names workloads use for it (svc, svc.ns,
 * svc.ns.svc, svc.ns.svc.cluster.local) are rewritten to that address in
 * the values they read; a process's environment is built from the Secrets
 * it names, generated values included. */
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 127.1.0.2, 127.1.0.3, ...: plan order, so the same objects get the same
 * addresses on every run. 127.0.0.0/16 is left to the machine. */
void idp_runtime_assign_addresses(idp_arena *a, idp_runtime_plan *p)
{
	idp_runtime_assign_addresses_in(a, p, 1, 0);
}

static void add_own_names(idp_arena *a, idp_runtime_item *it)
{
	/* A Knative Service is reached by its own name too. */
	const char *forms[] = {it->name, idp_arena_printf(a, "%s.%s", it->name, it->namespace),
			       idp_arena_printf(a, "%s.%s.svc", it->name, it->namespace),
			       idp_arena_printf(a, "%s.%s.svc.cluster.local", it->name, it->namespace)};
	for (size_t k = 0; k < 4; k++) {
		it->hosts = idp_arena_grow(a, it->hosts, it->n_hosts, &it->hosts_cap, sizeof(*it->hosts));
		it->hosts[it->n_hosts++] = forms[k];
	}
}

/* Plan order, so the same objects get the same addresses on every run;
 * .0, .1 and .255 of the slot are left out. */
void idp_runtime_assign_addresses_in(idp_arena *a, idp_runtime_plan *p, unsigned net, unsigned slot)
{
	unsigned next = 2;
	for (size_t i = 0; i < p->n; i++) {
		idp_runtime_item *it = &p->items[i];
		if (it->kind != IDP_LOCAL_DAEMON && it->kind != IDP_LOCAL_PROCESS)
			continue;
		it->address = next <= 254 ? idp_arena_printf(a, "127.%u.%u.%u", net & 255, slot & 255, next) : NULL;
		next++;
		if (it->kind == IDP_LOCAL_PROCESS && it->n_hosts == 0)
			add_own_names(a, it);
	}
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static const char *rewrite(idp_arena *a, const idp_runtime_plan *p, const char *value, bool whole_is_host);

/* Names resolve within one cluster (a vcluster has its own DNS). */
static bool same_scope(const char *x, const char *y)
{
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

const char *idp_runtime_rewrite_hosts(idp_arena *a, const idp_runtime_plan *p, const char *value)
{
	return rewrite(a, p, value, true);
}

/* Whether an environment key names a host (DB_HOST, REDIS_ADDR, ...): only
 * then is a short name that is the whole value a host; DB_USER=counter
 * stays counter even where a service is called counter. */
static bool host_key(const char *key)
{
	static const char *const words[] = {"HOST", "ADDR", "SERVER", "ENDPOINT", "BROKER", "URL", "URI", "DSN"};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strstr(key, words[i]))
			return true;
	return false;
}

const char *idp_runtime_rewrite_env(idp_arena *a, const idp_runtime_plan *p, const char *key, const char *value)
{
	return rewrite(a, p, value, host_key(key));
}

static const char *rewrite(idp_arena *a, const idp_runtime_plan *p, const char *value, bool whole_is_host)
{
	idp_buf out = IDP_BUF_INIT;
	for (const char *s = value; *s;) {
		/* A host name is a maximal run of name characters; only whole names
		 * are rewritten (orders never turns into 127.1.0.2-service). */
		if (!host_char(*s)) {
			idp_buf_putc(&out, *s++);
			continue;
		}
		size_t n = 0;
		while (host_char(s[n]))
			n++;
		/* A short name (svc, svc.ns) is a host only where a host stands:
		 * the whole value, or a URL's authority (after // or @); "counter"
		 * the user name stays. Names with .svc are hosts anywhere. */
		bool whole = whole_is_host && s == value && !s[n];
		bool authority = (s - value >= 2 && s[-1] == '/' && s[-2] == '/' && s[n] != '@') ||
				 (s > value && s[-1] == '@'); /* //user@host: the user is no host */
		const char *addr = NULL;
		const idp_runtime_item *hit = NULL;
		for (size_t i = 0; i < p->n && !addr; i++)
			for (size_t k = 0; p->items[i].address && same_scope(p->items[i].cluster, p->scope) &&
					   k < p->items[i].n_hosts && !addr;
			     k++) {
				const char *h = p->items[i].hosts[k];
				if (strlen(h) == n && strncmp(h, s, n) == 0 && (whole || authority || strstr(h, ".svc"))) {
					addr = p->items[i].address;
					hit = &p->items[i];
				}
			}
		if (addr)
			idp_buf_puts(&out, addr);
		else
			idp_buf_append(&out, s, n);
		s += n;
		/* host:port of a daemon on another port than its Service's (Kafka's mock). */
		if (hit && hit->actual_port > 0 && *s == ':') {
			char *end;
			long port = strtol(s + 1, &end, 10);
			if (end != s + 1 && port == hit->service_port && !host_char(*end)) {
				idp_buf_printf(&out, ":%d", hit->actual_port);
				s = end;
			}
		}
	}
	const char *r = idp_arena_strndup(a, out.ptr ? out.ptr : "", out.len);
	idp_buf_free(&out);
	return r;
}

/* The Secret object named name in namespace ns of cluster scope among objs. */
static const idp_doc_node *find_secret(idp_doc_node *const *objs, size_t n, const char *scope, const char *ns,
				       const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *kind = idp_doc_map_get_str(objs[i], "kind");
		const idp_doc_node *meta = idp_doc_map_get(objs[i], "metadata");
		const char *on = idp_doc_map_get_str(meta, "name"), *ons = idp_doc_map_get_str(meta, "namespace");
		const char *cluster = idp_doc_map_get_str(idp_doc_map_get(meta, "labels"), "app.oam.dev/cluster");
		if (kind && strcmp(kind, "Secret") == 0 && on && strcmp(on, name) == 0 &&
		    strcmp(ons ? ons : "default", ns) == 0 && same_scope(cluster, scope))
			return objs[i];
	}
	return NULL;
}

void idp_runtime_env_put(idp_arena *a, idp_runtime_env *env, const char *key, const char *value)
{
	for (size_t i = 0; i < env->n; i++)
		if (strcmp(env->keys[i], key) == 0) {
			env->values[i] = value; /* a later Secret wins, as in Kubernetes' envFrom */
			return;
		}
	size_t cap = env->cap;
	env->keys = idp_arena_grow(a, env->keys, env->n, &cap, sizeof(*env->keys));
	env->values = idp_arena_grow(a, env->values, env->n, &env->cap, sizeof(*env->values));
	env->keys[env->n] = key;
	env->values[env->n++] = value;
}

int idp_runtime_secret_values(idp_arena *a, const idp_runtime_plan *p, idp_doc_node *const *objs, size_t n,
			      const char *ns, const char *name, idp_runtime_generate_fn generate, void *ctx,
			      idp_runtime_env *out, idp_err *err)
{
	const idp_doc_node *sec = find_secret(objs, n, p->scope, ns, name);
	if (!sec)
		return idp_err_set(err, IDP_EINPUT, "Secret %s/%s is not among the application's objects", ns, name);
	const idp_doc_node *sd = idp_doc_map_get(sec, "stringData");
	for (size_t i = 0; sd && sd->kind == IDP_DOC_MAP && i < sd->as.map.len; i++) {
		const idp_doc_node *v = sd->as.map.items[i].value;
		if (v->kind == IDP_DOC_STR)
			idp_runtime_env_put(a, out, sd->as.map.items[i].key,
					    idp_runtime_rewrite_env(a, p, sd->as.map.items[i].key, v->as.str.ptr));
	}
	const char *gen = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(sec, "metadata"), "annotations"),
					      "platform.example.org/generate");
	for (const char *s = gen; s && *s;) {
		size_t k = strcspn(s, ",");
		const char *key = idp_arena_strndup(a, s, k);
		s += k + (s[k] == ',');
		if (!*key)
			continue;
		idp_buf v = IDP_BUF_INIT;
		int rc = generate(ctx, ns, name, key, &v, err);
		if (rc == 0)
			idp_runtime_env_put(a, out, key, idp_arena_strndup(a, v.ptr ? v.ptr : "", v.len));
		idp_buf_free(&v);
		if (rc)
			return rc;
	}
	return 0;
}
