/*
 * The gateway's KPA (src/gateway/kpa.c) against Knative Serving's own
 * examples. Each test names where its numbers come from:
 *   autoscaler_test.go  knative/serving pkg/autoscaler/scaling/autoscaler_test.go
 *   bucketing_test.go   knative/serving pkg/autoscaler/aggregation/bucketing_test.go
 *   config.go           knative/serving pkg/autoscaler/config/config.go
 *   autoscaler.yaml     knative/serving config/core/configmaps/autoscaler.yaml
 *   validation          knative/serving pkg/apis/autoscaling/annotation_validation.go
 *   register.go         knative/serving pkg/apis/autoscaling/register.go
 *   target.go           knative/serving pkg/reconciler/autoscaling/resources/target.go
 *   scaler.go, kpa.go   knative/serving pkg/reconciler/autoscaling/kpa/
 *   docs                knative.dev/docs/serving/autoscaling/...
 *
 * autoscaler_test.go sets the stable and panic averages directly; here
 * they come from samples, so load() records a full 60 s window whose
 * stable (60 s) and panic (last 6 s) averages are the ones the Knative test
 * sets. The clock is the test's: nothing sleeps.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "doc/doc.h"
#include "gateway/kpa.h"

static idp_arena *arena;

static void setup(void)
{
	arena = idp_arena_new();
}

static void teardown(void)
{
	idp_arena_free(arena);
}

TestSuite(kpa, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

/* The annotations map, loaded from YAML as file "svc.yaml". */
static const idp_doc_node *annotations(const char *yaml)
{
	idp_doc_stream s = {0};
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_load(arena, "svc.yaml", yaml, strlen(yaml), NULL, &s, &err);
	cr_assert_eq(rc, 0, "loading failed: %s", err.msg ? err.msg : "?");
	cr_assert_eq(s.len, 1);
	return s.docs[0];
}

/* Configures defaults from the annotations; asserts success. */
static idp_gateway_kpa_config configured(const char *yaml, int64_t cc)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_err err = IDP_ERR_INIT;
	int rc = idp_gateway_kpa_configure(&c, yaml ? annotations(yaml) : NULL, cc, &err);
	cr_assert_eq(rc, 0, "configure failed: %s", err.msg ? err.msg : "?");
	idp_err_clear(&err);
	return c;
}

/* Configuring fails with IDP_EINPUT at (line, col) of key's value, with the
 * annotation's path and a message containing msg; the config is untouched. */
static void expect_error(const char *yaml, int64_t cc, const char *key, uint32_t line, uint32_t col,
			 const char *msg)
{
	idp_gateway_kpa_config c, before;
	idp_gateway_kpa_defaults(&c);
	before = c;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_gateway_kpa_configure(&c, annotations(yaml), cc, &err);
	cr_assert_eq(rc, IDP_EINPUT, "expected an input error for:\n%s", yaml);
	cr_assert_eq(err.code, IDP_EINPUT);
	cr_assert_str_eq(err.file, "svc.yaml");
	cr_assert_eq(err.line, line, "line %u, want %u (%s)", err.line, line, err.msg);
	cr_assert_eq(err.col, col, "col %u, want %u (%s)", err.col, col, err.msg);
	char path[256];
	snprintf(path, sizeof path, "metadata.annotations[\"%s\"]", key);
	cr_assert_str_eq(err.path, path);
	cr_assert(strstr(err.msg, msg) != NULL, "message \"%s\" lacks \"%s\"", err.msg, msg);
	cr_assert(memcmp(&c, &before, sizeof c) == 0, "a failed configure changed the config");
	idp_err_clear(&err);
}

/* One annotation "key: value" on line 1: the value starts after "key: ". */
static void expect_error1(const char *key, const char *value, const char *msg)
{
	char yaml[512];
	snprintf(yaml, sizeof yaml, "%s: %s\n", key, value);
	expect_error(yaml, 0, key, 1, (uint32_t)strlen(key) + 3, msg);
}

#define A "autoscaling.knative.dev/"

/* The DeciderSpec of autoscaler_test.go newTestAutoscaler: TargetValue =
 * target (utilization already applied), PanicThreshold 2, rates 10, stable
 * window 60 s. */
static idp_gateway_kpa_config test_spec(double target)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	c.target = target;
	c.target_utilization = 1.0;
	c.panic_threshold_pct = 200;
	c.max_scale_up_rate = 10;
	c.max_scale_down_rate = 10;
	c.stable_window_s = 60;
	return c;
}

/* Records v at every whole second in [from, to]. */
static void feed(idp_gateway_kpa *k, double from, double to, double v)
{
	for (double t = from; t <= to; t++)
		idp_gateway_kpa_record(k, t, v);
}

/* A 60 s window ending at `end` whose stable average is `stable` and whose
 * last 6 s (the panic window) average `panic`. */
static void load(idp_gateway_kpa *k, double end, double stable, double panic)
{
	double early = (stable * 60 - panic * 6) / 54;
	cr_assert_geq(early, 0, "load(%g, %g) cannot be made from non-negative samples", stable, panic);
	feed(k, end - 59, end - 6, early);
	feed(k, end - 5, end, panic);
}

static idp_gateway_kpa_decision at(idp_gateway_kpa *k, double now, int32_t ready)
{
	return idp_gateway_kpa_decide(k, now, ready);
}

/* Feeds v from just after *t up to `until`, then decides there. */
static int32_t run_to(idp_gateway_kpa *k, double *t, double until, double v, int32_t ready)
{
	feed(k, *t + 1, until, v);
	*t = until;
	return at(k, until, ready).desired;
}

/* ================================================================ configuration */

/* config.go defaultConfig(); autoscaler.yaml; anchors §4.2. */
Test(kpa, defaults_are_config_autoscaler)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	cr_assert_float_eq(c.target, 100, 1e-9);
	cr_assert_float_eq(c.target_utilization, 0.70, 1e-9);
	cr_assert_eq(c.container_concurrency, 0);
	cr_assert_eq(c.min_scale, 0);
	cr_assert_eq(c.max_scale, 0);
	cr_assert_eq(c.initial_scale, 1);
	cr_assert_eq(c.activation_scale, 1);
	cr_assert_float_eq(c.stable_window_s, 60, 1e-9);
	cr_assert_float_eq(c.panic_window_pct, 10, 1e-9);
	cr_assert_float_eq(c.panic_threshold_pct, 200, 1e-9);
	cr_assert_float_eq(c.max_scale_up_rate, 1000, 1e-9);
	cr_assert_float_eq(c.max_scale_down_rate, 2, 1e-9);
	cr_assert_float_eq(c.scale_to_zero_grace_s, 30, 1e-9);
	cr_assert_float_eq(c.scale_down_delay_s, 0, 1e-9);
	cr_assert(c.enable_scale_to_zero);
}

