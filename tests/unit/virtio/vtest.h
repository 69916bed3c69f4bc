/* SPDX-License-Identifier: Apache-2.0 */
/* Test-side virtio driver: builds split rings in a real guest memory and drives the MMIO regs. */
#ifndef SQUIB_TEST_VTEST_H
#define SQUIB_TEST_VTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/vdev.h"

#define VT_MEM (16ULL << 20)

struct vt {
	struct gmem mem;
	uint64_t next; /* bump allocator */
	int irq_level, irq_raises;
	uint32_t irq_gsi;
};

struct vt_q {
	uint64_t desc, avail, used;
	uint16_t size, avail_idx, next_desc, used_seen;
};

struct vt_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static inline void vt_irq(void *ctx, uint32_t gsi, int level)
{
	struct vt *t = ctx;
	t->irq_gsi = gsi;
	if (level && !t->irq_level)
		t->irq_raises++;
	t->irq_level = level;
}

static inline void vt_init(struct vt *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(gmem_layout_x86(&t->mem, VT_MEM), 0);
	assert_int_equal(gmem_alloc(&t->mem), 0);
	t->next = 1 << 20;
}

static inline void vt_fini(struct vt *t)
{
	gmem_free(&t->mem);
}

static inline struct virtio_env vt_env(struct vt *t)
{
	struct virtio_env e = {.mem = &t->mem, .irq = vt_irq, .irq_ctx = t};
	return e;
}

static inline uint64_t vt_alloc(struct vt *t, uint64_t size, uint64_t align)
{
	t->next = (t->next + align - 1) & ~(align - 1);
	uint64_t r = t->next;
	t->next += size;
	assert_true(t->next < VT_MEM);
	memset(gmem_ptr(&t->mem, r, size), 0, size);
	return r;
}

static inline void *vt_ptr(struct vt *t, uint64_t gpa)
{
	return gmem_ptr(&t->mem, gpa, 1);
}

static inline void vt_q_setup(struct vt *t, struct vt_q *q, uint16_t size)
{
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = vt_alloc(t, 16ULL * size, 4096);
	q->avail = vt_alloc(t, 6 + 2ULL * size, 4096);
	q->used = vt_alloc(t, 6 + 8ULL * size, 4096);
}

/* Write descriptor idx. */
static inline void vt_desc(struct vt *t, uint64_t table, uint16_t idx, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	uint8_t *p = gmem_ptr(&t->mem, table + 16ULL * idx, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Publish head in the avail ring and bump avail idx. */
static inline void vt_publish(struct vt *t, struct vt_q *q, uint16_t head)
{
	uint16_t *ring = gmem_ptr(&t->mem, q->avail + 4, 2ULL * q->size);
	ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	uint16_t *idx = gmem_ptr(&t->mem, q->avail + 2, 2);
	__atomic_store_n(idx, q->avail_idx, __ATOMIC_RELEASE);
}

/* Add a chain of n buffers at consecutive descriptor slots, publish it, return the head. */
static inline uint16_t vt_add(struct vt *t, struct vt_q *q, const struct vt_buf *b, int n)
{
	uint16_t head = q->next_desc;
	for (int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % q->size);
		uint16_t nxt = (uint16_t)((head + i + 1) % q->size);
		uint16_t fl =
		    (b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		vt_desc(t, q->desc, idx, b[i].gpa, b[i].len, fl, nxt);
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	vt_publish(t, q, head);
	return head;
}

/* Next used element, false if none. */
static inline bool vt_used(struct vt *t, struct vt_q *q, uint32_t *id, uint32_t *len)
{
	*id = *len = 0;
	uint16_t *idx = gmem_ptr(&t->mem, q->used + 2, 2);
	if (__atomic_load_n(idx, __ATOMIC_ACQUIRE) == q->used_seen)
		return false;
	uint32_t *e = gmem_ptr(&t->mem, q->used + 4 + 8ULL * (q->used_seen % q->size), 8);
	*id = e[0];
	*len = e[1];
	q->used_seen++;
	return true;
}

static inline uint32_t vt_rd(struct dev *d, uint64_t off)
{
	uint32_t v = 0;
	d->ops->read(d, off, (uint8_t *)&v, 4);
	return v;
}

static inline void vt_wr(struct dev *d, uint64_t off, uint32_t v)
{
	d->ops->write(d, off, (const uint8_t *)&v, 4);
}

/* Full driver init: features = device features & want (VERSION_1 always kept), queues
 * programmed, DRIVER_OK. Returns the negotiated feature set. */
static inline uint64_t vt_start(struct dev *d, struct vt_q *qs, int nq, uint64_t want)
{
	vt_wr(d, VIRTIO_MMIO_STATUS, 0);
	vt_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK);
	vt_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	vt_wr(d, VIRTIO_MMIO_DEV_FEATURES_SEL, 0);
	uint64_t f = vt_rd(d, VIRTIO_MMIO_DEV_FEATURES);
	vt_wr(d, VIRTIO_MMIO_DEV_FEATURES_SEL, 1);
	f |= (uint64_t)vt_rd(d, VIRTIO_MMIO_DEV_FEATURES) << 32;
	f &= want | (1ULL << VIRTIO_F_VERSION_1);
	vt_wr(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 0);
	vt_wr(d, VIRTIO_MMIO_DRV_FEATURES, (uint32_t)f);
	vt_wr(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 1);
	vt_wr(d, VIRTIO_MMIO_DRV_FEATURES, (uint32_t)(f >> 32));
	uint32_t st = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vt_wr(d, VIRTIO_MMIO_STATUS, st);
	assert_int_equal(vt_rd(d, VIRTIO_MMIO_STATUS), st);
	for (int i = 0; i < nq; i++) {
		vt_wr(d, VIRTIO_MMIO_QUEUE_SEL, (uint32_t)i);
		assert_true(vt_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) >= qs[i].size);
		vt_wr(d, VIRTIO_MMIO_QUEUE_NUM, qs[i].size);
		vt_wr(d, VIRTIO_MMIO_QUEUE_DESC_LO, (uint32_t)qs[i].desc);
		vt_wr(d, VIRTIO_MMIO_QUEUE_DESC_HI, (uint32_t)(qs[i].desc >> 32));
		vt_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LO, (uint32_t)qs[i].avail);
		vt_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HI, (uint32_t)(qs[i].avail >> 32));
		vt_wr(d, VIRTIO_MMIO_QUEUE_USED_LO, (uint32_t)qs[i].used);
		vt_wr(d, VIRTIO_MMIO_QUEUE_USED_HI, (uint32_t)(qs[i].used >> 32));
		vt_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	vt_wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	return f;
}

static inline void vt_kick(struct dev *d, uint32_t qi)
{
	vt_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
}

#endif
