/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio-net over a SOCK_SEQPACKET pair standing in for the tap. */
#include "vtest.h"

#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define F_MRG (1ULL << 15)
#define F_MAC (1ULL << 5)
#define F_MTU (1ULL << 3)

struct nfix {
	struct vt t;
	struct vt_q q[2];
	struct dev *d;
	int peer;
};

static uint16_t setup_mtu; /* net_cfg.mtu of the next fixture */

/* f->d: eth0 (tap0, 06:00:ac:10:00:02) over a socketpair whose other end is f->peer. */
static void dev_new(struct nfix *f, const struct rate_limiter_cfg *tx, uint16_t mtu)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	f->peer = sv[1];
	struct net_cfg c = {.has_mac = true, .guest_mac = {0x06, 0, 0xac, 0x10, 0, 2}, .mtu = mtu};
	snprintf(c.iface_id, sizeof(c.iface_id), "eth0");
	snprintf(c.host_dev_name, sizeof(c.host_dev_name), "tap0");
	if (tx)
		c.tx_rate_limiter = *tx;
	struct virtio_env env = vt_env(&f->t);
	assert_int_equal(virtio_net_create_fd(&env, &c, sv[0], VIRTIO_MMIO_BASE, 6, &f->d), 0);
}

static void dev_free(struct nfix *f)
{
	f->d->ops->destroy(f->d);
	close(f->peer);
}

static int setup_cfg(void **state, const struct rate_limiter_cfg *tx)
{
	struct nfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	dev_new(f, tx, setup_mtu);
	setup_mtu = 0;
	vt_q_setup(&f->t, &f->q[0], 32);
	vt_q_setup(&f->t, &f->q[1], 32);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, NULL);
}

static int setup_limited(void **state)
{
	struct rate_limiter_cfg rl = {.ops = {true, 2, 0, 100000}};
	return setup_cfg(state, &rl);
}

static int teardown(void **state)
{
	struct nfix *f = *state;
	dev_free(f);
	vt_fini(&f->t);
	free(f);
	return 0;
}

static void test_mac_and_features(void **state)
{
	struct nfix *f = *state;
	uint64_t feat = vt_start(f->d, f->q, 2, ~0ULL);
	assert_true(feat & F_MAC);
	assert_true(feat & F_MRG);
	uint8_t mac[6];
	f->d->ops->read(f->d, VIRTIO_MMIO_CONFIG, mac, 6);
	uint8_t want[6] = {0x06, 0, 0xac, 0x10, 0, 2};
	assert_memory_equal(mac, want, 6);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_DEVICE_ID), 1);
}

static int setup_mtu_1400(void **state)
{
	setup_mtu = 1400;
	return setup_cfg(state, NULL);
}

static uint16_t cfg_mtu(struct dev *d)
{
	uint8_t b[2];
	d->ops->read(d, VIRTIO_MMIO_CONFIG + 10, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

/* Without mtu: no VIRTIO_NET_F_MTU and 0 in the config field. */
static void test_no_mtu(void **state)
{
	struct nfix *f = *state;
	assert_false(vt_start(f->d, f->q, 2, ~0ULL) & F_MTU);
	assert_int_equal(cfg_mtu(f->d), 0);
}

/* mtu 1400: offered and readable; survives a save/restore into a device built without it
 * (a snapshot's device config does not carry it; the device state does). */
static void test_mtu_offered_and_restored(void **state)
{
	struct nfix *f = *state;
	assert_true(vt_start(f->d, f->q, 2, ~0ULL) & F_MTU);
	assert_int_equal(cfg_mtu(f->d), 1400);
	struct vwr w = {0};
	struct vdev *vd = vdev_from_dev(f->d, VIRTIO_KIND_NET);
	assert_non_null(vd);
	assert_int_equal(vdev_save(vd, &w), 0);
	dev_free(f);
	dev_new(f, NULL, 0);
	assert_int_equal(cfg_mtu(f->d), 0);
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len), 0);
	assert_int_equal(cfg_mtu(f->d), 1400);
	vt_wr(f->d, VIRTIO_MMIO_DEV_FEATURES_SEL, 0);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_DEV_FEATURES) & F_MTU);
	/* a state from before the field existed (2 bytes shorter) still restores, without it */
	dev_free(f);
	dev_new(f, NULL, 0);
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len - 2), 0);
	assert_int_equal(cfg_mtu(f->d), 0);
	free(w.buf);
}

