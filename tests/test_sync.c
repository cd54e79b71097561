/*
 * The sync engine (suite "sync"): the diff that ignores what the target
 * adds, Argo CD's order (phase, wave, kind, name; prunes last, highest wave
 * first), health per kind, the mass-prune guard, and a run that applies
 * wave by wave. The target here is the engine's own interface, recording
 * what it is given; the real target is tested end to end in suite "up".
 */
#include <criterion/criterion.h>

#include <string.h>

#include "sync/sync.h"
#include "testutil.h"

static idp_doc_node **load(idp_arena *a, const char *yaml, size_t *n)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "t.yaml", yaml, strlen(yaml), NULL, &s, &err), 0, "%s", tu_errstr(&err));
	*n = s.len;
	return s.docs;
}

static const idp_sync_step *step(const idp_sync_plan *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->steps[i].key, key) == 0)
			return &p->steps[i];
	cr_assert_fail("no step %s", key);
	return NULL;
}

Test(sync, live_only_fields_are_not_a_diff_and_changed_fields_are_named)
{
	idp_arena *a = idp_arena_new();
	size_t nd, nl;
	idp_doc_node **d = load(a,
				"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\n"
				"spec: {replicas: 2, template: {spec: {containers: [{name: c, image: web:2}]}}}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\ndata: {a: b}\n"
				"---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: new}\n",
				&nd);
	idp_doc_node **l = load(a,
				"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default, uid: u1,\n"
				"  resourceVersion: '7', generation: 3, labels: {app: web},\n"
				"  annotations: {deployment.kubernetes.io/revision: '3'}}\n"
				"spec: {replicas: 2, progressDeadlineSeconds: 600, template: {spec: {containers:\n"
				"  [{name: c, image: web:1, imagePullPolicy: IfNotPresent}], dnsPolicy: ClusterFirst}}}\n"
				"status: {availableReplicas: 2}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: same, uid: x}\ndata: {a: b}\n"
				"---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: old}\n"
				"---\napiVersion: v1\nkind: Service\nmetadata: {name: gone}\n",
				&nl);
	idp_sync_plan p;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_sync_plan_make(a, d, nd, l, nl, &p, &err), 0, "%s", tu_errstr(&err));
	cr_expect_eq(p.updates, 2);
	cr_expect_eq(p.same, 1, "the ConfigMap: uid is the server's");
	cr_expect_eq(p.prunes, 1);
	cr_expect_eq(p.creates, 0);
	const idp_sync_step *web = step(&p, "apps/Deployment/default/web");
	cr_assert_eq(web->n_fields, 1, "only the image, not the defaults, status or server metadata");
	cr_expect_str_eq(web->fields[0], "spec.template.spec.containers[0].image");
	idp_buf text = IDP_BUF_INIT;
	idp_sync_plan_print(&p, &text);
	cr_expect(strstr(text.ptr, "~ apps/Deployment/default/web\n    spec.template.spec.containers[0].image: \"web:1\" -> \"web:2\"") !=
			  NULL,
		  "%s", text.ptr);
	cr_expect(strstr(text.ptr, "- Service/default/gone") != NULL, "%s", text.ptr);
	cr_expect(strstr(text.ptr, "old") == NULL && strstr(text.ptr, "new") == NULL, "secret values never shown: %s",
		  text.ptr);
	cr_expect(strstr(text.ptr, "ConfigMap") == NULL, "unchanged objects are not listed: %s", text.ptr);
	idp_buf_free(&text);
	idp_arena_free(a);
}

Test(sync, order_is_phase_wave_kind_name_and_prunes_go_last_highest_wave_first)
{
	idp_arena *a = idp_arena_new();
	size_t nd, nl;
	idp_doc_node **d = load(a,
				"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n"
				"---\napiVersion: v1\nkind: Secret\nmetadata: {name: z}\n"
				"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n"
				"---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, annotations: "
				"{argocd.argoproj.io/hook: PreSync}}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, annotations: "
				"{argocd.argoproj.io/sync-wave: '5'}}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: early, annotations: "
				"{argocd.argoproj.io/sync-wave: '-1'}}\n"
				"---\napiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w}\n",
				&nd);
	idp_doc_node **l = load(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old0}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: old9, annotations: "
				"{argocd.argoproj.io/sync-wave: '9'}}\n",
				&nl);
	idp_sync_plan p;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_sync_plan_make(a, d, nd, l, nl, &p, &err), 0, "%s", tu_errstr(&err));
	const char *want[] = {"batch/Job/default/migrate", "ConfigMap/default/early",   "Namespace/default/ns",
			      "Secret/default/z",	   "apps/Deployment/default/a", "example.org/Widget/default/w",
			      "ConfigMap/default/late",	   "ConfigMap/default/old9",    "ConfigMap/default/old0"};
	cr_assert_eq(p.n, sizeof want / sizeof *want);
	for (size_t i = 0; i < p.n; i++)
		cr_expect_str_eq(p.steps[i].key, want[i], "step %zu", i);
	idp_arena_free(a);
}

