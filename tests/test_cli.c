/*
 * End-to-end tests of the idp command line (suite "cli"): every test runs the
 * real binary IDP_BIN through idp_fixture_run on files written into a fresh
 * temporary directory. Also the test of the fixture itself (suite
 * "fixture"), proven on a real daemon (python3 -m http.server).
 *
 * Every run of idp is checked for a crash (status >= 128 means a signal) and
 * for sanitizer reports on stderr, whatever the test is about.
 *
 * Criterion runs each test in its own process; everything a test allocates
 * is tracked in the globals below and released by teardown(), so a failed
 * assertion leaks nothing either.
 */
#include <criterion/criterion.h>
#include "base/base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#ifndef IDP_BIN
#error "IDP_BIN must be defined by the build"
#endif

/* ------------------------------------------------------------ per-test state */

static char *g_dir;                 /* this test's temporary directory */
static idp_fixture_daemon *g_daemon; /* the daemon a fixture test started */
static struct {
	int status;
	char *out;
	char *err;
} g_run = {-1, NULL, NULL};          /* the last run of a program */
static char *g_owned[64];           /* strings freed by teardown */
static size_t g_nowned;

/* Registers s to be freed by teardown and returns it (never NULL). */
__attribute__((returns_nonnull)) static char *own(char *s)
{
	if (!s)
		abort();
	cr_assert_lt(g_nowned, sizeof g_owned / sizeof g_owned[0], "too many owned strings");
	g_owned[g_nowned++] = s;
	return s;
}

/* An owned, formatted string. */
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

static void run_clear(void)
{
	free(g_run.out);
	free(g_run.err);
	g_run.out = g_run.err = NULL;
	g_run.status = -1;
}

static void setup(void)
{
	g_dir = idp_fixture_tmpdir();
	cr_assert_not_null(g_dir, "cannot create a temporary directory");
}

static void teardown(void)
{
	idp_fixture_daemon_stop(g_daemon);
	g_daemon = NULL;
	run_clear();
	for (size_t i = 0; i < g_nowned; i++)
		free(g_owned[i]);
	g_nowned = 0;
	if (g_dir) {
		idp_fixture_rmtree(g_dir);
		free(g_dir);
		g_dir = NULL;
	}
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(fixture, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------ helpers */

/* Writes text to g_dir/name and returns the full path (owned by teardown). */
static const char *put(const char *name, const char *text)
{
	char *p = idp_fixture_write_file(g_dir, name, text, strlen(text));
	cr_assert_not_null(p, "cannot write %s", name);
	return own(p);
}

/* The file's content (owned by teardown). */
static const char *slurp(const char *path)
{
	char *s = idp_fixture_read_file(path, NULL);
	cr_assert_not_null(s, "cannot read %s", path);
	return own(s);
}

/* Runs IDP_BIN with the NULL-terminated arguments that follow, stdin_data on
 * its standard input (NULL: /dev/null), at most timeout_s seconds. Stores the
 * result in g_run, asserts that the binary neither crashed nor reported a
 * sanitizer error, and returns its exit status. */
static int idp_run_v(double timeout_s, const char *stdin_data, va_list ap)
{
	char *argv[32];
	size_t n = 0;
	argv[n++] = (char *)IDP_BIN;
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
		cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1, "too many arguments");
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;

	run_clear();
	g_run.status = idp_fixture_run_timeout(argv, stdin_data, &g_run.out, &g_run.err, timeout_s);
	cr_assert_geq(g_run.status, 0, "the fixture could not run %s", IDP_BIN);
	cr_assert_neq(g_run.status, 127, "%s could not be executed:\n%s", IDP_BIN, g_run.err);
	cr_assert_lt(g_run.status, 128, "idp was killed by signal %d (crash or timeout); stderr:\n%s",
			g_run.status - 128, g_run.err);
	cr_assert_null(strstr(g_run.err, "AddressSanitizer"), "ASan report:\n%s", g_run.err);
	cr_assert_null(strstr(g_run.err, "LeakSanitizer"), "LSan report:\n%s", g_run.err);
	cr_assert_null(strstr(g_run.err, "runtime error"), "UBSan report:\n%s", g_run.err);
	return g_run.status;
}

static int idp_run(double timeout_s, const char *stdin_data, ...)
{
	va_list ap;
	va_start(ap, stdin_data);
	int st = idp_run_v(timeout_s, stdin_data, ap);
	va_end(ap);
	return st;
}

/* IDP("validate", "-f", path) runs idp with those arguments and no stdin. */
#define IDP(...) idp_run(60.0, NULL, __VA_ARGS__, (const char *)NULL)
/* IDP_IN(text, args...) runs it with text on stdin. */
#define IDP_IN(text, ...) idp_run(60.0, (text), __VA_ARGS__, (const char *)NULL)

/* Asserts the exit status of the last run, showing its output otherwise. */
#define EXPECT_STATUS(want)                                                        \
	cr_assert_eq(g_run.status, (want), "exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", \
			g_run.status, (want), g_run.out, g_run.err)

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* Number of lines of s that hold something besides white space. */
static size_t count_lines(const char *s)
{
	size_t n = 0;
	bool text = false;
	for (; *s; s++) {
		if (*s == '\n') {
			n += text;
			text = false;
		} else if (*s != ' ' && *s != '\t' && *s != '\r') {
			text = true;
		}
	}
	return n + text;
}

/* One diagnostic line "FILE:LINE:COL: TEXT" (TEXT is "PATH: MESSAGE" or
 * "MESSAGE"). A line that does not have this shape has line == 0. */
typedef struct diag {
	char file[1024];
	unsigned line, col;
	char text[2048];
} diag;

/* Parses one line (without its newline) into d. The file name is everything
 * before the first ":<digits>:<digits>: ". */
static void parse_diag(const char *s, size_t n, diag *d)
{
	memset(d, 0, sizeof *d);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ':')
			continue;
		size_t j = i + 1;
		unsigned line = 0, col = 0;
		size_t k = j;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			line = line * 10 + (unsigned)(s[k++] - '0');
		if (k == j || k >= n || s[k] != ':')
			continue;
		size_t m = ++k;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			col = col * 10 + (unsigned)(s[k++] - '0');
		if (k == m || k + 1 >= n || s[k] != ':' || s[k + 1] != ' ')
			continue;
		size_t fl = i < sizeof d->file ? i : sizeof d->file - 1;
		memcpy(d->file, s, fl);
		d->line = line;
		d->col = col;
		size_t tl = n - (k + 2);
		if (tl >= sizeof d->text)
			tl = sizeof d->text - 1;
		memcpy(d->text, s + k + 2, tl);
		return;
	}
	size_t tl = n < sizeof d->text ? n : sizeof d->text - 1;
	memcpy(d->text, s, tl);
}

/* True for a summary line such as "2 problems found": idp may close its
 * diagnostics with one; it is not a problem line and is not counted. */
static bool is_summary(const char *s, size_t n)
{
	if (n == 0 || s[0] < '0' || s[0] > '9')
		return false;
	for (size_t i = 0; i + 7 <= n; i++)
		if (strncmp(s + i, "problem", 7) == 0)
			return true;
	return false;
}

/* Parses the non-empty lines of err, except a summary line (is_summary), into
 * d[0..max); returns how many lines there were (possibly more than max). */
