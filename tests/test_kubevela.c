/* KubeVela's own built-in definitions (vela-templates/definitions/internal in
 * the kubevela repository, kept out of this repository) loaded from the
 * directory named by $IDP_KUBEVELA_DEFS; SKIP when it is not set. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define APP IDP_SOURCE_ROOT "/tests/kubevela/app.yaml"
#define VALIDATOR IDP_SOURCE_ROOT "/../shared/tools/validate-manifests"

static const char *defs_dir(void)
{
	const char *d = getenv("IDP_KUBEVELA_DEFS");
	if (!d || !*d)
		cr_skip_test("SKIP: IDP_KUBEVELA_DEFS is not set (a checkout's vela-templates/definitions/internal)");
	return d;
}

static const char *const must_vet[] = {
	"component/webservice.cue", "component/worker.cue", "component/task.cue", "component/cron-task.cue",
	"component/daemon.cue", "trait/scaler.cue", "trait/labels.cue", "trait/annotations.cue", "trait/env.cue",
	"trait/gateway.cue", "trait/sidecar.cue", "trait/expose.cue", "trait/storage.cue", "trait/command.cue",
	"trait/container-image.cue", "trait/resource.cue",
};

Test(kubevela, the_must_render_definitions_vet)
{
	const char *dir = defs_dir();
	for (size_t i = 0; i < sizeof(must_vet) / sizeof(must_vet[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, must_vet[i]);
		char *out = NULL, *err = NULL;
		char *argv[] = {IDP_BIN, "def", "vet", path, NULL};
		int rc = idp_fixture_run(argv, NULL, &out, &err);
		cr_expect_eq(rc, 0, "%s: idp def vet exit %d: %s", must_vet[i], rc, err);
		free(out);
		free(err);
	}
}

Test(kubevela, an_app_using_every_must_render_type_renders_and_validates)
{
	const char *dir = defs_dir();
	char *out = NULL, *err = NULL;
	char *argv[] = {IDP_BIN, "render", "-f", APP, "-d", (char *)dir, NULL};
	int rc = idp_fixture_run(argv, NULL, &out, &err);
	cr_assert_eq(rc, 0, "idp render exit %d: %s", rc, err);
	static const char *const kinds[] = {"kind: Deployment", "kind: Service", "kind: Ingress", "kind: Job",
					    "kind: CronJob", "kind: DaemonSet"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		cr_expect(strstr(out, kinds[i]) != NULL, "no %s in:\n%s", kinds[i], out);
	cr_expect(strstr(out, "replicas: 2") && strstr(out, "name: proxy") && strstr(out, "image: nginx:1.25") &&
			  strstr(out, "mountPath: /tmp") && strstr(out, "cpu: 500m"),
		  "a trait's patch is missing:\n%s", out);
	if (access(VALIDATOR, X_OK) == 0) {
		char *vout = NULL, *verr = NULL;
		char *vargv[] = {VALIDATOR, "-", NULL};
		int vrc = idp_fixture_run(vargv, out, &vout, &verr);
		cr_expect_eq(vrc, 0, "validate-manifests: %s%s", vout, verr);
		free(vout);
		free(verr);
	}
	free(out);
	free(err);
}
