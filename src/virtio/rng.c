/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng (entropy): fills guest buffers from getrandom(), with an optional rate limiter. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "virtio/ratelimit.h"
#include "virtio/vdev.h"

struct vrng {
	struct vdev vd; /* first */
	struct ratelimit rl;
};

static int rng_fill(struct vdev *vd, const struct virtq_elem *e, uint64_t *done)
{
	struct iovec iov[64];
	uint64_t off = 0;
	*done = 0;
	while (off < e->in_len) {
		int n = virtq_elem_iov(&vd->q[0], e, true, off, e->in_len - off, iov, 64);
		if (n < 0 && n != -ENOSPC)
			return n;
		if (n == -ENOSPC)
			n = virtq_elem_iov(&vd->q[0], e, true, off, 1ULL << 20, iov, 1);
		if (n <= 0)
			return -EFAULT;
		for (int i = 0; i < n; i++) {
			size_t got = 0;
			while (got < iov[i].iov_len) {
				ssize_t r = getrandom((uint8_t *)iov[i].iov_base + got,
						      iov[i].iov_len - got, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0)
					return -errno;
				got += (size_t)r;
			}
			off += iov[i].iov_len;
		}
	}
	*done = off;
	return 0;
}

static void rng_notify(struct vdev *vd, uint16_t qi)
{
	struct vrng *r = (struct vrng *)vd;
	struct virtq *q = &vd->q[0];
	struct virtq_elem *e = &vd->elem;
	bool used = false;
	for (;;) {
		int rc = virtq_pop(q, e);
		if (rc < 0) {
			vdev_fail(vd, "entropy queue malformed");
			break;
		}
		if (rc == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		if (e->in_len && !rl_consume(&r->rl, e->in_len, 1)) {
			virtq_unpop(q, 1);
			break;
		}
		uint64_t done = 0;
		if (rng_fill(vd, e, &done))
			LOG_WARNING("virtio %s: entropy source failed", vd->dev.id);
		virtq_push(q, e->head, (uint32_t)done);
		used = true;
	}
	if (used)
		vdev_signal_used(vd, 0);
}

static void rng_wake(void *ctx)
{
	struct vdev *vd = ctx;
	pthread_mutex_lock(&vd->lock);
	vdev_kick_all(vd);
	pthread_mutex_unlock(&vd->lock);
}

static int rng_save(struct vdev *vd, struct vwr *w)
{
	rl_save(&((struct vrng *)vd)->rl, w);
	return w->err;
}

static int rng_restore(struct vdev *vd, struct vrd *r)
{
	rl_restore(&((struct vrng *)vd)->rl, r);
	return r->err;
}

static void rng_destroy(struct vdev *vd)
{
	rl_destroy(&((struct vrng *)vd)->rl);
}

static const struct vdev_ops rng_ops = {
    .kind = "virtio-rng",
    .device_id = VIRTIO_KIND_RNG,
    .notify = rng_notify,
    .save = rng_save,
    .restore = rng_restore,
    .destroy = rng_destroy,
};

int virtio_rng_create(const struct virtio_env *env, const struct entropy_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out)
{
	struct vrng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->rl.timer_fd = -1;
	int rc = vdev_init(&r->vd, &rng_ops, env, "rng", 1, VIRTQ_MAX_SIZE,
			   1ULL << VIRTIO_F_EVENT_IDX, base, gsi);
	if (!rc)
		rc = rl_init(&r->rl, cfg ? &cfg->rate_limiter : NULL, env->loop, rng_wake, &r->vd);
	if (rc) {
		vdev_free(&r->vd);
		return rc;
	}
	*out = &r->vd.dev;
	return 0;
}
