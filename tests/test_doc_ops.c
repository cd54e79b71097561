/*
 * Operations on documents: building, map get/set/delete, copy, paths
 * (get, set, building path strings), deep merge and equality.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "testutil.h"

static const char ops_yaml[] = "metadata:\n"
			       "  name: app\n"
			       "  annotations:\n"
			       "    a.b/c: dotted\n"
			       "    plain: p\n"
			       "spec:\n"
			       "  components:\n"
			       "  - name: web\n"
			       "    properties:\n"
			       "      image: nginx:alpine\n"
			       "      port: 80\n"
			       "  replicas: 2\n"
			       "kind: Application\n";

/* ---------------------------------------------------------------- building */

Test(doc_ops, typed_equality_keeps_int_and_float_apart)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *one = idp_doc_new_int(a, 1), *one_f = idp_doc_new_float(a, 1.0);
	cr_assert(idp_doc_equal(one, one_f), "JSON: 1 == 1.0");
	cr_assert(!idp_doc_equal_typed(one, one_f), "Go: int64(1) != float64(1)");
	idp_doc_node *l1 = idp_doc_new_seq(a), *l2 = idp_doc_new_seq(a);
	idp_doc_seq_push(a, l1, one);
	idp_doc_seq_push(a, l2, idp_doc_new_int(a, 1));
	cr_assert(idp_doc_equal_typed(l1, l2));
	idp_doc_seq_push(a, l1, one_f);
	idp_doc_seq_push(a, l2, idp_doc_new_int(a, 1));
	cr_assert(!idp_doc_equal_typed(l1, l2), "nested values are compared typed too");
	idp_arena_free(a);
}

Test(doc_ops, kind_names)
{
	struct {
		idp_doc_kind kind;
		const char *name;
	} table[] = {
		{IDP_DOC_NULL, "null"}, {IDP_DOC_BOOL, "bool"}, {IDP_DOC_INT, "int"},
		{IDP_DOC_FLOAT, "float"}, {IDP_DOC_STR, "string"}, {IDP_DOC_MAP, "map"},
		{IDP_DOC_SEQ, "list"},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
		const char *got = idp_doc_kind_name(table[k].kind);
		cr_assert_not_null(got);
		cr_expect_str_eq(got, table[k].name);
	}
}

Test(doc_ops, constructors_make_the_right_nodes)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *n = idp_doc_new_null(a);
	cr_assert_eq(n->kind, IDP_DOC_NULL);
	n = idp_doc_new_bool(a, true);
	cr_assert(n->kind == IDP_DOC_BOOL && n->as.b);
	n = idp_doc_new_int(a, -42);
	cr_assert(n->kind == IDP_DOC_INT && n->as.i == -42);
	n = idp_doc_new_float(a, 2.5);
	cr_assert(n->kind == IDP_DOC_FLOAT && n->as.f == 2.5);
	char src[] = "hello";
	n = idp_doc_new_str(a, src);
	src[0] = 'J'; /* the node holds a copy */
	tu_assert_str(n, "hello", "new_str");
	n = idp_doc_new_strn(a, "a\0bcd", 3);
	cr_assert_eq(n->kind, IDP_DOC_STR);
	cr_assert_eq(n->as.str.len, 3);
	cr_assert_eq(memcmp(n->as.str.ptr, "a\0b", 4), 0, "copied with a NUL terminator");
	n = idp_doc_new_map(a);
	cr_assert(n->kind == IDP_DOC_MAP && n->as.map.len == 0);
	n = idp_doc_new_seq(a);
	cr_assert(n->kind == IDP_DOC_SEQ && n->as.seq.len == 0);
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- maps and lists */

Test(doc_ops, map_set_appends_and_replaces_in_place)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "a", idp_doc_new_int(a, 1));
	idp_doc_map_set(a, m, "b", idp_doc_new_int(a, 2));
	idp_doc_map_set(a, m, "c", idp_doc_new_int(a, 3));
	char keys[64];
	tu_keys(m, keys, sizeof keys);
	cr_assert_str_eq(keys, "a,b,c");
	idp_doc_map_set(a, m, "b", idp_doc_new_str(a, "x"));
	tu_keys(m, keys, sizeof keys);
	cr_assert_str_eq(keys, "a,b,c", "replacing keeps the key's place");
	cr_assert_eq(m->as.map.len, 3);
	tu_assert_str(idp_doc_map_get(m, "b"), "x", "b");
	cr_assert_null(idp_doc_map_get(m, "missing"));

	char key[] = "dyn";
	idp_doc_map_set(a, m, key, idp_doc_new_int(a, 4));
	key[0] = 'X'; /* the key is copied */
	tu_assert_int(idp_doc_map_get(m, "dyn"), 4, "dyn");
	idp_arena_free(a);
}

