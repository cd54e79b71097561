/* The sync engine: plan (diff, order), health, guard, run. */
#include "sync/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS_SHOWN 20

/* ---------------------------------------------------------------- keys */

static const char *meta_str(const idp_doc_node *obj, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(obj, "metadata"), key);
}

const char *idp_sync_key(idp_arena *a, const idp_doc_node *obj)
{
	const char *api = idp_doc_map_get_str(obj, "apiVersion"), *kind = idp_doc_map_get_str(obj, "kind");
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
	/* A topology's copy for another cluster is another object. */
	const char *cluster = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(obj, "metadata"), "labels"),
						  "app.oam.dev/cluster");
	const char *slash = api ? strchr(api, '/') : NULL;
	const char *key = slash ? idp_arena_printf(a, "%.*s/%s/%s/%s", (int)(slash - api), api, kind ? kind : "?",
						   ns ? ns : "default", name ? name : "?")
				: idp_arena_printf(a, "%s/%s/%s", kind ? kind : "?", ns ? ns : "default", name ? name : "?");
	return cluster ? idp_arena_printf(a, "%s@%s", key, cluster) : key;
}

/* ---------------------------------------------------------------- health */

const char *idp_sync_health_name(idp_sync_health h)
{
	static const char *const names[] = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"};
	return h <= IDP_SYNC_UNKNOWN ? names[h] : "Unknown";
}

static int64_t int_at(const idp_doc_node *n, const char *path, int64_t dflt)
{
	idp_doc_node *v;
	return idp_doc_path_get(n, path, &v, NULL) == 0 && v->kind == IDP_DOC_INT ? v->as.i : dflt;
}

static const char *str_at(const idp_doc_node *n, const char *path)
{
	idp_doc_node *v;
	return idp_doc_path_get(n, path, &v, NULL) == 0 && v->kind == IDP_DOC_STR ? v->as.str.ptr : NULL;
}

/* The condition of that type in status.conditions, or NULL. */
static const idp_doc_node *condition(const idp_doc_node *obj, const char *type)
{
	const idp_doc_node *conds = idp_doc_map_get(idp_doc_map_get(obj, "status"), "conditions");
	for (size_t i = 0; conds && conds->kind == IDP_DOC_SEQ && i < conds->as.seq.len; i++) {
		const char *t = idp_doc_map_get_str(conds->as.seq.items[i], "type");
		if (t && strcmp(t, type) == 0)
			return conds->as.seq.items[i];
	}
	return NULL;
}

static const char *cond_why(idp_arena *a, const idp_doc_node *c, const char *dflt)
{
	const char *m = idp_doc_map_get_str(c, "message"), *r = idp_doc_map_get_str(c, "reason");
	if (m && r)
		return idp_arena_printf(a, "%s: %s", r, m);
	return m ? m : r ? r : dflt;
}

static idp_sync_health workload_health(idp_arena *a, const idp_doc_node *o, const char **why)
{
	if (!idp_doc_map_get(o, "status")) {
		*why = "no status yet";
		return IDP_SYNC_PROGRESSING;
	}
	int64_t want = int_at(o, "spec.replicas", 1);
	if (int_at(o, "status.observedGeneration", 0) < int_at(o, "metadata.generation", 0)) {
		*why = "waiting for the rollout to be observed";
		return IDP_SYNC_PROGRESSING;
	}
	int64_t updated = int_at(o, "status.updatedReplicas", 0), avail = int_at(o, "status.availableReplicas", 0);
	if (updated < want || avail < want) {
		*why = idp_arena_printf(a, "%lld of %lld replicas updated, %lld available", (long long)updated,
					(long long)want, (long long)avail);
		return IDP_SYNC_PROGRESSING;
	}
	return IDP_SYNC_HEALTHY;
}

