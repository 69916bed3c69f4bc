// SPDX-License-Identifier: Apache-2.0
/* squib test guest: guest-timed virtio-net and virtio-vsock throughput (net-bench, vsock-bench). */
#include "virtio.h"

#define R_QNOTIFY 0x050
#define DESC_NEXT 1
#define DESC_WRITE 2
#define USED_F_NO_NOTIFY 1
#define F_EVENT_IDX (1ULL << 29)

#define NET_HDR 12
#define NET_RXBUF 65562 /* hdr + largest frame: no MRG_RXBUF, so one buffer holds any frame */
#define NET_STRIDE (17 * 4096UL)
#define ETH_BENCH 0x88b5 /* IEEE local experimental ethertype: what netblast sends */

#define VS_OP_REQUEST 1
#define VS_OP_RESPONSE 2
#define VS_OP_RST 3
#define VS_OP_SHUTDOWN 4
#define VS_OP_RW 5
#define VS_OP_CREDIT_UPDATE 6
#define VS_OP_CREDIT_REQUEST 7
#define VS_BUF_ALLOC (256 * 1024)
#define VS_MAX_CHUNK 65536
#define VS_TXDATA (WORK_BASE + 0x1200000UL) /* after 16 rx buffers of NET_STRIDE */

/*
 * A queue driven in batches, like Linux's virtio_ring: descriptors come from a free list
 * (chains may complete in any order), a batch of chains gets at most one notify (with
 * VIRTIO_F_EVENT_IDX only if the device's avail_event asks for it, else unless the device sets
 * VIRTQ_USED_F_NO_NOTIFY), and completions are polled without ISR reads (with EVENT_IDX,
 * used_event is kept half a ring-index space ahead so that the device does not interrupt).
 */
struct bq {
	struct vdev *d;
	int q;
	int nfree, pending, event_idx;
	uint16_t kicked; /* avail idx at the last notify decision */
	uint16_t free[VQ_SIZE];
};

static void bq_used_event(struct bq *b)
{
	struct vq *vq = &b->d->vq[b->q];

	vq->avail[2 + vq->size] = (uint16_t)(vq->last_used + 0x7fff);
}

static void bq_init(struct bq *b, struct vdev *d, int q)
{
	b->d = d;
	b->q = q;
	b->nfree = b->pending = 0;
	b->event_idx = !!(d->features & F_EVENT_IDX);
	b->kicked = d->vq[q].avail[1];
	if (b->event_idx)
		bq_used_event(b);
	for (int i = d->vq[q].size - 1; i >= 0; i--)
		b->free[b->nfree++] = (uint16_t)i;
}

/* The descriptor the next bq_add() will use as its head (only if nfree > 0). */
static uint16_t bq_next(const struct bq *b)
{
	return b->free[b->nfree - 1];
}

/* Make a chain available without notifying; -1 if there are not enough free descriptors. */
static int bq_add(struct bq *b, const struct vbuf *bufs, int n)
{
	struct vq *vq = &b->d->vq[b->q];
	uint16_t idx[VQ_SIZE];

	if (n < 1 || b->nfree < n)
		return -1;
	for (int i = 0; i < n; i++)
		idx[i] = b->free[--b->nfree];
	for (int i = 0; i < n; i++) {
		uint64_t flags = (bufs[i].writable ? DESC_WRITE : 0) | (i + 1 < n ? DESC_NEXT : 0);
		uint64_t next = i + 1 < n ? idx[i + 1] : 0;
		vq->desc[2 * idx[i]] = (uint64_t)bufs[i].addr;
		vq->desc[2 * idx[i] + 1] = bufs[i].len | flags << 32 | next << 48;
	}
	uint16_t slot = vq->avail[1];
	vq->avail[2 + slot % vq->size] = idx[0];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->avail[1] = (uint16_t)(slot + 1);
	b->pending++;
	return idx[0];
}

static void bq_kick(struct bq *b)
{
	struct vq *vq = &b->d->vq[b->q];

	uint16_t now = vq->avail[1], old = b->kicked;
	int kick;

	if (!b->pending)
		return;
	b->pending = 0;
	b->kicked = now;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (b->event_idx) {
		uint16_t ev = *((volatile uint16_t *)vq->used + 2 + 4 * vq->size);
		kick = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		kick = !(*(volatile uint16_t *)vq->used & USED_F_NO_NOTIFY);
	}
	if (kick)
		mmio_write32(b->d->base + R_QNOTIFY, (uint32_t)b->q);
}