static size_t parse_diags(const char *err, diag *d, size_t max)
{
	size_t count = 0;
	const char *s = err;
	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		bool blank = true;
		for (size_t i = 0; i < n; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
				blank = false;
		if (!blank && !is_summary(s, n)) {
			if (count < max)
				parse_diag(s, n, &d[count]);
			count++;
		}
		s += n + (e != NULL);
	}
	return count;
}

/* Asserts that stderr of the last run holds exactly one diagnostic, for file,
 * at line and a column in [col_lo, col_hi]; that its text starts with
 * "PATH: " when path is not NULL; and that it contains needle (ignoring
 * case) when needle is not NULL. Returns the text (borrowed, static). */
static const char *expect_one_diag(const char *file, unsigned line, unsigned col_lo,
		unsigned col_hi, const char *path, const char *needle)
{
	static diag d[4];
	size_t n = parse_diags(g_run.err, d, 4);
	cr_assert_eq(n, 1, "want exactly one line on stderr, got %zu:\n%s", n, g_run.err);
	cr_assert_neq(d[0].line, 0, "not a FILE:LINE:COL: diagnostic:\n%s", g_run.err);
	cr_assert_str_eq(d[0].file, file, "wrong file in:\n%s", g_run.err);
	cr_assert_eq(d[0].line, line, "line %u, want %u:\n%s", d[0].line, line, g_run.err);
	cr_assert(d[0].col >= col_lo && d[0].col <= col_hi, "column %u, want %u..%u:\n%s",
			d[0].col, col_lo, col_hi, g_run.err);
	if (path) {
		size_t pl = strlen(path);
		cr_assert(strncmp(d[0].text, path, pl) == 0 && strncmp(d[0].text + pl, ": ", 2) == 0,
				"want field path \"%s: \" after the position:\n%s", path, g_run.err);
	}
	if (needle)
		cr_assert(contains_nocase(d[0].text, needle), "message does not mention \"%s\":\n%s",
				needle, g_run.err);
	return d[0].text;
}

/* True when some diagnostic in d[0..n) is at file:line:col with field path. */
static bool has_diag(const diag *d, size_t n, const char *file, unsigned line, unsigned col,
		const char *path)
{
	size_t pl = path ? strlen(path) : 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(d[i].file, file) != 0 || d[i].line != line || d[i].col != col)
			continue;
		if (!path || (strncmp(d[i].text, path, pl) == 0 && strncmp(d[i].text + pl, ": ", 2) == 0))
			return true;
	}
	return false;
}

/* Names in directory dir, sorted, joined with '\n' (owned by teardown). */
static const char *list_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
	size_t cap = 1;
	for (int i = 0; i < n; i++)
		cap += strlen(ents[i]->d_name) + 1;
	char *s = own(malloc(cap));
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0) {
			strcat(s, ents[i]->d_name);
			strcat(s, "\n");
		}
		free(ents[i]);
	}
	free(ents);
	return s;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ cli: usage */

Test(cli, help_lists_verbs)
{
	const char *forms[][2] = {{"--help", NULL}, {"help", NULL}};
	for (size_t i = 0; i < 2; i++) {
		IDP(forms[i][0]);
		EXPECT_STATUS(0);
		const char *verbs[] = {"validate", "fmt", "version", "examples"};
		for (size_t v = 0; v < 4; v++)
			cr_expect(contains(g_run.out, verbs[v]), "`idp %s` does not list %s on stdout:\n%s",
					forms[i][0], verbs[v], g_run.out);
	}
}

Test(cli, verb_help)
{
	IDP("validate", "--help");
	EXPECT_STATUS(0);
	cr_expect(contains(g_run.out, "validate"), "stdout:\n%s", g_run.out);
	cr_expect(contains(g_run.out, "-f"), "validate usage does not mention -f:\n%s", g_run.out);
}

Test(cli, no_arguments_prints_usage_and_exits_2)
{
	idp_run(60.0, NULL, (const char *)NULL);
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.out, "validate") || contains(g_run.err, "validate"),
			"no usage printed:\nstdout:\n%s\nstderr:\n%s", g_run.out, g_run.err);
	cr_expect(contains(g_run.out, "fmt") || contains(g_run.err, "fmt"),
			"usage does not list fmt:\nstdout:\n%s\nstderr:\n%s", g_run.out, g_run.err);
}

Test(cli, unknown_verb)
{
	IDP("nosuchverb");
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "unknown command"), "stderr:\n%s", g_run.err);
}

Test(cli, usage_errors_exit_2)
{
	const char *f = put("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n");
	IDP("validate");
	EXPECT_STATUS(2);
	IDP("validate", "-f");
	EXPECT_STATUS(2);
	IDP("validate", "--no-such-flag", "-f", f);
	EXPECT_STATUS(2);
	IDP("fmt", "-f", f, "-o", "xml");
	EXPECT_STATUS(2);
}

/* Arguments a verb does not take are usage errors too (exit 2), not ignored. */
Test(cli, extra_arguments_are_usage_errors)
{
	IDP("version", "--bogus");
	cr_expect_eq(g_run.status, 2, "`idp version --bogus` exited %d, want 2", g_run.status);
	IDP("examples", "extra");
	cr_expect_eq(g_run.status, 2, "`idp examples extra` exited %d, want 2", g_run.status);
}

Test(cli, version)
{
	IDP("version");
	EXPECT_STATUS(0);
	cr_expect(strncmp(g_run.out, "idp ", 4) == 0, "stdout:\n%s", g_run.out);
	cr_expect(contains(g_run.out, "commit"), "stdout:\n%s", g_run.out);
}

/* ------------------------------------------------------------ cli: validate, one error each */

/* (a) libyaml: "mapping values are not allowed in this context" at the second
 * colon of line 8 (column 17; libyaml may be a character off). */
Test(cli, validate_syntax_error)
{
	const char *f = put("syntax.yaml",
			"apiVersion: v1\n"          /* 1 */
			"kind: Pod\n"               /* 2 */
			"metadata:\n"               /* 3 */
			"  name: web\n"             /* 4 */
			"spec:\n"                   /* 5 */
			"  containers:\n"           /* 6 */
			"  - name: web\n"           /* 7 */
			"    image: nginx: alpine\n"); /* 8: second ':' at column 17 */
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	expect_one_diag(f, 8, 16, 18, NULL, "mapping values");
}