static void test_tx(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~0ULL);
	uint64_t hdr = vt_alloc(&f->t, 12, 8), pkt = vt_alloc(&f->t, 60, 8);
	memset(vt_ptr(&f->t, hdr), 0, 12);
	memset(vt_ptr(&f->t, pkt), 0xab, 60);
	struct vt_buf b[] = {{hdr, 12, false}, {pkt, 60, false}};
	uint16_t head = vt_add(&f->t, &f->q[1], b, 2);
	vt_kick(f->d, 1);
	uint8_t got[128];
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), 72);
	assert_int_equal(got[12], 0xab);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

static void send_frame(struct nfix *f, size_t payload, uint8_t fill)
{
	uint8_t buf[4096];
	memset(buf, 0, 12);
	memset(buf + 12, fill, payload);
	assert_int_equal(send(f->peer, buf, 12 + payload, 0), (ssize_t)(12 + payload));
}

static void test_rx_single(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~F_MRG);
	send_frame(f, 100, 0x11);
	uint64_t rx = vt_alloc(&f->t, 1526, 8);
	struct vt_buf b[] = {{rx, 1526, true}};
	vt_add(&f->t, &f->q[0], b, 1);
	vt_kick(f->d, 0);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[0], &id, &len));
	assert_int_equal(len, 112);
	uint8_t *p = vt_ptr(&f->t, rx);
	assert_int_equal(p[10] | p[11] << 8, 1); /* num_buffers */
	assert_int_equal(p[12], 0x11);
	assert_int_equal(p[111], 0x11);
	assert_int_equal(f->t.irq_level, 1);
}

static void test_rx_mergeable(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~0ULL);
	send_frame(f, 3000, 0x22);
	uint64_t rx[3];
	for (int i = 0; i < 3; i++) {
		rx[i] = vt_alloc(&f->t, 1500, 8);
		struct vt_buf b[] = {{rx[i], 1500, true}};
		vt_add(&f->t, &f->q[0], b, 1);
	}
	vt_kick(f->d, 0);
	uint32_t id, len, total = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(vt_used(&f->t, &f->q[0], &id, &len));
		total += len;
	}
	assert_int_equal(total, 3012);
	uint8_t *p = vt_ptr(&f->t, rx[0]);
	assert_int_equal(p[10] | p[11] << 8, 3);
	assert_int_equal(((uint8_t *)vt_ptr(&f->t, rx[2]))[11], 0x22);
}

static void test_rx_waits_for_buffers(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~F_MRG);
	send_frame(f, 200, 0x33);
	vt_kick(f->d, 0); /* no buffers yet */
	uint32_t id, len;
	assert_false(vt_used(&f->t, &f->q[0], &id, &len));
	/* A buffer too small for the frame without MRG_RXBUF is not consumed. */
	uint64_t small = vt_alloc(&f->t, 100, 8), big = vt_alloc(&f->t, 1526, 8);
	struct vt_buf b1[] = {{small, 100, true}};
	vt_add(&f->t, &f->q[0], b1, 1);
	vt_kick(f->d, 0);
	assert_false(vt_used(&f->t, &f->q[0], &id, &len));
	(void)big;
}

static void test_tx_rate_limited(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~0ULL);
	uint64_t pkt = vt_alloc(&f->t, 72, 8);
	memset(vt_ptr(&f->t, pkt), 0, 72);
	for (int i = 0; i < 3; i++) {
		struct vt_buf b[] = {{pkt, 72, false}};
		vt_add(&f->t, &f->q[1], b, 1);
	}
	vt_kick(f->d, 1);
	uint8_t got[128];
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), 72);
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), 72);
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), -1); /* third one throttled */
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
	assert_false(vt_used(&f->t, &f->q[1], &id, &len));
	/* Lifting the limit lets it through. */
	assert_int_equal(virtio_net_update_dev(f->d, NULL, &(struct rate_limiter_cfg){0}), 0);
	assert_int_equal(recv(f->peer, got, sizeof(got), 0), 72);
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
}

