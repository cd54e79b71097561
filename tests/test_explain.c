/*
 * idp render --explain (suite "explain"): every value of the rendered
 * examples says what produced it. The expected notes are written from the
 * inputs' meaning: the line and column of a property in the example file,
 * the definition and parameter whose default applies, the Composition patch
 * (found here by reading the Composition, not the output) that wrote a
 * value.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "render/render.h"
#include "testutil.h"

typedef struct rendered {
	idp_arena *a;
	idp_render_registry *reg;
	idp_doc_node **objs;
	size_t n;
	idp_render_explainer *x;
} rendered;

static rendered render_example(const char *name, idp_render_compose compose)
{
	rendered r = {idp_arena_new(), NULL, NULL, 0, NULL};
	r.reg = idp_render_registry_new(r.a);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_render_registry_load_builtin(r.reg, &err), 0, "%s", tu_errstr(&err));
	const idp_embedded_file *f = idp_embedded_find(name);
	cr_assert_not_null(f, "%s is not embedded", name);
	char *file = idp_arena_printf(r.a, "embedded:%s", name);
	idp_doc_stream s;
	cr_assert_eq(idp_doc_load(r.a, file, f->data, f->len, NULL, &s, &err), 0, "%s", tu_errstr(&err));
	idp_render_opts o = IDP_RENDER_OPTS_INIT;
	o.compose = compose;
	o.unwrap_objects = compose == IDP_RENDER_COMPOSE_INLINE;
	cr_assert_eq(idp_render_docs(r.a, r.reg, s.docs, s.len, &o, &r.objs, &r.n, &err), 0, "%s", tu_errstr(&err));
	r.x = idp_render_explainer_new(r.a, r.reg, s.docs, s.len);
	return r;
}

static void rendered_free(rendered *r)
{
	idp_render_registry_free(r->reg);
	idp_arena_free(r->a);
}

static idp_doc_node *object(const rendered *r, const char *kind, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(idp_doc_map_get_str(r->objs[i], "kind"), kind) == 0 &&
		    strcmp(idp_doc_map_get_str(idp_doc_map_get(r->objs[i], "metadata"), "name"), name) == 0)
			return r->objs[i];
	cr_assert_fail("no %s %s in the output", kind, name);
	return NULL;
}

/* The note of the value at path in object kind/name. */
static char *note(const rendered *r, const char *kind, const char *name, const char *path)
{
	idp_doc_node *leaf;
	cr_assert_eq(idp_doc_path_get(object(r, kind, name), path, &leaf, NULL), 0, "no %s in %s %s", path, kind, name);
	idp_buf out = IDP_BUF_INIT;
	cr_assert(idp_render_explain(r->x, leaf, &out), "%s of %s %s: %s", path, kind, name, idp_buf_cstr(&out));
	char *s = idp_arena_strdup(r->a, idp_buf_cstr(&out));
	idp_buf_free(&out);
	return s;
}

static void expect_note(const rendered *r, const char *kind, const char *name, const char *path, const char *want)
{
	char *got = note(r, kind, name, path);
	cr_expect_str_eq(got, want, "%s of %s %s", path, kind, name);
}

static void expect_note_prefix(const rendered *r, const char *kind, const char *name, const char *path,
			       const char *want)
{
	char *got = note(r, kind, name, path);
	cr_expect(strncmp(got, want, strlen(want)) == 0, "%s of %s %s:\n got: %s\nwant: %s...", path, kind, name, got,
		  want);
}

/* Every leaf (scalar, empty map, empty list) of n; counts them. */
static void walk_leaves(const rendered *r, const idp_doc_node *n, idp_buf *path, size_t *count)
{
	size_t len = n->kind == IDP_DOC_MAP ? n->as.map.len : n->kind == IDP_DOC_SEQ ? n->as.seq.len : 0;
	if (len == 0) {
		idp_buf out = IDP_BUF_INIT;
		bool known = idp_render_explain(r->x, n, &out);
		cr_expect(known && !strstr(idp_buf_cstr(&out), "unknown"), "%s: %s", idp_buf_cstr(path), idp_buf_cstr(&out));
		idp_buf_free(&out);
		++*count;
		return;
	}
	size_t mark = path->len;
	for (size_t i = 0; i < len; i++) {
		if (n->kind == IDP_DOC_MAP)
			idp_doc_path_push_key(path, n->as.map.items[i].key);
		else
			idp_doc_path_push_index(path, i);
		walk_leaves(r, n->kind == IDP_DOC_MAP ? n->as.map.items[i].value : n->as.seq.items[i], path, count);
		path->len = mark;
		path->ptr[mark] = '\0';
	}
}

static size_t expect_every_leaf_explained(const rendered *r)
{
	size_t count = 0;
	for (size_t i = 0; i < r->n; i++) {
		idp_buf path = IDP_BUF_INIT;
		idp_buf_printf(&path, "object %zu: ", i);
		walk_leaves(r, r->objs[i], &path, &count);
		idp_buf_free(&path);
	}
	return count;
}

