/* Object-level checks: what the API server rejects before any kind's schema. */
#include "manifest/manifest.h"

#include <stdlib.h>
#include <string.h>

static void problem(idp_errs *errs, idp_pos pos, const char *path, const char *fmt, ...) IDP_PRINTF(4, 5);

static void problem(idp_errs *errs, idp_pos pos, const char *path, const char *fmt, ...)
{
	idp_err e = IDP_ERR_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_err_vat(&e, pos, path, fmt, ap);
	va_end(ap);
	idp_errs_push(errs, &e);
}

/* The position of key inside map (where a missing child would be written). */
static idp_pos key_pos(const idp_doc_node *map, const char *key)
{
	for (size_t i = 0; i < map->as.map.len; i++)
		if (strcmp(map->as.map.items[i].key, key) == 0)
			return map->as.map.items[i].key_pos;
	return map->pos;
}

static bool is_kind(const char *kind, const char *const *kinds)
{
	for (; *kinds; kinds++)
		if (strcmp(kind, *kinds) == 0)
			return true;
	return false;
}

const char *idp_manifest_check_name(const char *kind, const char *name)
{
	static const char *const path_segment_kinds[] = {"Role", "ClusterRole", "RoleBinding",
							 "ClusterRoleBinding", NULL};
	if (kind && strcmp(kind, "Namespace") == 0)
		return idp_name_check_dns1123_label(name);
	if (kind && strcmp(kind, "Service") == 0)
		return idp_name_check_dns1035_label(name);
	if (kind && is_kind(kind, path_segment_kinds))
		return idp_name_check_path_segment(name);
	return idp_name_check_dns1123_subdomain(name);
}

/* A required string field directly under map; returns it or NULL. */
static const char *required_string(const idp_doc_node *map, const char *key, const char *path,
				   idp_errs *errs)
{
	const idp_doc_node *v = idp_doc_map_get(map, key);
	if (!v) {
		problem(errs, map->pos, path, "required field is missing");
		return NULL;
	}
	if (v->kind != IDP_DOC_STR) {
		problem(errs, v->pos, path, "must be a string, not a %s", idp_doc_kind_name(v->kind));
		return NULL;
	}
	if (v->as.str.len == 0) {
		problem(errs, v->pos, path, "must not be empty");
		return NULL;
	}
	return v->as.str.ptr;
}

static void check_string_map(const idp_doc_node *map, const char *field, bool label_values,
			     idp_errs *errs)
{
	idp_buf path = IDP_BUF_INIT;
	for (size_t i = 0; i < map->as.map.len; i++) {
		const idp_doc_entry *e = &map->as.map.items[i];
		idp_buf_clear(&path);
		idp_buf_puts(&path, field);
		idp_doc_path_push_key(&path, e->key);
		const char *why = idp_name_check_qualified(e->key);
		if (why)
			problem(errs, e->key_pos, path.ptr, "invalid key \"%s\": %s", e->key, why);
		if (e->value->kind != IDP_DOC_STR) {
			problem(errs, e->value->pos, path.ptr, "must be a string, not a %s (quote it)",
				idp_doc_kind_name(e->value->kind));
			continue;
		}
		if (label_values && (why = idp_name_check_label_value(e->value->as.str.ptr)))
			problem(errs, e->value->pos, path.ptr, "invalid value \"%s\": %s", e->value->as.str.ptr,
				why);
	}
	idp_buf_free(&path);
}