static idp_sync_health conditions_health(idp_arena *a, const idp_doc_node *o, const char **why)
{
	const idp_doc_node *synced = condition(o, "Synced"), *ready = condition(o, "Ready");
	const char *ss = idp_doc_map_get_str(synced, "status"), *rs = idp_doc_map_get_str(ready, "status");
	if (ss && strcmp(ss, "False") == 0) { /* a Crossplane claim its provider cannot reconcile */
		*why = cond_why(a, synced, "not synced");
		return IDP_SYNC_DEGRADED;
	}
	if (!ready)
		return IDP_SYNC_HEALTHY;
	if (rs && strcmp(rs, "True") == 0)
		return IDP_SYNC_HEALTHY;
	*why = cond_why(a, ready, "not ready");
	/* Knative says False when it gave up; a claim is False while it is being made. */
	return rs && strcmp(rs, "False") == 0 && !synced ? IDP_SYNC_DEGRADED : IDP_SYNC_PROGRESSING;
}

idp_sync_health idp_sync_object_health(idp_arena *a, const idp_doc_node *o, const char **why)
{
	*why = NULL;
	if (!o) {
		*why = "not there";
		return IDP_SYNC_MISSING;
	}
	const char *kind = idp_doc_map_get_str(o, "kind");
	kind = kind ? kind : "";
	if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "ReplicaSet"))
		return workload_health(a, o, why);
	if (!strcmp(kind, "Job")) {
		const idp_doc_node *done = condition(o, "Complete"), *failed = condition(o, "Failed");
		const char *fs = idp_doc_map_get_str(failed, "status"), *ds = idp_doc_map_get_str(done, "status");
		if (fs && !strcmp(fs, "True")) {
			*why = cond_why(a, failed, "failed");
			return IDP_SYNC_DEGRADED;
		}
		if (ds && !strcmp(ds, "True"))
			return IDP_SYNC_HEALTHY;
		*why = "running";
		return IDP_SYNC_PROGRESSING;
	}
	if (!strcmp(kind, "PersistentVolumeClaim")) {
		const char *phase = str_at(o, "status.phase");
		if (phase && !strcmp(phase, "Bound"))
			return IDP_SYNC_HEALTHY;
		*why = idp_arena_printf(a, "phase %s", phase ? phase : "unknown");
		return phase && !strcmp(phase, "Lost") ? IDP_SYNC_DEGRADED : IDP_SYNC_PROGRESSING;
	}
	if (!strcmp(kind, "Pod")) {
		const char *phase = str_at(o, "status.phase");
		if (phase && (!strcmp(phase, "Running") || !strcmp(phase, "Succeeded")))
			return IDP_SYNC_HEALTHY;
		*why = idp_arena_printf(a, "phase %s", phase ? phase : "unknown");
		return phase && !strcmp(phase, "Failed") ? IDP_SYNC_DEGRADED : IDP_SYNC_PROGRESSING;
	}
	if (!strcmp(kind, "Secret") || !strcmp(kind, "ConfigMap") || !strcmp(kind, "Namespace"))
		return IDP_SYNC_HEALTHY;
	return conditions_health(a, o, why);
}

/* ---------------------------------------------------------------- diff */

static void add_field(idp_arena *a, idp_sync_step *s, const char *path)
{
	if (s->n_fields >= MAX_FIELDS_SHOWN)
		return;
	s->fields = idp_arena_grow(a, s->fields, s->n_fields, &s->fields_cap, sizeof(*s->fields));
	s->fields[s->n_fields++] = path;
}

static bool empty_value(const idp_doc_node *n)
{
	return n->kind == IDP_DOC_NULL || (n->kind == IDP_DOC_MAP && n->as.map.len == 0) ||
	       (n->kind == IDP_DOC_SEQ && n->as.seq.len == 0);
}

