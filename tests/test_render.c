/*
 * KubeVela rendering corpus (suite "render"): every case tests/render/cases/NAME
 * is rendered by the real binary,
 *
 *   IDP_BIN render -f CASE/app.yaml -d DEFS [ARGS...]
 *
 * where DEFS is CASE/defs when the case has its own definitions (the error
 * cases with a broken definition) and tests/render/defs otherwise, and ARGS
 * are the lines of CASE/args (one argument a line; an empty line is an empty
 * argument). tests/render/README.md says how the expectations were made.
 *
 *   expected.yaml  idp must exit 0 and print exactly these bytes (the
 *                  multi-document YAML, canonical as `idp fmt` prints it);
 *   expected.err   idp must exit 2; line 1 is FILE:LINE:COL (or FILE:LINE,
 *                  column not checked) with FILE relative to the case
 *                  directory, and stderr must hold a line with
 *                  "/FILE:LINE:COL:" that is not a warning (idp prints FILE
 *                  as the path it was given, so the suffix is compared);
 *                  every further line is
 *                  a word or phrase the message must contain (any case).
 *
 * One parameterized test per case (found by scanning the directory at run
 * time), so one failure hides no other; "corpus" checks that the corpus
 * itself is well formed; "schemas" validates what every expected.yaml case
 * renders with /work/shared/tools/validate-manifests (skipped when that tool
 * or node is absent).
 *
 * Criterion runs each test in its own process; everything a test allocates
 * is kept in g and released by teardown(), so a failed assertion leaks
 * nothing.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "fixture.h"

#ifndef IDP_BIN
#error "IDP_BIN must be defined by the build"
#endif
#ifndef IDP_SOURCE_ROOT
#error "IDP_SOURCE_ROOT must be defined by the build"
#endif

/* Two corpora share this runner: "render" (tests/render: KubeVela-style
 * definitions of tests/render/defs given with -d) and "catalog"
 * (tests/catalog: the catalog built into idp, no -d; its schema test also
 * renders every case with --compose inline --unwrap-objects and validates
 * with --strict-kinds). */
typedef struct corpus {
	const char *dir;   /* the corpus root */
	const char *cases; /* dir/cases */
	bool defs;         /* pass -d (CASE/defs or dir/defs) */
} corpus;

static const corpus render_corpus = {IDP_SOURCE_ROOT "/tests/render", IDP_SOURCE_ROOT "/tests/render/cases", true};
static const corpus catalog_corpus = {IDP_SOURCE_ROOT "/tests/catalog", IDP_SOURCE_ROOT "/tests/catalog/cases", false};
static const corpus *cur = &render_corpus;
#define RENDER_DIR (cur->dir)
#define CASES_DIR (cur->cases)
#ifndef VALIDATOR
#define VALIDATOR "/work/shared/tools/validate-manifests"
#endif
#define RENDER_MIN_CASES 15
#define RENDER_NAME_MAX 96
#define RENDER_MAX_ARGS 32
#define RENDER_RUN_SECONDS 60.0
/* How much of idp's output a failure message quotes. */
#define RENDER_QUOTE_MAX 6000
#define OWNED_MAX 256

/* One case, by name (NAME of tests/render/cases/NAME). Fixed-size so that
 * the parameter array is one cr_malloc block. */
struct render_case {
	char name[RENDER_NAME_MAX];
};

/* ------------------------------------------------------------ per-test state */

static struct {
	char *out, *err;        /* the last run of idp */
	char *owned[OWNED_MAX]; /* strings freed by teardown */
	size_t nowned;
	char **names; /* a scan of the cases directory */
	size_t nnames;
	char *tmpdir; /* removed by teardown */
} g;

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void free_owned(void)
{
	for (size_t i = 0; i < g.nowned; i++)
		free(g.owned[i]);
	g.nowned = 0;
}

static void free_run(void)
{
	free(g.out);
	free(g.err);
	g.out = g.err = NULL;
}

static void teardown(void)
{
	free_run();
	free_owned();
	names_free(g.names, g.nnames);
	g.names = NULL;
	g.nnames = 0;
	if (g.tmpdir) {
		idp_fixture_rmtree(g.tmpdir);
		free(g.tmpdir);
		g.tmpdir = NULL;
	}
}

TestSuite(render, .fini = teardown, .timeout = 300);

/* Registers s to be freed by teardown and returns it (never NULL). */
__attribute__((returns_nonnull)) static char *own(char *s)
{
	if (!s)
		abort();
	if (g.nowned >= OWNED_MAX) {
		free(s);
		cr_assert_fail("too many owned strings");
	}
	g.owned[g.nowned++] = s;
	return s;
}

