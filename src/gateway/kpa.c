/*
 * Knative's KPA decision as a pure function of samples and a clock.
 *
 * Three Knative pieces are ported, each where it lives upstream:
 *  - the per-second window average of pkg/autoscaler/aggregation
 *    (TimedFloat64Buckets, the "linear" algorithm, Knative's default);
 *  - the decider of pkg/autoscaler/scaling/autoscaler.go (rate limits,
 *    panic mode, activation-scale, the scale-down-delay max window of
 *    pkg/autoscaler/aggregation/max);
 *  - what the KPA reconciler does with the decider's answer
 *    (pkg/reconciler/autoscaling/kpa/scaler.go and kpa.go: min/max and
 *    initial-scale bounds, and the Active/Inactive condition that gates
 *    scale to zero).
 * The annotation checks follow pkg/apis/autoscaling/annotation_validation.go.
 */
#include "gateway/kpa.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pkg/autoscaler/scaling/multiscaler.go tickInterval: the scale-down-delay
 * window keeps one maximum per tick of this length. */
#define KPA_TICK_S 2.0
/* pkg/apis/autoscaling/register.go. */
#define KPA_TARGET_MIN 0.01
#define KPA_WINDOW_MIN_NS (6 * NS_PER_S)
#define KPA_WINDOW_MAX_NS (3600 * NS_PER_S)
#define NS_PER_S INT64_C(1000000000)

void idp_gateway_kpa_defaults(idp_gateway_kpa_config *c)
{
	/* pkg/autoscaler/config/config.go defaultConfig(). */
	memset(c, 0, sizeof(*c));
	c->target = 100;
	c->target_utilization = 0.70;
	c->container_concurrency = 0;
	c->min_scale = 0;
	c->max_scale = 0;
	c->initial_scale = 1;
	c->activation_scale = 1;
	c->stable_window_s = 60;
	c->panic_window_pct = 10;
	c->panic_threshold_pct = 200;
	c->max_scale_up_rate = 1000;
	c->max_scale_down_rate = 2;
	c->scale_to_zero_grace_s = 30;
	c->scale_down_delay_s = 0;
	c->enable_scale_to_zero = true;
}

/* ================================================================ parsing */

/* Go's strconv and time parsers, because Knative reads the annotations with
 * them and a value it accepts should be accepted here, and the reverse. */

typedef enum { PARSE_OK, PARSE_SYNTAX, PARSE_RANGE } parse_rc;

/* strconv.ParseInt(s, 10, 64): an optional sign, then decimal digits only. */
static parse_rc parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return PARSE_SYNTAX;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	bool over = false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return PARSE_SYNTAX;
		unsigned d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	if (over)
		return PARSE_RANGE;
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return PARSE_OK;
}

/* strconv.ParseFloat's decimal form. Go also takes "Inf", "NaN" and hex
 * floats; those are refused here, since a NaN target passes every one of
 * Knative's range checks and then breaks the arithmetic. */
static parse_rc parse_float(const char *s, double *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t int_digits = strspn(p, "0123456789");
	p += int_digits;
	size_t frac_digits = 0;
	if (*p == '.') {
		p++;
		frac_digits = strspn(p, "0123456789");
		p += frac_digits;
	}
	if (int_digits + frac_digits == 0)
		return PARSE_SYNTAX;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		size_t exp_digits = strspn(p, "0123456789");
		if (exp_digits == 0)
			return PARSE_SYNTAX;
		p += exp_digits;
	}
	if (*p)
		return PARSE_SYNTAX;
	double v = strtod(s, NULL);
	if (!isfinite(v))
		return PARSE_RANGE;
	*out = v;
	return PARSE_OK;
}

typedef struct duration_unit {
	const char *name;
	uint64_t ns;
} duration_unit;

