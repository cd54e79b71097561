/*
 * The composition engine against corpora written from upstream's own tests
 * and documentation (suite "compose"; each case names its source):
 *
 *   tests/compose/transforms/NAME.yaml one transform (or a chain) on one input:
 *                                     the output with its Go type, or an error
 *   tests/compose/gofmt/gofmt.yaml    Go's fmt.Sprintf (fmt_test.go cases)
 *   tests/compose/fieldpath/NAME.yaml crossplane-runtime field paths: parse,
 *                                     get, set, merge, wildcard expansion
 *   tests/compose/cases/NAME/         `idp compose` end to end (the real
 *                                     binary): expected.yaml is matched as a
 *                                     subset of the output document by
 *                                     document, expected-error.txt line 1
 *                                     must appear in stderr with exit 2,
 *                                     expected-stderr.txt lines must appear.
 *
 * A corpus test runs every case of its file and reports every failing case
 * by name, so one failure hides no other.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "compose/compose.h"
#include "doc/doc.h"
#include "fixture.h"
#include "manifest/manifest.h"

#ifndef IDP_SOURCE_ROOT
#error "IDP_SOURCE_ROOT must be defined by the build"
#endif
#define CORPUS IDP_SOURCE_ROOT "/tests/compose"

/* ------------------------------------------------------------ helpers */

/* Strict equality (an int64 never equals a float64): Go's types matter. */
static bool same(const idp_doc_node *x, const idp_doc_node *y)
{
	return idp_doc_equal_typed(x, y);
}

/* want is a subset of got: maps by key, lists element-wise, scalars same. */
static bool subset(const idp_doc_node *want, const idp_doc_node *got, idp_buf *where)
{
	if (!want || !got)
		return want == got;
	if (want->kind == IDP_DOC_MAP && got->kind == IDP_DOC_MAP) {
		for (size_t i = 0; i < want->as.map.len; i++) {
			size_t mark = where->len;
			idp_doc_path_push_key(where, want->as.map.items[i].key);
			if (!subset(want->as.map.items[i].value, idp_doc_map_get(got, want->as.map.items[i].key), where))
				return false;
			where->len = mark;
			where->ptr[mark] = 0;
		}
		return true;
	}
	if (want->kind == IDP_DOC_SEQ && got->kind == IDP_DOC_SEQ) {
		if (want->as.seq.len != got->as.seq.len)
			return false;
		for (size_t i = 0; i < want->as.seq.len; i++) {
			size_t mark = where->len;
			idp_doc_path_push_index(where, i);
			if (!subset(want->as.seq.items[i], got->as.seq.items[i], where))
				return false;
			where->len = mark;
			where->ptr[mark] = 0;
		}
		return true;
	}
	return same(want, got);
}

static char *show(const idp_doc_node *n)
{
	idp_buf b = IDP_BUF_INIT;
	idp_err err = IDP_ERR_INIT;
	if (!n)
		idp_buf_puts(&b, "(absent)");
	else if (idp_doc_emit_json(n, IDP_DOC_JSON_COMPACT, &b, &err) != 0)
		idp_buf_puts(&b, "(unprintable)");
	else
		idp_buf_printf(&b, " (%s)", idp_doc_kind_name(n->kind));
	idp_err_clear(&err);
	return idp_buf_detach(&b);
}

static idp_doc_node *load_file(idp_arena *a, const char *path)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_load_file(a, path, NULL, &s, &err) != 0 || s.len != 1) {
		cr_log_error("%s: %s", path, err.msg ? err.msg : "want one document");
		idp_err_clear(&err);
		return NULL;
	}
	return s.docs[0];
}

/* Every *.yaml under dir (sorted), owned by the caller. */
static char **yaml_files(const char *dir, size_t *n)
{
	char **names;
	idp_err err = IDP_ERR_INIT;
	*n = 0;
	if (idp_dir_list(dir, &names, n, &err) != 0) {
		idp_err_clear(&err);
		return NULL;
	}
	return names;
}

typedef struct tally {
	size_t run, failed, differs;
} tally;