static char *own_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *own_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *s = malloc((size_t)n + 1);
	if (!s)
		abort();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return own(s);
}

/* At most RENDER_QUOTE_MAX bytes of s, for a failure message. */
static const char *quote(const char *s)
{
	if (!s)
		return "(null)";
	size_t n = strlen(s);
	if (n <= RENDER_QUOTE_MAX)
		return s;
	return own_fmt("%.*s\n[... %zu more bytes]", RENDER_QUOTE_MAX, s, n - RENDER_QUOTE_MAX);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ------------------------------------------------------------ the corpus */

static bool name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= RENDER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return false;
	return true;
}

/* The names of the subdirectories of the cases directory, sorted;
 * malloc'ed (names_free). Returns the count, or (size_t)-1 if the directory
 * cannot be read. */
static size_t scan_cases(const corpus *c, char ***out)
{
	cur = c;
	char **names;
	size_t n, kept = 0;
	idp_err err = IDP_ERR_INIT;
	*out = NULL;
	if (idp_dir_list(CASES_DIR, &names, &n, &err)) { /* sorted, hidden entries left out */
		idp_err_clear(&err);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", CASES_DIR, names[i]);
		if (is_dir(path))
			names[kept++] = names[i];
		else
			free(names[i]);
	}
	*out = names;
	return kept;
}

