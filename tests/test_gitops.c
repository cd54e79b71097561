/*
 * The gitops room (suite "gitops"): the OAM updater's edit on text, with the
 * inputs that broke the original updater (original-system.md §3.3): a
 * commented example holding `components:`, `components: []`, a name that
 * is a substring of another, CRLF line endings. Expected files are written
 * out by hand: every byte of the input is kept and the component follows
 * the last one, indented like it.
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "gitops/gitops.h"
#include "testutil.h"

static const char CLAIM[] = "apiVersion: platform.example.org/v1alpha1\n"
			    "kind: ApplicationClaim\n"
			    "metadata:\n"
			    "  name: user\n"
			    "  annotations:\n"
			    "    webservice.oam.dev/source: api-driven\n"
			    "spec:\n"
			    "  name: user\n"
			    "  language: python\n"
			    "  framework: fastapi\n"
			    "  database: postgres\n"
			    "  cache: none\n";

/* The component for CLAIM, dash at column d, keys at column k. */
static char *component(int d, int k, const char *eol)
{
	static char buf[1024];
	snprintf(buf, sizeof buf,
		 "%*s- %*sname: user%s"
		 "%*stype: webservice%s"
		 "%*sproperties:%s"
		 "%*simage: user:latest%s"
		 "%*sport: 8080%s"
		 "%*shealthPath: /health%s"
		 "%*slanguage: python%s"
		 "%*sframework: fastapi%s"
		 "%*sdatabase: postgres%s"
		 "%*ssource: api-driven%s",
		 d, "", k - d - 2, "", eol, k, "", eol, k, "", eol, k + 2, "", eol, k + 2, "", eol, k + 2, "", eol, k + 2,
		 "", eol, k + 2, "", eol, k + 2, "", eol, k + 2, "", eol);
	return buf;
}

typedef struct edit {
	idp_arena *a;
	const char *out;
	size_t len;
	bool added;
	int rc;
	idp_err err;
} edit;

static edit run_edit(const char *text, const char *claim_text)
{
	edit e = {idp_arena_new(), NULL, 0, false, 0, IDP_ERR_INIT};
	idp_doc_stream s;
	cr_assert_eq(idp_doc_load(e.a, "claim.yaml", claim_text, strlen(claim_text), NULL, &s, &e.err), 0);
	e.rc = idp_gitops_oam_insert(e.a, "application.yaml", text, strlen(text), s.docs[0], &e.out, &e.len, &e.added,
				     &e.err);
	return e;
}

static void edit_free(edit *e)
{
	idp_err_clear(&e->err);
	idp_arena_free(e->a);
}

static void expect_edit(const char *input, const char *want)
{
	edit e = run_edit(input, CLAIM);
	cr_assert_eq(e.rc, 0, "%s", tu_errstr(&e.err));
	cr_assert(e.added);
	cr_assert_eq(e.len, strlen(e.out));
	if (strcmp(e.out, want) != 0) { /* Criterion's report drops blank lines: keep both */
		FILE *f = fopen("/tmp/idp-gitops-got.txt", "w");
		if (f) {
			fprintf(f, "--- got ---\n%s--- want ---\n%s", e.out, want);
			fclose(f);
		}
	}
	cr_expect_str_eq(e.out, want, "\n--- got ---\n%s--- want ---\n%s", e.out, want);
	edit_free(&e);
}

#define HEAD "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\n"

Test(gitops, appends_after_the_last_component_and_keeps_comments)
{
	const char *in = HEAD "# the developer's notes stay\n"
			      "spec:\n"
			      "  components:\n"
			      "  - name: user-service # substring of nothing: user is new\n"
			      "    type: webservice\n"
			      "    properties:\n"
			      "      image: 'user-service:1.0'   # quoted as written\n"
			      "  # Example (commented out):\n"
			      "  # components:\n"
			      "  #   - name: example\n"
			      "  policies:\n"
			      "  - name: prod\n"
			      "    type: topology\n"
			      "    properties: {namespace: prod}\n";
	char want[4096];
	snprintf(want, sizeof want,
		 HEAD "# the developer's notes stay\n"
		      "spec:\n"
		      "  components:\n"
		      "  - name: user-service # substring of nothing: user is new\n"
		      "    type: webservice\n"
		      "    properties:\n"
		      "      image: 'user-service:1.0'   # quoted as written\n"
		      "%s"
		      "  # Example (commented out):\n"
		      "  # components:\n"
		      "  #   - name: example\n"
		      "  policies:\n"
		      "  - name: prod\n"
		      "    type: topology\n"
		      "    properties: {namespace: prod}\n",
		 component(2, 4, "\n"));
	expect_edit(in, want);
}

Test(gitops, empty_flow_list_becomes_a_block_list)
{
	const char *in = HEAD "spec:\n  components: []  # none yet\n  policies: []\n";
	char want[2048];
	snprintf(want, sizeof want, HEAD "spec:\n  components:  # none yet\n%s  policies: []\n", component(2, 4, "\n"));
	expect_edit(in, want);
}

Test(gitops, null_components_and_a_file_without_a_final_newline)
{
	const char *in = HEAD "spec:\n    components:";
	char want[2048];
	snprintf(want, sizeof want, HEAD "spec:\n    components:\n%s", component(4, 6, "\n"));
	expect_edit(in, want);
}

Test(gitops, indented_items_keep_their_indentation)
{
	const char *in = HEAD "spec:\n  components:\n    -   name: a\n        type: webservice\n";
	char want[2048];
	snprintf(want, sizeof want, HEAD "spec:\n  components:\n    -   name: a\n        type: webservice\n%s",
		 component(4, 8, "\n"));
	expect_edit(in, want);
}

Test(gitops, crlf_stays_crlf)
{
	const char *in = "apiVersion: core.oam.dev/v1beta1\r\nkind: Application\r\nmetadata:\r\n  name: shop\r\n"
			 "spec:\r\n  components:\r\n  - name: a\r\n    type: webservice\r\n";
	char want[2048];
	snprintf(want, sizeof want,
		 "apiVersion: core.oam.dev/v1beta1\r\nkind: Application\r\nmetadata:\r\n  name: shop\r\n"
		 "spec:\r\n  components:\r\n  - name: a\r\n    type: webservice\r\n%s",
		 component(2, 4, "\r\n"));
	expect_edit(in, want);
}