static void case_fail(tally *t, const char *file, const char *name, const char *fmt, ...) IDP_PRINTF(4, 5);
static void case_fail(tally *t, const char *file, const char *name, const char *fmt, ...)
{
	idp_buf b = IDP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	cr_log_error("%s: case %s: %s", file, name ? name : "?", idp_buf_cstr(&b));
	idp_buf_free(&b);
	t->failed++;
}

static bool case_unsure(const idp_doc_node *c)
{
	const idp_doc_node *u = idp_doc_map_get(c, "unsure");
	return u && u->kind == IDP_DOC_BOOL && u->as.b;
}

/* ------------------------------------------------------------ transforms */

static void run_transform_case(idp_arena *a, const char *file, const idp_doc_node *c, tally *t)
{
	const char *name = idp_doc_map_get_str(c, "name");
	const idp_doc_node *one = idp_doc_map_get(c, "transform"), *chain = idp_doc_map_get(c, "transforms");
	const idp_doc_node *input = idp_doc_map_get(c, "input");
	const idp_doc_node *want = idp_doc_map_get(c, "output");
	const char *want_err = idp_doc_map_get_str(c, "error");
	idp_doc_node *v = input ? idp_doc_copy(a, input) : idp_doc_new_null(a);
	idp_err err = IDP_ERR_INIT;
	int rc = 0;
	const char *differs = idp_doc_map_get_str(c, "idp_differs");
	if (differs) {
		/* A documented difference (docs/COMPOSE.md): counted, not compared. */
		t->differs++;
		return;
	}
	t->run++;
	if (one) {
		rc = idp_compose_transform(a, one, v, &v, &err);
	} else if (chain && chain->kind == IDP_DOC_SEQ) {
		rc = idp_compose_transforms(a, chain, v, &v, &err);
	} else {
		case_fail(t, file, name, "has neither transform nor transforms");
		return;
	}
	if (want_err) {
		if (rc == 0) {
			char *got = show(v);
			case_fail(t, file, name, "want error containing \"%s\", got output %s", want_err, got);
			free(got);
		} else if (!strstr(err.msg, want_err)) {
			case_fail(t, file, name, "want error containing \"%s\", got \"%s\"", want_err, err.msg);
		}
	} else if (rc != 0) {
		case_fail(t, file, name, "unexpected error: %s", err.msg);
	} else if (!same(want ? want : idp_doc_new_null(a), v)) {
		char *w = show(want), *g = show(v);
		case_fail(t, file, name, "want %s, got %s", w, g);
		free(w);
		free(g);
	}
	idp_err_clear(&err);
}

Test(compose, transforms)
{
	size_t n;
	char **files = yaml_files(CORPUS "/transforms", &n);
	cr_assert(files && n > 0, "no transform corpus in %s", CORPUS "/transforms");
	tally t = {0};
	for (size_t i = 0; i < n; i++) {
		idp_arena *a = idp_arena_new();
		char *path = idp_arena_printf(a, "%s/transforms/%s", CORPUS, files[i]);
		idp_doc_node *doc = load_file(a, path);
		const idp_doc_node *cases = idp_doc_map_get(doc, "cases");
		cr_expect(cases && cases->kind == IDP_DOC_SEQ, "%s: no cases list", files[i]);
		for (size_t k = 0; cases && k < cases->as.seq.len; k++)
			run_transform_case(a, files[i], cases->as.seq.items[k], &t);
		idp_arena_free(a);
	}
	idp_dir_list_free(files, n);
	cr_log_info("transforms: %zu cases, %zu failed, %zu documented differences", t.run, t.failed, t.differs);
	cr_assert(t.differs <= 10, "%zu cases marked idp_differs: the differences list is growing", t.differs);
	cr_assert(t.run >= 100, "only %zu transform cases", t.run);
	cr_assert_eq(t.failed, 0, "%zu of %zu transform cases failed (see above)", t.failed, t.run);
}

/* ------------------------------------------------------------ Go fmt */