static void free_params(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

/* ------------------------------------------------------------ running idp */

/* Renders case name: fills g.out and g.err, returns the exit status. The
 * arguments of CASE/args are appended. Fails the test if idp could not run,
 * crashed or reported a sanitizer error. */
static int run_case(const char *name, const char *const *extra)
{
	const char *dir = own_fmt("%s/%s", CASES_DIR, name);
	const char *defs = own_fmt("%s/defs", dir);
	if (!is_dir(defs))
		defs = own_fmt("%s/defs", RENDER_DIR);
	char *argv[8 + RENDER_MAX_ARGS];
	size_t argc = 0;
	argv[argc++] = (char *)IDP_BIN;
	argv[argc++] = (char *)"render";
	argv[argc++] = (char *)"-f";
	argv[argc++] = own_fmt("%s/app.yaml", dir);
	if (cur->defs || is_dir(own_fmt("%s/defs", dir))) {
		argv[argc++] = (char *)"-d";
		argv[argc++] = (char *)defs;
	}
	for (; extra && *extra; extra++)
		argv[argc++] = (char *)*extra;

	const char *args_path = own_fmt("%s/args", dir);
	if (file_exists(args_path)) {
		char *text = idp_fixture_read_file(args_path, NULL);
		cr_assert_not_null(text, "%s: cannot read %s", name, args_path);
		own(text);
		/* One argument a line; the last line ends with a newline. */
		for (char *line = text; *line;) {
			char *nl = strchr(line, '\n');
			cr_assert_not_null(nl, "%s/args: the last line must end with a newline", name);
			*nl = '\0';
			cr_assert_lt(argc, 8 + RENDER_MAX_ARGS - 1, "%s/args: too many arguments", name);
			argv[argc++] = line;
			line = nl + 1;
		}
	}
	argv[argc] = NULL;

	free_run();
	int status = idp_fixture_run_timeout(argv, NULL, &g.out, &g.err, RENDER_RUN_SECONDS);
	cr_assert_geq(status, 0, "%s: the fixture could not run %s", name, IDP_BIN);
	cr_assert_neq(status, 127, "%s: %s could not be executed:\n%s", name, IDP_BIN, quote(g.err));
	cr_assert_lt(status, 128, "%s: idp was killed by signal %d (crash or timeout); stderr:\n%s", name,
		     status - 128, quote(g.err));
	cr_assert_null(strstr(g.err, "AddressSanitizer"), "%s: ASan report:\n%s", name, quote(g.err));
	cr_assert_null(strstr(g.err, "LeakSanitizer"), "%s: LSan report:\n%s", name, quote(g.err));
	cr_assert_null(strstr(g.err, "runtime error"), "%s: UBSan report:\n%s", name, quote(g.err));
	return status;
}

/* ------------------------------------------------------------ one case */

/* Where got and want first differ, as "line N: want ... / got ..." (owned),
 * or NULL when they are equal. */
static const char *first_difference(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return NULL;
	size_t line = 1;
	const char *g0 = got, *w0 = want;
	while (*got && *got == *want) {
		if (*got == '\n') {
			line++;
			g0 = got + 1;
			w0 = want + 1;
		}
		got++;
		want++;
	}
	int glen = (int)strcspn(g0, "\n"), wlen = (int)strcspn(w0, "\n");
	const char *gl = *g0 || *got ? own_fmt("\"%.*s\"", glen, g0) : "(end of output)";
	const char *wl = *w0 || *want ? own_fmt("\"%.*s\"", wlen, w0) : "(end of expectation)";
	return own_fmt("first difference at line %zu:\n-%s\n+%s", line, wl, gl);
}

static void check_output(const char *name, const char *expected_path, int status)
{
	cr_assert_eq(status, 0, "%s: want exit 0 and the documents, got exit %d\n--- stderr:\n%s\n--- stdout:\n%s",
		     name, status, quote(g.err), quote(g.out));
	char *want = idp_fixture_read_file(expected_path, NULL);
	cr_assert_not_null(want, "%s: cannot read %s", name, expected_path);
	own(want);
	const char *diff = first_difference(g.out, want);
	cr_expect_null(diff, "%s: the output differs from expected.yaml (- want, + got), %s\n--- want:\n%s--- got:\n%s--- stderr:\n%s",
		       name, diff ? diff : "", quote(want), quote(g.out), quote(g.err));
}

/* Parses line 1 of an expected.err: FILE:LINE:COL or FILE:LINE. Stores the
 * parts; *col is 0 when absent. */
static bool parse_position(char *spec, const char **file, unsigned *line, unsigned *col)
{
	/* FILE may hold no ':'; LINE and COL are the numeric tails. */
	char *c1 = strchr(spec, ':');
	if (!c1 || c1 == spec)
		return false;
	*c1 = '\0';
	*file = spec;
	int used = 0;
	*col = 0;
	if (sscanf(c1 + 1, "%u%n", line, &used) != 1 || *line == 0)
		return false;
	const char *rest = c1 + 1 + used;
	if (*rest == '\0')
		return true;
	if (*rest != ':' || sscanf(rest + 1, "%u%n", col, &used) != 1 || *col == 0)
		return false;
	return rest[1 + used] == '\0';
}

/* True when the text from the start of p's line up to p says "warning" (a
 * warning is not the error). */
static bool in_warning(const char *text, const char *p)
{
	const char *start = p;
	while (start > text && start[-1] != '\n')
		start--;
	for (const char *q = start; q + 7 <= p; q++)
		if (strncasecmp(q, "warning", 7) == 0)
			return true;
	return false;
}

/* True when some error line of err (not a warning) holds the position
 * "/FILE:LINE:COL:" (or "/FILE:LINE:DIGITS:" when col is 0). */
static bool has_position(const char *err, const char *file, unsigned line, unsigned col)
{
	const char *needle = col ? own_fmt("/%s:%u:%u:", file, line, col) : own_fmt("/%s:%u:", file, line);
	for (const char *p = strstr(err, needle); p; p = strstr(p + 1, needle)) {
		if (in_warning(err, p))
			continue;
		if (col)
			return true;
		const char *q = p + strlen(needle);
		if (!isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ':')
			return true;
	}
	return false;
}

static void check_error(const char *name, const char *err_path, int status)
{
	char *spec = idp_fixture_read_file(err_path, NULL);
	cr_assert_not_null(spec, "%s: cannot read %s", name, err_path);
	own(spec);
	char *nl = strchr(spec, '\n');
	cr_assert_not_null(nl, "%s/expected.err: want a position line and at least one word line", name);
	*nl = '\0';
	const char *file = NULL;
	unsigned line = 0, col = 0;
	char *pos = own(strdup(spec));
	cr_assert(parse_position(pos, &file, &line, &col),
		  "%s/expected.err: bad first line \"%s\" (want FILE:LINE:COL or FILE:LINE)", name, spec);

	cr_assert_eq(status, 2, "%s: the case must fail with exit 2, got exit %d\n--- stdout:\n%s\n--- stderr:\n%s",
		     name, status, quote(g.out), quote(g.err));
	cr_expect(has_position(g.err, file, line, col),
		  "%s: want an error at %s (a \".../%s:LINE:COL: ...\" error line on stderr, not a warning), got:\n%s", name, spec,
		  file, quote(g.err));
	size_t nwords = 0;
	for (char *w = nl + 1; *w;) {
		char *end = strchr(w, '\n');
		if (end)
			*end = '\0';
		if (*w) {
			nwords++;
			cr_expect_not_null(strcasestr(g.err, w), "%s: want an error message containing \"%s\", got:\n%s",
					   name, w, quote(g.err));
		}
		if (!end)
			break;
		w = end + 1;
	}
	cr_expect_gt(nwords, 0, "%s/expected.err: no word line", name);
}

static void check_case(const char *name)
{
	const char *dir = own_fmt("%s/%s", CASES_DIR, name);
	const char *yaml = own_fmt("%s/expected.yaml", dir);
	const char *errf = own_fmt("%s/expected.err", dir);
	bool has_yaml = file_exists(yaml), has_err = file_exists(errf);
	cr_assert(has_yaml != has_err, "%s: needs exactly one of expected.yaml and expected.err", name);
	int status = run_case(name, NULL);
	if (has_yaml)
		check_output(name, yaml, status);
	else
		check_error(name, errf, status);
}

static struct criterion_test_params case_params(const corpus *c)
{
	char **names = NULL;
	size_t n = scan_cases(c, &names);
	if (n == (size_t)-1)
		n = 0;
	size_t kept = 0;
	struct render_case *cases = n ? cr_malloc(n * sizeof *cases) : NULL;
	if (n && !cases)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) >= RENDER_NAME_MAX)
			continue; /* reported by the corpus test */
		memset(&cases[kept], 0, sizeof cases[kept]);
		memcpy(cases[kept].name, names[i], strlen(names[i]));
		kept++;
	}
	names_free(names, n);
	return cr_make_param_array(struct render_case, cases, kept, free_params);
}