/* No annotations, unlimited concurrency: the cluster defaults stand. */
Test(kpa, no_annotations_keep_defaults)
{
	idp_gateway_kpa_config d, c = configured(NULL, 0);
	idp_gateway_kpa_defaults(&d);
	cr_assert(memcmp(&c, &d, sizeof c) == 0);
	c = configured("other.example.com/x: 1\n", 0); /* not ours: ignored, whatever its type */
	cr_assert(memcmp(&c, &d, sizeof c) == 0);
}

/* autoscaler.yaml: "if a Revision specifies ContainerConcurrency of 10,
 * then the Autoscaler will try to maintain 7 concurrent connections per
 * pod"; target.go uses containerConcurrency as the total. */
Test(kpa, container_concurrency_is_the_target)
{
	idp_gateway_kpa_config c = configured(NULL, 10);
	cr_assert_eq(c.container_concurrency, 10);
	cr_assert_float_eq(c.target, 10, 1e-9);
	cr_assert_float_eq(c.target * c.target_utilization, 7, 1e-9);
}

/* target.go ResolveMetricTarget: the target annotation, but never above
 * containerConcurrency. */
Test(kpa, target_annotation_is_capped_by_container_concurrency)
{
	cr_assert_float_eq(configured(A "target: \"50\"\n", 10).target, 10, 1e-9);
	cr_assert_float_eq(configured(A "target: \"5\"\n", 10).target, 5, 1e-9);
	cr_assert_float_eq(configured(A "target: \"50\"\n", 0).target, 50, 1e-9);
	cr_assert_float_eq(configured(A "target: \"0.01\"\n", 0).target, 0.01, 1e-12);
}

/* register.go's keys with values from its comments and the docs'
 * examples ("1m5s" retention, "5.0"/"150.0" panic settings). */
Test(kpa, every_annotation_is_applied)
{
	idp_gateway_kpa_config c = configured(A "class: kpa.autoscaling.knative.dev\n"
					      A "metric: concurrency\n"
					      A "metric-aggregation-algorithm: linear\n"
					      A "min-scale: \"1\"\n"
					      A "max-scale: \"10\"\n"
					      A "activation-scale: \"3\"\n"
					      A "initial-scale: \"2\"\n"
					      A "target: \"20\"\n"
					      A "target-utilization-percentage: \"80\"\n"
					      A "target-burst-capacity: \"-1\"\n"
					      A "panic-window-percentage: \"5.0\"\n"
					      A "panic-threshold-percentage: \"150.0\"\n"
					      A "window: \"1m30s\"\n"
					      A "scale-to-zero-pod-retention-period: \"1m5s\"\n"
					      A "scale-down-delay: \"15m\"\n",
					      0);
	cr_assert_eq(c.min_scale, 1);
	cr_assert_eq(c.max_scale, 10);
	cr_assert_eq(c.activation_scale, 3);
	cr_assert_eq(c.initial_scale, 2);
	cr_assert_float_eq(c.target, 20, 1e-9);
	cr_assert_float_eq(c.target_utilization, 0.8, 1e-9);
	cr_assert_float_eq(c.panic_window_pct, 5, 1e-9);
	cr_assert_float_eq(c.panic_threshold_pct, 150, 1e-9);
	cr_assert_float_eq(c.stable_window_s, 90, 1e-9);
	/* scaler.go: the last pod waits max(grace period, retention). */
	cr_assert_float_eq(c.scale_to_zero_grace_s, 65, 1e-9);
	cr_assert_float_eq(c.scale_down_delay_s, 900, 1e-9);
}

/* register.go KeyPriority lists: the camelCase spellings still count, and
 * the kebab-case one wins when both are present. */
Test(kpa, legacy_camel_case_keys)
{
	idp_gateway_kpa_config c = configured(A "minScale: \"2\"\n"
					      A "maxScale: \"4\"\n"
					      A "initialScale: \"3\"\n"
					      A "targetUtilizationPercentage: \"50\"\n"
					      A "panicWindowPercentage: \"20\"\n"
					      A "panicThresholdPercentage: \"300\"\n"
					      A "scaleDownDelay: \"30s\"\n"
					      A "scaleToZeroPodRetentionPeriod: \"45s\"\n",
					      0);
	cr_assert_eq(c.min_scale, 2);
	cr_assert_eq(c.max_scale, 4);
	cr_assert_eq(c.initial_scale, 3);
	cr_assert_float_eq(c.target_utilization, 0.5, 1e-9);
	cr_assert_float_eq(c.panic_window_pct, 20, 1e-9);
	cr_assert_float_eq(c.panic_threshold_pct, 300, 1e-9);
	cr_assert_float_eq(c.scale_down_delay_s, 30, 1e-9);
	cr_assert_float_eq(c.scale_to_zero_grace_s, 45, 1e-9);
	c = configured(A "minScale: \"2\"\n" A "min-scale: \"1\"\n", 0);
	cr_assert_eq(c.min_scale, 1);
}

/* time.ParseDuration forms that Knative accepts (docs: "2m", "1m30s"). */
Test(kpa, durations_use_go_syntax)
{
	static const struct {
		const char *v;
		double s;
	} cases[] = {
		{"6s", 6}, {"2m", 120}, {"1m30s", 90}, {"1.5m", 90}, {".5m", 30}, {"90000ms", 90}, {"1h", 3600},
		{"+60s", 60}, {"59s1000ms", 60}, {"1h0m0s", 3600},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char yaml[128];
		snprintf(yaml, sizeof yaml, A "window: \"%s\"\n", cases[i].v);
		cr_assert_float_eq(configured(yaml, 0).stable_window_s, cases[i].s, 1e-9, "window %s", cases[i].v);
	}
	cr_assert_float_eq(configured(A "scale-down-delay: \"0\"\n", 0).scale_down_delay_s, 0, 1e-9);
	cr_assert_float_eq(configured(A "scale-to-zero-pod-retention-period: \"1.5s\"\n", 0).scale_to_zero_grace_s,
			   30, 1e-9);
}

