/*
 * CUE conformance corpus (suite "cue_conformance"): every case
 * tests/cue/NAME.cue is evaluated by the real binary, `IDP_BIN cue eval -o
 * json NAME.cue`, and its result compared with what a real CUE
 * implementation printed for the same file (tests/cue/README.md says which
 * one and how to regenerate):
 *
 *   NAME.json  the expected `cue export --out json`: idp must exit 0 and print
 *              the same value (compared with idp_doc_equal) with the same key
 *              order in every map (unless NAME.cue has a line starting
 *              "// order: unchecked") and the same number kinds (3 vs 3.0);
 *   NAME.err   the case must fail: idp must exit 2, and stderr must hold a
 *              `FILE:LINE:COL: message` line at one of the positions on the
 *              file's first line (`*`: any position; several positions
 *              separated by spaces are alternatives, as CUE lists several for
 *              one error) and contain the second line's word (any case).
 *
 * One parameterized test per case (the cases are found by scanning tests/cue
 * at run time), so one failure hides no other; test "corpus" checks that the
 * corpus itself is well formed. A binary without the `cue` command fails
 * every case.
 *
 * Criterion runs each test in its own process; everything a test allocates
 * is kept in g and released by teardown(), so a failed assertion leaks
 * nothing.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "doc/doc.h"
#include "fixture.h"

#ifndef IDP_BIN
#error "IDP_BIN must be defined by the build"
#endif
#ifndef IDP_SOURCE_ROOT
#error "IDP_SOURCE_ROOT must be defined by the build"
#endif

#define CUE_DIR IDP_SOURCE_ROOT "/tests/cue"
#define CUE_MIN_CASES 40
#define CUE_NAME_MAX 96
#define CUE_RUN_SECONDS 60.0
/* How much of idp's output a failure message quotes. */
#define CUE_QUOTE_MAX 6000

/* One case, by name (NAME of tests/cue/NAME.cue). Fixed-size so that the
 * parameter array is one cr_malloc block. */
struct cue_case {
	char name[CUE_NAME_MAX];
};

/* ------------------------------------------------------------ per-test state */

static struct {
	char *out, *err;    /* the last run of idp */
	char *owned[64];    /* strings freed by teardown */
	size_t nowned;
	idp_arena *arena;   /* loaded documents */
	char **names;       /* a scan of tests/cue */
	size_t nnames;
} g;

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void teardown(void)
{
	free(g.out);
	free(g.err);
	g.out = g.err = NULL;
	for (size_t i = 0; i < g.nowned; i++)
		free(g.owned[i]);
	g.nowned = 0;
	idp_arena_free(g.arena);
	g.arena = NULL;
	names_free(g.names, g.nnames);
	g.names = NULL;
	g.nnames = 0;
}

TestSuite(cue_conformance, .fini = teardown, .timeout = 120);

/* Registers s to be freed by teardown and returns it (never NULL). */
__attribute__((returns_nonnull)) static char *own(char *s)
{
	if (!s)
		abort();
	if (g.nowned >= sizeof g.owned / sizeof g.owned[0]) {
		free(s);
		cr_assert_fail("too many owned strings");
	}
	g.owned[g.nowned++] = s;
	return s;
}

static char *own_fmt(const char *fmt, ...) IDP_PRINTF(1, 2);
static char *own_fmt(const char *fmt, ...)
{
	idp_buf b = IDP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	idp_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return own(idp_buf_detach(&b));
}

/* At most CUE_QUOTE_MAX bytes of s, for a failure message (owned). */
static const char *quote(const char *s)
{
	size_t n = strlen(s);
	if (n <= CUE_QUOTE_MAX)
		return s;
	return own_fmt("%.*s\n[... %zu more bytes]", CUE_QUOTE_MAX, s, n - CUE_QUOTE_MAX);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------ the corpus */

static bool name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= CUE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

/* The names of files in tests/cue that end in ext (".cue"), without it,
 * sorted; malloc'ed (names_free). Names that are not [a-z0-9_-]+ are kept
 * too (the corpus test rejects them) unless they are too long. Returns the
 * count, or (size_t)-1 if the directory cannot be read. */
static size_t scan(const char *ext, char ***out)
{
	char **names;
	size_t n, kept = 0, elen = strlen(ext);
	idp_err err = IDP_ERR_INIT;
	*out = NULL;
	if (idp_dir_list(CUE_DIR, &names, &n, &err)) { /* sorted, hidden files left out */
		idp_err_clear(&err);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len <= elen || strcmp(names[i] + len - elen, ext) != 0) {
			free(names[i]);
			continue;
		}
		names[i][len - elen] = '\0';
		names[kept++] = names[i];
	}
	*out = names;
	return kept;
}

