/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for devices/i8042: reset command, Ctrl+Alt+Del, controller commands. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/devices.h"

static int resets, pulses, level;
static uint32_t last_gsi;

static void reset_cb(void *ctx)
{
	(*(int *)ctx)++;
}

static void irq_cb(void *ctx, uint32_t gsi, int l)
{
	last_gsi = gsi;
	if (l && !level)
		pulses++;
	level = l;
}

static uint8_t rd(struct dev *d, uint64_t off)
{
	uint8_t v;
	d->ops->read(d, off, &v, 1);
	return v;
}

static void wr(struct dev *d, uint64_t off, uint8_t v)
{
	d->ops->write(d, off, &v, 1);
}

static struct dev *mk(void)
{
	struct dev *d;
	resets = pulses = level = 0;
	assert_int_equal(i8042_create(reset_cb, &resets, irq_cb, NULL, &d), 0);
	return d;
}

static void test_reset(void **state)
{
	struct dev *d = mk();
	wr(d, 4, 0xaa); /* self test is not a reset */
	assert_int_equal(resets, 0);
	assert_int_equal(rd(d, 4) & 0x01, 0x01);
	assert_int_equal(rd(d, 0), 0x55);
	wr(d, 0, 0xfe); /* 0xFE on the data port is a keyboard byte, not a reset */
	assert_int_equal(resets, 0);
	wr(d, 4, 0xfe);
	assert_int_equal(resets, 1);
	d->ops->destroy(d);
}

static void test_ctrl_alt_del(void **state)
{
	struct dev *d = mk();
	assert_int_equal(rd(d, 4) & 0x01, 0x00);
	assert_int_equal(i8042_send_ctrl_alt_del(d), 0);
	assert_int_equal(last_gsi, 1);
	assert_int_equal(pulses, 1);
	const uint8_t want[] = {0x14, 0x11, 0xe0, 0x71};
	for (size_t i = 0; i < sizeof(want); i++) {
		assert_int_equal(rd(d, 4) & 0x01, 0x01);
		assert_int_equal(rd(d, 0), want[i]);
	}
	assert_int_equal(rd(d, 4) & 0x01, 0x00);
	/* One interrupt per byte: the first from the send, then one per read that leaves more. */
	assert_int_equal(pulses, 4);
	/* The 16-byte buffer takes four sequences; the fifth is refused. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(d), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(d), -ENOSPC);
	d->ops->destroy(d);
}

static void test_ctr(void **state)
{
	struct dev *d = mk();
	wr(d, 4, 0x20);
	uint8_t ctr = rd(d, 0);
	assert_int_equal(ctr & 0x01, 0x01); /* keyboard interrupt enabled by default */
	wr(d, 4, 0x60);
	wr(d, 0, 0x00); /* disable KBD interrupt */
	wr(d, 4, 0x20);
	assert_int_equal(rd(d, 0), 0x00);
	assert_int_equal(i8042_send_ctrl_alt_del(d), 0);
	assert_int_equal(pulses, 0); /* masked by the CTR */
	assert_int_equal(rd(d, 0), 0x14);
	d->ops->destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_ctrl_alt_del),
	    cmocka_unit_test(test_ctr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