/* Fields of desired that live lacks or has otherwise. depth 0 is the object. */
static void compare(idp_arena *a, idp_sync_step *s, const char *path, const idp_doc_node *d, const idp_doc_node *l,
		    int depth)
{
	if (d->kind == IDP_DOC_MAP) {
		if (!l || l->kind != IDP_DOC_MAP) {
			if (!(l == NULL && empty_value(d)))
				add_field(a, s, *path ? path : "(the object)");
			return;
		}
		for (size_t i = 0; i < d->as.map.len; i++) {
			const char *k = d->as.map.items[i].key;
			if (depth == 0 && strcmp(k, "status") == 0)
				continue; /* the target's to say */
			const idp_doc_node *lv = idp_doc_map_get(l, k);
			const char *sub = *path ? idp_arena_printf(a, "%s.%s", path, k) : k;
			if (!lv) {
				if (!empty_value(d->as.map.items[i].value))
					add_field(a, s, sub);
				continue;
			}
			compare(a, s, sub, d->as.map.items[i].value, lv, depth + 1);
		}
		return;
	}
	if (d->kind == IDP_DOC_SEQ) {
		if (!l || l->kind != IDP_DOC_SEQ || l->as.seq.len != d->as.seq.len) {
			add_field(a, s, path);
			return;
		}
		for (size_t i = 0; i < d->as.seq.len; i++)
			compare(a, s, idp_arena_printf(a, "%s[%zu]", path, i), d->as.seq.items[i], l->as.seq.items[i],
				depth + 1);
		return;
	}
	if (!l || !idp_doc_equal(d, l))
		add_field(a, s, path);
}

/* ---------------------------------------------------------------- order */

/* gitops-engine's kind order: what others need first; kinds it does not
 * list (custom resources) after all of these. */
static int kind_rank(const char *kind)
{
	static const char *const order[] = {
		"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
		"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
		"PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
		"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet",
		"Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet",
		"Job", "CronJob", "IngressClass", "Ingress", "APIService"};
	for (size_t i = 0; kind && i < sizeof order / sizeof *order; i++)
		if (strcmp(order[i], kind) == 0)
			return (int)i;
	return (int)(sizeof order / sizeof *order);
}

static int phase_of(const idp_doc_node *o)
{
	const char *hook = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(o, "metadata"), "annotations"),
					       "argocd.argoproj.io/hook");
	if (hook && strstr(hook, "PreSync"))
		return 0;
	if (hook && strstr(hook, "PostSync"))
		return 2;
	return 1;
}

static int wave_of(const idp_doc_node *o, long *wave, idp_err *err)
{
	const idp_doc_node *ann = idp_doc_map_get(idp_doc_map_get(o, "metadata"), "annotations");
	const idp_doc_node *v = idp_doc_map_get(ann, "argocd.argoproj.io/sync-wave");
	*wave = 0;
	if (!v)
		return 0;
	char *end = NULL;
	errno = 0;
	if (v->kind == IDP_DOC_STR)
		*wave = strtol(v->as.str.ptr, &end, 10);
	if (v->kind != IDP_DOC_STR || errno || end == v->as.str.ptr || *end)
		return idp_err_at(err, v->pos, "metadata.annotations[\"argocd.argoproj.io/sync-wave\"]",
				  "a sync wave is an integer in a string, e.g. \"-1\"");
	return 0;
}

static int step_cmp(const void *x, const void *y)
{
	const idp_sync_step *a = x, *b = y;
	bool ap = a->action == IDP_SYNC_PRUNE, bp = b->action == IDP_SYNC_PRUNE;
	if (ap != bp)
		return ap ? 1 : -1; /* prunes last */
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->wave != b->wave)
		return (a->wave < b->wave ? -1 : 1) * (ap ? -1 : 1); /* prunes: highest wave first */
	const idp_doc_node *oa = a->desired ? a->desired : a->live, *ob = b->desired ? b->desired : b->live;
	int ka = kind_rank(idp_doc_map_get_str(oa, "kind")), kb = kind_rank(idp_doc_map_get_str(ob, "kind"));
	if (ka != kb)
		return (ka < kb ? -1 : 1) * (ap ? -1 : 1);
	return strcmp(a->key, b->key);
}