Test(compose, gofmt)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *doc = load_file(a, CORPUS "/gofmt/gofmt.yaml");
	const idp_doc_node *cases = idp_doc_map_get(doc, "cases");
	cr_assert(cases && cases->kind == IDP_DOC_SEQ, "no gofmt cases");
	tally t = {0};
	for (size_t k = 0; k < cases->as.seq.len; k++) {
		const idp_doc_node *c = cases->as.seq.items[k];
		const char *name = idp_doc_map_get_str(c, "name");
		const char *format = idp_doc_map_get_str(c, "format"), *want = idp_doc_map_get_str(c, "output");
		const idp_doc_node *args = idp_doc_map_get(c, "args");
		size_t nargs = args && args->kind == IDP_DOC_SEQ ? args->as.seq.len : 0;
		idp_buf out = IDP_BUF_INIT;
		t.run++;
		idp_compose_sprintf(&out, format ? format : "", nargs ? (const idp_doc_node *const *)args->as.seq.items : NULL,
				    nargs);
		if (!want || strcmp(idp_buf_cstr(&out), want) != 0)
			case_fail(&t, "gofmt.yaml", name, "Sprintf(%s): want \"%s\", got \"%s\"%s", format, want ? want : "?",
				  idp_buf_cstr(&out), case_unsure(c) ? " [unsure]" : "");
		idp_buf_free(&out);
	}
	idp_arena_free(a);
	cr_log_info("gofmt: %zu cases, %zu failed", t.run, t.failed);
	cr_assert_eq(t.failed, 0, "%zu of %zu fmt cases failed (see above)", t.failed, t.run);
}

/* ------------------------------------------------------------ field paths */

static void run_parse(idp_arena *a, const idp_doc_node *c, tally *t)
{
	const char *name = idp_doc_map_get_str(c, "name"), *path = idp_doc_map_get_str(c, "path");
	const char *want_err = idp_doc_map_get_str(c, "error");
	const idp_doc_node *want = idp_doc_map_get(c, "segments");
	idp_compose_segment *segs;
	size_t n;
	idp_err err = IDP_ERR_INIT;
	t->run++;
	int rc = idp_compose_path_parse(a, path ? path : "", &segs, &n, &err);
	if (want_err) {
		if (rc == 0 || !strstr(err.msg, want_err))
			case_fail(t, "parse", name, "%s: want error \"%s\", got %s", path, want_err, rc ? err.msg : "success");
	} else if (rc != 0) {
		case_fail(t, "parse", name, "%s: unexpected error %s", path, err.msg);
	} else {
		idp_doc_node *got = idp_doc_new_seq(a);
		for (size_t i = 0; i < n; i++) {
			idp_doc_node *m = idp_doc_new_map(a);
			if (segs[i].is_index)
				idp_doc_map_set(a, m, "index", idp_doc_new_int(a, segs[i].index));
			else
				idp_doc_map_set(a, m, "field", idp_doc_new_str(a, segs[i].field));
			idp_doc_seq_push(a, got, m);
		}
		if (!same(want, got)) {
			char *w = show(want), *g = show(got);
			case_fail(t, "parse", name, "%s: want %s, got %s", path, w, g);
			free(w);
			free(g);
		}
	}
	idp_err_clear(&err);
}

static void run_get(idp_arena *a, const idp_doc_node *c, tally *t)
{
	const char *name = idp_doc_map_get_str(c, "name"), *path = idp_doc_map_get_str(c, "path");
	const char *want_err = idp_doc_map_get_str(c, "error");
	const idp_doc_node *nf = idp_doc_map_get(c, "notfound");
	bool want_nf = nf && nf->kind == IDP_DOC_BOOL && nf->as.b;
	const idp_doc_node *obj = idp_doc_map_get(c, "object"), *got = NULL;
	idp_err err = IDP_ERR_INIT;
	t->run++;
	int rc = idp_compose_path_get(a, obj ? obj : idp_doc_new_map(a), path ? path : "", &got, &err);
	if (want_nf) {
		if (rc != IDP_ENOTFOUND)
			case_fail(t, "get", name, "%s: want not found, got rc %d %s", path, rc, err.msg ? err.msg : "");
	} else if (want_err) {
		if (rc == 0 || rc == IDP_ENOTFOUND || !strstr(err.msg, want_err))
			case_fail(t, "get", name, "%s: want error \"%s\", got rc %d %s", path, want_err, rc,
				  err.msg ? err.msg : "");
	} else if (rc != 0) {
		case_fail(t, "get", name, "%s: unexpected error %s", path, err.msg);
	} else if (!same(idp_doc_map_get(c, "value"), got)) {
		char *w = show(idp_doc_map_get(c, "value")), *g = show(got);
		case_fail(t, "get", name, "%s: want %s, got %s", path, w, g);
		free(w);
		free(g);
	}
	idp_err_clear(&err);
}