/* (b) the second `name:` in metadata, line 5 column 3. */
Test(cli, validate_duplicate_key)
{
	const char *f = put("dup.yaml",
			"apiVersion: v1\n"  /* 1 */
			"kind: ConfigMap\n" /* 2 */
			"metadata:\n"       /* 3 */
			"  name: a\n"       /* 4 */
			"  name: a\n"       /* 5 */
			"data: {}\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	expect_one_diag(f, 5, 3, 3, NULL, "duplicate key");
}

/* (c) no metadata.name: reported with path metadata.name at the position of
 * metadata's value, the mapping whose first key is at line 4 column 3; the
 * position of the `metadata` key itself (line 3 column 1) is accepted too. */
Test(cli, validate_missing_name)
{
	const char *f = put("noname.yaml",
			"apiVersion: v1\n"        /* 1 */
			"kind: ConfigMap\n"       /* 2 */
			"metadata:\n"             /* 3 */
			"  namespace: default\n"  /* 4 */
			"data:\n"                 /* 5 */
			"  k: v\n");              /* 6 */
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	diag d[4];
	size_t n = parse_diags(g_run.err, d, 4);
	cr_assert_eq(n, 1, "want exactly one line on stderr, got %zu:\n%s", n, g_run.err);
	cr_assert_str_eq(d[0].file, f, "stderr:\n%s", g_run.err);
	cr_assert(has_diag(d, 1, f, 4, 3, "metadata.name") || has_diag(d, 1, f, 3, 1, "metadata.name"),
			"want %s:4:3: metadata.name: ... (or :3:1:), got:\n%s", f, g_run.err);
}

/* (d) `My_App` is not a DNS-1123 subdomain: line 4 column 9. */
Test(cli, validate_invalid_name)
{
	const char *f = put("badname.yaml",
			"apiVersion: apps/v1\n" /* 1 */
			"kind: Deployment\n"    /* 2 */
			"metadata:\n"           /* 3 */
			"  name: My_App\n"      /* 4: value at column 9 */
			"spec:\n"
			"  replicas: 1\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	expect_one_diag(f, 4, 9, 9, "metadata.name", "My_App");
}

/* (e) a 0xff byte at line 6 column 10. */
Test(cli, validate_invalid_utf8)
{
	const char *f = put("utf8.yaml",
			"apiVersion: v1\n"      /* 1 */
			"kind: ConfigMap\n"     /* 2 */
			"metadata:\n"           /* 3 */
			"  name: cfg\n"         /* 4 */
			"data:\n"               /* 5 */
			"  key: ab\xff" "cd\n"); /* 6: 0xff at column 10 */
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	expect_one_diag(f, 6, 10, 10, NULL, "UTF-8");
}

/* (f) billion laughs: nine levels of ten aliases (lines 5..13). */
Test(cli, validate_alias_bomb, .timeout = 60)
{
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof text,
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n"
			"lol1: &lol1 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (int level = 2; level <= 9; level++) {
		n += (size_t)snprintf(text + n, sizeof text - n, "lol%d: &lol%d [", level, level);
		for (int i = 0; i < 10; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s*lol%d", i ? "," : "", level - 1);
		n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
	}
	cr_assert_lt(n, sizeof text);
	const char *f = put("bomb.yaml", text);

	double t0 = now_s();
	idp_run(20.0, NULL, "validate", "-f", f, (const char *)NULL);
	double took = now_s() - t0;
	EXPECT_STATUS(2);
	cr_expect_lt(took, 5.0, "validate took %.2f s on the alias bomb", took);
	diag d[4];
	size_t nd = parse_diags(g_run.err, d, 4);
	cr_assert_eq(nd, 1, "want exactly one line on stderr, got %zu:\n%s", nd, g_run.err);
	cr_assert_str_eq(d[0].file, f, "stderr:\n%s", g_run.err);
	cr_assert(d[0].line >= 5 && d[0].line <= 13 && d[0].col >= 1,
			"want a position inside the aliases (lines 5-13):\n%s", g_run.err);
	cr_assert(contains_nocase(d[0].text, "alias"), "message does not mention aliases:\n%s", g_run.err);
}

/* fmt must refuse the bomb just as fast (it would have to expand it). */
Test(cli, fmt_alias_bomb, .timeout = 60)
{
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof text, "a: &a [x,x,x,x,x,x,x,x,x,x]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		n += (size_t)snprintf(text + n, sizeof text - n, "%c: &%c [", c, c);
		for (int i = 0; i < 10; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s*%c", i ? "," : "", c - 1);
		n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
	}
	const char *f = put("bomb.yaml", text);
	double t0 = now_s();
	idp_run(20.0, NULL, "fmt", "-f", f, (const char *)NULL);
	double took = now_s() - t0;
	EXPECT_STATUS(2);
	cr_expect_lt(took, 5.0, "fmt took %.2f s on the alias bomb", took);
	cr_expect_str_empty(g_run.out, "fmt printed output for a rejected file");
	cr_expect(contains_nocase(g_run.err, "alias"), "stderr:\n%s", g_run.err);
}

/* ------------------------------------------------------------ cli: validate, more */

Test(cli, validate_several_problems_in_one_file)
{
	const char *f = put("many.yaml",
			"apiVersion: v1\n"          /* 1 */
			"kind: ConfigMap\n"         /* 2 */
			"metadata:\n"               /* 3 */
			"  name: Bad_Name\n"        /* 4: 4:9 metadata.name */
			"  namespace: Bad_NS\n"     /* 5: 5:14 metadata.namespace */
			"---\n"                     /* 6 */
			"apiVersion: v1\n"          /* 7 */
			"kind: Namespace\n"         /* 8 */
			"metadata:\n"               /* 9 */
			"  name: a.b\n"             /* 10: 10:9 a subdomain, not a label */
			"---\n"                     /* 11 */
			"apiVersion: v1\n"          /* 12 */
			"kind: Service\n"           /* 13 */
			"metadata:\n"               /* 14 */
			"  name: 1svc\n"            /* 15: 15:9 a DNS-1123 label, not DNS-1035 */
			"---\n"                     /* 16 */
			"apiVersion: rbac.authorization.k8s.io/v1\n" /* 17 */
			"kind: Role\n"              /* 18 */
			"metadata:\n"               /* 19 */
			"  name: a/b\n"             /* 20: 20:9 no '/' in a path segment */
			"  namespace: ok\n");       /* 21 */
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	diag d[16];
	size_t n = parse_diags(g_run.err, d, 16);
	cr_expect_eq(n, 5, "want 5 lines on stderr, got %zu:\n%s", n, g_run.err);
	if (n > 16)
		n = 16;
	cr_expect(has_diag(d, n, f, 4, 9, "metadata.name"), "missing %s:4:9: metadata.name:\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 5, 14, "metadata.namespace"), "missing %s:5:14: metadata.namespace:\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 10, 9, "metadata.name"), "missing %s:10:9: (Namespace a.b):\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 15, 9, "metadata.name"), "missing %s:15:9: (Service 1svc):\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 20, 9, "metadata.name"), "missing %s:20:9: (Role a/b):\n%s", f, g_run.err);
}

/* Names that are valid for their kind although another kind's rule would
 * reject them. */
Test(cli, validate_name_rules_per_kind)
{
	const char *f = put("kinds.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings.v1-a\n"
			"---\n"
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"
			"---\n"
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: web-1\n  namespace: team-a\n"
			"---\n"
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\n  namespace: team-a\n"
			"---\n"
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
			"metadata:\n  name: system:Leader_Election\n  namespace: team-a\n"
			"---\n"
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
			"metadata:\n  name: Admin:Binding.x\n");
	IDP("validate", "-f", f);
	/* only `1web` (a Service must be a DNS-1035 label) is wrong */
	EXPECT_STATUS(2);
	expect_one_diag(f, 20, 9, 9, "metadata.name", "1web");
}

Test(cli, validate_missing_kind_and_wrong_apiversion_type)
{
	const char *f = put("kind.yaml",
			"apiVersion: 1\n"        /* 1: an int, value at column 13 */
			"kind: ConfigMap\n"
			"metadata:\n"
			"  name: a\n"
			"---\n"
			"apiVersion: v1\n"       /* 6 */
			"metadata:\n"
			"  name: b\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	diag d[8];
	size_t n = parse_diags(g_run.err, d, 8);
	cr_expect_eq(n, 2, "want 2 lines on stderr, got %zu:\n%s", n, g_run.err);
	if (n > 8)
		n = 8;
	cr_expect(has_diag(d, n, f, 1, 13, "apiVersion"), "want %s:1:13: apiVersion: ...:\n%s", f, g_run.err);
	bool kind = false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].file, f) == 0 && d[i].line >= 6 && strncmp(d[i].text, "kind: ", 6) == 0)
			kind = true;
	cr_expect(kind, "want a `kind: ...` problem in the second document:\n%s", g_run.err);
}

