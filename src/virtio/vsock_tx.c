/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock guest packets: connection requests, data, credit, shutdown and reset. */
#include "virtio/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void vsock_conn_maybe_credit(struct vvsock *v, struct vconn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_BUF_ALLOC / 2)
		vsock_ctrl_conn(v, c, VSOCK_OP_CREDIT_UPDATE, 0);
}

static void conn_reset(struct vvsock *v, struct vconn *c)
{
	vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
	vsock_conn_close(v, c);
}

/* One non-blocking send of iov; bytes accepted (0 when the socket is full) or -1 on error. */
static ssize_t sock_send(int fd, const struct iovec *iov, size_t n)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
	for (;;) {
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return w;
	}
}

bool vsock_conn_flush(struct vvsock *v, struct vconn *c)
{
	size_t off = 0;
	while (off < c->pend_len) {
		struct iovec iov = {c->pend + off, c->pend_len - off};
		ssize_t w = sock_send(c->fd, &iov, 1);
		if (w < 0) {
			conn_reset(v, c);
			return false;
		}
		if (w == 0)
			break;
		off += (size_t)w;
	}
	memmove(c->pend, c->pend + off, c->pend_len - off);
	c->pend_len -= off;
	c->fwd_cnt += (uint32_t)off;
	vsock_conn_maybe_credit(v, c);
	if (!c->pend_len && vsock_conn_watch_out(v, c, false)) {
		conn_reset(v, c);
		return false;
	}
	return true;
}

/* Copy len bytes of iov, starting skip bytes in, to dst. */
static void iov_gather(const struct iovec *iov, int n, size_t skip, uint8_t *dst, size_t len)
{
	for (int i = 0; i < n && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - skip;
		k = k < len ? k : len;
		memcpy(dst, (const uint8_t *)iov[i].iov_base + skip, k);
		dst += k;
		len -= k;
		skip = 0;
	}
}

/* Guest data for c (len bytes in the guest buffers iov[0..n)): sent straight from guest
 * memory when nothing is pending; what the socket does not take (or everything, behind
 * earlier pending data) is kept in the pending buffer, bounded by the credit we granted.
 * fwd_cnt counts only bytes the socket accepted. */
static void conn_data(struct vvsock *v, struct vconn *c, const struct iovec *iov, int n,
		      uint32_t len)
{
	if (c->pend_len + len > VSOCK_BUF_ALLOC) {
		LOG_WARNING("virtio-vsock: guest overran its credit on port %u", c->guest_port);
		conn_reset(v, c);
		return;
	}
	size_t sent = 0;
	if (!c->pend_len) {
		ssize_t w = sock_send(c->fd, iov, (size_t)n);
		if (w < 0) {
			conn_reset(v, c);
			return;
		}
		sent = (size_t)w;
		c->fwd_cnt += (uint32_t)sent;
	}
	if (sent == len)
		return;
	if (!c->pend && !(c->pend = malloc(VSOCK_BUF_ALLOC))) {
		conn_reset(v, c);
		return;
	}
	bool had_pending = c->pend_len != 0;
	iov_gather(iov, n, sent, c->pend + c->pend_len, len - sent);
	c->pend_len += len - sent;
	if (had_pending)
		vsock_conn_flush(v, c);
	else if (vsock_conn_watch_out(v, c, true))
		conn_reset(v, c);
}

