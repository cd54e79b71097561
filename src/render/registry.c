/* Definition files: YAML ComponentDefinition / TraitDefinition with a CUE
 * template, or KubeVela's own .cue definition format. */
#include "compose/compose.h"
#include "render/render_private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

idp_render_registry *idp_render_registry_new(idp_arena *a)
{
	idp_render_registry *reg = idp_arena_zalloc(a, sizeof(*reg));
	reg->a = a;
	return reg;
}

const idp_errs *idp_render_registry_skipped(const idp_render_registry *reg)
{
	return &reg->skipped;
}

void idp_render_registry_free(idp_render_registry *reg)
{
	if (reg)
		idp_errs_free(&reg->skipped);
}

size_t idp_render_registry_size(const idp_render_registry *reg)
{
	return reg->n;
}

/* Positions in a YAML definition's template point into the YAML file. */
static int compile_def(idp_arena *a, render_def *def, idp_err *err)
{
	idp_pos origin = {def->file, def->line_off + 1, def->col_off + 1};
	return idp_cue_compile_at(a, origin, def->src, def->len, &def->compiled, err);
}

static int registry_put(idp_render_registry *reg, render_def def, idp_err *err)
{
	int rc = def.compiled || reg->lazy ? 0 : compile_def(reg->a, &def, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->defs[i].kind == def.kind && strcmp(reg->defs[i].name, def.name) == 0) {
			reg->defs[i] = def;
			return 0;
		}
	}
	reg->defs = idp_arena_grow(reg->a, reg->defs, reg->n, &reg->cap, sizeof(*reg->defs));
	reg->defs[reg->n++] = def;
	return 0;
}

/* Where a block-scalar template's text starts in its YAML file: the line
 * after the `|`, at that line's indentation. */
static void template_offset(const char *data, size_t len, const idp_doc_node *tpl, uint32_t *line_off,
			    uint32_t *col_off)
{
	*line_off = tpl->pos.line ? tpl->pos.line - 1 : 0;
	*col_off = 0;
	const char *p = data, *end = data + len;
	for (uint32_t l = 1; p < end && l < tpl->pos.line; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	/* p: the line holding the indicator; a block scalar starts below it. */
	const char *ind = p;
	while (ind < end && *ind != '\n' && *ind != '|' && *ind != '>')
		ind++;
	if (ind < end && (*ind == '|' || *ind == '>')) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return;
		p = nl + 1;
		*line_off = tpl->pos.line;
		/* The indentation is that of the first line with text (blank
		 * lines may come first). */
		for (;;) {
			const char *q = p;
			uint32_t spaces = 0;
			while (q < end && *q == ' ') {
				q++;
				spaces++;
			}
			if (q < end && (*q == '\n' || *q == '\r')) { /* blank: look at the next line */
				const char *next = memchr(q, '\n', (size_t)(end - q));
				if (!next)
					break;
				p = next + 1;
				continue;
			}
			*col_off = spaces;
			break;
		}
	}
}

const char *render_kind_name(render_kind kind)
{
	return kind == RENDER_TRAIT ? "trait" : kind == RENDER_POLICY ? "policy" : "component";
}

/* Kubernetes' resource name for a kind (what appliesToWorkloads lists):
 * lower case, plural as the API server's default RESTMapper guesses it. */
static char *resource_plural(idp_arena *a, const char *kind)
{
	size_t n = strlen(kind);
	char *s = idp_arena_alloc(a, n + 4);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)kind[i]);
	s[n] = '\0';
	if (n && s[n - 1] == 's')
		strcpy(s + n, "es");
	else if (n > 1 && s[n - 1] == 'y' && !strchr("aeiou", s[n - 2]))
		strcpy(s + n - 1, "ies");
	else
		strcpy(s + n, "s");
	return s;
}

/* A ComponentDefinition's workload as `plural.group` (`deployments.apps`,
 * `services.serving.knative.dev`, `secrets` for the core group); spec is
 * the YAML definition's spec or a .cue definition's attributes. */
