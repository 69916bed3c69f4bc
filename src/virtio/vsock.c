/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock with Firecracker's Unix-socket bridge (CONNECT <port> / <uds_path>_<port>). */
#include "virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void hdr_encode(const struct vsock_hdr *h, uint8_t *b)
{
	uint64_t q[2] = {htole64(h->src_cid), htole64(h->dst_cid)};
	uint32_t d[3] = {htole32(h->src_port), htole32(h->dst_port), htole32(h->len)};
	uint16_t w[2] = {htole16(h->type), htole16(h->op)};
	uint32_t e[3] = {htole32(h->flags), htole32(h->buf_alloc), htole32(h->fwd_cnt)};
	memcpy(b, q, 16);
	memcpy(b + 16, d, 12);
	memcpy(b + 28, w, 4);
	memcpy(b + 32, e, 12);
}

void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h)
{
	uint64_t q[2];
	uint32_t d[3], e[3];
	uint16_t w[2];
	memcpy(q, b, 16);
	memcpy(d, b + 16, 12);
	memcpy(w, b + 28, 4);
	memcpy(e, b + 32, 12);
	h->src_cid = le64toh(q[0]);
	h->dst_cid = le64toh(q[1]);
	h->src_port = le32toh(d[0]);
	h->dst_port = le32toh(d[1]);
	h->len = le32toh(d[2]);
	h->type = le16toh(w[0]);
	h->op = le16toh(w[1]);
	h->flags = le32toh(e[0]);
	h->buf_alloc = le32toh(e[1]);
	h->fwd_cnt = le32toh(e[2]);
}

void vsock_ctrl_raw(struct vvsock *v, uint32_t host_port, uint32_t guest_port, uint16_t op,
		    uint32_t flags, uint32_t fwd_cnt)
{
	if (v->n_ctrl >= VSOCK_MAX_CTRL) {
		LOG_WARNING("virtio-vsock: control queue full, dropping op %u", op);
		return;
	}
	v->ctrl[v->n_ctrl++].h = (struct vsock_hdr){.src_cid = VSOCK_HOST_CID,
						    .dst_cid = v->cfg.guest_cid,
						    .src_port = host_port,
						    .dst_port = guest_port,
						    .type = VSOCK_TYPE_STREAM,
						    .op = op,
						    .flags = flags,
						    .buf_alloc = VSOCK_BUF_ALLOC,
						    .fwd_cnt = fwd_cnt};
}

void vsock_ctrl_conn(struct vvsock *v, struct vconn *c, uint16_t op, uint32_t flags)
{
	vsock_ctrl_raw(v, c->host_port, c->guest_port, op, flags, c->fwd_cnt);
	c->fwd_cnt_told = c->fwd_cnt;
}

void vsock_conn_close(struct vvsock *v, struct vconn *c)
{
	if (c->fd >= 0) {
		if (v->vd.env.loop)
			evloop_del(v->vd.env.loop, c->fd);
		close(c->fd);
	}
	free(c->pend);
	struct vvsock *owner = c->owner;
	memset(c, 0, sizeof(*c));
	c->owner = owner;
	c->fd = -1;
}

struct vconn *vsock_conn_find(struct vvsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];
		if (c->state > VCONN_HOST_CMD && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

bool vsock_port_in_use(struct vvsock *v, uint32_t port)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state > VCONN_HOST_CMD && v->conn[i].host_port == port)
			return true;
	return false;
}

static void conn_cb(void *arg, uint32_t events);

struct vconn *vsock_conn_new(struct vvsock *v, int fd, enum vconn_state st)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];
		if (c->state != VCONN_FREE)
			continue;
		if (v->vd.env.loop && evloop_add(v->vd.env.loop, fd, EPOLLIN | EPOLLET, conn_cb, c))
			break;
		memset(c, 0, sizeof(*c));
		c->owner = v;
		c->fd = fd;
		c->state = st;
		c->readable = true;
		return c;
	}
	LOG_WARNING("virtio-vsock: connection table full");
	close(fd);
	return NULL;
}

