/*
 * Connection details (connection.go) and the XR's connection Secret, plus
 * unwrapping provider-kubernetes Objects into what lands in the cluster.
 */
#include "compose/compose_private.h"

#include <string.h>

static const char *detail_type(const idp_doc_node *cd, bool classic)
{
	const char *t = idp_doc_map_get_str(cd, "type");
	if (t || !classic)
		return t;
	/* Classic compositions infer the type from the field that is set. */
	if (idp_doc_map_get(cd, "value"))
		return "FromValue";
	if (idp_doc_map_get(cd, "fromConnectionSecretKey"))
		return "FromConnectionSecretKey";
	if (idp_doc_map_get(cd, "fromFieldPath"))
		return "FromFieldPath";
	return NULL;
}

int compose_check_connection_detail(const idp_doc_node *cd, bool classic, idp_err *err)
{
	const char *type = detail_type(cd, classic);
	if (!type || !*type)
		return idp_err_set(err, IDP_EINPUT, "type: Required value: connection detail type is required");
	const char *name = idp_doc_map_get_str(cd, "name");
	const char *key = NULL, *detail = NULL;
	if (strcmp(type, "FromValue") == 0) {
		key = "value";
		detail = "value connection detail requires a value";
	} else if (strcmp(type, "FromConnectionSecretKey") == 0) {
		key = "fromConnectionSecretKey";
		detail = "from connection secret key connection detail requires a key";
	} else if (strcmp(type, "FromFieldPath") == 0) {
		key = "fromFieldPath";
		detail = "from field path connection detail requires a field path";
	} else {
		return idp_err_set(err, IDP_EINPUT, "type: Invalid value: \"%s\": unknown connection detail type", type);
	}
	/* Classic details may omit the name for FromConnectionSecretKey. */
	if ((!name || !*name) && !(classic && strcmp(type, "FromConnectionSecretKey") == 0))
		return idp_err_set(err, IDP_EINPUT, "name: Required value: name is required");
	if (!idp_doc_map_get_str(cd, key))
		return idp_err_set(err, IDP_EINPUT, "%s: Required value: %s", key, detail);
	return 0;
}

/* The data of the observed Secret an observed composed resource wrote its
 * connection details to (spec.writeConnectionSecretToRef), or NULL. */
static const idp_doc_node *connection_secret_of(const idp_doc_node *ocd, const idp_compose_opts *opts,
						 bool *string_data)
{
	const idp_doc_node *ref = idp_doc_map_get(idp_doc_map_get(ocd, "spec"), "writeConnectionSecretToRef");
	const char *name = idp_doc_map_get_str(ref, "name"), *ns = idp_doc_map_get_str(ref, "namespace");
	if (!name)
		return NULL;
	for (size_t i = 0; i < opts->n_observed; i++) {
		const idp_doc_node *o = opts->observed[i];
		const char *kind = idp_doc_map_get_str(o, "kind");
		const idp_doc_node *meta = idp_doc_map_get(o, "metadata");
		const char *oname = idp_doc_map_get_str(meta, "name"), *ons = idp_doc_map_get_str(meta, "namespace");
		if (!kind || strcmp(kind, "Secret") != 0 || !oname || strcmp(oname, name) != 0)
			continue;
		if (ns && ons && strcmp(ns, ons) != 0)
			continue;
		const idp_doc_node *data = idp_doc_map_get(o, "data");
		*string_data = !data;
		return data ? data : idp_doc_map_get(o, "stringData");
	}
	return NULL;
}

int compose_extract_connection(idp_arena *a, const idp_doc_node *ocd, const idp_compose_opts *opts,
			       const idp_doc_node *details, idp_doc_node *conn, idp_err *err)
{
	bool string_data = false;
	const idp_doc_node *secret = connection_secret_of(ocd, opts, &string_data);
	for (size_t i = 0; details && details->kind == IDP_DOC_SEQ && i < details->as.seq.len; i++) {
		const idp_doc_node *cd = details->as.seq.items[i];
		const char *type = detail_type(cd, true);
		const char *name = idp_doc_map_get_str(cd, "name");
		if (!type)
			continue;
		if (strcmp(type, "FromValue") == 0) {
			idp_doc_map_set(a, conn, name, idp_doc_copy(a, idp_doc_map_get(cd, "value")));
		} else if (strcmp(type, "FromConnectionSecretKey") == 0) {
			const char *key = idp_doc_map_get_str(cd, "fromConnectionSecretKey");
			const char *v = idp_doc_map_get_str(secret, key);
			if (!v)
				continue;
			if (string_data) {
				idp_doc_map_set(a, conn, name ? name : key, idp_doc_new_str(a, v));
				continue;
			}
			idp_buf raw = IDP_BUF_INIT;
			if (compose_base64_decode(&raw, v, strlen(v), err) != 0) {
				idp_buf_free(&raw);
				idp_err_wrap(err, "connection secret key %s", key);
				return IDP_EINPUT;
			}
			idp_doc_map_set(a, conn, name ? name : key, idp_doc_new_strn(a, raw.ptr ? raw.ptr : "", raw.len));
			idp_buf_free(&raw);
		} else if (strcmp(type, "FromFieldPath") == 0) {
			const idp_doc_node *v;
			idp_err gerr = IDP_ERR_INIT;
			if (idp_compose_path_get(a, ocd, idp_doc_map_get_str(cd, "fromFieldPath"), &v, &gerr) != 0) {
				idp_err_clear(&gerr);
				continue;
			}
			if (v->kind == IDP_DOC_STR) {
				idp_doc_map_set(a, conn, name, idp_doc_copy(a, v));
			} else {
				idp_buf j = IDP_BUF_INIT;
				if (idp_compose_json_marshal(v, &j, &gerr) == 0)
					idp_doc_map_set(a, conn, name, idp_doc_new_strn(a, j.ptr ? j.ptr : "", j.len));
				idp_err_clear(&gerr);
				idp_buf_free(&j);
			}
		}
	}
	return 0;
}