static const char *workload_of(idp_arena *a, const idp_doc_node *spec)
{
	const idp_doc_node *w = idp_doc_map_get(spec, "workload");
	if (!w || w->kind != IDP_DOC_MAP)
		return NULL;
	const char *type = idp_doc_map_get_str(w, "type");
	if (type)
		return type;
	const idp_doc_node *def = idp_doc_map_get(w, "definition");
	const char *api = idp_doc_map_get_str(def, "apiVersion"), *kind = idp_doc_map_get_str(def, "kind");
	if (!api || !kind)
		return NULL;
	const char *slash = strchr(api, '/');
	char *plural = resource_plural(a, kind);
	return slash ? idp_arena_printf(a, "%s.%.*s", plural, (int)(slash - api), api) : plural;
}

static void read_applies_to(idp_arena *a, const idp_doc_node *spec, render_def *def)
{
	const idp_doc_node *list = idp_doc_map_get(spec, "appliesToWorkloads");
	if (!list || list->kind != IDP_DOC_SEQ || list->as.seq.len == 0)
		return;
	def->applies_to = idp_arena_alloc(a, list->as.seq.len * sizeof(char *));
	for (size_t i = 0; i < list->as.seq.len; i++)
		if (list->as.seq.items[i]->kind == IDP_DOC_STR)
			def->applies_to[def->n_applies_to++] = list->as.seq.items[i]->as.str.ptr;
}

static void doc_list_push(idp_arena *a, render_doc_list *l, const idp_doc_node *d)
{
	l->items = idp_arena_grow(a, l->items, l->n, &l->cap, sizeof(*l->items));
	l->items[l->n++] = d;
}

/* A later XRD or Composition with the same name replaces the earlier one
 * (as a later definition does). */
static void doc_list_put(idp_arena *a, render_doc_list *l, const idp_doc_node *d)
{
	const char *name = idp_doc_map_get_str(idp_doc_map_get(d, "metadata"), "name");
	for (size_t i = 0; name && i < l->n; i++) {
		const char *have = idp_doc_map_get_str(idp_doc_map_get(l->items[i], "metadata"), "name");
		if (have && strcmp(have, name) == 0) {
			l->items[i] = d;
			return;
		}
	}
	doc_list_push(a, l, d);
}

static int add_crossplane_doc(idp_render_registry *reg, const idp_doc_node *d, const char *kind, idp_err *err)
{
	if (strcmp(kind, "CompositeResourceDefinition") == 0) {
		int rc = idp_compose_xrd_check(d, err);
		if (rc == 0)
			doc_list_put(reg->a, &reg->xrds, d);
		return rc;
	}
	if (reg->lazy) { /* built in: checked when first selected */
		doc_list_put(reg->a, &reg->compositions, d);
		return 0;
	}
	int rc = idp_compose_check(d, err);
	if (rc == 0)
		doc_list_push(reg->a, &reg->checked, d);
	if (rc == 0)
		doc_list_put(reg->a, &reg->compositions, d);
	return rc;
}

static int add_yaml_defs(idp_render_registry *reg, const char *name, const char *data, size_t len, idp_err *err)
{
	idp_doc_stream s;
	int rc = idp_doc_load(reg->a, name, data, len, NULL, &s, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < s.len; i++) {
		const idp_doc_node *d = s.docs[i];
		const char *kind = idp_doc_map_get_str(d, "kind");
		if (kind && (strcmp(kind, "CompositeResourceDefinition") == 0 || strcmp(kind, "Composition") == 0)) {
			if ((rc = add_crossplane_doc(reg, d, kind, err)))
				return rc;
			continue;
		}
		render_def def = {0};
		if (kind && strcmp(kind, "ComponentDefinition") == 0)
			def.kind = RENDER_COMPONENT;
		else if (kind && strcmp(kind, "TraitDefinition") == 0)
			def.kind = RENDER_TRAIT;
		else if (kind && strcmp(kind, "PolicyDefinition") == 0)
			def.kind = RENDER_POLICY;
		else
			continue;
		idp_doc_node *nm, *tpl, *desc;
		if (idp_doc_path_get(d, "metadata.name", &nm, NULL) || nm->kind != IDP_DOC_STR)
			return idp_err_at(err, d->pos, "metadata.name", "a definition needs a name");
		if (idp_doc_path_get(d, "spec.schematic.cue.template", &tpl, NULL) || tpl->kind != IDP_DOC_STR)
			return idp_err_at(err, d->pos, "spec.schematic.cue.template",
					  "unsupported schematic: only CUE templates are rendered");
		def.name = nm->as.str.ptr;
		def.file = s.file;
		def.src = tpl->as.str.ptr;
		def.len = tpl->as.str.len;
		def.prefix = "";
		if (idp_doc_path_get(d, "metadata.annotations[\"definition.oam.dev/description\"]", &desc, NULL) == 0 &&
		    desc->kind == IDP_DOC_STR)
			def.description = desc->as.str.ptr;
		const idp_doc_node *spec = idp_doc_map_get(d, "spec");
		if (def.kind == RENDER_COMPONENT)
			def.workload = workload_of(reg->a, spec);
		if (def.kind == RENDER_TRAIT)
			read_applies_to(reg->a, spec, &def);
		template_offset(data, len, tpl, &def.line_off, &def.col_off);
		if ((rc = registry_put(reg, def, err)))
			return rc;
	}
	return 0;
}