Test(cli, validate_wrong_types)
{
	const char *f = put("types.yaml",
			"apiVersion: v1\n"        /* 1 */
			"kind: ConfigMap\n"       /* 2 */
			"metadata:\n"             /* 3 */
			"  name: 123\n"           /* 4: an int at 4:9 */
			"---\n"                   /* 5 */
			"apiVersion: v1\n"        /* 6 */
			"kind: ConfigMap\n"       /* 7 */
			"metadata: foo\n"         /* 8: a string at 8:11 */
			"---\n"                   /* 9 */
			"- a\n"                   /* 10: a list at 10:1 */
			"- b\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	diag d[8];
	size_t n = parse_diags(g_run.err, d, 8);
	cr_expect_eq(n, 3, "want 3 lines on stderr, got %zu:\n%s", n, g_run.err);
	if (n > 8)
		n = 8;
	cr_expect(has_diag(d, n, f, 4, 9, "metadata.name"), "missing %s:4:9: metadata.name:\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 8, 11, "metadata"), "missing %s:8:11: metadata:\n%s", f, g_run.err);
	cr_expect(has_diag(d, n, f, 10, 1, NULL), "missing %s:10:1:\n%s", f, g_run.err);
}

/* A file that does not parse does not stop the check of the next one. */
Test(cli, validate_continues_after_a_bad_file)
{
	const char *bad = put("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  x: a: b\n");
	const char *name = put("name.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: My_App\n");
	IDP("validate", "-f", bad, "-f", name);
	EXPECT_STATUS(2);
	diag d[8];
	size_t n = parse_diags(g_run.err, d, 8);
	cr_expect_eq(n, 2, "want 2 lines on stderr, got %zu:\n%s", n, g_run.err);
	if (n > 8)
		n = 8;
	cr_expect(has_diag(d, n, bad, 6, 7, NULL), "missing %s:6:7:\n%s", bad, g_run.err);
	cr_expect(has_diag(d, n, name, 4, 9, "metadata.name"), "missing %s:4:9:\n%s", name, g_run.err);
}

Test(cli, validate_generate_name)
{
	const char *f = put("gen.yaml",
			"apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n"
			"spec:\n  template:\n    spec:\n      restartPolicy: Never\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
}

Test(cli, validate_valid_multi_document_file)
{
	const char *f = put("ok.yaml",
			"# a comment before the first document\n"
			"---\n"
			"apiVersion: v1\n"
			"kind: Namespace\n"
			"metadata:\n"
			"  name: team-a\n"
			"---\n"
			"apiVersion: v1\n"
			"kind: ConfigMap\n"
			"metadata:\n"
			"  name: settings.v1\n"
			"  namespace: team-a\n"
			"  labels: {app: web}\n"
			"data:\n"
			"  mode: \"on\"\n"
			"---\n"
			"apiVersion: v1\n"
			"kind: Service\n"
			"metadata: {name: web, namespace: team-a}\n"
			"spec:\n"
			"  ports:\n"
			"  - port: 80\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_expect(contains(g_run.out, "3 document"), "want a summary such as `3 documents valid`, stdout:\n%s",
			g_run.out);
}

Test(cli, validate_json_file)
{
	const char *f = put("cm.json",
			"{\n"                            /* 1 */
			"  \"apiVersion\": \"v1\",\n"    /* 2 */
			"  \"kind\": \"ConfigMap\",\n"   /* 3 */
			"  \"metadata\": {\n"            /* 4 */
			"    \"name\": \"My_App\"\n"     /* 5: the quote at column 13 */
			"  }\n"
			"}\n");
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	/* the value starts at its quote (13); 14 (its first character) is tolerated */
	expect_one_diag(f, 5, 13, 14, "metadata.name", "My_App");
}

Test(cli, validate_stdin)
{
	IDP_IN("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-stdin\n", "validate", "-f", "-");
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);

	IDP_IN("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: My_App\n", "validate", "-f", "-");
	EXPECT_STATUS(2);
	expect_one_diag("<stdin>", 4, 9, 9, "metadata.name", "My_App");
}

Test(cli, validate_missing_file)
{
	char *missing = own(malloc(strlen(g_dir) + 32));
	sprintf(missing, "%s/nope.yaml", g_dir);
	IDP("validate", "-f", missing);
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, missing), "stderr does not name %s:\n%s", missing, g_run.err);
}

Test(cli, validate_directory)
{
	const char *bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_One\n";
	put("m/a.yaml", bad);
	put("m/sub/deeper/b.yml", bad);
	put("m/c.json", "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}\n");
	put("m/notes.txt", "this: is: not: yaml: [\n");
	put("m/README.md", "# not a manifest\n");
	char *dir = own_fmt("%s/m", g_dir);
	char *fa = own(malloc(strlen(dir) + 32)), *fb = own(malloc(strlen(dir) + 32));
	sprintf(fa, "%s/a.yaml", dir);
	sprintf(fb, "%s/sub/deeper/b.yml", dir);

	IDP("validate", "-f", dir);
	EXPECT_STATUS(2);
	diag d[8];
	size_t n = parse_diags(g_run.err, d, 8);
	cr_expect_eq(n, 2, "want 2 lines on stderr, got %zu:\n%s", n, g_run.err);
	if (n > 8)
		n = 8;
	cr_expect(has_diag(d, n, fa, 4, 9, "metadata.name"), "missing %s:4:9:\n%s", fa, g_run.err);
	cr_expect(has_diag(d, n, fb, 4, 9, "metadata.name"), "missing %s:4:9:\n%s", fb, g_run.err);
}