Test(sync, a_bad_wave_or_a_twice_named_object_is_an_error_at_its_place)
{
	idp_arena *a = idp_arena_new();
	size_t nd;
	idp_doc_node **d = load(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n"
				"    argocd.argoproj.io/sync-wave: soon\n",
				&nd);
	idp_sync_plan p;
	idp_err err = IDP_ERR_INIT;
	cr_expect_eq(idp_sync_plan_make(a, d, nd, NULL, 0, &p, &err), IDP_EINPUT);
	cr_expect_eq(err.line, 6, "%s", tu_errstr(&err));
	idp_err_clear(&err);
	d = load(a, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x}\n",
		 &nd);
	cr_expect_eq(idp_sync_plan_make(a, d, nd, NULL, 0, &p, &err), IDP_EINPUT);
	cr_expect(strstr(tu_errstr(&err), "twice") != NULL, "%s", tu_errstr(&err));
	idp_err_clear(&err);
	/* A topology's copy in another cluster is another object. */
	d = load(a, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\n"
		    "metadata: {name: x, labels: {app.oam.dev/cluster: preview}}\n",
		 &nd);
	cr_expect_eq(idp_sync_plan_make(a, d, nd, NULL, 0, &p, &err), 0, "%s", tu_errstr(&err));
	cr_expect_str_eq(idp_sync_key(a, d[1]), "ConfigMap/default/x@preview");
	idp_arena_free(a);
}

static idp_sync_health health_of(idp_arena *a, const char *yaml)
{
	size_t n;
	idp_doc_node **o = load(a, yaml, &n);
	const char *why;
	return idp_sync_object_health(a, o[0], &why);
}

Test(sync, health_per_kind)
{
	idp_arena *a = idp_arena_new();
	cr_expect_eq(health_of(a, "kind: Deployment\nmetadata: {generation: 2}\nspec: {replicas: 2}\nstatus: "
				  "{observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2}\n"),
		     IDP_SYNC_HEALTHY);
	cr_expect_eq(health_of(a, "kind: Deployment\nmetadata: {generation: 3}\nspec: {replicas: 2}\nstatus: "
				  "{observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2}\n"),
		     IDP_SYNC_PROGRESSING);
	cr_expect_eq(health_of(a, "kind: Deployment\nspec: {replicas: 3}\nstatus: {updatedReplicas: 3, "
				  "availableReplicas: 1}\n"),
		     IDP_SYNC_PROGRESSING);
	cr_expect_eq(health_of(a, "kind: Job\nstatus: {conditions: [{type: Complete, status: 'True'}]}\n"),
		     IDP_SYNC_HEALTHY);
	cr_expect_eq(health_of(a, "kind: Job\nstatus: {conditions: [{type: Failed, status: 'True'}]}\n"),
		     IDP_SYNC_DEGRADED);
	cr_expect_eq(health_of(a, "kind: PersistentVolumeClaim\nstatus: {phase: Pending}\n"), IDP_SYNC_PROGRESSING);
	cr_expect_eq(health_of(a, "kind: PersistentVolumeClaim\nstatus: {phase: Bound}\n"), IDP_SYNC_HEALTHY);
	cr_expect_eq(health_of(a, "apiVersion: serving.knative.dev/v1\nkind: Service\nstatus: {conditions: "
				  "[{type: Ready, status: 'False', reason: RevisionFailed}]}\n"),
		     IDP_SYNC_DEGRADED);
	cr_expect_eq(health_of(a, "apiVersion: serving.knative.dev/v1\nkind: Service\nstatus: {conditions: "
				  "[{type: Ready, status: Unknown}]}\n"),
		     IDP_SYNC_PROGRESSING);
	cr_expect_eq(health_of(a, "kind: ApplicationClaim\nstatus: {conditions: [{type: Synced, status: 'True'}, "
				  "{type: Ready, status: 'False', reason: Creating}]}\n"),
		     IDP_SYNC_PROGRESSING, "a claim being made");
	cr_expect_eq(health_of(a, "kind: ApplicationClaim\nstatus: {conditions: [{type: Synced, status: 'False', "
				  "reason: ReconcileError}]}\n"),
		     IDP_SYNC_DEGRADED);
	cr_expect_eq(health_of(a, "kind: Secret\n"), IDP_SYNC_HEALTHY);
	const char *why;
	cr_expect_eq(idp_sync_object_health(a, NULL, &why), IDP_SYNC_MISSING);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- runs */

typedef struct recorder {
	idp_arena *a;
	const char *applies[8]; /* the keys of each apply, joined */
	size_t n_applies;
	int progressing_polls; /* health says Progressing this many times first */
	int waits;
} recorder;

static int rec_apply(void *ctx, idp_doc_node *const *objs, size_t n, idp_err *err)
{
	(void)err;
	recorder *r = ctx;
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *img = NULL;
		idp_doc_node *v;
		if (idp_doc_path_get(objs[i], "data.v", &v, NULL) == 0 && v->kind == IDP_DOC_STR)
			img = v->as.str.ptr;
		idp_buf_printf(&b, "%s%s%s%s", i ? " " : "", idp_doc_map_get_str(idp_doc_map_get(objs[i], "metadata"), "name"),
			       img ? "=" : "", img ? img : "");
	}
	if (r->n_applies < 8)
		r->applies[r->n_applies++] = idp_arena_strdup(r->a, b.ptr ? b.ptr : "");
	idp_buf_free(&b);
	return 0;
}