Test(doc_ops, map_delete_keeps_order_of_the_rest)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = tu_load_one(a, "a: 1\nb: 2\nc: 3\nd: 4\n");
	cr_assert(idp_doc_map_delete(m, "b"));
	char keys[64];
	tu_keys(m, keys, sizeof keys);
	cr_assert_str_eq(keys, "a,c,d");
	cr_assert_not(idp_doc_map_delete(m, "b"), "deleting twice");
	cr_assert_not(idp_doc_map_delete(m, "zz"));
	cr_assert(idp_doc_map_delete(m, "d"));
	cr_assert(idp_doc_map_delete(m, "a"));
	tu_keys(m, keys, sizeof keys);
	cr_assert_str_eq(keys, "c");
	tu_assert_int(idp_doc_map_get(m, "c"), 3, "c");
	idp_doc_map_set(a, m, "e", idp_doc_new_int(a, 5));
	tu_keys(m, keys, sizeof keys);
	cr_assert_str_eq(keys, "c,e");
	idp_arena_free(a);
}

Test(doc_ops, map_get_on_non_maps_and_get_str)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, "s: text\ni: 1\nq: '1'\nl: [a]\n");
	cr_assert_null(idp_doc_map_get(idp_doc_map_get(doc, "i"), "x"), "map_get on an int");
	cr_assert_null(idp_doc_map_get(idp_doc_map_get(doc, "l"), "0"), "map_get on a list");
	cr_assert_str_eq(idp_doc_map_get_str(doc, "s"), "text");
	cr_assert_str_eq(idp_doc_map_get_str(doc, "q"), "1");
	cr_assert_null(idp_doc_map_get_str(doc, "i"), "an int is not a string");
	cr_assert_null(idp_doc_map_get_str(doc, "l"));
	cr_assert_null(idp_doc_map_get_str(doc, "missing"));
	cr_assert_null(idp_doc_map_get_str(idp_doc_map_get(doc, "s"), "x"));
	idp_arena_free(a);
}

Test(doc_ops, many_keys_and_items)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_node *l = idp_doc_new_seq(a);
	for (int k = 0; k < 5000; k++) {
		char key[32];
		snprintf(key, sizeof key, "key-%d", k);
		idp_doc_map_set(a, m, key, idp_doc_new_int(a, k));
		idp_doc_seq_push(a, l, idp_doc_new_int(a, k));
	}
	cr_assert_eq(m->as.map.len, 5000);
	cr_assert_eq(l->as.seq.len, 5000);
	for (int k = 0; k < 5000; k += 7) {
		char key[32];
		snprintf(key, sizeof key, "key-%d", k);
		tu_assert_int(idp_doc_map_get(m, key), k, key);
		tu_assert_int(l->as.seq.items[k], k, "list item");
		cr_assert_str_eq(m->as.map.items[k].key, key, "order");
	}
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- copy */

Test(doc_ops, copy_is_deep_and_outlives_the_source_arena)
{
	idp_arena *a = idp_arena_new();
	idp_arena *b = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, ops_yaml);
	idp_doc_node *copy = idp_doc_copy(b, doc);
	cr_assert(idp_doc_equal(doc, copy));
	cr_assert_neq(copy, doc);
	idp_doc_node *img = tu_walk(copy, "spec/components/0/properties/image");
	cr_assert_eq(img->pos.line, 10, "positions are kept");
	cr_assert_eq(img->pos.col, 14);
	cr_assert_eq(tu_entry(copy, "kind")->key_pos.line, 13, "key positions are kept");

	idp_doc_map_set(b, tu_walk(copy, "metadata"), "name", idp_doc_new_str(b, "changed"));
	tu_assert_str(tu_walk(doc, "metadata/name"), "app", "original after changing the copy");

	idp_arena_free(a); /* the copy must not point into a */
	tu_assert_str(tu_value(tu_walk(copy, "metadata/annotations"), "a.b/c"), "dotted",
		      "copy after freeing a");
	tu_assert_str(tu_walk(copy, "spec/components/0/properties/image"), "nginx:alpine", "copy");
	cr_assert_str_eq(copy->as.map.items[0].key, "metadata");
	/* File names in positions moved too (ASan would flag a read of freed memory). */
	cr_assert_not_null(img->pos.file);
	cr_assert_gt(strlen(img->pos.file), 0);
	cr_assert_not_null(tu_entry(copy, "kind")->key_pos.file);
	cr_assert_gt(strlen(tu_entry(copy, "kind")->key_pos.file), 0);
	idp_arena_free(b);
}