Test(cli, validate_directory_all_valid)
{
	put("m/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
	put("m/sub/b.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n"
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b2\n");
	put("m/c.json", "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}\n");
	put("m/skip.txt", "garbage: [\n");
	char *dir = own_fmt("%s/m", g_dir);
	IDP("validate", "-f", dir);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_expect(contains(g_run.out, "4 document"), "want a summary counting 4 documents:\n%s", g_run.out);
}

Test(cli, validate_several_files)
{
	const char *a = put("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
	const char *b = put("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
	const char *c = put("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: Bad\n");
	IDP("validate", "-f", a, "-f", b);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_expect(contains(g_run.out, "2 document"), "want a summary counting 2 documents:\n%s", g_run.out);

	IDP("validate", "-f", a, "-f", c, "-f", b);
	EXPECT_STATUS(2);
	expect_one_diag(c, 5, 14, 14, "metadata.namespace", NULL);
}

/* ------------------------------------------------------------ cli: fmt */

static const char MESSY[] =
		"# leading comment\n"
		"apiVersion:   v1\n"
		"kind: ConfigMap\n"
		"metadata: {name: messy, labels: {app: web,  tier: \"backend\"}}\n"
		"data:\n"
		"      enabled: \"on\"   # must stay a string\n"
		"      count: \"42\"\n"
		"      yes_str: 'true'\n"
		"      empty: \"\"\n"
		"      multi: |\n"
		"        line one\n"
		"        line two\n"
		"---\n"
		"apiVersion: apps/v1\n"
		"kind: Deployment\n"
		"metadata:\n"
		"    name: web   # trailing comment\n"
		"spec:\n"
		"    replicas: 3\n"
		"    template:\n"
		"        spec:\n"
		"            containers:\n"
		"            -   name: web\n"
		"                image: \"nginx:1.25\"\n"
		"                args: [ \"--port\", \"8080\" ]\n"
		"                env: [{name: A, value: \"on\"}]\n";

/* The line of text that starts (after indentation) with key, or NULL;
 * borrowed from text up to the newline, copied into a static buffer. */
static const char *line_with(const char *text, const char *key)
{
	static char line[512];
	size_t kl = strlen(key);
	for (const char *s = text; s && *s;) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		const char *p = s;
		while (p < s + n && (*p == ' ' || *p == '-'))
			p++;
		if ((size_t)(s + n - p) >= kl && strncmp(p, key, kl) == 0) {
			if (n >= sizeof line)
				n = sizeof line - 1;
			memcpy(line, s, n);
			line[n] = '\0';
			return line;
		}
		s = e ? e + 1 : NULL;
	}
	return NULL;
}

static bool quoted_value(const char *text, const char *key, const char *value)
{
	const char *l = line_with(text, key);
	if (!l)
		return false;
	char dq[128], sq[128];
	snprintf(dq, sizeof dq, "%s \"%s\"", key, value);
	snprintf(sq, sizeof sq, "%s '%s'", key, value);
	return strstr(l, dq) || strstr(l, sq);
}

Test(cli, fmt_round_trip)
{
	const char *f = put("messy.yaml", MESSY);
	IDP("fmt", "-f", f);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	const char *once = own(g_run.out);
	g_run.out = NULL;

	cr_expect(contains(once, "\n---\n"), "no `---` between the documents:\n%s", once);
	cr_expect(contains(once, "\n  name: messy\n"), "metadata not in 2-space block style:\n%s", once);
	cr_expect(!contains(once, "{name"), "flow mapping kept:\n%s", once);
	cr_expect(contains(once, "\n  name: web\n"),
			"metadata of the Deployment not re-indented to 2 spaces:\n%s", once);
	cr_expect(quoted_value(once, "enabled:", "on"), "\"on\" lost its quotes:\n%s", once);
	cr_expect(quoted_value(once, "count:", "42"), "\"42\" lost its quotes:\n%s", once);
	cr_expect(quoted_value(once, "yes_str:", "true"), "'true' lost its quotes:\n%s", once);

	const char *g = put("once.yaml", once);
	IDP("fmt", "-f", g);
	EXPECT_STATUS(0);
	cr_expect_str_eq(g_run.out, once, "fmt is not idempotent: fmt(fmt(x)) != fmt(x)");

	/* same data: the JSON of the input and of the formatted output agree */
	IDP("fmt", "-o", "json", "-f", f);
	EXPECT_STATUS(0);
	const char *json1 = own(g_run.out);
	g_run.out = NULL;
	IDP("fmt", "-o", "json", "-f", g);
	EXPECT_STATUS(0);
	cr_expect_str_eq(g_run.out, json1, "fmt changed the data: json(fmt(x)) != json(x)");
}

Test(cli, fmt_json)
{
	const char *f = put("d.yaml",
			"apiVersion: apps/v1\n"
			"kind: Deployment\n"
			"metadata: {name: web, labels: {app: web}}\n"
			"data: {mode: \"on\", count: \"42\", flag: true, nothing: null}\n"
			"spec:\n"
			"  replicas: 3\n"
			"  ratio: 1.5\n");
	IDP("fmt", "-f", f, "-o", "json");
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	const char *json = own(g_run.out);
	g_run.out = NULL;
	const char *p = json;
	while (*p == ' ' || *p == '\n')
		p++;
	cr_assert_eq(*p, '{', "not a JSON object:\n%s", json);

	/* a real JSON parser checks the document and its scalar types */
	char *argv[] = {"python3", "-c",
		"import json,sys\n"
		"d=json.load(sys.stdin)\n"
		"assert d['apiVersion']=='apps/v1' and d['kind']=='Deployment', d\n"
		"assert d['metadata']=={'name':'web','labels':{'app':'web'}}, d\n"
		"assert d['data']=={'mode':'on','count':'42','flag':True,'nothing':None}, d['data']\n"
		"assert d['spec']['replicas']==3 and type(d['spec']['replicas']) is int, d\n"
		"assert d['spec']['ratio']==1.5, d\n",
		NULL};
	char *out = NULL, *err = NULL;
	int st = idp_fixture_run(argv, json, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 0, "python3 rejected the JSON:\n%s\n%s", json, err);
}

Test(cli, fmt_bad_file_prints_nothing)
{
	const char *f = put("bad.yaml",
			"apiVersion: v1\n"          /* 1: a valid first document */
			"kind: ConfigMap\n"
			"metadata:\n"
			"  name: first\n"
			"---\n"                     /* 5 */
			"apiVersion: v1\n"          /* 6 */
			"kind: Pod\n"               /* 7 */
			"metadata:\n"               /* 8 */
			"  name: web\n"             /* 9 */
			"spec:\n"                   /* 10 */
			"  containers:\n"           /* 11 */
			"  - name: web\n"           /* 12 */
			"    image: nginx: alpine\n"); /* 13: second ':' at column 17 */
	IDP("fmt", "-f", f);
	EXPECT_STATUS(2);
	cr_expect_str_empty(g_run.out, "fmt printed partial output for a bad file");
	expect_one_diag(f, 13, 16, 18, NULL, "mapping values");

	const char *dup = put("dup.yaml", "a: 1\nb: 2\na: 3\n");
	IDP("fmt", "-f", dup);
	EXPECT_STATUS(2);
	cr_expect_str_empty(g_run.out, "fmt printed partial output for a bad file");
	expect_one_diag(dup, 3, 1, 1, NULL, "duplicate key");
}

Test(cli, fmt_write_in_place)
{
	const char *f = put("w/messy.yaml", MESSY);
	IDP("fmt", "-f", f);
	EXPECT_STATUS(0);
	const char *want = own(g_run.out);
	g_run.out = NULL;

	struct stat before;
	cr_assert_eq(stat(f, &before), 0);
	IDP("fmt", "-w", "-f", f);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_expect_str_eq(slurp(f), want, "the rewritten file differs from fmt's output");
	char *dir = own(malloc(strlen(g_dir) + 4));
	sprintf(dir, "%s/w", g_dir);
	cr_expect_str_eq(list_dir(dir), "messy.yaml\n", "temporary files left behind");
}

Test(cli, fmt_write_in_place_bad_file_untouched)
{
	const char *bad_text = "# keep me exactly\n"
			"apiVersion: v1\n"
			"kind: ConfigMap\n"
			"metadata:\n"
			"  name: a\n"
			"  name: a\n";
	const char *f = put("w/bad.yaml", bad_text);
	IDP("fmt", "-w", "-f", f);
	EXPECT_STATUS(2);
	expect_one_diag(f, 6, 3, 3, NULL, "duplicate key");
	cr_expect_str_eq(slurp(f), bad_text, "a bad file was modified");
	char *dir = own(malloc(strlen(g_dir) + 4));
	sprintf(dir, "%s/w", g_dir);
	cr_expect_str_eq(list_dir(dir), "bad.yaml\n", "temporary files left behind");
}

/* ------------------------------------------------------------ cli: embedded examples */

Test(cli, examples_list)
{
	IDP("examples");
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_assert(count_lines(g_run.out) >= 1, "no examples listed");
	bool simple = false;
	for (const char *s = g_run.out; *s;) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n > 0) {
			cr_expect(strncmp(s, "examples/", 9) == 0 || strncmp(s, "catalog/", 8) == 0 ||
					  strncmp(s, "templates/", 10) == 0 || strncmp(s, "sdk/", 4) == 0,
				  "neither an example, a catalog file, a template nor the SDK: %.*s", (int)n, s);
			if (n == strlen("examples/simple-app.yaml") && strncmp(s, "examples/simple-app.yaml", n) == 0)
				simple = true;
		}
		s += n + (e != NULL);
	}
	cr_expect(simple, "examples/simple-app.yaml not listed:\n%s", g_run.out);
}

Test(cli, validate_embedded)
{
	IDP("validate", "-f", "embedded:examples/simple-app.yaml");
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);

	IDP("validate", "-f", "embedded:");
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.err);
	cr_expect(count_lines(g_run.out) >= 1, "no summary on stdout");

	IDP("validate", "-f", "embedded:examples/no-such-example.yaml");
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "examples/no-such-example.yaml"), "stderr:\n%s", g_run.err);
}

