/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-mmio transport (virtio 1.x, version 2): registers, status machine, interrupts. */
#include "virtio/vdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv/hv.h"

bool vdev_has(const struct vdev *vd, unsigned bit)
{
	return bit < 64 && (vd->acked_features >> bit) & 1;
}

static void vdev_raise(struct vdev *vd)
{
	if (vd->irq_fd >= 0) {
		uint64_t one = 1;
		if (write(vd->irq_fd, &one, sizeof(one)) < 0)
			LOG_WARNING("virtio %s: irqfd write failed", vd->dev.id);
		return;
	}
	if (!vd->line_high && vd->env.irq) {
		vd->line_high = true;
		vd->env.irq(vd->env.irq_ctx, vd->gsi, 1);
	}
}

static void vdev_lower(struct vdev *vd)
{
	if (vd->irq_fd < 0 && vd->line_high && vd->env.irq) {
		vd->line_high = false;
		vd->env.irq(vd->env.irq_ctx, vd->gsi, 0);
	}
}

void vdev_signal_used(struct vdev *vd, uint16_t qi)
{
	if (qi >= vd->nq || !virtq_should_notify(&vd->q[qi]))
		return;
	vd->isr |= VIRTIO_INT_USED;
	vdev_raise(vd);
}

void vdev_irq_resend(struct vdev *vd)
{
	vd->line_high = false;
	if (vd->isr)
		vdev_raise(vd);
}

void vdev_config_changed(struct vdev *vd)
{
	vd->config_generation++;
	vd->isr |= VIRTIO_INT_CONFIG;
	vdev_raise(vd);
}

void vdev_fail(struct vdev *vd, const char *why)
{
	LOG_ERR("virtio %s: %s; device needs reset", vd->dev.id, why);
	if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	vdev_config_changed(vd);
}