static void free_params(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

/* ------------------------------------------------------------ comparing values */

static const char *kind_name(const idp_doc_node *n)
{
	return idp_doc_kind_name(n->kind);
}

/* A short rendering of a scalar for messages (owned). */
static const char *scalar_text(const idp_doc_node *n)
{
	switch (n->kind) {
	case IDP_DOC_NULL:
		return "null";
	case IDP_DOC_BOOL:
		return n->as.b ? "true" : "false";
	case IDP_DOC_INT:
		return own_fmt("%lld", (long long)n->as.i);
	case IDP_DOC_FLOAT: {
		char *t = own_fmt("%.17g", n->as.f);
		return strpbrk(t, ".eEni") ? t : own_fmt("%s.0", t);
	}
	case IDP_DOC_STR:
		return own_fmt("\"%.*s\"", n->as.str.len > 200 ? 200 : (int)n->as.str.len, n->as.str.ptr);
	case IDP_DOC_MAP:
		return own_fmt("a map of %zu keys", n->as.map.len);
	case IDP_DOC_SEQ:
		return own_fmt("a list of %zu items", n->as.seq.len);
	}
	return "?";
}

/* Walks got and want together and stops at the first difference: a kind
 * (int and float are different kinds here, as `cue export` writes 3 and
 * 3.0), a scalar value, a list length, or a map's keys or (when ordered)
 * their ORDER. On a difference returns false and writes where and what into
 * *why (owned). path is the path built so far. */
static bool same_tree(const idp_doc_node *got, const idp_doc_node *want, bool ordered, idp_buf *path,
		      const char **why)
{
	const char *at = path->len ? idp_buf_cstr(path) : "(top)";
	if (got->kind != want->kind) {
		*why = own_fmt("at %s: got %s %s, want %s %s", at, kind_name(got), scalar_text(got),
			       kind_name(want), scalar_text(want));
		return false;
	}
	bool same = true;
	switch (want->kind) {
	case IDP_DOC_NULL:
		break;
	case IDP_DOC_BOOL:
		same = got->as.b == want->as.b;
		break;
	case IDP_DOC_INT:
		same = got->as.i == want->as.i;
		break;
	case IDP_DOC_FLOAT:
		same = got->as.f == want->as.f;
		break;
	case IDP_DOC_STR:
		same = got->as.str.len == want->as.str.len &&
		       memcmp(got->as.str.ptr, want->as.str.ptr, want->as.str.len) == 0;
		break;
	case IDP_DOC_MAP: {
		size_t n = got->as.map.len < want->as.map.len ? got->as.map.len : want->as.map.len;
		if (!ordered) {
			for (size_t i = 0; i < want->as.map.len; i++) {
				const char *key = want->as.map.items[i].key;
				const idp_doc_node *gv = idp_doc_map_get(got, key);
				if (!gv) {
					*why = own_fmt("at %s: missing key \"%s\"", at, key);
					return false;
				}
				size_t mark = path->len;
				idp_doc_path_push_key(path, key);
				bool ok = same_tree(gv, want->as.map.items[i].value, ordered, path, why);
				path->len = mark;
				if (!ok)
					return false;
			}
			for (size_t i = 0; i < got->as.map.len; i++)
				if (!idp_doc_map_get(want, got->as.map.items[i].key)) {
					*why = own_fmt("at %s: unexpected key \"%s\"", at, got->as.map.items[i].key);
					return false;
				}
			return true;
		}
		for (size_t i = 0; i < n; i++) {
			const char *gk = got->as.map.items[i].key, *wk = want->as.map.items[i].key;
			if (strcmp(gk, wk) != 0) {
				*why = own_fmt("at %s: key #%zu is \"%s\", want \"%s\" (keys must come in "
					       "the order `cue export` prints them)", at, i + 1, gk, wk);
				return false;
			}
		}
		if (got->as.map.len > want->as.map.len) {
			*why = own_fmt("at %s: unexpected key \"%s\" (got %zu keys, want %zu)", at,
				       got->as.map.items[n].key, got->as.map.len, want->as.map.len);
			return false;
		}
		if (got->as.map.len < want->as.map.len) {
			*why = own_fmt("at %s: missing key \"%s\" (got %zu keys, want %zu)", at,
				       want->as.map.items[n].key, got->as.map.len, want->as.map.len);
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			size_t mark = path->len;
			idp_doc_path_push_key(path, want->as.map.items[i].key);
			bool ok = same_tree(got->as.map.items[i].value, want->as.map.items[i].value, ordered, path,
					    why);
			path->len = mark;
			if (!ok)
				return false;
		}
		return true;
	}
	case IDP_DOC_SEQ:
		if (got->as.seq.len != want->as.seq.len) {
			*why = own_fmt("at %s: got a list of %zu items, want %zu", at, got->as.seq.len,
				       want->as.seq.len);
			return false;
		}
		for (size_t i = 0; i < want->as.seq.len; i++) {
			size_t mark = path->len;
			idp_doc_path_push_index(path, i);
			bool ok = same_tree(got->as.seq.items[i], want->as.seq.items[i], ordered, path, why);
			path->len = mark;
			if (!ok)
				return false;
		}
		return true;
	}
	if (!same)
		*why = own_fmt("at %s: got %s, want %s", at, scalar_text(got), scalar_text(want));
	return same;
}

/* Loads text (JSON) that must hold exactly one document. On failure stores
 * the reason in *why (owned) and returns NULL. */
static idp_doc_node *load_one(const char *file, const char *text, const char **why)
{
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	if (!g.arena)
		g.arena = idp_arena_new();
	int rc = idp_doc_load(g.arena, file, text, strlen(text), NULL, &s, &err);
	if (rc != 0) {
		idp_buf b = IDP_BUF_INIT;
		idp_err_format(&err, &b);
		*why = own(idp_buf_detach(&b));
		idp_err_clear(&err);
		return NULL;
	}
	idp_err_clear(&err);
	if (s.len != 1) {
		*why = own_fmt("%zu documents, want exactly one", s.len);
		return NULL;
	}
	return s.docs[0];
}

/* ------------------------------------------------------------ one case */

/* The first line of an .err file: "*" or positions "L:C L:C ...". */
static bool err_positions_ok(const char *line)
{
	if (strcmp(line, "*") == 0)
		return true;
	int used = 0;
	unsigned l, c;
	bool any = false;
	while (*line) {
		while (*line == ' ')
			line++;
		if (!*line)
			break;
		if (sscanf(line, "%u:%u%n", &l, &c, &used) != 2 || l == 0 || c == 0)
			return false;
		line += used;
		if (*line && *line != ' ')
			return false;
		any = true;
	}
	return any;
}

/* True when some line of stderr holds "/NAME.cue:L:C:" with digits L and C. */
static bool has_any_position(const char *err, const char *name)
{
	const char *needle = own_fmt("/%s.cue:", name);
	for (const char *p = strstr(err, needle); p; p = strstr(p + 1, needle)) {
		const char *q = p + strlen(needle);
		if (!isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q++ != ':' || !isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ':')
			return true;
	}
	return false;
}

/* A copy of err (owned) with every "NAME.cue" blanked out, so that the word
 * of an .err file is never found in the case's own file name. */
static const char *without_file_names(const char *err, const char *name)
{
	char *copy = own(strdup(err));
	const char *file = own_fmt("%s.cue", name);
	size_t len = strlen(file);
	for (char *p = strstr(copy, file); p; p = strstr(p + len, file))
		memset(p, ' ', len);
	return copy;
}

/* True when the case's source has a line starting "// order: unchecked":
 * its maps are then compared as sets of keys (see tests/cue/README.md). */
static bool order_unchecked(const char *cue_path)
{
	char *text = idp_fixture_read_file(cue_path, NULL);
	cr_assert_not_null(text, "cannot read %s", cue_path);
	own(text);
	static const char marker[] = "// order: unchecked";
	for (const char *line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, marker, sizeof marker - 1) == 0)
			return true;
	}
	return false;
}

