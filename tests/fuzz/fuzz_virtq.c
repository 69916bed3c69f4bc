/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: hostile split rings (descriptors, avail ring, indirect tables) for queue.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/queue.h"
#include "virtio/vdev.h"

/* Compile the walker into this unit so it carries the fuzzer's coverage instrumentation
 * (libsquib is built without -fsanitize=fuzzer-no-link); the library copy is not linked. */
#include "../../src/virtio/queue.c"

#define FZ_MEM (1ULL << 20)
#define FZ_DESC 0x1000ULL
#define FZ_AVAIL 0x3000ULL
#define FZ_USED 0x4000ULL
#define FZ_DATA 0x8000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem g_mem;
static bool g_ready;
static struct dev *g_blk, *g_bal;

static void fz_irq(void *ctx, uint32_t gsi, int level)
{
}

static void fz_wr(struct dev *d, uint64_t off, uint32_t v)
{
	d->ops->write(d, off, (const uint8_t *)&v, 4);
}

static void fz_devices_init(void)
{
	struct virtio_env env = {.mem = &g_mem, .irq = fz_irq};
	int fd = memfd_create("fz-disk", 0);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	struct drive_cfg dc = {.cache_type = CACHE_WRITEBACK};
	snprintf(dc.drive_id, sizeof(dc.drive_id), "fz");
	snprintf(dc.path_on_host, sizeof(dc.path_on_host), "/proc/self/fd/%d", fd);
	struct balloon_cfg bc = {.set = true,
				 .stats_polling_interval_s = 1,
				 .free_page_hinting = true,
				 .free_page_reporting = true};
	if (virtio_blk_create(&env, &dc, 0xC0001000, 5, &g_blk) ||
	    virtio_balloon_create(&env, &bc, 0xC0002000, 6, &g_bal))
		abort();
}

/* Drive a whole device through its MMIO registers over the fuzzed ring: reset, negotiate
 * everything, program queue qi, DRIVER_OK, kick. */
static void fz_device(struct dev *d, struct virtq *q, uint16_t qi, bool event_idx)
{
	fz_wr(d, VIRTIO_MMIO_STATUS, 0);
	fz_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	fz_wr(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 0);
	fz_wr(d, VIRTIO_MMIO_DRV_FEATURES, event_idx ? 0xffffffffu : ~(1u << VIRTIO_F_EVENT_IDX));
	fz_wr(d, VIRTIO_MMIO_DRV_FEATURES_SEL, 1);
	fz_wr(d, VIRTIO_MMIO_DRV_FEATURES, 1);
	uint32_t st = VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	fz_wr(d, VIRTIO_MMIO_STATUS, st);
	fz_wr(d, VIRTIO_MMIO_QUEUE_SEL, qi);
	fz_wr(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
	fz_wr(d, VIRTIO_MMIO_QUEUE_DESC_LO, (uint32_t)q->desc);
	fz_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LO, (uint32_t)q->avail);
	fz_wr(d, VIRTIO_MMIO_QUEUE_USED_LO, (uint32_t)q->used);
	fz_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	fz_wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	fz_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
	if (d == g_bal)
		virtio_balloon_poll_stats(d);
}

/* Input layout: byte 0 flags (bit0 event_idx, bit1 indirect, bit7 drive a device instead of
 * the bare queue: bit6 selects the balloon (queue = bits 2-4) over the block device), byte 1
 * log2 queue size,
 * bytes 2-3 next_avail, then raw bytes copied to the descriptor table / avail ring / data
 * area (which may hold indirect tables) in that order. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_ready) {
		if (gmem_layout_x86(&g_mem, FZ_MEM) || gmem_alloc(&g_mem))
			abort();
		log_configure(NULL, LOG_OFF, false, false);
		fz_devices_init();
		g_ready = true;
	}
	if (size < 4)
		return 0;
	uint8_t flags = data[0];
	uint8_t *ram = gmem_ptr(&g_mem, 0, 0x10000);
	memset(ram, 0, 0x10000);
	struct virtq q;
	virtq_init(&q, &g_mem, VIRTQ_MAX_SIZE);
	q.event_idx = data[0] & 1;
	q.indirect = data[0] & 2;
	q.size = (uint16_t)(1u << (data[1] % 9));
	q.next_avail = (uint16_t)(data[2] | data[3] << 8);
	q.next_used = q.next_avail;
	q.desc = FZ_DESC;
	q.avail = FZ_AVAIL;
	q.used = FZ_USED;
	q.ready = true;
	if (virtq_validate(&q))
		return 0;
	data += 4;
	size -= 4;
	size_t n = size < 16ULL * q.size ? size : 16ULL * q.size;
	memcpy(ram + FZ_DESC, data, n);
	data += n;
	size -= n;
	n = size < 6ULL + 2ULL * q.size ? size : 6ULL + 2ULL * q.size;
	memcpy(ram + FZ_AVAIL, data, n);
	data += n;
	size -= n;
	n = size < 0x8000 ? size : 0x8000;
	memcpy(ram + FZ_DATA, data, n);

	if (flags & 0x80) {
		bool bal = flags & 0x40;
		fz_device(bal ? g_bal : g_blk, &q, bal ? (flags >> 2) % 5 : 0, q.event_idx);
		return 0;
	}
	static struct virtq_elem e;
	uint8_t tmp[512];
	struct iovec iov[16];
	for (int i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		int rc = virtq_pop(&q, &e);
		if (rc <= 0)
			break;
		if (e.n_out + e.n_in > VIRTQ_MAX_SIZE)
			abort();
		virtq_elem_read(&q, &e, 0, tmp, sizeof(tmp));
		virtq_elem_write(&q, &e, 3, tmp, sizeof(tmp));
		virtq_elem_iov(&q, &e, true, 1, 4096, iov, 16);
		virtq_push(&q, e.head, (uint32_t)e.in_len);
		virtq_should_notify(&q);
	}
	virtq_enable_notify(&q);
	return 0;
}
