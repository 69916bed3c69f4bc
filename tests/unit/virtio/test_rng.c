/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio-rng: buffers filled with random bytes, rate limiting with the timer. */
#include "vtest.h"

#include <errno.h>

struct rfix {
	struct vt t;
	struct vt_q q;
	struct dev *d;
	struct evloop *loop;
};

static int setup_rl(void **state, const struct rate_limiter_cfg *rl)
{
	struct rfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	assert_int_equal(evloop_create(&f->loop), 0);
	struct entropy_cfg c = {.set = true};
	if (rl)
		c.rate_limiter = *rl;
	struct virtio_env env = vt_env(&f->t);
	env.loop = f->loop;
	assert_int_equal(virtio_rng_create(&env, &c, VIRTIO_MMIO_BASE, 9, &f->d), 0);
	vt_q_setup(&f->t, &f->q, 16);
	vt_start(f->d, &f->q, 1, ~0ULL);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_rl(state, NULL);
}

static int setup_limited(void **state)
{
	/* 1000 bytes per 50 ms. */
	struct rate_limiter_cfg rl = {.bandwidth = {true, 1000, 0, 50}};
	return setup_rl(state, &rl);
}

static int teardown(void **state)
{
	struct rfix *f = *state;
	f->d->ops->destroy(f->d);
	evloop_destroy(f->loop);
	vt_fini(&f->t);
	free(f);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_fills_buffers(void **state)
{
	struct rfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 256, 8), b = vt_alloc(&f->t, 256, 8);
	struct vt_buf bufs[] = {{a, 100, true}, {b, 256, true}};
	uint16_t head = vt_add(&f->t, &f->q, bufs, 2);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 356);
	assert_false(all_zero(vt_ptr(&f->t, a), 100));
	assert_false(all_zero(vt_ptr(&f->t, b) + 200, 56));
	/* Bytes past the descriptor stay untouched. */
	assert_true(all_zero(vt_ptr(&f->t, a) + 100, 156));
	/* Two fills differ. */
	struct vt_buf c[] = {{b, 64, true}};
	uint8_t before[64];
	memcpy(before, vt_ptr(&f->t, b), 64);
	vt_add(&f->t, &f->q, c, 1);
	vt_kick(f->d, 0);
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_memory_not_equal(before, vt_ptr(&f->t, b), 64);
	/* A device-readable buffer gets nothing (used length 0), no reset. */
	struct vt_buf r[] = {{a, 16, false}};
	vt_add(&f->t, &f->q, r, 1);
	vt_kick(f->d, 0);
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_int_equal(len, 0);
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_rate_limited_timer_rekicks(void **state)
{
	struct rfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 4096, 8);
	for (int i = 0; i < 3; i++) {
		struct vt_buf b[] = {{a, 800, true}};
		vt_add(&f->t, &f->q, b, 1);
	}
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_false(vt_used(&f->t, &f->q, &id, &len)); /* bucket has 200 bytes left */
	/* The limiter's timer re-kicks the queue without a guest notification. */
	uint64_t start = time_mono_us();
	int got = 1;
	while (got < 3 && time_mono_us() - start < 2000000) {
		evloop_run_once(f->loop, 100);
		while (vt_used(&f->t, &f->q, &id, &len))
			got++;
	}
	assert_int_equal(got, 3);
	uint64_t took = time_mono_us() - start;
	/* 1600 more bytes at 1000 B / 50 ms need at least ~60 ms. */
	assert_true(took >= 50000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fills_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limited_timer_rekicks, setup_limited,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