static const duration_unit duration_units[] = {
	{"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000} /* U+00B5 */, {"\xce\xbcs", 1000} /* U+03BC */,
	{"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)}, {"h", UINT64_C(3600000000000)},
};

static bool duration_unit_find(const char *u, size_t n, uint64_t *ns)
{
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strlen(duration_units[i].name) == n && memcmp(duration_units[i].name, u, n) == 0) {
			*ns = duration_units[i].ns;
			return true;
		}
	return false;
}

/* One "<number><unit>" element of a duration, added to *total. */
static parse_rc duration_element(const char **sp, uint64_t *total)
{
	const char *s = *sp;
	if (!(*s == '.' || (*s >= '0' && *s <= '9')))
		return PARSE_SYNTAX;
	uint64_t v = 0, f = 0;
	double scale = 1;
	const char *start = s;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_C(1) << 63) / 10)
			return PARSE_SYNTAX; /* Go: overflow is a bad duration, not a range error */
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT64_C(1) << 63)
			return PARSE_SYNTAX;
	}
	bool pre = s != start, post = false;
	if (*s == '.') {
		s++;
		const char *fstart = s;
		bool overflow = false;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (overflow)
				continue;
			if (f > ((UINT64_C(1) << 63) - 1) / 10) {
				overflow = true; /* Go keeps reading digits but ignores them */
				continue;
			}
			uint64_t y = f * 10 + (uint64_t)(*s - '0');
			if (y > UINT64_C(1) << 63) {
				overflow = true;
				continue;
			}
			f = y;
			scale *= 10;
		}
		post = s != fstart;
	}
	if (!pre && !post)
		return PARSE_SYNTAX;
	const char *u = s;
	while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
		s++;
	uint64_t unit;
	if (s == u || !duration_unit_find(u, (size_t)(s - u), &unit))
		return PARSE_SYNTAX;
	if (v > (UINT64_C(1) << 63) / unit)
		return PARSE_SYNTAX;
	v *= unit;
	if (f > 0) {
		v += (uint64_t)((double)f * ((double)unit / scale));
		if (v > UINT64_C(1) << 63)
			return PARSE_SYNTAX;
	}
	*total += v;
	if (*total > UINT64_C(1) << 63)
		return PARSE_SYNTAX;
	*sp = s;
	return PARSE_OK;
}

/* time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, or "0". */
static parse_rc parse_duration(const char *s, int64_t *out_ns)
{
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out_ns = 0;
		return PARSE_OK;
	}
	if (!*s)
		return PARSE_SYNTAX;
	uint64_t d = 0;
	while (*s)
		if (duration_element(&s, &d) != PARSE_OK)
			return PARSE_SYNTAX;
	if (neg) {
		*out_ns = d == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t)d;
		return PARSE_OK;
	}
	if (d > (uint64_t)INT64_MAX)
		return PARSE_SYNTAX;
	*out_ns = (int64_t)d;
	return PARSE_OK;
}

/* ================================================================ annotations */

typedef enum ann_id {
	ANN_CLASS,
	ANN_METRIC,
	ANN_ALGORITHM,
	ANN_MIN,
	ANN_MAX,
	ANN_ACTIVATION,
	ANN_INITIAL,
	ANN_TARGET,
	ANN_UTILIZATION,
	ANN_BURST,
	ANN_PANIC_WINDOW,
	ANN_PANIC_THRESHOLD,
	ANN_WINDOW,
	ANN_RETENTION,
	ANN_DELAY,
	ANN_COUNT
} ann_id;

#define GROUP "autoscaling.knative.dev/"

/* register.go: each annotation's key, then the older camelCase spelling that
 * Knative still reads (kmap.KeyPriority: the first key present wins). */
static const char *const ann_keys[ANN_COUNT][2] = {
	[ANN_CLASS] = {GROUP "class", NULL},
	[ANN_METRIC] = {GROUP "metric", NULL},
	[ANN_ALGORITHM] = {GROUP "metric-aggregation-algorithm", GROUP "metricAggregationAlgorithm"},
	[ANN_MIN] = {GROUP "min-scale", GROUP "minScale"},
	[ANN_MAX] = {GROUP "max-scale", GROUP "maxScale"},
	[ANN_ACTIVATION] = {GROUP "activation-scale", NULL},
	[ANN_INITIAL] = {GROUP "initial-scale", GROUP "initialScale"},
	[ANN_TARGET] = {GROUP "target", NULL},
	[ANN_UTILIZATION] = {GROUP "target-utilization-percentage", GROUP "targetUtilizationPercentage"},
	[ANN_BURST] = {GROUP "target-burst-capacity", GROUP "targetBurstCapacity"},
	[ANN_PANIC_WINDOW] = {GROUP "panic-window-percentage", GROUP "panicWindowPercentage"},
	[ANN_PANIC_THRESHOLD] = {GROUP "panic-threshold-percentage", GROUP "panicThresholdPercentage"},
	[ANN_WINDOW] = {GROUP "window", NULL},
	[ANN_RETENTION] = {GROUP "scale-to-zero-pod-retention-period", GROUP "scaleToZeroPodRetentionPeriod"},
	[ANN_DELAY] = {GROUP "scale-down-delay", GROUP "scaleDownDelay"},
};

#define KPA_CLASS "kpa.autoscaling.knative.dev"
#define HPA_CLASS "hpa.autoscaling.knative.dev"

typedef struct ann_set {
	const idp_doc_node *node[ANN_COUNT];
	const char *key[ANN_COUNT]; /* the spelling present, for the error path */
	idp_err *err;
} ann_set;

static int ann_vfail(const ann_set *a, ann_id id, const char *fmt, va_list ap)
{
	idp_buf path = IDP_BUF_INIT;
	idp_buf_puts(&path, "metadata.annotations");
	idp_doc_path_push_key(&path, a->key[id]);
	int rc = idp_err_vat(a->err, a->node[id]->pos, idp_buf_cstr(&path), fmt, ap);
	idp_buf_free(&path);
	return rc;
}

