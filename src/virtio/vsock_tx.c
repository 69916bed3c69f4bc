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

/* Tell the guest how much we consumed once half the buffer has drained. */
static void conn_maybe_credit(struct vvsock *v, struct vconn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_BUF_ALLOC / 2)
		vsock_ctrl_conn(v, c, VSOCK_OP_CREDIT_UPDATE, 0);
}

bool vsock_conn_flush(struct vvsock *v, struct vconn *c)
{
	size_t off = 0;
	while (off < c->pend_len) {
		ssize_t w = send(c->fd, c->pend + off, c->pend_len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0) {
			vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
			vsock_conn_close(v, c);
			return false;
		}
		off += (size_t)w;
	}
	memmove(c->pend, c->pend + off, c->pend_len - off);
	c->pend_len -= off;
	c->fwd_cnt += (uint32_t)off;
	conn_maybe_credit(v, c);
	return true;
}

/* Guest data for c: append to the pending buffer (bounded by the credit we granted). */
static void conn_data(struct vvsock *v, struct vconn *c, const uint8_t *p, uint32_t len)
{
	if (c->pend_len + len > VSOCK_BUF_ALLOC) {
		LOG_WARNING("virtio-vsock: guest overran its credit on port %u", c->guest_port);
		vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
		vsock_conn_close(v, c);
		return;
	}
	if (!c->pend) {
		c->pend = malloc(VSOCK_BUF_ALLOC);
		if (!c->pend) {
			vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
			vsock_conn_close(v, c);
			return;
		}
	}
	memcpy(c->pend + c->pend_len, p, len);
	c->pend_len += len;
	vsock_conn_flush(v, c);
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

/* One packet from the guest (header decoded, payload at p of h->len bytes). */
static void vsock_packet(struct vvsock *v, const struct vsock_hdr *h, const uint8_t *p)
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
	case VSOCK_OP_RESPONSE: {
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
		if (c->state != VCONN_HOST_REQ || send(c->fd, ok, (size_t)n, MSG_NOSIGNAL) != n) {
			vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
			vsock_conn_close(v, c);
			break;
		}
		c->state = VCONN_ESTABLISHED;
		c->readable = true;
		break;
	}
	case VSOCK_OP_RW:
		if (c->state == VCONN_ESTABLISHED && h->len)
			conn_data(v, c, p, h->len);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
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
		bool ok = e->out_len >= VSOCK_HDR_LEN &&
			  virtq_elem_read(q, e, 0, v->buf, VSOCK_HDR_LEN) == VSOCK_HDR_LEN;
		if (ok) {
			vsock_hdr_decode(v->buf, &h);
			ok = h.len <= VSOCK_MAX_PAYLOAD && h.len <= e->out_len - VSOCK_HDR_LEN &&
			     virtq_elem_read(q, e, VSOCK_HDR_LEN, v->buf + VSOCK_HDR_LEN, h.len) ==
				 (int64_t)h.len;
		}
		if (ok)
			vsock_packet(v, &h, v->buf + VSOCK_HDR_LEN);
		else
			LOG_WARNING("virtio-vsock: malformed tx packet dropped");
		virtq_push(q, e->head, 0);
		any = true;
	}
	if (any)
		vdev_signal_used(&v->vd, VSOCK_TXQ);
}
