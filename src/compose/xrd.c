/*
 * CompositeResourceDefinitions: the schema of an XR and its claim, applied
 * the way the API server applies a CRD's structural schema (prune unknown
 * fields, then default, then validate) and a claim turned into its XR the
 * way Crossplane's claim reconciler does it.
 */
#include "compose/compose_private.h"

#include <math.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the XRD */

static const idp_doc_node *xrd_spec(const idp_doc_node *xrd)
{
	return idp_doc_map_get(xrd, "spec");
}

int idp_compose_xrd_check(const idp_doc_node *xrd, idp_err *err)
{
	if (!xrd || xrd->kind != IDP_DOC_MAP)
		return idp_err_set(err, IDP_EINPUT, "the XRD must be a map");
	const char *api = idp_doc_map_get_str(xrd, "apiVersion"), *kind = idp_doc_map_get_str(xrd, "kind");
	if (!api || strncmp(api, "apiextensions.crossplane.io/", 28) != 0 || !kind ||
	    strcmp(kind, "CompositeResourceDefinition") != 0)
		return idp_err_at(err, xrd->pos, NULL,
				  "want an apiextensions.crossplane.io CompositeResourceDefinition, found %s %s",
				  api ? api : "(no apiVersion)", kind ? kind : "(no kind)");
	const idp_doc_node *spec = xrd_spec(xrd);
	if (!spec || spec->kind != IDP_DOC_MAP)
		return idp_err_at(err, xrd->pos, "spec", "missing spec");
	if (!idp_doc_map_get_str(spec, "group"))
		return idp_err_at(err, spec->pos, "spec.group", "missing required field group");
	if (!idp_doc_map_get_str(idp_doc_map_get(spec, "names"), "kind"))
		return idp_err_at(err, spec->pos, "spec.names.kind", "missing required field names.kind");
	const idp_doc_node *versions = idp_doc_map_get(spec, "versions");
	if (!versions || versions->kind != IDP_DOC_SEQ || versions->as.seq.len == 0)
		return idp_err_at(err, spec->pos, "spec.versions", "an XRD needs at least one version");
	return 0;
}

/* Which role obj plays for xrd: 1 the XR, 2 the claim, 0 neither. */
static int role_of(const idp_doc_node *xrd, const idp_doc_node *obj, const idp_doc_node **version)
{
	const idp_doc_node *spec = xrd_spec(xrd);
	const char *group = idp_doc_map_get_str(spec, "group");
	const char *api = idp_doc_map_get_str(obj, "apiVersion"), *kind = idp_doc_map_get_str(obj, "kind");
	const char *slash = api ? strchr(api, '/') : NULL;
	*version = NULL;
	if (!slash || !group || strlen(group) != (size_t)(slash - api) || strncmp(api, group, strlen(group)) != 0)
		return 0;
	const idp_doc_node *versions = idp_doc_map_get(spec, "versions");
	for (size_t i = 0; i < versions->as.seq.len; i++) {
		const char *v = idp_doc_map_get_str(versions->as.seq.items[i], "name");
		const idp_doc_node *served = idp_doc_map_get(versions->as.seq.items[i], "served");
		if (v && strcmp(v, slash + 1) == 0 && !(served && served->kind == IDP_DOC_BOOL && !served->as.b))
			*version = versions->as.seq.items[i];
	}
	if (!*version)
		return 0;
	const char *xr_kind = idp_doc_map_get_str(idp_doc_map_get(spec, "names"), "kind");
	const char *claim_kind = idp_doc_map_get_str(idp_doc_map_get(spec, "claimNames"), "kind");
	if (xr_kind && strcmp(kind, xr_kind) == 0)
		return 1;
	if (claim_kind && strcmp(kind, claim_kind) == 0)
		return 2;
	return 0;
}

/* ---------------------------------------------------------------- schemas */

typedef struct walk {
	idp_arena *a;
	idp_buf path;
	compose_pruned *pruned;
	size_t n_pruned, cap_pruned;
	idp_err *err;
} walk;

static void note_pruned(walk *w, const idp_doc_entry *e)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, idp_buf_cstr(&w->path));
	idp_doc_path_push_key(&b, e->key);
	w->pruned = idp_arena_grow(w->a, w->pruned, w->n_pruned, &w->cap_pruned, sizeof(*w->pruned));
	w->pruned[w->n_pruned++] = (compose_pruned){e->key_pos, idp_arena_strdup(w->a, idp_buf_cstr(&b))};
	idp_buf_free(&b);
}