/* ---------------------------------------------------------------- paths */

typedef struct path_case {
	const char *path;
	int rc;
	const char *want; /* string value when rc == 0 */
} path_case;

static const path_case get_cases[] = {
	{"metadata.name", 0, "app"},
	{"spec.components[0].properties.image", 0, "nginx:alpine"},
	{"spec.components[0].name", 0, "web"},
	{"metadata.annotations[\"a.b/c\"]", 0, "dotted"},
	{"metadata.annotations['a.b/c']", 0, "dotted"},
	{"metadata[\"annotations\"].plain", 0, "p"},
	{"[\"metadata\"].name", 0, "app"},
	{"kind", 0, "Application"},
	/* missing */
	{"metadata.missing", IDP_ENOTFOUND, NULL},
	{"spec.components[1]", IDP_ENOTFOUND, NULL},
	{"spec.components[0].nope", IDP_ENOTFOUND, NULL},
	{"nope.deeper.still", IDP_ENOTFOUND, NULL},
	{"metadata.annotations[\"a.b/d\"]", IDP_ENOTFOUND, NULL},
	{"metadata.annotations.a", IDP_ENOTFOUND, NULL},
	/* malformed */
	{"spec..components", IDP_EINPUT, NULL},
	{"spec.components[", IDP_EINPUT, NULL},
	{"spec.components[x]", IDP_EINPUT, NULL},
	{"spec.components[0", IDP_EINPUT, NULL},
	{"spec.components[]", IDP_EINPUT, NULL},
	{"spec.", IDP_EINPUT, NULL},
	{"metadata.annotations[\"a.b/c\"", IDP_EINPUT, NULL},
	{"metadata.annotations[\"a.b/c]", IDP_EINPUT, NULL},
	{"metadata.annotations['a.b/c\"]", IDP_EINPUT, NULL},
	{"metadata.annotations[\"a.b/c\"]x", IDP_EINPUT, NULL},
};

Test(doc_ops, path_get)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, ops_yaml);
	for (size_t k = 0; k < sizeof get_cases / sizeof get_cases[0]; k++) {
		const path_case *c = &get_cases[k];
		idp_doc_node *out = NULL;
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_path_get(doc, c->path, &out, &err);
		cr_expect_eq(rc, c->rc, "path_get(%s) = %d, want %d (%s)", c->path, rc, c->rc,
			     tu_errstr(&err));
		if (rc == 0 && c->rc == 0) {
			cr_expect(out && out->kind == IDP_DOC_STR && strcmp(out->as.str.ptr, c->want) == 0,
				  "path_get(%s) gave the wrong node", c->path);
		}
		if (c->rc == IDP_EINPUT && rc == IDP_EINPUT)
			cr_expect_eq(err.code, IDP_EINPUT, "path_get(%s): err not filled", c->path);
		idp_err_clear(&err);
	}
	idp_doc_node *out = NULL;
	cr_assert_eq(idp_doc_path_get(doc, "spec.components[0].properties.port", &out, NULL), 0);
	tu_assert_int(out, 80, "port");
	idp_arena_free(a);
}