/* Next used chain (its descriptors return to the free list): its length, or -1 if none. */
static int64_t bq_reap(struct bq *b, uint16_t *head)
{
	struct vq *vq = &b->d->vq[b->q];
	volatile uint16_t *used_idx = (volatile uint16_t *)vq->used + 1;

	if (*used_idx == vq->last_used)
		return -1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t e = 1 + 2 * (uint32_t)(vq->last_used % vq->size);
	uint16_t id = (uint16_t)(vq->used[e] % vq->size);
	uint32_t len = vq->used[e + 1];
	vq->last_used++;
	if (b->event_idx)
		bq_used_event(b);
	for (uint16_t k = id, n = 0; n < vq->size && b->nfree < VQ_SIZE; n++) {
		uint64_t w = vq->desc[2 * k + 1];
		b->free[b->nfree++] = k;
		if (!((w >> 32) & DESC_NEXT))
			break;
		k = (uint16_t)((w >> 48) % vq->size);
	}
	*head = id;
	return len;
}

static uint64_t hz_param(void)
{
	uint64_t hz = cmdline_num(boot.cmdline, "hz", 100);

	if (!hz)
		uprintf("ERROR bench scenarios need hz > 0\n");
	return hz;
}

/* event_idx=0|1 (default 1): offer to negotiate VIRTIO_F_EVENT_IDX, as Linux does. */
static uint64_t event_idx_param(void)
{
	return cmdline_num(boot.cmdline, "event_idx", 1) ? F_EVENT_IDX : 0;
}

/* dir= parameter: 1 for rx, 0 for tx (the default), -1 (after an ERROR line) otherwise. */
static int dir_param(void)
{
	char v[8];

	if (!cmdline_get(boot.cmdline, "dir", v, sizeof(v)) || !strncmp(v, "tx", sizeof(v)))
		return 0;
	if (!strncmp(v, "rx", sizeof(v)))
		return 1;
	uprintf("ERROR dir must be tx or rx\n");
	return -1;
}

/* Guest -> host: frames= frames of size= bytes, as many in flight as the ring holds. */
static int net_bench_tx(struct vdev *d, const uint8_t mac[6], uint64_t frames, uint32_t size,
			uint64_t hz)
{
	struct bq tx;
	uint8_t *buf = phys(WORK_BASE), *f = buf + NET_HDR;
	uint64_t sent = 0, done = 0, t0, last, stall = (uint64_t)timeout_ms() * hz / 1000 + 1;
	uint16_t id;

	memset(buf, 0, NET_HDR + size);
	memset(f, 0xff, 6); /* broadcast: the host's tap counts it, nothing answers */
	memcpy(f + 6, mac, 6);
	f[12] = ETH_BENCH >> 8;
	f[13] = ETH_BENCH & 0xff;
	bq_init(&tx, d, 1);
	struct vbuf b = {buf, NET_HDR + size, 0};
	uprintf("NET-BENCH-GO\n");
	t0 = last = uticks();
	while (done < frames) {
		while (sent < frames && bq_add(&tx, &b, 1) >= 0)
			sent++;
		bq_kick(&tx);
		int progress = 0;
		while (bq_reap(&tx, &id) >= 0) {
			done++;
			progress = 1;
		}
		uint64_t now = uticks();
		if (progress)
			last = now;
		else if (now - last > stall) {
			uprintf("NET-BENCH-FAIL tx stalled after %lu of %lu frames\n", done,
				frames);
			return -1;
		}
	}
	uprintf("NET-BENCH-OK dir=tx frames=%lu bytes=%lu ticks=%lu hz=%lu\n", done, done * size,
		uticks() - t0, hz);
	return 0;
}

