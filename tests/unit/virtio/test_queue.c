/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the split-ring walker: valid chains, hostile rings, notification logic. */
#include "vtest.h"

#include <errno.h>

struct qfix {
	struct vt t;
	struct vt_q d; /* driver view */
	struct virtq q;
	struct virtq_elem e;
};

static int setup(void **state)
{
	struct qfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	vt_q_setup(&f->t, &f->d, 8);
	virtq_init(&f->q, &f->t.mem, 256);
	f->q.size = 8;
	f->q.desc = f->d.desc;
	f->q.avail = f->d.avail;
	f->q.used = f->d.used;
	f->q.ready = true;
	assert_int_equal(virtq_validate(&f->q), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct qfix *f = *state;
	vt_fini(&f->t);
	free(f);
	return 0;
}

static void test_pop_push_basic(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 100, 8), b = vt_alloc(&f->t, 50, 8);
	memcpy(vt_ptr(&f->t, a), "hello", 5);
	struct vt_buf bufs[] = {{a, 100, false}, {b, 50, true}};
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	uint16_t head = vt_add(&f->t, &f->d, bufs, 2);
	assert_true(virtq_has_avail(&f->q));
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, head);
	assert_int_equal(f->e.n_out, 1);
	assert_int_equal(f->e.n_in, 1);
	assert_int_equal(f->e.out_len, 100);
	assert_int_equal(f->e.in_len, 50);
	char tmp[5];
	assert_int_equal(virtq_elem_read(&f->q, &f->e, 0, tmp, 5), 5);
	assert_memory_equal(tmp, "hello", 5);
	assert_int_equal(virtq_elem_write(&f->q, &f->e, 10, "xyz", 3), 3);
	assert_memory_equal((char *)vt_ptr(&f->t, b) + 10, "xyz", 3);
	/* Writes past the end are short. */
	assert_int_equal(virtq_elem_write(&f->q, &f->e, 48, "abcd", 4), 2);
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(virtq_push(&f->q, head, 13), 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->d, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 13);
	assert_true(virtq_should_notify(&f->q));
	assert_false(virtq_should_notify(&f->q)); /* nothing new since */
}

static void test_read_across_buffers(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 3, 1), b = vt_alloc(&f->t, 4, 1);
	memcpy(vt_ptr(&f->t, a), "abc", 3);
	memcpy(vt_ptr(&f->t, b), "defg", 4);
	struct vt_buf bufs[] = {{a, 3, false}, {b, 4, false}};
	vt_add(&f->t, &f->d, bufs, 2);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	char tmp[8] = {0};
	assert_int_equal(virtq_elem_read(&f->q, &f->e, 1, tmp, 5), 5);
	assert_string_equal(tmp, "bcdef");
	assert_int_equal(virtq_elem_read(&f->q, &f->e, 6, tmp, 5), 1);
}

static void test_avail_index_runaway(void **state)
{
	struct qfix *f = *state;
	uint16_t *idx = vt_ptr(&f->t, f->d.avail + 2);
	*idx = 9; /* 9 pending on a ring of 8 */
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	assert_int_equal(f->q.next_avail, 0);
}

static void test_head_out_of_range(void **state)
{
	struct qfix *f = *state;
	vt_publish(&f->t, &f->d, 8);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	assert_int_equal(f->q.next_avail, 0);
}

static void test_next_out_of_range(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 16, 8);
	vt_desc(&f->t, f->d.desc, 0, a, 16, VIRTQ_DESC_F_NEXT, 200);
	vt_publish(&f->t, &f->d, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static void test_loop(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 16, 8);
	vt_desc(&f->t, f->d.desc, 0, a, 16, VIRTQ_DESC_F_NEXT, 1);
	vt_desc(&f->t, f->d.desc, 1, a, 16, VIRTQ_DESC_F_NEXT, 0);
	vt_publish(&f->t, &f->d, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* A self-loop too. */
	vt_desc(&f->t, f->d.desc, 2, a, 16, VIRTQ_DESC_F_NEXT, 2);
	f->q.next_avail = 1;
	vt_publish(&f->t, &f->d, 2);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static void test_full_length_chain(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 8 * 4, 8);
	struct vt_buf bufs[8];
	for (int i = 0; i < 8; i++)
		bufs[i] = (struct vt_buf){a + 4 * i, 4, i >= 4};
	vt_add(&f->t, &f->d, bufs, 8);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.n_out, 4);
	assert_int_equal(f->e.n_in, 4);
}

