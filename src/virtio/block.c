/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk: file-backed disk (read-only, Unsafe/Writeback flush, GET_ID), Sync engine. */
#include "virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

uint64_t blk_status_gpa(const struct virtq_elem *e)
{
	const struct virtq_buf *b = &e->buf[e->n_out + e->n_in - 1];
	/* Zero-length trailing descriptors cannot hold the status; walk back to one that can. */
	for (int i = e->n_out + e->n_in - 1; i >= e->n_out; i--) {
		b = &e->buf[i];
		if (b->len)
			return b->gpa + b->len - 1;
	}
	return 0;
}

void blk_finish(struct vblk *vb, uint16_t head, uint64_t status_gpa, uint8_t status,
		uint32_t used_len)
{
	uint8_t *p = gmem_ptr_w(vb->vd.env.mem, status_gpa, 1);
	if (p)
		*p = status;
	virtq_push(&vb->vd.q[0], head, used_len);
}

static int blk_open(const char *path, bool ro, int *fd_out, uint64_t *size_out)
{
	int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (end % SECTOR_SIZE)
		LOG_WARNING("virtio-blk: size of %s is not a multiple of 512; the tail is ignored",
			    path);
	*fd_out = fd;
	*size_out = (uint64_t)end - (uint64_t)end % SECTOR_SIZE;
	return 0;
}

/* Move len bytes between the file at off and iov (n entries) with preadv/pwritev, resuming
 * after short transfers on a copy in scratch (iov itself is left as it was). */