static int ann_fail(const ann_set *a, ann_id id, const char *fmt, ...) IDP_PRINTF(3, 4);
static int ann_fail(const ann_set *a, ann_id id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ann_vfail(a, id, fmt, ap);
	va_end(ap);
	return rc;
}

/* The annotation's text, quoted for a message: one line, at most 40 bytes
 * of it. */
static const char *ann_quoted(const ann_set *a, ann_id id, char *buf, size_t size)
{
	const idp_doc_node *n = a->node[id];
	size_t o = 0, i = 0;
	buf[o++] = '"';
	for (; i < n->as.str.len && i < 40 && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)n->as.str.ptr[i];
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (i < n->as.str.len)
		o += (size_t)snprintf(buf + o, size - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define QUOTED(a, id) ann_quoted((a), (id), (char[128]){0}, 128)

static const char *ann_str(const ann_set *a, ann_id id)
{
	return a->node[id] ? a->node[id]->as.str.ptr : NULL;
}

/* Annotation values are strings in Kubernetes (map[string]string); an
 * unquoted 10 in YAML is a number and the API server refuses it. */
static int ann_check_string(ann_set *a, ann_id id)
{
	const idp_doc_node *n = a->node[id];
	switch (n->kind) {
	case IDP_DOC_STR:
		if (strlen(n->as.str.ptr) != n->as.str.len)
			return ann_fail(a, id, "must not contain a NUL byte");
		return 0;
	case IDP_DOC_INT:
		return ann_fail(a, id, "annotation values are strings: quote the number, as in \"%lld\"",
				(long long)n->as.i);
	case IDP_DOC_FLOAT:
		return ann_fail(a, id, "annotation values are strings: quote the number, as in \"%g\"", n->as.f);
	case IDP_DOC_BOOL:
		return ann_fail(a, id, "annotation values are strings: quote it, as in \"%s\"",
				n->as.b ? "true" : "false");
	default:
		return ann_fail(a, id, "annotation values are strings, not a %s", idp_doc_kind_name(n->kind));
	}
}

static int ann_collect(ann_set *a, const idp_doc_node *annotations, idp_err *err)
{
	memset(a, 0, sizeof(*a));
	a->err = err;
	if (!annotations || annotations->kind == IDP_DOC_NULL)
		return 0;
	if (annotations->kind != IDP_DOC_MAP)
		return idp_err_at(err, annotations->pos, "metadata.annotations",
				  "must be a map of strings, not a %s", idp_doc_kind_name(annotations->kind));
	for (int id = 0; id < ANN_COUNT; id++) {
		for (int alt = 0; alt < 2 && !a->node[id]; alt++) {
			const char *key = ann_keys[id][alt];
			const idp_doc_node *n = key ? idp_doc_map_get(annotations, key) : NULL;
			if (n) {
				a->node[id] = n;
				a->key[id] = key;
			}
		}
		if (a->node[id] && ann_check_string(a, (ann_id)id) != 0)
			return IDP_EINPUT;
	}
	return 0;
}

/* validateClass, narrowed: the gateway runs only the KPA. */
static int ann_class(const ann_set *a)
{
	const char *v = ann_str(a, ANN_CLASS);
	if (!v || strcmp(v, KPA_CLASS) == 0)
		return 0;
	if (strcmp(v, HPA_CLASS) == 0)
		return ann_fail(a, ANN_CLASS,
				"class %s is not supported: idp's gateway scales with Knative's KPA only (\"" KPA_CLASS
				"\")",
				QUOTED(a, ANN_CLASS));
	return ann_fail(a, ANN_CLASS, "unknown autoscaler class %s: the gateway supports \"" KPA_CLASS "\"",
			QUOTED(a, ANN_CLASS));
}

/* validateMetric for the KPA allows concurrency and rps; the gateway counts
 * in-flight requests only. */
static int ann_metric(const ann_set *a)
{
	const char *v = ann_str(a, ANN_METRIC);
	if (!v || strcmp(v, "concurrency") == 0)
		return 0;
	if (strcmp(v, "rps") == 0)
		return ann_fail(a, ANN_METRIC, "metric \"rps\" is not supported: the gateway scales on \"concurrency\"");
	return ann_fail(a, ANN_METRIC, "invalid metric %s for the KPA: the gateway scales on \"concurrency\"",
			QUOTED(a, ANN_METRIC));
}

/* validateAlgorithm allows linear and weighted-exponential; the gateway
 * averages linearly, so the other is refused rather than ignored. */
static int ann_algorithm(const ann_set *a)
{
	const char *v = ann_str(a, ANN_ALGORITHM);
	if (!v || !*v || strcmp(v, "linear") == 0)
		return 0;
	if (strcmp(v, "weighted-exponential") == 0 || strcmp(v, "weightedExponential") == 0)
		return ann_fail(a, ANN_ALGORITHM,
				"%s is not supported: the gateway averages the window linearly (\"linear\")",
				QUOTED(a, ANN_ALGORITHM));
	return ann_fail(a, ANN_ALGORITHM,
			"invalid value %s: Knative allows \"linear\" or \"weighted-exponential\", the gateway \"linear\"",
			QUOTED(a, ANN_ALGORITHM));
}

/* getIntGE0: a whole number in [0, MaxInt32]. */
static int ann_int_ge0(const ann_set *a, ann_id id, int32_t *out)
{
	const char *v = ann_str(a, id);
	if (!v)
		return 0;
	int64_t i = 0;
	parse_rc rc = parse_int(v, &i);
	if (rc == PARSE_SYNTAX)
		return ann_fail(a, id, "invalid value %s: must be a whole number from 0 to 2147483647", QUOTED(a, id));
	if (rc == PARSE_RANGE || i < 0 || i > INT32_MAX)
		return ann_fail(a, id, "%s is out of range: must be from 0 to 2147483647", QUOTED(a, id));
	*out = (int32_t)i;
	return 0;
}

static int ann_scales(const ann_set *a, idp_gateway_kpa_config *c)
{
	if (ann_int_ge0(a, ANN_MIN, &c->min_scale) || ann_int_ge0(a, ANN_MAX, &c->max_scale))
		return IDP_EINPUT;
	if ((a->node[ANN_MIN] || a->node[ANN_MAX]) && c->max_scale != 0 && c->max_scale < c->min_scale) {
		ann_id at = a->node[ANN_MAX] ? ANN_MAX : ANN_MIN;
		return ann_fail(a, at, "max-scale=%d is less than min-scale=%d: max-scale must be 0 (unlimited) or at least min-scale",
				c->max_scale, c->min_scale);
	}
	return 0;
}

/* validateMinMaxScale's activation-scale part. */
static int ann_activation(const ann_set *a, idp_gateway_kpa_config *c)
{
	const char *v = ann_str(a, ANN_ACTIVATION);
	if (!v)
		return 0;
	int64_t i = 0;
	if (parse_int(v, &i) != PARSE_OK || i < INT32_MIN || i > INT32_MAX)
		return ann_fail(a, ANN_ACTIVATION, "invalid value %s: must be a whole number of at least 2",
				QUOTED(a, ANN_ACTIVATION));
	int32_t nz = (int32_t)i;
	if (c->min_scale > nz)
		return ann_fail(a, ANN_ACTIVATION, "min-scale=%d is greater than activation-scale=%d: activation-scale must be at least min-scale",
				c->min_scale, nz);
	if (c->max_scale != 0 && c->max_scale < nz)
		return ann_fail(a, ANN_ACTIVATION, "max-scale=%d is less than activation-scale=%d: activation-scale must be at most max-scale",
				c->max_scale, nz);
	if (nz < 2)
		return ann_fail(a, ANN_ACTIVATION, "activation-scale=%d must be greater than 1", nz);
	c->activation_scale = nz;
	return 0;
}

/* validateInitialScale with config-autoscaler's allow-zero-initial-scale at
 * its default, false. */
static int ann_initial(const ann_set *a, idp_gateway_kpa_config *c)
{
	const char *v = ann_str(a, ANN_INITIAL);
	if (!v)
		return 0;
	int64_t i = 0;
	if (parse_int(v, &i) != PARSE_OK)
		return ann_fail(a, ANN_INITIAL, "invalid value %s: must be a whole number of at least 1",
				QUOTED(a, ANN_INITIAL));
	if (i < 0 || i > INT32_MAX)
		return ann_fail(a, ANN_INITIAL, "%s is out of range: must be from 1 to 2147483647", QUOTED(a, ANN_INITIAL));
	if (i == 0)
		return ann_fail(a, ANN_INITIAL,
				"initial-scale=0 is not allowed (Knative's allow-zero-initial-scale defaults to false): use 1 or more");
	c->initial_scale = (int32_t)i;
	return 0;
}

/* A float annotation in [lo, hi] (hi < lo: no upper bound) into *out.
 * Returns 1 when absent, 0 when set, IDP_EINPUT when wrong. */
static int ann_float(const ann_set *a, ann_id id, double lo, double hi, const char *allowed, double *out)
{
	const char *v = ann_str(a, id);
	if (!v)
		return 1;
	if (parse_float(v, out) != PARSE_OK)
		return ann_fail(a, id, "invalid value %s: not a number; must be %s", QUOTED(a, id), allowed);
	if (*out < lo || (hi >= lo && *out > hi))
		return ann_fail(a, id, "%s is out of range: must be %s", QUOTED(a, id), allowed);
	return 0;
}

/* ResolveMetricTarget (pkg/reconciler/autoscaling/resources/target.go): a
 * target annotation never exceeds the hard limit containerConcurrency. */
static int ann_target(const ann_set *a, idp_gateway_kpa_config *c)
{
	double v = 0;
	int rc = ann_float(a, ANN_TARGET, KPA_TARGET_MIN, 0, "at least 0.01", &v);
	if (rc < 0)
		return rc;
	if (rc == 0)
		c->target = c->container_concurrency > 0 ? fmin(v, (double)c->container_concurrency) : v;
	return 0;
}

/* Validated for the user's sake only: the gateway is always in the request
 * path, so the burst capacity that places Knative's activator has nothing
 * to decide here. */
static int ann_burst(const ann_set *a)
{
	const char *v = ann_str(a, ANN_BURST);
	double x = 0;
	if (v && (parse_float(v, &x) != PARSE_OK || (x < 0 && x != -1)))
		return ann_fail(a, ANN_BURST, "invalid value %s: must be a number of at least 0, or -1 (unlimited)",
				QUOTED(a, ANN_BURST));
	return 0;
}

static int ann_floats(const ann_set *a, idp_gateway_kpa_config *c)
{
	double v = 0;
	int rc;
	if ((rc = ann_float(a, ANN_UTILIZATION, 1, 100, "from 1 to 100", &v)) < 0)
		return rc;
	if (rc == 0)
		c->target_utilization = v / 100;
	if ((rc = ann_float(a, ANN_PANIC_WINDOW, 1, 100, "from 1 to 100", &v)) < 0)
		return rc;
	if (rc == 0)
		c->panic_window_pct = v;
	if ((rc = ann_float(a, ANN_PANIC_THRESHOLD, 110, 1000, "from 110 to 1000", &v)) < 0)
		return rc;
	if (rc == 0)
		c->panic_threshold_pct = v;
	return 0;
}

/* A duration annotation in [lo, hi] nanoseconds, in whole seconds if asked,
 * into *out_s. Returns 1 when absent, 0 when set, IDP_EINPUT when wrong. */
static int ann_duration(const ann_set *a, ann_id id, int64_t lo, int64_t hi, bool whole, double *out_s)
{
	const char *v = ann_str(a, id);
	if (!v)
		return 1;
	int64_t ns = 0;
	if (parse_duration(v, &ns) != PARSE_OK)
		return ann_fail(a, id, "invalid duration %s: write a Go duration such as \"60s\" or \"1m30s\"",
				QUOTED(a, id));
	if (ns < lo || ns > hi)
		return ann_fail(a, id, "%s is out of range: must be from %llds to 1h", QUOTED(a, id),
				(long long)(lo / NS_PER_S));
	if (whole && ns % NS_PER_S != 0)
		return ann_fail(a, id, "%s must be specified with at most second precision", QUOTED(a, id));
	*out_s = (double)ns / (double)NS_PER_S;
	return 0;
}

static int ann_durations(const ann_set *a, idp_gateway_kpa_config *c)
{
	double s = 0;
	int rc;
	if ((rc = ann_duration(a, ANN_WINDOW, KPA_WINDOW_MIN_NS, KPA_WINDOW_MAX_NS, true, &s)) < 0)
		return rc;
	if (rc == 0)
		c->stable_window_s = s;
	/* scaler.go waits max(grace period, pod retention) after the revision
	 * goes inactive before the last replica goes, so the retention folds
	 * into the one wait the config has. */
	if ((rc = ann_duration(a, ANN_RETENTION, 0, KPA_WINDOW_MAX_NS, false, &s)) < 0)
		return rc;
	if (rc == 0)
		c->scale_to_zero_grace_s = fmax(c->scale_to_zero_grace_s, s);
	if ((rc = ann_duration(a, ANN_DELAY, 0, KPA_WINDOW_MAX_NS, true, &s)) < 0)
		return rc;
	if (rc == 0)
		c->scale_down_delay_s = s;
	return 0;
}

int idp_gateway_kpa_configure(idp_gateway_kpa_config *c, const idp_doc_node *annotations,
			      int64_t container_concurrency, idp_err *err)
{
	if (container_concurrency < 0)
		return idp_err_set(err, IDP_EINPUT, "containerConcurrency %lld: must be 0 (unlimited) or more",
				   (long long)container_concurrency);
	/* Work on a copy so that a failure leaves *c as it was. */
	idp_gateway_kpa_config n = *c;
	n.container_concurrency = container_concurrency;
	if (container_concurrency > 0)
		n.target = (double)container_concurrency;
	ann_set a;
	if (ann_collect(&a, annotations, err) != 0)
		return IDP_EINPUT;
	if (ann_class(&a) || ann_metric(&a) || ann_algorithm(&a) || ann_scales(&a, &n) || ann_activation(&a, &n) ||
	    ann_initial(&a, &n) || ann_target(&a, &n) || ann_burst(&a) || ann_floats(&a, &n) || ann_durations(&a, &n))
		return IDP_EINPUT;
	*c = n;
	return 0;
}

/* ================================================================ window average */

/*
 * aggregation.TimedFloat64Buckets with one-second buckets: a ring of the
 * last `size` seconds and the times of the first and last write.
 *
 * Two changes, both because a sample here is a level the caller reads at
 * its own tick rather than a per-second scrape:
 *  - several samples in one second are averaged, not summed (Knative sums
 *    because the activator and each pod report a share of the total; our
 *    caller reports the total);
 *  - a second skipped between two samples holds the earlier sample instead
 *    of counting as zero (Knative's zero stands for a failed scrape; the
 *    gateway samples every 2 s, and zeros there would halve the average).
 * As upstream, nothing written for a whole window empties it, and seconds
 * after the last write are left out of the average (a partial window).
 * Unlike upstream, the sum is taken afresh at each decision rather than
 * kept running: a running total's rounding errors pile up over days and
 * can tip a ceil() over a whole number.
 */
typedef struct kpa_buckets {
	double *value; /* per second: the average of its samples, or the held value */
	double *count; /* samples that second; 0 for a held or empty second */
	int64_t size;
	bool written;
	int64_t first, last; /* seconds */
} kpa_buckets;

static void buckets_init(kpa_buckets *b, int64_t size)
{
	memset(b, 0, sizeof(*b));
	b->size = size;
	b->value = idp_xcalloc((size_t)size, sizeof(double));
	b->count = idp_xcalloc((size_t)size, sizeof(double));
}

static void buckets_free(kpa_buckets *b)
{
	free(b->value);
	free(b->count);
}

/* floor(t), saturated: a clock value is the caller's, and converting an
 * out-of-range double to an integer is undefined. */
static int64_t whole(double t)
{
	const double lim = 9007199254740992.0; /* 2^53 */
	if (!(t > -lim))
		return -(int64_t)lim;
	if (t >= lim)
		return (int64_t)lim;
	return (int64_t)floor(t);
}

static int64_t buckets_index(const kpa_buckets *b, int64_t sec)
{
	int64_t i = sec % b->size;
	return i < 0 ? i + b->size : i;
}

static void buckets_set(kpa_buckets *b, int64_t sec, double value, double count)
{
	int64_t i = buckets_index(b, sec);
	b->value[i] = value;
	b->count[i] = count;
}

static void buckets_reset(kpa_buckets *b, int64_t sec)
{
	memset(b->value, 0, (size_t)b->size * sizeof(double));
	memset(b->count, 0, (size_t)b->size * sizeof(double));
	b->first = b->last = sec;
	b->written = true;
}

static void buckets_record(kpa_buckets *b, double now, double v)
{
	int64_t sec = whole(now);
	if (!b->written || sec - b->last >= b->size) {
		buckets_reset(b, sec);
	} else if (sec > b->last) {
		double held = b->value[buckets_index(b, b->last)];
		for (int64_t s = b->last + 1; s < sec; s++)
			buckets_set(b, s, held, 0);
		buckets_set(b, sec, 0, 0);
		b->last = sec;
	} else if (sec + b->size <= b->last) {
		return; /* older than the window */
	} else if (sec < b->first) {
		b->first = sec;
	}
	int64_t i = buckets_index(b, sec);
	double n = b->count[i];
	double avg = n > 0 ? (b->value[i] * n + v) / (n + 1) : v;
	buckets_set(b, sec, avg, n + 1);
}

/* aggregation.roundToNDigits(6, x): an average of fractions such as
 * (54 x 54.44... + 60) / 60 comes out a hair above 50, and ceil() would
 * then ask for a pod too many. */
static double round6(double x)
{
	return round(x * 1e6) / 1e6;
}

static double buckets_average(const kpa_buckets *b, double now)
{
	if (!b->written)
		return 0;
	int64_t sec = whole(now);
	int64_t behind = sec - b->last;
	if (behind >= b->size)
		return 0;
	double sum = 0;
	for (int64_t i = 0; i < b->size; i++)
		sum += b->value[i];
	int64_t valid = b->size;
	if (behind > 0) {
		for (int64_t s = b->last + 1; s <= sec; s++)
			sum -= b->value[buckets_index(b, s)];
		valid -= behind;
	}
	int64_t written = b->last - b->first + 1;
	if (written < valid)
		valid = written;
	return fmax(0, round6(sum / (double)valid));
}

/* ================================================================ max window */

/* aggregation/max.window: the largest value recorded over the last `size`
 * indexes (ticks), by the descending-minima algorithm. */
typedef struct kpa_max_entry {
	int64_t index;
	int32_t value;
} kpa_max_entry;

typedef struct kpa_max_window {
	kpa_max_entry *m;
	int64_t size, first, length;
} kpa_max_window;

static kpa_max_entry *maxwin_at(kpa_max_window *w, int64_t i)
{
	return &w->m[(w->first + i) % w->size];
}

static void maxwin_record(kpa_max_window *w, int64_t index, int32_t v)
{
	/* Smaller-or-equal older values can never be the maximum again. */
	while (w->length > 0 && !(v < maxwin_at(w, w->length - 1)->value))
		w->length--;
	while (w->length > 0 && index - w->m[w->first].index >= w->size) {
		w->length--;
		w->first = (w->first + 1) % w->size;
	}
	if (w->length > 0) {
		kpa_max_entry *last = maxwin_at(w, w->length - 1);
		if (last->index == index) {
			if (last->value > v)
				v = last->value;
			w->length--;
		}
	}
	if (w->length == w->size) { /* only if the clock ran backwards */
		w->length--;
		w->first = (w->first + 1) % w->size;
	}
	*maxwin_at(w, w->length) = (kpa_max_entry){index, v};
	w->length++;
}

static int32_t maxwin_current(const kpa_max_window *w)
{
	return w->m[w->first].value;
}

/* ================================================================ state */

/* The PodAutoscaler's Active condition (kpa.go computeActiveCondition):
 * Unknown while activating, True when active, False when inactive. */
typedef enum kpa_activity { KPA_ACTIVATING, KPA_ACTIVE, KPA_INACTIVE } kpa_activity;

struct idp_gateway_kpa {
	idp_gateway_kpa_config c;
	double stable_window_s;
	kpa_buckets stable, panic;
	kpa_max_window delay; /* size 0: no scale-down delay */

	bool panicking;
	double panic_time;
	int32_t max_panic_pods;

	bool initialized; /* ScaleTargetInitialized: initial scale reached once */
	kpa_activity activity;
	double activity_since;
	int32_t last; /* the replicas last asked for */
};

static int32_t to_i32(double x)
{
	if (isnan(x))
		return 0;
	if (x >= (double)INT32_MAX)
		return INT32_MAX;
	if (x <= (double)INT32_MIN)
		return INT32_MIN;
	return (int32_t)x;
}

/* scaler.go applyBounds. */
static int32_t apply_bounds(int32_t lo, int32_t hi, int32_t x)
{
	if (x < lo)
		return lo;
	if (hi != 0 && x > hi)
		return hi;
	return x;
}

idp_gateway_kpa *idp_gateway_kpa_new(const idp_gateway_kpa_config *c)
{
	idp_gateway_kpa *k = idp_xcalloc(1, sizeof(*k));
	k->c = *c;
	/* Bounded so that a hand-made config cannot ask for a huge ring;
	 * configure() holds annotations to Knative's 6 s .. 1 h. */
	double sw = isfinite(c->stable_window_s) ? fmin(fmax(c->stable_window_s, 1), 3600) : 60;
	k->stable_window_s = sw;
	int64_t stable_size = (int64_t)ceil(sw);
	/* resources/metric.go MakeMetric: the panic window is rounded to whole
	 * seconds and is at least one bucket. */
	double pct = isfinite(c->panic_window_pct) ? c->panic_window_pct : 10;
	int64_t panic_size = (int64_t)round(sw * pct / 100);
	if (panic_size < 1)
		panic_size = 1;
	if (panic_size > stable_size)
		panic_size = stable_size;
	buckets_init(&k->stable, stable_size);
	buckets_init(&k->panic, panic_size);
	double delay = isfinite(c->scale_down_delay_s) ? fmin(c->scale_down_delay_s, 3600) : 0;
	if (delay > 0) {
		k->delay.size = (int64_t)ceil(delay / KPA_TICK_S);
		k->delay.m = idp_xcalloc((size_t)k->delay.size, sizeof(kpa_max_entry));
	}
	k->activity = KPA_ACTIVATING;
	/* The revision's Deployment starts at the initial scale. */
	k->last = apply_bounds(c->min_scale, c->max_scale, c->initial_scale);
	return k;
}

void idp_gateway_kpa_free(idp_gateway_kpa *k)
{
	if (!k)
		return;
	buckets_free(&k->stable);
	buckets_free(&k->panic);
	free(k->delay.m);
	free(k);
}

void idp_gateway_kpa_record(idp_gateway_kpa *k, double now, double concurrency)
{
	if (!isfinite(now) || !isfinite(concurrency) || concurrency < 0)
		return;
	buckets_record(&k->stable, now, concurrency);
	buckets_record(&k->panic, now, concurrency);
}

/* ================================================================ decider */

/* autoscaler.go: panic starts when the panic window needs panic-threshold
 * times the ready pods, is extended while it does, and ends only once a
 * whole stable window has passed since it last did. */
static void update_panic(idp_gateway_kpa *k, double now, bool over_threshold)
{
	if (over_threshold) {
		k->panicking = true;
		k->panic_time = now;
	} else if (k->panicking && k->panic_time + k->stable_window_s < now) {
		k->panicking = false;
		k->max_panic_pods = 0;
	}
}

/* autoscaler.go Scale(): the decider's desired pod count. */
static int32_t decider_scale(idp_gateway_kpa *k, double now, int32_t ready, double stable, double panic)
{
	const idp_gateway_kpa_config *c = &k->c;
	double ready_pods = fmax(1, (double)ready);
	double target = fmax(KPA_TARGET_MIN, c->target * c->target_utilization);
	/* At least one more pod when scaling up, one fewer when scaling down,
	 * however conservative the rates. */
	double max_up = ceil(c->max_scale_up_rate * ready_pods);
	double max_down = floor(ready_pods / c->max_scale_down_rate);
	double dspc = ceil(stable / target), dppc = ceil(panic / target);
	int32_t stable_pods = to_i32(fmin(fmax(dspc, max_down), max_up));
	int32_t panic_pods = to_i32(fmin(fmax(dppc, max_down), max_up));
	if (c->activation_scale > 1) {
		if (dspc > 0 && c->activation_scale > stable_pods)
			stable_pods = c->activation_scale;
		if (dppc > 0 && c->activation_scale > panic_pods)
			panic_pods = c->activation_scale;
	}
	update_panic(k, now, dppc / ready_pods >= c->panic_threshold_pct / 100);
	int32_t desired = stable_pods;
	if (k->panicking) {
		/* Provision for whichever window asks more, and never shrink
		 * while panicking. */
		if (desired < panic_pods)
			desired = panic_pods;
		if (desired > k->max_panic_pods)
			k->max_panic_pods = desired;
		desired = k->max_panic_pods;
	}
	if (k->delay.size > 0) {
		maxwin_record(&k->delay, whole(now / KPA_TICK_S), desired);
		desired = maxwin_current(&k->delay);
	}
	return desired;
}

/* ================================================================ reconciler */

/* kpa.go activeThreshold: ready pods needed to count as active. */
static int32_t active_threshold(const idp_gateway_kpa *k)
{
	int32_t lo = k->c.min_scale;
	if (!k->initialized)
		return lo > k->c.initial_scale ? lo : k->c.initial_scale;
	return lo > 1 ? lo : 1;
}

static void set_activity(idp_gateway_kpa *k, kpa_activity a, double now)
{
	if (k->activity != a) {
		k->activity = a;
		k->activity_since = now;
	}
}

/* kpa.go computeActiveCondition. want is what scale() reported: the scale
 * applied, 0 when it held back a scale to zero, -1 when it held back
 * because the revision is still activating. */
static void update_activity(idp_gateway_kpa *k, double now, int32_t ready, int32_t want)
{
	int32_t min_ready = active_threshold(k);
	if (ready >= min_ready)
		k->initialized = true;
	if (want == 0 || min_ready == 0)
		set_activity(k, KPA_INACTIVE, now);
	else if (k->activity == KPA_INACTIVE && want < 0)
		return;
	else
		set_activity(k, ready < min_ready ? KPA_ACTIVATING : KPA_ACTIVE, now);
}

/* scaler.go handleScaleToZero: the last replica goes only once the
 * revision has been active for a stable window (then it turns inactive)
 * and inactive for the grace period. Where Knative declines to apply a
 * scale it leaves the Deployment alone, so k->last stands. *want gets what
 * kpa.go then sees. */
static int32_t scale_to_zero(idp_gateway_kpa *k, double now, int32_t desired, int32_t *want)
{
	*want = desired;
	if (desired != 0)
		return desired;
	if (!k->c.enable_scale_to_zero) {
		*want = 1;
		return 1;
	}
	switch (k->activity) {
	case KPA_ACTIVATING:
		*want = -1;
		return k->last;
	case KPA_ACTIVE:
		if (now - k->activity_since >= k->stable_window_s)
			return k->last; /* turns inactive; the wait starts now */
		*want = 1;
		return 1;
	case KPA_INACTIVE:
	default:
		return now - k->activity_since >= k->c.scale_to_zero_grace_s ? 0 : k->last;
	}
}

idp_gateway_kpa_decision idp_gateway_kpa_decide(idp_gateway_kpa *k, double now, int32_t ready_replicas)
{
	idp_gateway_kpa_decision d = {0};
	int32_t ready = ready_replicas > 0 ? ready_replicas : 0;
	int32_t want = -1;
	if (k->stable.written) {
		d.stable_avg = buckets_average(&k->stable, now);
		d.panic_avg = buckets_average(&k->panic, now);
		int32_t desired = decider_scale(k, now, ready, d.stable_avg, d.panic_avg);
		/* scaler.go scale(): until the initial scale has been reached,
		 * it is a floor. */
		int32_t lo = k->c.min_scale;
		if (k->c.initial_scale > 1 && !k->initialized && k->c.initial_scale > lo)
			lo = k->c.initial_scale;
		desired = apply_bounds(lo, k->c.max_scale, desired);
		k->last = scale_to_zero(k, now, desired, &want);
	}
	update_activity(k, now, ready, want);
	d.desired = k->last;
	d.panic = k->panicking;
	return d;
}