/* KubeVela's .cue format: `NAME: {type: "component", ...}` and `template: {...}`. */
static int add_cue_def(idp_render_registry *reg, const char *name, const char *data, size_t len, idp_err *err)
{
	idp_cue_program *p;
	int rc = idp_cue_compile(reg->a, name, data, len, &p, err);
	if (rc)
		return rc;
	const char **labels;
	size_t n;
	if ((rc = idp_cue_top_labels(p, &labels, &n, err)))
		return rc;
	const char *def_name = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i], "template") != 0)
			def_name = labels[i];
	if (!def_name || !idp_cue_exists(p, "template"))
		return idp_err_at(err, (idp_pos){name, 1, 1}, NULL,
				  "a .cue definition needs `NAME: {type: ...}` and `template: {...}`");
	idp_doc_node *meta;
	int trc = idp_cue_export_top(p, def_name, &meta, err);
	if (trc)
		return trc;
	const char *type = idp_doc_map_get_str(meta, "type");
	if (!type)
		return idp_err_at(err, meta->pos, def_name, "a definition needs type: \"component\" or \"trait\"");
	render_def def = {0};
	def.name = def_name;
	if (strcmp(type, "trait") == 0)
		def.kind = RENDER_TRAIT;
	else if (strcmp(type, "policy") == 0)
		def.kind = RENDER_POLICY;
	else if (strcmp(type, "component") != 0)
		return 0; /* workflow steps: not rendered here */
	def.description = idp_doc_map_get_str(meta, "description");
	const idp_doc_node *attrs = idp_doc_map_get(meta, "attributes");
	if (def.kind == RENDER_COMPONENT)
		def.workload = workload_of(reg->a, attrs);
	if (def.kind == RENDER_TRAIT)
		read_applies_to(reg->a, attrs, &def);
	def.file = idp_arena_strdup(reg->a, name);
	def.src = data;
	def.len = len;
	def.prefix = "template.";
	def.compiled = p;
	return registry_put(reg, def, err);
}

int idp_render_registry_add(idp_render_registry *reg, const char *name, const char *data, size_t len, idp_err *err)
{
	if (idp_str_has_suffix(name, ".cue")) {
		char *copy = idp_arena_strndup(reg->a, data, len);
		return add_cue_def(reg, name, copy, len, err);
	}
	return add_yaml_defs(reg, name, data, len, err);
}

static int load_path(idp_render_registry *reg, const char *path, unsigned depth, idp_err *err);

static int load_dir(idp_render_registry *reg, const char *dir, unsigned depth, idp_err *err)
{
	char **names;
	size_t n;
	int lrc = idp_dir_list(dir, &names, &n, err);
	if (lrc)
		return lrc;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			char *child = idp_arena_printf(reg->a, "%s/%s", dir, names[i]);
			struct stat st;
			idp_err file_err = IDP_ERR_INIT;
			if (stat(child, &st) == 0 && S_ISDIR(st.st_mode))
				rc = load_path(reg, child, depth + 1, err);
			else if (idp_str_has_suffix(child, ".yaml") || idp_str_has_suffix(child, ".yml") ||
				 idp_str_has_suffix(child, ".cue")) {
				int frc = load_path(reg, child, depth + 1, &file_err);
				if (frc && frc != IDP_ERUNTIME) /* a bad file: skipped, kept for the report */
					idp_errs_push(&reg->skipped, &file_err);
				else if (frc)
					idp_err_move(err, &file_err), rc = frc;
			}
			idp_err_clear(&file_err);
		}
	}
	idp_dir_list_free(names, n);
	return rc;
}