/* validation getIntGE0: a whole number in [0, MaxInt32]. */
Test(kpa, min_and_max_scale_must_be_whole_non_negative)
{
	expect_error1(A "min-scale", "\"abc\"", "invalid value \"abc\": must be a whole number from 0 to 2147483647");
	expect_error1(A "min-scale", "\"-1\"", "\"-1\" is out of range: must be from 0 to 2147483647");
	expect_error1(A "max-scale", "\"2147483648\"", "out of range");
	expect_error1(A "max-scale", "\"1.5\"", "invalid value");
	expect_error1(A "minScale", "\" 1\"", "invalid value");
}

/* validation validateMinMaxScale: "max-scale=%d is less than min-scale=%d",
 * reported at max-scale. */
Test(kpa, max_scale_below_min_scale)
{
	expect_error(A "min-scale: \"5\"\n" A "max-scale: \"2\"\n", 0, A "max-scale", 2, 36,
		     "max-scale=2 is less than min-scale=5");
	/* max-scale 0 is unlimited, so any min-scale goes. */
	cr_assert_eq(configured(A "min-scale: \"5\"\n" A "max-scale: \"0\"\n", 0).min_scale, 5);
}

/* validation validateInitialScale, with allow-zero-initial-scale at its
 * config.go default (false). */
Test(kpa, initial_scale_errors)
{
	expect_error1(A "initial-scale", "\"0\"", "initial-scale=0 is not allowed");
	expect_error1(A "initial-scale", "\"-1\"", "out of range");
	expect_error1(A "initialScale", "\"one\"", "invalid value \"one\"");
}

/* validation validateMinMaxScale, activation-scale part: its three
 * messages, and a non-number. */
Test(kpa, activation_scale_errors)
{
	expect_error1(A "activation-scale", "\"1\"", "activation-scale=1 must be greater than 1");
	expect_error1(A "activation-scale", "\"two\"", "invalid value \"two\"");
	expect_error(A "min-scale: \"3\"\n" A "activation-scale: \"2\"\n", 0, A "activation-scale", 2, 43,
		     "min-scale=3 is greater than activation-scale=2");
	expect_error(A "max-scale: \"2\"\n" A "activation-scale: \"3\"\n", 0, A "activation-scale", 2, 43,
		     "max-scale=2 is less than activation-scale=3");
}

/* validation validateFloats: target >= TargetMin (0.01), a number. NaN and
 * Inf, which Go's ParseFloat takes, are refused too. */
Test(kpa, target_errors)
{
	expect_error1(A "target", "\"0.001\"", "\"0.001\" is out of range: must be at least 0.01");
	expect_error1(A "target", "\"ten\"", "invalid value \"ten\": not a number; must be at least 0.01");
	expect_error1(A "target", "\"NaN\"", "invalid value");
	expect_error1(A "target", "\"1e400\"", "invalid value");
	expect_error1(A "target", "\"\"", "invalid value");
}

/* validation validateFloats: utilization in [1, 100]. */
Test(kpa, target_utilization_errors)
{
	expect_error1(A "target-utilization-percentage", "\"0.5\"", "out of range: must be from 1 to 100");
	expect_error1(A "target-utilization-percentage", "\"101\"", "out of range");
	expect_error1(A "targetUtilizationPercentage", "\"70%\"", "invalid value \"70%\"");
}

/* register.go PanicWindowPercentageMin/Max (1, 100) and
 * PanicThresholdPercentageMin/Max (110, 1000). */
Test(kpa, panic_percentage_errors)
{
	expect_error1(A "panic-window-percentage", "\"0.5\"", "must be from 1 to 100");
	expect_error1(A "panic-window-percentage", "\"101\"", "must be from 1 to 100");
	expect_error1(A "panic-threshold-percentage", "\"100\"", "must be from 110 to 1000");
	expect_error1(A "panic-threshold-percentage", "\"1001\"", "must be from 110 to 1000");
}

/* validation validateWindow: a duration in [WindowMin 6s, WindowMax 1h],
 * whole seconds. */
Test(kpa, window_errors)
{
	expect_error1(A "window", "\"5s\"", "\"5s\" is out of range: must be from 6s to 1h");
	expect_error1(A "window", "\"2h\"", "out of range");
	expect_error1(A "window", "\"-10s\"", "out of range");
	expect_error1(A "window", "\"90.5s\"", "\"90.5s\" must be specified with at most second precision");
	expect_error1(A "window", "\"1.5s\"", "out of range"); /* range first, as validateWindow */
	expect_error1(A "window", "\"60\"", "invalid duration \"60\"");
	expect_error1(A "window", "\"1d\"", "invalid duration");
}

/* validation validateScaleDownDelay and validateLastPodRetention. */
Test(kpa, delay_and_retention_errors)
{
	expect_error1(A "scale-down-delay", "\"-1s\"", "must be from 0s to 1h");
	expect_error1(A "scale-down-delay", "\"2h\"", "must be from 0s to 1h");
	expect_error1(A "scale-down-delay", "\"1.5s\"", "at most second precision");
	expect_error1(A "scale-to-zero-pod-retention-period", "\"-5s\"", "must be from 0s to 1h");
	expect_error1(A "scaleToZeroPodRetentionPeriod", "\"61m\"", "must be from 0s to 1h");
	expect_error1(A "scale-to-zero-pod-retention-period", "\"soon\"", "invalid duration");
}

/* validation validateFloats: burst capacity >= 0 or exactly -1. */
Test(kpa, target_burst_capacity_errors)
{
	expect_error1(A "target-burst-capacity", "\"-2\"", "at least 0, or -1 (unlimited)");
	expect_error1(A "targetBurstCapacity", "\"lots\"", "invalid value");
	configured(A "target-burst-capacity: \"0\"\n", 0);
	configured(A "target-burst-capacity: \"211\"\n", 0);
}

/* validation validateClass/validateMetric/validateAlgorithm, narrowed to
 * what the gateway runs: the KPA on concurrency, averaged linearly. */