/* Host -> guest: count bench frames for ms= milliseconds from the first one (or frames=). */
static int net_bench_rx(struct vdev *d, uint64_t frames, uint64_t ms, uint64_t hz)
{
	struct bq rx;
	uint8_t *base = phys(WORK_BASE);
	uint64_t n = 0, bytes = 0, other = 0, t0 = 0, window = ms * hz / 1000;
	uint64_t first_by = uticks() + (uint64_t)timeout_ms() * hz / 1000 + 1;
	uint16_t id;

	bq_init(&rx, d, 0);
	while (rx.nfree) {
		struct vbuf b = {base + bq_next(&rx) * NET_STRIDE, NET_RXBUF, 1};
		bq_add(&rx, &b, 1);
	}
	bq_kick(&rx);
	for (;;) {
		int64_t len;
		while ((len = bq_reap(&rx, &id)) >= 0) {
			const uint8_t *f = base + id * NET_STRIDE + NET_HDR;
			if (len >= NET_HDR + 14 && f[12] == ETH_BENCH >> 8 &&
			    f[13] == (ETH_BENCH & 0xff)) {
				if (!n++) {
					uprintf("NET-BENCH-GO\n");
					t0 = uticks();
				}
				bytes += (uint64_t)len - NET_HDR;
			} else {
				other++;
			}
			struct vbuf b = {base + bq_next(&rx) * NET_STRIDE, NET_RXBUF, 1};
			bq_add(&rx, &b, 1);
		}
		bq_kick(&rx);
		uint64_t now = uticks();
		if (n && (now - t0 >= window || n >= frames))
			break;
		if (!n && now > first_by) {
			uprintf("NET-BENCH-FAIL rx no bench frame (other frames: %lu)\n", other);
			return -1;
		}
	}
	uprintf("NET-BENCH-OK dir=rx frames=%lu bytes=%lu ticks=%lu hz=%lu\n", n, bytes,
		uticks() - t0, hz);
	return 0;
}

/*
 * net-bench dir=tx|rx [frames=] [size=] [ms=]: guest-timed virtio-net throughput. tx sends
 * frames= (100000) broadcast frames of size= (1514) bytes, ethertype 0x88b5; rx counts such
 * frames from the host for ms= (2000) milliseconds after the first one, or frames= of them.
 */
int scenario_net_bench(void)
{
	struct vdev d;
	uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	uint64_t hz = hz_param(), size = cmdline_num(boot.cmdline, "size", 1514);
	int dir = dir_param();

	if (!hz || dir < 0)
		return -1;
	if (size < 60 || size > NET_RXBUF - NET_HDR) {
		uprintf("ERROR size must be 60..%u\n", NET_RXBUF - NET_HDR);
		return -1;
	}
	if (vdev_open(&d, VIRTIO_ID_NET, 1ULL << 5 | event_idx_param(), 2))
		return -1;
	if (d.features & (1ULL << 5)) {
		uint32_t lo = vdev_cfg32(&d, 0), hi = vdev_cfg32(&d, 4);
		for (int i = 0; i < 4; i++)
			mac[i] = (uint8_t)(lo >> 8 * i);
		mac[4] = (uint8_t)hi;
		mac[5] = (uint8_t)(hi >> 8);
	}
	uprintf("NET-BENCH dir=%s size=%lu event_idx=%d mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
		dir ? "rx" : "tx", size, !!(d.features & F_EVENT_IDX), mac[0], mac[1], mac[2],
		mac[3], mac[4], mac[5]);
	if (dir)
		return net_bench_rx(&d, cmdline_num(boot.cmdline, "frames", ~0ULL),
				    cmdline_num(boot.cmdline, "ms", 2000), hz);
	return net_bench_tx(&d, mac, cmdline_num(boot.cmdline, "frames", 100000), (uint32_t)size,
			    hz);
}

struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct vs {
	struct vdev d;
	struct bq rx, tx;
	uint64_t cid, peer_cid;
	uint32_t port, peer_port, chunk;
	uint32_t peer_buf_alloc, peer_fwd_cnt, fwd_cnt, fwd_told;
	uint64_t tx_cnt, rx_bytes, t0;
	int connected, closed;
	struct vs_hdr *txh; /* one header per tx descriptor (indexed by head) */
	uint8_t *rxbuf;	    /* VQ_SIZE buffers of NET_STRIDE: header + up to chunk bytes */
};

static void vs_post_rx(struct vs *v)
{
	while (v->rx.nfree) {
		struct vbuf b = {v->rxbuf + bq_next(&v->rx) * NET_STRIDE,
				 (uint32_t)sizeof(struct vs_hdr) + v->chunk, 1};
		bq_add(&v->rx, &b, 1);
	}
	bq_kick(&v->rx);
}

/* Reclaim finished tx chains; 1 if any. */
static int vs_reap_tx(struct vs *v)
{
	uint16_t id;
	int any = 0;

	while (bq_reap(&v->tx, &id) >= 0)
		any = 1;
	return any;
}

