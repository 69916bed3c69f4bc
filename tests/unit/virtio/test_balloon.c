/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio-balloon: target/actual, inflate frees pages, stats, page reporting. */
#include "vtest.h"

#include <errno.h>

struct bfix {
	struct vt t;
	struct vt_q q[5];
	struct dev *d;
};

static int setup_cfg(void **state, uint32_t interval, bool reporting)
{
	struct bfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	struct balloon_cfg c = {.set = true,
				.amount_mib = 4,
				.deflate_on_oom = true,
				.stats_polling_interval_s = interval,
				.free_page_hinting = reporting,
				.free_page_reporting = reporting};
	struct virtio_env env = vt_env(&f->t);
	assert_int_equal(virtio_balloon_create(&env, &c, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	for (int i = 0; i < 5; i++)
		vt_q_setup(&f->t, &f->q[i], 16);
	*state = f;
	return 0;
}

static int setup_full(void **state)
{
	return setup_cfg(state, 1, true);
}

static int setup_plain(void **state)
{
	return setup_cfg(state, 0, false);
}

static int teardown(void **state)
{
	struct bfix *f = *state;
	f->d->ops->destroy(f->d);
	vt_fini(&f->t);
	free(f);
	return 0;
}

static uint32_t cfg32(struct dev *d, uint64_t off)
{
	uint32_t v = 0;
	d->ops->read(d, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, 4);
	return v;
}

static void test_target_and_actual(void **state)
{
	struct bfix *f = *state;
	uint64_t feat = vt_start(f->d, f->q, 5, ~0ULL);
	assert_true(feat & (1ULL << 2)); /* DEFLATE_ON_OOM */
	assert_true(feat & (1ULL << 1)); /* STATS_VQ */
	assert_true(feat & (1ULL << 5)); /* REPORTING */
	assert_int_equal(cfg32(f->d, 0), 4 * 256);
	assert_int_equal(virtio_balloon_target(f->d, 8), 0);
	assert_int_equal(cfg32(f->d, 0), 8 * 256);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS) & VIRTIO_INT_CONFIG);
	uint32_t actual = 100;
	f->d->ops->write(f->d, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&actual, 4);
	assert_int_equal(cfg32(f->d, 4), 100);
	/* num_pages is read-only for the driver. */
	f->d->ops->write(f->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&actual, 4);
	assert_int_equal(cfg32(f->d, 0), 8 * 256);
	struct virtio_balloon_stats st;
	assert_int_equal(virtio_balloon_stats(f->d, &st), 0);
	assert_int_equal(st.target_mib, 8);
	assert_int_equal(st.actual_pages, 100);
}

static void test_inflate_frees_pages(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, f->q, 5, ~0ULL);
	uint64_t pages = vt_alloc(&f->t, 3 * 4096, 4096);
	memset(vt_ptr(&f->t, pages), 0x99, 3 * 4096);
	uint64_t list = vt_alloc(&f->t, 8, 4);
	uint32_t pfns[2] = {(uint32_t)(pages >> 12), (uint32_t)(pages >> 12) + 2};
	memcpy(vt_ptr(&f->t, list), pfns, 8);
	struct vt_buf b[] = {{list, 8, false}};
	vt_add(&f->t, &f->q[0], b, 1);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[0], &id, &len));
	uint8_t *p = vt_ptr(&f->t, pages);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[4095], 0);
	assert_int_equal(p[4096], 0x99); /* not in the list */
	assert_int_equal(p[2 * 4096 + 7], 0);
	/* A PFN outside RAM is ignored without harm. */
	pfns[0] = 0xfffffff0;
	memcpy(vt_ptr(&f->t, list), pfns, 4);
	vt_add(&f->t, &f->q[0], b, 1);
	vt_kick(f->d, 0);
	assert_true(vt_used(&f->t, &f->q[0], &id, &len));
	/* Deflate just returns the buffer. */
	vt_add(&f->t, &f->q[1], b, 1);
	vt_kick(f->d, 1);
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_stats(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, f->q, 5, ~0ULL);
	uint64_t buf = vt_alloc(&f->t, 20, 8);
	uint8_t *p = vt_ptr(&f->t, buf);
	uint16_t t1 = 4, t2 = 5;
	uint64_t v1 = 123456, v2 = 999999;
	memcpy(p, &t1, 2);
	memcpy(p + 2, &v1, 8);
	memcpy(p + 10, &t2, 2);
	memcpy(p + 12, &v2, 8);
	struct vt_buf b[] = {{buf, 20, false}};
	uint16_t head = vt_add(&f->t, &f->q[2], b, 1);
	vt_kick(f->d, 2);
	uint32_t id, len;
	assert_false(vt_used(&f->t, &f->q[2], &id, &len)); /* held by the device */
	struct virtio_balloon_stats st;
	assert_int_equal(virtio_balloon_stats(f->d, &st), 0);
	assert_true(st.has[4]);
	assert_int_equal(st.val[4], 123456);
	assert_int_equal(st.val[5], 999999);
	assert_false(st.has[0]);
	assert_string_equal(virtio_balloon_stat_name(4), "free_memory");
	virtio_balloon_poll_stats(f->d);
	assert_true(vt_used(&f->t, &f->q[2], &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(virtio_balloon_interval(f->d, 0), -EINVAL);
	/* A new interval asks for fresh statistics at once. */
	vt_add(&f->t, &f->q[2], b, 1);
	vt_kick(f->d, 2);
	assert_false(vt_used(&f->t, &f->q[2], &id, &len));
	assert_int_equal(virtio_balloon_interval(f->d, 5), 0);
	assert_true(vt_used(&f->t, &f->q[2], &id, &len));
}

static uint64_t hint_cmd(struct bfix *f, uint32_t cmd)
{
	uint64_t p = vt_alloc(&f->t, 4, 4);
	memcpy(vt_ptr(&f->t, p), &cmd, 4);
	struct vt_buf b[] = {{p, 4, false}};
	vt_add(&f->t, &f->q[3], b, 1);
	vt_kick(f->d, 3);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[3], &id, &len));
	return p;
}

