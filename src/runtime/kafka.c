/* Kafka on one machine without a broker installed: librdkafka's mock
 * cluster, hosted by the runtime (its own threads). It speaks Kafka's
 * protocol on 127.0.0.1 (an ephemeral port: librdkafka chooses it), creates
 * topics on first use, and keeps nothing: `idp status` says "mock, no
 * persistence". Readiness is a metadata request, as a client would make. */
#include "runtime/runtime.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct idp_runtime_kafka {
	rd_kafka_t *rk; /* the mock cluster's host handle */
	rd_kafka_mock_cluster_t *mock;
	char bootstrap[128];
};

int idp_runtime_kafka_start(idp_runtime_kafka **out, idp_err *err)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The host handle itself never connects anywhere. */
	if (rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return idp_err_set(err, IDP_ERUNTIME, "kafka mock: %s", errstr);
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return idp_err_set(err, IDP_ERUNTIME, "kafka mock: %s", errstr);
	}
	rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(rk, 1);
	if (!mock) {
		rd_kafka_destroy(rk);
		return idp_err_set(err, IDP_ERUNTIME, "kafka mock: the mock cluster did not start");
	}
	idp_runtime_kafka *k = idp_xcalloc(1, sizeof(*k));
	k->rk = rk;
	k->mock = mock;
	snprintf(k->bootstrap, sizeof k->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(mock));
	*out = k;
	return 0;
}

const char *idp_runtime_kafka_bootstrap(const idp_runtime_kafka *k)
{
	return k->bootstrap;
}

int idp_runtime_kafka_port(const idp_runtime_kafka *k)
{
	const char *colon = strrchr(k->bootstrap, ':');
	return colon ? atoi(colon + 1) : -1;
}

bool idp_runtime_kafka_ready(const idp_runtime_kafka *k)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", k->bootstrap, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return false;
	}
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
	rd_kafka_t *client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!client) {
		rd_kafka_conf_destroy(conf);
		return false;
	}
	const struct rd_kafka_metadata *md = NULL;
	bool ok = rd_kafka_metadata(client, 1, NULL, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt > 0;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(client);
	return ok;
}

void idp_runtime_kafka_stop(idp_runtime_kafka *k)
{
	if (!k)
		return;
	rd_kafka_mock_cluster_destroy(k->mock);
	rd_kafka_destroy(k->rk);
	free(k);
}
