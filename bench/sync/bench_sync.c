/* A no-op sync pass of the sync engine over many applications: every
 * application's desired objects (the counter example's rendered objects,
 * renamed per application) against live copies that carry what a target
 * adds (status, server metadata, defaulted fields), so every object is
 * compared field by field and found in sync. Prints the median pass time.
 * Usage: bench-sync APPS OBJECTS_PER_APP PASSES */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render/render.h"
#include "sync/sync.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	size_t apps = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000, per = argc > 2 ? strtoul(argv[2], NULL, 10) : 10;
	int passes = argc > 3 ? atoi(argv[3]) : 5;
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_render_registry *reg = idp_render_registry_new(a);
	const idp_embedded_file *f = idp_embedded_find("examples/counter-app.yaml");
	idp_doc_stream s;
	idp_doc_node **objs;
	size_t n;
	idp_render_opts o = IDP_RENDER_OPTS_INIT;
	o.compose = IDP_RENDER_COMPOSE_INLINE;
	o.unwrap_objects = true;
	if (!f || idp_render_registry_load_builtin(reg, &err) || idp_doc_load(a, "counter-app.yaml", f->data, f->len, NULL, &s, &err) ||
	    idp_render_docs(a, reg, s.docs, s.len, &o, &objs, &n, &err)) {
		fprintf(stderr, "bench-sync: %s\n", err.msg ? err.msg : "no example");
		return 1;
	}
	idp_doc_node ***desired = calloc(apps, sizeof(*desired)), ***live = calloc(apps, sizeof(*live));
	size_t total = 0, bytes = 0;
	for (size_t i = 0; i < apps; i++) {
		desired[i] = idp_arena_alloc(a, per * sizeof(**desired));
		live[i] = idp_arena_alloc(a, per * sizeof(**live));
		for (size_t k = 0; k < per; k++) {
			idp_doc_node *d = idp_doc_copy(a, objs[k % n]);
			idp_doc_node *meta = idp_doc_map_get(d, "metadata");
			const char *name = idp_doc_map_get_str(meta, "name");
			idp_doc_map_set(a, meta, "name", idp_doc_new_str(a, idp_arena_printf(a, "%s-%zu-%zu", name, i, k)));
			desired[i][k] = d;
			idp_doc_node *l = idp_doc_copy(a, d);
			idp_doc_node *lm = idp_doc_map_get(l, "metadata");
			idp_doc_map_set(a, lm, "uid", idp_doc_new_str(a, "7f3c2a9e-0000-4000-8000-000000000000"));
			idp_doc_map_set(a, lm, "resourceVersion", idp_doc_new_str(a, "123456"));
			idp_doc_map_set(a, lm, "generation", idp_doc_new_int(a, 3));
			idp_doc_node *st = idp_doc_new_map(a);
			idp_doc_map_set(a, st, "observedGeneration", idp_doc_new_int(a, 3));
			idp_doc_map_set(a, l, "status", st);
			live[i][k] = l;
			idp_buf b = IDP_BUF_INIT;
			idp_doc_emit_json(d, IDP_DOC_JSON_COMPACT, &b, &err);
			bytes += b.len;
			idp_buf_free(&b);
		}
		total += per;
	}
	double *t = calloc((size_t)passes, sizeof(*t));
	for (int p = 0; p < passes; p++) {
		double t0 = now_s();
		size_t same = 0;
		for (size_t i = 0; i < apps; i++) {
			idp_arena *pa = idp_arena_new();
			idp_sync_plan plan;
			if (idp_sync_plan_make(pa, desired[i], per, live[i], per, &plan, &err) != 0) {
				fprintf(stderr, "bench-sync: %s\n", err.msg);
				return 1;
			}
			same += plan.same;
			idp_arena_free(pa);
		}
		t[p] = now_s() - t0;
		if (same != total) {
			fprintf(stderr, "bench-sync: %zu of %zu objects in sync: the pass is not a no-op\n", same, total);
			return 1;
		}
	}
	qsort(t, (size_t)passes, sizeof(*t), cmp_double);
	printf("%zu apps, %zu objects (%.1f MB of JSON): no-op sync pass median %.1f ms (min %.1f, max %.1f) over %d passes\n",
	       apps, total, (double)bytes / 1e6, t[passes / 2] * 1e3, t[0] * 1e3, t[passes - 1] * 1e3, passes);
	free(t);
	free(desired);
	free(live);
	idp_render_registry_free(reg);
	idp_arena_free(a);
	return 0;
}
