/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-net over a tap (IFF_VNET_HDR, 12-byte header), offloads, mergeable RX, limiters. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/ratelimit.h"
#include "virtio/vdev.h"

#define NET_F_CSUM 0
#define NET_F_GUEST_CSUM 1
#define NET_F_MTU 3
#define NET_F_MAC 5
#define NET_F_GUEST_TSO4 7
#define NET_F_GUEST_TSO6 8
#define NET_F_GUEST_UFO 10
#define NET_F_HOST_TSO4 11
#define NET_F_HOST_TSO6 12
#define NET_F_HOST_UFO 14
#define NET_F_MRG_RXBUF 15
#define NET_HDR_LEN 12
#define NET_FRAME_MAX (NET_HDR_LEN + 65550)
#define NET_RXQ 0
#define NET_TXQ 1

struct vnet {
	struct vdev vd; /* first */
	struct net_cfg cfg;
	int tap;
	bool own_tap; /* opened here (ioctls allowed) vs injected by a test */
	struct ratelimit rx_rl, tx_rl;
	uint8_t rx_frame[NET_FRAME_MAX];
	size_t rx_len; /* 0: no frame pending */
	uint8_t tx_frame[NET_FRAME_MAX];
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};

static int tap_open(const char *name, int *out)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	int hdr = NET_HDR_LEN;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* Deliver the pending frame into one or more RX chains (several only with MRG_RXBUF).
 * false = no room or throttled (the frame stays pending). */
static bool net_rx_deliver(struct vnet *n)
{
	struct vdev *vd = &n->vd;
	struct virtq *q = &vd->q[NET_RXQ];
	bool mrg = vdev_has(vd, NET_F_MRG_RXBUF);
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];
	struct iovec nb_iov[2];
	int nb_n = 0;
	uint16_t cnt = 0;
	size_t off = 0;
	if (rl_wait_us(&n->rx_rl, n->rx_len, 1)) {
		rl_consume(&n->rx_rl, n->rx_len, 1); /* refused: arms the wake-up timer */
		return false;
	}
	while (off < n->rx_len) {
		int rc = cnt == VIRTQ_MAX_SIZE ? 0 : virtq_pop(q, &vd->elem);
		if (rc < 0) {
			vdev_fail(vd, "net rx queue malformed");
			return false;
		}
		bool fits = rc > 0 && vd->elem.in_len > 0 && (mrg || vd->elem.in_len >= n->rx_len);
		if (!fits) {
			virtq_unpop(q, (uint16_t)(cnt + (rc > 0)));
			return false;
		}
		if (cnt == 0)
			nb_n = virtq_elem_iov(q, &vd->elem, true, 10, 2, nb_iov, 2);
		int64_t w = virtq_elem_write(q, &vd->elem, 0, n->rx_frame + off, n->rx_len - off);
		if (w <= 0) {
			vdev_fail(vd, "net rx buffer not writable");
			return false;
		}
		heads[cnt] = vd->elem.head;
		lens[cnt++] = (uint32_t)w;
		off += (size_t)w;
	}
	/* num_buffers (header bytes 10-11) = chains used; 1 without MRG_RXBUF. */
	uint8_t nb[2] = {(uint8_t)cnt, (uint8_t)(cnt >> 8)};
	for (int i = 0, k = 0; i < nb_n; i++)
		for (size_t j = 0; j < nb_iov[i].iov_len && k < 2; j++)
			((uint8_t *)nb_iov[i].iov_base)[j] = nb[k++];
	for (uint16_t i = 0; i < cnt; i++)
		virtq_push(q, heads[i], lens[i]);
	rl_consume(&n->rx_rl, n->rx_len, 1);
	n->rx_packets++;
	n->rx_len = 0;
	return true;
}