Test(gitops, non_empty_flow_list_gets_a_flow_item)
{
	const char *in = HEAD "spec:\n  components: [{name: a, type: webservice}]\n";
	expect_edit(in, HEAD "spec:\n  components: [{name: a, type: webservice}, {name: \"user\", type: webservice, "
			     "properties: {image: \"user:latest\", port: 8080, healthPath: \"/health\", language: \"python\", "
			     "framework: \"fastapi\", database: \"postgres\", source: \"api-driven\"}}]\n");
}

/* The blank lines after a block scalar may be its content (`|+`): the new
 * component goes after them. */
Test(gitops, block_scalar_last_value)
{
	const char *in = HEAD "spec:\n  components:\n  - name: a\n    type: webservice\n    properties:\n"
			      "      script: |\n        echo one\n        echo two\n\n# trailing comment\n";
	char want[2048];
	snprintf(want, sizeof want,
		 HEAD "spec:\n  components:\n  - name: a\n    type: webservice\n    properties:\n"
		      "      script: |\n        echo one\n        echo two\n\n%s# trailing comment\n",
		 component(2, 4, "\n"));
	expect_edit(in, want);
}

Test(gitops, an_existing_name_is_matched_exactly_not_as_a_substring)
{
	/* "user" appears in other names and in metadata: only a component
	 * named exactly "user" counts. */
	const char *in = HEAD "  labels: {owner: user}\nspec:\n  components:\n  - name: user-service\n  - name: superuser\n";
	edit e = run_edit(in, CLAIM);
	cr_assert_eq(e.rc, 0, "%s", tu_errstr(&e.err));
	cr_expect(e.added);
	edit_free(&e);
	const char *has = HEAD "spec:\n  components:\n  - name: superuser\n  - name: user\n    type: webservice\n";
	e = run_edit(has, CLAIM);
	cr_assert_eq(e.rc, 0, "%s", tu_errstr(&e.err));
	cr_expect(!e.added);
	cr_expect_str_eq(e.out, has);
	edit_free(&e);
}

Test(gitops, bad_inputs_are_errors_with_positions)
{
	edit e = run_edit("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", CLAIM);
	cr_expect_eq(e.rc, IDP_EINPUT);
	cr_expect(tu_contains(e.err.msg, "not an OAM Application"), "%s", tu_errstr(&e.err));
	edit_free(&e);
	e = run_edit(HEAD "spec: {}\n", CLAIM);
	cr_expect_eq(e.rc, IDP_EINPUT);
	cr_expect(tu_contains(e.err.msg, "components"), "%s", tu_errstr(&e.err));
	edit_free(&e);
	e = run_edit(HEAD "spec:\n  components: [\n", CLAIM);
	cr_expect_eq(e.rc, IDP_EINPUT);
	cr_expect(e.err.file && strcmp(e.err.file, "application.yaml") == 0 && e.err.line >= 6, "%s", tu_errstr(&e.err));
	edit_free(&e);
	static const char *const bad_names[] = {"../x", "User", "a2345678901234567890123456789012345678901234567890123456789012345"};
	for (size_t i = 0; i < 3; i++) {
		char claim[512];
		snprintf(claim, sizeof claim, "kind: ApplicationClaim\nmetadata: {name: c}\nspec: {name: \"%s\", language: python}\n",
			 bad_names[i]);
		e = run_edit(HEAD "spec:\n  components: []\n", claim);
		cr_expect_eq(e.rc, IDP_EINPUT, "%s accepted", bad_names[i]);
		cr_expect(tu_contains(e.err.msg, "invalid service name"), "%s", tu_errstr(&e.err));
		edit_free(&e);
	}
}

/* ---------------------------------------------------------------- repositories, through idp and git */

#ifndef IDP_BIN
#error "IDP_BIN must be defined by the build"
#endif

typedef struct ran {
	int status;
	char *out, *err;
} ran;

/* Runs a NULL-terminated command (idp or git), killed after timeout_s. */
static ran run_cmd(double timeout_s, const char *first, ...)
{
	char *argv[24];
	size_t n = 0;
	argv[n++] = (char *)first;
	va_list ap;
	va_start(ap, first);
	for (const char *s; n < 23 && (s = va_arg(ap, const char *)) != NULL;)
		argv[n++] = (char *)s;
	va_end(ap);
	argv[n] = NULL;
	ran r = {0, NULL, NULL};
	r.status = idp_fixture_run_timeout(argv, NULL, &r.out, &r.err, timeout_s);
	cr_assert_geq(r.status, 0, "cannot run %s", first);
	cr_assert_null(strstr(r.err ? r.err : "", "Sanitizer"), "%s", r.err);
	return r;
}

#define RUN(...) run_cmd(60.0, __VA_ARGS__, (const char *)NULL)

static void ran_free(ran *r)
{
	free(r->out);
	free(r->err);
}

/* The output of a command that must succeed (caller frees). */
static char *must(ran r)
{
	cr_assert_eq(r.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
	free(r.err);
	return r.out;
}

static size_t count_commits(const char *repo)
{
	char *out = must(RUN("git", "-C", repo, "rev-list", "--count", "HEAD"));
	size_t n = (size_t)strtoul(out, NULL, 10);
	free(out);
	return n;
}

static char *head_of(const char *repo)
{
	char *out = must(RUN("git", "-C", repo, "rev-parse", "HEAD"));
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void expect_fsck(const char *repo)
{
	ran r = RUN("git", "-C", repo, "fsck", "--strict", "--no-dangling");
	cr_expect_eq(r.status, 0, "git fsck:\n%s%s", r.out, r.err);
	ran_free(&r);
}

static char *claim_file(const char *dir, const char *name, const char *svc, const char *source)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "apiVersion: platform.example.org/v1alpha1\nkind: ApplicationClaim\nmetadata:\n  name: %s\n%s%s%s"
		 "spec:\n  name: %s\n  language: python\n  framework: fastapi\n  database: none\n  cache: none\n",
		 svc, source ? "  annotations:\n    webservice.oam.dev/source: \"" : "", source ? source : "",
		 source ? "\"\n" : "", svc);
	return idp_fixture_write_file(dir, name, text, strlen(text));
}

typedef struct repo_fixture {
	char *dir, *repo;
} repo_fixture;