Test(kpa, class_metric_and_algorithm_errors)
{
	expect_error1(A "class", "hpa.autoscaling.knative.dev", "is not supported");
	expect_error1(A "class", "foo.example.com", "unknown autoscaler class \"foo.example.com\"");
	expect_error1(A "metric", "rps", "metric \"rps\" is not supported");
	expect_error1(A "metric", "cpu", "invalid metric \"cpu\"");
	expect_error1(A "metric-aggregation-algorithm", "weighted-exponential", "is not supported");
	expect_error1(A "metricAggregationAlgorithm", "median", "invalid value \"median\"");
}

/* Kubernetes annotations are map[string]string: an unquoted number is not
 * a string, and the message says how to write it. */
Test(kpa, values_must_be_strings)
{
	expect_error1(A "min-scale", "1", "quote the number, as in \"1\"");
	expect_error1(A "target-utilization-percentage", "70.5", "quote the number");
	expect_error1(A "window", "[60s]", "not a list");
}

/* The first bad annotation is reported at its own line, and nothing else
 * stops a later line from being the culprit. */
Test(kpa, error_position_is_the_value)
{
	expect_error("example.com/team: payments\n" A "min-scale: \"1\"\n" A "window: \"5m\"\n" A
		     "panic-threshold-percentage: \"50\"\n",
		     0, A "panic-threshold-percentage", 4, 53, "must be from 110 to 1000");
}

/* Wrong shapes outside the annotation values. */
Test(kpa, annotations_not_a_map_and_negative_concurrency)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_err err = IDP_ERR_INIT;
	cr_assert_eq(idp_gateway_kpa_configure(&c, annotations("- a\n- b\n"), 0, &err), IDP_EINPUT);
	cr_assert_eq(err.line, 1);
	cr_assert_str_eq(err.path, "metadata.annotations");
	cr_assert(strstr(err.msg, "must be a map") != NULL);
	idp_err_clear(&err);
	cr_assert_eq(idp_gateway_kpa_configure(&c, NULL, -1, &err), IDP_EINPUT);
	cr_assert(strstr(err.msg, "containerConcurrency") != NULL);
	idp_err_clear(&err);
}

/* ================================================================ before any data */

/* kpa.h / scaler.go: before metrics, the revision stays at its initial
 * scale, bounded by min and max (autoscaler_test.go
 * TestAutoscalerNoDataNoAutoscale: no data, no autoscaling). */
Test(kpa, initial_scale_before_any_data)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	cr_assert_eq(at(k, 0, 0).desired, 1);
	cr_assert_eq(at(k, 100, 1).desired, 1);
	idp_gateway_kpa_record(k, 101, NAN); /* not a sample */
	idp_gateway_kpa_record(k, 101, -3);
	cr_assert_eq(at(k, 102, 1).desired, 1);
	idp_gateway_kpa_free(k);

	c.initial_scale = 3;
	k = idp_gateway_kpa_new(&c);
	cr_assert_eq(at(k, 0, 0).desired, 3);
	idp_gateway_kpa_free(k);
	c.max_scale = 2;
	k = idp_gateway_kpa_new(&c);
	cr_assert_eq(at(k, 0, 0).desired, 2);
	idp_gateway_kpa_free(k);
	c.max_scale = 0;
	c.min_scale = 5;
	k = idp_gateway_kpa_new(&c);
	cr_assert_eq(at(k, 0, 0).desired, 5);
	idp_gateway_kpa_free(k);
}

/* scaler.go scale(): "If initial scale has been attained, ignore the
 * initialScale altogether" — until then it is a floor. */
Test(kpa, initial_scale_is_a_floor_until_reached)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	c.initial_scale = 3;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	idp_gateway_kpa_record(k, 0, 0);
	cr_assert_eq(at(k, 0, 0).desired, 3);
	idp_gateway_kpa_record(k, 2, 0);
	cr_assert_eq(at(k, 2, 1).desired, 3);
	idp_gateway_kpa_record(k, 4, 0);
	cr_assert_eq(at(k, 4, 3).desired, 3); /* reached now; it counts from the next decision */
	idp_gateway_kpa_record(k, 6, 0);
	/* Free of the floor, no traffic, 3 ready: the decider halves
	 * (max-scale-down-rate 2) to floor(3/2) = 1. */
	cr_assert_eq(at(k, 6, 3).desired, 1);
	idp_gateway_kpa_free(k);
}

/* ================================================================ stable mode */

/* docs (kpa-specific, "target utilization"): desired = ceil(average /
 * (target * utilization)): 250 in flight at target 100, 70 % -> 4. */
Test(kpa, stable_window_scaling_with_default_target)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	feed(k, 0, 59, 250);
	idp_gateway_kpa_decision d = at(k, 59, 3);
	cr_assert_eq(d.desired, 4);
	cr_assert_not(d.panic);
	cr_assert_float_eq(d.stable_avg, 250, 1e-9);
	cr_assert_float_eq(d.panic_avg, 250, 1e-9);
	idp_gateway_kpa_free(k);
}

/* register.go TargetUtilizationPercentageKey: target 10 at 50 % is 5 per
 * pod, so 25 in flight need 5. */
Test(kpa, target_utilization_annotation)
{
	idp_gateway_kpa_config c = configured(A "target: \"10\"\n" A "target-utilization-percentage: \"50\"\n", 0);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	feed(k, 0, 59, 25);
	cr_assert_eq(at(k, 59, 3).desired, 5);
	idp_gateway_kpa_free(k);
}

/* autoscaler.yaml (containerConcurrency 10 -> 7 per pod) and the docs'
 * worked example: 100 in flight / (10 x 0.7) -> 15 pods. */
Test(kpa, container_concurrency_as_target)
{
	idp_gateway_kpa_config c = configured(NULL, 10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	feed(k, 0, 59, 100);
	idp_gateway_kpa_decision d = at(k, 59, 8);
	cr_assert_eq(d.desired, 15);
	cr_assert_not(d.panic);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerMetrics: stable = panic = 50 at target
 * 10 -> 5 pods, and the averages the decision reports. */
Test(kpa, decision_reports_window_averages)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 50, 50);
	idp_gateway_kpa_decision d = at(k, 59, 1);
	cr_assert_eq(d.desired, 5);
	cr_assert_float_eq(d.stable_avg, 50, 1e-9);
	cr_assert_float_eq(d.panic_avg, 50, 1e-9);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerStableModeIncreaseWithConcurrencyDefault:
 * (50, 10) -> 5, then (100, 10) -> 10, never panicking. */
Test(kpa, stable_mode_increase)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 50, 10);
	idp_gateway_kpa_decision d = at(k, 59, 1);
	cr_assert_eq(d.desired, 5);
	cr_assert_not(d.panic);
	cr_assert_float_eq(d.stable_avg, 50, 1e-9);
	cr_assert_float_eq(d.panic_avg, 10, 1e-9);
	load(k, 119, 100, 10);
	d = at(k, 119, 1);
	cr_assert_eq(d.desired, 10);
	cr_assert_not(d.panic);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerStableModeDecrease: 8 ready, (100,100)
 * -> 10, then (50, 50) -> 5. */