static void check_export(const char *name, const char *cue_path, const char *json_path, int status)
{
	cr_assert_eq(status, 0, "%s: want exit 0 and the export, got exit %d\n--- stderr:\n%s\n--- stdout:\n%s",
		     name, status, quote(g.err), quote(g.out));
	char *want_text = idp_fixture_read_file(json_path, NULL);
	cr_assert_not_null(want_text, "%s: cannot read %s", name, json_path);
	own(want_text);
	const char *why = NULL;
	idp_doc_node *want = load_one(own_fmt("%s.json", name), want_text, &why);
	cr_assert_not_null(want, "%s: the expectation %s.json does not load: %s", name, name, why);
	idp_doc_node *got = load_one("idp output", g.out, &why);
	cr_assert_not_null(got, "%s: the output is not one JSON document: %s\n--- stdout:\n%s\n--- stderr:\n%s",
			   name, why, quote(g.out), quote(g.err));
	cr_expect(idp_doc_equal(got, want), "%s: the value differs from the expectation\n--- want:\n%s--- got:\n%s",
		  name, quote(want_text), quote(g.out));
	idp_buf path = IDP_BUF_INIT;
	why = NULL;
	bool same = same_tree(got, want, !order_unchecked(cue_path), &path, &why);
	idp_buf_free(&path);
	cr_expect(same, "%s: %s\n--- want:\n%s--- got:\n%s", name, why ? why : "?", quote(want_text),
		  quote(g.out));
}