/* ------------------------------------------------------------ fixture */

/* GET / from 127.0.0.1:port over a plain socket; returns the whole response
 * (the server closes the connection after an HTTP/1.0 reply), owned by
 * teardown, or NULL if the connection failed. */
static const char *http_get(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return NULL;
	}
	const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	cr_assert_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
	size_t cap = 65536, n = 0;
	char *buf = own(malloc(cap));
	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap - 1)
			break;
	}
	buf[n] = '\0';
	close(fd);
	return buf;
}

static bool port_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

Test(fixture, http_server_daemon)
{
	cr_assert(idp_fixture_have_program("python3"));
	put("www/hello.txt", "hello\n");
	char *www = own(malloc(strlen(g_dir) + 8));
	sprintf(www, "%s/www", g_dir);
	int port = idp_fixture_free_port();
	cr_assert_gt(port, 0);
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	char *argv[] = {"python3", "-m", "http.server", portstr, "--bind", "127.0.0.1",
		"--directory", www, NULL};

	g_daemon = idp_fixture_daemon_start("http", argv, g_dir, port, 30.0);
	cr_assert_not_null(g_daemon, "python3 -m http.server did not start");
	cr_assert_eq(idp_fixture_daemon_port(g_daemon), port);

	const char *resp = http_get(port);
	cr_assert_not_null(resp, "cannot connect to the daemon");
	cr_expect(strncmp(resp, "HTTP/1.0 200", 12) == 0, "response:\n%s", resp);
	cr_expect(contains(resp, "hello.txt"), "directory listing lacks hello.txt:\n%s", resp);

	idp_fixture_daemon_stop(g_daemon);
	g_daemon = NULL;
	cr_expect(!port_accepts(port), "port %d still accepts connections after stop", port);

	/* the daemon's stderr went to NAME.err in the work directory */
	char *log = own(malloc(strlen(g_dir) + 16));
	sprintf(log, "%s/http.err", g_dir);
	cr_expect(contains(slurp(log), "GET / HTTP/1.0"), "request not logged in http.err");

	/* rmtree removes the lot */
	char *dir = g_dir;
	g_dir = NULL;
	idp_fixture_rmtree(dir);
	struct stat st;
	int rc = stat(dir, &st);
	int e = errno;
	free(dir);
	cr_expect(rc != 0 && e == ENOENT, "the temporary directory still exists after rmtree");
}

Test(fixture, daemon_early_exit_detected)
{
	int port = idp_fixture_free_port();
	cr_assert_gt(port, 0);
	char *argv[] = {"python3", "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)", NULL};
	double t0 = now_s();
	g_daemon = idp_fixture_daemon_start("early", argv, g_dir, port, 30.0);
	double took = now_s() - t0;
	cr_expect_null(g_daemon);
	cr_expect_lt(took, 10.0, "an early exit took %.1f s to notice", took);
	char *log = own(malloc(strlen(g_dir) + 16));
	sprintf(log, "%s/early.err", g_dir);
	cr_expect(contains(slurp(log), "boom"));

	char *bad[] = {"idp-no-such-program-xyz", NULL};
	g_daemon = idp_fixture_daemon_start("bad", bad, g_dir, port, 30.0);
	cr_expect_null(g_daemon);
}

Test(fixture, daemon_start_timeout)
{
	int port = idp_fixture_free_port();
	cr_assert_gt(port, 0);
	char *argv[] = {"sleep", "60", NULL};
	double t0 = now_s();
	g_daemon = idp_fixture_daemon_start("sleeper", argv, g_dir, port, 0.5);
	double took = now_s() - t0;
	cr_expect_null(g_daemon);
	cr_expect(took >= 0.5 && took < 5.0, "timeout of 0.5 s took %.2f s", took);
}