ParameterizedTestParameters(render, cases)
{
	return case_params(&render_corpus);
}

ParameterizedTest(struct render_case *c, render, cases)
{
	cur = &render_corpus;
	check_case(c->name);
}

ParameterizedTestParameters(catalog, cases)
{
	return case_params(&catalog_corpus);
}

ParameterizedTest(struct render_case *c, catalog, cases)
{
	cur = &catalog_corpus;
	check_case(c->name);
}

/* ------------------------------------------------------------ the corpus itself */

static void check_corpus(const corpus *c)
{
	g.nnames = scan_cases(c, &g.names);
	cr_assert_neq(g.nnames, (size_t)-1, "cannot read %s", CASES_DIR);
	cr_expect_geq(g.nnames, RENDER_MIN_CASES, "%s holds %zu cases, want at least %d", CASES_DIR, g.nnames,
		      RENDER_MIN_CASES);
	if (cur->defs)
		cr_expect(is_dir(own_fmt("%s/defs", RENDER_DIR)), "%s/defs is missing", RENDER_DIR);
	for (size_t i = 0; i < g.nnames; i++) {
		const char *name = g.names[i];
		cr_expect(name_ok(name), "%s: a case name is [a-z0-9_-]+, shorter than %d", name, RENDER_NAME_MAX);
		const char *dir = own_fmt("%s/%s", CASES_DIR, name);
		cr_expect(file_exists(own_fmt("%s/app.yaml", dir)), "%s: app.yaml is missing", name);
		const char *yaml = own_fmt("%s/expected.yaml", dir);
		const char *errf = own_fmt("%s/expected.err", dir);
		bool has_yaml = file_exists(yaml), has_err = file_exists(errf);
		cr_expect(has_yaml != has_err, "%s: needs exactly one of expected.yaml and expected.err", name);
		if (has_err) {
			char *text = idp_fixture_read_file(errf, NULL);
			cr_expect_not_null(text, "%s: cannot read %s", name, errf);
			if (text) {
				own(text);
				char *nl = strchr(text, '\n');
				cr_expect(nl && nl[1] != '\0' && nl[1] != '\n',
					  "%s/expected.err: want a position line and a word line", name);
				if (nl) {
					*nl = '\0';
					const char *file = NULL;
					unsigned line = 0, col = 0;
					cr_expect(parse_position(text, &file, &line, &col),
						  "%s/expected.err: bad first line (want FILE:LINE:COL or FILE:LINE)", name);
				}
			}
		}
		if (has_yaml) {
			size_t len = 0;
			char *text = idp_fixture_read_file(yaml, &len);
			cr_expect_not_null(text, "%s: cannot read %s", name, yaml);
			if (text) {
				own(text);
				cr_expect(len > 0 && text[len - 1] == '\n', "%s/expected.yaml: empty or no final newline",
					  name);
			}
		}
		/* Each iteration owns a few strings; keep the pool from filling. */
		free_owned();
	}
}

/* ------------------------------------------------------------ schemas */