static uint8_t blk_xfer(struct vblk *vb, bool in, struct iovec *iov, int n, uint64_t off,
			uint64_t len, struct iovec *scratch)
{
	uint64_t done = 0;
	while (done < len) {
		ssize_t got = in ? preadv(vb->fd, iov, n, (off_t)(off + done))
				 : pwritev(vb->fd, iov, n, (off_t)(off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			LOG_WARNING("virtio-blk %s: %s failed at %llu: %s", vb->cfg.drive_id,
				    in ? "read" : "write", (unsigned long long)(off + done),
				    got < 0 ? strerror(errno) : "end of file");
			return VIRTIO_BLK_S_IOERR;
		}
		done += (uint64_t)got;
		if (done == len)
			break;
		if (iov != scratch) {
			memcpy(scratch, iov, (size_t)n * sizeof(*iov));
			iov = scratch;
		}
		for (size_t left = (size_t)got; left;) {
			size_t k = left < iov->iov_len ? left : iov->iov_len;
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= k;
			left -= k;
			if (!iov->iov_len) {
				iov++;
				n--;
			}
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Complete one request of the run with status st (used length counts read data). */
static void blk_part_finish(struct vblk *vb, const struct blk_part *p, uint32_t type, uint8_t st)
{
	bool in = type == VIRTIO_BLK_T_IN;
	if (st == VIRTIO_BLK_S_OK && in)
		vb->bytes_read += p->len;
	else if (st == VIRTIO_BLK_S_OK)
		vb->bytes_written += p->len;
	uint32_t used = st == VIRTIO_BLK_S_OK && in ? (uint32_t)p->len + 1 : 1;
	blk_finish(vb, p->head, p->status_gpa, st, used);
}

/* Run the pending requests: one transfer for all of them; if it fails, each request alone,
 * so only those whose own range fails get IOERR. Completes them in order and empties the
 * run. Lock held. */
static void blk_run_flush(struct vblk *vb)
{
	struct blk_run *m = vb->run;
	if (!m || !m->n)
		return;
	bool in = m->type == VIRTIO_BLK_T_IN;
	uint8_t st = blk_xfer(vb, in, m->iov, m->niov, m->off, m->len, m->scratch);
	for (uint16_t i = 0; i < m->n; i++) {
		const struct blk_part *p = &m->part[i];
		uint8_t pst = st;
		if (st != VIRTIO_BLK_S_OK && m->n > 1)
			pst =
			    blk_xfer(vb, in, m->iov + p->iov0, p->niov, p->off, p->len, m->scratch);
		blk_part_finish(vb, p, m->type, pst);
	}
	m->n = 0;
	m->niov = 0;
	m->len = 0;
}

/* True if r can join the pending run (same direction, starts where the run ends, room). */
static bool blk_run_fits(const struct blk_run *m, const struct blk_req *r)
{
	return m->n < BLK_RUN_REQS && r->type == m->type && r->off == m->off + m->len &&
	       m->len + r->len <= BLK_RUN_BYTES;
}

/* Append the data buffers of e to the run (flushing it first if r cannot join). Returns 0,
 * or -errno if the chain's buffers cannot be mapped (the run is then empty). Lock held. */
static int blk_run_add(struct vblk *vb, const struct virtq_elem *e, const struct blk_req *r,
		       uint64_t status_gpa)
{
	struct blk_run *m = vb->run;
	bool in = r->type == VIRTIO_BLK_T_IN;
	if (m->n && !blk_run_fits(m, r))
		blk_run_flush(vb);
	int n = virtq_elem_iov(&vb->vd.q[0], e, in, in ? 0 : 16, r->len, m->iov + m->niov,
			       BLK_RUN_IOV - m->niov);
	if (n == -ENOSPC && m->n) {
		blk_run_flush(vb);
		n = virtq_elem_iov(&vb->vd.q[0], e, in, in ? 0 : 16, r->len, m->iov, BLK_RUN_IOV);
	}
	if (n < 0) {
		blk_run_flush(vb);
		return n;
	}
	if (m->n)
		vb->merged++;
	else {
		m->type = r->type;
		m->off = r->off;
	}
	m->part[m->n++] = (struct blk_part){.head = e->head,
					    .status_gpa = status_gpa,
					    .off = r->off,
					    .len = r->len,
					    .iov0 = m->niov,
					    .niov = n};
	m->niov += n;
	m->len += r->len;
	return 0;
}

/* Parse the header and sizes. Returns a status other than OK if the request is refused
 * before any I/O. */
static uint8_t blk_parse(struct vblk *vb, const struct virtq_elem *e, struct blk_req *r)
{
	uint8_t hdr[16];
	memset(r, 0, sizeof(*r));
	if (virtq_elem_read(&vb->vd.q[0], e, 0, hdr, 16) != 16)
		return VIRTIO_BLK_S_IOERR;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	r->type = le32toh(r->type);
	r->sector = le64toh(r->sector);
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) {
		r->len = r->type == VIRTIO_BLK_T_IN ? e->in_len - 1 : e->out_len - 16;
		uint64_t end;
		if (r->len % SECTOR_SIZE || !mul_u64(r->sector, SECTOR_SIZE, &r->off) ||
		    !add_u64(r->off, r->len, &end) || end > vb->size)
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_OUT && vb->cfg.is_read_only)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Run a parsed FLUSH, GET_ID or unknown request synchronously; returns the status and sets
 * *used. */
static uint8_t blk_sync_exec(struct vblk *vb, const struct virtq_elem *e, const struct blk_req *r,
			     uint32_t *used)
{
	*used = 1;
	switch (r->type) {
	case VIRTIO_BLK_T_FLUSH:
		if (vb->cfg.cache_type == CACHE_WRITEBACK && fdatasync(vb->fd) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = {0};
		size_t idl = strnlen(vb->cfg.drive_id, sizeof(id));
		memcpy(id, vb->cfg.drive_id, idl);
		uint64_t n = e->in_len - 1 < sizeof(id) ? e->in_len - 1 : sizeof(id);
		int64_t w = virtq_elem_write(&vb->vd.q[0], e, 0, id, n);
		if (w < 0)
			return VIRTIO_BLK_S_IOERR;
		*used = (uint32_t)w + 1;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

#ifdef HAVE_LIBURING
/* Hand r to the io_uring engine. Returns false if the request must wait (ring full). */
static bool blk_handle_aio(struct vblk *vb, const struct virtq_elem *e, const struct blk_req *r,
			   uint64_t sgpa)
{
	int rc = blk_aio_submit(vb->aio, r);
	if (rc == -EAGAIN)
		return false;
	if (rc)
		blk_finish(vb, e->head, sgpa, VIRTIO_BLK_S_IOERR, 1);
	return true;
}
#endif

/* Handle one popped chain. Returns false if the request must wait (rate limit / ring full).
 * Sync reads and writes join the pending run; anything completed here first flushes that run,
 * so the used ring keeps the order in which chains were popped. */
static bool blk_handle(struct vblk *vb, struct virtq_elem *e)
{
	if (e->out_len < 16 || e->in_len < 1) {
		LOG_WARNING("virtio-blk %s: malformed request (no header or status)",
			    vb->cfg.drive_id);
		blk_run_flush(vb);
		virtq_push(&vb->vd.q[0], e->head, 0);
		return true;
	}
	struct blk_req r;
	uint64_t sgpa = blk_status_gpa(e);
	uint8_t st = blk_parse(vb, e, &r);
	if (st != VIRTIO_BLK_S_OK) {
		blk_run_flush(vb);
		blk_finish(vb, e->head, sgpa, st, 1);
		return true;
	}
	if (!rl_consume(&vb->rl, r.type <= VIRTIO_BLK_T_OUT ? r.len : 0, 1))
		return false;
	vb->reqs++;
#ifdef HAVE_LIBURING
	if (vb->aio && r.type != VIRTIO_BLK_T_GET_ID)
		return blk_handle_aio(vb, e, &r, sgpa);
#endif
	bool data = r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT;
	if (data && blk_run_add(vb, e, &r, sgpa) == 0)
		return true;
	blk_run_flush(vb);
	uint32_t used = 1;
	st = data ? VIRTIO_BLK_S_IOERR : blk_sync_exec(vb, e, &r, &used);
	blk_finish(vb, e->head, sgpa, st, used);
	return true;
}

static void blk_notify(struct vdev *vd, uint16_t qi)
{
	struct vblk *vb = (struct vblk *)vd;
	struct virtq *q = &vd->q[0];
	for (;;) {
		int rc = virtq_pop(q, &vd->elem);
		if (rc < 0) {
			vdev_fail(vd, "block queue malformed");
			break;
		}
		if (rc == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		if (!blk_handle(vb, &vd->elem)) {
			virtq_unpop(q, 1);
			break;
		}
	}
	blk_run_flush(vb);
	vdev_signal_used(vd, 0);
}

static void blk_config_read(struct vdev *vd, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vblk *vb = (struct vblk *)vd;
	uint8_t cfg[8];
	uint64_t cap = htole64(vb->size / SECTOR_SIZE);
	memcpy(cfg, &cap, 8);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(cfg) ? cfg[off + i] : 0;
}

static void blk_wake(void *ctx)
{
	struct vdev *vd = ctx;
	pthread_mutex_lock(&vd->lock);
	vdev_kick_all(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void blk_pause(struct vdev *vd)
{
#ifdef HAVE_LIBURING
	struct vblk *vb = (struct vblk *)vd;
	if (vb->aio)
		blk_aio_reap(vb->aio, true); /* no request stays in flight while paused */
#endif
}

static void blk_reset(struct vdev *vd)
{
	blk_pause(vd);
}

static int blk_save(struct vdev *vd, struct vwr *w)
{
	struct vblk *vb = (struct vblk *)vd;
	vwr_str(w, vb->cfg.drive_id);
	vwr_str(w, vb->cfg.path_on_host);
	vwr_str(w, vb->cfg.partuuid);
	vwr_u8(w, (uint8_t)vb->cfg.cache_type);
	vwr_u8(w, vb->cfg.is_root_device);
	vwr_u8(w, vb->cfg.is_read_only);
	vwr_u8(w, (uint8_t)vb->cfg.io_engine);
	vwr_u64(w, vb->size);
	rl_save(&vb->rl, w);
	return w->err;
}

static int blk_restore(struct vdev *vd, struct vrd *r)
{
	struct vblk *vb = (struct vblk *)vd;
	char id[VM_ID_MAX], path[VM_PATH_MAX], partuuid[64];
	vrd_str(r, id, sizeof(id));
	vrd_str(r, path, sizeof(path)); /* the live path may be an override */
	vrd_str(r, partuuid, sizeof(partuuid));
	vrd_u8(r);
	vrd_u8(r);
	vrd_u8(r);
	vrd_u8(r);
	vrd_u64(r);
	rl_restore(&vb->rl, r);
	if (!r->err && strcmp(id, vb->cfg.drive_id))
		return -EINVAL;
	return r->err;
}

static void blk_destroy(struct vdev *vd)
{
	struct vblk *vb = (struct vblk *)vd;
#ifdef HAVE_LIBURING
	if (vb->aio)
		blk_aio_destroy(vb->aio);
#endif
	rl_destroy(&vb->rl);
	free(vb->run);
	if (vb->fd >= 0)
		close(vb->fd);
}

static const struct vdev_ops blk_ops = {
    .kind = "virtio-block",
    .device_id = VIRTIO_KIND_BLOCK,
    .config_read = blk_config_read,
    .notify = blk_notify,
    .reset = blk_reset,
    .save = blk_save,
    .restore = blk_restore,
    .pause = blk_pause,
    .destroy = blk_destroy,
};

/* Async when asked for and available, else Sync (which needs its run buffer). 0 or -ENOMEM. */
static int blk_engine_setup(struct vblk *vb)
{
	if (vb->cfg.io_engine == IO_ENGINE_ASYNC) {
#ifdef HAVE_LIBURING
		int rc = blk_aio_create(vb, &vb->aio);
		if (rc == 0)
			return 0;
		LOG_WARNING("virtio-blk %s: io_uring unavailable (%s); using the Sync engine",
			    vb->cfg.drive_id, strerror(-rc));
#else
		LOG_WARNING("virtio-blk %s: built without liburing; using the Sync engine",
			    vb->cfg.drive_id);
#endif
	}
	vb->run = calloc(1, sizeof(*vb->run));
	return vb->run ? 0 : -ENOMEM;
}

int virtio_blk_create(const struct virtio_env *env, const struct drive_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out)
{
	struct vblk *vb = calloc(1, sizeof(*vb));
	if (!vb)
		return -ENOMEM;
	vb->fd = -1;
	vb->rl.timer_fd = -1;
	vb->cfg = *cfg;
	uint64_t feat = (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC);
	if (cfg->is_read_only)
		feat |= 1ULL << VIRTIO_BLK_F_RO;
	if (cfg->cache_type == CACHE_WRITEBACK)
		feat |= 1ULL << VIRTIO_BLK_F_FLUSH;
	int rc =
	    vdev_init(&vb->vd, &blk_ops, env, cfg->drive_id, 1, VIRTQ_MAX_SIZE, feat, base, gsi);
	if (!rc)
		rc = blk_open(cfg->path_on_host, cfg->is_read_only, &vb->fd, &vb->size);
	if (!rc)
		rc = rl_init(&vb->rl, &cfg->rate_limiter, env->loop, blk_wake, &vb->vd);
	if (!rc)
		rc = blk_engine_setup(vb);
	if (rc) {
		vdev_free(&vb->vd);
		return rc;
	}
	*out = &vb->vd.dev;
	return 0;
}

int virtio_blk_update(struct dev *d, const char *path, const struct rate_limiter_cfg *rl)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_BLOCK);
	if (!vd)
		return -EINVAL;
	struct vblk *vb = (struct vblk *)vd;
	int fd = -1, rc = 0;
	uint64_t size = 0;
	if (path && (rc = blk_open(path, vb->cfg.is_read_only, &fd, &size)))
		return rc;
	pthread_mutex_lock(&vd->lock);
	if (path) {
		blk_pause(vd); /* finish in-flight requests on the old file */
		close(vb->fd);
		vb->fd = fd;
		vb->size = size;
		snprintf(vb->cfg.path_on_host, sizeof(vb->cfg.path_on_host), "%s", path);
		if (vd->activated)
			vdev_config_changed(vd);
	}
	if (rl) {
		vb->cfg.rate_limiter = *rl;
		rl_update(&vb->rl, rl);
	}
	pthread_mutex_unlock(&vd->lock);
	return 0;
}