static void net_rx(struct vnet *n)
{
	struct vdev *vd = &n->vd;
	if (!vd->activated || vd->paused || (vd->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	bool any = false;
	for (;;) {
		if (n->rx_len == 0) {
			ssize_t r = read(n->tap, n->rx_frame, sizeof(n->rx_frame));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (r < NET_HDR_LEN) {
				n->rx_dropped++;
				continue;
			}
			n->rx_len = (size_t)r;
		}
		if (!net_rx_deliver(n))
			break;
		any = true;
	}
	if (any)
		vdev_signal_used(vd, NET_RXQ);
	virtq_enable_notify(&vd->q[NET_RXQ]);
}

static void net_tx(struct vnet *n)
{
	struct vdev *vd = &n->vd;
	struct virtq *q = &vd->q[NET_TXQ];
	bool any = false;
	for (;;) {
		int rc = virtq_pop(q, &vd->elem);
		if (rc < 0) {
			vdev_fail(vd, "net tx queue malformed");
			break;
		}
		if (rc == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		uint64_t len = vd->elem.out_len;
		if (!rl_consume(&n->tx_rl, len, 1)) {
			virtq_unpop(q, 1);
			break;
		}
		if (len < NET_HDR_LEN || len > sizeof(n->tx_frame) ||
		    virtq_elem_read(q, &vd->elem, 0, n->tx_frame, len) != (int64_t)len) {
			n->tx_dropped++;
		} else if (write(n->tap, n->tx_frame, len) != (ssize_t)len) {
			n->tx_dropped++;
		} else {
			n->tx_packets++;
		}
		virtq_push(q, vd->elem.head, 0);
		any = true;
	}
	if (any)
		vdev_signal_used(vd, NET_TXQ);
}

static void net_notify(struct vdev *vd, uint16_t qi)
{
	struct vnet *n = (struct vnet *)vd;
	if (qi == NET_RXQ)
		net_rx(n);
	else if (qi == NET_TXQ)
		net_tx(n);
}

static int net_activate(struct vdev *vd)
{
	struct vnet *n = (struct vnet *)vd;
	if (!n->own_tap)
		return 0;
	unsigned off = 0;
	if (vdev_has(vd, NET_F_GUEST_CSUM))
		off |= TUN_F_CSUM;
	if ((off & TUN_F_CSUM) && vdev_has(vd, NET_F_GUEST_TSO4))
		off |= TUN_F_TSO4;
	if ((off & TUN_F_CSUM) && vdev_has(vd, NET_F_GUEST_TSO6))
		off |= TUN_F_TSO6;
	if ((off & TUN_F_CSUM) && vdev_has(vd, NET_F_GUEST_UFO))
		off |= TUN_F_UFO;
	int rc = ioctl(n->tap, TUNSETOFFLOAD, off);
	if (rc < 0 && (off & TUN_F_UFO)) {
		/* Some kernels refuse UFO on taps; the guest can live without it. */
		LOG_WARNING("virtio-net %s: tap refuses UFO, retrying without", n->cfg.iface_id);
		rc = ioctl(n->tap, TUNSETOFFLOAD, off & ~TUN_F_UFO);
	}
	if (rc < 0) {
		LOG_ERR("virtio-net %s: TUNSETOFFLOAD 0x%x failed: %s", n->cfg.iface_id, off,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static void net_tap_cb(void *arg, uint32_t events)
{
	struct vnet *n = arg;
	pthread_mutex_lock(&n->vd.lock);
	net_rx(n);
	pthread_mutex_unlock(&n->vd.lock);
}

static void net_wake(void *ctx)
{
	struct vdev *vd = ctx;
	pthread_mutex_lock(&vd->lock);
	vdev_kick_all(vd);
	pthread_mutex_unlock(&vd->lock);
}

static void net_config_read(struct vdev *vd, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vnet *n = (struct vnet *)vd;
	/* mac[6], status u16, max_virtqueue_pairs u16, mtu u16 (little endian) */
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		data[i] = o < 6 && n->cfg.has_mac ? n->cfg.guest_mac[o]
			  : o == 10		  ? (uint8_t)n->cfg.mtu
			  : o == 11		  ? (uint8_t)(n->cfg.mtu >> 8)
						  : 0;
	}
}

static void net_reset(struct vdev *vd)
{
	((struct vnet *)vd)->rx_len = 0;
}

static int net_save(struct vdev *vd, struct vwr *w)
{
	struct vnet *n = (struct vnet *)vd;
	vwr_str(w, n->cfg.iface_id);
	vwr_str(w, n->cfg.host_dev_name);
	vwr_u8(w, n->cfg.has_mac);
	vwr_bytes(w, n->cfg.guest_mac, 6);
	rl_save(&n->rx_rl, w);
	rl_save(&n->tx_rl, w);
	vwr_u16(w, n->cfg.mtu); /* added in squib 0.2: absent in older states */
	return w->err;
}

static int net_restore(struct vdev *vd, struct vrd *r)
{
	struct vnet *n = (struct vnet *)vd;
	char id[VM_ID_MAX], tap[16];
	vrd_str(r, id, sizeof(id));
	vrd_str(r, tap, sizeof(tap)); /* the live tap may be a network_overrides rename */
	n->cfg.has_mac = vrd_u8(r) != 0;
	vrd_bytes(r, n->cfg.guest_mac, 6);
	rl_restore(&n->rx_rl, r);
	rl_restore(&n->tx_rl, r);
	if (r->pos + 2 <= r->len)
		n->cfg.mtu = vrd_u16(r);
	if (n->cfg.mtu)
		vd->avail_features |= 1ULL << NET_F_MTU;
	if (r->err || strcmp(id, n->cfg.iface_id))
		return -EINVAL;
	n->rx_len = 0;
	return vd->activated ? net_activate(vd) : 0;
}

static void net_destroy(struct vdev *vd)
{
	struct vnet *n = (struct vnet *)vd;
	rl_destroy(&n->rx_rl);
	rl_destroy(&n->tx_rl);
	if (n->tap >= 0) {
		if (vd->env.loop)
			evloop_del(vd->env.loop, n->tap);
		close(n->tap);
	}
}

static const struct vdev_ops net_ops = {
    .kind = "virtio-net",
    .device_id = VIRTIO_KIND_NET,
    .config_read = net_config_read,
    .activate = net_activate,
    .notify = net_notify,
    .reset = net_reset,
    .save = net_save,
    .restore = net_restore,
    .destroy = net_destroy,
};

static uint64_t net_features(const struct net_cfg *cfg)
{
	uint64_t f = (1ULL << NET_F_CSUM) | (1ULL << NET_F_GUEST_CSUM) |
		     (1ULL << NET_F_GUEST_TSO4) | (1ULL << NET_F_GUEST_TSO6) |
		     (1ULL << NET_F_GUEST_UFO) | (1ULL << NET_F_HOST_TSO4) |
		     (1ULL << NET_F_HOST_TSO6) | (1ULL << NET_F_HOST_UFO) |
		     (1ULL << NET_F_MRG_RXBUF) | (1ULL << VIRTIO_F_EVENT_IDX);
	if (cfg->has_mac)
		f |= 1ULL << NET_F_MAC;
	if (cfg->mtu)
		f |= 1ULL << NET_F_MTU;
	return f;
}

int virtio_net_create_fd(const struct virtio_env *env, const struct net_cfg *cfg, int fd,
			 uint64_t base, uint32_t gsi, struct dev **out)
{
	struct vnet *n = calloc(1, sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->tap = fd;
	n->cfg = *cfg;
	n->rx_rl.timer_fd = n->tx_rl.timer_fd = -1;
	int rc = vdev_init(&n->vd, &net_ops, env, cfg->iface_id, 2, VIRTQ_MAX_SIZE,
			   net_features(cfg), base, gsi);
	if (!rc)
		rc = rl_init(&n->rx_rl, &cfg->rx_rate_limiter, env->loop, net_wake, &n->vd);
	if (!rc)
		rc = rl_init(&n->tx_rl, &cfg->tx_rate_limiter, env->loop, net_wake, &n->vd);
	if (!rc && env->loop) {
		rc = evloop_add(env->loop, fd, EPOLLIN | EPOLLET, net_tap_cb, n);
		if (rc) {
			close(fd);
			n->tap = -1;
		}
	}
	if (rc) {
		vdev_free(&n->vd);
		return rc;
	}
	*out = &n->vd.dev;
	return 0;
}

int virtio_net_create(const struct virtio_env *env, const struct net_cfg *cfg, uint64_t base,
		      uint32_t gsi, struct dev **out)
{
	int fd = -1;
	int rc = tap_open(cfg->host_dev_name, &fd);
	if (rc)
		return rc;
	rc = virtio_net_create_fd(env, cfg, fd, base, gsi, out);
	if (!rc)
		((struct vnet *)(*out)->priv)->own_tap = true;
	return rc;
}

int virtio_net_update_dev(struct dev *d, const struct rate_limiter_cfg *rx,
			  const struct rate_limiter_cfg *tx)
{
	struct vdev *vd = vdev_from_dev(d, VIRTIO_KIND_NET);
	if (!vd)
		return -EINVAL;
	struct vnet *n = (struct vnet *)vd;
	pthread_mutex_lock(&vd->lock);
	if (rx) {
		n->cfg.rx_rate_limiter = *rx;
		rl_update(&n->rx_rl, rx);
	}
	if (tx) {
		n->cfg.tx_rate_limiter = *tx;
		rl_update(&n->tx_rl, tx);
	}
	vdev_kick_all(vd);
	pthread_mutex_unlock(&vd->lock);
	return 0;
}