int compose_connection_secret(idp_arena *a, const idp_doc_node *xr, const idp_doc_node *composition,
			      const idp_doc_node *conn, idp_doc_node **out, idp_err *err)
{
	*out = NULL;
	if (!conn || conn->as.map.len == 0)
		return 0;
	const idp_doc_node *spec = idp_doc_map_get(xr, "spec");
	const idp_doc_node *ref = idp_doc_map_get(spec, "writeConnectionSecretToRef");
	const char *name = idp_doc_map_get_str(ref, "name"), *ns = idp_doc_map_get_str(ref, "namespace");
	const idp_doc_node *meta = idp_doc_map_get(xr, "metadata");
	if (!name) {
		/* Crossplane names the XR's secret after its UID, in the
		 * Composition's writeConnectionSecretsToNamespace. */
		const char *to_ns =
			idp_doc_map_get_str(idp_doc_map_get(composition, "spec"), "writeConnectionSecretsToNamespace");
		if (idp_doc_map_get(spec, "crossplane")) {
			name = idp_arena_printf(a, "%s-connection", idp_doc_map_get_str(meta, "name"));
			ns = idp_doc_map_get_str(meta, "namespace");
		} else if (to_ns) {
			name = idp_doc_map_get_str(meta, "uid");
			ns = to_ns;
		} else {
			return 0;
		}
	}
	if (!ns)
		ns = idp_doc_map_get_str(meta, "namespace");
	idp_pos made = idp_pos_made("Crossplane: the composite's connection details go to a Secret");
	idp_doc_node *s = idp_doc_new_map(a);
	idp_doc_map_set(a, s, "apiVersion", idp_doc_new_str_at(a, "v1", made));
	idp_doc_map_set(a, s, "kind", idp_doc_new_str_at(a, "Secret", made));
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "name", idp_doc_new_str_at(a, name, made));
	if (ns)
		idp_doc_map_set(a, m, "namespace", idp_doc_new_str_at(a, ns, made));
	idp_doc_map_set(a, s, "metadata", m);
	idp_doc_node *data = idp_doc_new_map(a);
	for (size_t i = 0; i < conn->as.map.len; i++) {
		const idp_doc_node *v = conn->as.map.items[i].value;
		idp_buf b = IDP_BUF_INIT;
		compose_base64_encode(&b, (const unsigned char *)v->as.str.ptr, v->as.str.len);
		idp_doc_node *enc = idp_doc_new_strn(a, b.ptr ? b.ptr : "", b.len);
		enc->pos = v->pos;
		idp_doc_map_set(a, data, conn->as.map.items[i].key, enc);
		idp_buf_free(&b);
	}
	idp_doc_map_set(a, s, "data", data);
	idp_doc_map_set(a, s, "type", idp_doc_new_str_at(a, "connection.crossplane.io/v1alpha1", made));
	(void)err;
	*out = s;
	return 0;
}

idp_doc_node *compose_unwrap_object(idp_arena *a, idp_doc_node *res)
{
	const char *api = idp_doc_map_get_str(res, "apiVersion"), *kind = idp_doc_map_get_str(res, "kind");
	if (!api || !kind || strcmp(kind, "Object") != 0 || strncmp(api, "kubernetes.crossplane.io/", 25) != 0)
		return res;
	idp_doc_node *manifest = idp_doc_map_get(idp_doc_map_get(idp_doc_map_get(res, "spec"), "forProvider"), "manifest");
	if (!manifest || manifest->kind != IDP_DOC_MAP)
		return res;
	return idp_doc_copy(a, manifest);
}
