/* SPDX-License-Identifier: Apache-2.0 */
/* virtio state encoding: transport, queues and device fields, little endian, field by field. */
#include "virtio/vdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"

#define VDEV_STATE_VERSION 1u

static uint8_t *vwr_reserve(struct vwr *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > SIZE_MAX / 2 - w->len) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static void vwr_le(struct vwr *w, uint64_t v, unsigned n)
{
	uint8_t *p = vwr_reserve(w, n);
	for (unsigned i = 0; p && i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void vwr_u8(struct vwr *w, uint8_t v)
{
	vwr_le(w, v, 1);
}

void vwr_u16(struct vwr *w, uint16_t v)
{
	vwr_le(w, v, 2);
}

void vwr_u32(struct vwr *w, uint32_t v)
{
	vwr_le(w, v, 4);
}

void vwr_u64(struct vwr *w, uint64_t v)
{
	vwr_le(w, v, 8);
}

void vwr_bytes(struct vwr *w, const void *p, size_t n)
{
	uint8_t *d = vwr_reserve(w, n);
	if (d && n)
		memcpy(d, p, n);
}

void vwr_str(struct vwr *w, const char *s)
{
	size_t n = strlen(s);
	vwr_u32(w, (uint32_t)n);
	vwr_bytes(w, s, n);
}

static uint64_t vrd_le(struct vrd *r, unsigned n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = -EINVAL;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
	r->pos += n;
	return v;
}

uint8_t vrd_u8(struct vrd *r)
{
	return (uint8_t)vrd_le(r, 1);
}

uint16_t vrd_u16(struct vrd *r)
{
	return (uint16_t)vrd_le(r, 2);
}

uint32_t vrd_u32(struct vrd *r)
{
	return (uint32_t)vrd_le(r, 4);
}

uint64_t vrd_u64(struct vrd *r)
{
	return vrd_le(r, 8);
}

void vrd_bytes(struct vrd *r, void *p, size_t n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = -EINVAL;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->buf + r->pos, n);
	r->pos += n;
}

void vrd_str(struct vrd *r, char *dst, size_t cap)
{
	uint32_t n = vrd_u32(r);
	if (r->err || n >= cap || r->len - r->pos < n) {
		r->err = -EINVAL;
		if (cap)
			dst[0] = 0;
		return;
	}
	memcpy(dst, r->buf + r->pos, n);
	dst[n] = 0;
	r->pos += n;
}

static void vq_save(const struct virtq *q, struct vwr *w)
{
	vwr_u16(w, q->max_size);
	vwr_u16(w, q->size);
	vwr_u8(w, q->ready);
	vwr_u64(w, q->desc);
	vwr_u64(w, q->avail);
	vwr_u64(w, q->used);
	vwr_u16(w, q->next_avail);
	vwr_u16(w, q->next_used);
	vwr_u16(w, q->num_added);
}

static void vq_restore(struct virtq *q, struct vrd *r)
{
	uint16_t max = vrd_u16(r);
	if (max != q->max_size)
		r->err = -EINVAL;
	q->size = vrd_u16(r);
	q->ready = vrd_u8(r) != 0;
	q->desc = vrd_u64(r);
	q->avail = vrd_u64(r);
	q->used = vrd_u64(r);
	q->next_avail = vrd_u16(r);
	q->next_used = vrd_u16(r);
	q->num_added = vrd_u16(r);
}

int vdev_save(struct vdev *vd, struct vwr *w)
{
	vwr_u32(w, VDEV_STATE_VERSION);
	vwr_u32(w, vd->ops->device_id);
	vwr_u64(w, vd->avail_features);
	vwr_u64(w, vd->acked_features);
	vwr_u32(w, vd->features_sel);
	vwr_u32(w, vd->acked_features_sel);
	vwr_u32(w, vd->queue_sel);
	vwr_u32(w, vd->status);
	vwr_u32(w, vd->config_generation);
	vwr_u32(w, vd->isr);
	vwr_u8(w, vd->activated);
	vwr_u16(w, vd->nq);
	for (uint16_t i = 0; i < vd->nq; i++)
		vq_save(&vd->q[i], w);
	if (vd->ops->save)
		vd->ops->save(vd, w);
	return w->err;
}

int vdev_restore(struct vdev *vd, struct vrd *r)
{
	if (vrd_u32(r) != VDEV_STATE_VERSION || vrd_u32(r) != vd->ops->device_id)
		return -EINVAL;
	uint64_t avail = vrd_u64(r);
	vd->acked_features = vrd_u64(r) & avail;
	vd->features_sel = vrd_u32(r);
	vd->acked_features_sel = vrd_u32(r);
	vd->queue_sel = vrd_u32(r);
	vd->status = vrd_u32(r);
	vd->config_generation = vrd_u32(r);
	vd->isr = vrd_u32(r);
	vd->activated = vrd_u8(r) != 0;
	if (vrd_u16(r) != vd->nq)
		return -EINVAL;
	for (uint16_t i = 0; i < vd->nq; i++) {
		vq_restore(&vd->q[i], r);
		vd->q[i].event_idx = vdev_has(vd, VIRTIO_F_EVENT_IDX);
		vd->q[i].indirect = vdev_has(vd, VIRTIO_F_INDIRECT_DESC);
		if (!r->err && vd->q[i].ready && virtq_validate(&vd->q[i]))
			return -EINVAL;
	}
	if (r->err)
		return r->err;
	if (vd->ops->restore) {
		int rc = vd->ops->restore(vd, r);
		if (rc)
			return rc;
	}
	return r->err;
}

int vdev_dev_save(struct dev *d, struct sbuf *out)
{
	struct vdev *vd = d->priv;
	struct vwr w = {0};
	pthread_mutex_lock(&vd->lock);
	int rc = vdev_save(vd, &w);
	pthread_mutex_unlock(&vd->lock);
	if (!rc)
		rc = sbuf_put_bytes(out, w.buf, w.len);
	free(w.buf);
	return rc;
}

int vdev_dev_restore(struct dev *d, const uint8_t *buf, size_t len)
{
	struct vdev *vd = d->priv;
	struct vrd r = {.buf = buf, .len = len};
	pthread_mutex_lock(&vd->lock);
	int rc = vdev_restore(vd, &r);
	if (!rc && r.pos != len)
		rc = -EINVAL;
	if (rc) {
		LOG_ERR("virtio %s: device state does not restore (%d)", d->id, rc);
	} else {
		vdev_irq_resend(vd);
	}
	pthread_mutex_unlock(&vd->lock);
	return rc;
}
