// SPDX-License-Identifier: Apache-2.0
/* squib test guest: blk-bench scenario, guest-timed virtio-blk throughput with requests in flight.
 */
#include "virtio.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_S_OK 0
#define BB_QNOTIFY 0x050    /* virtio-mmio QueueNotify register */
#define BB_USED_NO_NOTIFY 1 /* VIRTQ_USED_F_NO_NOTIFY */
#define BB_DESC_NEXT 1ULL
#define BB_DESC_WRITE 2ULL
#define BB_DESCS 3 /* header, data, status: each slot owns descriptors 3k..3k+2 */
#define BB_MAX_DEPTH 8
#define BB_MAX_BS (1024UL * 1024UL)
#define BB_MIB (1024UL * 1024UL)

struct bb_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct bb {
	struct vdev d;
	int write, rand;
	uint64_t bs, span_blocks, ops, depth, hz, prng;
	uint8_t *data;		  /* depth buffers of bs bytes at WORK_BASE */
	struct bb_hdr *hdr;	  /* depth request headers */
	volatile uint8_t *status; /* depth status bytes */
	uint32_t busy;		  /* bit k: slot k is in flight */
	uint64_t issued, done, failed;
	uint8_t last_bad;
};

static uint64_t num(const char *key, uint64_t dflt)
{
	return cmdline_num(boot.cmdline, key, dflt);
}

/* mode=seq|rand and rw=read|write; -1 (after an ERROR line) for anything else. */
static int bb_words(struct bb *b)
{
	char mode[8] = "seq", rw[8] = "read";

	cmdline_get(boot.cmdline, "mode", mode, sizeof(mode));
	cmdline_get(boot.cmdline, "rw", rw, sizeof(rw));
	b->rand = !strncmp(mode, "rand", sizeof(mode));
	b->write = !strncmp(rw, "write", sizeof(rw));
	if ((!b->rand && strncmp(mode, "seq", sizeof(mode))) ||
	    (!b->write && strncmp(rw, "read", sizeof(rw)))) {
		uprintf("ERROR blk-bench: mode=seq|rand rw=read|write (got mode=%s rw=%s)\n", mode,
			rw);
		return -1;
	}
	return 0;
}

/* Check the numeric parameters against the device and guest RAM. */
static int bb_params(struct bb *b, uint64_t capacity_bytes)
{
	uint64_t span = num("mib", 16) * BB_MIB, max_depth = b->d.vq[0].size / BB_DESCS;

	b->bs = num("bs", 4096);
	b->ops = num("ops", 1000);
	b->hz = num("hz", 100);
	b->prng = num("seed", 0x5a);
	b->depth = num("depth", BB_MAX_DEPTH);
	if (max_depth > BB_MAX_DEPTH)
		max_depth = BB_MAX_DEPTH;
	if (b->depth > max_depth)
		b->depth = max_depth;
	if (!b->depth)
		b->depth = 1;
	if (!b->hz) {
		uprintf("ERROR blk-bench needs the timer (hz > 0)\n");
		return -1;
	}
	if (!b->bs || b->bs % 512 || b->bs > BB_MAX_BS || span < b->bs || span > capacity_bytes) {
		uprintf("ERROR blk-bench: bs=%lu (512-byte multiple, <= %lu) and mib span %lu "
			"bytes (>= bs, <= capacity %lu) do not fit\n",
			b->bs, BB_MAX_BS, span, capacity_bytes);
		return -1;
	}
	if (boot.ram_top && WORK_BASE + b->depth * b->bs > boot.ram_top) {
		uprintf("ERROR blk-bench: %lu buffers of %lu bytes exceed RAM\n", b->depth, b->bs);
		return -1;
	}
	b->span_blocks = span / b->bs;
	return 0;
}

/* Buffers: headers and statuses in one DMA page, data at WORK_BASE (pattern-filled). */
static void bb_buffers(struct bb *b)
{
	uint64_t s = b->prng;

	b->hdr = dma_alloc(4096);
	b->status = (volatile uint8_t *)(b->hdr + BB_MAX_DEPTH);
	b->data = phys(WORK_BASE);
	for (uint64_t i = 0; i < b->depth * b->bs; i += 8) {
		uint64_t v = splitmix64(&s);
		memcpy(b->data + i, &v, 8);
	}
}

static uint64_t bb_next_block(struct bb *b)
{
	return b->rand ? splitmix64(&b->prng) % b->span_blocks : b->issued % b->span_blocks;
}