/* Renders every expected.yaml case into a temporary directory (CASE.yaml)
 * and runs validate-manifests over it: each rendered object must pass the
 * published schema of its kind (a kind without a schema is SKIPped by the
 * tool and does not fail). */
static void check_schemas(const corpus *c, const char *const *extra, bool strict)
{
	if (!idp_fixture_have_program(VALIDATOR))
		cr_skip_test("SKIP: %s absent", VALIDATOR);
	if (!idp_fixture_have_program("node"))
		cr_skip_test("SKIP: node absent (needed by %s)", VALIDATOR);
	g.nnames = scan_cases(c, &g.names);
	cr_assert_neq(g.nnames, (size_t)-1, "cannot read %s", CASES_DIR);
	g.tmpdir = idp_fixture_tmpdir();
	cr_assert_not_null(g.tmpdir, "cannot make a temporary directory");
	size_t written = 0;
	for (size_t i = 0; i < g.nnames; i++) {
		const char *name = g.names[i];
		if (!file_exists(own_fmt("%s/%s/expected.yaml", CASES_DIR, name))) {
			free_owned();
			continue;
		}
		int status = run_case(name, extra);
		cr_expect_eq(status, 0, "%s: idp render failed (exit %d), not validated:\n%s", name, status,
			     quote(g.err));
		if (status == 0 && g.out[0]) {
			char *path = idp_fixture_write_file(g.tmpdir, own_fmt("%s.yaml", name), g.out, strlen(g.out));
			cr_assert_not_null(path, "%s: cannot write the rendered output", name);
			free(path);
			written++;
		}
		free_run();
		free_owned();
	}
	cr_assert_gt(written, 0, "nothing rendered, nothing to validate");
	char *argv[] = {(char *)VALIDATOR, strict ? (char *)"--strict-kinds" : g.tmpdir, g.tmpdir, NULL};
	if (!strict)
		argv[2] = NULL;
	int status = idp_fixture_run_timeout(argv, NULL, &g.out, &g.err, 120.0);
	cr_expect_eq(status, 0, "validate-manifests failed (exit %d) on the rendered objects:\n%s%s", status,
		     quote(g.out), quote(g.err));
}

Test(render, corpus)
{
	check_corpus(&render_corpus);
}

Test(render, schemas)
{
	check_schemas(&render_corpus, NULL, false);
}

TestSuite(catalog, .fini = teardown, .timeout = 300);

Test(catalog, corpus)
{
	check_corpus(&catalog_corpus);
}

/* What the catalog cases render, claims kept, passes the schemas (claims
 * have none: they are checked against their XRD by idp itself). */
Test(catalog, schemas)
{
	check_schemas(&catalog_corpus, NULL, false);
}

/* Composed all the way down, every object is a kind with a published
 * schema, and passes it. */
Test(catalog, schemas_inline)
{
	static const char *const inline_args[] = {"--compose", "inline", "--unwrap-objects", NULL};
	check_schemas(&catalog_corpus, inline_args, true);
}

/* A parameter whose constraint depends on another one (framework follows
 * language) is shown by its own declaration, not as _|_, and is not
 * required: its value follows from the other. */
Test(render, def_show_describes_a_dependent_parameter_by_its_declaration)
{
	char *out = NULL, *err = NULL;
	char *argv[] = {IDP_BIN, "def", "show", "application-infrastructure", NULL};
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_expect(strstr(out, "- name: framework\n  type: '\"fastapi\" | \"springboot\" | \"express\" | \"gin\" | "
			      "\"idp-sdk\"'\n  required: false\n") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "_|_") == NULL, "%s", out);
	free(out);
	free(err);
}

/* idp def show: parameters with type, default, required and +usage. */
Test(render, def_show_lists_parameters_with_usage)
{
	char *out = NULL, *err = NULL;
	char *argv[] = {IDP_BIN, "def", "show", "scaler", "-d", IDP_SOURCE_ROOT "/tests/render/defs", NULL};
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_expect(strstr(out, "name: scaler\nkind: trait\n") != NULL, "%s", out);
	cr_expect(strstr(out, "- name: replicas\n  default: 1\n  type: '*1 | int & >=0'\n  required: false\n  usage: Number of pods\n") != NULL,
		  "%s", out);
	free(out);
	free(err);
	char *argv2[] = {IDP_BIN, "def", "show", "no-such", "-d", IDP_SOURCE_ROOT "/tests/render/defs", NULL};
	rc = idp_fixture_run(argv2, NULL, &out, &err);
	cr_expect_eq(rc, 2, "an unknown definition is bad input");
	free(out);
	free(err);
}