static void run_set(idp_arena *a, const idp_doc_node *c, bool merge, tally *t)
{
	const char *name = idp_doc_map_get_str(c, "name"), *path = idp_doc_map_get_str(c, "path");
	const char *want_err = idp_doc_map_get_str(c, "error");
	const idp_doc_node *obj = idp_doc_map_get(c, "object");
	idp_doc_node *root = obj ? idp_doc_copy(a, obj) : idp_doc_new_map(a);
	idp_compose_merge mode = IDP_COMPOSE_REPLACE;
	const char *policy = idp_doc_map_get_str(c, "policy");
	if (merge && policy && !idp_compose_merge_parse(policy, &mode)) {
		case_fail(t, "merge", name, "unknown policy %s", policy);
		return;
	}
	const idp_doc_node *value = idp_doc_map_get(c, "value");
	idp_err err = IDP_ERR_INIT;
	t->run++;
	int rc = idp_compose_path_set(a, root, path ? path : "", value ? value : idp_doc_new_null(a), mode, &err);
	const char *what = merge ? "merge" : "set";
	if (want_err) {
		if (rc == 0 || !strstr(err.msg, want_err))
			case_fail(t, what, name, "%s: want error \"%s\", got %s", path, want_err, rc ? err.msg : "success");
	} else if (rc != 0) {
		case_fail(t, what, name, "%s: unexpected error %s", path, err.msg);
	} else if (!same(idp_doc_map_get(c, "result"), root)) {
		char *w = show(idp_doc_map_get(c, "result")), *g = show(root);
		case_fail(t, what, name, "%s: want %s, got %s", path, w, g);
		free(w);
		free(g);
	}
	idp_err_clear(&err);
}

static void run_expand(idp_arena *a, const idp_doc_node *c, tally *t)
{
	const char *name = idp_doc_map_get_str(c, "name"), *path = idp_doc_map_get_str(c, "path");
	const char *want_err = idp_doc_map_get_str(c, "error");
	const idp_doc_node *want = idp_doc_map_get(c, "paths");
	const idp_doc_node *unordered = idp_doc_map_get(c, "unordered");
	char **paths;
	size_t n;
	idp_err err = IDP_ERR_INIT;
	t->run++;
	const idp_doc_node *obj = idp_doc_map_get(c, "object");
	int rc = idp_compose_path_expand(a, obj ? obj : idp_doc_new_map(a), path ? path : "", &paths, &n, &err);
	if (want_err) {
		if (rc == 0 || !strstr(err.msg, want_err))
			case_fail(t, "expand", name, "%s: want error \"%s\", got %s", path, want_err, rc ? err.msg : "success");
		idp_err_clear(&err);
		return;
	}
	if (rc != 0) {
		case_fail(t, "expand", name, "%s: unexpected error %s", path, err.msg);
		idp_err_clear(&err);
		return;
	}
	size_t wn = want && want->kind == IDP_DOC_SEQ ? want->as.seq.len : 0;
	bool ok = wn == n;
	for (size_t i = 0; ok && i < n; i++) {
		bool found = false;
		if (unordered && unordered->kind == IDP_DOC_BOOL && unordered->as.b) {
			for (size_t k = 0; k < n && !found; k++)
				found = strcmp(want->as.seq.items[i]->as.str.ptr, paths[k]) == 0;
		} else {
			found = strcmp(want->as.seq.items[i]->as.str.ptr, paths[i]) == 0;
		}
		ok = found;
	}
	if (!ok) {
		idp_buf got = IDP_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			idp_buf_printf(&got, "%s%s", i ? ", " : "", paths[i]);
		case_fail(t, "expand", name, "%s: got [%s]", path, idp_buf_cstr(&got));
		idp_buf_free(&got);
	}
}

