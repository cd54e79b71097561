/* idp render --explain: where each value of the output came from.
 *
 * Rendering keeps, on every value, the position of what produced it: a
 * property in the Application, an expression or default in a definition's
 * template, a base or patch of a Composition, a default in an XRD, or a
 * rule of the platform (idp_pos_made). This file turns such a position back
 * into words by finding what stands there: a node of the input documents or
 * of a Composition/XRD (found in a sorted index of their positions), or a
 * field of a definition's CUE template (idp_cue_field_at). */
#include "render/render_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum source_kind { SOURCE_INPUT, SOURCE_COMPOSITION, SOURCE_XRD } source_kind;

/* One node of a document that values may point at. */
typedef struct indexed {
	idp_pos pos;
	const char *path;          /* in its document: spec.components[0].properties.image */
	const idp_doc_node *root;  /* its document */
	source_kind kind;
	unsigned depth;            /* the deepest of nodes sharing a position wins */
} indexed;

struct idp_render_explainer {
	idp_arena *a;
	idp_render_registry *reg;
	indexed *items;
	size_t n, cap;
};

static void index_node(idp_render_explainer *x, const idp_doc_node *n, const idp_doc_node *root, source_kind kind,
		       idp_buf *path, unsigned depth)
{
	if (n->pos.line) {
		x->items = idp_arena_grow(x->a, x->items, x->n, &x->cap, sizeof(*x->items));
		x->items[x->n++] = (indexed){n->pos, idp_arena_strdup(x->a, idp_buf_cstr(path)), root, kind, depth};
	}
	size_t mark = path->len;
	size_t len = n->kind == IDP_DOC_MAP ? n->as.map.len : n->kind == IDP_DOC_SEQ ? n->as.seq.len : 0;
	for (size_t i = 0; i < len; i++) {
		if (n->kind == IDP_DOC_MAP)
			idp_doc_path_push_key(path, n->as.map.items[i].key);
		else
			idp_doc_path_push_index(path, i);
		index_node(x, n->kind == IDP_DOC_MAP ? n->as.map.items[i].value : n->as.seq.items[i], root, kind, path,
			   depth + 1);
		path->len = mark;
		path->ptr[mark] = '\0';
	}
}

static void index_doc(idp_render_explainer *x, const idp_doc_node *doc, source_kind kind)
{
	idp_buf path = IDP_BUF_INIT;
	index_node(x, doc, doc, kind, &path, 0);
	idp_buf_free(&path);
}

static int pos_cmp(idp_pos p, idp_pos q)
{
	int c = strcmp(p.file ? p.file : "", q.file ? q.file : "");
	if (c)
		return c;
	if (p.line != q.line)
		return p.line < q.line ? -1 : 1;
	return p.col < q.col ? -1 : p.col > q.col;
}

static int indexed_cmp(const void *x, const void *y)
{
	const indexed *p = x, *q = y;
	int c = pos_cmp(p->pos, q->pos);
	if (c)
		return c;
	return p->depth > q->depth ? -1 : p->depth < q->depth;
}

idp_render_explainer *idp_render_explainer_new(idp_arena *a, idp_render_registry *reg, idp_doc_node *const *docs,
					       size_t n_docs)
{
	idp_render_explainer *x = idp_arena_zalloc(a, sizeof(*x));
	x->a = a;
	x->reg = reg;
	for (size_t i = 0; i < n_docs; i++)
		index_doc(x, docs[i], SOURCE_INPUT);
	for (size_t i = 0; i < reg->compositions.n; i++)
		index_doc(x, reg->compositions.items[i], SOURCE_COMPOSITION);
	for (size_t i = 0; i < reg->xrds.n; i++)
		index_doc(x, reg->xrds.items[i], SOURCE_XRD);
	if (x->n)
		qsort(x->items, x->n, sizeof(*x->items), indexed_cmp);
	return x;
}

static const indexed *find_indexed(const idp_render_explainer *x, idp_pos pos)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) { /* the first entry not below pos */
		size_t mid = lo + (hi - lo) / 2;
		if (pos_cmp(x->items[mid].pos, pos) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n && pos_cmp(x->items[lo].pos, pos) == 0 ? &x->items[lo] : NULL;
}

/* ---------------------------------------------------------------- words */

/* Reads "<prefix>[N]" at *s; advances past it. */
static bool take_index(const char **s, const char *prefix, size_t *index)
{
	size_t n = strlen(prefix);
	if (strncmp(*s, prefix, n) != 0 || (*s)[n] != '[')
		return false;
	char *end;
	unsigned long long v = strtoull(*s + n + 1, &end, 10);
	if (*end != ']')
		return false;
	*index = (size_t)v;
	*s = end + 1;
	return true;
}

static bool take(const char **s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(*s, prefix, n) != 0)
		return false;
	*s += n;
	return true;
}

