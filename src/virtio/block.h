/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk internals shared by the request code (block.c) and the io_uring engine. */
#ifndef SQUIB_VIRTIO_BLOCK_H
#define SQUIB_VIRTIO_BLOCK_H

#include <sys/uio.h>

#include "virtio/ratelimit.h"
#include "virtio/vdev.h"

#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512ULL

/* Sync engine merging: at most this many requests, iovecs (<= IOV_MAX) and bytes per run. */
#define BLK_RUN_REQS 32
#define BLK_RUN_IOV 1024
#define BLK_RUN_BYTES (1ULL << 20)

struct blk_aio;

/* Sync engine: reads (or writes) at adjacent file offsets popped in one notification, moved
 * with one preadv/pwritev and completed in pop order. Empty between notifications. */
struct blk_run {
	uint32_t type;	   /* VIRTIO_BLK_T_IN or VIRTIO_BLK_T_OUT */
	uint64_t off, len; /* file range covered by the run */
	uint16_t n;	   /* requests */
	int niov;
	struct blk_part {
		uint16_t head;
		uint64_t status_gpa, off, len;
		int iov0, niov; /* this request's slice of iov */
	} part[BLK_RUN_REQS];
	struct iovec iov[BLK_RUN_IOV];	   /* guest buffers of every request, in order */
	struct iovec scratch[BLK_RUN_IOV]; /* working copy after a short transfer */
};

struct vblk {
	struct vdev vd; /* first */
	struct drive_cfg cfg;
	int fd;
	uint64_t size; /* bytes (a multiple of 512) */
	struct ratelimit rl;
	struct blk_aio *aio;			  /* NULL: Sync engine */
	struct blk_run *run;			  /* Sync engine only */
	uint64_t reqs, bytes_read, bytes_written; /* counters */
	uint64_t merged; /* requests moved together with the previous one of their run */
};

/* A parsed request ready to run: data is [data_off, data_off+len) of the readable part
 * (OUT) or of the writable part (IN). */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint64_t off; /* byte offset in the file */
	uint64_t len; /* data bytes */
};

#ifdef HAVE_LIBURING
/* Create the io_uring engine for vb (completions via an eventfd in env.loop). -errno if the
 * kernel refuses io_uring (the caller falls back to Sync). */
int blk_aio_create(struct vblk *vb, struct blk_aio **out);
void blk_aio_destroy(struct blk_aio *a);
/* Queue the request held in vb->vd.elem. 0 queued, -EAGAIN if the ring is full (retry later),
 * other -errno = fail the request now. Lock held. */
int blk_aio_submit(struct blk_aio *a, const struct blk_req *r);
/* Reap completions, push them, signal. Lock held. */
void blk_aio_reap(struct blk_aio *a, bool wait_all);
#endif

/* Guest address of the status byte of e (last writable byte). */
uint64_t blk_status_gpa(const struct virtq_elem *e);
/* Write the status byte at status_gpa, push head with used_len (the driver interrupt is left
 * to the caller: vdev_signal_used). Lock held. */
void blk_finish(struct vblk *vb, uint16_t head, uint64_t status_gpa, uint8_t status,
		uint32_t used_len);

#endif
