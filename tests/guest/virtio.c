// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring-3 virtio-mmio v2 transport, split rings polled without interrupts. */
#include "virtio.h"

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVID 0x008
#define R_DEVFEAT 0x010
#define R_DEVFEAT_SEL 0x014
#define R_DRVFEAT 0x020
#define R_DRVFEAT_SEL 0x024
#define R_QSEL 0x030
#define R_QNUM_MAX 0x034
#define R_QNUM 0x038
#define R_QREADY 0x044
#define R_QNOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_QDESC 0x080
#define R_QAVAIL 0x090
#define R_QUSED 0x0a0
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define F_VERSION_1 (1ULL << 32)
#define DESC_NEXT 1
#define DESC_WRITE 2

static uint8_t dma_pool[64][4096] __attribute__((aligned(4096)));
static size_t dma_used;

void *dma_alloc(size_t bytes)
{
	size_t pages = (bytes + 4095) / 4096;

	if (dma_used + pages > sizeof(dma_pool) / 4096) {
		uprintf("ERROR dma pool exhausted\n");
		u_reset();
	}
	void *p = dma_pool[dma_used];
	dma_used += pages;
	memset(p, 0, pages * 4096);
	return p;
}

uint64_t uticks(void)
{
	return syscall3(SYS_TICKS, 0, 0, 0);
}

static uint32_t rd(struct vdev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

static void wr(struct vdev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

uint32_t vdev_cfg32(struct vdev *d, uint32_t off)
{
	return rd(d, R_CONFIG + off);
}

void vdev_cfg_write32(struct vdev *d, uint32_t off, uint32_t v)
{
	wr(d, R_CONFIG + off, v);
}

static uint64_t find_device(uint32_t devid, uint64_t nth)
{
	uint64_t base = cmdline_num(boot.cmdline, "mmio_base", 0xc0001000);
	uint64_t stride = cmdline_num(boot.cmdline, "mmio_stride", 0x1000);
	uint64_t slots = cmdline_num(boot.cmdline, "mmio_slots", 8);

	if (base < 0xC0000000UL || base + slots * stride > 0x100000000UL)
		return 0;
	for (uint64_t i = 0; i < slots; i++) {
		uint64_t a = base + i * stride;
		if (mmio_read32(a + R_MAGIC) != 0x74726976)
			break;
		if (mmio_read32(a + R_DEVID) == devid && !nth--)
			return a;
	}
	return 0;
}

static int setup_queue(struct vdev *d, int q)
{
	struct vq *vq = &d->vq[q];
	uint8_t *mem = dma_alloc(4096);

	wr(d, R_QSEL, (uint32_t)q);
	uint32_t max = rd(d, R_QNUM_MAX);
	if (!max || rd(d, R_QREADY)) {
		uprintf("ERROR virtio queue %d unavailable (max=%u)\n", q, max);
		return -1;
	}
	vq->size = max < VQ_SIZE ? (uint16_t)max : VQ_SIZE;
	vq->desc = (volatile uint64_t *)mem;
	vq->avail = (volatile uint16_t *)(mem + 0x400);
	vq->used = (volatile uint32_t *)(mem + 0x800);
	vq->next_desc = vq->last_used = 0;
	vq->avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
	wr(d, R_QNUM, vq->size);
	wr(d, R_QDESC, (uint32_t)(uint64_t)vq->desc);
	wr(d, R_QDESC + 4, (uint32_t)((uint64_t)vq->desc >> 32));
	wr(d, R_QAVAIL, (uint32_t)(uint64_t)vq->avail);
	wr(d, R_QAVAIL + 4, (uint32_t)((uint64_t)vq->avail >> 32));
	wr(d, R_QUSED, (uint32_t)(uint64_t)vq->used);
	wr(d, R_QUSED + 4, (uint32_t)((uint64_t)vq->used >> 32));
	wr(d, R_QREADY, 1);
	return 0;
}

int vdev_negotiate(struct vdev *d, uint32_t devid, uint64_t want)
{
	memset(d, 0, sizeof(*d));
	d->devid = devid;
	d->base = find_device(devid, cmdline_num(boot.cmdline, "dev", 0));
	if (!d->base) {
		uprintf("ERROR no virtio-mmio device with id %u\n", devid);
		return -1;
	}
	if (rd(d, R_VERSION) != 2) {
		uprintf("ERROR virtio-mmio at 0x%lx is version %u, need 2\n", d->base,
			rd(d, R_VERSION));
		return -1;
	}
	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	wr(d, R_DEVFEAT_SEL, 0);
	uint64_t feat = rd(d, R_DEVFEAT);
	wr(d, R_DEVFEAT_SEL, 1);
	feat |= (uint64_t)rd(d, R_DEVFEAT) << 32;
	d->features = feat & (want | F_VERSION_1);
	wr(d, R_DRVFEAT_SEL, 0);
	wr(d, R_DRVFEAT, (uint32_t)d->features);
	wr(d, R_DRVFEAT_SEL, 1);
	wr(d, R_DRVFEAT, (uint32_t)(d->features >> 32));
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(d, R_STATUS) & S_FEATURES_OK) || !(d->features & F_VERSION_1)) {
		uprintf("ERROR virtio device %u refused features 0x%lx\n", devid, d->features);
		return -1;
	}
	return 0;
}

