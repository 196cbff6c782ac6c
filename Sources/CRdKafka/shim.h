#ifndef REGEVENTS_CRDKAFKA_SHIM_H
#define REGEVENTS_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* rd_kafka_mock_broker_push_request_error_rtts is variadic (error, rtt pairs),
 * which Swift cannot call: push `count` copies of one error, answered without
 * delay, onto one broker's stack for `api_key`. Eight per call keeps the
 * mock's reallocations few. */
static inline rd_kafka_resp_err_t regevents_mock_broker_push_request_errors(
    rd_kafka_mock_cluster_t *mcluster, int32_t broker_id, int16_t api_key, size_t count, rd_kafka_resp_err_t err) {
        rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
        size_t pushed = 0;
        while (result == RD_KAFKA_RESP_ERR_NO_ERROR && count - pushed >= 8) {
                result = rd_kafka_mock_broker_push_request_error_rtts(
                    mcluster, broker_id, api_key, 8, err, 0, err, 0, err, 0, err, 0, err, 0, err, 0, err, 0, err, 0);
                pushed += 8;
        }
        while (result == RD_KAFKA_RESP_ERR_NO_ERROR && pushed < count) {
                result = rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, 0);
                pushed += 1;
        }
        return result;
}
#endif