/* Queue one packet (len bytes from the shared tx data buffer); -1 if the ring is full. */
static int vs_add(struct vs *v, uint16_t op, uint32_t flags, uint32_t len)
{
	if (v->tx.nfree < (len ? 2 : 1))
		return -1;
	struct vs_hdr *h = &v->txh[bq_next(&v->tx)];
	*h = (struct vs_hdr){v->cid, v->peer_cid, v->port, v->peer_port, len,
			     1,	     op,	  flags,   VS_BUF_ALLOC, v->fwd_cnt};
	struct vbuf b[2] = {{h, sizeof(*h), 0}, {phys(VS_TXDATA), len, 0}};
	v->fwd_told = v->fwd_cnt;
	return bq_add(&v->tx, b, len ? 2 : 1) < 0 ? -1 : 0;
}

/* Send a control packet now, waiting for a free descriptor if needed. */
static int vs_ctl(struct vs *v, uint16_t op, uint32_t flags)
{
	uint64_t end = uticks() + (uint64_t)timeout_ms() * hz_param() / 1000 + 1;

	while (vs_add(v, op, flags, 0) < 0) {
		if (!vs_reap_tx(v) && uticks() > end) {
			uprintf("ERROR vsock tx ring stuck\n");
			return -1;
		}
	}
	bq_kick(&v->tx);
	return 0;
}

/* Handle every received packet; 1 if any arrived. */
static int vs_poll_rx(struct vs *v)
{
	uint16_t id;
	int any = 0;

	while (bq_reap(&v->rx, &id) >= 0) {
		const struct vs_hdr *h = (const struct vs_hdr *)(v->rxbuf + id * NET_STRIDE);
		any = 1;
		if (h->dst_port != v->port || h->src_port != v->peer_port)
			continue;
		v->peer_buf_alloc = h->buf_alloc;
		v->peer_fwd_cnt = h->fwd_cnt;
		if (h->op == VS_OP_RESPONSE) {
			v->connected = 1;
		} else if (h->op == VS_OP_RW) {
			if (!v->rx_bytes) {
				uprintf("VSOCK-BENCH-GO\n");
				v->t0 = uticks();
			}
			v->rx_bytes += h->len;
			v->fwd_cnt += h->len;
		} else if (h->op == VS_OP_CREDIT_REQUEST) {
			vs_ctl(v, VS_OP_CREDIT_UPDATE, 0);
		} else if (h->op == VS_OP_RST || h->op == VS_OP_SHUTDOWN) {
			v->closed = 1;
		}
	}
	if (any)
		vs_post_rx(v);
	if (v->fwd_cnt - v->fwd_told >= VS_BUF_ALLOC / 4)
		vs_ctl(v, VS_OP_CREDIT_UPDATE, 0);
	return any;
}

/* Guest -> host: bytes in chunk-sized packets within the peer's credit, until the peer's
 * fwd_cnt says it has all of them. */
static int vs_send(struct vs *v, uint64_t bytes, uint64_t hz)
{
	uint64_t sent = 0, last = uticks(), asked = 0, stall = (uint64_t)timeout_ms() * hz / 1000;

	while (!v->closed) {
		int progress = vs_reap_tx(v) | vs_poll_rx(v);
		uint32_t credit = v->peer_buf_alloc - (uint32_t)(v->tx_cnt - v->peer_fwd_cnt);
		if (credit > v->peer_buf_alloc)
			credit = 0;
		while (sent < bytes && credit && v->tx.nfree >= 2) {
			uint32_t n = v->chunk;
			if (n > bytes - sent)
				n = (uint32_t)(bytes - sent);
			if (n > credit)
				n = credit;
			vs_add(v, VS_OP_RW, 0, n);
			sent += n;
			v->tx_cnt += n;
			credit -= n;
			progress = 1;
		}
		bq_kick(&v->tx);
		uint64_t now = uticks();
		if (sent == bytes && v->peer_fwd_cnt == (uint32_t)v->tx_cnt)
			return 0;
		if (progress)
			last = now;
		/* Out of credit or waiting for the final count: ask every 20 ms. */
		if ((sent == bytes || !credit) && now - last > hz / 50 && now - asked > hz / 50) {
			vs_ctl(v, VS_OP_CREDIT_REQUEST, 0);
			asked = now;
		}
		if (now - last > stall) {
			uprintf("VSOCK-BENCH-FAIL tx stalled: sent=%lu acked=%u credit=%u\n", sent,
				v->peer_fwd_cnt, credit);
			return -1;
		}
	}
	uprintf("VSOCK-BENCH-FAIL peer closed after %lu bytes acked\n", (uint64_t)v->peer_fwd_cnt);
	return -1;
}