static void test_free_page_hinting(void **state)
{
	struct bfix *f = *state;
	uint64_t feat = vt_start(f->d, f->q, 5, ~0ULL);
	assert_true(feat & (1ULL << 3));
	struct virtio_balloon_hinting h;
	assert_int_equal(virtio_balloon_hint_status(f->d, &h), 0);
	assert_int_equal(h.host_cmd, 0);
	assert_false(h.has_guest_cmd);
	assert_int_equal(virtio_balloon_hint_start(f->d, true), 0);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS) & VIRTIO_INT_CONFIG);
	uint32_t run = cfg32(f->d, 8);
	assert_true(run >= 2);
	/* Pages hinted before the guest acknowledges the run are kept. */
	uint64_t pages = vt_alloc(&f->t, 4096, 4096);
	memset(vt_ptr(&f->t, pages), 0x61, 4096);
	struct vt_buf pb[] = {{pages, 4096, true}};
	vt_add(&f->t, &f->q[3], pb, 1);
	vt_kick(f->d, 3);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[3], &id, &len));
	assert_int_equal(((uint8_t *)vt_ptr(&f->t, pages))[9], 0x61);
	/* The guest starts the run: its pages are released. */
	hint_cmd(f, run);
	vt_add(&f->t, &f->q[3], pb, 1);
	vt_kick(f->d, 3);
	assert_true(vt_used(&f->t, &f->q[3], &id, &len));
	assert_int_equal(((uint8_t *)vt_ptr(&f->t, pages))[9], 0);
	assert_int_equal(virtio_balloon_hint_status(f->d, &h), 0);
	assert_true(h.has_guest_cmd);
	assert_int_equal(h.guest_cmd, run);
	/* STOP from the guest with acknowledge_on_stop: the host answers DONE. */
	vt_wr(f->d, VIRTIO_MMIO_INT_ACK, 3);
	hint_cmd(f, 0);
	assert_int_equal(cfg32(f->d, 8), 1);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS) & VIRTIO_INT_CONFIG);
	/* A second run gets a new id; stop sets DONE. */
	assert_int_equal(virtio_balloon_hint_start(f->d, false), 0);
	assert_true(cfg32(f->d, 8) > run);
	assert_int_equal(virtio_balloon_hint_stop(f->d), 0);
	assert_int_equal(cfg32(f->d, 8), 1);
}

static void test_free_page_reporting(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, f->q, 5, ~0ULL);
	uint64_t pages = vt_alloc(&f->t, 2 * 4096, 4096);
	memset(vt_ptr(&f->t, pages), 0x42, 2 * 4096);
	struct vt_buf b[] = {{pages, 2 * 4096, true}};
	vt_add(&f->t, &f->q[4], b, 1);
	vt_kick(f->d, 4);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[4], &id, &len));
	assert_int_equal(((uint8_t *)vt_ptr(&f->t, pages))[5000], 0);
}

static void test_stats_disabled(void **state)
{
	struct bfix *f = *state;
	uint64_t feat = vt_start(f->d, f->q, 2, ~0ULL);
	assert_false(feat & (1ULL << 1));
	struct virtio_balloon_stats st;
	assert_int_equal(virtio_balloon_stats(f->d, &st), -ENOTSUP);
	assert_int_equal(virtio_balloon_interval(f->d, 3), -EINVAL);
	assert_int_equal(virtio_balloon_interval(f->d, 0), 0);
	struct virtio_balloon_hinting h;
	assert_int_equal(virtio_balloon_hint_start(f->d, true), -ENOTSUP);
	assert_int_equal(virtio_balloon_hint_status(f->d, &h), -ENOTSUP);
	vt_wr(f->d, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void test_save_restore(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, f->q, 5, ~0ULL);
	assert_int_equal(virtio_balloon_target(f->d, 12), 0);
	struct vwr w = {0};
	assert_int_equal(vdev_save(f->d->priv, &w), 0);
	f->d->ops->destroy(f->d);
	struct balloon_cfg c = {.set = true,
				.amount_mib = 4,
				.stats_polling_interval_s = 1,
				.free_page_reporting = true,
				.free_page_hinting = true,
				.deflate_on_oom = true};
	struct virtio_env env = vt_env(&f->t);
	assert_int_equal(virtio_balloon_create(&env, &c, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len), 0);
	assert_int_equal(cfg32(f->d, 0), 12 * 256);
	free(w.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_target_and_actual, setup_full, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_frees_pages, setup_full, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup_full, teardown),
	    cmocka_unit_test_setup_teardown(test_free_page_reporting, setup_full, teardown),
	    cmocka_unit_test_setup_teardown(test_free_page_hinting, setup_full, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_disabled, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup_full, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