static const char *str_at(const idp_doc_node *root, const char *fmt, size_t i, size_t j, const char *key)
{
	char path[128];
	snprintf(path, sizeof(path), fmt, i, j);
	idp_doc_node *n;
	if (idp_doc_path_get(root, path, &n, NULL) || !(n = idp_doc_map_get(n, key)) || n->kind != IDP_DOC_STR)
		return "?";
	return n->as.str.ptr;
}

static const idp_doc_node *node_at(const idp_doc_node *root, const char *fmt, const char *prefix, size_t i, size_t j)
{
	char path[192];
	snprintf(path, sizeof(path), fmt, prefix, i, j);
	idp_doc_node *n;
	return idp_doc_path_get(root, path, &n, NULL) ? NULL : n;
}

/* A property's path without its leading dot. */
static const char *field_words(const char *rest)
{
	return *rest == '.' ? rest + 1 : rest;
}

static void describe_app(const indexed *e, idp_buf *out)
{
	const char *s = e->path;
	size_t i, j;
	if (take_index(&s, "spec.components", &i)) {
		const char *comp = str_at(e->root, "spec.components[%zu]", i, 0, "name");
		if (take_index(&s, ".traits", &j)) {
			const char *trait = str_at(e->root, "spec.components[%zu].traits[%zu]", i, j, "type");
			if (take(&s, ".properties."))
				idp_buf_printf(out, "parameter %s of trait %s on component %s", s, trait, comp);
			else if (strcmp(s, ".type") == 0)
				idp_buf_printf(out, "type of trait %s on component %s", trait, comp);
			else
				idp_buf_printf(out, "trait %s on component %s: %s", trait, comp, field_words(s));
		} else if (take(&s, ".properties.")) {
			idp_buf_printf(out, "parameter %s of component %s", s, comp);
		} else if (strcmp(s, ".name") == 0 || strcmp(s, ".type") == 0) {
			idp_buf_printf(out, "%s of component %s", s + 1, comp);
		} else {
			idp_buf_printf(out, "component %s: %s", comp, field_words(s));
		}
	} else if (take_index(&s, "spec.policies", &i)) {
		const char *name = str_at(e->root, "spec.policies[%zu]", i, 0, "name");
		const char *type = str_at(e->root, "spec.policies[%zu]", i, 0, "type");
		if (take(&s, ".properties."))
			idp_buf_printf(out, "policy %s (%s): %s", name, type, s);
		else
			idp_buf_printf(out, "policy %s (%s): %s", name, type, field_words(s));
	} else if (strcmp(s, "metadata.name") == 0) {
		idp_buf_puts(out, "name of the Application");
	} else {
		idp_buf_printf(out, "Application %s", s);
	}
}

static void describe_input(const indexed *e, idp_buf *out)
{
	const char *kind = idp_doc_map_get_str(e->root, "kind");
	if (kind && strcmp(kind, "Application") == 0) {
		describe_app(e, out);
		return;
	}
	const char *name = idp_doc_map_get_str(idp_doc_map_get(e->root, "metadata"), "name");
	idp_buf_printf(out, "%s %s: %s", kind ? kind : "document", name ? name : "?", e->path);
}

/* "TYPE FROM -> TO" of a patch; a combine lists its variables. */
static void patch_words(const idp_doc_node *p, idp_buf *out)
{
	const char *type = idp_doc_map_get_str(p, "type");
	idp_buf_puts(out, type ? type : "FromCompositeFieldPath");
	const char *from = idp_doc_map_get_str(p, "fromFieldPath");
	const idp_doc_node *vars = idp_doc_map_get(idp_doc_map_get(p, "combine"), "variables");
	if (from)
		idp_buf_printf(out, " %s", from);
	for (size_t i = 0; !from && vars && vars->kind == IDP_DOC_SEQ && i < vars->as.seq.len; i++) {
		const char *v = idp_doc_map_get_str(vars->as.seq.items[i], "fromFieldPath");
		idp_buf_printf(out, "%s%s", i ? ", " : " ", v ? v : "?");
	}
	const char *to = idp_doc_map_get_str(p, "toFieldPath");
	idp_buf_printf(out, " -> %s", to ? to : from ? from : "?");
}

