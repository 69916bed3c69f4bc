/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the virtio-mmio transport (registers, status machine, interrupts, reset). */
#include "vtest.h"

#include <errno.h>

#include "snapshot/snapshot.h"

struct mfix {
	struct vt t;
	struct vt_q q;
	struct dev *d;
};

static int setup(void **state)
{
	struct mfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	vt_q_setup(&f->t, &f->q, 16);
	struct virtio_env env = vt_env(&f->t);
	struct entropy_cfg cfg = {.set = true};
	assert_int_equal(virtio_rng_create(&env, &cfg, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct mfix *f = *state;
	f->d->ops->destroy(f->d);
	vt_fini(&f->t);
	free(f);
	return 0;
}

static void test_identity_registers(void **state)
{
	struct mfix *f = *state;
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_MAGIC), 0x74726976);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_DEVICE_ID), 4);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_VENDOR_ID), 0);
	vt_wr(f->d, VIRTIO_MMIO_DEV_FEATURES_SEL, 1);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_DEV_FEATURES) & 1, 1); /* VERSION_1 = bit 32 */
	vt_wr(f->d, VIRTIO_MMIO_DEV_FEATURES_SEL, 7);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_DEV_FEATURES), 0);
	vt_wr(f->d, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	vt_wr(f->d, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* Odd-sized register access: ignored, reads as zero, no crash. */
	uint8_t b[2] = {0xff, 0xff};
	f->d->ops->read(f->d, VIRTIO_MMIO_MAGIC, b, 2);
	assert_int_equal(b[0], 0);
	f->d->ops->write(f->d, VIRTIO_MMIO_STATUS + 1, b, 1);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_STATUS), 0);
}

static void test_version1_required(void **state)
{
	struct mfix *f = *state;
	vt_wr(f->d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vt_wr(f->d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	vt_wr(f->d, VIRTIO_MMIO_DRV_FEATURES_SEL, 1);
	vt_wr(f->d, VIRTIO_MMIO_DRV_FEATURES, 0); /* legacy driver */
	vt_wr(f->d, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
}

static void test_full_init_and_rng(void **state)
{
	struct mfix *f = *state;
	uint64_t feat = vt_start(f->d, &f->q, 1, ~0ULL);
	assert_true(feat & (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK,
			 VIRTIO_STATUS_DRIVER_OK);
	uint64_t buf = vt_alloc(&f->t, 64, 8);
	struct vt_buf b[] = {{buf, 64, true}};
	uint16_t head = vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 64);
	assert_int_equal(f->t.irq_level, 1);
	assert_int_equal(f->t.irq_gsi, 5);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS), VIRTIO_INT_USED);
	vt_wr(f->d, VIRTIO_MMIO_INT_ACK, VIRTIO_INT_USED);
	assert_int_equal(f->t.irq_level, 0);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS), 0);
}

static void test_queue_regs_locked_after_driver_ok(void **state)
{
	struct mfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	vt_wr(f->d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vt_wr(f->d, VIRTIO_MMIO_QUEUE_DESC_LO, 0x123000);
	/* Still serving from the original ring. */
	uint64_t buf = vt_alloc(&f->t, 8, 8);
	struct vt_buf b[] = {{buf, 8, true}};
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q, &id, &len));
}

static void test_bad_ring_at_driver_ok(void **state)
{
	struct mfix *f = *state;
	f->q.desc = VT_MEM + 0x1000; /* outside RAM */
	vt_start(f->d, &f->q, 1, ~0ULL);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS) & VIRTIO_INT_CONFIG);
}

static void test_hostile_chain_needs_reset(void **state)
{
	struct mfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	uint32_t gen = vt_rd(f->d, VIRTIO_MMIO_CONFIG_GEN);
	uint64_t buf = vt_alloc(&f->t, 8, 8);
	vt_desc(&f->t, f->q.desc, 0, buf, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	vt_publish(&f->t, &f->q, 0);
	vt_kick(f->d, 0);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_CONFIG_GEN), gen + 1);
	assert_int_equal(f->t.irq_level, 1);
	uint32_t id, len;
	assert_false(vt_used(&f->t, &f->q, &id, &len));
	/* Further kicks are ignored until reset. */
	vt_kick(f->d, 0);
	/* Reset clears everything and the device works again. */
	vt_wr(f->d, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS), 0);
	assert_int_equal(f->t.irq_level, 0);
	vt_q_setup(&f->t, &f->q, 16);
	vt_start(f->d, &f->q, 1, ~0ULL);
	struct vt_buf b[] = {{buf, 8, true}};
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_int_equal(len, 8);
}

static void test_status_cannot_clear_bits(void **state)
{
	struct mfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	vt_wr(f->d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_pause_defers_kicks(void **state)
{
	struct mfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	f->d->ops->pause(f->d);
	uint64_t buf = vt_alloc(&f->t, 8, 8);
	struct vt_buf b[] = {{buf, 8, true}};
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_false(vt_used(&f->t, &f->q, &id, &len));
	f->d->ops->resume(f->d);
	assert_true(vt_used(&f->t, &f->q, &id, &len));
}

static void test_save_restore_through_sbuf(void **state)
{
	struct mfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	uint64_t buf = vt_alloc(&f->t, 16, 8);
	struct vt_buf b[] = {{buf, 16, true}};
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0); /* interrupt left pending (not acked) */
	assert_int_equal(f->t.irq_level, 1);
	struct sbuf sb;
	sbuf_init(&sb);
	assert_int_equal(f->d->ops->save(f->d, &sb), 0);
	assert_true(sb.len > 0);
	f->d->ops->destroy(f->d);
	f->t.irq_level = 0;
	struct virtio_env env = vt_env(&f->t);
	struct entropy_cfg cfg = {.set = true};
	assert_int_equal(virtio_rng_create(&env, &cfg, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	assert_int_equal(f->d->ops->restore(f->d, sb.data, sb.len), 0);
	/* The pending interrupt is re-asserted and the queue continues where it was. */
	assert_int_equal(f->t.irq_level, 1);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS), VIRTIO_INT_USED);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	assert_true(vt_used(&f->t, &f->q, &id, &len));
	assert_int_equal(len, 16);
	/* A blob for another device kind is refused. */
	sb.data[4] = 2; /* device id field -> block */
	assert_int_equal(f->d->ops->restore(f->d, sb.data, sb.len), -EINVAL);
	sbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version1_required, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_init_and_rng, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_regs_locked_after_driver_ok, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ring_at_driver_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_chain_needs_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_cannot_clear_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_defers_kicks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore_through_sbuf, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