static void test_buffer_outside_ram(void **state)
{
	struct qfix *f = *state;
	struct vt_buf b1[] = {{VT_MEM - 8, 16, false}};
	vt_add(&f->t, &f->d, b1, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* Address + length wraps around 2^64. */
	f->q.next_avail++;
	struct vt_buf b2[] = {{0xfffffffffffff000ULL, 0x2000, true}};
	vt_add(&f->t, &f->d, b2, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* In the MMIO gap. */
	f->q.next_avail++;
	struct vt_buf b3[] = {{0xC0001000ULL, 4, true}};
	vt_add(&f->t, &f->d, b3, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static void test_readable_after_writable(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 32, 8);
	struct vt_buf bufs[] = {{a, 16, true}, {a + 16, 16, false}};
	vt_add(&f->t, &f->d, bufs, 2);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
}

static uint64_t make_indirect(struct qfix *f, int n, uint16_t first_flags)
{
	uint64_t tbl = vt_alloc(&f->t, 16ULL * n, 16);
	uint64_t data = vt_alloc(&f->t, 64ULL * n, 8);
	for (int i = 0; i < n; i++) {
		uint16_t fl =
		    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) | (i == n - 1 ? VIRTQ_DESC_F_WRITE : 0);
		if (i == 0)
			fl |= first_flags;
		vt_desc(&f->t, tbl, (uint16_t)i, data + 64ULL * i, 64, fl, (uint16_t)(i + 1));
	}
	return tbl;
}

static void test_indirect(void **state)
{
	struct qfix *f = *state;
	uint64_t tbl = make_indirect(f, 20, 0); /* longer than the ring itself */
	vt_desc(&f->t, f->d.desc, 0, tbl, 20 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vt_publish(&f->t, &f->d, 0);
	/* Not negotiated: refused. */
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	f->q.indirect = true;
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.n_out, 19);
	assert_int_equal(f->e.n_in, 1);
	assert_int_equal(f->e.out_len, 19 * 64);
}

static void test_indirect_hostile(void **state)
{
	struct qfix *f = *state;
	f->q.indirect = true;
	/* Nested indirect. */
	uint64_t tbl = make_indirect(f, 2, VIRTQ_DESC_F_INDIRECT);
	vt_desc(&f->t, f->d.desc, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	vt_publish(&f->t, &f->d, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* Length not a multiple of 16. */
	tbl = make_indirect(f, 2, 0);
	vt_desc(&f->t, f->d.desc, 0, tbl, 31, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* INDIRECT together with NEXT. */
	vt_desc(&f->t, f->d.desc, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* Table outside RAM. */
	vt_desc(&f->t, f->d.desc, 0, VT_MEM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* Loop inside the table. */
	vt_desc(&f->t, tbl, 1, 0x2000, 8, VIRTQ_DESC_F_NEXT, 0);
	vt_desc(&f->t, f->d.desc, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	/* Huge table (more entries than we ever accept). */
	uint64_t big = vt_alloc(&f->t, 16 * 512, 16);
	vt_desc(&f->t, f->d.desc, 0, big, 16 * 512, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(virtq_pop(&f->q, &f->e), -EINVAL);
	assert_int_equal(f->q.next_avail, 0);
}

static void test_index_wraparound(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 8, 8);
	f->q.next_avail = 65534;
	f->q.next_used = 65534;
	f->d.avail_idx = 65534;
	f->d.used_seen = 65534;
	for (int i = 0; i < 4; i++) {
		struct vt_buf b[] = {{a, 8, true}};
		vt_add(&f->t, &f->d, b, 1);
		assert_int_equal(virtq_pop(&f->q, &f->e), 1);
		assert_int_equal(virtq_push(&f->q, f->e.head, 8), 0);
		uint32_t id, len;
		assert_true(vt_used(&f->t, &f->d, &id, &len));
		assert_int_equal(id, f->e.head);
	}
	assert_int_equal(f->q.next_avail, 2);
}

static void test_no_interrupt_flag(void **state)
{
	struct qfix *f = *state;
	uint16_t *flags = vt_ptr(&f->t, f->d.avail);
	*flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_notify(&f->q));
	*flags = 0;
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_notify(&f->q));
}

static void test_event_idx(void **state)
{
	struct qfix *f = *state;
	f->q.event_idx = true;
	uint16_t *used_event = vt_ptr(&f->t, f->d.avail + 4 + 2 * 8);
	*used_event = 2; /* driver wants an interrupt once entry 2 is used (idx passes 3) */
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_notify(&f->q));
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_notify(&f->q));
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_notify(&f->q));
	/* Batch crossing the event index. */
	*used_event = 4;
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_notify(&f->q));
	/* avail_event published by enable_notify. */
	f->q.next_avail = 5;
	*(uint16_t *)vt_ptr(&f->t, f->d.avail + 2) = 5;
	assert_false(virtq_enable_notify(&f->q));
	uint16_t *avail_event = vt_ptr(&f->t, f->d.used + 4 + 8 * 8);
	assert_int_equal(*avail_event, 5);
	/* An empty pop also publishes avail_event. */
	f->q.next_avail = 6;
	*(uint16_t *)vt_ptr(&f->t, f->d.avail + 2) = 6;
	assert_int_equal(virtq_pop(&f->q, &f->e), 0);
	assert_int_equal(*avail_event, 6);
	f->q.next_avail = 5;
	*(uint16_t *)vt_ptr(&f->t, f->d.avail + 2) = 6;
	assert_true(virtq_enable_notify(&f->q));
}

static void test_validate(void **state)
{
	struct qfix *f = *state;
	struct virtq q = f->q;
	q.size = 6;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q.size = 512;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q.size = 0;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = f->q;
	q.desc += 8;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = f->q;
	q.used += 2;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = f->q;
	q.avail = VT_MEM - 8;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = f->q;
	q.used = 0xfffffffffffffff0ULL;
	assert_int_equal(virtq_validate(&q), -EINVAL);
}

static void test_unpop(void **state)
{
	struct qfix *f = *state;
	uint64_t a = vt_alloc(&f->t, 8, 8);
	struct vt_buf b[] = {{a, 8, true}};
	uint16_t h = vt_add(&f->t, &f->d, b, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	virtq_unpop(&f->q, 1);
	assert_int_equal(virtq_pop(&f->q, &f->e), 1);
	assert_int_equal(f->e.head, h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pop_push_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_across_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avail_index_runaway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_length_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