/* Host -> guest: count bytes until there are at least bytes of them (or the peer closes). */
static int vs_recv(struct vs *v, uint64_t bytes, uint64_t hz)
{
	uint64_t last = uticks(), stall = (uint64_t)timeout_ms() * hz / 1000;

	while (v->rx_bytes < bytes && !v->closed) {
		vs_reap_tx(v);
		uint64_t now = uticks();
		if (vs_poll_rx(v))
			last = now;
		else if (now - last > stall) {
			uprintf("VSOCK-BENCH-FAIL rx stalled after %lu bytes\n", v->rx_bytes);
			return -1;
		}
	}
	if (v->rx_bytes < bytes)
		uprintf("VSOCK-BENCH-WARN peer closed after %lu of %lu bytes\n", v->rx_bytes,
			bytes);
	return v->rx_bytes ? 0 : -1;
}

/*
 * vsock-bench dir=tx|rx [bytes=] [chunk=] [port=] [cid=] [lport=]: connect to cid:port, then
 * stream bytes= (16 MiB) to the host in chunk= (65536) byte packets (tx), or count what the
 * host sends until bytes= arrived (rx, rx buffers of chunk= bytes), guest-timed.
 */
int scenario_vsock_bench(void)
{
	static struct vs v;
	uint64_t hz = hz_param(), bytes = cmdline_num(boot.cmdline, "bytes", 16 << 20);
	int dir = dir_param();

	if (!hz || dir < 0)
		return -1;
	v.chunk = (uint32_t)cmdline_num(boot.cmdline, "chunk", VS_MAX_CHUNK);
	if (!v.chunk || v.chunk > VS_MAX_CHUNK) {
		uprintf("ERROR chunk must be 1..%u\n", VS_MAX_CHUNK);
		return -1;
	}
	if (vdev_open(&v.d, VIRTIO_ID_VSOCK, event_idx_param(), 3))
		return -1;
	bq_init(&v.rx, &v.d, 0);
	bq_init(&v.tx, &v.d, 1);
	v.cid = vdev_cfg32(&v.d, 0) | (uint64_t)vdev_cfg32(&v.d, 4) << 32;
	v.peer_cid = cmdline_num(boot.cmdline, "cid", 2);
	v.port = (uint32_t)cmdline_num(boot.cmdline, "lport", 49152);
	v.peer_port = (uint32_t)cmdline_num(boot.cmdline, "port", 52);
	v.txh = dma_alloc(VQ_SIZE * sizeof(struct vs_hdr));
	v.rxbuf = phys(WORK_BASE);
	memset(phys(VS_TXDATA), 0x5a, VS_MAX_CHUNK);
	vs_post_rx(&v);
	uprintf("VSOCK-BENCH dir=%s event_idx=%d guest_cid=%lu connecting to %lu:%u\n",
		dir ? "rx" : "tx", !!(v.d.features & F_EVENT_IDX), v.cid, v.peer_cid, v.peer_port);
	uint64_t end = uticks() + (uint64_t)timeout_ms() * hz / 1000 + 1;
	if (vs_ctl(&v, VS_OP_REQUEST, 0))
		return -1;
	while (!v.connected && !v.closed && uticks() <= end)
		vs_poll_rx(&v);
	if (!v.connected) {
		uprintf("VSOCK-BENCH-FAIL no connection (%s)\n", v.closed ? "reset" : "timeout");
		return -1;
	}
	if (!dir) { /* rx: the clock starts with the first data packet (vs_poll_rx) */
		uprintf("VSOCK-BENCH-GO\n");
		v.t0 = uticks();
	}
	int rc = dir ? vs_recv(&v, bytes, hz) : vs_send(&v, bytes, hz);
	uint64_t t1 = uticks();
	if (!rc)
		uprintf("VSOCK-BENCH-OK dir=%s bytes=%lu ticks=%lu hz=%lu\n", dir ? "rx" : "tx",
			dir ? v.rx_bytes : v.tx_cnt, t1 - v.t0, hz);
	vs_ctl(&v, VS_OP_SHUTDOWN, 3);
	for (end = uticks() + hz / 2 + 1; !v.closed && uticks() <= end;)
		vs_poll_rx(&v);
	return rc;
}