/* Fill slot k's three descriptors and publish its head in the avail ring (no notify yet). */
static void bb_post(struct bb *b, unsigned k)
{
	struct vq *vq = &b->d.vq[0];
	uint16_t h = (uint16_t)(k * BB_DESCS), slot = vq->avail[1];
	uint64_t dflags = BB_DESC_NEXT | (b->write ? 0 : BB_DESC_WRITE);

	b->hdr[k].type = b->write ? BLK_T_OUT : BLK_T_IN;
	b->hdr[k].reserved = 0;
	b->hdr[k].sector = bb_next_block(b) * (b->bs / 512);
	b->status[k] = 0xff;
	vq->desc[2 * h] = (uint64_t)&b->hdr[k];
	vq->desc[2 * h + 1] = sizeof(struct bb_hdr) | BB_DESC_NEXT << 32 | (uint64_t)(h + 1) << 48;
	vq->desc[2 * h + 2] = (uint64_t)(b->data + k * b->bs);
	vq->desc[2 * h + 3] = b->bs | dflags << 32 | (uint64_t)(h + 2) << 48;
	vq->desc[2 * h + 4] = (uint64_t)&b->status[k];
	vq->desc[2 * h + 5] = 1 | BB_DESC_WRITE << 32;
	vq->avail[2 + slot % vq->size] = h;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->avail[1] = (uint16_t)(slot + 1);
	b->busy |= 1U << k;
	b->issued++;
}

/* Post requests into every free slot, then notify once unless the device asked not to be. */
static void bb_fill(struct bb *b)
{
	int posted = 0;

	for (unsigned k = 0; k < b->depth && b->issued < b->ops; k++)
		if (!(b->busy & 1U << k)) {
			bb_post(b, k);
			posted = 1;
		}
	if (!posted)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(*(volatile uint16_t *)b->d.vq[0].used & BB_USED_NO_NOTIFY))
		mmio_write32(b->d.base + BB_QNOTIFY, 0);
}

/* Collect used elements (any order). Returns how many, or -1 on a foreign descriptor id. */
static int bb_reap(struct bb *b)
{
	struct vq *vq = &b->d.vq[0];
	volatile uint16_t *used_idx = (volatile uint16_t *)vq->used + 1;
	int n = 0;

	while (*used_idx != vq->last_used) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		uint32_t id = vq->used[1 + 2 * (vq->last_used % vq->size)];
		unsigned k = id / BB_DESCS;
		vq->last_used++;
		if (id % BB_DESCS || k >= b->depth || !(b->busy & 1U << k)) {
			uprintf("BLK-BENCH-FAIL used id %u is not in flight\n", id);
			return -1;
		}
		if (b->status[k] != BLK_S_OK) {
			b->failed++;
			b->last_bad = b->status[k];
		}
		b->busy &= ~(1U << k);
		b->done++;
		n++;
	}
	return n;
}

/* Keep up to depth requests in flight until ops completed. Returns ticks taken or -1. */
static int64_t bb_run(struct bb *b)
{
	uint64_t start = syscall3(SYS_WAIT_TICKS, uticks() + 1, 0, 0); /* start on a tick edge */
	uint64_t limit = (uint64_t)timeout_ms() * b->hz / 1000 + 2, progress = start;

	while (b->done < b->ops) {
		bb_fill(b);
		int n = bb_reap(b);
		if (n < 0)
			return -1;
		if (n) {
			progress = uticks();
			continue;
		}
		if (uticks() - progress > limit) {
			uprintf("BLK-BENCH-FAIL timeout after %lu of %lu requests\n", b->done,
				b->ops);
			return -1;
		}
		__builtin_ia32_pause();
	}
	return (int64_t)(uticks() - start);
}

int scenario_blk_bench(void)
{
	static struct bb b;

	if (bb_words(&b) || vdev_open(&b.d, VIRTIO_ID_BLOCK, 0, 1))
		return -1;
	uint64_t cap = vdev_cfg32(&b.d, 0) | (uint64_t)vdev_cfg32(&b.d, 4) << 32;
	if (bb_params(&b, cap * 512))
		return -1;
	bb_buffers(&b);
	const char *mode = b.rand ? "rand" : "seq", *rw = b.write ? "write" : "read";
	uprintf("BLK-BENCH-START mode=%s rw=%s bs=%lu ops=%lu span=%lu depth=%lu\n", mode, rw, b.bs,
		b.ops, b.span_blocks * b.bs, b.depth);
	int64_t ticks = bb_run(&b);
	if (ticks < 0)
		return -1;
	if (b.failed) {
		uprintf("BLK-BENCH-FAIL %lu of %lu requests failed (last status %u)\n", b.failed,
			b.ops, b.last_bad);
		return -1;
	}
	uprintf("BLK-BENCH-OK mode=%s rw=%s bs=%lu ops=%lu bytes=%lu ticks=%ld hz=%lu depth=%lu\n",
		mode, rw, b.bs, b.ops, b.ops * b.bs, ticks, b.hz, b.depth);
	return 0;
}