Test(doc_ops, path_set_replaces_an_existing_value_in_place)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, ops_yaml);
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_path_set(a, doc, "spec.components[0].properties.image",
				  idp_doc_new_str(a, "redis:7"), &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	tu_assert_str(tu_walk(doc, "spec/components/0/properties/image"), "redis:7", "image");
	char keys[64];
	tu_keys(tu_walk(doc, "spec/components/0/properties"), keys, sizeof keys);
	cr_assert_str_eq(keys, "image,port");
	rc = idp_doc_path_set(a, doc, "metadata.annotations['a.b/c']", idp_doc_new_int(a, 5), &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	tu_assert_int(tu_value(tu_walk(doc, "metadata/annotations"), "a.b/c"), 5, "a.b/c");
	idp_arena_free(a);
}

Test(doc_ops, path_set_creates_missing_maps)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, ops_yaml);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_path_set(a, doc, "spec.new.deeper.leaf", idp_doc_new_int(a, 1), &err), 0,
		     "%s", tu_errstr(&err));
	tu_assert_int(tu_walk(doc, "spec/new/deeper/leaf"), 1, "spec.new.deeper.leaf");
	cr_assert_eq(tu_walk(doc, "spec/new")->kind, IDP_DOC_MAP);
	cr_assert_eq(idp_doc_path_set(a, doc, "metadata.labels[\"app.kubernetes.io/name\"]",
				      idp_doc_new_str(a, "x"), &err),
		     0, "%s", tu_errstr(&err));
	tu_assert_str(tu_value(tu_walk(doc, "metadata/labels"), "app.kubernetes.io/name"), "x",
		      "label");
	cr_assert_eq(idp_doc_path_set(a, doc, "status", idp_doc_new_str(a, "ok"), &err), 0);
	char keys[64];
	tu_keys(doc, keys, sizeof keys);
	cr_assert_str_eq(keys, "metadata,spec,kind,status", "new keys are appended");
	idp_arena_free(a);
}

Test(doc_ops, path_set_index_equal_to_length_appends)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = tu_load_one(a, ops_yaml);
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *db = idp_doc_new_map(a);
	idp_doc_map_set(a, db, "name", idp_doc_new_str(a, "db"));
	cr_assert_eq(idp_doc_path_set(a, doc, "spec.components[1]", db, &err), 0, "%s",
		     tu_errstr(&err));
	cr_assert_eq(tu_walk(doc, "spec/components")->as.seq.len, 2);
	tu_assert_str(tu_walk(doc, "spec/components/1/name"), "db", "components[1].name");
	cr_assert_eq(idp_doc_path_set(a, doc, "spec.components[0]", idp_doc_new_int(a, 0), &err), 0);
	tu_assert_int(tu_walk(doc, "spec/components/0"), 0, "components[0] replaced");
	cr_assert_eq(tu_walk(doc, "spec/components")->as.seq.len, 2);
	idp_arena_free(a);
}

Test(doc_ops, path_set_failures)
{
	struct {
		const char *path;
		const char *why;
	} table[] = {
		{"spec.components[2]", "index past the end"},
		{"spec.components[9].name", "index past the end, deeper"},
		{"kind.x", "crosses a string"},
		{"spec.replicas.x", "crosses an int"},
		{"spec.replicas[0]", "indexes an int"},
		{"spec.components.name", "key on a list"},
		{"spec..x", "malformed"},
		{"spec[", "malformed"},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = tu_load_one(a, ops_yaml);
		idp_doc_node *before = idp_doc_copy(a, doc);
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_path_set(a, doc, table[k].path, idp_doc_new_int(a, 1), &err);
		cr_expect_eq(rc, IDP_EINPUT, "path_set(%s) [%s] = %d, want IDP_EINPUT", table[k].path,
			     table[k].why, rc);
		cr_expect_eq(err.code, rc, "path_set(%s): err.code %d", table[k].path, err.code);
		cr_expect(idp_doc_equal(doc, before), "path_set(%s) failed but changed the document",
			  table[k].path);
		idp_err_clear(&err);
		idp_arena_free(a);
	}
}