static bool flag(const idp_doc_node *schema, const char *key)
{
	const idp_doc_node *v = idp_doc_map_get(schema, key);
	return v && v->kind == IDP_DOC_BOOL && v->as.b;
}

/* Fields Crossplane adds to every XR and claim CRD, whatever the XRD says. */
static bool crossplane_field(const char *parent_path, const char *key)
{
	static const char *const spec_fields[] = {
		"compositionRef",	   "compositionSelector",      "compositionRevisionRef", "compositionRevisionSelector",
		"compositionUpdatePolicy", "compositeDeletePolicy",    "resourceRef",	     "resourceRefs",
		"claimRef",		   "writeConnectionSecretToRef", "publishConnectionDetailsTo", "environmentConfigRefs",
		"crossplane",
	};
	static const char *const status_fields[] = {"conditions", "connectionDetails", "claimConditionTypes"};
	if (strcmp(parent_path, "spec") == 0) {
		for (size_t i = 0; i < sizeof(spec_fields) / sizeof(spec_fields[0]); i++)
			if (strcmp(key, spec_fields[i]) == 0)
				return true;
	}
	if (strcmp(parent_path, "status") == 0) {
		for (size_t i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]); i++)
			if (strcmp(key, status_fields[i]) == 0)
				return true;
	}
	return false;
}

static int prune_and_default(walk *w, idp_doc_node *v, const idp_doc_node *schema);

static void push_key(walk *w, const char *key, size_t *mark)
{
	*mark = w->path.len;
	idp_doc_path_push_key(&w->path, key);
}

static void pop(walk *w, size_t mark)
{
	w->path.len = mark;
	if (w->path.ptr)
		w->path.ptr[mark] = 0;
}