void vdev_kick_all(struct vdev *vd)
{
	if (!vd->activated || vd->paused || (vd->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	for (uint16_t i = 0; i < vd->nq; i++)
		if (vd->q[i].ready)
			vd->ops->notify(vd, i);
}

static void vdev_queue_kick(struct vdev *vd, uint32_t qi)
{
	if (qi >= vd->nq || !vd->activated || (vd->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	if (vd->paused) {
		vd->pending_kicks |= 1u << qi;
		return;
	}
	if (vd->q[qi].ready)
		vd->ops->notify(vd, (uint16_t)qi);
}

static void vdev_reset(struct vdev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	vd->status = 0;
	vd->isr = 0;
	vd->acked_features = 0;
	vd->features_sel = vd->acked_features_sel = vd->queue_sel = 0;
	vd->activated = false;
	vd->pending_kicks = 0;
	for (uint16_t i = 0; i < vd->nq; i++)
		virtq_init(&vd->q[i], vd->env.mem, vd->q[i].max_size);
	vdev_lower(vd);
}

static void vdev_activate(struct vdev *vd)
{
	for (uint16_t i = 0; i < vd->nq; i++) {
		struct virtq *q = &vd->q[i];
		q->event_idx = vdev_has(vd, VIRTIO_F_EVENT_IDX);
		q->indirect = vdev_has(vd, VIRTIO_F_INDIRECT_DESC);
		if (q->ready && virtq_validate(q)) {
			vdev_fail(vd, "queue configuration invalid at DRIVER_OK");
			return;
		}
	}
	if (vd->ops->activate && vd->ops->activate(vd)) {
		vdev_fail(vd, "activation failed");
		return;
	}
	vd->activated = true;
	/* Buffers may have been queued before DRIVER_OK. */
	vdev_kick_all(vd);
}

static void vdev_status_write(struct vdev *vd, uint32_t v)
{
	if (v == 0) {
		vdev_reset(vd);
		return;
	}
	v &= 0xff;
	/* Bits only accumulate; clearing one needs a reset. */
	if ((vd->status & ~v) & ~VIRTIO_STATUS_NEEDS_RESET) {
		LOG_WARNING("virtio %s: status 0x%x -> 0x%x refused", vd->dev.id, vd->status, v);
		return;
	}
	uint32_t added = v & ~vd->status;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !vdev_has(vd, VIRTIO_F_VERSION_1)) {
		LOG_WARNING("virtio %s: driver did not accept VIRTIO_F_VERSION_1", vd->dev.id);
		v &= ~VIRTIO_STATUS_FEATURES_OK;
		added &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
		v &= ~VIRTIO_STATUS_DRIVER_OK;
		added &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	vd->status = v | (vd->status & VIRTIO_STATUS_NEEDS_RESET);
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FAILED))
		vdev_activate(vd);
}

static uint32_t vdev_reg_read(struct vdev *vd, uint64_t off)
{
	struct virtq *q = vd->queue_sel < vd->nq ? &vd->q[vd->queue_sel] : NULL;
	switch (off) {
	case VIRTIO_MMIO_MAGIC:
		return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vd->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return 0;
	case VIRTIO_MMIO_DEV_FEATURES:
		return vd->features_sel < 2
			   ? (uint32_t)(vd->avail_features >> (32 * vd->features_sel))
			   : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INT_STATUS:
		return vd->isr;
	case VIRTIO_MMIO_STATUS:
		return vd->status;
	case VIRTIO_MMIO_CONFIG_GEN:
		return vd->config_generation;
	default:
		return 0;
	}
}

static void set_lo(uint64_t *a, uint32_t v)
{
	*a = (*a & 0xffffffff00000000ULL) | v;
}

static void set_hi(uint64_t *a, uint32_t v)
{
	*a = (*a & 0xffffffffULL) | ((uint64_t)v << 32);
}

/* Queue registers: writable while FEATURES_OK is set, DRIVER_OK is not, and the queue is not
 * enabled yet. */
static void vdev_queue_write(struct vdev *vd, uint64_t off, uint32_t v)
{
	if (vd->queue_sel >= vd->nq)
		return;
	struct virtq *q = &vd->q[vd->queue_sel];
	/* Disabling a queue is always allowed (Linux does it when it deletes its vqs). */
	if (off == VIRTIO_MMIO_QUEUE_READY && v == 0) {
		q->ready = false;
		return;
	}
	if ((vd->status & VIRTIO_STATUS_DRIVER_OK) || !(vd->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		q->ready = v == 1;
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = (uint16_t)(v > 0xffff ? 0 : v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LO:
		set_lo(&q->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HI:
		set_hi(&q->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LO:
		set_lo(&q->avail, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HI:
		set_hi(&q->avail, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LO:
		set_lo(&q->used, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HI:
		set_hi(&q->used, v);
		break;
	}
}

static void vdev_reg_write(struct vdev *vd, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEV_FEATURES_SEL:
		vd->features_sel = v;
		break;
	case VIRTIO_MMIO_DRV_FEATURES:
		if ((vd->status & VIRTIO_STATUS_DRIVER) &&
		    !(vd->status & VIRTIO_STATUS_FEATURES_OK) && vd->acked_features_sel < 2) {
			unsigned sh = 32 * vd->acked_features_sel;
			uint64_t mask = 0xffffffffULL << sh;
			uint64_t val = ((uint64_t)v << sh) & vd->avail_features;
			vd->acked_features = (vd->acked_features & ~mask) | val;
		}
		break;
	case VIRTIO_MMIO_DRV_FEATURES_SEL:
		vd->acked_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		vd->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vdev_queue_kick(vd, v);
		break;
	case VIRTIO_MMIO_INT_ACK:
		vd->isr &= ~v;
		if (!vd->isr)
			vdev_lower(vd);
		break;
	case VIRTIO_MMIO_STATUS:
		vdev_status_write(vd, v);
		break;
	default:
		vdev_queue_write(vd, off, v);
		break;
	}
}

static void mmio_read(struct dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vdev *vd = d->priv;
	memset(data, 0, len);
	pthread_mutex_lock(&vd->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (vd->ops->config_read)
			vd->ops->config_read(vd, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v = htole32(vdev_reg_read(vd, off));
		memcpy(data, &v, 4);
	} else {
		LOG_WARNING("virtio %s: bad register read at 0x%llx len %u", d->id,
			    (unsigned long long)off, len);
	}
	pthread_mutex_unlock(&vd->lock);
}

static void mmio_write(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vdev *vd = d->priv;
	pthread_mutex_lock(&vd->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (vd->ops->config_write)
			vd->ops->config_write(vd, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v;
		memcpy(&v, data, 4);
		vdev_reg_write(vd, off, le32toh(v));
	} else {
		LOG_WARNING("virtio %s: bad register write at 0x%llx len %u", d->id,
			    (unsigned long long)off, len);
	}
	pthread_mutex_unlock(&vd->lock);
}

static void mmio_reset(struct dev *d)
{
	struct vdev *vd = d->priv;
	pthread_mutex_lock(&vd->lock);
	vdev_reset(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void mmio_pause(struct dev *d)
{
	struct vdev *vd = d->priv;
	pthread_mutex_lock(&vd->lock);
	vd->paused = true;
	if (vd->ops->pause)
		vd->ops->pause(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void mmio_resume(struct dev *d)
{
	struct vdev *vd = d->priv;
	pthread_mutex_lock(&vd->lock);
	vd->paused = false;
	if (vd->ops->resume)
		vd->ops->resume(vd);
	/* Replay every queue: kicks, backend edges (taps, sockets) and limiter wake-ups that
	 * arrived while paused were not acted upon. */
	vd->pending_kicks = 0;
	vdev_kick_all(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void mmio_destroy(struct dev *d)
{
	vdev_free(d->priv);
}

static const struct dev_ops vdev_dev_ops = {
    .kind = "virtio-mmio",
    .read = mmio_read,
    .write = mmio_write,
    .reset = mmio_reset,
    .save = vdev_dev_save,
    .restore = vdev_dev_restore,
    .pause = mmio_pause,
    .resume = mmio_resume,
    .destroy = mmio_destroy,
};

struct vdev *vdev_from_dev(struct dev *d, uint32_t device_id)
{
	if (!d || d->ops != &vdev_dev_ops)
		return NULL;
	struct vdev *vd = d->priv;
	return vd->ops->device_id == device_id ? vd : NULL;
}

static void vdev_kick_cb(void *arg, uint32_t events)
{
	struct vdev_kick *k = arg;
	struct vdev *vd = k->vd;
	uint64_t cnt;
	if (read(vd->kick_fd[k->qi], &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&vd->lock);
	vdev_queue_kick(vd, k->qi);
	pthread_mutex_unlock(&vd->lock);
}

static int vdev_setup_fds(struct vdev *vd)
{
	const struct hv_caps *caps = vd->env.vm ? hv_vm_caps(vd->env.vm) : NULL;
	if (caps && caps->irqfd) {
		vd->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vd->irq_fd < 0)
			return -errno;
		int rc = hv_vm_irqfd(vd->env.vm, vd->irq_fd, vd->gsi, true);
		if (rc) {
			close(vd->irq_fd);
			vd->irq_fd = -1;
			LOG_WARNING("virtio %s: irqfd refused (%d), using the IRQ line", vd->dev.id,
				    rc);
		}
	}
	if (!caps || !caps->ioeventfd || !vd->env.loop)
		return 0;
	for (uint16_t i = 0; i < vd->nq; i++) {
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		int rc = hv_vm_ioeventfd(vd->env.vm, fd, vd->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, i,
					 true);
		if (rc) {
			/* Not fatal: QueueNotify then exits to the vCPU thread as plain MMIO. */
			LOG_WARNING("virtio %s: ioeventfd refused (%d)", vd->dev.id, rc);
			close(fd);
			continue;
		}
		rc = evloop_add(vd->env.loop, fd, EPOLLIN, vdev_kick_cb, &vd->kick[i]);
		if (rc) {
			hv_vm_ioeventfd(vd->env.vm, fd, vd->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, i,
					false);
			close(fd);
			return rc;
		}
		vd->kick_fd[i] = fd;
	}
	return 0;
}

int vdev_init(struct vdev *vd, const struct vdev_ops *ops, const struct virtio_env *env,
	      const char *id, uint16_t nq, uint16_t qsize, uint64_t features, uint64_t base,
	      uint32_t gsi)
{
	vd->irq_fd = -1;
	for (uint16_t i = 0; i < VDEV_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	pthread_mutex_init(&vd->lock, NULL);
	if (nq > VDEV_MAX_QUEUES || qsize > VIRTQ_MAX_SIZE || !env || !env->mem)
		return -EINVAL;
	vd->dev.ops = &vdev_dev_ops;
	vd->dev.priv = vd;
	snprintf(vd->dev.id, sizeof(vd->dev.id), "%s", id);
	vd->ops = ops;
	vd->env = *env;
	vd->base = base;
	vd->gsi = gsi;
	vd->avail_features = features | (1ULL << VIRTIO_F_VERSION_1);
	vd->nq = nq;
	for (uint16_t i = 0; i < VDEV_MAX_QUEUES; i++) {
		vd->kick[i].vd = vd;
		vd->kick[i].qi = i;
	}
	for (uint16_t i = 0; i < nq; i++)
		virtq_init(&vd->q[i], env->mem, qsize);
	return vdev_setup_fds(vd);
}

void vdev_free(struct vdev *vd)
{
	if (!vd)
		return;
	if (vd->ops && vd->ops->destroy)
		vd->ops->destroy(vd);
	for (uint16_t i = 0; i < VDEV_MAX_QUEUES; i++) {
		if (vd->kick_fd[i] < 0)
			continue;
		if (vd->env.loop)
			evloop_del(vd->env.loop, vd->kick_fd[i]);
		hv_vm_ioeventfd(vd->env.vm, vd->kick_fd[i], vd->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				i, false);
		close(vd->kick_fd[i]);
	}
	if (vd->irq_fd >= 0) {
		hv_vm_irqfd(vd->env.vm, vd->irq_fd, vd->gsi, false);
		close(vd->irq_fd);
	}
	pthread_mutex_destroy(&vd->lock);
	free(vd);
}