Test(kpa, stable_mode_decrease)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 100, 100);
	cr_assert_eq(at(k, 59, 8).desired, 10);
	load(k, 119, 50, 50);
	cr_assert_eq(at(k, 119, 8).desired, 5);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScale "AutoscalerStableModeUnlimitedTBC"
 * (21 at target 181 -> 1) and "Autoscaler0TBC" ((50, 49) at 10 -> 5). */
Test(kpa, stable_mode_table_cases)
{
	idp_gateway_kpa_config c = test_spec(181);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 21, 26);
	cr_assert_eq(at(k, 59, 1).desired, 1);
	idp_gateway_kpa_free(k);
	c = test_spec(10);
	k = idp_gateway_kpa_new(&c);
	load(k, 59, 50, 49);
	cr_assert_eq(at(k, 59, 1).desired, 5);
	idp_gateway_kpa_free(k);
}

/* ================================================================ rate limits */

/* autoscaler_test.go TestAutoscalerRateLimitScaleUp: needs 100, may go x10
 * per decision: 1 -> 10 -> 100. */
Test(kpa, max_scale_up_rate)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 1000, 1001);
	cr_assert_eq(at(k, 59, 1).desired, 10);
	load(k, 119, 1000, 1001);
	cr_assert_eq(at(k, 119, 10).desired, 100);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerRateLimitScaleDown: needs 1, may go /10
 * per decision: 100 -> 10 -> 1. */
Test(kpa, max_scale_down_rate)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 1, 1);
	cr_assert_eq(at(k, 59, 100).desired, 10);
	load(k, 119, 1, 1);
	cr_assert_eq(at(k, 119, 10).desired, 1);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScale
 * "AutoscalerStableModeIncreaseWithSmallScaleUpRate": rate 1.1 on 2 pods
 * still allows one more pod: ceil(2.2) = 3. */
Test(kpa, small_scale_up_rate_still_adds_a_pod)
{
	idp_gateway_kpa_config c = test_spec(1);
	c.max_scale_up_rate = 1.1;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 3, 3.1);
	cr_assert_eq(at(k, 59, 2).desired, 3);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScale
 * "AutoscalerStableModeDecreaseWithSmallScaleDownRate": 100 pods at rate
 * 1.1 go no lower than floor(100/1.1) = 90. */
Test(kpa, small_scale_down_rate)
{
	idp_gateway_kpa_config c = test_spec(10);
	c.max_scale_down_rate = 1.1;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 1, 1);
	cr_assert_eq(at(k, 59, 100).desired, 90);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound:
 * 0 ready counts as 1 for the rate limit, so 1000 in flight -> 10. */
Test(kpa, zero_ready_counts_as_one_for_rates)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 1000, 888);
	cr_assert_eq(at(k, 59, 0).desired, 10);
	idp_gateway_kpa_free(k);
}

/* ================================================================ panic mode */

/* config.go panic-threshold-percentage 200 and autoscaler.go's ">=": the
 * panic window needing exactly twice the ready pods panics (40 at target
 * 10 on 2 pods); 1.5 times does not. */
Test(kpa, panic_entry_at_200_percent)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 20, 40);
	idp_gateway_kpa_decision d = at(k, 59, 2);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 4);
	idp_gateway_kpa_free(k);

	k = idp_gateway_kpa_new(&c);
	load(k, 59, 20, 30);
	d = at(k, 59, 2);
	cr_assert_not(d.panic);
	cr_assert_eq(d.desired, 2);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScale "AutoscalerPanicModeDoublePodCount":
 * (50, 100) at 10 on 1 pod: panic, and the panic window's 10 wins. */
Test(kpa, panic_uses_the_panic_window)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 50, 100);
	idp_gateway_kpa_decision d = at(k, 59, 1);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 10);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScale "AutoscalerPanicStableLargerThanPanic"
 * (50 vs 30 on 5 pods -> 50) and "...StableLessThanPanic" (20 vs 30 -> 30):
 * in panic the larger of the two windows wins. */
Test(kpa, panic_takes_the_larger_window)
{
	idp_gateway_kpa_config c = test_spec(1);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 10, 10);
	cr_assert(at(k, 59, 1).panic);
	load(k, 119, 50, 30);
	idp_gateway_kpa_decision d = at(k, 119, 5);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 50);
	idp_gateway_kpa_free(k);

	k = idp_gateway_kpa_new(&c);
	load(k, 59, 10, 10);
	cr_assert(at(k, 59, 1).panic);
	load(k, 119, 20, 30);
	d = at(k, 119, 5);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 30);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerPanicThenUnPanicScaleDown: panic at 100
 * pods; traffic drops to 1 but the count holds while panicking; a stable
 * window after the last over-threshold decision, panic ends and the count
 * falls to 1 (at most /10 from 10 ready). The boundary is strict: still
 * panicking exactly one window later. */
Test(kpa, no_scale_down_in_panic_then_unpanic)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 100, 100);
	cr_assert_eq(at(k, 59, 1).desired, 10);
	load(k, 119, 100, 1000); /* panic time: 119 */
	idp_gateway_kpa_decision d = at(k, 119, 10);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 100);
	feed(k, 120, 149, 1);
	d = at(k, 149, 10);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 100);
	feed(k, 150, 179, 1);
	d = at(k, 179, 10);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 100);
	feed(k, 180, 180, 1);
	d = at(k, 180, 10);
	cr_assert_not(d.panic);
	cr_assert_eq(d.desired, 1);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerUnpanicAfterSlowIncrease: 10 -> 25 in
 * panic; half a window later below the threshold but still panicking and
 * growing to 41; a window and a tick after the panic began, panic ends and
 * the stable 50 is used although the panic window says 56. */