int vdev_start(struct vdev *d, int nq)
{
	for (int q = 0; q < nq; q++)
		if (setup_queue(d, q))
			return -1;
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 0;
}

int vdev_open(struct vdev *d, uint32_t devid, uint64_t want, int nq)
{
	return vdev_negotiate(d, devid, want) ? -1 : vdev_start(d, nq);
}

int vq_post(struct vdev *d, int q, const struct vbuf *bufs, int n)
{
	struct vq *vq = &d->vq[q];
	uint16_t head = (uint16_t)(vq->next_desc % vq->size);
	uint16_t slot = vq->avail[1];

	/* Descriptors are handed out round-robin: fine for in-order completion. */
	for (int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % vq->size);
		uint16_t next = (uint16_t)((head + i + 1) % vq->size);
		uint64_t flags = (bufs[i].writable ? DESC_WRITE : 0) | (i + 1 < n ? DESC_NEXT : 0);
		vq->desc[2 * idx] = (uint64_t)bufs[i].addr;
		vq->desc[2 * idx + 1] = bufs[i].len | flags << 32 | (uint64_t)next << 48;
	}
	vq->avail[2 + slot % vq->size] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->next_desc = (uint16_t)(vq->next_desc + n);
	vq->avail[1] = (uint16_t)(slot + 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr(d, R_QNOTIFY, (uint32_t)q);
	return head;
}

int64_t vq_poll(struct vdev *d, int q, uint16_t *id)
{
	struct vq *vq = &d->vq[q];
	volatile uint16_t *used_idx = (volatile uint16_t *)vq->used + 1;

	if (*used_idx == vq->last_used)
		return -1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t len = vq->used[1 + 2 * (vq->last_used % vq->size) + 1];
	if (id)
		*id = (uint16_t)vq->used[1 + 2 * (vq->last_used % vq->size)];
	vq->last_used++;
	if (rd(d, R_ISR))
		wr(d, R_ISR_ACK, rd(d, R_ISR));
	return len;
}

int64_t vq_wait(struct vdev *d, int q, uint32_t ms, uint16_t *id)
{
	uint64_t hz = cmdline_num(boot.cmdline, "hz", 100);
	uint64_t end = uticks() + (hz ? (uint64_t)ms * hz / 1000 + 1 : 0);

	for (uint64_t spin = 0;; spin++) {
		int64_t len = vq_poll(d, q, id);
		if (len >= 0)
			return len;
		if (hz ? (spin % 256 == 0 && uticks() > end) : spin > ms * 100000ULL)
			return -1;
		__builtin_ia32_pause();
	}
}

uint32_t timeout_ms(void)
{
	return (uint32_t)cmdline_num(boot.cmdline, "timeout_ms", 5000);
}

int64_t vq_xfer(struct vdev *d, int q, const struct vbuf *bufs, int n)
{
	vq_post(d, q, bufs, n);
	return vq_wait(d, q, timeout_ms(), 0);
}