static void check_metadata(const idp_doc_node *doc, const char *kind, const char *prefix, idp_errs *errs)
{
	idp_buf path = IDP_BUF_INIT;
	idp_buf_printf(&path, "%smetadata", prefix);
	const idp_doc_node *meta = idp_doc_map_get(doc, "metadata");
	if (!meta) {
		idp_buf_puts(&path, ".name");
		problem(errs, doc->pos, path.ptr, "required field is missing");
		goto done;
	}
	if (meta->kind != IDP_DOC_MAP) {
		problem(errs, meta->pos, path.ptr, "must be a map, not a %s", idp_doc_kind_name(meta->kind));
		goto done;
	}
	size_t base_len = path.len;
	const idp_doc_node *name = idp_doc_map_get(meta, "name");
	const idp_doc_node *generate = idp_doc_map_get(meta, "generateName");
	idp_buf_puts(&path, ".name");
	if (!name && !generate) {
		problem(errs, key_pos(doc, "metadata"), path.ptr, "required field is missing");
	} else if (name && name->kind != IDP_DOC_STR) {
		problem(errs, name->pos, path.ptr, "must be a string, not a %s", idp_doc_kind_name(name->kind));
	} else if (name) {
		const char *why = idp_manifest_check_name(kind, name->as.str.ptr);
		if (why)
			problem(errs, name->pos, path.ptr, "invalid name \"%s\": %s", name->as.str.ptr, why);
	}
	if (generate && generate->kind != IDP_DOC_STR) {
		path.len = base_len;
		idp_buf_puts(&path, ".generateName");
		problem(errs, generate->pos, path.ptr, "must be a string, not a %s",
			idp_doc_kind_name(generate->kind));
	} else if (generate && !name) {
		/* The API server appends a random suffix; the prefix must be valid
		 * once its trailing '-' (if any) is set aside. */
		char *gen = idp_xstrdup(generate->as.str.ptr);
		size_t n = strlen(gen);
		if (n && gen[n - 1] == '-')
			gen[n - 1] = '\0';
		const char *why = idp_manifest_check_name(kind, gen);
		if (why) {
			path.len = base_len;
			idp_buf_puts(&path, ".generateName");
			problem(errs, generate->pos, path.ptr, "invalid prefix \"%s\": %s",
				generate->as.str.ptr, why);
		}
		free(gen);
	}
	const idp_doc_node *ns = idp_doc_map_get(meta, "namespace");
	if (ns) {
		path.len = base_len;
		idp_buf_puts(&path, ".namespace");
		if (ns->kind != IDP_DOC_STR) {
			problem(errs, ns->pos, path.ptr, "must be a string, not a %s", idp_doc_kind_name(ns->kind));
		} else {
			const char *why = idp_name_check_dns1123_label(ns->as.str.ptr);
			if (why)
				problem(errs, ns->pos, path.ptr, "invalid namespace \"%s\": %s", ns->as.str.ptr, why);
		}
	}
	static const char *const maps[] = {"labels", "annotations"};
	for (size_t i = 0; i < 2; i++) {
		const idp_doc_node *m = idp_doc_map_get(meta, maps[i]);
		if (!m || m->kind == IDP_DOC_NULL)
			continue;
		path.len = base_len;
		idp_buf_printf(&path, ".%s", maps[i]);
		if (m->kind != IDP_DOC_MAP)
			problem(errs, m->pos, path.ptr, "must be a map, not a %s", idp_doc_kind_name(m->kind));
		else
			check_string_map(m, path.ptr, i == 0, errs);
	}
done:
	idp_buf_free(&path);
}

static size_t check_object(const idp_doc_node *doc, const char *prefix, idp_errs *errs)
{
	size_t before = errs->len;
	idp_buf path = IDP_BUF_INIT;
	if (doc->kind != IDP_DOC_MAP) {
		problem(errs, doc->pos, *prefix ? prefix : NULL, "a Kubernetes object must be a map, not a %s",
			idp_doc_kind_name(doc->kind));
		return errs->len - before;
	}
	idp_buf_printf(&path, "%sapiVersion", prefix);
	required_string(doc, "apiVersion", path.ptr, errs);
	idp_buf_clear(&path);
	idp_buf_printf(&path, "%skind", prefix);
	const char *kind = required_string(doc, "kind", path.ptr, errs);
	const idp_doc_node *items = idp_doc_map_get(doc, "items");
	if (kind && idp_str_has_suffix(kind, "List") && items && items->kind == IDP_DOC_SEQ) {
		for (size_t i = 0; i < items->as.seq.len; i++) {
			idp_buf_clear(&path);
			idp_buf_printf(&path, "%sitems[%zu].", prefix, i);
			check_object(items->as.seq.items[i], path.ptr, errs);
		}
	} else {
		check_metadata(doc, kind, prefix, errs);
	}
	idp_buf_free(&path);
	return errs->len - before;
}

size_t idp_manifest_check(const idp_doc_node *doc, idp_errs *errs)
{
	return check_object(doc, "", errs);
}