Test(compose, fieldpath)
{
	size_t nfiles;
	char **files = yaml_files(CORPUS "/fieldpath", &nfiles);
	cr_assert(files && nfiles > 0, "no field path corpus");
	tally t = {0};
	for (size_t f = 0; f < nfiles; f++) {
		idp_arena *a = idp_arena_new();
		idp_doc_node *doc = load_file(a, idp_arena_printf(a, "%s/fieldpath/%s", CORPUS, files[f]));
		static const char *const sections[] = {"parse", "get", "set", "merge", "expand"};
		for (size_t s = 0; doc && s < 5; s++) {
			const idp_doc_node *list = idp_doc_map_get(doc, sections[s]);
			for (size_t k = 0; list && list->kind == IDP_DOC_SEQ && k < list->as.seq.len; k++) {
				const idp_doc_node *c = list->as.seq.items[k];
				switch (s) {
				case 0: run_parse(a, c, &t); break;
				case 1: run_get(a, c, &t); break;
				case 2: run_set(a, c, false, &t); break;
				case 3: run_set(a, c, true, &t); break;
				default: run_expand(a, c, &t); break;
				}
			}
		}
		idp_arena_free(a);
	}
	idp_dir_list_free(files, nfiles);
	cr_log_info("fieldpath: %zu cases, %zu failed", t.run, t.failed);
	cr_assert(t.run >= 40, "only %zu field path cases", t.run);
	cr_assert_eq(t.failed, 0, "%zu of %zu field path cases failed (see above)", t.failed, t.run);
}

/* ------------------------------------------------------------ end to end */

#define NAME_MAX_LEN 96

struct compose_case {
	char name[NAME_MAX_LEN];
};

static int cmp_case(const void *x, const void *y)
{
	return strcmp(((const struct compose_case *)x)->name, ((const struct compose_case *)y)->name);
}

ParameterizedTestParameters(compose, e2e)
{
	static struct compose_case *cases;
	size_t n = 0, cap = 0;
	DIR *d = opendir(CORPUS "/cases");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= NAME_MAX_LEN)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct compose_case *grown = cr_malloc(cap * sizeof(*grown));
			if (n)
				memcpy(grown, cases, n * sizeof(*grown));
			cases = grown;
		}
		memcpy(cases[n].name, e->d_name, strlen(e->d_name) + 1);
		n++;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(cases, n, sizeof(*cases), cmp_case);
	return cr_make_param_array(struct compose_case, cases, n);
}

static char *case_file(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);
	snprintf(p, len, "%s/%s", dir, name);
	struct stat st;
	if (stat(p, &st) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

ParameterizedTest(struct compose_case *c, compose, e2e)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/cases/%s", CORPUS, c->name);
	char *files[6] = {case_file(dir, "observed.yaml"), case_file(dir, "environment.yaml"),
			  case_file(dir, "desired.yaml"), case_file(dir, "xrd.yaml"), NULL, NULL};
	static const char *const flags[] = {"--observed", "--environment", "--desired", "--xrd"};
	char *argv[48];
	size_t n = 0;
	argv[n++] = IDP_BIN;
	argv[n++] = "compose";
	char xr[600], comp[600];
	snprintf(xr, sizeof xr, "%s/xr.yaml", dir);
	snprintf(comp, sizeof comp, "%s/composition.yaml", dir);
	argv[n++] = xr;
	argv[n++] = comp;
	for (size_t i = 0; i < 4; i++)
		if (files[i]) {
			argv[n++] = (char *)flags[i];
			argv[n++] = files[i];
		}
	char *args_path = case_file(dir, "args");
	char *args = args_path ? idp_fixture_read_file(args_path, NULL) : NULL;
	for (char *tok = args ? strtok(args, " \t\n") : NULL; tok && n < 46; tok = strtok(NULL, " \t\n"))
		argv[n++] = tok;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	char *expected = case_file(dir, "expected.yaml"), *expected_err = case_file(dir, "expected-error.txt");
	char *expected_stderr = case_file(dir, "expected-stderr.txt");
	if (expected_err) {
		char *want = idp_fixture_read_file(expected_err, NULL);
		char *nl = want ? strchr(want, '\n') : NULL;
		if (nl)
			*nl = 0;
		cr_expect_eq(rc, 2, "%s: want exit 2, got %d\nstdout:\n%.3000s\nstderr:\n%s", c->name, rc, out, err);
		cr_expect(want && err && strcasestr(err, want), "%s: stderr lacks \"%s\":\n%s", c->name, want, err);
		free(want);
	} else if (expected) {
		cr_assert_eq(rc, 0, "%s: exit %d\nstderr:\n%s", c->name, rc, err);
		idp_arena *a = idp_arena_new();
		idp_doc_stream want, got;
		idp_err e = IDP_ERR_INIT;
		cr_assert_eq(idp_doc_load_file(a, expected, NULL, &want, &e), 0, "%s", e.msg);
		cr_assert_eq(idp_doc_load(a, "stdout", out, strlen(out), NULL, &got, &e), 0, "%s", e.msg);
		cr_expect_eq(want.len, got.len, "%s: want %zu documents, got %zu:\n%.6000s", c->name, want.len, got.len, out);
		for (size_t i = 0; i < want.len && i < got.len; i++) {
			idp_buf where = IDP_BUF_INIT;
			idp_buf_puts(&where, "");
			bool ok = subset(want.docs[i], got.docs[i], &where);
			cr_expect(ok, "%s: document %zu differs at %s\n--- output ---\n%.6000s", c->name, i, idp_buf_cstr(&where),
				  out);
			idp_buf_free(&where);
		}
		idp_err_clear(&e);
		idp_arena_free(a);
	} else {
		cr_expect_fail("%s: no expected.yaml or expected-error.txt", c->name);
	}
	if (expected_stderr) {
		char *lines = idp_fixture_read_file(expected_stderr, NULL);
		for (char *l = lines ? strtok(lines, "\n") : NULL; l; l = strtok(NULL, "\n"))
			if (*l)
				cr_expect(err && strcasestr(err, l), "%s: stderr lacks \"%s\":\n%s", c->name, l, err);
		free(lines);
	}
	free(expected);
	free(expected_err);
	free(expected_stderr);
	free(args);
	free(args_path);
	for (size_t i = 0; i < 4; i++)
		free(files[i]);
	free(out);
	free(err);
}