static repo_fixture new_repo(void)
{
	repo_fixture f = {idp_fixture_tmpdir(), NULL};
	cr_assert_not_null(f.dir);
	char *out = must(RUN(IDP_BIN, "gitops", "init", "shop", "--dir", f.dir, "--author", "Test <test@example.org>"));
	out[strcspn(out, "\n")] = '\0';
	f.repo = out;
	return f;
}

static void repo_free(repo_fixture *f)
{
	idp_fixture_rmtree(f->dir);
	free(f->dir);
	free(f->repo);
}

Test(gitops_repo, init_add_again_oam_driven_rollback_and_fsck, .timeout = 120)
{
	repo_fixture f = new_repo();
	cr_expect_eq(count_commits(f.repo), 1);
	char oam_path[4096];
	snprintf(oam_path, sizeof oam_path, "%s/" IDP_GITOPS_OAM_FILE, f.repo);
	char *before = idp_fixture_read_file(oam_path, NULL);
	cr_assert_not_null(before, "the working tree has no OAM Application");

	char *claim = claim_file(f.dir, "claim.yaml", "orders", "api-driven");
	char *out = must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim, "--author",
			     "Test <test@example.org>"));
	cr_expect(strncmp(out, "added:", 6) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), 2);
	char *after = idp_fixture_read_file(oam_path, NULL);
	cr_assert_not_null(after);
	/* The file's own comments and header are there, byte for byte. */
	size_t head_len = (size_t)(strstr(before, "  components:") - before);
	cr_expect(strncmp(after, before, head_len) == 0, "the text before components: changed:\n%s", after);
	cr_expect(strstr(after, "  - name: orders\n    type: webservice\n") != NULL, "%s", after);
	cr_expect(strstr(after, "      source: api-driven\n") != NULL, "%s", after);
	char *log = must(RUN("git", "-C", f.repo, "log", "-1", "--format=%an <%ae>%n%B"));
	cr_expect(strstr(log, "Test <test@example.org>\n") != NULL, "%s", log);
	cr_expect(strstr(log, "Idp-Source: api-driven\nIdp-Claim: orders\n") != NULL, "%s", log);
	free(log);
	char *files = must(RUN("git", "-C", f.repo, "ls-files", "manifests/shop", "claims"));
	cr_expect(strstr(files, "manifests/shop/service-orders.yaml\n") != NULL, "rendered in the same commit:\n%s", files);
	cr_expect(strstr(files, "claims/orders.yaml\n") != NULL, "the claim is kept:\n%s", files);
	free(files);

	/* Again: nothing to do, no commit. */
	out = must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim));
	cr_expect(strncmp(out, "unchanged:", 10) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), 2);

	/* From the OAM file (any letter case), or with no annotation: never edited. */
	char *oam_claim = claim_file(f.dir, "oam.yaml", "payments", "OAM-driven");
	out = must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", oam_claim));
	cr_expect(strncmp(out, "skipped:", 8) == 0 && strstr(out, "never edited"), "%s", out);
	free(out);
	char *bare_claim = claim_file(f.dir, "bare.yaml", "payments", NULL);
	out = must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", bare_claim));
	cr_expect(strstr(out, "no webservice.oam.dev/source annotation") != NULL, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), 2);

	/* Rollback: a third commit with the first one's content. */
	out = must(RUN(IDP_BIN, "rollback", f.repo, "HEAD~1"));
	cr_expect(strncmp(out, "rolled back:", 12) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), 3);
	ran same = RUN("git", "-C", f.repo, "diff", "--quiet", "HEAD~2", "HEAD");
	cr_expect_eq(same.status, 0, "HEAD's tree is not the first commit's");
	ran_free(&same);
	char *restored = idp_fixture_read_file(oam_path, NULL);
	cr_expect_str_eq(restored, before, "the working tree follows the rollback");
	char *hist = must(RUN(IDP_BIN, "history", f.repo));
	cr_expect(strstr(hist, "rollback") && strstr(hist, "api-driven") && strstr(hist, "init"), "%s", hist);
	cr_expect(strstr(hist, "[+orders]") && strstr(hist, "[-orders]"), "%s", hist);
	free(hist);
	char *diff = must(RUN(IDP_BIN, "diff", f.repo, "HEAD~1", "HEAD"));
	cr_expect(strstr(diff, "- Service/default/orders\n") != NULL, "%s", diff);
	free(diff);
	ran st = RUN("git", "-C", f.repo, "status", "--porcelain");
	cr_expect_str_eq(st.out, "", "the working tree is clean");
	ran_free(&st);
	expect_fsck(f.repo);
	free(restored);
	free(bare_claim);
	free(oam_claim);
	free(claim);
	free(after);
	free(before);
	repo_free(&f);
}

Test(gitops_repo, bad_input_leaves_the_repository_unchanged, .timeout = 60)
{
	repo_fixture f = new_repo();
	char *head = head_of(f.repo);
	static const char *const bad[] = {"../x", "Orders", "a2345678901234567890123456789012345678901234567890123456789012345"};
	for (size_t i = 0; i < 3; i++) {
		char *claim = claim_file(f.dir, "bad.yaml", bad[i], "api-driven");
		ran r = RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim);
		cr_expect_eq(r.status, 2, "%s: exit %d\n%s", bad[i], r.status, r.err);
		cr_expect(strstr(r.err, "invalid service name") || strstr(r.err, "metadata.name"), "%s", r.err);
		ran_free(&r);
		free(claim);
	}
	ran r = RUN(IDP_BIN, "gitops", "init", "Shop", "--dir", f.dir);
	cr_expect_eq(r.status, 2, "%s", r.err);
	ran_free(&r);
	r = RUN(IDP_BIN, "gitops", "init", "shop", "--dir", f.dir);
	cr_expect_eq(r.status, 2, "an existing repository is not overwritten: %s", r.err);
	ran_free(&r);
	/* An OAM file that is not an Application (committed with git itself). */
	char oam_path[4096];
	snprintf(oam_path, sizeof oam_path, "%s/" IDP_GITOPS_OAM_FILE, f.repo);
	const char *cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-an-app\n";
	FILE *fp = fopen(oam_path, "w");
	cr_assert_not_null(fp);
	fputs(cm, fp);
	fclose(fp);
	free(must(RUN("git", "-C", f.repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "break it")));
	free(head);
	head = head_of(f.repo);
	char *claim = claim_file(f.dir, "ok.yaml", "orders", "api-driven");
	r = RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect(strstr(r.err, IDP_GITOPS_OAM_FILE) && strstr(r.err, "not an OAM Application"), "%s", r.err);
	ran_free(&r);
	char *now = head_of(f.repo);
	cr_expect_str_eq(now, head, "a failed update moved the branch");
	free(now);
	free(claim);
	free(head);
	expect_fsck(f.repo);
	repo_free(&f);
}