Test(fixture, run_captures_output_and_status)
{
	char *out = NULL, *err = NULL;
	char *sh1[] = {"sh", "-c", "cat; echo to-stderr >&2; exit 3", NULL};
	int st = idp_fixture_run(sh1, "hello\nworld\n", &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 3);
	cr_expect_str_eq(out, "hello\nworld\n");
	cr_expect_str_eq(err, "to-stderr\n");

	/* large outputs on both streams: no pipe deadlock */
	char *sh2[] = {"sh", "-c",
		"head -c 1000000 /dev/zero | tr '\\000' a; head -c 700000 /dev/zero | tr '\\000' b >&2", NULL};
	st = idp_fixture_run(sh2, NULL, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 0);
	cr_expect_eq(strlen(out), 1000000);
	cr_expect_eq(strlen(err), 700000);
	cr_expect(out[0] == 'a' && out[999999] == 'a' && err[0] == 'b');

	/* no stdin data: reads /dev/null; empty outputs are "" */
	char *cat[] = {"cat", NULL};
	st = idp_fixture_run(cat, NULL, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 0);
	cr_expect_str_empty(out);
	cr_expect_str_empty(err);

	/* killed by a signal: 128 + N */
	char *sh3[] = {"sh", "-c", "kill -TERM $$", NULL};
	st = idp_fixture_run(sh3, NULL, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 128 + 15);

	/* cannot execute: 127 */
	char *nope[] = {"idp-no-such-program-xyz", NULL};
	st = idp_fixture_run(nope, NULL, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(st, 127);

	/* timeout: killed, 128 + SIGKILL, and said so on err */
	char *slow[] = {"sleep", "30", NULL};
	double t0 = now_s();
	st = idp_fixture_run_timeout(slow, NULL, &out, &err, 0.3);
	double took = now_s() - t0;
	own(out);
	own(err);
	cr_expect_eq(st, 128 + 9);
	cr_expect_lt(took, 5.0);
	cr_expect(contains(err, "timeout"));
}

Test(fixture, ports_programs_and_files)
{
	int port = idp_fixture_free_port();
	cr_expect(port > 0 && port < 65536);
	cr_expect(!port_accepts(port));

	cr_expect(idp_fixture_have_program("sh"));
	cr_expect(idp_fixture_have_program("python3"));
	cr_expect(idp_fixture_have_program("/bin/sh"));
	cr_expect(!idp_fixture_have_program("idp-no-such-program-xyz"));
	cr_expect(!idp_fixture_have_program("/nonexistent/sh"));

	const char *p = put("a/b/c.txt", "data");
	cr_expect_str_eq(slurp(p), "data");

	/* rmtree removes nested, read-only and symlinked entries but never
	 * follows a link out of the tree */
	char *outside = idp_fixture_tmpdir();
	cr_assert_not_null(outside);
	own(outside);
	char *keep = own(idp_fixture_write_file(outside, "keep.txt", "x", 1));
	cr_assert_not_null(keep);
	char *root = own(idp_fixture_tmpdir());
	cr_assert_not_null(root);
	own(idp_fixture_write_file(root, "d1/d2/f", "y", 1));
	own(idp_fixture_write_file(root, "ro/f", "z", 1));
	char *link = own_fmt("%s/d1/out", root);
	cr_assert_eq(symlink(outside, link), 0);
	char *ro = own_fmt("%s/ro", root);
	cr_assert_eq(chmod(ro, 0500), 0);

	idp_fixture_rmtree(root);
	struct stat st;
	cr_expect(stat(root, &st) != 0 && errno == ENOENT, "rmtree left %s", root);
	cr_expect(stat(keep, &st) == 0, "rmtree followed a symbolic link out of the tree");
	idp_fixture_rmtree(outside);
	cr_expect(stat(outside, &st) != 0);
}

/* A syntax error in a later document does not hide the problems of the
 * documents before it; they are reported first, in file order. */
Test(cli, validate_reports_documents_before_a_syntax_error)
{
	const char *f = put("partial.yaml",
			"apiVersion: v1\n"          /* 1 */
			"kind: ConfigMap\n"         /* 2 */
			"metadata:\n"               /* 3 */
			"  name: Bad_One\n"         /* 4: 4:9 metadata.name */
			"---\n"                     /* 5 */
			"a: b: c\n");               /* 6: 6:5 syntax */
	IDP("validate", "-f", f);
	EXPECT_STATUS(2);
	static diag d[4];
	size_t n = parse_diags(g_run.err, d, 4);
	cr_assert_eq(n, 2, "want two lines:\n%s", g_run.err);
	cr_expect_eq(d[0].line, 4, "%s", g_run.err);
	cr_expect_eq(d[0].col, 9, "%s", g_run.err);
	cr_expect_eq(d[1].line, 6, "%s", g_run.err);
}

/* ------------------------------------------------------------ idp render */

static const char out_app[] = "apiVersion: core.oam.dev/v1beta1\n"
			      "kind: Application\n"
			      "metadata:\n  name: shop\n"
			      "spec:\n  components:\n"
			      "  - name: web\n    type: web\n    properties:\n      image: nginx\n"
			      "  - name: job\n    type: cm\n";

static const char out_defs[] =
	"apiVersion: core.oam.dev/v1beta1\nkind: ComponentDefinition\nmetadata:\n  name: web\n"
	"spec:\n  schematic:\n    cue:\n      template: |\n"
	"        output: {apiVersion: \"v1\", kind: \"Service\", metadata: name: context.name}\n"
	"        outputs: cm: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: context.name}\n"
	"        parameter: image: string\n"
	"---\n"
	"apiVersion: core.oam.dev/v1beta1\nkind: ComponentDefinition\nmetadata:\n  name: cm\n"
	"spec:\n  schematic:\n    cue:\n      template: |\n"
	"        output: {apiVersion: \"serving.knative.dev/v1\", kind: \"Service\", metadata: name: \"web\"}\n"
	"        parameter: {}\n";

/* --out: one file per object named by kind and name (the two Services
 * named web get the long form, with their group), a kustomization.yaml,
 * and a second render replaces the directory as a whole. */
Test(cli, render_out_dir)
{
	const char *app = put("app.yaml", out_app), *defs = put("defs.yaml", out_defs);
	const char *dir = own_fmt("%s/out", g_dir);
	IDP("render", "-f", app, "-d", defs, "--out", dir);
	EXPECT_STATUS(0);
	cr_expect_str_empty(g_run.out);
	cr_expect_str_eq(list_dir(dir), "configmap-web.yaml\nkustomization.yaml\nservice.core-web.yaml\n"
					"service.serving.knative.dev-web.yaml\n");
	const char *k = slurp(own_fmt("%s/kustomization.yaml", dir));
	cr_expect(contains(k, "kind: Kustomization\nresources:\n- service.core-web.yaml\n- configmap-web.yaml\n"
			      "- service.serving.knative.dev-web.yaml\n"),
		  "%s", k);
	cr_expect(contains(slurp(own_fmt("%s/configmap-web.yaml", dir)), "kind: ConfigMap\n"));
	/* Render again without the second component: its file is gone. */
	const char *app2 = put("app2.yaml", "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\n"
					    "spec:\n  components:\n  - name: web\n    type: web\n    properties:\n      image: x\n");
	IDP("render", "-f", app2, "-d", defs, "--out", dir);
	EXPECT_STATUS(0);
	cr_expect_str_eq(list_dir(dir), "configmap-web.yaml\nkustomization.yaml\nservice-web.yaml\n");
	/* A directory someone else filled is not replaced. */
	const char *mine = own_fmt("%s/mine", g_dir);
	put("mine/notes.txt", "keep me\n");
	IDP("render", "-f", app2, "-d", defs, "--out", mine);
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "did not write"), "%s", g_run.err);
	cr_expect_str_eq(list_dir(mine), "notes.txt\n");
	/* Bad input writes nothing. */
	const char *fresh = own_fmt("%s/fresh", g_dir);
	IDP("render", "-f", app, "--out", fresh);
	EXPECT_STATUS(2);
	cr_expect_neq(access(fresh, F_OK), 0, "a failed render created %s", fresh);
}

Test(cli, render_json_list)
{
	const char *app = put("app.yaml", out_app), *defs = put("defs.yaml", out_defs);
	IDP("render", "-f", app, "-d", defs, "-o", "json");
	EXPECT_STATUS(0);
	cr_expect(strncmp(g_run.out, "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\",\n    \"items\": [\n", 60) == 0,
		  "%s", g_run.out);
}

/* Inline, composed resources lose their owner reference to the composite
 * (it is not part of the output; Kubernetes would garbage-collect them). */
Test(cli, render_inline_claim_has_no_dangling_owner)
{
	IDP("render", "-f", "embedded:examples/application-claim.yaml", "--compose", "inline", "--unwrap-objects");
	EXPECT_STATUS(0);
	cr_expect(!contains(g_run.out, "ownerReferences"), "dangling owner references");
	cr_expect(!contains(g_run.out, "apiVersion: platform.example.org"), "a claim was left uncomposed");
	cr_expect(contains(g_run.out, "name: my-custom-repo-gitops\n"), "the AppContainerClaim was not composed");
}