static void test_hostile_tx_chain(void **state)
{
	struct nfix *f = *state;
	vt_start(f->d, f->q, 2, ~0ULL);
	vt_desc(&f->t, f->q[1].desc, 0, 0x1000, 16, VIRTQ_DESC_F_NEXT, 0);
	vt_publish(&f->t, &f->q[1], 0);
	vt_kick(f->d, 1);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void tap_up(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	char p[128];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	FILE *fp = fopen(p, "w");
	if (fp) {
		fputs("1", fp);
		fclose(fp);
	}
}

/* A real tap (needs root and /dev/net/tun): frames cross the kernel both ways. */
static void test_real_tap(void **state)
{
	struct vt t;
	vt_init(&t);
	struct net_cfg c = {.has_mac = true, .guest_mac = {0x06, 0, 0, 0, 0, 9}};
	snprintf(c.iface_id, sizeof(c.iface_id), "eth0");
	snprintf(c.host_dev_name, sizeof(c.host_dev_name), "sqvt%d", getpid() % 100000);
	struct virtio_env env = vt_env(&t);
	struct dev *d;
	int rc = virtio_net_create(&env, &c, VIRTIO_MMIO_BASE, 5, &d);
	if (rc) {
		printf("SKIP test_real_tap: cannot create tap %s: %s\n", c.host_dev_name,
		       strerror(-rc));
		vt_fini(&t);
		skip();
	}
	tap_up(c.host_dev_name);
	struct vt_q q[2];
	vt_q_setup(&t, &q[0], 32);
	vt_q_setup(&t, &q[1], 32);
	vt_start(d, q, 2, ~0ULL); /* activation sets TUNSETOFFLOAD */
	assert_false(vt_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	assert_true(ps >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(c.host_dev_name)};
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	/* host -> guest */
	uint8_t frame[60] = {0x06, 0, 0, 0, 0, 9, 0x02, 1, 2, 3, 4, 5, 0x88, 0xb5};
	memset(frame + 14, 0x5c, sizeof(frame) - 14);
	assert_int_equal(send(ps, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	uint64_t rx = vt_alloc(&t, 2048, 8);
	bool seen = false;
	for (int i = 0; i < 20 && !seen; i++) {
		struct vt_buf b[] = {{rx, 2048, true}};
		vt_add(&t, &q[0], b, 1);
		vt_kick(d, 0);
		uint32_t id, len;
		while (vt_used(&t, &q[0], &id, &len))
			seen |= len == 72 && !memcmp((uint8_t *)vt_ptr(&t, rx) + 12, frame, 60);
		if (!seen)
			usleep(10000);
	}
	assert_true(seen);
	/* guest -> host */
	uint64_t tx = vt_alloc(&t, 72, 8);
	uint8_t *p = vt_ptr(&t, tx);
	memset(p, 0, 12);
	uint8_t out[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x06, 0, 0, 0, 0, 9, 0x88, 0xb5};
	memset(out + 14, 0xc5, sizeof(out) - 14);
	memcpy(p + 12, out, 60);
	struct vt_buf b[] = {{tx, 72, false}};
	vt_add(&t, &q[1], b, 1);
	vt_kick(d, 1);
	seen = false;
	for (int i = 0; i < 50 && !seen; i++) {
		uint8_t got[2048];
		ssize_t n = recv(ps, got, sizeof(got), 0);
		if (n < 0) {
			usleep(10000);
			continue;
		}
		seen = n == 60 && !memcmp(got, out, 60);
	}
	assert_true(seen);
	close(ps);
	d->ops->destroy(d);
	vt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mac_and_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_mtu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mtu_offered_and_restored, setup_mtu_1400,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_single, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_rate_limited, setup_limited, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_tx_chain, setup, teardown),
	    cmocka_unit_test(test_real_tap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