static idp_sync_health rec_health(void *ctx, const char *key, const char **why)
{
	(void)key;
	recorder *r = ctx;
	*why = "starting";
	if (r->progressing_polls > 0) {
		r->progressing_polls--;
		return IDP_SYNC_PROGRESSING;
	}
	return IDP_SYNC_HEALTHY;
}

static void rec_wait(void *ctx, double s)
{
	(void)s;
	((recorder *)ctx)->waits++;
}

Test(sync, waves_apply_in_order_keep_later_waves_as_they_are_and_prune_last)
{
	idp_arena *a = idp_arena_new();
	size_t nd, nl;
	idp_doc_node **d = load(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, annotations: "
				"{argocd.argoproj.io/sync-wave: '-1'}}\ndata: {v: '2'}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {v: '2'}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, annotations: "
				"{argocd.argoproj.io/sync-wave: '1'}}\ndata: {v: '2'}\n",
				&nd);
	idp_doc_node **l = load(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db, annotations: "
				"{argocd.argoproj.io/sync-wave: '-1'}}\ndata: {v: '1'}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {v: '1'}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, annotations: "
				"{argocd.argoproj.io/sync-wave: '1'}}\ndata: {v: '1'}\n"
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\ndata: {v: '1'}\n",
				&nl);
	idp_sync_plan p;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_sync_plan_make(a, d, nd, l, nl, &p, &err), 0, "%s", tu_errstr(&err));
	recorder r = {a, {0}, 0, 2, 0};
	idp_sync_target t = {&r, rec_apply, rec_health, rec_wait};
	idp_sync_opts o = IDP_SYNC_OPTS_DEFAULT;
	idp_sync_result res;
	cr_assert_eq(idp_sync_run(a, &p, nl, &o, &t, 10, &res, &err), 0, "%s", tu_errstr(&err));
	cr_expect_str_eq(res.status, "Synced");
	cr_assert_eq(r.n_applies, 3);
	cr_expect_str_eq(r.applies[0], "db=2 app=1 web=1 old=1", "wave -1: later waves as they are");
	cr_expect_str_eq(r.applies[1], "db=2 app=2 web=1 old=1");
	cr_expect_str_eq(r.applies[2], "db=2 app=2 web=2", "the last wave prunes");
	cr_expect_eq(r.waits, 2, "the next wave waited for health");

	/* Nothing to change: no apply at all. */
	idp_sync_plan same;
	cr_assert_eq(idp_sync_plan_make(a, d, nd, d, nd, &same, &err), 0);
	r.n_applies = 0;
	cr_assert_eq(idp_sync_run(a, &same, nd, &o, &t, 10, &res, &err), 0);
	cr_expect_eq(r.n_applies, 0);
	cr_expect_str_eq(res.status, "Synced");
	idp_arena_free(a);
}

Test(sync, the_guard_stops_a_mass_prune_unless_allowed_and_a_dry_run_changes_nothing)
{
	idp_arena *a = idp_arena_new();
	size_t nd, nl;
	idp_doc_node **d = load(a, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", &nd);
	idp_doc_node **l = load(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: "
				"ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
				&nl);
	idp_sync_plan p;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_sync_plan_make(a, d, nd, l, nl, &p, &err), 0);
	recorder r = {a, {0}, 0, 0, 0};
	idp_sync_target t = {&r, rec_apply, rec_health, rec_wait};
	idp_sync_opts o = IDP_SYNC_OPTS_DEFAULT;
	idp_sync_result res;
	cr_expect_eq(idp_sync_run(a, &p, nl, &o, &t, 10, &res, &err), IDP_EINPUT);
	cr_expect(strstr(tu_errstr(&err), "2 of the 3 live objects") && strstr(tu_errstr(&err), "--allow-mass-prune"),
		  "%s", tu_errstr(&err));
	cr_expect_eq(r.n_applies, 0, "nothing was applied");
	idp_err_clear(&err);
	o.dry_run = true;
	cr_expect_eq(idp_sync_run(a, &p, nl, &o, &t, 10, &res, &err), 0);
	cr_expect_str_eq(res.status, "OutOfSync");
	cr_expect(strstr(res.message, "would stop") != NULL, "%s", res.message);
	cr_expect_eq(r.n_applies, 0);
	o.dry_run = false;
	o.allow_mass_prune = true;
	cr_expect_eq(idp_sync_run(a, &p, nl, &o, &t, 10, &res, &err), 0, "%s", tu_errstr(&err));
	cr_assert_eq(r.n_applies, 1);
	cr_expect_str_eq(r.applies[0], "a");
	idp_arena_free(a);
}
