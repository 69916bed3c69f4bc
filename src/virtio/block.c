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

/* Transfer r->len bytes between the file and the chain with preadv/pwritev. */
static uint8_t blk_sync_rw(struct vblk *vb, const struct virtq_elem *e, const struct blk_req *r)
{
	static __thread struct iovec iov[VIRTQ_MAX_SIZE];
	bool in = r->type == VIRTIO_BLK_T_IN;
	uint64_t done = 0;
	while (done < r->len) {
		int n = virtq_elem_iov(&vb->vd.q[0], e, in, in ? done : 16 + done, r->len - done,
				       iov, VIRTQ_MAX_SIZE);
		if (n <= 0)
			return VIRTIO_BLK_S_IOERR;
		ssize_t got = in ? preadv(vb->fd, iov, n, (off_t)(r->off + done))
				 : pwritev(vb->fd, iov, n, (off_t)(r->off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			LOG_WARNING("virtio-blk %s: %s failed at %llu: %s", vb->cfg.drive_id,
				    in ? "read" : "write", (unsigned long long)(r->off + done),
				    got < 0 ? strerror(errno) : "end of file");
			return VIRTIO_BLK_S_IOERR;
		}
		done += (uint64_t)got;
	}
	if (in)
		vb->bytes_read += done;
	else
		vb->bytes_written += done;
	return VIRTIO_BLK_S_OK;
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

/* Run a parsed request synchronously; returns the status and sets *used. */
static uint8_t blk_sync_exec(struct vblk *vb, const struct virtq_elem *e, const struct blk_req *r,
			     uint32_t *used)
{
	*used = 1;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		uint8_t st = blk_sync_rw(vb, e, r);
		if (st == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_IN)
			*used = (uint32_t)r->len + 1;
		return st;
	}
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

/* Handle one popped chain. Returns false if the request must wait (rate limit / ring full). */
static bool blk_handle(struct vblk *vb, struct virtq_elem *e)
{
	struct virtq *q = &vb->vd.q[0];
	if (e->out_len < 16 || e->in_len < 1) {
		LOG_WARNING("virtio-blk %s: malformed request (no header or status)",
			    vb->cfg.drive_id);
		virtq_push(q, e->head, 0);
		return true;
	}
	struct blk_req r;
	uint64_t sgpa = blk_status_gpa(e);
	uint8_t st = blk_parse(vb, e, &r);
	if (st != VIRTIO_BLK_S_OK) {
		blk_finish(vb, e->head, sgpa, st, 1);
		return true;
	}
	if (!rl_consume(&vb->rl, r.type <= VIRTIO_BLK_T_OUT ? r.len : 0, 1))
		return false;
	vb->reqs++;
#ifdef HAVE_LIBURING
	if (vb->aio && r.type != VIRTIO_BLK_T_GET_ID) {
		int rc = blk_aio_submit(vb->aio, &r);
		if (rc == 0)
			return true;
		if (rc == -EAGAIN)
			return false;
		blk_finish(vb, e->head, sgpa, VIRTIO_BLK_S_IOERR, 1);
		return true;
	}
#endif
	uint32_t used;
	st = blk_sync_exec(vb, e, &r, &used);
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

static void blk_engine_setup(struct vblk *vb)
{
	if (vb->cfg.io_engine != IO_ENGINE_ASYNC)
		return;
#ifdef HAVE_LIBURING
	int rc = blk_aio_create(vb, &vb->aio);
	if (rc == 0)
		return;
	LOG_WARNING("virtio-blk %s: io_uring unavailable (%s); using the Sync engine",
		    vb->cfg.drive_id, strerror(-rc));
#else
	LOG_WARNING("virtio-blk %s: built without liburing; using the Sync engine",
		    vb->cfg.drive_id);
#endif
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
	if (rc) {
		vdev_free(&vb->vd);
		return rc;
	}
	blk_engine_setup(vb);
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
