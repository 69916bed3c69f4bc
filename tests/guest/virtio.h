/* SPDX-License-Identifier: Apache-2.0 */
/* squib test guest: ring-3 virtio-mmio (v2) transport with polled split virtqueues. */
#ifndef SQUIB_GUEST_VIRTIO_H
#define SQUIB_GUEST_VIRTIO_H

#include "guest.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_ENTROPY 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK 19

#define VQ_SIZE 16
#define VQ_MAX 3

struct vq {
	volatile uint64_t *desc; /* 16-byte descriptors: addr, len|flags<<32|next<<48 */
	volatile uint16_t *avail;
	volatile uint32_t *used;
	uint16_t size, next_desc, last_used;
};

struct vdev {
	uint64_t base;
	uint32_t devid;
	uint64_t features; /* negotiated */
	struct vq vq[VQ_MAX];
};

/* One buffer of a descriptor chain. */
struct vbuf {
	void *addr;
	uint32_t len;
	int writable; /* device writes it */
};

/* Find the n-th device of this id (mmio_base/mmio_stride/mmio_slots), reset it, negotiate
 * VERSION_1 plus the wanted feature bits, set up nq queues and DRIVER_OK. Returns 0 or -1
 * after printing an ERROR line. */
int vdev_open(struct vdev *d, uint32_t devid, uint64_t want_features, int nq);
/* The two halves of vdev_open: find + reset + FEATURES_OK, then queues + DRIVER_OK. */
int vdev_negotiate(struct vdev *d, uint32_t devid, uint64_t want_features);
int vdev_start(struct vdev *d, int nq);
/* Config space accessors (offset from 0x100). */
uint32_t vdev_cfg32(struct vdev *d, uint32_t off);
void vdev_cfg_write32(struct vdev *d, uint32_t off, uint32_t v);
/* Post a chain on queue q and notify; returns the head descriptor index. */
int vq_post(struct vdev *d, int q, const struct vbuf *bufs, int n);
/* Wait up to ms milliseconds for a used element; returns its length (and head descriptor in
 * *id if id is not NULL) or -1 on timeout. */
int64_t vq_wait(struct vdev *d, int q, uint32_t ms, uint16_t *id);
/* Non-blocking variant of vq_wait: -1 if nothing is used yet. */
int64_t vq_poll(struct vdev *d, int q, uint16_t *id);
/* The timeout_ms= parameter (default 5000). */
uint32_t timeout_ms(void);
/* Post a chain and wait for it; returns used length or -1. */
int64_t vq_xfer(struct vdev *d, int q, const struct vbuf *bufs, int n);
/* Zeroed 4 KiB-aligned memory for rings and buffers (never freed). */
void *dma_alloc(size_t bytes);
uint64_t uticks(void);

#endif