static idp_sync_step *push_step(idp_arena *a, idp_sync_plan *p)
{
	p->steps = idp_arena_grow(a, p->steps, p->n, &p->cap, sizeof(*p->steps));
	idp_sync_step *s = &p->steps[p->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

static int unique_keys(idp_arena *a, idp_doc_node *const *objs, size_t n, const char **keys, const char *what,
		       idp_err *err)
{
	for (size_t i = 0; i < n; i++) {
		keys[i] = idp_sync_key(a, objs[i]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(keys[k], keys[i]) == 0)
				return idp_err_at(err, objs[i]->pos, "metadata.name", "%s object %s appears twice", what, keys[i]);
	}
	return 0;
}

int idp_sync_plan_make(idp_arena *a, idp_doc_node *const *desired, size_t nd, idp_doc_node *const *live, size_t nl,
		       idp_sync_plan *out, idp_err *err)
{
	memset(out, 0, sizeof(*out));
	const char **dk = idp_arena_alloc(a, (nd + 1) * sizeof(*dk)), **lk = idp_arena_alloc(a, (nl + 1) * sizeof(*lk));
	int rc = unique_keys(a, desired, nd, dk, "desired", err);
	if (rc == 0)
		rc = unique_keys(a, live, nl, lk, "live", err);
	bool *seen = idp_arena_alloc(a, (nl + 1) * sizeof(*seen));
	memset(seen, 0, (nl + 1) * sizeof(*seen));
	for (size_t i = 0; rc == 0 && i < nd; i++) {
		idp_sync_step *s = push_step(a, out);
		s->key = dk[i];
		s->desired = desired[i];
		s->phase = phase_of(desired[i]);
		rc = wave_of(desired[i], &s->wave, err);
		for (size_t k = 0; k < nl && !s->live; k++)
			if (!seen[k] && strcmp(lk[k], dk[i]) == 0) {
				s->live = live[k];
				seen[k] = true;
			}
		if (!s->live) {
			s->action = IDP_SYNC_CREATE;
			out->creates++;
			continue;
		}
		compare(a, s, "", s->desired, s->live, 0);
		s->action = s->n_fields ? IDP_SYNC_UPDATE : IDP_SYNC_SAME;
		*(s->n_fields ? &out->updates : &out->same) += 1;
	}
	for (size_t k = 0; rc == 0 && k < nl; k++) {
		if (seen[k])
			continue;
		idp_sync_step *s = push_step(a, out);
		s->action = IDP_SYNC_PRUNE;
		s->key = lk[k];
		s->live = live[k];
		s->phase = phase_of(live[k]);
		idp_err ignored = IDP_ERR_INIT;
		if (wave_of(live[k], &s->wave, &ignored) != 0)
			s->wave = 0; /* what is live is not ours to judge */
		idp_err_clear(&ignored);
		out->prunes++;
	}
	if (rc == 0 && out->n > 1)
		qsort(out->steps, out->n, sizeof(*out->steps), step_cmp);
	return rc;
}

static bool is_secret(const idp_sync_step *s)
{
	const idp_doc_node *o = s->desired ? s->desired : s->live;
	const char *kind = idp_doc_map_get_str(o, "kind"), *api = idp_doc_map_get_str(o, "apiVersion");
	return kind && api && strcmp(kind, "Secret") == 0 && strcmp(api, "v1") == 0;
}

static void print_value(const idp_doc_node *root, const char *path, idp_buf *out)
{
	idp_doc_node *v;
	if (!root || idp_doc_path_get(root, path, &v, NULL) != 0) {
		idp_buf_puts(out, "(none)");
		return;
	}
	if (v->kind == IDP_DOC_MAP || v->kind == IDP_DOC_SEQ) {
		idp_buf_puts(out, v->kind == IDP_DOC_MAP ? "{...}" : "[...]");
		return;
	}
	idp_buf j = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_emit_json(v, IDP_DOC_JSON_COMPACT, &j, &err) == 0) {
		while (j.len && j.ptr[j.len - 1] == '\n')
			j.len--;
		idp_buf_append(out, j.ptr, j.len > 200 ? 200 : j.len);
		if (j.len > 200)
			idp_buf_puts(out, "...");
	}
	idp_err_clear(&err);
	idp_buf_free(&j);
}

void idp_sync_plan_print(const idp_sync_plan *p, idp_buf *out)
{
	for (size_t i = 0; i < p->n; i++) {
		const idp_sync_step *s = &p->steps[i];
		if (s->action == IDP_SYNC_SAME)
			continue;
		char sign = s->action == IDP_SYNC_CREATE ? '+' : s->action == IDP_SYNC_PRUNE ? '-' : '~';
		idp_buf_printf(out, "%c %s", sign, s->key);
		if (s->wave)
			idp_buf_printf(out, " (wave %ld)", s->wave);
		idp_buf_putc(out, '\n');
		for (size_t k = 0; k < s->n_fields; k++) {
			idp_buf_printf(out, "    %s: ", s->fields[k]);
			if (is_secret(s)) {
				idp_buf_puts(out, "(a secret value: not shown)\n");
				continue;
			}
			print_value(s->live, s->fields[k], out);
			idp_buf_puts(out, " -> ");
			print_value(s->desired, s->fields[k], out);
			idp_buf_putc(out, '\n');
		}
	}
}

/* ---------------------------------------------------------------- run */

int idp_sync_check_prune(const idp_sync_plan *p, size_t n_live, const idp_sync_opts *o, idp_err *err)
{
	if (!o->prune || o->allow_mass_prune || p->prunes == 0 || n_live == 0)
		return 0;
	double share = (double)p->prunes / (double)n_live;
	if (share <= o->max_prune_share)
		return 0;
	return idp_err_set(err, IDP_EINPUT,
			   "this sync would delete %zu of the %zu live objects (%.0f%%, more than %.0f%%): nothing was "
			   "changed; check the GitOps revision, and sync with --allow-mass-prune if that is meant",
			   p->prunes, n_live, share * 100, o->max_prune_share * 100);
}

/* The objects the target holds after the apply of wave (phase, wave): git's
 * up to it, live as it is beyond it, and live objects that left git until
 * the last apply prunes them. */
static size_t objects_for(const idp_sync_plan *p, int phase, long wave, bool last, bool prune, idp_doc_node **out)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		const idp_sync_step *s = &p->steps[i];
		bool reached = s->phase < phase || (s->phase == phase && s->wave <= wave);
		const idp_doc_node *o = NULL;
		if (s->action == IDP_SYNC_PRUNE)
			o = last && prune ? NULL : s->live;
		else if (reached || last || s->action == IDP_SYNC_SAME)
			o = s->desired;
		else
			o = s->live; /* NULL for a create of a later wave */
		if (o)
			out[n++] = (idp_doc_node *)o;
	}
	return n;
}