/* A Composition's node: which resource (or patch set), and base or patch. */
static void describe_composition(const indexed *e, idp_buf *out)
{
	const char *comp = idp_doc_map_get_str(idp_doc_map_get(e->root, "metadata"), "name");
	const char *s = e->path;
	size_t step = 0, res, patch;
	char prefix[96] = "spec";
	if (take_index(&s, "spec.pipeline", &step)) {
		snprintf(prefix, sizeof(prefix), "spec.pipeline[%zu].input", step);
		take(&s, ".input");
	} else {
		take(&s, "spec");
	}
	char fmt[128];
	if (take_index(&s, ".resources", &res)) {
		snprintf(fmt, sizeof(fmt), "%s.resources[%%zu]", prefix);
		const char *rname = str_at(e->root, fmt, res, 0, "name");
		if (take_index(&s, ".patches", &patch) && !*s) {
			idp_buf_printf(out, "composition %s, resource %s, patch %zu (", comp, rname, patch);
			patch_words(node_at(e->root, "%s.resources[%zu].patches[%zu]", prefix, res, patch), out);
			idp_buf_putc(out, ')');
		} else if (take(&s, ".base")) {
			idp_buf_printf(out, "composition %s, resource %s, base %s", comp, rname, field_words(s));
		} else {
			idp_buf_printf(out, "composition %s, resource %s: %s", comp, rname, field_words(s));
		}
	} else if (take_index(&s, ".patchSets", &res)) {
		snprintf(fmt, sizeof(fmt), "%s.patchSets[%%zu]", prefix);
		const char *set = str_at(e->root, fmt, res, 0, "name");
		if (take_index(&s, ".patches", &patch) && !*s) {
			idp_buf_printf(out, "composition %s, patch set %s, patch %zu (", comp, set, patch);
			patch_words(node_at(e->root, "%s.patchSets[%zu].patches[%zu]", prefix, res, patch), out);
			idp_buf_putc(out, ')');
		} else {
			idp_buf_printf(out, "composition %s, patch set %s: %s", comp, set, field_words(s));
		}
	} else {
		idp_buf_printf(out, "composition %s: %s", comp, e->path);
	}
}

/* An XRD schema's default: the field it defaults, from the properties.K steps. */
static void describe_xrd(const indexed *e, idp_buf *out)
{
	const char *xrd = idp_doc_map_get_str(idp_doc_map_get(e->root, "metadata"), "name");
	idp_buf field = IDP_BUF_INIT;
	for (const char *s = strstr(e->path, "properties."); s; s = strstr(s, "properties.")) {
		s += strlen("properties.");
		size_t n = strcspn(s, ".[");
		if (field.len)
			idp_buf_putc(&field, '.');
		idp_buf_append(&field, s, n);
		s += n;
	}
	if (field.len && idp_str_has_suffix(e->path, ".default"))
		idp_buf_printf(out, "default of %s in XRD %s", field.ptr, xrd ? xrd : "?");
	else
		idp_buf_printf(out, "XRD %s: %s", xrd ? xrd : "?", e->path);
	idp_buf_free(&field);
}

/* A definition's template: a parameter's default, or the template itself. */
static bool describe_definition(idp_render_explainer *x, idp_pos pos, idp_buf *out)
{
	for (size_t i = 0; i < x->reg->n; i++) {
		const render_def *def = &x->reg->defs[i];
		if (!def->compiled || strcmp(def->file, pos.file) != 0)
			continue;
		char *field = idp_cue_field_at(def->compiled, pos);
		if (!field)
			continue;
		const char *f = field;
		take(&f, def->prefix);
		if (take(&f, "parameter."))
			idp_buf_printf(out, "default of parameter %s of %s %s", f, render_kind_name(def->kind), def->name);
		else
			idp_buf_printf(out, "%s %s template: %s", render_kind_name(def->kind), def->name, f);
		free(field);
		return true;
	}
	return false;
}

bool idp_render_explain(idp_render_explainer *x, const idp_doc_node *leaf, idp_buf *out)
{
	idp_pos pos = leaf->pos;
	if (pos.file && pos.line == 0) {
		idp_buf_puts(out, pos.file);
		return true;
	}
	if (!pos.file) {
		idp_buf_puts(out, "origin unknown");
		return false;
	}
	const indexed *e = find_indexed(x, pos);
	bool known = true;
	if (e && e->kind == SOURCE_INPUT)
		describe_input(e, out);
	else if (e && e->kind == SOURCE_COMPOSITION)
		describe_composition(e, out);
	else if (e)
		describe_xrd(e, out);
	else
		known = describe_definition(x, pos, out);
	if (!known)
		idp_buf_puts(out, "origin unknown");
	idp_buf_printf(out, " (%s:%u:%u)", pos.file, pos.line, pos.col);
	return known;
}

void idp_render_explain_fn(void *explainer, const idp_doc_node *leaf, idp_buf *out)
{
	idp_render_explain(explainer, leaf, out);
}