/* ------------------------------------------------------------ the catalog's claims */

#define CLAIMS IDP_SOURCE_ROOT "/catalog/claims"

/* Composes one catalog claim (its example, or the text given) with the real
 * binary and returns the output documents in a (NULL on failure). */
static idp_doc_stream compose_claim(idp_arena *a, const char *claim, const char *claim_text, bool unwrap,
				    char **stderr_out)
{
	char *dir = NULL, *file = NULL;
	char example[512], comp[512], xrd[512];
	snprintf(example, sizeof example, "%s/examples/%s.yaml", CLAIMS, claim);
	snprintf(comp, sizeof comp, "%s/%s-composition.yaml", CLAIMS, claim);
	snprintf(xrd, sizeof xrd, "%s/%s-xrd.yaml", CLAIMS, claim);
	if (claim_text) {
		dir = idp_fixture_tmpdir();
		file = idp_fixture_write_file(dir, "claim.yaml", claim_text, strlen(claim_text));
	}
	char *argv[] = {IDP_BIN, "compose", file ? file : example, comp, "--xrd", xrd, unwrap ? "--unwrap-objects" : NULL,
			NULL};
	char *out = NULL, *err = NULL;
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	cr_assert_eq(rc, 0, "%s: idp compose exit %d:\n%s", claim, rc, err);
	idp_doc_stream s;
	idp_err e = IDP_ERR_INIT;
	cr_assert_eq(idp_doc_load(a, claim, out, strlen(out), NULL, &s, &e), 0, "%s: output does not load: %s", claim,
		     e.msg);
	free(out);
	if (stderr_out)
		*stderr_out = err;
	else
		free(err);
	if (dir) {
		idp_fixture_rmtree(dir);
		free(dir);
		free(file);
	}
	return s;
}

static const char *meta(const idp_doc_node *o, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(o, "metadata"), key);
}

/* The Services a Bitnami chart creates for release values.fullnameOverride F:
 * F (postgresql, mongodb) and F-master / F-headless / F-replicas (redis). */