/* Waits until no object of waves up to (phase, wave) is Progressing. */
static int wait_healthy(idp_arena *a, const idp_sync_plan *p, int phase, long wave, const idp_sync_target *t,
			double timeout_s, idp_sync_result *res, idp_err *err)
{
	double waited = 0;
	for (;;) {
		const char *pending = NULL, *why = NULL;
		for (size_t i = 0; i < p->n && !pending; i++) {
			const idp_sync_step *s = &p->steps[i];
			if (s->action == IDP_SYNC_PRUNE || s->phase > phase || (s->phase == phase && s->wave > wave))
				continue;
			const char *w = NULL;
			idp_sync_health h = t->health(t->ctx, s->key, &w);
			if (h == IDP_SYNC_DEGRADED) {
				res->status = "Failed";
				res->message = idp_arena_printf(a, "%s is Degraded: %s", s->key, w ? w : "");
				return idp_err_set(err, IDP_ERUNTIME, "%s", res->message);
			}
			if (h == IDP_SYNC_PROGRESSING || h == IDP_SYNC_MISSING) {
				pending = s->key;
				why = w;
			}
		}
		if (!pending)
			return 0;
		if (waited >= timeout_s) {
			res->status = "Failed";
			res->message = idp_arena_printf(a, "%s is not healthy after %.0f s: %s", pending, timeout_s,
							why ? why : "");
			return idp_err_set(err, IDP_ERUNTIME, "%s", res->message);
		}
		t->wait(t->ctx, 0.05);
		waited += 0.05;
	}
}

