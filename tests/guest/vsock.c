// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ring-3 virtio-vsock scenario, a stream connection that expects an echo. */
#include "virtio.h"

#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define NRX 4		    /* rx chains posted at a time */
#define NSLOT (VQ_SIZE / 2) /* rx buffers: one per possible 2-descriptor chain position */
#define RXDATA 4096
#define BUF_ALLOC 65536

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

struct conn {
	struct vdev d;
	uint64_t cid, peer_cid;
	uint32_t port, peer_port, fwd_cnt;
	struct vsock_hdr *rxh; /* NSLOT headers */
	uint8_t *rxd;	       /* NSLOT data buffers */
	struct vsock_hdr *txh;
	uint8_t *txd;
};

/* Rx chains are [header][data], two descriptors each: slot = head descriptor / 2. */
static void post_rx(struct conn *c)
{
	int slot = (c->d.vq[0].next_desc % c->d.vq[0].size) / 2;
	struct vbuf b[2] = {{&c->rxh[slot], sizeof(struct vsock_hdr), 1},
			    {c->rxd + slot * RXDATA, RXDATA, 1}};

	vq_post(&c->d, 0, b, 2);
}

static int send_pkt(struct conn *c, uint16_t op, uint32_t flags, const char *data, uint32_t len)
{
	struct vsock_hdr *h = c->txh;
	struct vbuf b[2] = {{h, sizeof(*h), 0}, {c->txd, len, 0}};

	memset(h, 0, sizeof(*h));
	h->src_cid = c->cid;
	h->dst_cid = c->peer_cid;
	h->src_port = c->port;
	h->dst_port = c->peer_port;
	h->len = len;
	h->type = 1; /* stream */
	h->op = op;
	h->flags = flags;
	h->buf_alloc = BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	if ((const uint8_t *)data != c->txd)
		memcpy(c->txd, data, len);
	if (vq_xfer(&c->d, 1, b, len ? 2 : 1) < 0) {
		uprintf("ERROR vsock tx op %u timed out\n", op);
		return -1;
	}
	return 0;
}

static uint8_t payload[RXDATA];

/* Wait for the next packet to our port; copies it out and reposts the buffer.
 * Returns 0, or -1 on timeout. */
static int recv_pkt(struct conn *c, struct vsock_hdr *h, uint32_t ms)
{
	for (;;) {
		uint16_t id;
		if (vq_wait(&c->d, 0, ms, &id) < 0)
			return -1;
		int s = (id % c->d.vq[0].size) / 2;
		*h = c->rxh[s];
		memcpy(payload, c->rxd + s * RXDATA, h->len < RXDATA ? h->len : RXDATA);
		post_rx(c);
		if (h->dst_port == c->port)
			return 0;
	}
}

/* Print received stream data as one line (first 64 bytes, newlines dropped). */
static void print_rx(const struct vsock_hdr *h)
{
	char text[65];
	uint32_t n = h->len < 64 ? h->len : 64, k = 0;

	for (uint32_t i = 0; i < n; i++)
		if (payload[i] != '\n' && payload[i] != '\r')
			text[k++] = (char)payload[i];
	text[k] = 0;
	uprintf("VSOCK-RX %u bytes: %s\n", h->len, text);
}

static int vsock_open(struct conn *c)
{
	if (vdev_open(&c->d, VIRTIO_ID_VSOCK, 0, 3))
		return -1;
	c->cid = vdev_cfg32(&c->d, 0) | (uint64_t)vdev_cfg32(&c->d, 4) << 32;
	c->fwd_cnt = 0;
	c->rxh = dma_alloc(NSLOT * sizeof(struct vsock_hdr));
	c->rxd = dma_alloc(NSLOT * RXDATA);
	c->txh = dma_alloc(sizeof(struct vsock_hdr));
	c->txd = dma_alloc(RXDATA);
	for (int i = 0; i < NRX; i++)
		post_rx(c);
	return 0;
}

