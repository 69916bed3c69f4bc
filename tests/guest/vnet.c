// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring-3 virtio net (ARP probe), vsock (stream echo) and balloon scenarios. */
#include "virtio.h"

#define NET_F_MAC (1ULL << 5)
#define NET_HDR 12	/* virtio_net_hdr_v1 */
#define NET_RXBUF 65562 /* hdr + largest frame: no MRG_RXBUF, so one chain holds any frame */
#define NET_RXSTRIDE (17 * 4096UL)
#define NET_NRX 4

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Parse a dotted quad parameter into 4 bytes (network order). */
static void ip_param(const char *key, const char *dflt, uint8_t ip[4])
{
	char v[20];
	const char *s = cmdline_get(boot.cmdline, key, v, sizeof(v)) ? v : dflt;

	memset(ip, 0, 4);
	for (int i = 0; i < 4 && *s; i++) {
		while (*s >= '0' && *s <= '9')
			ip[i] = (uint8_t)(ip[i] * 10 + (*s++ - '0'));
		if (*s == '.')
			s++;
	}
}

static void send_arp(struct vdev *d, const uint8_t mac[6], const uint8_t ip[4], const uint8_t gw[4])
{
	uint8_t *b = dma_alloc(4096), *f = b + NET_HDR;

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put_be16(f + 12, 0x0806);
	put_be16(f + 14, 1);	  /* htype ethernet */
	put_be16(f + 16, 0x0800); /* ptype ipv4 */
	f[18] = 6;
	f[19] = 4;
	put_be16(f + 20, 1); /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, ip, 4);
	memcpy(f + 38, gw, 4);
	struct vbuf tx = {b, NET_HDR + 60, 0};
	if (vq_xfer(d, 1, &tx, 1) < 0)
		uprintf("ERROR net tx timed out\n");
	else
		uprintf("NET-TX-OK arp who-has %u.%u.%u.%u\n", gw[0], gw[1], gw[2], gw[3]);
}

/* net: send an ARP request for gw= from ip=, print received frames until the ARP reply. */
int scenario_net(void)
{
	struct vdev d;
	uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, ip[4], gw[4];
	uint8_t *rx = phys(WORK_BASE); /* rx buffers live in workload RAM (too big for .bss) */

	ip_param("ip", "10.0.2.15", ip);
	ip_param("gw", "10.0.2.2", gw);
	if (vdev_open(&d, VIRTIO_ID_NET, NET_F_MAC, 2))
		return -1;
	if (d.features & NET_F_MAC) {
		uint32_t lo = vdev_cfg32(&d, 0), hi = vdev_cfg32(&d, 4);
		for (int i = 0; i < 4; i++)
			mac[i] = (uint8_t)(lo >> 8 * i);
		mac[4] = (uint8_t)hi;
		mac[5] = (uint8_t)(hi >> 8);
	}
	uprintf("NET mac=%02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4],
		mac[5]);
	for (int i = 0; i < NET_NRX; i++) {
		struct vbuf b = {rx + i * NET_RXSTRIDE, NET_RXBUF, 1};
		vq_post(&d, 0, &b, 1);
	}
	send_arp(&d, mac, ip, gw);
	for (int n = 0; n < NET_NRX; n++) {
		uint16_t id;
		int64_t len = vq_wait(&d, 0, timeout_ms(), &id);
		if (len < 0)
			break;
		const uint8_t *f = rx + (id % NET_NRX) * NET_RXSTRIDE + NET_HDR;
		uint16_t type = be16(f + 12);
		uprintf("NET-RX len=%ld ethertype=%04x\n", len - NET_HDR, type);
		if (type == 0x0806 && be16(f + 20) == 2 && !memcmp(f + 28, gw, 4)) {
			uprintf(
			    "NET-OK arp-reply from %u.%u.%u.%u is %02x:%02x:%02x:%02x:%02x:%02x\n",
			    gw[0], gw[1], gw[2], gw[3], f[22], f[23], f[24], f[25], f[26], f[27]);
			return 0;
		}
	}
	uprintf("NET-FAIL no arp reply\n");
	return -1;
}

