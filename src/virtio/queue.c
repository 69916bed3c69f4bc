/* SPDX-License-Identifier: Apache-2.0 */
/* virtio queue: validating split-ring walker (pop/push/notify decisions, chain copies). */
#include "virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void virtq_init(struct virtq *q, struct gmem *mem, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
	q->size = max_size;
}

int virtq_validate(const struct virtq *q)
{
	uint16_t n = q->size;
	if (n == 0 || n > q->max_size || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return -EINVAL;
	if (!gmem_ptr(q->mem, q->desc, 16ULL * n) || !gmem_ptr(q->mem, q->avail, 6ULL + 2ULL * n) ||
	    !gmem_ptr(q->mem, q->used, 6ULL + 8ULL * n))
		return -EINVAL;
	return 0;
}

static int ring_read16(const struct virtq *q, uint64_t gpa, uint16_t *out, bool acquire)
{
	uint16_t *p = gmem_ptr(q->mem, gpa, 2);
	if (!p || (gpa & 1))
		return -EINVAL;
	*out = le16toh(__atomic_load_n(p, acquire ? __ATOMIC_ACQUIRE : __ATOMIC_RELAXED));
	return 0;
}

static int ring_write16(struct virtq *q, uint64_t gpa, uint16_t v)
{
	uint16_t *p = gmem_ptr_w(q->mem, gpa, 2);
	if (!p || (gpa & 1))
		return -EINVAL;
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
	return 0;
}

static int desc_read(const struct virtq *q, uint64_t table, uint32_t idx, struct vdesc *d)
{
	uint64_t off, gpa;
	if (!mul_u64(idx, 16, &off) || !add_u64(table, off, &gpa))
		return -EINVAL;
	const uint8_t *p = gmem_ptr(q->mem, gpa, 16);
	if (!p)
		return -EINVAL;
	struct vdesc raw;
	memcpy(&raw, p, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
	return 0;
}

static int chain_fail(const struct virtq *q, const char *why, uint32_t idx)
{
	LOG_WARNING("virtio: bad descriptor chain (%s) at index %u, avail %u", why, idx,
		    (unsigned)q->next_avail);
	return -EINVAL;
}

/* Add one data descriptor to e; enforces readable-before-writable and the buffer bound. */
static int chain_add(const struct virtq *q, struct virtq_elem *e, const struct vdesc *d,
		     uint32_t idx)
{
	if ((uint32_t)e->n_out + e->n_in >= VIRTQ_MAX_SIZE)
		return chain_fail(q, "too many buffers", idx);
	if (d->len && !gmem_ptr(q->mem, d->addr, d->len))
		return chain_fail(q, "buffer outside guest RAM", idx);
	struct virtq_buf *b = &e->buf[e->n_out + e->n_in];
	b->gpa = d->addr;
	b->len = d->len;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		e->n_in++;
		e->in_len += d->len;
	} else {
		if (e->n_in)
			return chain_fail(q, "readable after writable", idx);
		e->n_out++;
		e->out_len += d->len;
	}
	return 0;
}

static int chain_walk(const struct virtq *q, uint16_t head, struct virtq_elem *e)
{
	uint64_t table = q->desc;
	uint32_t tsize = q->size, idx = head, steps = 0;
	bool nested = false;

	e->head = head;
	e->n_out = e->n_in = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		struct vdesc d;
		if (idx >= tsize)
			return chain_fail(q, "index out of range", idx);
		if (++steps > tsize)
			return chain_fail(q, "chain loops or exceeds queue size", idx);
		if (desc_read(q, table, idx, &d))
			return chain_fail(q, "descriptor outside guest RAM", idx);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect || nested || (d.flags & VIRTQ_DESC_F_NEXT))
				return chain_fail(q, "unexpected indirect descriptor", idx);
			if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE ||
			    (d.addr & 15) || !gmem_ptr(q->mem, d.addr, d.len))
				return chain_fail(q, "bad indirect table", idx);
			table = d.addr;
			tsize = d.len / 16;
			idx = 0;
			steps = 0;
			nested = true;
			continue;
		}
		if (chain_add(q, e, &d, idx))
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