Test(explain, every_leaf_of_complex_app_has_its_origin)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	size_t leaves = expect_every_leaf_explained(&r);
	cr_expect_gt(leaves, 100, "only %zu leaves: the walk saw too little", leaves);
	rendered_free(&r);
}

Test(explain, every_leaf_of_complex_app_composed_inline_has_its_origin)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_INLINE);
	size_t leaves = expect_every_leaf_explained(&r);
	cr_expect_gt(leaves, 1000, "only %zu leaves: the walk saw too little", leaves);
	rendered_free(&r);
}

Test(explain, every_leaf_of_every_type_has_its_origin)
{
	rendered r = render_example("examples/every-type.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	expect_every_leaf_explained(&r);
	rendered_free(&r);
	r = render_example("examples/every-type.yaml", IDP_RENDER_COMPOSE_INLINE);
	expect_every_leaf_explained(&r);
	rendered_free(&r);
}

Test(explain, properties_name_their_place_in_the_application)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	const char *ksvc = "spec.template.spec.containers[0]";
	char path[128];
	snprintf(path, sizeof(path), "%s.image", ksvc);
	expect_note(&r, "Service", "health-api", path,
		    "parameter image of component health-api (embedded:examples/complex-app.yaml:13:14)");
	snprintf(path, sizeof(path), "%s.ports[0].containerPort", ksvc);
	expect_note(&r, "Service", "health-api", path,
		    "parameter port of component health-api (embedded:examples/complex-app.yaml:14:13)");
	snprintf(path, sizeof(path), "%s.name", ksvc);
	expect_note(&r, "Service", "health-api", path, "name of component health-api (embedded:examples/complex-app.yaml:10:11)");
	expect_note(&r, "Service", "health-api", "metadata.labels[\"app.oam.dev/name\"]",
		    "name of the Application (embedded:examples/complex-app.yaml:6:9)");
	expect_note(&r, "Service", "health-api", "metadata.labels[\"workload.oam.dev/type\"]",
		    "type of component health-api (embedded:examples/complex-app.yaml:11:11)");
	/* The definition renames repository to appContainer; the note names the property. */
	expect_note(&r, "ApplicationClaim", "app-infrastructure", "spec.appContainer",
		    "parameter repository of component app-infrastructure (embedded:examples/complex-app.yaml:24:19)");
	rendered_free(&r);
}

Test(explain, defaults_templates_and_rules_name_their_definition)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	expect_note_prefix(&r, "Service", "health-api", "spec.template.spec.containers[0].resources.limits.cpu",
			   "default of parameter resources.cpu of component webservice (embedded:catalog/components/webservice.yaml:");
	expect_note_prefix(&r, "Service", "health-api", "spec.template.spec.containers[0].readinessProbe.httpGet.path",
			   "default of parameter healthPath of component webservice (embedded:catalog/components/webservice.yaml:");
	expect_note_prefix(&r, "Service", "health-api", "apiVersion",
			   "component webservice template: output.apiVersion (embedded:catalog/components/webservice.yaml:");
	expect_note(&r, "Service", "health-api", "metadata.namespace",
		    "KubeVela: an Application without a namespace is in default");
	expect_note(&r, "Service", "health-api", "metadata.labels[\"app.oam.dev/appRevision\"]",
		    "KubeVela: the first revision of an Application is NAME-v1");
	rendered_free(&r);
}

Test(explain, the_line_of_a_template_note_is_the_line_in_the_definition_file)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	char *got = note(&r, "Service", "health-api", "apiVersion");
	unsigned line = 0, col = 0;
	const char *at = strstr(got, "webservice.yaml:");
	cr_assert_not_null(at, "%s", got);
	cr_assert_eq(sscanf(at, "webservice.yaml:%u:%u", &line, &col), 2, "%s", got);
	const idp_embedded_file *f = idp_embedded_find("catalog/components/webservice.yaml");
	const char *p = f->data;
	for (unsigned l = 1; l < line; l++)
		p = strchr(p, '\n') + 1;
	/* Columns count characters; the catalog's templates are ASCII. */
	cr_expect(strncmp(p + col - 1, "\"serving.knative.dev/v1\"", 24) == 0, "line %u col %u: %.40s", line, col,
		  p + col - 1);
	rendered_free(&r);
}

