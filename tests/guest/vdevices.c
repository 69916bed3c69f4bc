// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring-3 virtio entropy and block scenarios. */
#include "virtio.h"

#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define BLK_S_IOERR 1

int scenario_rng(void)
{
	struct vdev d;
	uint8_t *buf = dma_alloc(4096);
	uint32_t want = (uint32_t)cmdline_num(boot.cmdline, "bytes", 64), got = 0, nonzero = 0;

	if (want > 4096)
		want = 4096;
	if (vdev_open(&d, VIRTIO_ID_ENTROPY, 0, 1))
		return -1;
	while (got < want) {
		struct vbuf b = {buf + got, want - got, 1};
		int64_t n = vq_xfer(&d, 0, &b, 1);
		if (n <= 0) {
			uprintf("ERROR rng request %s after %u bytes\n",
				n < 0 ? "timed out" : "empty", got);
			return -1;
		}
		got += (uint32_t)n;
	}
	for (uint32_t i = 0; i < got; i++)
		nonzero += buf[i] != 0;
	uprintf("RNG-OK %u bytes nonzero=%u\n", got, nonzero);
	return 0;
}

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

/* One request: header, optional 512-byte data buffer, status byte. Returns status or -1. */
static int blk_rw(struct vdev *d, uint32_t type, uint64_t sector, uint8_t *data, int dev_writes)
{
	struct blk_req *h = dma_alloc(4096);
	uint8_t *status = (uint8_t *)(h + 1);
	struct vbuf b[3] = {{h, sizeof(*h), 0}, {data, 512, dev_writes}, {status, 1, 1}};

	h->type = type;
	h->sector = sector;
	*status = 0xff;
	if (!data)
		b[1] = b[2];
	if (vq_xfer(d, 0, b, data ? 3 : 2) < 0) {
		uprintf("ERROR blk request type %u timed out\n", type);
		return -1;
	}
	return *status;
}

static void fill_pattern(uint8_t *p, uint64_t sector)
{
	uint64_t s = sector ^ cmdline_num(boot.cmdline, "seed", 0x5a);

	for (int i = 0; i < 512; i += 8) {
		uint64_t v = splitmix64(&s);
		memcpy(p + i, &v, 8);
	}
}

int scenario_blk(int read_only)
{
	struct vdev d;
	uint64_t sector = cmdline_num(boot.cmdline, "sector", 0);
	uint8_t *wbuf = dma_alloc(4096), *rbuf = dma_alloc(4096);

	if (vdev_open(&d, VIRTIO_ID_BLOCK, BLK_F_RO | BLK_F_FLUSH, 1))
		return -1;
	uint64_t cap = vdev_cfg32(&d, 0) | (uint64_t)vdev_cfg32(&d, 4) << 32;
	int ro = !!(d.features & BLK_F_RO);
	uprintf("BLK capacity=%lu ro=%d flush=%d\n", cap, ro, !!(d.features & BLK_F_FLUSH));
	if (sector >= cap) {
		uprintf("ERROR sector %lu beyond capacity %lu\n", sector, cap);
		return -1;
	}
	fill_pattern(wbuf, sector);
	int st = blk_rw(&d, BLK_T_OUT, sector, wbuf, 0);
	if (read_only) {
		if (st == BLK_S_IOERR)
			uprintf("BLK-RO-OK ro=%d\n", ro);
		else
			uprintf("BLK-RO-FAIL write status=%d\n", st);
		return st == BLK_S_IOERR ? 0 : -1;
	}
	if (st != BLK_S_OK) {
		uprintf("BLK-FAIL write status=%d\n", st);
		return -1;
	}
	st = blk_rw(&d, BLK_T_IN, sector, rbuf, 1);
	for (int i = 0; st == BLK_S_OK && i < 512; i++)
		if (rbuf[i] != wbuf[i]) {
			uprintf("BLK-FAIL mismatch at byte %d\n", i);
			return -1;
		}
	if (st != BLK_S_OK) {
		uprintf("BLK-FAIL read status=%d\n", st);
		return -1;
	}
	if (d.features & BLK_F_FLUSH) {
		st = blk_rw(&d, BLK_T_FLUSH, 0, 0, 0);
		if (st != BLK_S_OK) {
			uprintf("BLK-FAIL flush status=%d\n", st);
			return -1;
		}
	}
	uprintf("BLK-OK sector=%lu\n", sector);
	return 0;
}