#define BALLOON_BATCH 256
#define BALLOON_F_STATS_VQ (1ULL << 1)

struct balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

/* (Re)post the statistics buffer on the stats queue with current numbers. */
static void balloon_stats(struct vdev *d, struct balloon_stat *st, uint32_t actual, uint64_t n)
{
	uint64_t total = boot.ram_top, used = WORK_BASE + (uint64_t)actual * 4096;
	uint64_t vals[8] = {
	    0, 0, 0, n, total > used ? total - used : 0, total, total > used ? total - used : 0, 0};

	for (int i = 0; i < 8;
	     i++) { /* swap in/out, major/minor faults, free, total, avail, caches */
		st[i].tag = (uint16_t)i;
		st[i].val = vals[i];
	}
	struct vbuf b = {st, 8 * sizeof(*st), 0};
	vq_post(d, 2, &b, 1);
}

/* Give (inflate) or take back (deflate) pages [from, from+n) of the workload area. */
static int balloon_xfer(struct vdev *d, int q, uint32_t *pfns, uint32_t from, uint32_t n)
{
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < BALLOON_BATCH ? n - done : BALLOON_BATCH;
		for (uint32_t i = 0; i < k; i++)
			pfns[i] = (uint32_t)(WORK_BASE >> 12) + from + done + i;
		struct vbuf b = {pfns, k * 4, 0};
		if (vq_xfer(d, q, &b, 1) < 0) {
			uprintf("ERROR balloon %s timed out\n", q ? "deflate" : "inflate");
			return -1;
		}
		done += k;
	}
	return 0;
}

/*
 * balloon: follow the device's num_pages target with pages from the workload area, report
 * every change as BALLOON target=<t> actual=<a>; runs until reset externally, or until
 * actual == exit_at= (if given) and then resets. With VIRTIO_BALLOON_F_STATS_VQ offered, it
 * answers every statistics request (BALLOON-STATS <n>).
 */
int scenario_balloon(void)
{
	struct vdev d;
	uint32_t *pfns = dma_alloc(BALLOON_BATCH * 4), actual = 0, last = ~0u;
	struct balloon_stat *st = dma_alloc(4096);
	uint64_t nstats = 0;
	uint64_t exit_at = cmdline_num(boot.cmdline, "exit_at", ~0ULL);
	uint64_t hz = cmdline_num(boot.cmdline, "hz", 100);
	uint32_t max = boot.ram_top > WORK_BASE ? (uint32_t)((boot.ram_top - WORK_BASE) >> 12) : 0;

	if (vdev_negotiate(&d, VIRTIO_ID_BALLOON, BALLOON_F_STATS_VQ))
		return -1;
	int stats = !!(d.features & BALLOON_F_STATS_VQ);
	if (vdev_start(&d, stats ? 3 : 2))
		return -1;
	if (stats)
		balloon_stats(&d, st, actual, nstats);
	for (;;) {
		if (stats && vq_poll(&d, 2, 0) >= 0) {
			balloon_stats(&d, st, actual, ++nstats);
			uprintf("BALLOON-STATS %lu\n", nstats);
		}
		uint32_t target = vdev_cfg32(&d, 0);
		if (target > max)
			target = max;
		if (target > actual && balloon_xfer(&d, 0, pfns, actual, target - actual))
			return -1;
		if (target < actual && balloon_xfer(&d, 1, pfns, target, actual - target))
			return -1;
		actual = target;
		vdev_cfg_write32(&d, 4, actual);
		if (actual != last)
			uprintf("BALLOON target=%u actual=%u\n", vdev_cfg32(&d, 0), actual);
		last = actual;
		if (actual == exit_at)
			return 0;
		if (hz)
			syscall3(SYS_WAIT_TICKS, uticks() + hz / 10 + 1, 0, 0);
	}
}