Test(explain, traits_and_policies_name_themselves)
{
	rendered r = render_example("examples/every-type.yaml", IDP_RENDER_COMPOSE_CLAIMS);
	expect_note(&r, "VirtualService", "storefront-ingress", "spec.hosts[0]",
		    "parameter domain of trait ingress on component storefront (embedded:examples/every-type.yaml:29:17)");
	expect_note(&r, "Service", "storefront", "spec.template.metadata.annotations[\"autoscaling.knative.dev/metric\"]",
		    "parameter metric of trait autoscaler on component storefront (embedded:examples/every-type.yaml:32:17)");
	expect_note(&r, "Service", "storefront", "metadata.labels.tier",
		    "parameter tier of trait labels on component storefront (embedded:examples/every-type.yaml:43:15)");
	expect_note(&r, "Service", "orders", "spec.template.spec.containers[0].image",
		    "policy orders-image (override): components[0].properties.image (embedded:examples/every-type.yaml:133:18)");
	expect_note(&r, "Service", "storefront", "metadata.namespace",
		    "policy shop-namespace (topology): namespace (embedded:examples/every-type.yaml:125:18)");
	expect_note_prefix(&r, "VirtualService", "storefront-ingress", "kind",
			   "trait ingress template: outputs.virtualservice.kind (embedded:catalog/traits/ingress.yaml:");
	rendered_free(&r);
}

/* The index of the patch of resource res in the built-in Composition that
 * writes to, read from the Composition itself. */
static size_t patch_index(const char *composition_file, const char *res, const char *to)
{
	idp_arena *a = idp_arena_new();
	const idp_embedded_file *f = idp_embedded_find(composition_file);
	cr_assert_not_null(f);
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, "c", f->data, f->len, NULL, &s, &err), 0, "%s", tu_errstr(&err));
	idp_doc_node *resources;
	cr_assert_eq(idp_doc_path_get(s.docs[0], "spec.pipeline[0].input.resources", &resources, NULL), 0);
	for (size_t i = 0; i < resources->as.seq.len; i++) {
		if (strcmp(idp_doc_map_get_str(resources->as.seq.items[i], "name"), res) != 0)
			continue;
		const idp_doc_node *patches = idp_doc_map_get(resources->as.seq.items[i], "patches");
		for (size_t j = 0; j < patches->as.seq.len; j++) {
			const char *t = idp_doc_map_get_str(patches->as.seq.items[j], "toFieldPath");
			if (t && strcmp(t, to) == 0) {
				idp_arena_free(a);
				return j;
			}
		}
	}
	cr_assert_fail("no patch of %s writes %s", res, to);
	return 0;
}

Test(explain, composed_values_name_the_composition_resource_and_patch)
{
	rendered r = render_example("examples/complex-app.yaml", IDP_RENDER_COMPOSE_INLINE);
	const char *to = "spec.forProvider.manifest.stringData.DB_HOST";
	size_t j = patch_index("catalog/claims/application-claim-composition.yaml", "postgres-secret", to);
	char want[256];
	snprintf(want, sizeof(want), "composition application-claim-composition, resource postgres-secret, patch %zu (", j);
	char *got = note(&r, "Secret", "health-api-postgres-secret", "stringData.DB_HOST");
	cr_expect(strncmp(got, want, strlen(want)) == 0, "got: %s\nwant: %s...", got, want);
	cr_expect(strstr(got, "-> spec.forProvider.manifest.stringData.DB_HOST"), "%s", got);
	expect_note_prefix(&r, "Secret", "health-api-postgres-secret", "kind",
			   "composition application-claim-composition, resource postgres-secret, base "
			   "spec.forProvider.manifest.kind (embedded:catalog/claims/application-claim-composition.yaml:");
	rendered_free(&r);
}

/* ---------------------------------------------------------------- after review */

#include "doc/doc.h"

static int note_nothing_calls;
static void note_x(void *ctx, const idp_doc_node *leaf, idp_buf *out)
{
	(void)ctx;
	(void)leaf;
	note_nothing_calls++;
	idp_buf_puts(out, "x\u2028y\x01z");
}

/* U+2028 in a value and in a note: escaped, so every comment stays on its
 * line and the text reads back the same. */
Test(explain, unicode_line_breaks_stay_on_their_line)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	const char *in = "data:\n  a: \"x\\u2028y\"\n  b: \"line1\\nline2\\n\"\n  c: 1\n";
	cr_assert_eq(idp_doc_load(a, "t.yaml", in, strlen(in), NULL, &s, &err), 0);
	idp_buf out = IDP_BUF_INIT;
	note_nothing_calls = 0;
	cr_assert_eq(idp_doc_emit_yaml_explained(s.docs, s.len, note_x, NULL, &out, &err), 0, "%s", tu_errstr(&err));
	cr_expect_eq(note_nothing_calls, 3);
	idp_doc_stream back;
	cr_assert_eq(idp_doc_load(a, "back.yaml", out.ptr, out.len, NULL, &back, &err), 0, "%s\n%s", tu_errstr(&err), out.ptr);
	cr_expect(idp_doc_equal_typed(back.docs[0], s.docs[0]), "%s", out.ptr);
	cr_expect(strstr(out.ptr, "c: 1  # x?y?z\n") != NULL, "%s", out.ptr);
	idp_buf_free(&out);
	idp_arena_free(a);
}