static bool helm_provides(const idp_doc_node *o, const char *name, const char *ns)
{
	const char *kind = idp_doc_map_get_str(o, "kind");
	if (!kind || strcmp(kind, "Release") != 0)
		return false;
	const idp_doc_node *fp = idp_doc_map_get(idp_doc_map_get(o, "spec"), "forProvider");
	const char *full = idp_doc_map_get_str(idp_doc_map_get(fp, "values"), "fullnameOverride");
	const char *rns = idp_doc_map_get_str(fp, "namespace");
	if (!full || !rns || strcmp(rns, ns) != 0)
		return false;
	static const char *const suffixes[] = {"", "-master", "-headless", "-replicas"};
	for (size_t i = 0; i < 4; i++) {
		char want[256];
		snprintf(want, sizeof want, "%s%s", full, suffixes[i]);
		if (strcmp(want, name) == 0)
			return true;
	}
	return false;
}

static bool has_service(const idp_doc_stream *s, const char *name, const char *ns)
{
	for (size_t i = 0; i < s->len; i++) {
		const char *kind = idp_doc_map_get_str(s->docs[i], "kind");
		if (helm_provides(s->docs[i], name, ns))
			return true;
		if (kind && strcmp(kind, "Service") == 0 && strcmp(meta(s->docs[i], "name"), name) == 0 &&
		    meta(s->docs[i], "namespace") && strcmp(meta(s->docs[i], "namespace"), ns) == 0)
			return true;
	}
	return false;
}

/* Every NAME.NAMESPACE.svc.cluster.local in a string names a composed Service. */
static void check_hosts(const idp_doc_stream *s, const char *where, const char *text)
{
	const char *p = text;
	while ((p = strstr(p, ".svc.cluster.local"))) {
		const char *end = p, *start = p;
		while (start > text && (start[-1] == '-' || start[-1] == '.' || (start[-1] >= 'a' && start[-1] <= 'z') ||
					(start[-1] >= '0' && start[-1] <= '9')))
			start--;
		char host[256];
		size_t n = (size_t)(end - start) < sizeof host - 1 ? (size_t)(end - start) : sizeof host - 1;
		memcpy(host, start, n);
		host[n] = 0;
		char *dot = strchr(host, '.');
		cr_expect(dot, "%s: host %s has no namespace", where, host);
		if (dot) {
			*dot = 0;
			cr_expect(has_service(s, host, dot + 1), "%s points at %s.%s.svc.cluster.local, which is not a composed Service",
				  where, host, dot + 1);
		}
		p += 18;
	}
}

static void check_secret_free(const idp_doc_node *o)
{
	const char *gen = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(o, "metadata"), "annotations"),
					      "platform.example.org/generate");
	if (!gen)
		return;
	char keys[512];
	snprintf(keys, sizeof keys, "%s", gen);
	for (char *k = strtok(keys, ","); k; k = strtok(NULL, ","))
		cr_expect(!idp_doc_map_get(idp_doc_map_get(o, "data"), k) && !idp_doc_map_get(idp_doc_map_get(o, "stringData"), k),
			  "Secret %s/%s is to be generated (%s) but carries a value for it", meta(o, "namespace"), meta(o, "name"), k);
}

Test(compose, catalog_claims_compose_to_valid_objects)
{
	static const char *const claims[] = {"application-claim", "app-container-claim", "realtime-platform-claim",
					     "vcluster-environment-claim"};
	for (size_t c = 0; c < 4; c++) {
		idp_arena *a = idp_arena_new();
		idp_doc_stream s = compose_claim(a, claims[c], NULL, true, NULL);
		cr_expect(s.len >= 2, "%s: only %zu documents", claims[c], s.len);
		for (size_t i = 1; i < s.len; i++) {
			idp_errs errs = IDP_ERRS_INIT;
			size_t bad = idp_manifest_check(s.docs[i], &errs);
			cr_expect_eq(bad, 0, "%s: %s %s: %s", claims[c], idp_doc_map_get_str(s.docs[i], "kind"),
				     meta(s.docs[i], "name"), errs.len ? errs.items[0].msg : "");
			idp_errs_free(&errs);
			const char *kind = idp_doc_map_get_str(s.docs[i], "kind");
			if (kind && (strcmp(kind, "Secret") == 0 || strcmp(kind, "ConfigMap") == 0)) {
				idp_buf text = IDP_BUF_INIT;
				idp_err e = IDP_ERR_INIT;
				idp_doc_emit_json(s.docs[i], IDP_DOC_JSON_COMPACT, &text, &e);
				char where[256];
				snprintf(where, sizeof where, "%s: %s %s", claims[c], kind, meta(s.docs[i], "name"));
				if (strcmp(kind, "Secret") == 0) {
					check_hosts(&s, where, idp_buf_cstr(&text));
					check_secret_free(s.docs[i]);
				}
				idp_buf_free(&text);
				idp_err_clear(&e);
			}
		}
		idp_arena_free(a);
	}
}