Test(doc_ops, path_push_key_and_index_format)
{
	idp_buf p = IDP_BUF_INIT;
	idp_doc_path_push_key(&p, "spec");
	cr_assert_str_eq(idp_buf_cstr(&p), "spec", "a first simple key has no dot");
	idp_doc_path_push_key(&p, "components");
	cr_assert_str_eq(idp_buf_cstr(&p), "spec.components");
	idp_doc_path_push_index(&p, 0);
	cr_assert_str_eq(idp_buf_cstr(&p), "spec.components[0]");
	idp_doc_path_push_key(&p, "properties");
	cr_assert_str_eq(idp_buf_cstr(&p), "spec.components[0].properties");
	idp_doc_path_push_key(&p, "a.b/c");
	cr_assert_str_eq(idp_buf_cstr(&p), "spec.components[0].properties[\"a.b/c\"]");
	idp_doc_path_push_index(&p, 12);
	cr_assert_str_eq(idp_buf_cstr(&p), "spec.components[0].properties[\"a.b/c\"][12]");
	idp_buf_free(&p);

	idp_doc_path_push_key(&p, "a.b/c");
	cr_assert_str_eq(idp_buf_cstr(&p), "[\"a.b/c\"]", "a first odd key");
	idp_buf_free(&p);

	idp_doc_path_push_index(&p, 3);
	cr_assert_str_eq(idp_buf_cstr(&p), "[3]");
	idp_buf_free(&p);

	idp_doc_path_push_key(&p, "metadata");
	idp_doc_path_push_key(&p, "annotations");
	idp_doc_path_push_key(&p, "app.kubernetes.io/name");
	cr_assert_str_eq(idp_buf_cstr(&p), "metadata.annotations[\"app.kubernetes.io/name\"]");
	idp_buf_free(&p);

	idp_doc_path_push_key(&p, "x");
	idp_doc_path_push_key(&p, "a b");
	cr_assert_str_eq(idp_buf_cstr(&p), "x[\"a b\"]");
	idp_buf_free(&p);
}

/* Whatever push_key writes, path_get must read back to the same key. */
Test(doc_ops, pushed_paths_read_back_with_path_get)
{
	const char *keys[] = {"plain", "a.b/c", "with space", "a[0]", "quote\"d", "sq'd", "back\\slash",
			      "\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "de", "", "x]y", "my-key", "under_score", "0lead"};
	idp_arena *a = idp_arena_new();
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		idp_doc_node *root = idp_doc_new_map(a);
		idp_doc_node *inner = idp_doc_new_map(a);
		idp_doc_map_set(a, root, "outer", inner);
		idp_doc_map_set(a, inner, keys[k], idp_doc_new_int(a, (int64_t)k));
		idp_doc_map_set(a, root, keys[k], idp_doc_new_int(a, 100 + (int64_t)k));

		idp_buf p = IDP_BUF_INIT;
		idp_doc_path_push_key(&p, "outer");
		idp_doc_path_push_key(&p, keys[k]);
		idp_doc_node *out = NULL;
		idp_err err = IDP_ERR_INIT;
		int rc = idp_doc_path_get(root, idp_buf_cstr(&p), &out, &err);
		cr_expect_eq(rc, 0, "key \"%s\": path %s: %s", keys[k], idp_buf_cstr(&p), tu_errstr(&err));
		if (rc == 0)
			cr_expect(out && out->kind == IDP_DOC_INT && out->as.i == (int64_t)k,
				  "key \"%s\": path %s found the wrong node", keys[k], idp_buf_cstr(&p));
		idp_err_clear(&err);
		idp_buf_free(&p);

		idp_doc_path_push_key(&p, keys[k]); /* as the first step */
		out = NULL;
		rc = idp_doc_path_get(root, idp_buf_cstr(&p), &out, &err);
		cr_expect_eq(rc, 0, "first key \"%s\": path %s: %s", keys[k], idp_buf_cstr(&p),
			     tu_errstr(&err));
		if (rc == 0)
			cr_expect(out && out->kind == IDP_DOC_INT && out->as.i == 100 + (int64_t)k,
				  "first key \"%s\": path %s found the wrong node", keys[k],
				  idp_buf_cstr(&p));
		idp_err_clear(&err);
		idp_buf_free(&p);
	}
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- merge */