Test(kpa, unpanic_after_slow_increase)
{
	idp_gateway_kpa_config c = test_spec(1);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 11, 25);
	idp_gateway_kpa_decision d = at(k, 59, 10);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 25);
	feed(k, 60, 89, 41);
	d = at(k, 89, 40);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 41);
	/* The window 61..120 is 29 s at 41, 25 s at 59, 6 s at 56: 50. */
	feed(k, 90, 114, 59);
	feed(k, 115, 120, 56);
	d = at(k, 120, 55);
	cr_assert_not(d.panic);
	cr_assert_float_eq(d.stable_avg, 50, 1e-9);
	cr_assert_float_eq(d.panic_avg, 56, 1e-9);
	cr_assert_eq(d.desired, 50);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerExtendPanicWindow: still over the
 * threshold half a window in (80 on 40 pods), so panic is extended: it
 * outlives the first panic's window and ends a window after the second. */
Test(kpa, panic_window_extends)
{
	idp_gateway_kpa_config c = test_spec(1);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 11, 25);
	cr_assert_eq(at(k, 59, 10).desired, 25);
	feed(k, 60, 89, 80);
	idp_gateway_kpa_decision d = at(k, 89, 40);
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 80);
	feed(k, 90, 120, 10);
	d = at(k, 120, 80); /* 59 + 60 < 120, but 89 + 60 is not */
	cr_assert(d.panic);
	cr_assert_eq(d.desired, 80);
	feed(k, 121, 150, 10);
	d = at(k, 150, 80);
	cr_assert_not(d.panic);
	cr_assert_eq(d.desired, 10);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerPanicModeExponentialTrackAndStabilize:
 * 6 -> 36 -> 216 -> 1296 as each step brings the load back to target,
 * then holds at 1296. */
Test(kpa, panic_tracks_exponential_growth)
{
	idp_gateway_kpa_config c = test_spec(1);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 6, 6);
	cr_assert_eq(at(k, 59, 1).desired, 6);
	load(k, 119, 36, 36);
	cr_assert_eq(at(k, 119, 6).desired, 36);
	load(k, 179, 216, 216);
	cr_assert_eq(at(k, 179, 36).desired, 216);
	load(k, 239, 1296, 1296);
	cr_assert_eq(at(k, 239, 216).desired, 1296);
	idp_gateway_kpa_decision d = at(k, 240, 1296);
	cr_assert_eq(d.desired, 1296);
	cr_assert(d.panic);
	idp_gateway_kpa_free(k);
}

/* ================================================================ bounds */

/* scaler.go applyBounds with register.go's min-scale/max-scale: the
 * decider's count is clamped, and min-scale keeps replicas through any
 * idle time. */
Test(kpa, min_and_max_clamp)
{
	idp_gateway_kpa_config c = configured(A "min-scale: \"3\"\n" A "max-scale: \"5\"\n", 0);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	double t = -1;
	cr_assert_eq(run_to(k, &t, 59, 1000, 8), 5); /* ceil(1000/70) = 15 */
	cr_assert_eq(run_to(k, &t, 119, 0, 5), 3);
	cr_assert_eq(run_to(k, &t, 600, 0, 3), 3);
	cr_assert_eq(run_to(k, &t, 1200, 0, 3), 3);
	idp_gateway_kpa_free(k);
}

/* ================================================================ activation scale */

/* autoscaler_test.go TestAutoscalerActivationScale: with activation-scale
 * 2, any non-zero need is at least 2 (and more when needed). */
Test(kpa, activation_scale_is_the_least_non_zero_count)
{
	idp_gateway_kpa_config c = test_spec(10);
	c.activation_scale = 2;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 1, 1);
	idp_gateway_kpa_decision d = at(k, 59, 0);
	cr_assert_eq(d.desired, 2);
	cr_assert_not(d.panic);
	load(k, 119, 25, 25);
	cr_assert_eq(at(k, 119, 2).desired, 3);
	idp_gateway_kpa_free(k);
}

/* ================================================================ scale to zero */

/* Timeline for the tests below: 50 in flight for 10 s, then nothing,
 * sampled every second. The first replicas are ready at t = 2; `want` is
 * what the burst asks for. */
static idp_gateway_kpa *start_burst(const idp_gateway_kpa_config *c, double *t, int32_t want)
{
	idp_gateway_kpa *k = idp_gateway_kpa_new(c);
	idp_gateway_kpa_record(k, 0, 50);
	*t = 0;
	cr_assert_eq(at(k, 0, 0).desired, want);
	cr_assert_eq(run_to(k, t, 2, 50, want), want);
	cr_assert_eq(run_to(k, t, 9, 50, want), want);
	return k;
}

/* docs (kpa-specific): "the last Replica will only be removed after there
 * has not been any traffic to the Revision for the entire duration of the
 * stable window"; scaler.go handleScaleToZero then waits
 * scale-to-zero-grace-period (30 s) with the revision inactive. Last
 * traffic at 9: the window is empty at 69, zero at 99. */
Test(kpa, scale_to_zero_after_stable_window_and_grace)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	double t;
	idp_gateway_kpa *k = start_burst(&c, &t, 1);
	cr_assert_eq(run_to(k, &t, 68, 0, 1), 1); /* second 9 still in the window */
	idp_gateway_kpa_decision d = at(k, 68, 1);
	cr_assert_gt(d.stable_avg, 0);
	cr_assert_eq(run_to(k, &t, 69, 0, 1), 1); /* decider says 0: inactive from now */
	cr_assert_eq(run_to(k, &t, 98, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 99, 0, 1), 0);
	cr_assert_eq(run_to(k, &t, 100, 0, 0), 0);
	cr_assert_eq(run_to(k, &t, 500, 0, 0), 0);
	idp_gateway_kpa_free(k);
}

/* scaler.go handleScaleToZero case Active: the revision must have been
 * active for a stable window before it may turn inactive; until then it is
 * kept at 1. Ready at 5, idle window empty at 60, inactive at 65, zero at
 * 95. */
Test(kpa, scale_to_zero_waits_for_a_window_of_activity)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	idp_gateway_kpa_record(k, 0, 1);
	double t = 0;
	cr_assert_eq(at(k, 0, 0).desired, 1);
	cr_assert_eq(run_to(k, &t, 5, 0, 1), 1); /* ready: active from 5 */
	cr_assert_eq(run_to(k, &t, 60, 0, 1), 1);
	idp_gateway_kpa_decision d = at(k, 60, 1);
	cr_assert_float_eq(d.stable_avg, 0, 1e-12);
	cr_assert_eq(d.desired, 1);
	cr_assert_eq(run_to(k, &t, 64, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 65, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 94, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 95, 0, 1), 0);
	idp_gateway_kpa_free(k);
}