bool virtq_has_avail(const struct virtq *q)
{
	uint16_t idx;
	if (!q->ready || ring_read16(q, q->avail + 2, &idx, true))
		return false;
	return idx != q->next_avail;
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	uint16_t avail_idx, head;
	if (!q->ready || q->size == 0)
		return 0;
	if (ring_read16(q, q->avail + 2, &avail_idx, true))
		return chain_fail(q, "avail ring outside guest RAM", 0);
	uint16_t pending = (uint16_t)(avail_idx - q->next_avail);
	if (pending == 0 && q->event_idx) {
		/* Ask for a kick on the next buffer, then re-check (the driver may have added
		 * one before it could see our avail_event). */
		ring_write16(q, q->used + 4 + 8ULL * q->size, q->next_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (ring_read16(q, q->avail + 2, &avail_idx, true))
			return chain_fail(q, "avail ring outside guest RAM", 0);
		pending = (uint16_t)(avail_idx - q->next_avail);
	}
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return chain_fail(q, "avail index ran ahead of queue size", avail_idx);
	/* The ring entry must be read after the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint64_t slot = q->avail + 4 + 2ULL * (q->next_avail % q->size);
	if (ring_read16(q, slot, &head, false))
		return chain_fail(q, "avail ring outside guest RAM", 0);
	if (chain_walk(q, head, e))
		return -EINVAL;
	q->next_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->next_avail = (uint16_t)(q->next_avail - n);
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->ready || q->size == 0)
		return -EINVAL;
	uint64_t gpa = q->used + 4 + 8ULL * (q->next_used % q->size);
	uint32_t *u = gmem_ptr_w(q->mem, gpa, 8);
	if (!u)
		return -EINVAL;
	uint32_t ent[2] = {htole32(head), htole32(len)};
	memcpy(u, ent, sizeof(ent));
	q->next_used++;
	q->num_added++;
	/* ring_write16 stores with release ordering: the entry is visible before the index. */
	return ring_write16(q, q->used + 2, q->next_used);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t added = q->num_added;
	q->num_added = 0;
	if (!q->ready || added == 0)
		return false;
	/* Our used-index store must be visible before we read the driver's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		uint16_t ev;
		if (ring_read16(q, q->avail + 4 + 2ULL * q->size, &ev, false))
			return true;
		uint16_t now = q->next_used, old = (uint16_t)(now - added);
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	uint16_t flags;
	if (ring_read16(q, q->avail, &flags, false))
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	if (q->event_idx) {
		ring_write16(q, q->used + 4 + 8ULL * q->size, q->next_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return virtq_has_avail(q);
}

/* Walk the readable (write_part false) or writable buffers, calling fn on each piece of
 * [off, off+len). Returns bytes visited or -EFAULT. */
static int64_t elem_walk(struct virtq *q, const struct virtq_elem *e, bool write_part, uint64_t off,
			 uint64_t len, int (*fn)(void *ctx, uint8_t *host, uint64_t n), void *ctx)
{
	uint16_t first = write_part ? e->n_out : 0;
	uint16_t count = write_part ? e->n_in : e->n_out;
	uint64_t done = 0;
	for (uint16_t i = 0; i < count && done < len; i++) {
		const struct virtq_buf *b = &e->buf[first + i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		uint64_t n = b->len - off;
		if (n > len - done)
			n = len - done;
		uint8_t *h = write_part ? gmem_ptr_w(q->mem, b->gpa + off, n)
					: gmem_ptr(q->mem, b->gpa + off, n);
		if (!h)
			return -EFAULT;
		int rc = fn(ctx, h, n);
		if (rc < 0)
			return rc;
		done += n;
		off = 0;
	}
	return (int64_t)done;
}

struct copy_ctx {
	uint8_t *p;
	bool to_guest;
};

static int copy_piece(void *ctx, uint8_t *host, uint64_t n)
{
	struct copy_ctx *c = ctx;
	if (c->to_guest)
		memcpy(host, c->p, n);
	else
		memcpy(c->p, host, n);
	c->p += n;
	return 0;
}

int64_t virtq_elem_read(const struct virtq *q, const struct virtq_elem *e, uint64_t off, void *dst,
			uint64_t len)
{
	struct copy_ctx c = {dst, false};
	return elem_walk((struct virtq *)q, e, false, off, len, copy_piece, &c);
}

int64_t virtq_elem_write(struct virtq *q, const struct virtq_elem *e, uint64_t off, const void *src,
			 uint64_t len)
{
	struct copy_ctx c = {(uint8_t *)src, true};
	return elem_walk(q, e, true, off, len, copy_piece, &c);
}

struct iov_ctx {
	struct iovec *iov;
	int n, max;
};

static int iov_piece(void *ctx, uint8_t *host, uint64_t n)
{
	struct iov_ctx *c = ctx;
	if (c->n >= c->max)
		return -ENOSPC;
	c->iov[c->n].iov_base = host;
	c->iov[c->n].iov_len = n;
	c->n++;
	return 0;
}

int virtq_elem_iov(struct virtq *q, const struct virtq_elem *e, bool write_part, uint64_t off,
		   uint64_t len, struct iovec *iov, int max)
{
	struct iov_ctx c = {iov, 0, max};
	int64_t rc = elem_walk(q, e, write_part, off, len, iov_piece, &c);
	if (rc < 0)
		return (int)rc;
	return c.n;
}
