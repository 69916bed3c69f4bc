/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk Async engine: io_uring readv/writev/fdatasync with eventfd completions. */
#include "virtio/block.h"

#ifdef HAVE_LIBURING
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define AIO_DEPTH VIRTQ_MAX_SIZE

struct aio_req {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint64_t status_gpa;
	uint64_t len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct blk_aio {
	struct vblk *vb;
	struct io_uring ring;
	int efd;
	unsigned inflight;
	struct aio_req req[AIO_DEPTH];
};

static void aio_cb(void *arg, uint32_t events)
{
	struct blk_aio *a = arg;
	uint64_t n;
	if (read(a->efd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&a->vb->vd.lock);
	blk_aio_reap(a, false);
	vdev_kick_all(&a->vb->vd); /* requests refused while the ring was full */
	pthread_mutex_unlock(&a->vb->vd.lock);
}

int blk_aio_create(struct vblk *vb, struct blk_aio **out)
{
	struct blk_aio *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->vb = vb;
	a->efd = -1;
	int rc = io_uring_queue_init(AIO_DEPTH, &a->ring, 0);
	if (rc < 0) {
		free(a);
		return rc;
	}
	if (vb->vd.env.loop) {
		a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		rc = a->efd < 0 ? -errno : io_uring_register_eventfd(&a->ring, a->efd);
		if (!rc)
			rc = evloop_add(vb->vd.env.loop, a->efd, EPOLLIN, aio_cb, a);
		if (rc) {
			if (a->efd >= 0)
				close(a->efd);
			io_uring_queue_exit(&a->ring);
			free(a);
			return rc;
		}
	}
	*out = a;
	return 0;
}

void blk_aio_destroy(struct blk_aio *a)
{
	blk_aio_reap(a, true);
	if (a->efd >= 0) {
		evloop_del(a->vb->vd.env.loop, a->efd);
		close(a->efd);
	}
	io_uring_queue_exit(&a->ring);
	free(a);
}

static int aio_slot(struct blk_aio *a)
{
	for (int i = 0; i < AIO_DEPTH; i++)
		if (!a->req[i].busy)
			return i;
	return -1;
}

int blk_aio_submit(struct blk_aio *a, const struct blk_req *r)
{
	struct vblk *vb = a->vb;
	const struct virtq_elem *e = &vb->vd.elem;
	if (r->type == VIRTIO_BLK_T_FLUSH && vb->cfg.cache_type != CACHE_WRITEBACK) {
		blk_finish(vb, e->head, blk_status_gpa(e), VIRTIO_BLK_S_OK, 1);
		return 0;
	}
	if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT &&
	    r->type != VIRTIO_BLK_T_FLUSH) {
		blk_finish(vb, e->head, blk_status_gpa(e), VIRTIO_BLK_S_UNSUPP, 1);
		return 0;
	}
	int s = aio_slot(a);
	struct io_uring_sqe *sqe = s >= 0 ? io_uring_get_sqe(&a->ring) : NULL;
	if (!sqe)
		return -EAGAIN;
	struct aio_req *q = &a->req[s];
	int n = 0;
	bool in = r->type == VIRTIO_BLK_T_IN;
	if (r->type != VIRTIO_BLK_T_FLUSH) {
		n = virtq_elem_iov(&vb->vd.q[0], e, in, in ? 0 : 16, r->len, q->iov,
				   VIRTQ_MAX_SIZE);
		if (n < 0)
			return n;
	}
	if (r->type == VIRTIO_BLK_T_FLUSH)
		io_uring_prep_fsync(sqe, vb->fd, IORING_FSYNC_DATASYNC);
	else if (in)
		io_uring_prep_readv(sqe, vb->fd, q->iov, (unsigned)n, r->off);
	else
		io_uring_prep_writev(sqe, vb->fd, q->iov, (unsigned)n, r->off);
	io_uring_sqe_set_data64(sqe, (uint64_t)s);
	q->busy = true;
	q->head = e->head;
	q->type = r->type;
	q->status_gpa = blk_status_gpa(e);
	q->len = r->len;
	a->inflight++;
	int rc = io_uring_submit(&a->ring);
	if (rc < 0) {
		q->busy = false;
		a->inflight--;
		return rc;
	}
	if (!vb->vd.env.loop)
		blk_aio_reap(a, true); /* no loop to deliver completions (unit tests) */
	return 0;
}

static void aio_complete(struct blk_aio *a, struct io_uring_cqe *cqe)
{
	uint64_t s = io_uring_cqe_get_data64(cqe);
	if (s >= AIO_DEPTH || !a->req[s].busy)
		return;
	struct aio_req *q = &a->req[s];
	struct vblk *vb = a->vb;
	bool ok =
	    cqe->res >= 0 && (uint64_t)cqe->res == (q->type == VIRTIO_BLK_T_FLUSH ? 0 : q->len);
	uint32_t used = 1;
	if (ok && q->type == VIRTIO_BLK_T_IN) {
		used = (uint32_t)q->len + 1;
		vb->bytes_read += q->len;
	} else if (ok && q->type == VIRTIO_BLK_T_OUT) {
		vb->bytes_written += q->len;
	}
	if (!ok)
		LOG_WARNING("virtio-blk %s: async request failed (%d)", vb->cfg.drive_id, cqe->res);
	blk_finish(vb, q->head, q->status_gpa, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, used);
	q->busy = false;
	a->inflight--;
}

void blk_aio_reap(struct blk_aio *a, bool wait_all)
{
	bool any = false;
	for (;;) {
		struct io_uring_cqe *cqe = NULL;
		int rc = io_uring_peek_cqe(&a->ring, &cqe);
		if (rc == -EAGAIN && wait_all && a->inflight)
			rc = io_uring_wait_cqe(&a->ring, &cqe);
		if (rc < 0 || !cqe)
			break;
		aio_complete(a, cqe);
		io_uring_cqe_seen(&a->ring, cqe);
		any = true;
	}
	if (any)
		vdev_signal_used(&a->vb->vd, 0);
}
#endif