Test(doc_ops, merge_maps_recursively_and_replace_the_rest)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *dst = tu_load_one(a, "a: {x: 1, w: 2}\nl: [1, 2]\ns: text\nk: 1\nm: {q: 1}\n");
	idp_doc_node *src = tu_load_one(a, "a: {w: 3, z: 4}\nl: [9]\ns: {r: 1}\nnew: true\nm: 5\n");
	idp_doc_node *want = tu_load_one(a, "a: {x: 1, w: 3, z: 4}\nl: [9]\ns: {r: 1}\nk: 1\nm: 5\n"
					    "new: true\n");
	idp_doc_node *got = idp_doc_merge(a, dst, src, IDP_DOC_MERGE_DEFAULT);
	cr_assert_eq(got, dst, "two maps merge in place into dst");
	char *text = tu_emit_one(got);
	cr_assert(idp_doc_equal(got, want), "merged:\n%s", text);
	char keys[128];
	tu_keys(got, keys, sizeof keys);
	cr_assert_str_eq(keys, "a,l,s,k,m,new", "dst's order kept, new keys appended");
	tu_keys(tu_walk(got, "a"), keys, sizeof keys);
	cr_assert_str_eq(keys, "x,w,z");
	free(text);
	idp_arena_free(a);
}

Test(doc_ops, merge_default_null_replaces)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *dst = tu_load_one(a, "a: {x: 1, w: 2}\nk: 1\n");
	idp_doc_node *src = tu_load_one(a, "a: {x: null}\nk: null\n");
	idp_doc_node *got = idp_doc_merge(a, dst, src, IDP_DOC_MERGE_DEFAULT);
	cr_assert(idp_doc_equal(got, tu_load_one(a, "a: {x: null, w: 2}\nk: null\n")));
	idp_arena_free(a);
}

Test(doc_ops, merge_patch_null_deletes)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *dst = tu_load_one(a, "a: {x: 1, w: 2}\nk: 1\nkeep: yes\n");
	idp_doc_node *src = tu_load_one(a, "a: {x: null}\nk: null\nmissing: null\nr: {p: null, q: 1}\n");
	idp_doc_node *got = idp_doc_merge(a, dst, src, IDP_DOC_MERGE_PATCH);
	char *text = tu_emit_one(got);
	/* RFC 7386: a null deletes; a map merged into nothing drops its nulls too */
	cr_assert(idp_doc_equal(got, tu_load_one(a, "a: {w: 2}\nkeep: yes\nr: {q: 1}\n")), "got:\n%s",
		  text);
	free(text);
	idp_arena_free(a);
}

Test(doc_ops, merge_copies_src_so_it_stays_independent)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *dst = tu_load_one(a, "a: {x: 1}\n");
	idp_doc_node *src = tu_load_one(a, "a: {w: {deep: 1}}\nl: [1]\nb: {c: 1}\n");
	idp_doc_node *got = idp_doc_merge(a, dst, src, IDP_DOC_MERGE_DEFAULT);
	idp_doc_map_set(a, tu_walk(src, "a/w"), "deep", idp_doc_new_int(a, 2));
	idp_doc_seq_push(a, tu_walk(src, "l"), idp_doc_new_int(a, 2));
	idp_doc_map_set(a, tu_walk(src, "b"), "c", idp_doc_new_int(a, 3));
	tu_assert_int(tu_walk(got, "a/w/deep"), 1, "a.w.deep after changing src");
	cr_assert_eq(tu_walk(got, "l")->as.seq.len, 1, "l after changing src");
	tu_assert_int(tu_walk(got, "b/c"), 1, "b.c after changing src");
	idp_arena_free(a);
}

Test(doc_ops, merge_into_null_or_scalar_returns_a_copy_of_src)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *src = tu_load_one(a, "a: {b: 1}\n");
	idp_doc_node *got = idp_doc_merge(a, NULL, src, IDP_DOC_MERGE_DEFAULT);
	cr_assert_not_null(got);
	cr_assert(idp_doc_equal(got, src));
	cr_assert_neq(got, src);
	idp_doc_map_set(a, tu_walk(src, "a"), "b", idp_doc_new_int(a, 2));
	tu_assert_int(tu_walk(got, "a/b"), 1, "result after changing src");

	idp_doc_node *scalar = idp_doc_new_str(a, "old");
	got = idp_doc_merge(a, scalar, src, IDP_DOC_MERGE_DEFAULT);
	cr_assert(idp_doc_equal(got, src));

	idp_doc_node *map = tu_load_one(a, "x: 1\n");
	got = idp_doc_merge(a, map, idp_doc_new_int(a, 7), IDP_DOC_MERGE_DEFAULT);
	tu_assert_int(got, 7, "a scalar src replaces a map dst");
	idp_arena_free(a);
}

/* ---------------------------------------------------------------- equality */

typedef struct eq_case {
	const char *x, *y;
	bool equal;
} eq_case;