/* kpa.go computeActiveCondition: a new revision without traffic activates
 * once its first replica is ready, keeps it for a stable window, then for
 * the grace period. */
Test(kpa, new_revision_without_traffic)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	idp_gateway_kpa_record(k, 0, 0);
	double t = 0;
	cr_assert_eq(at(k, 0, 0).desired, 1);
	cr_assert_eq(run_to(k, &t, 10, 0, 1), 1); /* ready: active from 10 */
	cr_assert_eq(run_to(k, &t, 69, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 70, 0, 1), 1); /* inactive from 70 */
	cr_assert_eq(run_to(k, &t, 99, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 100, 0, 1), 0);
	idp_gateway_kpa_free(k);
}

/* scaler.go lastPodRetention/durationMax: scale-to-zero-pod-retention-period
 * "1m5s" (the docs' example) keeps the last pod 65 s instead of 30. */
Test(kpa, pod_retention_lengthens_the_wait)
{
	idp_gateway_kpa_config c = configured(A "scale-to-zero-pod-retention-period: \"1m5s\"\n", 0);
	double t;
	idp_gateway_kpa *k = start_burst(&c, &t, 1);
	cr_assert_eq(run_to(k, &t, 69, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 99, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 133, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 134, 0, 1), 0);
	idp_gateway_kpa_free(k);
}

/* docs (scale bounds): min-scale > 0 never scales to zero. */
Test(kpa, no_scale_to_zero_with_min_scale)
{
	idp_gateway_kpa_config c = configured(A "min-scale: \"1\"\n", 0);
	double t;
	idp_gateway_kpa *k = start_burst(&c, &t, 1);
	cr_assert_eq(run_to(k, &t, 99, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 1000, 0, 1), 1);
	idp_gateway_kpa_free(k);
}

/* docs ("Configuring scale to zero"), scaler.go: enable-scale-to-zero false
 * stops at 1 replica. */
Test(kpa, no_scale_to_zero_when_disabled)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	c.enable_scale_to_zero = false;
	double t;
	idp_gateway_kpa *k = start_burst(&c, &t, 1);
	cr_assert_eq(run_to(k, &t, 99, 0, 1), 1);
	cr_assert_eq(run_to(k, &t, 1000, 0, 1), 1);
	idp_gateway_kpa_free(k);
}

/* register.go ActivationScaleKey: "when a service scaled from zero it would
 * scale up two replicas"; here 3. Going down, the decider may only halve
 * (3 -> 1) before the decider's 0 starts the grace period. */
Test(kpa, activation_scale_from_zero)
{
	idp_gateway_kpa_config c = configured(A "activation-scale: \"3\"\n", 0);
	double t;
	idp_gateway_kpa *k = start_burst(&c, &t, 3);
	cr_assert_eq(run_to(k, &t, 68, 0, 3), 3); /* any load at all: at least 3 */
	cr_assert_eq(run_to(k, &t, 69, 0, 3), 1); /* none: floor(3 / 2) */
	cr_assert_eq(run_to(k, &t, 70, 0, 1), 1); /* the decider's 0: inactive from 70 */
	cr_assert_eq(run_to(k, &t, 100, 0, 1), 0);
	cr_assert_eq(run_to(k, &t, 200, 0, 0), 0);
	idp_gateway_kpa_record(k, 201, 1); /* a request reaches the gateway */
	idp_gateway_kpa_decision d = at(k, 201, 0);
	cr_assert_eq(d.desired, 3);
	cr_assert_not(d.panic);
	idp_gateway_kpa_free(k);
}

/* ================================================================ scale-down delay */

/* autoscaler_test.go TestAutoscalerScaleDownDelay "simple": 4 pods, then no
 * load: still 4 after 5 minutes (the delay), the decider's 0 two seconds
 * later. That 0 then meets scaler.go: inactive now, the 4 replicas stay
 * for the grace period, then 0. */
