/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the token-bucket rate limiter with an injected clock (accuracy, burst). */
#include "vtest.h"

#include "virtio/ratelimit.h"

static uint64_t g_now;

static uint64_t fake_now(void)
{
	return g_now;
}

static struct rate_limiter_cfg mk(uint64_t bw, uint64_t burst, uint64_t ops)
{
	struct rate_limiter_cfg c = {0};
	if (bw)
		c.bandwidth = (struct tbucket_cfg){true, bw, burst, 1000};
	if (ops)
		c.ops = (struct tbucket_cfg){true, ops, 0, 1000};
	return c;
}

/* Run requests of req bytes for secs simulated seconds after draining the initial bucket;
 * returns (bytes, ops) achieved. Time advances only as the limiter asks. */
static void run(struct ratelimit *rl, uint64_t req, double secs, uint64_t *bytes, uint64_t *ops)
{
	while (rl_consume(rl, req, 1)) /* drain the initial full bucket */
		;
	uint64_t start = g_now, end = g_now + (uint64_t)(secs * 1e6);
	*bytes = *ops = 0;
	while (g_now < end) {
		if (rl_consume(rl, req, 1)) {
			*bytes += req;
			*ops += 1;
		} else {
			g_now += rl_wait_us(rl, req, 1);
		}
	}
	(void)start;
}

static void test_bandwidth_10mbs(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 1000000;
	struct rate_limiter_cfg c = mk(10000000, 0, 0);
	assert_int_equal(rl_init(&rl, &c, NULL, NULL, NULL), 0);
	uint64_t bytes, ops;
	run(&rl, 65536, 10.0, &bytes, &ops);
	double rate = (double)bytes / 10.0;
	assert_true(rate > 9.0e6 && rate < 11.0e6);
	assert_true(rl.throttled > 0);
}

static void test_ops_1000(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 5;
	struct rate_limiter_cfg c = mk(0, 0, 1000);
	assert_int_equal(rl_init(&rl, &c, NULL, NULL, NULL), 0);
	uint64_t bytes, ops;
	run(&rl, 4096, 10.0, &bytes, &ops);
	double rate = (double)ops / 10.0;
	assert_true(rate > 900 && rate < 1100);
}

static void test_one_time_burst(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 0;
	struct rate_limiter_cfg c = mk(1000, 5000, 0);
	assert_int_equal(rl_init(&rl, &c, NULL, NULL, NULL), 0);
	/* burst 5000 + bucket 1000 are available at once, then nothing. */
	assert_true(rl_consume(&rl, 5500, 0));
	assert_true(rl_consume(&rl, 500, 0));
	assert_false(rl_consume(&rl, 1, 0));
	assert_true(rl_wait_us(&rl, 500, 0) >= 499000);
	g_now += 500000;
	assert_true(rl_consume(&rl, 500, 0));
}

static void test_oversized_request(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 0;
	struct rate_limiter_cfg c = mk(1000, 0, 0);
	assert_int_equal(rl_init(&rl, &c, NULL, NULL, NULL), 0);
	/* A request larger than the bucket passes when the bucket is full, then pays back. */
	assert_true(rl_consume(&rl, 3000, 0));
	assert_false(rl_consume(&rl, 100, 0));
	g_now += 2000000;
	assert_false(rl_consume(&rl, 100, 0));
	g_now += 1100000;
	assert_true(rl_consume(&rl, 100, 0));
}

static void test_unlimited_and_update(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 0;
	assert_int_equal(rl_init(&rl, NULL, NULL, NULL, NULL), 0);
	assert_false(rl_enabled(&rl));
	for (int i = 0; i < 1000; i++)
		assert_true(rl_consume(&rl, 1ULL << 30, 1));
	struct rate_limiter_cfg c = mk(0, 0, 2);
	rl_update(&rl, &c);
	assert_true(rl_enabled(&rl));
	assert_true(rl_consume(&rl, 0, 1));
	assert_true(rl_consume(&rl, 0, 1));
	assert_false(rl_consume(&rl, 0, 1));
	rl_update(&rl, NULL);
	assert_true(rl_consume(&rl, 0, 1));
}

static void test_both_or_neither(void **state)
{
	struct ratelimit rl = {.now_us = fake_now};
	g_now = 0;
	struct rate_limiter_cfg c = mk(1000, 0, 1);
	assert_int_equal(rl_init(&rl, &c, NULL, NULL, NULL), 0);
	assert_true(rl_consume(&rl, 10, 1));
	/* ops exhausted: the bandwidth bucket must not be charged by the refused request. */
	assert_false(rl_consume(&rl, 990, 1));
	assert_int_equal(rl_wait_us(&rl, 990, 0), 0);
	g_now += 1000000;
	assert_true(rl_consume(&rl, 1000, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bandwidth_10mbs),	 cmocka_unit_test(test_ops_1000),
	    cmocka_unit_test(test_one_time_burst),	 cmocka_unit_test(test_oversized_request),
	    cmocka_unit_test(test_unlimited_and_update), cmocka_unit_test(test_both_or_neither),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