static int load_path(idp_render_registry *reg, const char *path, unsigned depth, idp_err *err)
{
	if (depth > 32)
		return idp_err_set(err, IDP_EINPUT, "%s: directories nest too deep", path);
	struct stat st;
	if (stat(path, &st) != 0)
		return idp_err_set(err, IDP_EINPUT, "%s: no such file or directory", path);
	if (S_ISDIR(st.st_mode))
		return load_dir(reg, path, depth, err);
	idp_buf data = IDP_BUF_INIT;
	int rc = idp_file_read(path, IDP_DOC_MAX_BYTES_DEFAULT, &data, err);
	if (rc == 0)
		rc = idp_render_registry_add(reg, path, idp_buf_cstr(&data), data.len, err);
	idp_buf_free(&data);
	return rc;
}

int idp_render_registry_load(idp_render_registry *reg, const char *path, idp_err *err)
{
	return load_path(reg, path, 0, err);
}

const render_def *render_registry_find(const idp_render_registry *reg, const char *name, render_kind kind)
{
	for (size_t i = 0; i < reg->n; i++)
		if (reg->defs[i].kind == kind && strcmp(reg->defs[i].name, name) == 0)
			return &reg->defs[i];
	return NULL;
}


int idp_render_registry_vet(idp_render_registry *reg, idp_err *err)
{
	for (size_t i = 0; i < reg->n; i++) {
		int rc = render_def_compile(reg, &reg->defs[i], err);
		if (rc)
			return rc;
		idp_cue_program *p = idp_cue_instantiate(reg->a, reg->defs[i].compiled);
		char *params = idp_arena_printf(reg->a, "%sparameter", reg->defs[i].prefix);
		if (!idp_cue_exists(p, params))
			return idp_err_at(err, (idp_pos){reg->defs[i].file, reg->defs[i].line_off + 1, 1}, NULL,
					  "definition %s has no parameter", reg->defs[i].name);
	}
	return 0;
}

int idp_render_describe(idp_render_registry *reg, const char *name, idp_doc_node **out, idp_err *err)
{
	const render_def *def = render_registry_find(reg, name, RENDER_COMPONENT);
	if (!def)
		def = render_registry_find(reg, name, RENDER_TRAIT);
	if (!def)
		def = render_registry_find(reg, name, RENDER_POLICY);
	if (!def)
		return idp_err_set(err, IDP_EINPUT, "no definition named \"%s\"", name);
	int crc = render_def_compile(reg, def, err);
	if (crc)
		return crc;
	idp_cue_program *p = idp_cue_instantiate(reg->a, def->compiled);
	idp_doc_node *params;
	int rc = idp_cue_describe(p, idp_arena_printf(reg->a, "%sparameter", def->prefix), &params, err);
	if (rc)
		return rc;
	idp_doc_node *d = idp_doc_new_map(reg->a);
	idp_doc_map_set(reg->a, d, "name", idp_doc_new_str(reg->a, def->name));
	idp_doc_map_set(reg->a, d, "kind", idp_doc_new_str(reg->a, render_kind_name(def->kind)));
	idp_doc_map_set(reg->a, d, "file", idp_doc_new_str(reg->a, def->file));
	idp_doc_map_set(reg->a, d, "parameters", params);
	*out = d;
	return 0;
}

/* ---------------------------------------------------------------- built in */

int render_def_compile(const idp_render_registry *reg, const render_def *def, idp_err *err)
{
	if (def->compiled)
		return 0;
	return compile_def(reg->a, (render_def *)def, err);
}

/* Built-in Compositions are most of the catalog's bytes and only an inline
 * render needs them: they are parsed on the first composition lookup. A
 * Composition of the same name loaded with -d meanwhile wins. */