/* kubectl >= 1.21 carries kustomize; Debian's kubernetes-client (1.20) does not. */
static bool have_kustomize(void)
{
	if (!idp_fixture_have_program("kubectl"))
		return false;
	ran r = RUN("kubectl", "kustomize", "--help");
	bool ok = r.status == 0;
	ran_free(&r);
	return ok;
}

Test(gitops_repo, every_kustomization_builds, .timeout = 120)
{
	if (!have_kustomize())
		cr_skip_test("kubectl with kustomize (>= 1.21) is not on PATH");
	repo_fixture f = new_repo();
	char *claim = claim_file(f.dir, "claim.yaml", "orders", "api-driven");
	free(must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim)));
	static const char *const dirs[] = {"environments/dev", "environments/staging", "environments/production",
					   "platform", "manifests/shop"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", f.repo, dirs[i]);
		char *out = must(RUN("kubectl", "kustomize", path));
		if (strncmp(dirs[i], "environments/", 13) == 0) {
			char ns[128];
			snprintf(ns, sizeof ns, "namespace: shop-%s\n", dirs[i] + 13);
			cr_expect(strstr(out, ns) != NULL, "%s: %s", dirs[i], out);
		}
		if (strcmp(dirs[i], "environments/production") == 0)
			cr_expect(strstr(out, "autoscaling.knative.dev/min-scale: \"1\"") != NULL, "%s", out);
		char name[64];
		snprintf(name, sizeof name, "built/%zu.yaml", i);
		free(idp_fixture_write_file(f.dir, name, out, strlen(out)));
		free(out);
	}
	/* What the overlays build passes the published schemas (claims have
	 * none: the validator skips them). */
	const char *validator = IDP_SOURCE_ROOT "/../shared/tools/validate-manifests";
	if (access(validator, X_OK) == 0 && idp_fixture_have_program("node")) {
		char built[4200];
		snprintf(built, sizeof built, "%s/built", f.dir);
		ran v = RUN(validator, built);
		cr_expect_eq(v.status, 0, "validate-manifests:\n%s%s", v.out, v.err);
		ran_free(&v);
	}
	free(claim);
	repo_free(&f);
}

/* 200 updates, some killed at a random moment: the repository stays sound,
 * every acknowledged commit is on the branch, and later updates are not
 * blocked by what a killed one left. */
Test(gitops_repo, killed_updates_leave_a_sound_repository, .timeout = 300)
{
	repo_fixture f = new_repo();
	srand(12345);
	char acked[200][41];
	size_t n_acked = 0, killed = 0;
	for (int i = 0; i < 200; i++) {
		char name[32], svc[32];
		snprintf(name, sizeof name, "c%03d.yaml", i);
		snprintf(svc, sizeof svc, "svc-%03d", i);
		char *claim = claim_file(f.dir, name, svc, "api-driven");
		bool kill_it = rand() % 3 == 0;
		double limit = kill_it ? 0.001 + (rand() % 40) / 1000.0 : 60.0;
		char *argv[] = {(char *)IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim, NULL};
		char *out = NULL, *err = NULL;
		int st = idp_fixture_run_timeout(argv, NULL, &out, &err, limit);
		if (st == 0) {
			const char *c = strstr(out, "(commit ");
			cr_assert_not_null(c, "%s", out);
			snprintf(acked[n_acked++], 41, "%.7s", c + 8);
		} else {
			cr_expect_eq(st, 128 + 9, "run %d: exit %d\n%s", i, st, err);
			killed++;
		}
		free(out);
		free(err);
		free(claim);
	}
	cr_expect_gt(killed, 10, "the test killed too few runs (%zu) to mean anything", killed);
	cr_expect_gt(n_acked, 50);
	expect_fsck(f.repo);
	for (size_t i = 0; i < n_acked; i++) {
		ran r = RUN("git", "-C", f.repo, "merge-base", "--is-ancestor", acked[i], "HEAD");
		cr_expect_eq(r.status, 0, "acknowledged commit %s is not on the branch", acked[i]);
		ran_free(&r);
	}
	/* And the repository still takes updates. */
	char *claim = claim_file(f.dir, "last.yaml", "last-one", "api-driven");
	char *out = must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim));
	cr_expect(strncmp(out, "added:", 6) == 0, "%s", out);
	free(out);
	free(claim);
	expect_fsck(f.repo);
	repo_free(&f);
}

/* ---------------------------------------------------------------- set one value as text */

#include "gitops/gitops_private.h"

static void expect_set(const char *in, const idp_gitops_path_step *path, size_t n, const char *value, const char *want)
{
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	const char *out;
	size_t len;
	int rc = gitops_yaml_set(a, "f.yaml", in, strlen(in), 0, path, n, value, &out, &len, &err);
	cr_assert_eq(rc, 0, "%s", tu_errstr(&err));
	cr_expect_str_eq(out, want, "\n--- got ---\n%s--- want ---\n%s", out, want);
	idp_err_clear(&err);
	idp_arena_free(a);
}

Test(gitops, yaml_set_replaces_a_value_where_it_stands)
{
	const idp_gitops_path_step p[] = {{"spec", 0}, {"components", 0}, {NULL, 1}, {"properties", 0}, {"image", 0}};
	expect_set("spec:\n  components:\n  - name: a\n    properties: {image: a:1}\n  - name: b # b\n    properties:\n"
		   "      image: 'b:1'   # pinned\n      port: 80\n",
		   p, 5, "\"b:2\"",
		   "spec:\n  components:\n  - name: a\n    properties: {image: a:1}\n  - name: b # b\n    properties:\n"
		   "      image: \"b:2\"   # pinned\n      port: 80\n");
}

