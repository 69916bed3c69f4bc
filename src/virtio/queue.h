/* SPDX-License-Identifier: Apache-2.0 */
/* virtio queue: split virtqueues over guest memory; the only code that reads or writes rings. */
#ifndef SQUIB_VIRTIO_QUEUE_H
#define SQUIB_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define VIRTQ_MAX_SIZE 256

/* Descriptor flags (virtio 1.x split ring). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Feature bits handled by the queue/transport. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* One virtqueue. Fields other than mem/event_idx/indirect are what the transport programs and
 * what a snapshot saves (Firecracker's QueueState). */
struct virtq {
	struct gmem *mem;
	uint16_t max_size;
	uint16_t size;
	bool ready;
	uint64_t desc, avail, used; /* guest-physical addresses */
	uint16_t next_avail;
	uint16_t next_used;
	uint16_t num_added; /* used entries pushed since the last notify decision */
	bool event_idx;	    /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	    /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
};

/* One guest buffer of a popped chain. */
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;
};

/* A popped descriptor chain: device-readable buffers first (out), then device-writable (in). */
struct virtq_elem {
	uint16_t head;
	uint16_t n_out, n_in;
	uint64_t out_len, in_len; /* byte totals */
	struct virtq_buf buf[VIRTQ_MAX_SIZE];
};

/* Reset a queue to the power-on state with the given maximum size (<= VIRTQ_MAX_SIZE). */
void virtq_init(struct virtq *q, struct gmem *mem, uint16_t max_size);

/* Check that the programmed size and ring addresses are usable: size a power of two in
 * [1, max_size], rings aligned (16/2/4) and entirely inside guest RAM. 0 or -EINVAL. */
int virtq_validate(const struct virtq *q);

/* Pop the next available chain into *e. Returns 1 if a chain was popped, 0 if the ring is
 * empty, -EINVAL if the ring or chain is malformed (bad index, loop, chain longer than the
 * queue, buffer outside RAM, readable after writable, nested/bad indirect). On -EINVAL the
 * queue is left unchanged; the caller marks the device NEEDS_RESET. Caller holds the device
 * lock. */
int virtq_pop(struct virtq *q, struct virtq_elem *e);

/* Give back the last n popped chains (they will be popped again). */
void virtq_unpop(struct virtq *q, uint16_t n);

/* True if the driver has made chains available that were not popped yet. */
bool virtq_has_avail(const struct virtq *q);

/* Put (head, len) in the used ring and publish the new used index (release ordering).
 * Returns 0 or -EINVAL if the used ring is not in RAM. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/* Decide whether the driver wants an interrupt for the entries pushed since the last call
 * (EVENT_IDX used_event or the NO_INTERRUPT flag). Resets num_added. */
bool virtq_should_notify(struct virtq *q);

/* With EVENT_IDX, publish avail_event = next_avail so the driver kicks on the next buffer.
 * Returns true if more chains were made available meanwhile (caller should keep going). */
bool virtq_enable_notify(struct virtq *q);

/* Copy up to len bytes at byte offset off of the chain's readable part into dst. Returns
 * bytes copied (short at the end of the chain) or -EFAULT. */
int64_t virtq_elem_read(const struct virtq *q, const struct virtq_elem *e, uint64_t off, void *dst,
			uint64_t len);
/* Copy len bytes from src into the chain's writable part at byte offset off (marks pages
 * dirty). Returns bytes copied (short at the end of the chain) or -EFAULT. */
int64_t virtq_elem_write(struct virtq *q, const struct virtq_elem *e, uint64_t off, const void *src,
			 uint64_t len);

/* Build a readv/writev style list of host pointers for the readable (write_part false) or
 * writable part of the chain starting at byte offset off, at most len bytes. Returns the
 * number of iovecs filled (<= max) or -EFAULT. */
struct iovec;
int virtq_elem_iov(struct virtq *q, const struct virtq_elem *e, bool write_part, uint64_t off,
		   uint64_t len, struct iovec *iov, int max);

#endif