static int load_deferred(idp_render_registry *reg, idp_err *err)
{
	size_t n = reg->n_deferred;
	reg->n_deferred = 0;
	for (size_t i = 0; i < n; i++) {
		const idp_embedded_file *f = reg->deferred[i];
		idp_doc_stream s;
		int rc = idp_doc_load(reg->a, idp_arena_printf(reg->a, "embedded:%s", f->name), f->data, f->len, NULL, &s, err);
		if (rc)
			return rc;
		for (size_t j = 0; j < s.len; j++) {
			const char *kind = idp_doc_map_get_str(s.docs[j], "kind");
			const char *name = idp_doc_map_get_str(idp_doc_map_get(s.docs[j], "metadata"), "name");
			bool taken = false;
			for (size_t k = 0; name && k < reg->compositions.n; k++) {
				const char *have = idp_doc_map_get_str(idp_doc_map_get(reg->compositions.items[k], "metadata"), "name");
				taken = taken || (have && strcmp(have, name) == 0);
			}
			if (kind && strcmp(kind, "Composition") == 0 && !taken)
				doc_list_push(reg->a, &reg->compositions, s.docs[j]);
		}
	}
	return 0;
}

static int load_builtin_files(idp_render_registry *reg, idp_err *err)
{
	size_t n;
	const idp_embedded_file *files = idp_embedded_list(&n);
	reg->deferred = idp_arena_alloc(reg->a, (n + 1) * sizeof(*reg->deferred));
	for (size_t i = 0; i < n; i++) {
		const char *name = files[i].name;
		if (strncmp(name, "catalog/", 8) != 0 || strstr(name, "/examples/") ||
		    !(idp_str_has_suffix(name, ".yaml") || idp_str_has_suffix(name, ".cue")))
			continue;
		if (strstr(files[i].data, "\nkind: Composition\n")) {
			reg->deferred[reg->n_deferred++] = &files[i];
			continue;
		}
		char *label = idp_arena_printf(reg->a, "embedded:%s", name);
		int rc = idp_render_registry_add(reg, label, files[i].data, files[i].len, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The catalog is tested as a whole (idp def vet in CI): what a render does
 * not use is not compiled, so a command starts in a fraction of the time. */
int idp_render_registry_load_builtin(idp_render_registry *reg, idp_err *err)
{
	reg->lazy = true;
	int rc = load_builtin_files(reg, err);
	reg->lazy = false;
	return rc;
}

/* ---------------------------------------------------------------- crossplane */

static const char *group_of(idp_arena *a, const char *api_version)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	return slash ? idp_arena_strndup(a, api_version, (size_t)(slash - api_version)) : "";
}

const idp_doc_node *render_registry_xrd(const idp_render_registry *reg, const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	const char *slash = strchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	for (size_t i = reg->xrds.n; i-- > 0;) {
		const idp_doc_node *spec = idp_doc_map_get(reg->xrds.items[i], "spec");
		const char *group = idp_doc_map_get_str(spec, "group");
		if (!group || strlen(group) != glen || strncmp(group, api_version, glen) != 0)
			continue;
		const char *xr = idp_doc_map_get_str(idp_doc_map_get(spec, "names"), "kind");
		const char *claim = idp_doc_map_get_str(idp_doc_map_get(spec, "claimNames"), "kind");
		if ((xr && strcmp(xr, kind) == 0) || (claim && strcmp(claim, kind) == 0))
			return reg->xrds.items[i];
	}
	return NULL;
}

static const char *doc_name(const idp_doc_node *d)
{
	return idp_doc_map_get_str(idp_doc_map_get(d, "metadata"), "name");
}

static bool labels_match(const idp_doc_node *want, const idp_doc_node *labels)
{
	for (size_t i = 0; want && want->kind == IDP_DOC_MAP && i < want->as.map.len; i++) {
		const idp_doc_node *v = want->as.map.items[i].value;
		const char *have = idp_doc_map_get_str(labels, want->as.map.items[i].key);
		if (!have || v->kind != IDP_DOC_STR || strcmp(have, v->as.str.ptr) != 0)
			return false;
	}
	return true;
}

int render_registry_composition(idp_render_registry *reg, const idp_doc_node *xrd, const idp_doc_node *xr,
				const idp_doc_node **out, idp_err *err)
{
	if (reg->n_deferred) {
		int rc = load_deferred(reg, err);
		if (rc)
			return rc;
	}
	const idp_doc_node *spec = idp_doc_map_get(xrd, "spec"), *xspec = idp_doc_map_get(xr, "spec");
	const char *group = idp_doc_map_get_str(spec, "group");
	const char *xr_kind = idp_doc_map_get_str(idp_doc_map_get(spec, "names"), "kind");
	const char *want = idp_doc_map_get_str(idp_doc_map_get(spec, "enforcedCompositionRef"), "name");
	if (!want)
		want = idp_doc_map_get_str(idp_doc_map_get(xspec, "compositionRef"), "name");
	const idp_doc_node *selector = idp_doc_map_get(idp_doc_map_get(xspec, "compositionSelector"), "matchLabels");
	if (!want && !selector)
		want = idp_doc_map_get_str(idp_doc_map_get(spec, "defaultCompositionRef"), "name");
	const idp_doc_node *found = NULL;
	size_t candidates = 0;
	for (size_t i = 0; i < reg->compositions.n; i++) {
		const idp_doc_node *c = reg->compositions.items[i];
		const idp_doc_node *ref = idp_doc_map_get(idp_doc_map_get(c, "spec"), "compositeTypeRef");
		const char *kind = idp_doc_map_get_str(ref, "kind");
		if (!kind || !xr_kind || strcmp(kind, xr_kind) != 0 ||
		    strcmp(group_of(reg->a, idp_doc_map_get_str(ref, "apiVersion")), group ? group : "") != 0)
			continue;
		const char *name = doc_name(c);
		if (want ? name && strcmp(name, want) == 0
			 : !selector || labels_match(selector, idp_doc_map_get(idp_doc_map_get(c, "metadata"), "labels"))) {
			if (!found || (name && doc_name(found) && strcmp(name, doc_name(found)) < 0))
				found = c; /* several match a selector: the first by name, deterministically */
			candidates++;
		}
	}
	if (found && (want || selector || candidates == 1)) {
		*out = found;
		for (size_t i = 0; i < reg->checked.n; i++)
			if (reg->checked.items[i] == found)
				return 0;
		int rc = idp_compose_check(found, err);
		if (rc == 0)
			doc_list_push(reg->a, &reg->checked, found);
		return rc;
	}
	if (want)
		return idp_err_at(err, xr->pos, "spec.compositionRef", "no Composition named %s for %s", want, xr_kind);
	if (candidates > 1)
		return idp_err_at(err, xr->pos, "spec.compositionRef",
				  "%zu Compositions compose %s: name one with spec.compositionRef", candidates, xr_kind);
	return idp_err_at(err, xr->pos, "spec", "no Composition composes %s%s", xr_kind,
			  selector ? " with the labels of spec.compositionSelector" : "");
}

static int info_cmp(const void *x, const void *y)
{
	return strcmp(((const idp_render_def_info *)x)->name, ((const idp_render_def_info *)y)->name);
}

size_t idp_render_registry_list(idp_render_registry *reg, idp_render_def_info **out)
{
	idp_render_def_info *infos = idp_arena_alloc(reg->a, (reg->n + 1) * sizeof(*infos));
	static const render_kind order[] = {RENDER_COMPONENT, RENDER_TRAIT, RENDER_POLICY}; /* as vela def list */
	size_t n = 0;
	for (size_t k = 0; k < 3; k++) {
		size_t first = n;
		for (size_t i = 0; i < reg->n; i++) {
			const render_def *d = &reg->defs[i];
			if (d->kind != order[k])
				continue;
			const char *workload = d->workload;
			if (d->kind == RENDER_TRAIT && d->n_applies_to) { /* where it applies */
				idp_buf b = IDP_BUF_INIT;
				for (size_t j = 0; j < d->n_applies_to; j++)
					idp_buf_printf(&b, "%s%s", j ? "," : "", d->applies_to[j]);
				workload = idp_arena_strdup(reg->a, idp_buf_cstr(&b));
				idp_buf_free(&b);
			}
			infos[n++] = (idp_render_def_info){d->name, render_kind_name(d->kind),
							   d->description ? d->description : "", d->file, workload};
		}
		qsort(infos + first, n - first, sizeof(*infos), info_cmp);
	}
	*out = infos;
	return n;
}