Test(gitops, yaml_set_adds_missing_keys_to_the_deepest_map)
{
	const idp_gitops_path_step p[] = {{"metadata", 0}, {"annotations", 0}, {"app.version", 0}};
	/* No annotations: under metadata, after its last line, at its keys' column. */
	expect_set("metadata:\n  name: shop  # the app\n  labels: {a: b}\nspec: {}\n", p, 3, "\"1.2\"",
		   "metadata:\n  name: shop  # the app\n  labels: {a: b}\n  annotations:\n    app.version: \"1.2\"\nspec: {}\n");
	/* annotations: with nothing (null): under the key. */
	expect_set("metadata:\n  annotations:\n  name: shop\n", p, 3, "\"1.2\"",
		   "metadata:\n  annotations:\n    app.version: \"1.2\"\n  name: shop\n");
	/* A block map with other keys: appended to it. */
	expect_set("metadata:\n  annotations:\n    owner: me\n  name: shop\n", p, 3, "\"1.2\"",
		   "metadata:\n  annotations:\n    owner: me\n    app.version: \"1.2\"\n  name: shop\n");
	/* A flow map gets one more entry. */
	expect_set("metadata:\n  annotations: {owner: me}\n", p, 3, "\"1.2\"",
		   "metadata:\n  annotations: {owner: me, app.version: \"1.2\"}\n");
	/* CRLF stays. */
	expect_set("metadata:\r\n  name: shop\r\n", p, 3, "\"1.2\"",
		   "metadata:\r\n  name: shop\r\n  annotations:\r\n    app.version: \"1.2\"\r\n");
}

/* `key:` with no value is an empty range after the colon: the value gets
 * its blank. A null document before the Application does not count. */
Test(gitops, yaml_set_fills_an_empty_value_and_skips_null_documents)
{
	const idp_gitops_path_step p[] = {{"metadata", 0}, {"annotations", 0}, {"app.version", 0}};
	expect_set("metadata:\n  annotations:\n    app.version:\n  name: x\n", p, 3, "\"1.2\"",
		   "metadata:\n  annotations:\n    app.version: \"1.2\"\n  name: x\n");
	char want[2048];
	snprintf(want, sizeof want, "---\n# placeholder\n---\n" HEAD "spec:\n  components:\n%s", component(2, 4, "\n"));
	expect_edit("---\n# placeholder\n---\n" HEAD "spec:\n  components: []\n", want);
}