int vsock_conn_watch_out(struct vvsock *v, struct vconn *c, bool out)
{
	if (c->watch_out == out)
		return 0;
	c->watch_out = out;
	if (!v->vd.env.loop)
		return 0;
	/* EPOLL_CTL_MOD re-evaluates readiness, so no edge is lost in between. */
	return evloop_mod(v->vd.env.loop, c->fd, EPOLLIN | EPOLLET | (out ? EPOLLOUT : 0));
}

/* Credit the guest still grants us for host->guest data. */
static uint32_t conn_credit(const struct vconn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Complete the popped RX chain: header at offset 0, payload (already in place) after it. */
static int rx_put(struct vvsock *v, const struct vsock_hdr *h, size_t payload)
{
	struct virtq *q = &v->vd.q[VSOCK_RXQ];
	uint8_t hb[VSOCK_HDR_LEN];
	hdr_encode(h, hb);
	if (virtq_elem_write(q, &v->vd.elem, 0, hb, VSOCK_HDR_LEN) != VSOCK_HDR_LEN)
		return -EFAULT;
	return virtq_push(q, v->vd.elem.head, (uint32_t)(VSOCK_HDR_LEN + payload));
}

/* Pop an RX chain able to hold a header; 1 ok, 0 none, <0 device failed. */
static int rx_pop(struct vvsock *v)
{
	struct virtq *q = &v->vd.q[VSOCK_RXQ];
	int rc = virtq_pop(q, &v->vd.elem);
	if (rc > 0 && v->vd.elem.in_len < VSOCK_HDR_LEN)
		rc = -EINVAL;
	if (rc < 0)
		vdev_fail(&v->vd, "vsock rx buffer malformed");
	return rc;
}

/* readv from c's socket straight into the popped chain after the header room (one copy).
 * Returns bytes read, 0 at EOF, -errno on error or -ENOSPC when there is no room/credit. A
 * short read means the socket is drained: c->readable is cleared (the next byte that
 * arrives raises a new edge), which saves the readv that would only return EAGAIN. */
static ssize_t rx_read(struct vvsock *v, struct vconn *c)
{
	uint64_t room = v->vd.elem.in_len - VSOCK_HDR_LEN;
	uint64_t cap = conn_credit(c);
	cap = cap < room ? cap : room;
	cap = cap < VSOCK_MAX_PAYLOAD ? cap : VSOCK_MAX_PAYLOAD;
	if (!cap)
		return -ENOSPC;
	int n = virtq_elem_iov(&v->vd.q[VSOCK_RXQ], &v->vd.elem, true, VSOCK_HDR_LEN, cap, v->iov,
			       VIRTQ_MAX_SIZE);
	if (n <= 0)
		return -EFAULT;
	ssize_t r = readv(c->fd, v->iov, n);
	if (r > 0 && (uint64_t)r < cap)
		c->readable = false;
	return r < 0 ? -errno : r;
}

/* Read host data for c into a popped RX chain. 1 if a packet was queued, 0 if not, -1 if
 * the RX ring cannot take c's data now (stop filling). */
static int rx_data(struct vvsock *v, struct vconn *c)
{
	ssize_t r = rx_read(v, c);
	if (r > 0) {
		struct vsock_hdr h = {
		    VSOCK_HOST_CID,  v->cfg.guest_cid,	c->host_port, c->guest_port,
		    (uint32_t)r,     VSOCK_TYPE_STREAM, VSOCK_OP_RW,  0,
		    VSOCK_BUF_ALLOC, c->fwd_cnt};
		c->fwd_cnt_told = c->fwd_cnt;
		c->rx_cnt += (uint32_t)r;
		return rx_put(v, &h, (size_t)r) == 0;
	}
	virtq_unpop(&v->vd.q[VSOCK_RXQ], 1);
	if (r == -ENOSPC || r == -EFAULT) {
		return -1; /* a header-only buffer at the head of the ring: wait for the guest */
	} else if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR) {
		c->readable = r == -EINTR;
	} else if (r == 0) {
		c->readable = false;
		c->state = VCONN_CLOSING;
		c->closing_since_us = time_mono_us();
		vsock_ctrl_conn(v, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	} else {
		vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
		vsock_conn_close(v, c);
	}
	return 0;
}

static struct vconn *rx_next_ready(struct vvsock *v, unsigned *rr)
{
	for (unsigned k = 0; k < VSOCK_MAX_CONNS; k++) {
		struct vconn *c = &v->conn[(*rr + k) % VSOCK_MAX_CONNS];
		if (c->state == VCONN_ESTABLISHED && c->readable && conn_credit(c)) {
			*rr = (*rr + k + 1) % VSOCK_MAX_CONNS;
			return c;
		}
	}
	return NULL;
}

/* Free CLOSING connections whose RST from the guest never came. */
static void vsock_sweep(struct vvsock *v)
{
	uint64_t now = time_mono_us();
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &v->conn[i];
		if (c->state == VCONN_CLOSING &&
		    now - c->closing_since_us > VSOCK_CLOSE_TIMEOUT_US) {
			vsock_ctrl_conn(v, c, VSOCK_OP_RST, 0);
			vsock_conn_close(v, c);
		}
	}
}

