/* Definition files: YAML ComponentDefinition / TraitDefinition with a CUE
 * template, or KubeVela's own .cue definition format. */
#include "render/render_private.h"

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

static int registry_put(idp_render_registry *reg, render_def def, idp_err *err)
{
	int rc = def.compiled ? 0 : idp_cue_compile(reg->a, def.file, def.src, def.len, &def.compiled, err);
	if (rc) {
		render_map_error(&def, err);
		return rc;
	}
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->defs[i].trait == def.trait && strcmp(reg->defs[i].name, def.name) == 0) {
			reg->defs[i] = def;
			return 0;
		}
	}
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 16;
		render_def *defs = idp_arena_alloc(reg->a, cap * sizeof(*defs));
		if (reg->n)
			memcpy(defs, reg->defs, reg->n * sizeof(*defs));
		reg->defs = defs;
		reg->cap = cap;
	}
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
		while (p < end && *p == ' ') {
			p++;
			(*col_off)++;
		}
	}
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
		if (!kind || (strcmp(kind, "ComponentDefinition") != 0 && strcmp(kind, "TraitDefinition") != 0))
			continue;
		idp_doc_node *nm, *tpl;
		if (idp_doc_path_get(d, "metadata.name", &nm, NULL) || nm->kind != IDP_DOC_STR)
			return idp_err_at(err, d->pos, "metadata.name", "a definition needs a name");
		if (idp_doc_path_get(d, "spec.schematic.cue.template", &tpl, NULL) || tpl->kind != IDP_DOC_STR)
			return idp_err_at(err, d->pos, "spec.schematic.cue.template",
					  "unsupported schematic: only CUE templates are rendered");
		render_def def = {0};
		def.name = nm->as.str.ptr;
		def.trait = strcmp(kind, "TraitDefinition") == 0;
		def.file = s.file;
		def.src = tpl->as.str.ptr;
		def.len = tpl->as.str.len;
		def.prefix = "";
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
	def.trait = strcmp(type, "trait") == 0;
	if (!def.trait && strcmp(type, "component") != 0)
		return 0; /* policies, workflow steps: not rendered here */
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

const render_def *render_registry_find(const idp_render_registry *reg, const char *name, bool trait)
{
	for (size_t i = 0; i < reg->n; i++)
		if (reg->defs[i].trait == trait && strcmp(reg->defs[i].name, name) == 0)
			return &reg->defs[i];
	return NULL;
}

void render_map_error(const render_def *def, idp_err *err)
{
	if (!err->file || strcmp(err->file, def->file) != 0 || err->line == 0)
		return;
	/* Every line of a block scalar is indented alike. */
	err->line += def->line_off;
	err->col += def->col_off;
}

int idp_render_registry_vet(idp_render_registry *reg, idp_err *err)
{
	for (size_t i = 0; i < reg->n; i++) {
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
	const render_def *def = render_registry_find(reg, name, false);
	if (!def)
		def = render_registry_find(reg, name, true);
	if (!def)
		return idp_err_set(err, IDP_EINPUT, "no definition named \"%s\"", name);
	idp_cue_program *p = idp_cue_instantiate(reg->a, def->compiled);
	idp_doc_node *params;
	int rc = idp_cue_describe(p, idp_arena_printf(reg->a, "%sparameter", def->prefix), &params, err);
	if (rc) {
		render_map_error(def, err);
		return rc;
	}
	idp_doc_node *d = idp_doc_new_map(reg->a);
	idp_doc_map_set(reg->a, d, "name", idp_doc_new_str(reg->a, def->name));
	idp_doc_map_set(reg->a, d, "kind", idp_doc_new_str(reg->a, def->trait ? "trait" : "component"));
	idp_doc_map_set(reg->a, d, "file", idp_doc_new_str(reg->a, def->file));
	idp_doc_map_set(reg->a, d, "parameters", params);
	*out = d;
	return 0;
}