Test(gitops_repo, release_versions_tags_and_set_image, .timeout = 120)
{
	repo_fixture f = new_repo();
	char *claim = claim_file(f.dir, "claim.yaml", "orders", "api-driven");
	free(must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", f.repo, "--claim", claim)));
	size_t before = count_commits(f.repo);
	char *out = must(RUN(IDP_BIN, "release", "set-image", f.repo, "orders", "ghcr.io/acme/orders:1.4.2", "--version",
			     "1.4.abc1234", "--commit", "abc1234"));
	cr_expect(strncmp(out, "set:", 4) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), before + 1);
	char *oam = must(RUN("git", "-C", f.repo, "show", "HEAD:" IDP_GITOPS_OAM_FILE));
	cr_expect(strstr(oam, "      image: \"ghcr.io/acme/orders:1.4.2\"\n") != NULL, "%s", oam);
	cr_expect(strstr(oam, "    app.version: \"1.4.abc1234\"\n    app.commit-sha: \"abc1234\"\n") != NULL, "%s", oam);
	free(oam);
	char *svc = must(RUN("git", "-C", f.repo, "show", "HEAD:manifests/shop/service-orders.yaml"));
	cr_expect(strstr(svc, "image: ghcr.io/acme/orders:1.4.2\n") != NULL, "re-rendered in the same commit:\n%s", svc);
	free(svc);
	/* The same again: no commit. An unknown component: exit 2, with a hint. */
	out = must(RUN(IDP_BIN, "release", "set-image", f.repo, "orders", "ghcr.io/acme/orders:1.4.2", "--version",
		       "1.4.abc1234", "--commit", "abc1234"));
	cr_expect(strncmp(out, "unchanged:", 10) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(f.repo), before + 1);
	ran r = RUN(IDP_BIN, "release", "set-image", f.repo, "order", "x:1");
	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "did you mean orders") != NULL, "%s", r.err);
	ran_free(&r);
	r = RUN(IDP_BIN, "release", "set-image", f.repo, "orders", "bad image");
	cr_expect_eq(r.status, 2);
	ran_free(&r);

	/* A source repository with .version 2.3, on branch feature/Login. */
	char src[4096];
	snprintf(src, sizeof src, "%s/src", f.dir);
	free(must(RUN("git", "init", "-q", "-b", "feature/Login", src)));
	free(idp_fixture_write_file(src, ".version", "2.3\n", 4));
	free(must(RUN("git", "-C", src, "add", ".version")));
	free(must(RUN("git", "-C", src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v")));
	char *sha = must(RUN("git", "-C", src, "rev-parse", "--short=7", "HEAD"));
	sha[strcspn(sha, "\n")] = '\0';
	char want[256];
	snprintf(want, sizeof want, "2.3.%s\n", sha);
	out = must(RUN(IDP_BIN, "release", "version", "--source", src));
	cr_expect_str_eq(out, want);
	free(out);
	snprintf(want, sizeof want, "r.io/orders:2.3.%s,r.io/orders:%s,r.io/orders:feature-login-%s\n", sha, sha, sha);
	out = must(RUN(IDP_BIN, "release", "tags", "orders", "--source", src, "--registry", "r.io"));
	cr_expect_str_eq(out, want);
	free(out);
	snprintf(want, sizeof want,
		 "r.io/orders:2.3.%s,r.io/orders:%s,r.io/orders:main-%s,r.io/orders:latest,r.io/orders:2,r.io/orders:2.3\n",
		 sha, sha, sha);
	out = must(RUN(IDP_BIN, "release", "tags", "orders", "--source", src, "--registry", "r.io", "--branch", "main"));
	cr_expect_str_eq(out, want);
	free(out);
	free(sha);
	free(claim);
	expect_fsck(f.repo);
	repo_free(&f);
}

/* ---------------------------------------------------------------- remotes */

#ifndef IDP_SOURCE_ROOT
#error "IDP_SOURCE_ROOT must be defined by the build"
#endif

/* A bare repository dir/name on branch main (receive-pack over HTTP allowed). */
static char *bare_remote(const char *dir, const char *name)
{
	char *path = NULL;
	cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	free(must(RUN("git", "init", "-q", "--bare", "-b", "main", path)));
	free(must(RUN("git", "-C", path, "config", "http.receivepack", "true")));
	return path;
}

static char *remote_log(const char *bare)
{
	return must(RUN("git", "-C", bare, "log", "--format=%s", "main"));
}

Test(gitops_repo, file_remote_push_and_fetch, .timeout = 120)
{
	char *dir = idp_fixture_tmpdir();
	char *bare = bare_remote(dir, "remote.git");
	char url[4200];
	snprintf(url, sizeof url, "file://%s", bare);
	char *repo = must(RUN(IDP_BIN, "gitops", "init", "shop", "--dir", dir, "--remote", url));
	repo[strcspn(repo, "\n")] = '\0';
	char *log = remote_log(bare);
	cr_expect_str_eq(log, "Create the GitOps repository of shop\n");
	free(log);
	/* Someone else pushes; the next update fetches it first and goes on top. */
	char other[4200];
	snprintf(other, sizeof other, "%s/other", dir);
	free(must(RUN("git", "clone", "-q", url, other)));
	free(idp_fixture_write_file(other, "NOTES.md", "hello\n", 6));
	free(must(RUN("git", "-C", other, "add", "NOTES.md")));
	free(must(RUN("git", "-C", other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm", "someone else")));
	free(must(RUN("git", "-C", other, "push", "-q", "origin", "main")));
	char *claim = claim_file(dir, "claim.yaml", "orders", "api-driven");
	free(must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", repo, "--claim", claim)));
	log = remote_log(bare);
	cr_expect_str_eq(log, "Add webservice orders (python/fastapi)\nsomeone else\nCreate the GitOps repository of shop\n");
	free(log);
	expect_fsck(repo);
	expect_fsck(bare);
	free(claim);
	free(repo);
	free(bare);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(gitops_repo, git_daemon_remote, .timeout = 120)
{
	char *dir = idp_fixture_tmpdir();
	char *bare = bare_remote(dir, "remote.git");
	int port = idp_fixture_free_port();
	char portarg[32], base[4200], url[256];
	snprintf(portarg, sizeof portarg, "--port=%d", port);
	snprintf(base, sizeof base, "--base-path=%s", dir);
	char *argv[] = {"git", "daemon", "--reuseaddr", "--listen=127.0.0.1", portarg, base, "--export-all",
			"--enable=receive-pack", dir, NULL};
	idp_fixture_daemon *d = idp_fixture_daemon_start("git-daemon", argv, dir, port, 10.0);
	cr_assert_not_null(d, "git daemon did not start");
	snprintf(url, sizeof url, "git://127.0.0.1:%d/remote.git", port);
	char *repo = must(RUN(IDP_BIN, "gitops", "init", "shop", "--dir", dir, "--remote", url));
	repo[strcspn(repo, "\n")] = '\0';
	char *claim = claim_file(dir, "claim.yaml", "orders", "api-driven");
	free(must(RUN(IDP_BIN, "gitops", "add-component", "--gitops", repo, "--claim", claim)));
	char *log = remote_log(bare);
	cr_expect_str_eq(log, "Add webservice orders (python/fastapi)\nCreate the GitOps repository of shop\n");
	free(log);
	/* A remote that refuses (a hook): exit 1, the local branch where it was. */
	char hook[4200];
	snprintf(hook, sizeof hook, "%s/hooks/pre-receive", bare);
	FILE *h = fopen(hook, "w");
	cr_assert_not_null(h);
	fputs("#!/bin/sh\necho 'frozen for the release' >&2\nexit 1\n", h);
	fclose(h);
	chmod(hook, 0755);
	char *head = head_of(repo);
	ran r = RUN(IDP_BIN, "release", "set-image", repo, "orders", "ghcr.io/acme/orders:9");
	cr_expect_eq(r.status, 1, "%s", r.err);
	cr_expect(strstr(r.err, "refused") != NULL, "%s", r.err);
	ran_free(&r);
	char *now = head_of(repo);
	cr_expect_str_eq(now, head, "the local branch moved although the push failed");
	ran st = RUN("git", "-C", repo, "status", "--porcelain");
	cr_expect_str_eq(st.out, "", "the working tree followed the branch back");
	ran_free(&st);
	free(now);
	free(head);
	idp_fixture_daemon_stop(d);
	expect_fsck(repo);
	expect_fsck(bare);
	free(claim);
	free(repo);
	free(bare);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(gitops_repo, http_remote_with_a_token_from_a_file, .timeout = 120)
{
	char *dir = idp_fixture_tmpdir();
	char *bare = bare_remote(dir, "remote.git");
	char *token = idp_fixture_write_file(dir, "token", "s3cret-token\n", 13);
	char *wrong = idp_fixture_write_file(dir, "wrong", "nope\n", 5);
	int port = idp_fixture_free_port();
	char portstr[16], url[256];
	snprintf(portstr, sizeof portstr, "%d", port);
	char *argv[] = {"python3", IDP_SOURCE_ROOT "/tests/gitops/http_git.py", portstr, dir, token, NULL};
	idp_fixture_daemon *d = idp_fixture_daemon_start("http-git", argv, dir, port, 10.0);
	cr_assert_not_null(d, "the git HTTP server did not start");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/remote.git", port);
	/* Credentials in the URL are refused, before anything is written. */
	char with_creds[256];
	snprintf(with_creds, sizeof with_creds, "http://x:s3cret-token@127.0.0.1:%d/remote.git", port);
	ran r = RUN(IDP_BIN, "gitops", "init", "nope", "--dir", dir, "--remote", with_creds, "--token-file", token);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect(strstr(r.err, "--token-file") != NULL, "%s", r.err);
	ran_free(&r);
	char *repo = must(RUN(IDP_BIN, "gitops", "init", "shop", "--dir", dir, "--remote", url, "--token-file", token));
	repo[strcspn(repo, "\n")] = '\0';
	char *claim = claim_file(dir, "claim.yaml", "orders", "api-driven");
	r = RUN(IDP_BIN, "gitops", "add-component", "--gitops", repo, "--claim", claim, "--token-file", wrong);
	cr_expect_eq(r.status, 1, "a wrong token: %s", r.err);
	cr_expect(strstr(r.err, "refused the token") != NULL, "%s", r.err);
	cr_expect(strstr(r.err, "nope") == NULL && strstr(r.out, "nope") == NULL, "the token was printed");
	ran_free(&r);
	r = RUN(IDP_BIN, "gitops", "add-component", "--gitops", repo, "--claim", claim, "--token-file", token);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.err, "s3cret") == NULL && strstr(r.out, "s3cret") == NULL, "the token was printed");
	ran_free(&r);
	char *log = remote_log(bare);
	cr_expect_str_eq(log, "Add webservice orders (python/fastapi)\nCreate the GitOps repository of shop\n");
	free(log);
	char config[4200];
	snprintf(config, sizeof config, "%s/.git/config", repo);
	char *cfg = idp_fixture_read_file(config, NULL);
	cr_expect(cfg && !strstr(cfg, "s3cret"), "the token is in .git/config:\n%s", cfg);
	free(cfg);
	idp_fixture_daemon_stop(d);
	free(claim);
	free(repo);
	free(wrong);
	free(token);
	free(bare);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* Two clones push to one remote at the same time: each update that loses
 * the race is made again on the winner's commit; every component lands. */
Test(gitops_repo, concurrent_clones_redo_on_the_remote_head, .timeout = 180)
{
	char *dir = idp_fixture_tmpdir();
	char *bare = bare_remote(dir, "remote.git");
	char url[4200], second[4200];
	snprintf(url, sizeof url, "file://%s", bare);
	char *first = must(RUN(IDP_BIN, "gitops", "init", "shop", "--dir", dir, "--remote", url));
	first[strcspn(first, "\n")] = '\0';
	snprintf(second, sizeof second, "%s/second", dir);
	free(must(RUN("git", "clone", "-q", url, second)));
	char script[8192];
	size_t len = (size_t)snprintf(script, sizeof script, "set -e\n");
	for (int i = 0; i < 6; i++) {
		char a[32], b[32];
		snprintf(a, sizeof a, "a%d.yaml", i);
		snprintf(b, sizeof b, "b%d.yaml", i);
		char sa[16], sb[16];
		snprintf(sa, sizeof sa, "svc-a%d", i);
		snprintf(sb, sizeof sb, "svc-b%d", i);
		free(claim_file(dir, a, sa, "api-driven"));
		free(claim_file(dir, b, sb, "api-driven"));
		len += (size_t)snprintf(script + len, sizeof script - len,
					"'%s' gitops add-component --gitops '%s' --claim '%s/%s' >/dev/null & p1=$!\n"
					"'%s' gitops add-component --gitops '%s' --claim '%s/%s' >/dev/null & p2=$!\n"
					"wait $p1; wait $p2\n",
					IDP_BIN, first, dir, a, IDP_BIN, second, dir, b);
	}
	ran r = RUN("sh", "-c", script);
	cr_expect_eq(r.status, 0, "%s", r.err);
	ran_free(&r);
	char *oam = must(RUN("git", "-C", bare, "show", "main:" IDP_GITOPS_OAM_FILE));
	for (int i = 0; i < 6; i++) {
		char want[64];
		snprintf(want, sizeof want, "- name: svc-a%d\n", i);
		cr_expect(strstr(oam, want) != NULL, "%s missing:\n%s", want, oam);
		snprintf(want, sizeof want, "- name: svc-b%d\n", i);
		cr_expect(strstr(oam, want) != NULL, "%s missing:\n%s", want, oam);
	}
	free(oam);
	expect_fsck(bare);
	free(first);
	free(bare);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* ---------------------------------------------------------------- scaffold */

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

/* method path (with a JSON body when body is not NULL) to 127.0.0.1:port;
 * the whole response into buf. Returns the status. */
static int http_call(int port, const char *method, const char *path, const char *body, char *buf, size_t n)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char req[1024];
	int len = body ? snprintf(req, sizeof req,
				  "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
				  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				  method, path, strlen(body), body)
		       : snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
				  method, path);
	if (len < 0 || (size_t)len >= sizeof req || write(fd, req, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	ssize_t r;
	while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd);
	return got > 9 ? atoi(buf + 9) : -1;
}

static int http_get(int port, const char *path, char *buf, size_t n)
{
	return http_call(port, "GET", path, NULL, buf, n);
}

static void expect_health(int port, const char *service)
{
	char body[4096];
	int status = http_get(port, "/health", body, sizeof body);
	cr_expect_eq(status, 200, "%s", body);
	cr_expect(strstr(body, "\"status\":\"healthy\"") || strstr(body, "\"status\": \"healthy\""), "%s", body);
	cr_expect(strstr(body, service) != NULL, "%s", body);
}

Test(gitops_repo, scaffold_c_builds_tests_and_serves_health, .timeout = 180)
{
	char *dir = idp_fixture_tmpdir();
	char repo[1024], svc[2048];
	snprintf(repo, sizeof repo, "%s/shop", dir);
	snprintf(svc, sizeof svc, "%s/microservices/billing", repo);
	char *out = must(RUN(IDP_BIN, "gitops", "scaffold", "billing", "--language", "c", "--dir", repo));
	cr_expect(strncmp(out, "scaffolded:", 11) == 0, "%s", out);
	free(out);
	out = must(RUN(IDP_BIN, "gitops", "scaffold", "billing", "--language", "c", "--dir", repo));
	cr_expect(strncmp(out, "unchanged:", 10) == 0, "%s", out);
	free(out);
	cr_expect_eq(count_commits(repo), 1);
	char path[4096];
	snprintf(path, sizeof path, "%s/.version", repo);
	char *v = idp_fixture_read_file(path, NULL);
	cr_expect_str_eq(v ? v : "", "1.1\n");
	free(v);
	static const char *const layout[] = {"src/domain/health.c", "src/application/health_service.c",
					     "src/infrastructure/clock.c", "src/interface/main.c", "tests/test_health.c",
					     "Dockerfile", ".dockerignore", "idp-local.yaml", "subprojects/idp-service/meson.build",
					     "subprojects/idp-service/include/idp/service.h"};
	for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", svc, layout[i]);
		cr_expect_eq(access(path, R_OK), 0, "%s missing", layout[i]);
	}
	/* The SDK is vendored as it is in sdk/, byte for byte ({{service}}
	 * marks are not expanded in it). */
	size_t n_files, n_sdk = 0;
	const idp_embedded_file *files = idp_embedded_list(&n_files);
	for (size_t i = 0; i < n_files; i++) {
		if (strncmp(files[i].name, "sdk/", 4) != 0)
			continue;
		n_sdk++;
		char src[4096];
		snprintf(path, sizeof path, "%s/subprojects/idp-service/%s", svc, files[i].name + 4);
		snprintf(src, sizeof src, "%s/%s", IDP_SOURCE_ROOT, files[i].name);
		size_t got_len = 0, want_len = 0;
		char *got = idp_fixture_read_file(path, &got_len), *want = idp_fixture_read_file(src, &want_len);
		cr_expect(got && want && got_len == want_len && memcmp(got, want, got_len) == 0,
			  "%s is not sdk/%s", path, files[i].name + 4);
		free(got);
		free(want);
	}
	cr_expect_geq(n_sdk, 3, "the SDK's files are embedded");
	snprintf(path, sizeof path, "%s/meson.build", svc);
	char *mb = idp_fixture_read_file(path, NULL);
	cr_expect(mb && strstr(mb, "dependency('idp-service', fallback : ['idp-service', 'idp_service_dep'])"), "%s",
		  mb ? mb : "no meson.build");
	free(mb);
	char build[2560];
	snprintf(build, sizeof build, "%s/build", svc);
	free(must(RUN("meson", "setup", build, svc)));
	free(must(RUN("ninja", "-C", build)));
	free(must(RUN("meson", "test", "-C", build)));
	int port = idp_fixture_free_port();
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "PORT=%d exec '%s/billing'", port, build);
	char *argv[] = {"sh", "-c", cmd, NULL};
	idp_fixture_daemon *d = idp_fixture_daemon_start("billing", argv, dir, port, 10.0);
	cr_assert_not_null(d);
	expect_health(port, "billing");
	/* The SDK's routes: GET / names the service and its POST /check. */
	char body[8192];
	cr_expect_eq(http_get(port, "/", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "\"service\":\"billing\"") && strstr(body, "\"check\""), "%s", body);
	cr_expect_eq(http_get(port, "/openapi.json", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "\"/check\"") != NULL, "%s", body);
	cr_expect_eq(http_get(port, "/docs", body, sizeof body), 200, "%s", body);
	cr_expect_eq(http_call(port, "POST", "/check", "{\"query\":\"now\"}", body, sizeof body), 200, "%s", body);
	cr_expect(strstr(body, "\"result\":{\"service\":\"billing\",\"status\":\"healthy\",\"checked_at\":\""),
		  "the application's use case: %s", body);
	idp_fixture_daemon_stop(d);
	ran r = RUN(IDP_BIN, "gitops", "scaffold", "Bad_Name", "--language", "c", "--dir", repo);
	cr_expect_eq(r.status, 2);
	ran_free(&r);
	r = RUN(IDP_BIN, "gitops", "scaffold", "x", "--language", "cobol", "--dir", repo);
	cr_expect_eq(r.status, 2);
	ran_free(&r);
	expect_fsck(repo);
	idp_fixture_rmtree(dir);
	free(dir);
}

/* The developer's staged work survives a commit made by idp. */
Test(gitops_repo, staged_changes_are_kept, .timeout = 60)
{
	char *dir = idp_fixture_tmpdir();
	char repo[1024];
	snprintf(repo, sizeof repo, "%s/app", dir);
	free(must(RUN("git", "init", "-q", "-b", "main", repo)));
	free(idp_fixture_write_file(repo, "NOTES.md", "mine\n", 5));
	free(must(RUN("git", "-C", repo, "add", "NOTES.md")));
	ran r = RUN(IDP_BIN, "gitops", "scaffold", "orders", "--language", "c", "--dir", repo);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.err, "staged") != NULL, "no warning: %s", r.err);
	ran_free(&r);
	char path[1100];
	snprintf(path, sizeof path, "%s/NOTES.md", repo);
	char *notes = idp_fixture_read_file(path, NULL);
	cr_expect(notes && strcmp(notes, "mine\n") == 0, "the staged file went away");
	free(notes);
	char *st = must(RUN("git", "-C", repo, "diff", "--cached", "--name-only"));
	cr_expect(strstr(st, "NOTES.md") != NULL, "NOTES.md is no longer staged: %s", st);
	free(st);
	idp_fixture_rmtree(dir);
	free(dir);
}

Test(gitops_repo, a_remote_with_credentials_leaves_nothing_behind, .timeout = 60)
{
	char *dir = idp_fixture_tmpdir();
	ran r = RUN(IDP_BIN, "gitops", "init", "demo", "--dir", dir, "--remote", "https://x-access-token:SECRET1@example.org/o/r.git");
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect(strstr(r.err, "SECRET1") == NULL, "the token is in the message: %s", r.err);
	ran_free(&r);
	char path[1100];
	snprintf(path, sizeof path, "%s/demo-gitops", dir);
	cr_expect_neq(access(path, F_OK), 0, "a repository was made anyway");
	idp_fixture_rmtree(dir);
	free(dir);
}

/* Debian's python3 with python3-fastapi and python3-uvicorn: what the
 * local runtime uses (idp-local.yaml). */
static const char *debian_python(void)
{
	static const char *const py = "/usr/bin/python3";
	if (access(py, X_OK) != 0)
		return NULL;
	ran r = RUN(py, "-c", "import fastapi, uvicorn");
	bool ok = r.status == 0;
	ran_free(&r);
	return ok ? py : NULL;
}

Test(gitops_repo, scaffold_python_tests_and_serves_health, .timeout = 180)
{
	const char *py = debian_python();
	if (!py)
		cr_skip_test("Debian's python3-fastapi and python3-uvicorn are not installed");
	char *dir = idp_fixture_tmpdir();
	char repo[1024], svc[2048];
	snprintf(repo, sizeof repo, "%s/shop", dir);
	snprintf(svc, sizeof svc, "%s/microservices/orders", repo);
	free(must(RUN(IDP_BIN, "gitops", "scaffold", "orders", "--language", "python", "--framework", "fastapi", "--dir",
		      repo)));
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -m unittest discover -s tests", svc, py);
	free(must(RUN("sh", "-c", cmd)));
	int port = idp_fixture_free_port();
	snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' -m uvicorn src.interface.app:app --host 127.0.0.1 --port %d", svc, py,
		 port);
	char *argv[] = {"sh", "-c", cmd, NULL};
	idp_fixture_daemon *d = idp_fixture_daemon_start("orders", argv, dir, port, 20.0);
	cr_assert_not_null(d);
	expect_health(port, "orders");
	idp_fixture_daemon_stop(d);
	idp_fixture_rmtree(dir);
	free(dir);
}