/* Guest-initiated: connect to <uds_path>_<port>. */
static void conn_guest_request(struct vvsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->cfg.uds_path, h->dst_port);
	int fd = -1;
	if (n > 0 && (size_t)n < sizeof(sa.sun_path))
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	struct vconn *c = NULL;
	if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		c = vsock_conn_new(v, fd, VCONN_ESTABLISHED);
	if (!c) {
		vsock_ctrl_raw(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vsock_ctrl_conn(v, c, VSOCK_OP_RESPONSE, 0);
}

/* The guest accepted a host-initiated connection: tell the host client "OK <port>\n". */
static void conn_response(struct vvsock *v, struct vconn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
	if (c->state != VCONN_HOST_REQ || send(c->fd, ok, (size_t)n, MSG_NOSIGNAL) != n) {
		conn_reset(v, c);
		return;
	}
	c->state = VCONN_ESTABLISHED;
	c->readable = true;
}

/* One packet from the guest (header decoded, payload of h->len bytes in guest buffers iov). */
static void vsock_packet(struct vvsock *v, const struct vsock_hdr *h, const struct iovec *iov,
			 int niov)
{
	if (h->type != VSOCK_TYPE_STREAM || h->dst_cid != VSOCK_HOST_CID ||
	    h->src_cid != v->cfg.guest_cid) {
		if (h->op != VSOCK_OP_RST)
			vsock_ctrl_raw(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	struct vconn *c = vsock_conn_find(v, h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VSOCK_OP_REQUEST)
			conn_guest_request(v, h);
		else if (h->op != VSOCK_OP_RST)
			vsock_ctrl_raw(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		conn_response(v, c);
		break;
	case VSOCK_OP_RW:
		if (c->state == VCONN_ESTABLISHED && h->len)
			conn_data(v, c, iov, niov, h->len);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		/* Retry pending data first: a guest out of credit must not wait on a lost edge. */
		if (!c->pend_len || vsock_conn_flush(v, c))
			vsock_ctrl_conn(v, c, VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* credit already taken from the header */
	case VSOCK_OP_SHUTDOWN:
		if ((h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
		    (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
			vsock_conn_close(v, c);
		} else if ((h->flags & VSOCK_SHUTDOWN_SEND) && !c->pend_len) {
			shutdown(c->fd, SHUT_WR);
		}
		break;
	case VSOCK_OP_RST:
		vsock_conn_close(v, c);
		break;
	default:
		vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
		vsock_conn_close(v, c);
		break;
	}
}

/* Validate a popped chain and map its payload: header decoded into *h, the payload's guest
 * buffers into v->iov. Returns the iovec count (0 for no payload) or -1 if malformed. */
static int tx_parse(struct vvsock *v, struct vsock_hdr *h)
{
	struct virtq *q = &v->vd.q[VSOCK_TXQ];
	struct virtq_elem *e = &v->vd.elem;
	uint8_t hb[VSOCK_HDR_LEN];
	if (e->out_len < VSOCK_HDR_LEN ||
	    virtq_elem_read(q, e, 0, hb, VSOCK_HDR_LEN) != VSOCK_HDR_LEN)
		return -1;
	vsock_hdr_decode(hb, h);
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > e->out_len - VSOCK_HDR_LEN)
		return -1;
	if (!h->len)
		return 0;
	int n = virtq_elem_iov(q, e, false, VSOCK_HDR_LEN, h->len, v->iov, VIRTQ_MAX_SIZE);
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += v->iov[i].iov_len;
	return n > 0 && total == h->len ? n : -1;
}

/* Advertise our fwd_cnt once per TX batch rather than once per packet. */
static void tx_credit_all(struct vvsock *v)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state == VCONN_ESTABLISHED)
			vsock_conn_maybe_credit(v, &v->conn[i]);
}

void vsock_tx(struct vvsock *v)
{
	struct virtq *q = &v->vd.q[VSOCK_TXQ];
	struct virtq_elem *e = &v->vd.elem;
	bool any = false;
	for (;;) {
		int rc = virtq_pop(q, e);
		if (rc < 0) {
			vdev_fail(&v->vd, "vsock tx queue malformed");
			break;
		}
		if (rc == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		struct vsock_hdr h;
		int n = tx_parse(v, &h);
		if (n >= 0)
			vsock_packet(v, &h, v->iov, n);
		else
			LOG_WARNING("virtio-vsock: malformed tx packet dropped");
		virtq_push(q, e->head, 0);
		any = true;
	}
	if (any) {
		tx_credit_all(v);
		vdev_signal_used(&v->vd, VSOCK_TXQ);
	}
}