/* Fill RX buffers: control packets first, then connection data round-robin. */
void vsock_rx(struct vvsock *v)
{
	vsock_sweep(v);
	static __thread unsigned rr;
	bool any = false;
	while (v->vd.activated && !(v->vd.status & VIRTIO_STATUS_NEEDS_RESET)) {
		struct vconn *c = v->n_ctrl ? NULL : rx_next_ready(v, &rr);
		if (!v->n_ctrl && !c)
			break;
		if (rx_pop(v) <= 0)
			break;
		if (v->n_ctrl) {
			if (rx_put(v, &v->ctrl[0].h, 0))
				break;
			memmove(v->ctrl, v->ctrl + 1, --v->n_ctrl * sizeof(v->ctrl[0]));
			any = true;
		} else {
			int rc = rx_data(v, c);
			if (rc < 0)
				break;
			any |= rc > 0;
		}
	}
	if (any)
		vdev_signal_used(&v->vd, VSOCK_RXQ);
}

static void vsock_event(struct vvsock *v)
{
	struct virtq *q = &v->vd.q[VSOCK_EVQ];
	if (!v->reset_pending || !v->vd.activated)
		return;
	int rc = virtq_pop(q, &v->vd.elem);
	if (rc <= 0) {
		if (rc < 0)
			vdev_fail(&v->vd, "vsock event queue malformed");
		return;
	}
	uint32_t id = htole32(VSOCK_EVENT_TRANSPORT_RESET);
	int64_t w = virtq_elem_write(q, &v->vd.elem, 0, &id, 4);
	virtq_push(q, v->vd.elem.head, w == 4 ? 4 : 0);
	v->reset_pending = false;
	vdev_signal_used(&v->vd, VSOCK_EVQ);
}

/* Host-initiated: consume "CONNECT <port>\n" byte by byte (the stream follows it). */
static void conn_host_cmd(struct vvsock *v, struct vconn *c)
{
	for (;;) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0 || c->cmd_len + 1 >= sizeof(c->cmd)) {
			vsock_conn_close(v, c);
			return;
		}
		if (ch != '\n') {
			c->cmd[c->cmd_len++] = ch;
			continue;
		}
		c->cmd[c->cmd_len] = 0;
		char *end = NULL;
		unsigned long port = 0;
		if (!strncmp(c->cmd, "CONNECT ", 8))
			port = strtoul(c->cmd + 8, &end, 10);
		if (!end || end == c->cmd + 8 || *end || port > UINT32_MAX) {
			LOG_WARNING("virtio-vsock: bad host command");
			vsock_conn_close(v, c);
			return;
		}
		do
			v->local_port_last = v->local_port_last + 1 < (1u << 30)
						 ? (1u << 30)
						 : v->local_port_last + 1;
		while (vsock_port_in_use(v, v->local_port_last));
		c->host_port = v->local_port_last;
		c->guest_port = (uint32_t)port;
		c->state = VCONN_HOST_REQ;
		vsock_ctrl_conn(v, c, VSOCK_OP_REQUEST, 0);
		return;
	}
}

static void conn_cb(void *arg, uint32_t events)
{
	struct vconn *c = arg;
	struct vvsock *v = c->owner;
	pthread_mutex_lock(&v->vd.lock);
	if (c->state == VCONN_HOST_CMD) {
		conn_host_cmd(v, c);
	} else if (c->state != VCONN_FREE) {
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if ((events & EPOLLOUT) && c->pend_len)
			vsock_conn_flush(v, c);
	}
	if (!v->vd.paused)
		vsock_rx(v);
	pthread_mutex_unlock(&v->vd.lock);
}

