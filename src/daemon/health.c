/* Health rolled up from objects to components and the application. */
#include "daemon/daemon_private.h"

#include <string.h>

/* Argo CD's order of badness: an application or component is as healthy
 * as its worst object. */
static int badness(const char *health)
{
	static const char *const order[] = {"Healthy", "Suspended", "Progressing", "Missing", "Degraded"};
	for (int k = 0; k < 5; k++)
		if (strcmp(health, order[k]) == 0)
			return k;
	return 0; /* Unavailable here, Unknown: not the application's fault */
}

static const char *worse(const char *x, const char *y)
{
	return badness(y) > badness(x) ? y : x;
}

/* "health" of the application (Suspended when paused) and "components":
 * [{name, health}] in the order their objects come; objects composed for a
 * claim without a component are "(composed)". */
void daemon_add_health(idp_arena *a, idp_doc_node *m, const idp_doc_node *objs, bool paused)
{
	const char *app_health = "Healthy";
	idp_doc_node *comps = idp_doc_new_seq(a);
	for (size_t i = 0; i < objs->as.seq.len; i++) {
		const idp_doc_node *o = objs->as.seq.items[i];
		const char *h = idp_doc_map_get_str(o, "health"), *c = idp_doc_map_get_str(o, "component");
		h = h ? h : "Healthy";
		c = c ? c : "(composed)";
		app_health = worse(app_health, h);
		idp_doc_node *entry = NULL;
		for (size_t k = 0; k < comps->as.seq.len && !entry; k++)
			if (strcmp(idp_doc_map_get_str(comps->as.seq.items[k], "name"), c) == 0)
				entry = comps->as.seq.items[k];
		if (!entry) {
			entry = idp_doc_new_map(a);
			idp_doc_map_set(a, entry, "name", idp_doc_new_str(a, c));
			idp_doc_map_set(a, entry, "health", idp_doc_new_str(a, "Healthy"));
			idp_doc_seq_push(a, comps, entry);
		}
		idp_doc_map_set(a, entry, "health", idp_doc_new_str(a, worse(idp_doc_map_get_str(entry, "health"), h)));
	}
	idp_doc_map_set(a, m, "health", idp_doc_new_str(a, paused ? "Suspended" : app_health));
	idp_doc_map_set(a, m, "components", comps);
}
