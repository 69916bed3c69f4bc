/* SPDX-License-Identifier: Apache-2.0 */
/* virtio internal: the virtio-mmio transport state shared by every device of src/virtio. */
#ifndef SQUIB_VIRTIO_VDEV_H
#define SQUIB_VIRTIO_VDEV_H

#include <pthread.h>

#include "virtio/queue.h"
#include "virtio/virtio.h"

#define VDEV_MAX_QUEUES 5

/* Device status bits. */
#define VIRTIO_STATUS_ACK 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* InterruptStatus bits. */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

/* MMIO register offsets (virtio 1.x, 4.2.2). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEV_FEATURES 0x010
#define VIRTIO_MMIO_DEV_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRV_FEATURES 0x020
#define VIRTIO_MMIO_DRV_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INT_STATUS 0x060
#define VIRTIO_MMIO_INT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LO 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HI 0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LO 0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HI 0x094
#define VIRTIO_MMIO_QUEUE_USED_LO 0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HI 0x0a4
#define VIRTIO_MMIO_CONFIG_GEN 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u

struct vdev;
struct vwr;
struct vrd;

/* Device-specific behaviour plugged into the transport. Every hook runs with vd->lock held. */
struct vdev_ops {
	const char *kind;
	uint32_t device_id;
	/* Config space (offset relative to 0x100). Reads of missing bytes return 0. */
	void (*config_read)(struct vdev *vd, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct vdev *vd, uint64_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK with valid queues; non-zero = activation failed (NEEDS_RESET). */
	int (*activate)(struct vdev *vd);
	/* The driver kicked queue qi (or the transport replays a kick). */
	void (*notify)(struct vdev *vd, uint16_t qi);
	/* Driver wrote status 0: forget in-flight state. */
	void (*reset)(struct vdev *vd);
	/* Device-specific state (after the common part), field by field. */
	int (*save)(struct vdev *vd, struct vwr *w);
	int (*restore)(struct vdev *vd, struct vrd *r);
	void (*pause)(struct vdev *vd);
	void (*resume)(struct vdev *vd);
	void (*destroy)(struct vdev *vd); /* free device resources (not vd itself) */
};

struct vdev {
	struct dev dev; /* dev.priv == this */
	const struct vdev_ops *ops;
	pthread_mutex_t lock;
	struct virtio_env env;
	uint64_t base;
	uint32_t gsi;
	uint64_t avail_features, acked_features;
	uint32_t features_sel, acked_features_sel, queue_sel;
	uint32_t status, isr, config_generation;
	bool activated, paused, line_high;
	uint16_t nq;
	uint32_t pending_kicks; /* queues kicked while paused */
	struct virtq q[VDEV_MAX_QUEUES];
	int kick_fd[VDEV_MAX_QUEUES];
	struct vdev_kick {
		struct vdev *vd;
		uint16_t qi;
	} kick[VDEV_MAX_QUEUES];
	int irq_fd;
	struct virtq_elem elem; /* scratch chain for the device's processing */
};

/* Initialise the transport part: queues of qsize, offered features (VERSION_1 is added),
 * ioeventfds/irqfd when env->vm has the caps and env->loop is set. 0 or -errno. */
int vdev_init(struct vdev *vd, const struct vdev_ops *ops, const struct virtio_env *env,
	      const char *id, uint16_t nq, uint16_t qsize, uint64_t features, uint64_t base,
	      uint32_t gsi);
/* Release transport resources and call ops->destroy; frees vd (allocated with calloc). */
void vdev_free(struct vdev *vd);
/* After pushing to queue qi: interrupt the driver if it wants one. Lock held. */
void vdev_signal_used(struct vdev *vd, uint16_t qi);
/* Raise a config-change interrupt (config_generation++). Lock held. */
void vdev_config_changed(struct vdev *vd);
/* Re-assert the interrupt if InterruptStatus is non-zero (after restore). Lock held. */
void vdev_irq_resend(struct vdev *vd);
/* The guest broke the protocol: set DEVICE_NEEDS_RESET and raise a config interrupt. */
void vdev_fail(struct vdev *vd, const char *why);
/* True if feature bit is acked. */
bool vdev_has(const struct vdev *vd, unsigned bit);
/* Run ops->notify for every ready queue (resume / restore / backend wakeups). Lock held. */
void vdev_kick_all(struct vdev *vd);
/* struct dev -> struct vdev, or NULL if d is not a virtio device of that device id. */
struct vdev *vdev_from_dev(struct dev *d, uint32_t device_id);

/* virtio-net over an already-open frame fd (a tap, or a SOCK_SEQPACKET socket in tests: then
 * no tap ioctls are made). Takes ownership of fd. 0 or -errno. */
int virtio_net_create_fd(const struct virtio_env *env, const struct net_cfg *cfg, int fd,
			 uint64_t base, uint32_t gsi, struct dev **out);

/* ---- field-by-field little-endian state encoding (device snapshots) ---- */
struct vwr {
	uint8_t *buf;
	size_t len, cap;
	int err;
};
void vwr_u8(struct vwr *w, uint8_t v);
void vwr_u16(struct vwr *w, uint16_t v);
void vwr_u32(struct vwr *w, uint32_t v);
void vwr_u64(struct vwr *w, uint64_t v);
void vwr_bytes(struct vwr *w, const void *p, size_t n);
void vwr_str(struct vwr *w, const char *s); /* u32 length + bytes */

struct vrd {
	const uint8_t *buf;
	size_t len, pos;
	int err; /* -EINVAL once a read ran past the end */
};
uint8_t vrd_u8(struct vrd *r);
uint16_t vrd_u16(struct vrd *r);
uint32_t vrd_u32(struct vrd *r);
uint64_t vrd_u64(struct vrd *r);
void vrd_bytes(struct vrd *r, void *p, size_t n);
void vrd_str(struct vrd *r, char *dst, size_t cap); /* truncation = error */

/* Whole-device state (transport + queues + ops->save) into w / from r. */
int vdev_save(struct vdev *vd, struct vwr *w);
int vdev_restore(struct vdev *vd, struct vrd *r);
/* dev_ops.save / dev_ops.restore of every virtio device (state.c). */
int vdev_dev_save(struct dev *d, struct sbuf *out);
int vdev_dev_restore(struct dev *d, const uint8_t *buf, size_t len);

#endif