int idp_sync_run(idp_arena *a, const idp_sync_plan *p, size_t n_live, const idp_sync_opts *o,
		 const idp_sync_target *t, double wave_timeout_s, idp_sync_result *res, idp_err *err)
{
	memset(res, 0, sizeof(*res));
	bool changes = p->creates || p->updates || (o->prune && p->prunes);
	if (!changes) {
		res->status = "Synced";
		res->message = p->prunes ? idp_arena_printf(a, "in sync; %zu live objects left git (prune is off)", p->prunes)
					 : "in sync: nothing to change";
		return 0;
	}
	idp_err guard = IDP_ERR_INIT;
	int rc = idp_sync_check_prune(p, n_live, o, &guard);
	if (o->dry_run) {
		res->status = "OutOfSync";
		res->message = idp_arena_printf(a, "%zu to create, %zu to update, %zu to prune (dry run)%s%s", p->creates,
						p->updates, o->prune ? p->prunes : 0, rc ? "; a sync would stop: " : "",
						rc ? guard.msg : "");
		idp_err_clear(&guard);
		return 0;
	}
	if (rc) {
		res->status = "Failed";
		res->message = "stopped by the mass-prune guard";
		idp_err_set(err, rc, "%s", guard.msg);
		idp_err_clear(&guard);
		return rc;
	}
	idp_doc_node **objs = idp_arena_alloc(a, (p->n + 1) * sizeof(*objs));
	/* The waves that change something, in order; the last one also prunes. */
	size_t last_change = p->n;
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action == IDP_SYNC_CREATE || p->steps[i].action == IDP_SYNC_UPDATE)
			last_change = i;
	bool have_prev = false;
	int prev_phase = 0;
	long prev_wave = 0;
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		const idp_sync_step *s = &p->steps[i];
		if (s->action != IDP_SYNC_CREATE && s->action != IDP_SYNC_UPDATE)
			continue;
		if (have_prev && s->phase == prev_phase && s->wave == prev_wave)
			continue;
		/* The end of this wave among the steps: is it the last one that changes? */
		bool last = true;
		for (size_t k = i + 1; k <= last_change && k < p->n; k++)
			if ((p->steps[k].action == IDP_SYNC_CREATE || p->steps[k].action == IDP_SYNC_UPDATE) &&
			    (p->steps[k].phase != s->phase || p->steps[k].wave != s->wave))
				last = false;
		size_t n = objects_for(p, s->phase, s->wave, last, o->prune, objs);
		rc = t->apply(t->ctx, objs, n, err);
		res->waves++;
		if (rc == 0)
			rc = wait_healthy(a, p, s->phase, s->wave, t, wave_timeout_s, res, err);
		have_prev = true;
		prev_phase = s->phase;
		prev_wave = s->wave;
	}
	if (rc == 0 && last_change == p->n) { /* prunes only */
		size_t n = objects_for(p, 3, 0, true, o->prune, objs);
		rc = t->apply(t->ctx, objs, n, err);
		res->waves++;
	}
	if (rc == 0) {
		res->status = "Synced";
		res->message = idp_arena_printf(a, "%zu created, %zu updated, %zu pruned in %zu wave(s)", p->creates,
						p->updates, o->prune ? p->prunes : 0, res->waves);
	} else if (!res->status) {
		res->status = "Failed";
		res->message = idp_arena_printf(a, "%s", err->msg ? err->msg : "apply failed");
	}
	return rc;
}