static const eq_case eq_table[] = {
	{"{a: 1, b: 2}", "{b: 2, a: 1}", true},
	{"v: 1", "v: 1.0", true},
	{"v: {x: 1}", "v: {x: 1.0}", true},
	{"v: 0x10", "v: 16", true},
	{"v: \"a\"", "v: a", true},
	{"v: null", "v: ~", true},
	{"v: []", "v: []", true},
	{"v: {}", "v: {}", true},
	{"a: [1, {b: x}]", "a:\n  - 1\n  - b: x\n", true},
	{"v: 1", "v: \"1\"", false},
	{"v: true", "v: 1", false},
	{"v: null", "v: \"\"", false},
	{"v: null", "v: false", false},
	{"v: 1.5", "v: 1", false},
	{"v: [1, 2]", "v: [2, 1]", false},
	{"v: [1, 2]", "v: [1, 2, 3]", false},
	{"{a: 1}", "{a: 1, b: 2}", false},
	{"{a: 1, b: 2}", "{a: 1}", false},
	{"{a: 1}", "{b: 1}", false},
	{"v: []", "v: {}", false},
	{"v: ab", "v: abc", false},
	{"v: {a: {b: [1, {c: 2}]}}", "v: {a: {b: [1, {c: 3}]}}", false},
};

Test(doc_ops, equality_table)
{
	for (size_t k = 0; k < sizeof eq_table / sizeof eq_table[0]; k++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *x = tu_load_one(a, eq_table[k].x);
		idp_doc_node *y = tu_load_one(a, eq_table[k].y);
		cr_expect_eq(idp_doc_equal(x, y), eq_table[k].equal, "equal(%s, %s) should be %s",
			     eq_table[k].x, eq_table[k].y, eq_table[k].equal ? "true" : "false");
		cr_expect_eq(idp_doc_equal(y, x), eq_table[k].equal, "equal(%s, %s) should be %s",
			     eq_table[k].y, eq_table[k].x, eq_table[k].equal ? "true" : "false");
		idp_arena_free(a);
	}
}

/* "an int equals a float of the same value": 2^53+1 and 2^53 are not the same
 * value, although (double)(2^53+1) == 2^53. */
Test(doc_ops, equality_of_int_and_float_needs_the_same_value)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *i = idp_doc_new_int(a, 9007199254740993LL);
	idp_doc_node *f = idp_doc_new_float(a, 9007199254740992.0);
	cr_expect_not(idp_doc_equal(i, f), "int 9007199254740993 == float 9007199254740992");
	cr_expect_not(idp_doc_equal(f, i), "float 9007199254740992 == int 9007199254740993");
	idp_doc_node *max = idp_doc_new_int(a, INT64_MAX);
	idp_doc_node *two63 = idp_doc_new_float(a, 9223372036854775808.0);
	cr_expect_not(idp_doc_equal(max, two63), "INT64_MAX == 2^63 as a float");
	idp_doc_node *exact = idp_doc_new_int(a, 9007199254740992LL);
	cr_expect(idp_doc_equal(exact, f), "2^53 as int and float");
	idp_arena_free(a);
}

Test(doc_ops, equality_compares_all_bytes_of_strings)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *x = idp_doc_new_strn(a, "a\0b", 3);
	idp_doc_node *y = idp_doc_new_strn(a, "a\0c", 3);
	idp_doc_node *z = idp_doc_new_strn(a, "a\0b", 3);
	idp_doc_node *w = idp_doc_new_strn(a, "a", 1);
	cr_assert_not(idp_doc_equal(x, y));
	cr_assert(idp_doc_equal(x, z));
	cr_assert_not(idp_doc_equal(x, w));
	cr_assert_not(idp_doc_equal(w, x));
	idp_arena_free(a);
}

Test(doc_ops, equality_ignores_positions)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *x = tu_load_one(a, ops_yaml);
	idp_doc_node *y = tu_load_one(a, "\n\n# moved down\nkind: Application\n"
					 "spec: {replicas: 2, components: [{name: web, properties: "
					 "{port: 80, image: 'nginx:alpine'}}]}\n"
					 "metadata: {annotations: {plain: p, a.b/c: dotted}, name: app}\n");
	cr_assert(idp_doc_equal(x, y));
	idp_arena_free(a);
}