static void check_error(const char *name, const char *err_path, int status)
{
	char *spec = idp_fixture_read_file(err_path, NULL);
	cr_assert_not_null(spec, "%s: cannot read %s", name, err_path);
	own(spec);
	char *nl = strchr(spec, '\n');
	cr_assert_not_null(nl, "%s.err: want two lines (positions, word)", name);
	*nl = '\0';
	char *word = nl + 1;
	word[strcspn(word, "\r\n")] = '\0';
	cr_assert(err_positions_ok(spec), "%s.err: bad first line \"%s\" (want * or LINE:COL ...)", name, spec);
	cr_assert(word[0] != '\0', "%s.err: the second line (a word of the message) is empty", name);

	cr_assert_eq(status, 2, "%s: the case must fail with exit 2, got exit %d\n--- stdout:\n%s\n--- stderr:\n%s",
		     name, status, quote(g.out), quote(g.err));
	if (strcmp(spec, "*") == 0) {
		cr_expect(has_any_position(g.err, name),
			  "%s: want a \"%s.cue:LINE:COL: message\" line on stderr, got:\n%s", name, name,
			  quote(g.err));
	} else {
		bool found = false;
		char *save = NULL, *cut = own(strdup(spec));
		for (char *tok = strtok_r(cut, " ", &save); tok && !found; tok = strtok_r(NULL, " ", &save))
			found = strstr(g.err, own_fmt("/%s.cue:%s:", name, tok)) != NULL;
		cr_expect(found, "%s: want the error at %s.cue:%s (any one of these positions), got:\n%s",
			  name, name, spec, quote(g.err));
	}
	cr_expect(strcasestr(without_file_names(g.err, name), word) != NULL,
		  "%s: want an error message containing \"%s\", got:\n%s", name, word, quote(g.err));
}

static void check_case(const char *name)
{
	const char *cue = own_fmt("%s/%s.cue", CUE_DIR, name);
	const char *json = own_fmt("%s/%s.json", CUE_DIR, name);
	const char *errf = own_fmt("%s/%s.err", CUE_DIR, name);
	bool has_json = file_exists(json), has_err = file_exists(errf);
	cr_assert(has_json != has_err, "%s: needs exactly one of %s.json and %s.err", name, name, name);

	char *argv[] = {(char *)IDP_BIN, (char *)"cue", (char *)"eval", (char *)"-o", (char *)"json",
			(char *)cue, NULL};
	int status = idp_fixture_run_timeout(argv, NULL, &g.out, &g.err, CUE_RUN_SECONDS);
	cr_assert_geq(status, 0, "%s: the fixture could not run %s", name, IDP_BIN);
	cr_assert_neq(status, 127, "%s: %s could not be executed:\n%s", name, IDP_BIN, g.err);
	cr_assert_lt(status, 128, "%s: idp was killed by signal %d (crash or timeout); stderr:\n%s", name,
		     status - 128, quote(g.err));
	cr_assert_null(strstr(g.err, "AddressSanitizer"), "%s: ASan report:\n%s", name, quote(g.err));
	cr_assert_null(strstr(g.err, "LeakSanitizer"), "%s: LSan report:\n%s", name, quote(g.err));
	cr_assert_null(strstr(g.err, "runtime error"), "%s: UBSan report:\n%s", name, quote(g.err));
	if (has_json)
		check_export(name, cue, json, status);
	else
		check_error(name, errf, status);
}