Test(compose, catalog_realtime_platform_is_complete)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = compose_claim(a, "realtime-platform-claim", NULL, true, NULL);
	/* original-system §2.4: namespace, postgres, mosquitto, kafka, lenses hq and agent,
	 * metabase, gateways, secrets, RBAC, jobs, the agent-key sync. */
	cr_expect_geq(s.len - 1, 25, "only %zu composed resources", s.len - 1);
	static const char *const services[] = {"postgres", "mqtt-broker", "kafka", "lenses-hq", "metabase"};
	for (size_t i = 0; i < 5; i++)
		cr_expect(has_service(&s, services[i], "health-streaming-realtime"), "no Service %s in health-streaming-realtime",
			  services[i]);
	const char *xr_name = meta(s.docs[0], "name");
	cr_expect(xr_name && strncmp(xr_name, "health-streaming-", 17) == 0, "XR name %s", xr_name);
	cr_expect_str_eq(idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(s.docs[0], "metadata"), "labels"),
					     "crossplane.io/claim-name"),
			 "health-streaming");
	idp_arena_free(a);
}

/* The original gave cluster-wide objects fixed names, so a second claim collided
 * with the first (original-system §2.4, §12). */
Test(compose, catalog_two_realtime_claims_do_not_collide)
{
	static const char claim[] = "apiVersion: platform.example.org/v1alpha1\n"
				    "kind: RealtimePlatformClaim\n"
				    "metadata: {name: %s, namespace: default}\n"
				    "spec: {name: %s}\n";
	char one[512], two[512];
	snprintf(one, sizeof one, claim, "alpha", "alpha");
	snprintf(two, sizeof two, claim, "beta", "beta");
	idp_arena *a = idp_arena_new();
	idp_doc_stream x = compose_claim(a, "realtime-platform-claim", one, true, NULL);
	idp_doc_stream y = compose_claim(a, "realtime-platform-claim", two, true, NULL);
	for (size_t i = 1; i < x.len; i++)
		for (size_t k = 1; k < y.len; k++) {
			const char *kx = idp_doc_map_get_str(x.docs[i], "kind"), *ky = idp_doc_map_get_str(y.docs[k], "kind");
			const char *nx = meta(x.docs[i], "name"), *ny = meta(y.docs[k], "name");
			const char *sx = meta(x.docs[i], "namespace"), *sy = meta(y.docs[k], "namespace");
			bool same_ns = (!sx && !sy) || (sx && sy && strcmp(sx, sy) == 0);
			cr_expect(!(kx && ky && nx && ny && strcmp(kx, ky) == 0 && strcmp(nx, ny) == 0 && same_ns),
				  "both claims create %s %s/%s", kx, sx ? sx : "-", nx);
		}
	idp_arena_free(a);
}

/* The claim's webservice.oam.dev/source annotation reaches the OAM updater
 * (original-system §2.2 row 7, §3). */
Test(compose, catalog_application_claim_carries_its_source)
{
	idp_arena *a = idp_arena_new();
	idp_doc_stream s = compose_claim(a, "application-claim", NULL, true, NULL);
	bool found = false;
	for (size_t i = 1; i < s.len; i++) {
		idp_buf text = IDP_BUF_INIT;
		idp_err e = IDP_ERR_INIT;
		idp_doc_emit_json(s.docs[i], IDP_DOC_JSON_COMPACT, &text, &e);
		if (strstr(idp_buf_cstr(&text), "\"name\":\"BOOTSTRAP_SOURCE\",\"value\":\"api-driven\""))
			found = true;
		idp_buf_free(&text);
		idp_err_clear(&e);
	}
	cr_expect(found, "no BOOTSTRAP_SOURCE=api-driven in the composed OAM updater");
	idp_arena_free(a);
}