Test(kpa, scale_down_delay_simple)
{
	idp_gateway_kpa_config c = test_spec(10);
	c.panic_threshold_pct = 10000;
	c.scale_down_delay_s = 300;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	feed(k, 0, 2, 40);
	cr_assert_eq(at(k, 2, 1).desired, 4);
	feed(k, 3, 300, 0);
	idp_gateway_kpa_decision d = at(k, 300, 4);
	cr_assert_float_eq(d.stable_avg, 0, 1e-12);
	cr_assert_eq(d.desired, 4);
	feed(k, 301, 302, 0);
	cr_assert_eq(at(k, 302, 4).desired, 4);
	feed(k, 303, 331, 0);
	cr_assert_eq(at(k, 331, 4).desired, 4);
	feed(k, 332, 332, 0);
	cr_assert_eq(at(k, 332, 4).desired, 0);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScaleDownDelay "gradual": 4 (9m), 3 is
 * dominated by 4 (10m), 0 too (11m), 4 scrolls out at 14m leaving 3, all
 * out at 15m (then scaler.go's grace period, as above). */
Test(kpa, scale_down_delay_gradual)
{
	idp_gateway_kpa_config c = test_spec(10);
	c.panic_threshold_pct = 10000;
	c.scale_down_delay_s = 300;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	double t = 479;
	cr_assert_eq(run_to(k, &t, 540, 40, 4), 4);
	cr_assert_eq(run_to(k, &t, 600, 30, 4), 4);
	cr_assert_eq(run_to(k, &t, 660, 0, 4), 4);
	cr_assert_eq(run_to(k, &t, 840, 0, 4), 3);
	cr_assert_eq(run_to(k, &t, 900, 0, 3), 3); /* the decider's 0; grace period from here */
	cr_assert_eq(run_to(k, &t, 930, 0, 3), 0);
	idp_gateway_kpa_free(k);
}

/* autoscaler_test.go TestAutoscalerScaleDownDelayZero: without a delay the
 * scale-down applies at once (4 -> 2). */
Test(kpa, scale_down_delay_zero)
{
	idp_gateway_kpa_config c = test_spec(10);
	c.panic_threshold_pct = 10000;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	load(k, 59, 40, 40);
	cr_assert_eq(at(k, 59, 1).desired, 4);
	load(k, 119, 20, 20);
	cr_assert_eq(at(k, 119, 4).desired, 2);
	idp_gateway_kpa_free(k);
}

/* ================================================================ window averages */

/* bucketing_test.go TestTimedFloat64BucketsWindowAverage, 5 s window (the
 * stable window here; windows in the config struct are not held to 6 s):
 * firstWrite, a lagging now, short and long holes, late writes, writes too
 * old to count, and a window-long silence. One difference, by design: a
 * second skipped *between* two samples holds the earlier sample here
 * (Knative: 0, a failed scrape), so "write with holes" is (3+4+5+5+91)/5,
 * not (3+4+5+0+91)/5. */
Test(kpa, window_average_follows_knative_buckets)
{
	idp_gateway_kpa_config c = test_spec(1);
	c.stable_window_s = 5;
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	idp_gateway_kpa_record(k, 0, 1);
	cr_assert_float_eq(at(k, 0, 1).stable_avg, 1, 1e-9); /* not 0.2: partial window */
	for (int i = 1; i < 5; i++)
		idp_gateway_kpa_record(k, i, i + 1);
	cr_assert_float_eq(at(k, 4, 1).stable_avg, 15.0 / 5, 1e-9);
	cr_assert_float_eq(at(k, 3.6, 1).stable_avg, 15.0 / 5, 1e-9);
	cr_assert_float_eq(at(k, 6, 1).stable_avg, (15.0 - 1 - 2) / (5 - 2), 1e-9);
	cr_assert_float_eq(at(k, 10, 1).stable_avg, 0, 1e-9);
	idp_gateway_kpa_record(k, 6, 91);
	cr_assert_float_eq(at(k, 6, 1).stable_avg, (3.0 + 4 + 5 + 5 + 91) / 5, 1e-9);
	idp_gateway_kpa_record(k, 66, 1984);
	cr_assert_float_eq(at(k, 66, 1).stable_avg, 1984, 1e-9);
	idp_gateway_kpa_record(k, 63, 4);
	cr_assert_float_eq(at(k, 66, 1).stable_avg, (4.0 + 1984) / 4, 1e-9);
	idp_gateway_kpa_record(k, 67, 5);
	cr_assert_float_eq(at(k, 67, 1).stable_avg, (4.0 + 1984 + 5) / 5, 1e-9);
	idp_gateway_kpa_record(k, 64, 10);
	cr_assert_float_eq(at(k, 67, 1).stable_avg, (4.0 + 10 + 1984 + 5) / 5, 1e-9);
	idp_gateway_kpa_record(k, 61, 10); /* too early */
	idp_gateway_kpa_record(k, 62, 10); /* exactly a window early */
	cr_assert_float_eq(at(k, 67, 1).stable_avg, (4.0 + 10 + 1984 + 5) / 5, 1e-9);
	idp_gateway_kpa_record(k, 72, 10); /* a whole window without data */
	cr_assert_float_eq(at(k, 72, 1).stable_avg, 10, 1e-9);
	idp_gateway_kpa_free(k);
}

/* kpa.h: samples within one second are averaged, since each is the total
 * in flight (bucketing_test.go's sum is of partial reports). */
Test(kpa, samples_in_one_second_are_averaged)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	idp_gateway_kpa_record(k, 0.0, 10);
	idp_gateway_kpa_record(k, 0.5, 30);
	idp_gateway_kpa_decision d = at(k, 0.9, 1);
	cr_assert_float_eq(d.stable_avg, 20, 1e-9);
	cr_assert_eq(d.desired, 2);
	idp_gateway_kpa_free(k);
}

/* The gateway samples every 2 s: the skipped seconds hold the level, so
 * a steady 40 averages 40, not 20. */
Test(kpa, sampling_every_two_seconds_holds_the_level)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	for (int t = 0; t <= 118; t += 2)
		idp_gateway_kpa_record(k, t, 40);
	idp_gateway_kpa_decision d = at(k, 118, 4);
	cr_assert_float_eq(d.stable_avg, 40, 1e-9);
	cr_assert_float_eq(d.panic_avg, 40, 1e-9);
	cr_assert_eq(d.desired, 4);
	idp_gateway_kpa_free(k);
}

/* The panic window is panic-window-percentage of the stable window, in
 * whole seconds (resources/metric.go MakeMetric): 10 % of 60 s = 6 s, so a
 * burst 6 s ago is out of it while still in the stable average. */
Test(kpa, panic_window_is_a_percentage_of_the_stable_window)
{
	idp_gateway_kpa_config c = test_spec(10);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	feed(k, 0, 53, 0);
	feed(k, 54, 54, 600);
	feed(k, 55, 60, 0);
	idp_gateway_kpa_decision d = at(k, 60, 1);
	cr_assert_float_eq(d.panic_avg, 0, 1e-9);
	cr_assert_float_eq(d.stable_avg, 10, 1e-9);
	idp_gateway_kpa_free(k);

	c = configured(A "window: \"20s\"\n" A "panic-window-percentage: \"50\"\n", 0);
	k = idp_gateway_kpa_new(&c);
	feed(k, 0, 9, 0);
	feed(k, 10, 19, 10);
	d = at(k, 19, 1);
	cr_assert_float_eq(d.panic_avg, 10, 1e-9); /* the last 10 s */
	cr_assert_float_eq(d.stable_avg, 5, 1e-9);
	idp_gateway_kpa_free(k);
}

/* A day of uneven samples every 2 s, then a steady 70 against an effective
 * target of 70: exactly 1 pod, with no rounding left over from the day
 * (ceil(1.0000001) would be 2). */
Test(kpa, a_day_of_samples_leaves_no_rounding_error)
{
	idp_gateway_kpa_config c;
	idp_gateway_kpa_defaults(&c);
	idp_gateway_kpa *k = idp_gateway_kpa_new(&c);
	double t = 0;
	for (int i = 0; t < 86400; i++, t += 2)
		idp_gateway_kpa_record(k, t, 0.1 * (i % 997) + 1.0 / 3);
	for (double end = t + 60; t <= end; t += 2)
		idp_gateway_kpa_record(k, t, 70);
	idp_gateway_kpa_decision d = at(k, t - 2, 2);
	cr_assert_eq(d.stable_avg, 70);
	cr_assert_eq(d.desired, 1);
	idp_gateway_kpa_free(k);
}