static void listen_cb(void *arg, uint32_t events)
{
	struct vvsock *v = arg;
	pthread_mutex_lock(&v->vd.lock);
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		struct vconn *c = vsock_conn_new(v, fd, VCONN_HOST_CMD);
		if (c)
			conn_host_cmd(v, c);
	}
	if (!v->vd.paused)
		vsock_rx(v);
	pthread_mutex_unlock(&v->vd.lock);
}

static void vsock_close_all(struct vvsock *v)
{
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state != VCONN_FREE)
			vsock_conn_close(v, &v->conn[i]);
	v->n_ctrl = 0;
}

static void vsock_notify(struct vdev *vd, uint16_t qi)
{
	struct vvsock *v = (struct vvsock *)vd;
	if (qi == VSOCK_TXQ)
		vsock_tx(v);
	else if (qi == VSOCK_EVQ)
		vsock_event(v);
	vsock_rx(v);
}

static void vsock_config_read(struct vdev *vd, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vvsock *v = (struct vvsock *)vd;
	uint64_t cid = htole64(v->cfg.guest_cid);
	const uint8_t *p = (const uint8_t *)&cid;
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < 8 ? p[off + i] : 0;
}

static void vsock_reset(struct vdev *vd)
{
	vsock_close_all((struct vvsock *)vd);
}

static int vsock_save(struct vdev *vd, struct vwr *w)
{
	struct vvsock *v = (struct vvsock *)vd;
	vwr_u64(w, v->cfg.guest_cid);
	vwr_str(w, v->cfg.uds_path);
	vwr_u32(w, v->local_port_last);
	return w->err;
}

static int vsock_restore(struct vdev *vd, struct vrd *r)
{
	struct vvsock *v = (struct vvsock *)vd;
	char path[VM_PATH_MAX];
	uint64_t cid = vrd_u64(r);
	vrd_str(r, path, sizeof(path)); /* the live path may be a vsock_override */
	v->local_port_last = vrd_u32(r);
	if (r->err || cid != v->cfg.guest_cid)
		return -EINVAL;
	/* Connections are not saved: tell the guest its transport was reset. */
	vsock_close_all(v);
	v->reset_pending = true;
	vsock_event(v);
	return 0;
}

static void vsock_destroy(struct vdev *vd)
{
	struct vvsock *v = (struct vvsock *)vd;
	vsock_close_all(v);
	if (v->listen_fd >= 0) {
		if (vd->env.loop)
			evloop_del(vd->env.loop, v->listen_fd);
		close(v->listen_fd);
		unlink(v->cfg.uds_path);
	}
}

static const struct vdev_ops vsock_ops = {
    .kind = "virtio-vsock",
    .device_id = VIRTIO_KIND_VSOCK,
    .config_read = vsock_config_read,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .save = vsock_save,
    .restore = vsock_restore,
    .destroy = vsock_destroy,
};

static int vsock_listen(struct vvsock *v)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(v->cfg.uds_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, v->cfg.uds_path);
	struct stat st;
	if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sa.sun_path); /* a stale socket from an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	v->listen_fd = fd;
	if (v->vd.env.loop)
		return evloop_add(v->vd.env.loop, fd, EPOLLIN, listen_cb, v);
	return 0;
}

int virtio_vsock_create(const struct virtio_env *env, const struct vsock_cfg *cfg, uint64_t base,
			uint32_t gsi, struct dev **out)
{
	if (cfg->guest_cid < 3)
		return -EINVAL;
	struct vvsock *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cfg = *cfg;
	v->listen_fd = -1;
	v->local_port_last = 1u << 30;
	for (int i = 0; i < VSOCK_MAX_CONNS; i++) {
		v->conn[i].fd = -1;
		v->conn[i].owner = v;
	}
	int rc = vdev_init(&v->vd, &vsock_ops, env, "vsock", 3, VIRTQ_MAX_SIZE,
			   1ULL << VIRTIO_F_EVENT_IDX, base, gsi);
	if (!rc)
		rc = vsock_listen(v);
	if (rc) {
		vdev_free(&v->vd);
		return rc;
	}
	*out = &v->vd.dev;
	return 0;
}