/* A bad flag combination is an error (exit 2), not a request for help. */
Test(cli, render_flag_errors_exit_2_without_usage)
{
	const char *cases[][4] = {{"--unwrap-objects", NULL}, {"-o", "xml"}, {"--compose", "neither"},
				  {"--explain", "-o", "json"}, {"--cluster-version", "one"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		IDP("render", "-f", "embedded:examples/simple-app.yaml", cases[i][0], cases[i][1], cases[i][2]);
		EXPECT_STATUS(2);
		cr_expect(!contains(g_run.out, "usage:"), "%s printed usage:\n%s", cases[i][0], g_run.out);
		cr_expect(contains(g_run.err, "render:"), "%s: %s", cases[i][0], g_run.err);
	}
}

/* --explain: the same objects, a comment after every value; nothing else. */
Test(cli, render_explain_comments_every_value)
{
	IDP("render", "-f", "embedded:examples/complex-app.yaml", "--compose", "inline", "--unwrap-objects");
	EXPECT_STATUS(0);
	const char *plain = own(strdup(g_run.out));
	IDP("render", "-f", "embedded:examples/complex-app.yaml", "--compose", "inline", "--unwrap-objects", "--explain");
	EXPECT_STATUS(0);
	const char *explained = put("explained.yaml", g_run.out);
	cr_expect(contains(g_run.out, "image: health-api:latest  # parameter image of component health-api "
				      "(embedded:examples/complex-app.yaml:13:14)\n"),
		  "%s", g_run.out);
	cr_expect(!contains(g_run.out, "origin unknown"));
	/* Every line that ends a value carries a comment: a line without one
	 * opens a map or list, or is inside a block scalar. */
	size_t lines = count_lines(g_run.out), commented = 0;
	for (const char *p = g_run.out; (p = strstr(p, "  # ")); p++)
		commented++;
	cr_expect_gt(commented, lines / 2, "%zu of %zu lines have a comment", commented, lines);
	IDP("fmt", "-f", explained);
	EXPECT_STATUS(0);
	cr_expect_str_eq(g_run.out, plain, "the comments changed what the YAML says");
	IDP("render", "-f", "embedded:examples/complex-app.yaml", "--explain", "-o", "json");
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "--explain"), "%s", g_run.err);
}

Test(cli, render_duplicate_component)
{
	const char *app = put("dup.yaml", "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: a\n"
					  "spec:\n  components:\n  - name: x\n    type: cm\n  - name: x\n    type: cm\n");
	const char *defs = put("defs.yaml", out_defs);
	IDP("render", "-f", app, "-d", defs);
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "dup.yaml:9:11: spec.components[1].name: duplicate component name \"x\""), "%s",
		  g_run.err);
}

/* Every catalog file is built into idp (meson.build lists them one by one:
 * a new definition that is not listed would be silently missing). */
Test(cli, catalog_is_embedded)
{
	IDP("examples");
	EXPECT_STATUS(0);
	const char *listed = own(strdup(g_run.out));
	static const char *const dirs[] = {"components", "traits", "policies", "claims", "claims/examples"};
	size_t files = 0;
	for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
		const char *dir = own_fmt("%s/catalog/%s", IDP_SOURCE_ROOT, dirs[d]);
		struct dirent **ents;
		int n = scandir(dir, &ents, NULL, alphasort);
		cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
		for (int i = 0; i < n; i++) {
			const char *name = ents[i]->d_name;
			size_t len = strlen(name);
			if (len > 5 && (strcmp(name + len - 5, ".yaml") == 0 || (len > 4 && strcmp(name + len - 4, ".cue") == 0))) {
				files++;
				cr_expect(contains(listed, own_fmt("catalog/%s/%s\n", dirs[d], name)),
					  "catalog/%s/%s is not embedded: add it to embedded_files in meson.build", dirs[d], name);
			}
			free(ents[i]);
		}
		free(ents);
	}
	cr_expect_gt(files, 20, "the catalog has only %zu files", files);
}

/* Every file of templates/ and of sdk/ (which the c template vendors) is
 * built into idp (idp gitops scaffold would silently leave one out
 * otherwise). */
static const char *g_listed;
static size_t g_template_files;

static int check_template(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	const char *rel = path + strlen(IDP_SOURCE_ROOT) + 1;
	g_template_files++;
	cr_expect(contains(g_listed, own_fmt("%s\n", rel)), "%s is not embedded: add it to embedded_files in meson.build",
		  rel);
	return 0;
}

Test(cli, templates_are_embedded)
{
	IDP("examples");
	EXPECT_STATUS(0);
	g_listed = own(strdup(g_run.out));
	g_template_files = 0;
	cr_assert_eq(nftw(IDP_SOURCE_ROOT "/templates", check_template, 16, FTW_PHYS), 0);
	cr_expect_gt(g_template_files, 20);
	size_t templates = g_template_files;
	cr_assert_eq(nftw(IDP_SOURCE_ROOT "/sdk", check_template, 16, FTW_PHYS), 0);
	cr_expect_gt(g_template_files, templates + 3);
}

/* idp catalog export: every definition (KubeVela's own topology and
 * override excepted), the XRDs, Compositions and the Function package. */
Test(cli, catalog_export)
{
	const char *dir = own_fmt("%s/export", g_dir);
	IDP("catalog", "export", dir);
	EXPECT_STATUS(0);
	const char *files = list_dir(dir);
	cr_expect(contains(files, "componentdefinition-webservice.yaml\n"), "%s", files);
	cr_expect(contains(files, "traitdefinition-ingress.yaml\n"), "%s", files);
	cr_expect(contains(files, "policydefinition-security-policy.yaml\n"), "%s", files);
	cr_expect(!contains(files, "policydefinition-topology"), "KubeVela's built-in topology was exported");
	cr_expect(contains(files, "composition-realtime-platform-claim.yaml\n"), "%s", files);
	cr_expect(contains(files, "function-function-patch-and-transform.yaml\n"), "%s", files);
	const char *ws = slurp(own_fmt("%s/componentdefinition-webservice.yaml", dir));
	cr_expect(contains(ws, "  namespace: vela-system\n"), "%s", ws);
	IDP("catalog", "export");
	EXPECT_STATUS(2);
	/* The directory builds with the real kustomize. */
	if (!idp_fixture_have_program("kubectl")) {
		cr_log_info("SKIP: kubectl absent, kustomization.yaml not built");
		return;
	}
	char *argv[] = {"kubectl", "kustomize", (char *)dir, NULL};
	char *out = NULL, *err = NULL;
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	own(out);
	own(err);
	cr_expect_eq(rc, 0, "kubectl kustomize %s failed: %s", dir, err);
	cr_expect(contains(out, "kind: Function\n"), "the Function is not in the build");
}

/* Two components that make the same object differently: an error naming
 * both, instead of the later one silently winning. */
Test(cli, render_colliding_objects)
{
	const char *app = put("clash.yaml", "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: a\n"
					    "spec:\n  components:\n  - name: one\n    type: cm\n  - name: two\n    type: cm\n");
	const char *defs = put("defs.yaml", out_defs);
	IDP("render", "-f", app, "-d", defs);
	EXPECT_STATUS(2);
	cr_expect(contains(g_run.err, "Service web is rendered twice, differently (by component one and by component two)"),
		  "%s", g_run.err);
	cr_expect_str_empty(g_run.out);
}
