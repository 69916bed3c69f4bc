/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk internals shared by the request code (block.c) and the io_uring engine. */
#ifndef SQUIB_VIRTIO_BLOCK_H
#define SQUIB_VIRTIO_BLOCK_H

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

struct blk_aio;

struct vblk {
	struct vdev vd; /* first */
	struct drive_cfg cfg;
	int fd;
	uint64_t size; /* bytes (a multiple of 512) */
	struct ratelimit rl;
	struct blk_aio *aio;			  /* NULL: Sync engine */
	uint64_t reqs, bytes_read, bytes_written; /* counters */
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