/* Pruning and structural defaulting of one object against its schema. */
static int object_prune_default(walk *w, idp_doc_node *v, const idp_doc_node *schema)
{
	const idp_doc_node *props = idp_doc_map_get(schema, "properties");
	const idp_doc_node *addl = idp_doc_map_get(schema, "additionalProperties");
	bool preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
	const char *here = idp_buf_cstr(&w->path);
	for (size_t i = 0; i < v->as.map.len;) {
		idp_doc_entry *e = &v->as.map.items[i];
		const idp_doc_node *sub = props ? idp_doc_map_get(props, e->key) : NULL;
		if (!sub && addl && addl->kind == IDP_DOC_MAP)
			sub = addl;
		bool keep = sub || preserve || (addl && addl->kind == IDP_DOC_BOOL && addl->as.b) ||
			    crossplane_field(here, e->key) || (w->path.len == 0 &&
			     (strcmp(e->key, "apiVersion") == 0 || strcmp(e->key, "kind") == 0 ||
			      strcmp(e->key, "metadata") == 0));
		if (!keep) {
			note_pruned(w, e);
			idp_doc_map_delete(v, e->key);
			continue;
		}
		if (sub) {
			/* A null where the schema does not allow one is pruned, so a default
			 * can take its place. */
			if (e->value->kind == IDP_DOC_NULL && !flag(sub, "nullable") && idp_doc_map_get(sub, "default")) {
				idp_doc_map_delete(v, e->key);
				continue;
			}
			size_t mark;
			push_key(w, e->key, &mark);
			int rc = prune_and_default(w, e->value, sub);
			pop(w, mark);
			if (rc != 0)
				return rc;
		}
		i++;
	}
	for (size_t i = 0; props && props->kind == IDP_DOC_MAP && i < props->as.map.len; i++) {
		const idp_doc_entry *p = &props->as.map.items[i];
		const idp_doc_node *def = idp_doc_map_get(p->value, "default");
		if (!def || idp_doc_map_get(v, p->key))
			continue;
		idp_doc_node *copy = idp_doc_copy(w->a, def);
		idp_doc_map_set(w->a, v, p->key, copy);
		size_t mark;
		push_key(w, p->key, &mark);
		int rc = prune_and_default(w, copy, p->value);
		pop(w, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int prune_and_default(walk *w, idp_doc_node *v, const idp_doc_node *schema)
{
	if (!schema || schema->kind != IDP_DOC_MAP)
		return 0;
	if (v->kind == IDP_DOC_MAP)
		return object_prune_default(w, v, schema);
	if (v->kind == IDP_DOC_SEQ) {
		const idp_doc_node *items = idp_doc_map_get(schema, "items");
		for (size_t i = 0; items && i < v->as.seq.len; i++) {
			size_t mark = w->path.len;
			idp_doc_path_push_index(&w->path, i);
			int rc = prune_and_default(w, v->as.seq.items[i], items);
			pop(w, mark);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- validation */

static int invalid(walk *w, const idp_doc_node *v, const char *fmt, ...) IDP_PRINTF(3, 4);
static int invalid(walk *w, const idp_doc_node *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	idp_err_vat(w->err, v->pos, idp_buf_cstr(&w->path), fmt, ap);
	va_end(ap);
	return IDP_EINPUT;
}

static bool type_matches(const char *type, const idp_doc_node *v)
{
	switch (v->kind) {
	case IDP_DOC_STR:
		return strcmp(type, "string") == 0;
	case IDP_DOC_INT:
		return strcmp(type, "integer") == 0 || strcmp(type, "number") == 0;
	case IDP_DOC_FLOAT:
		return strcmp(type, "number") == 0 || (strcmp(type, "integer") == 0 && v->as.f == floor(v->as.f));
	case IDP_DOC_BOOL:
		return strcmp(type, "boolean") == 0;
	case IDP_DOC_MAP:
		return strcmp(type, "object") == 0;
	case IDP_DOC_SEQ:
		return strcmp(type, "array") == 0;
	case IDP_DOC_NULL:
		return false;
	}
	return false;
}

static double number_of(const idp_doc_node *v)
{
	return v->kind == IDP_DOC_INT ? (double)v->as.i : v->as.f;
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static int check_format(walk *w, const idp_doc_node *v, const char *format)
{
	const char *s = v->as.str.ptr;
	const char *pattern = NULL;
	if (strcmp(format, "date-time") == 0)
		pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
	else if (strcmp(format, "date") == 0)
		pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
	else if (strcmp(format, "hostname") == 0)
		return idp_name_check_dns1123_subdomain(s) ? invalid(w, v, "\"%s\" is not a hostname: %s", s,
								      idp_name_check_dns1123_subdomain(s))
							   : 0;
	else if (strcmp(format, "uri") == 0)
		pattern = "^[a-zA-Z][a-zA-Z0-9+.-]*:[^ ]*$";
	else if (strcmp(format, "email") == 0)
		pattern = "^[^@ ]+@[^@ ]+$";
	else if (strcmp(format, "ipv4") == 0)
		pattern = "^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$";
	else if (strcmp(format, "uuid") == 0)
		pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
	else if (strcmp(format, "byte") == 0)
		pattern = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";
	else
		return 0; /* unknown formats are ignored, as the API server does */
	bool bad;
	bool ok = idp_regex_match(pattern, s, &bad);
	return ok || bad ? 0 : invalid(w, v, "\"%s\" is not a valid %s", s, format);
}

static int validate(walk *w, const idp_doc_node *v, const idp_doc_node *schema);

static int validate_object(walk *w, const idp_doc_node *v, const idp_doc_node *schema)
{
	const idp_doc_node *req = idp_doc_map_get(schema, "required");
	for (size_t i = 0; req && req->kind == IDP_DOC_SEQ && i < req->as.seq.len; i++) {
		const idp_doc_node *k = req->as.seq.items[i];
		if (k->kind == IDP_DOC_STR && !idp_doc_map_get(v, k->as.str.ptr)) {
			size_t mark;
			push_key(w, k->as.str.ptr, &mark);
			int rc = invalid(w, v, "Required value: missing required field %s", k->as.str.ptr);
			pop(w, mark);
			return rc;
		}
	}
	const idp_doc_node *props = idp_doc_map_get(schema, "properties");
	const idp_doc_node *addl = idp_doc_map_get(schema, "additionalProperties");
	for (size_t i = 0; i < v->as.map.len; i++) {
		const idp_doc_entry *e = &v->as.map.items[i];
		const idp_doc_node *sub = props ? idp_doc_map_get(props, e->key) : NULL;
		if (!sub && addl && addl->kind == IDP_DOC_MAP)
			sub = addl;
		if (!sub)
			continue;
		size_t mark;
		push_key(w, e->key, &mark);
		int rc = validate(w, e->value, sub);
		pop(w, mark);
		if (rc != 0)
			return rc;
	}
	const idp_doc_node *minp = idp_doc_map_get(schema, "minProperties");
	const idp_doc_node *maxp = idp_doc_map_get(schema, "maxProperties");
	if (minp && minp->kind == IDP_DOC_INT && (int64_t)v->as.map.len < minp->as.i)
		return invalid(w, v, "should have at least %lld properties", (long long)minp->as.i);
	if (maxp && maxp->kind == IDP_DOC_INT && (int64_t)v->as.map.len > maxp->as.i)
		return invalid(w, v, "should have at most %lld properties", (long long)maxp->as.i);
	return 0;
}

static int validate(walk *w, const idp_doc_node *v, const idp_doc_node *schema)
{
	if (!schema || schema->kind != IDP_DOC_MAP)
		return 0;
	if (v->kind == IDP_DOC_NULL) {
		if (flag(schema, "nullable") || !idp_doc_map_get_str(schema, "type"))
			return 0;
		return invalid(w, v, "Invalid value: null: must be %s", idp_doc_map_get_str(schema, "type"));
	}
	const char *type = idp_doc_map_get_str(schema, "type");
	if (type && !type_matches(type, v) && !flag(schema, "x-kubernetes-int-or-string"))
		return invalid(w, v, "Invalid value: %s: must be of type %s", idp_doc_kind_name(v->kind), type);
	if (flag(schema, "x-kubernetes-int-or-string") && v->kind != IDP_DOC_INT && v->kind != IDP_DOC_STR)
		return invalid(w, v, "Invalid value: %s: must be an integer or a string", idp_doc_kind_name(v->kind));
	const idp_doc_node *en = idp_doc_map_get(schema, "enum");
	if (en && en->kind == IDP_DOC_SEQ) {
		bool found = false;
		for (size_t i = 0; i < en->as.seq.len && !found; i++)
			found = idp_doc_equal(en->as.seq.items[i], v);
		if (!found) {
			idp_buf allowed = IDP_BUF_INIT;
			for (size_t i = 0; i < en->as.seq.len; i++) {
				idp_err e = IDP_ERR_INIT;
				if (i)
					idp_buf_puts(&allowed, ", ");
				idp_doc_emit_json(en->as.seq.items[i], IDP_DOC_JSON_COMPACT, &allowed, &e);
				idp_err_clear(&e);
			}
			idp_buf got = IDP_BUF_INIT;
			idp_err e = IDP_ERR_INIT;
			idp_doc_emit_json(v, IDP_DOC_JSON_COMPACT, &got, &e);
			idp_err_clear(&e);
			int rc = invalid(w, v, "Unsupported value: %s: supported values: %s", idp_buf_cstr(&got),
					 idp_buf_cstr(&allowed));
			idp_buf_free(&allowed);
			idp_buf_free(&got);
			return rc;
		}
	}
	if (v->kind == IDP_DOC_STR) {
		const idp_doc_node *maxl = idp_doc_map_get(schema, "maxLength"), *minl = idp_doc_map_get(schema, "minLength");
		size_t len = utf8_len(v->as.str.ptr, v->as.str.len);
		if (maxl && maxl->kind == IDP_DOC_INT && (int64_t)len > maxl->as.i)
			return invalid(w, v, "Too long: may not be more than %lld bytes", (long long)maxl->as.i);
		if (minl && minl->kind == IDP_DOC_INT && (int64_t)len < minl->as.i)
			return invalid(w, v, "Invalid value: \"%s\": should be at least %lld chars long", v->as.str.ptr,
				       (long long)minl->as.i);
		const char *pattern = idp_doc_map_get_str(schema, "pattern");
		if (pattern) {
			idp_buf posix = IDP_BUF_INIT;
			idp_err rerr = IDP_ERR_INIT;
			int flags;
			const regex_t *rx = compose_re2_translate(pattern, &posix, &flags, &rerr) == 0
						    ? idp_regex_get(idp_buf_cstr(&posix), flags | REG_NOSUB)
						    : NULL;
			bool ok = !rx || regexec(rx, v->as.str.ptr, 0, NULL, 0) == 0;
			idp_buf_free(&posix);
			idp_err_clear(&rerr);
			if (!ok)
				return invalid(w, v, "Invalid value: \"%s\": should match '%s'", v->as.str.ptr, pattern);
		}
		const char *format = idp_doc_map_get_str(schema, "format");
		if (format && check_format(w, v, format) != 0)
			return IDP_EINPUT;
	}
	if (v->kind == IDP_DOC_INT || v->kind == IDP_DOC_FLOAT) {
		double x = number_of(v);
		const idp_doc_node *min = idp_doc_map_get(schema, "minimum"), *max = idp_doc_map_get(schema, "maximum");
		bool xmin = flag(schema, "exclusiveMinimum"), xmax = flag(schema, "exclusiveMaximum");
		if (min && (min->kind == IDP_DOC_INT || min->kind == IDP_DOC_FLOAT) &&
		    (xmin ? x <= number_of(min) : x < number_of(min)))
			return invalid(w, v, "Invalid value: %g: should be greater than %s%g", x, xmin ? "" : "or equal to ",
				       number_of(min));
		if (max && (max->kind == IDP_DOC_INT || max->kind == IDP_DOC_FLOAT) &&
		    (xmax ? x >= number_of(max) : x > number_of(max)))
			return invalid(w, v, "Invalid value: %g: should be less than %s%g", x, xmax ? "" : "or equal to ",
				       number_of(max));
		const char *format = idp_doc_map_get_str(schema, "format");
		if (format && strcmp(format, "int32") == 0 && (x < -2147483648.0 || x > 2147483647.0))
			return invalid(w, v, "Invalid value: %g: out of range for int32", x);
	}
	if (v->kind == IDP_DOC_SEQ) {
		const idp_doc_node *maxi = idp_doc_map_get(schema, "maxItems"), *mini = idp_doc_map_get(schema, "minItems");
		if (maxi && maxi->kind == IDP_DOC_INT && (int64_t)v->as.seq.len > maxi->as.i)
			return invalid(w, v, "Too many: %zu: must have at most %lld items", v->as.seq.len, (long long)maxi->as.i);
		if (mini && mini->kind == IDP_DOC_INT && (int64_t)v->as.seq.len < mini->as.i)
			return invalid(w, v, "Invalid value: %zu: should have at least %lld items", v->as.seq.len,
				       (long long)mini->as.i);
		const idp_doc_node *items = idp_doc_map_get(schema, "items");
		for (size_t i = 0; items && i < v->as.seq.len; i++) {
			size_t mark = w->path.len;
			idp_doc_path_push_index(&w->path, i);
			int rc = validate(w, v->as.seq.items[i], items);
			pop(w, mark);
			if (rc != 0)
				return rc;
		}
	}
	if (v->kind == IDP_DOC_MAP)
		return validate_object(w, v, schema);
	return 0;
}

/* The schema of spec and status for version, as a full object schema. */
static const idp_doc_node *version_schema(const idp_doc_node *version)
{
	return idp_doc_map_get(idp_doc_map_get(version, "schema"), "openAPIV3Schema");
}

/* Prunes, defaults and validates obj in place; w collects what was pruned. */
static int apply_schema(walk *w, const idp_doc_node *xrd, idp_doc_node *obj)
{
	const idp_doc_node *version;
	if (role_of(xrd, obj, &version) == 0)
		return idp_err_at(w->err, obj->pos, NULL, "%s %s is neither the composite nor the claim kind of XRD %s",
				  idp_doc_map_get_str(obj, "apiVersion"), idp_doc_map_get_str(obj, "kind"),
				  idp_doc_map_get_str(idp_doc_map_get(xrd, "metadata"), "name"));
	const idp_doc_node *schema = version_schema(version);
	if (!schema)
		return 0;
	int rc = prune_and_default(w, obj, schema);
	if (rc == 0)
		rc = validate(w, obj, schema);
	return rc;
}

int compose_xrd_apply(idp_arena *a, const idp_doc_node *xrd, idp_doc_node *obj, compose_pruned **pruned,
		      size_t *n_pruned, idp_err *err)
{
	walk w = {a, IDP_BUF_INIT, NULL, 0, 0, err};
	int rc = apply_schema(&w, xrd, obj);
	idp_buf_free(&w.path);
	*pruned = w.pruned;
	*n_pruned = w.n_pruned;
	return rc;
}

int idp_compose_xrd_validate(idp_arena *a, const idp_doc_node *xrd, const idp_doc_node *obj, idp_err *err)
{
	walk w = {a, IDP_BUF_INIT, NULL, 0, 0, err};
	int rc = apply_schema(&w, xrd, idp_doc_copy(a, obj));
	idp_buf_free(&w.path);
	if (rc == 0 && w.n_pruned)
		rc = idp_err_at(err, w.pruned[0].pos, w.pruned[0].path, "unknown field: the %s schema does not declare it",
				idp_doc_map_get_str(obj, "kind"));
	return rc;
}

/* ---------------------------------------------------------------- claims */

bool compose_xrd_is_claim(const idp_doc_node *xrd, const idp_doc_node *obj)
{
	const idp_doc_node *version;
	return xrd && role_of(xrd, obj, &version) == 2;
}

/* Five characters from Kubernetes' name alphabet, derived from the claim's
 * namespace and name, where Crossplane picks them at random: a render
 * must give the same XR name every time. */
static void name_suffix(const char *ns, const char *name, char out[6])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	idp_buf b = IDP_BUF_INIT;
	idp_buf_printf(&b, "%s/%s", ns, name);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(b.ptr, b.len, d, &n, EVP_sha256(), NULL);
	idp_buf_free(&b);
	for (int i = 0; i < 5; i++)
		out[i] = alphabet[d[i] % (sizeof(alphabet) - 1)];
	out[5] = 0;
}

int compose_claim_to_xr(idp_arena *a, const idp_doc_node *xrd, const idp_doc_node *claim, idp_doc_node **out,
			idp_err *err)
{
	const idp_doc_node *spec = xrd_spec(xrd);
	const idp_doc_node *meta = idp_doc_map_get(claim, "metadata");
	const idp_doc_node *name_node = idp_doc_map_get(meta, "name"), *ns_node = idp_doc_map_get(meta, "namespace");
	if (!name_node || name_node->kind != IDP_DOC_STR)
		return idp_err_at(err, (meta ? meta : claim)->pos, "metadata.name", "a claim needs metadata.name");
	const char *name = name_node->as.str.ptr;
	bool has_ns = ns_node && ns_node->kind == IDP_DOC_STR;
	const char *ns = has_ns ? ns_node->as.str.ptr : "default";
	idp_pos ns_pos = has_ns ? ns_node->pos : idp_pos_made("Kubernetes: an object without a namespace is in default");
	const idp_doc_node *api = idp_doc_map_get(claim, "apiVersion");
	idp_doc_node *xr = idp_doc_new_map(a);
	idp_doc_map_set(a, xr, "apiVersion", idp_doc_copy(a, api));
	idp_doc_map_set(a, xr, "kind", idp_doc_copy(a, idp_doc_map_get(idp_doc_map_get(spec, "names"), "kind")));
	idp_doc_node *xmeta = idp_doc_new_map(a);
	idp_doc_map_set(a, xr, "metadata", xmeta);
	const idp_doc_node *bound = idp_doc_map_get(idp_doc_map_get(idp_doc_map_get(claim, "spec"), "resourceRef"), "name");
	idp_doc_node *xr_name;
	if (bound && bound->kind == IDP_DOC_STR) {
		xr_name = idp_doc_copy(a, bound);
	} else {
		char suffix[6];
		name_suffix(ns, name, suffix);
		xr_name = idp_doc_new_str_at(a, idp_arena_printf(a, "%s-%s", name, suffix),
					     idp_pos_made("Crossplane: a claim's composite is named after it, plus a suffix"));
	}
	idp_doc_map_set(a, xmeta, "name", xr_name);
	idp_doc_node *labels = idp_doc_new_map(a);
	const idp_doc_node *cl = idp_doc_map_get(meta, "labels");
	for (size_t i = 0; cl && cl->kind == IDP_DOC_MAP && i < cl->as.map.len; i++)
		idp_doc_map_set(a, labels, cl->as.map.items[i].key, idp_doc_copy(a, cl->as.map.items[i].value));
	idp_doc_map_set(a, labels, "crossplane.io/claim-name", idp_doc_copy(a, name_node));
	idp_doc_map_set(a, labels, "crossplane.io/claim-namespace", idp_doc_new_str_at(a, ns, ns_pos));
	idp_doc_map_set(a, labels, "crossplane.io/composite", idp_doc_copy(a, xr_name));
	idp_doc_map_set(a, xmeta, "labels", labels);
	const idp_doc_node *ca = idp_doc_map_get(meta, "annotations");
	if (ca && ca->kind == IDP_DOC_MAP) {
		idp_doc_node *ann = idp_doc_new_map(a);
		for (size_t i = 0; i < ca->as.map.len; i++)
			if (strcmp(ca->as.map.items[i].key, "kubectl.kubernetes.io/last-applied-configuration") != 0)
				idp_doc_map_set(a, ann, ca->as.map.items[i].key, idp_doc_copy(a, ca->as.map.items[i].value));
		idp_doc_map_set(a, xmeta, "annotations", ann);
	}
	idp_doc_node *xspec = idp_doc_new_map(a);
	const idp_doc_node *cspec = idp_doc_map_get(claim, "spec");
	for (size_t i = 0; cspec && cspec->kind == IDP_DOC_MAP && i < cspec->as.map.len; i++) {
		const char *k = cspec->as.map.items[i].key;
		/* The claim keeps its own connection secret and bindings. */
		if (strcmp(k, "resourceRef") == 0 || strcmp(k, "writeConnectionSecretToRef") == 0 ||
		    strcmp(k, "compositeDeletePolicy") == 0)
			continue;
		idp_doc_map_append(a, xspec, k, cspec->as.map.items[i].key_pos, idp_doc_copy(a, cspec->as.map.items[i].value));
	}
	idp_doc_node *ref = idp_doc_new_map(a);
	idp_doc_map_set(a, ref, "apiVersion", idp_doc_copy(a, api));
	idp_doc_map_set(a, ref, "kind", idp_doc_copy(a, idp_doc_map_get(claim, "kind")));
	idp_doc_map_set(a, ref, "name", idp_doc_copy(a, name_node));
	idp_doc_map_set(a, ref, "namespace", idp_doc_new_str_at(a, ns, ns_pos));
	idp_doc_map_set(a, xspec, "claimRef", ref);
	idp_doc_map_set(a, xr, "spec", xspec);
	xr->pos = claim->pos;
	*out = xr;
	return 0;
}

/* The composition xr asks for (compositionRef, compositionSelector, the
 * XRD's default or enforced one) must be the one given. */
int compose_check_selection(const idp_doc_node *xrd, const idp_doc_node *xr, const idp_doc_node *composition,
			    idp_err *err)
{
	const char *cname = idp_doc_map_get_str(idp_doc_map_get(composition, "metadata"), "name");
	const idp_doc_node *xspec = idp_doc_map_get(xr, "spec");
	const char *enforced = idp_doc_map_get_str(idp_doc_map_get(xrd_spec(xrd), "enforcedCompositionRef"), "name");
	const idp_doc_node *refn = idp_doc_map_get(idp_doc_map_get(xspec, "compositionRef"), "name");
	const char *want = enforced ? enforced : refn && refn->kind == IDP_DOC_STR ? refn->as.str.ptr : NULL;
	const idp_doc_node *sel = idp_doc_map_get(idp_doc_map_get(xspec, "compositionSelector"), "matchLabels");
	if (!want && !sel)
		want = idp_doc_map_get_str(idp_doc_map_get(xrd_spec(xrd), "defaultCompositionRef"), "name");
	if (want && (!cname || strcmp(want, cname) != 0))
		return idp_err_at(err, refn ? refn->pos : xr->pos, "spec.compositionRef",
				  "the composite resource wants composition %s%s, not %s", want,
				  enforced ? " (enforced by the XRD)" : "", cname ? cname : "(unnamed)");
	if (sel && sel->kind == IDP_DOC_MAP) {
		const idp_doc_node *labels = idp_doc_map_get(idp_doc_map_get(composition, "metadata"), "labels");
		for (size_t i = 0; i < sel->as.map.len; i++) {
			const char *have = idp_doc_map_get_str(labels, sel->as.map.items[i].key);
			const idp_doc_node *v = sel->as.map.items[i].value;
			if (!have || v->kind != IDP_DOC_STR || strcmp(have, v->as.str.ptr) != 0)
				return idp_err_at(err, v->pos, "spec.compositionSelector.matchLabels",
						  "composition %s does not carry label %s=%s", cname ? cname : "(unnamed)",
						  sel->as.map.items[i].key, v->kind == IDP_DOC_STR ? v->as.str.ptr : "?");
		}
	}
	return 0;
}