/* vsock port=<p> [cid=2]: connect to the host, send a line, expect it echoed, shut down. */
int scenario_vsock(void)
{
	static const char msg[] = "squib-vsock-ping\n";
	struct conn c;
	struct vsock_hdr h;
	uint32_t echoed = 0;
	int connected = 0;

	if (vsock_open(&c))
		return -1;
	c.peer_cid = cmdline_num(boot.cmdline, "cid", 2);
	c.port = (uint32_t)cmdline_num(boot.cmdline, "lport", 49152);
	c.peer_port = (uint32_t)cmdline_num(boot.cmdline, "port", 52);
	uprintf("VSOCK guest_cid=%lu connecting to %lu:%u\n", c.cid, c.peer_cid, c.peer_port);
	if (send_pkt(&c, OP_REQUEST, 0, "", 0))
		return -1;
	for (;;) {
		if (recv_pkt(&c, &h, timeout_ms())) {
			uprintf("VSOCK-FAIL timeout (connected=%d echoed=%u)\n", connected, echoed);
			return -1;
		}
		switch (h.op) {
		case OP_RESPONSE:
			connected = 1;
			uprintf("VSOCK-CONNECTED\n");
			if (send_pkt(&c, OP_RW, 0, msg, sizeof(msg) - 1))
				return -1;
			break;
		case OP_RW:
			c.fwd_cnt += h.len;
			echoed += h.len;
			print_rx(&h);
			if (echoed >= sizeof(msg) - 1) {
				send_pkt(&c, OP_SHUTDOWN, 3, "", 0);
				uprintf("VSOCK-OK\n");
				return 0;
			}
			break;
		case OP_CREDIT_REQUEST:
			send_pkt(&c, OP_CREDIT_UPDATE, 0, "", 0);
			break;
		case OP_CREDIT_UPDATE:
			break;
		case OP_RST:
		case OP_SHUTDOWN:
			uprintf("VSOCK-FAIL %s from peer (connected=%d)\n",
				h.op == OP_RST ? "rst" : "shutdown", connected);
			if (h.op == OP_SHUTDOWN)
				send_pkt(&c, OP_RST, 0, "", 0);
			return -1;
		default:
			uprintf("VSOCK-WARN unexpected op %u\n", h.op);
		}
	}
}

/*
 * vsock-listen port=<p> [conns=1]: accept host-initiated connections to port p (one at a
 * time), echo every byte back, and finish after conns connections were closed by the peer.
 */
int scenario_vsock_listen(void)
{
	struct conn c;
	struct vsock_hdr h;
	uint64_t conns = cmdline_num(boot.cmdline, "conns", 1), closed = 0;
	uint32_t echoed = 0;

	if (vsock_open(&c))
		return -1;
	c.port = (uint32_t)cmdline_num(boot.cmdline, "port", 52);
	uprintf("VSOCK-LISTEN guest_cid=%lu port=%u\n", c.cid, c.port);
	while (closed < conns) {
		if (recv_pkt(&c, &h, 60000))
			continue; /* no deadline: the host connects when it wants */
		c.peer_cid = h.src_cid;
		c.peer_port = h.src_port;
		switch (h.op) {
		case OP_REQUEST:
			c.fwd_cnt = 0;
			echoed = 0;
			send_pkt(&c, OP_RESPONSE, 0, "", 0);
			uprintf("VSOCK-ACCEPTED from %lu:%u\n", c.peer_cid, c.peer_port);
			break;
		case OP_RW:
			c.fwd_cnt += h.len;
			print_rx(&h);
			send_pkt(&c, OP_RW, 0, (const char *)payload,
				 h.len < RXDATA ? h.len : RXDATA);
			echoed += h.len;
			break;
		case OP_CREDIT_REQUEST:
			send_pkt(&c, OP_CREDIT_UPDATE, 0, "", 0);
			break;
		case OP_CREDIT_UPDATE:
			break;
		case OP_SHUTDOWN:
		case OP_RST:
			if (h.op == OP_SHUTDOWN)
				send_pkt(&c, OP_RST, 0, "", 0);
			uprintf("VSOCK-CLOSED echoed=%u\n", echoed);
			closed++;
			break;
		default:
			uprintf("VSOCK-WARN unexpected op %u\n", h.op);
		}
	}
	uprintf("VSOCK-OK\n");
	return 0;
}
