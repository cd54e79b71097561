/*
 * Readiness checks of composed resources (ready.go): whether an observed
 * resource counts as ready, for the XR's Ready condition and, later, the
 * sync engine.
 */
#include "compose/compose_private.h"

#include <string.h>

static const char *const check_types[] = {"None",	"NonEmpty", "MatchString", "MatchInteger",
					  "MatchCondition", "MatchTrue", "MatchFalse"};

/* The status of condition `type` in status.conditions: NULL when the
 * condition is absent, "" when the object has no status at all (the
 * function SDK then returns an empty condition, not an Unknown one). */
static const char *condition_status(const idp_doc_node *obj, const char *type)
{
	const idp_doc_node *status = idp_doc_map_get(obj, "status");
	if (!status || status->kind != IDP_DOC_MAP)
		return "";
	const idp_doc_node *conds = idp_doc_map_get(status, "conditions");
	if (!conds || conds->kind != IDP_DOC_SEQ)
		return NULL;
	for (size_t i = 0; i < conds->as.seq.len; i++) {
		const char *t = idp_doc_map_get_str(conds->as.seq.items[i], "type");
		if (t && strcmp(t, type) == 0)
			return idp_doc_map_get_str(conds->as.seq.items[i], "status");
	}
	return NULL;
}

int compose_check_readiness(const idp_doc_node *c, idp_err *err)
{
	const char *type = idp_doc_map_get_str(c, "type");
	size_t n = sizeof(check_types) / sizeof(check_types[0]), i = 0;
	for (; type && i < n; i++)
		if (strcmp(type, check_types[i]) == 0)
			break;
	if (!type || i == n)
		return idp_err_set(err, IDP_EINPUT, "type: Invalid value: \"%s\": unknown readiness check type",
				   type ? type : "");
	if (strcmp(type, "None") == 0)
		return 0;
	if (strcmp(type, "MatchCondition") == 0) {
		const idp_doc_node *m = idp_doc_map_get(c, "matchCondition");
		if (!m || m->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "matchCondition: Required value: cannot be nil for type MatchCondition");
		if (!idp_doc_map_get_str(m, "type"))
			return idp_err_set(err, IDP_EINPUT, "matchCondition.type: Required value: cannot be empty for type MatchCondition");
		if (!idp_doc_map_get_str(m, "status"))
			return idp_err_set(err, IDP_EINPUT, "matchCondition.status: Required value: cannot be empty for type MatchCondition");
		return 0;
	}
	if (strcmp(type, "MatchString") == 0 && !idp_doc_map_get_str(c, "matchString"))
		return idp_err_set(err, IDP_EINPUT, "matchString: Required value: cannot be nil for type MatchString");
	if (strcmp(type, "MatchInteger") == 0) {
		const idp_doc_node *v = idp_doc_map_get(c, "matchInteger");
		if (!v || v->kind != IDP_DOC_INT)
			return idp_err_set(err, IDP_EINPUT, "matchInteger: Required value: cannot be nil for type MatchInteger");
	}
	if (!idp_doc_map_get_str(c, "fieldPath"))
		return idp_err_set(err, IDP_EINPUT, "fieldPath: Required value: cannot be empty");
	return 0;
}

static int run_check(idp_arena *a, const idp_doc_node *obj, const idp_doc_node *c, bool *ready, idp_err *err)
{
	*ready = false;
	idp_err verr = IDP_ERR_INIT;
	if (compose_check_readiness(c, &verr) != 0) {
		idp_err_set(err, IDP_EINPUT, "invalid: %s", verr.msg);
		idp_err_clear(&verr);
		return IDP_EINPUT;
	}
	const char *type = idp_doc_map_get_str(c, "type");
	if (strcmp(type, "None") == 0) {
		*ready = true;
		return 0;
	}
	if (strcmp(type, "MatchCondition") == 0) {
		const idp_doc_node *m = idp_doc_map_get(c, "matchCondition");
		const char *status = condition_status(obj, idp_doc_map_get_str(m, "type"));
		/* A missing condition reads as Unknown, as GetCondition says. */
		*ready = strcmp(status ? status : "Unknown", idp_doc_map_get_str(m, "status")) == 0;
		return 0;
	}
	const char *path = idp_doc_map_get_str(c, "fieldPath");
	const idp_doc_node *v;
	idp_err gerr = IDP_ERR_INIT;
	int rc = idp_compose_path_get(a, obj, path, &v, &gerr);
	if (rc == IDP_ENOTFOUND) {
		idp_err_clear(&gerr);
		return 0;
	}
	if (rc != 0) {
		idp_err_move(err, &gerr);
		return rc;
	}
	if (strcmp(type, "NonEmpty") == 0) {
		*ready = true;
		return 0;
	}
	if (strcmp(type, "MatchString") == 0) {
		if (v->kind != IDP_DOC_STR)
			return idp_err_set(err, IDP_EINPUT, "%s: not a string", path);
		*ready = strcmp(v->as.str.ptr, idp_doc_map_get_str(c, "matchString")) == 0;
		return 0;
	}
	if (strcmp(type, "MatchInteger") == 0) {
		if (v->kind != IDP_DOC_INT)
			return idp_err_set(err, IDP_EINPUT, "%s: not a (int64) number", path);
		*ready = v->as.i == idp_doc_map_get(c, "matchInteger")->as.i;
		return 0;
	}
	if (v->kind != IDP_DOC_BOOL)
		return idp_err_set(err, IDP_EINPUT, "%s: not a bool", path);
	*ready = strcmp(type, "MatchTrue") == 0 ? v->as.b : !v->as.b;
	return 0;
}

int idp_compose_ready(idp_arena *a, const idp_doc_node *observed, const idp_doc_node *checks, bool *ready,
		      idp_err *err)
{
	*ready = false;
	if (!checks || checks->kind != IDP_DOC_SEQ || checks->as.seq.len == 0) {
		const char *s = condition_status(observed, "Ready");
		*ready = s && strcmp(s, "True") == 0;
		return 0;
	}
	for (size_t i = 0; i < checks->as.seq.len; i++) {
		bool ok;
		if (run_check(a, observed, checks->as.seq.items[i], &ok, err) != 0) {
			idp_err_wrap(err, "cannot run readiness check at index %zu", i);
			return IDP_EINPUT;
		}
		if (!ok)
			return 0;
	}
	*ready = true;
	return 0;
}
