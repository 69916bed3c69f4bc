/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for devices/bus: range registration and dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/devices.h"

struct fake {
	struct dev dev;
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
	int reads, writes;
};

static void fake_read(struct dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = d->priv;
	f->reads++;
	f->last_off = off;
	f->last_len = len;
	memset(data, (int)(0x10 + off), len);
}

static void fake_write(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = d->priv;
	f->writes++;
	f->last_off = off;
	f->last_len = len;
	f->last_val = data[0];
}

static const struct dev_ops fake_ops = {.kind = "fake", .read = fake_read, .write = fake_write};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->dev.ops = &fake_ops;
	f->dev.priv = f;
}

static void test_overlap(void **state)
{
	struct bus *b;
	struct fake a, c;
	fake_init(&a);
	fake_init(&c);
	assert_int_equal(bus_create(&b), 0);
	assert_int_equal(bus_register(b, BUS_PIO, 0x3f8, 8, &a.dev), 0);
	assert_int_equal(bus_register(b, BUS_PIO, 0x3f8, 8, &c.dev), -EEXIST);
	assert_int_equal(bus_register(b, BUS_PIO, 0x3f0, 9, &c.dev), -EEXIST); /* ends at 0x3f8 */
	assert_int_equal(bus_register(b, BUS_PIO, 0x3ff, 1, &c.dev), -EEXIST); /* last byte */
	assert_int_equal(bus_register(b, BUS_PIO, 0x3f0, 8, &c.dev), 0);       /* adjacent */
	assert_int_equal(bus_register(b, BUS_PIO, 0x400, 1, &c.dev), 0);
	/* Same range in the other space is independent. */
	assert_int_equal(bus_register(b, BUS_MMIO, 0x3f8, 8, &c.dev), 0);
	assert_int_equal(bus_register(b, BUS_MMIO, 0x1000, 0, &c.dev), -EINVAL);
	assert_int_equal(bus_register(b, BUS_MMIO, UINT64_MAX - 1, 4, &c.dev), -EINVAL);
	assert_int_equal(bus_register(b, BUS_MMIO, UINT64_MAX, 1, &c.dev), 0);
	assert_int_equal(bus_count(b, BUS_PIO), 3);
	uint64_t base, len;
	assert_ptr_equal(bus_at(b, BUS_PIO, 0, &base, &len), &c.dev);
	assert_int_equal(base, 0x3f0);
	assert_ptr_equal(bus_at(b, BUS_PIO, 1, &base, &len), &a.dev);
	assert_int_equal(base, 0x3f8);
	assert_int_equal(len, 8);
	assert_null(bus_at(b, BUS_PIO, 3, NULL, NULL));
	bus_destroy(b);
}

static void test_dispatch(void **state)
{
	struct bus *b;
	struct fake f[4];
	assert_int_equal(bus_create(&b), 0);
	for (int i = 0; i < 4; i++) {
		fake_init(&f[i]);
		/* registered out of order on purpose */
		uint64_t base = 0xc0000000ULL + (uint64_t)(3 - i) * 0x1000;
		assert_int_equal(bus_register(b, BUS_MMIO, base, 0x1000, &f[i].dev), 0);
	}
	uint8_t v[4] = {0xaa};
	assert_true(bus_write(b, BUS_MMIO, 0xc0001070, v, 4));
	assert_int_equal(f[2].writes, 1);
	assert_int_equal(f[2].last_off, 0x70);
	assert_int_equal(f[2].last_len, 4);
	assert_int_equal(f[2].last_val, 0xaa);
	assert_true(bus_read(b, BUS_MMIO, 0xc0003004, v, 1));
	assert_int_equal(f[0].reads, 1);
	assert_int_equal(v[0], 0x14);
	/* Unhandled: a hole, past the end, straddling the end of a device, the other space. */
	memset(v, 0, sizeof(v));
	assert_false(bus_read(b, BUS_MMIO, 0xc0004000, v, 4));
	assert_int_equal(v[0], 0xff);
	assert_int_equal(v[3], 0xff);
	assert_false(bus_read(b, BUS_MMIO, 0xbfffffff, v, 1));
	assert_false(bus_write(b, BUS_MMIO, 0xc0003ffe, v, 4));
	assert_false(bus_write(b, BUS_PIO, 0xc0000000, v, 1));
	for (int i = 0; i < 4; i++)
		assert_int_equal(f[i].writes, i == 2 ? 1 : 0);
	bus_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
