/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for guest memory layout and overflow-safe translation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "base/base.h"

static void test_layout_small(void **state)
{
	struct gmem m;
	assert_int_equal(gmem_layout_x86(&m, 128ULL << 20), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.r[0].gpa, 0);
	assert_int_equal(m.r[0].size, 128ULL << 20);
}

static void test_layout_split(void **state)
{
	struct gmem m;
	assert_int_equal(gmem_layout_x86(&m, 4ULL << 30), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.r[0].size, 3ULL << 30);
	assert_int_equal(m.r[1].gpa, 4ULL << 30);
	assert_int_equal(m.r[1].size, 1ULL << 30);
	assert_int_equal(m.r[1].file_offset, 3ULL << 30);
}

static void test_layout_rejects(void **state)
{
	struct gmem m;
	assert_int_equal(gmem_layout_x86(&m, 0), -EINVAL);
	assert_int_equal(gmem_layout_x86(&m, 4097), -EINVAL);
}

static void test_ptr_bounds(void **state)
{
	struct gmem m;
	assert_int_equal(gmem_layout_x86(&m, 1ULL << 20), 0);
	assert_int_equal(gmem_alloc(&m), 0);
	assert_non_null(gmem_ptr(&m, 0, 1ULL << 20));
	assert_null(gmem_ptr(&m, 1, 1ULL << 20));
	assert_null(gmem_ptr(&m, UINT64_MAX - 2, 8));
	assert_null(gmem_ptr(&m, 8, UINT64_MAX));
	assert_int_equal(gmem_dirty_enable(&m), 0);
	uint64_t *bitmap = m.dirty;
	uint32_t v = 0xdeadbeef;
	assert_int_equal(gmem_write(&m, 0x3000 - 2, &v, sizeof(v)), 0);
	assert_int_equal(bitmap[0], (1ULL << 2) | (1ULL << 3));
	uint32_t back = 0;
	assert_int_equal(gmem_read(&m, 0x3000 - 2, &back, sizeof(back)), 0);
	assert_int_equal(back, v);
	assert_int_equal(gmem_write(&m, (1ULL << 20) - 2, &v, sizeof(v)), -EFAULT);
	gmem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout_small),
	    cmocka_unit_test(test_layout_split),
	    cmocka_unit_test(test_layout_rejects),
	    cmocka_unit_test(test_ptr_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