ParameterizedTestParameters(cue_conformance, cases)
{
	char **names = NULL;
	size_t n = scan(".cue", &names);
	if (n == (size_t)-1)
		n = 0;
	size_t kept = 0;
	struct cue_case *cases = n ? cr_malloc(n * sizeof *cases) : NULL;
	if (n && !cases)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) >= CUE_NAME_MAX)
			continue; /* reported by the corpus test */
		memset(&cases[kept], 0, sizeof cases[kept]);
		memcpy(cases[kept].name, names[i], strlen(names[i]));
		kept++;
	}
	names_free(names, n);
	return cr_make_param_array(struct cue_case, cases, kept, free_params);
}

ParameterizedTest(struct cue_case *c, cue_conformance, cases)
{
	check_case(c->name);
}

/* ------------------------------------------------------------ the corpus itself */

Test(cue_conformance, corpus)
{
	g.nnames = scan(".cue", &g.names);
	cr_assert_neq(g.nnames, (size_t)-1, "cannot read %s", CUE_DIR);
	cr_expect_geq(g.nnames, CUE_MIN_CASES, "%s holds %zu cases, want at least %d", CUE_DIR, g.nnames,
		      CUE_MIN_CASES);
	for (size_t i = 0; i < g.nnames; i++) {
		const char *name = g.names[i];
		cr_expect(name_ok(name, strlen(name)), "%s.cue: a case name is [a-z0-9_-]+, shorter than %d",
			  name, CUE_NAME_MAX);
		const char *json = own_fmt("%s/%s.json", CUE_DIR, name);
		const char *errf = own_fmt("%s/%s.err", CUE_DIR, name);
		bool has_json = file_exists(json), has_err = file_exists(errf);
		cr_expect(has_json != has_err, "%s: needs exactly one of %s.json and %s.err", name, name, name);
		if (has_json) {
			char *text = idp_fixture_read_file(json, NULL);
			cr_expect_not_null(text, "%s: cannot read %s", name, json);
			if (text) {
				const char *why = NULL;
				cr_expect_not_null(load_one(json, own(text), &why), "%s.json: %s", name, why);
			}
		}
		if (has_err) {
			char *text = idp_fixture_read_file(errf, NULL);
			cr_expect_not_null(text, "%s: cannot read %s", name, errf);
			if (text) {
				own(text);
				char *nl = strchr(text, '\n');
				cr_expect(nl && nl[1] != '\0' && nl[1] != '\n', "%s.err: want two lines (positions, word)", name);
				if (nl) {
					*nl = '\0';
					cr_expect(err_positions_ok(text), "%s.err: bad first line \"%s\"", name, text);
				}
			}
		}
		/* Each iteration owns up to five strings; keep the pool from filling. */
		for (size_t k = 0; k < g.nowned; k++)
			free(g.owned[k]);
		g.nowned = 0;
		idp_arena_free(g.arena);
		g.arena = NULL;
	}
	/* No expectation without its case. */
	const char *exts[] = {".json", ".err"};
	for (size_t e = 0; e < 2; e++) {
		char **orphans = NULL;
		size_t n = scan(exts[e], &orphans);
		for (size_t i = 0; i < n && n != (size_t)-1; i++) {
			char *cue = NULL;
			idp_buf b = IDP_BUF_INIT;
			idp_buf_printf(&b, "%s/%s.cue", CUE_DIR, orphans[i]);
			cue = idp_buf_detach(&b);
			cr_expect(file_exists(cue), "%s%s has no %s.cue", orphans[i], exts[e], orphans[i]);
			free(cue);
		}
		if (n != (size_t)-1)
			names_free(orphans, n);
	}
}
