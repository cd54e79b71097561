/*
 * The gitops room (suite "gitops"): the OAM updater's edit on text, with the
 * inputs that broke the original updater (original-system.md §3.3): a
 * commented example holding `components:`, `components: []`, a name that
 * is a substring of another, CRLF line endings. Expected files are written
 * out by hand: every byte of the input is kept and the component follows
 * the last one, indented like it.
 */
#include <criterion/criterion.h>

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
