/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio-vsock: the Unix-socket bridge both ways, credit, RST, reset event. */
#include "vtest.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/vsock.h"

#define RXBUF (VSOCK_HDR_LEN + 4096)

struct sfix {
	struct vt t;
	struct vt_q q[3];
	struct dev *d;
	struct evloop *loop;
	char path[80];
	uint64_t rx[16];
};

static struct sfix *fix_new(void)
{
	struct sfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	assert_int_equal(evloop_create(&f->loop), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/squib-vsock-%d.sock", getpid());
	struct vsock_cfg c = {.set = true, .guest_cid = 3};
	snprintf(c.uds_path, sizeof(c.uds_path), "%s", f->path);
	struct virtio_env env = vt_env(&f->t);
	env.loop = f->loop;
	assert_int_equal(virtio_vsock_create(&env, &c, VIRTIO_MMIO_BASE, 7, &f->d), 0);
	for (int i = 0; i < 3; i++)
		vt_q_setup(&f->t, &f->q[i], 32);
	vt_start(f->d, f->q, 3, ~0ULL);
	return f;
}

/* No RX buffers posted: the test posts its own layout. */
static int setup_norx(void **state)
{
	*state = fix_new();
	return 0;
}

static int setup(void **state)
{
	struct sfix *f = fix_new();
	for (int i = 0; i < 16; i++) {
		f->rx[i] = vt_alloc(&f->t, RXBUF, 8);
		struct vt_buf b[] = {{f->rx[i], RXBUF, true}};
		vt_add(&f->t, &f->q[0], b, 1);
	}
	vt_kick(f->d, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct sfix *f = *state;
	f->d->ops->destroy(f->d);
	evloop_destroy(f->loop);
	vt_fini(&f->t);
	free(f);
	return 0;
}

static void pump(struct sfix *f)
{
	for (int i = 0; i < 5; i++)
		evloop_run_once(f->loop, 20);
}

/* Next RX packet: header decoded, payload copied to data. */
static bool rx_next(struct sfix *f, struct vsock_hdr *h, void *data, size_t cap)
{
	uint32_t id, len;
	if (!vt_used(&f->t, &f->q[0], &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN);
	/* Buffers are recycled in FIFO order, so slot id always holds rx[id % 16]. */
	uint64_t gpa = f->rx[id % 16];
	vsock_hdr_decode(vt_ptr(&f->t, gpa), h);
	assert_int_equal(len, VSOCK_HDR_LEN + h->len);
	if (data)
		memcpy(data, (uint8_t *)vt_ptr(&f->t, gpa) + VSOCK_HDR_LEN,
		       h->len < cap ? h->len : cap);
	/* Recycle the buffer. */
	struct vt_buf b[] = {{gpa, RXBUF, true}};
	vt_add(&f->t, &f->q[0], b, 1);
	vt_kick(f->d, 0);
	return true;
}

/* A 44-byte guest TX header in guest memory (payload len, our buf_alloc 64 KiB). */
static uint64_t tx_hdr(struct sfix *f, uint32_t src_port, uint32_t dst_port, uint16_t op,
		       uint32_t flags, uint32_t len)
{
	uint64_t buf = vt_alloc(&f->t, VSOCK_HDR_LEN, 8);
	uint8_t *p = vt_ptr(&f->t, buf);
	uint64_t cids[2] = {3, 2};
	uint32_t ports[3] = {src_port, dst_port, len};
	uint16_t to[2] = {VSOCK_TYPE_STREAM, op};
	uint32_t cr[3] = {flags, 65536, 0};
	memcpy(p, cids, 16);
	memcpy(p + 16, ports, 12);
	memcpy(p + 28, to, 4);
	memcpy(p + 32, cr, 12);
	return buf;
}

/* Post a TX chain (b[0] is the header), kick, and check the device consumed it. */
static void tx_chain(struct sfix *f, const struct vt_buf *b, int n)
{
	vt_add(&f->t, &f->q[1], b, n);
	vt_kick(f->d, 1);
	uint32_t id, ulen;
	assert_true(vt_used(&f->t, &f->q[1], &id, &ulen));
}

static void tx_send(struct sfix *f, uint32_t src_port, uint32_t dst_port, uint16_t op,
		    uint32_t flags, const void *data, uint32_t len)
{
	uint64_t buf = vt_alloc(&f->t, len + 1, 8);
	if (len)
		memcpy(vt_ptr(&f->t, buf), data, len);
	struct vt_buf b[] = {{tx_hdr(f, src_port, dst_port, op, flags, len), VSOCK_HDR_LEN, false},
			     {buf, len, false}};
	tx_chain(f, b, len ? 2 : 1);
}

static int host_connect(struct sfix *f)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_config_cid(void **state)
{
	struct sfix *f = *state;
	uint64_t cid = 0;
	f->d->ops->read(f->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&cid, 8);
	assert_int_equal(cid, 3);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_DEVICE_ID), 19);
}

static void test_host_initiated(void **state)
{
	struct sfix *f = *state;
	int fd = host_connect(f);
	assert_int_equal(write(fd, "CONNECT 52\n", 11), 11);
	pump(f);
	struct vsock_hdr h;
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.src_cid, 2);
	assert_int_equal(h.dst_cid, 3);
	assert_int_equal(h.dst_port, 52);
	assert_true(h.src_port >= (1u << 30));
	uint32_t hp = h.src_port;
	tx_send(f, 52, hp, VSOCK_OP_RESPONSE, 0, NULL, 0);
	char line[32] = {0};
	assert_true(read(fd, line, sizeof(line) - 1) > 0);
	char want[32];
	snprintf(want, sizeof(want), "OK %u\n", hp);
	assert_string_equal(line, want);
	/* host -> guest */
	assert_int_equal(write(fd, "hello", 5), 5);
	pump(f);
	char data[16] = {0};
	assert_true(rx_next(f, &h, data, sizeof(data)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_string_equal(data, "hello");
	/* guest -> host */
	tx_send(f, 52, hp, VSOCK_OP_RW, 0, "world", 5);
	memset(line, 0, sizeof(line));
	assert_int_equal(read(fd, line, sizeof(line)), 5);
	assert_string_equal(line, "world");
	/* guest closes both directions: RST back, host sees EOF. */
	tx_send(f, 52, hp, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0);
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(read(fd, line, sizeof(line)), 0);
	close(fd);
}

static void test_host_bad_command(void **state)
{
	struct sfix *f = *state;
	int fd = host_connect(f);
	assert_int_equal(write(fd, "HELLO\n", 6), 6);
	pump(f);
	char c;
	assert_int_equal(read(fd, &c, 1), 0); /* closed by squib */
	struct vsock_hdr h;
	assert_false(rx_next(f, &h, NULL, 0));
	close(fd);
}

/* Guest-initiated connection on port 1234 from guest port 999; returns the host's accepted
 * fd, *lfd_out the listener. Needs one RX buffer posted for the RESPONSE. */
static int guest_connect(struct sfix *f, int *lfd_out)
{
	char lpath[100];
	snprintf(lpath, sizeof(lpath), "%s_1234", f->path);
	unlink(lpath);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lpath);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	tx_send(f, 999, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
	int afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	unlink(lpath);
	*lfd_out = lfd;
	return afd;
}

static void test_guest_initiated(void **state)
{
	struct sfix *f = *state;
	int lfd;
	int afd = guest_connect(f, &lfd);
	struct vsock_hdr h;
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(h.dst_port, 999);
	tx_send(f, 999, 1234, VSOCK_OP_RW, 0, "ping", 4);
	char buf[8] = {0};
	assert_int_equal(read(afd, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "ping");
	/* Host closes: the guest gets SHUTDOWN, then answers RST. */
	close(afd);
	pump(f);
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	tx_send(f, 999, 1234, VSOCK_OP_RST, 0, NULL, 0);
	/* No listener on another port: RST. */
	tx_send(f, 1000, 4321, VSOCK_OP_REQUEST, 0, NULL, 0);
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 1000);
	close(lfd);
}

static void test_unknown_and_credit(void **state)
{
	struct sfix *f = *state;
	struct vsock_hdr h;
	/* Data on a connection that does not exist: RST. */
	tx_send(f, 5, 6, VSOCK_OP_RW, 0, "x", 1);
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RST);
	/* A bogus length is dropped without harm. */
	uint64_t buf = vt_alloc(&f->t, VSOCK_HDR_LEN, 8);
	uint8_t *p = vt_ptr(&f->t, buf);
	memset(p, 0, VSOCK_HDR_LEN);
	uint32_t big = 1u << 30;
	memcpy(p + 24, &big, 4);
	struct vt_buf b[] = {{buf, VSOCK_HDR_LEN, false}};
	vt_add(&f->t, &f->q[1], b, 1);
	vt_kick(f->d, 1);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[1], &id, &len));
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_restore_sends_transport_reset(void **state)
{
	struct sfix *f = *state;
	uint64_t ev = vt_alloc(&f->t, 8, 8);
	memset(vt_ptr(&f->t, ev), 0xff, 8);
	struct vt_buf b[] = {{ev, 8, true}};
	vt_add(&f->t, &f->q[2], b, 1);
	vt_kick(f->d, 2);
	struct vwr w = {0};
	assert_int_equal(vdev_save(f->d->priv, &w), 0);
	f->d->ops->destroy(f->d);
	struct vsock_cfg c = {.set = true, .guest_cid = 3};
	snprintf(c.uds_path, sizeof(c.uds_path), "%s", f->path);
	struct virtio_env env = vt_env(&f->t);
	env.loop = f->loop;
	assert_int_equal(virtio_vsock_create(&env, &c, VIRTIO_MMIO_BASE, 7, &f->d), 0);
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len), 0);
	free(w.buf);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[2], &id, &len));
	assert_int_equal(len, 4);
	assert_int_equal(*(uint32_t *)vt_ptr(&f->t, ev), VSOCK_EVENT_TRANSPORT_RESET);
	/* The listener still works after restore. */
	int fd = host_connect(f);
	assert_int_equal(write(fd, "CONNECT 7\n", 10), 10);
	pump(f);
	struct vsock_hdr h;
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	close(fd);
}

static struct vconn *dev_conn(struct sfix *f, uint32_t guest_port)
{
	struct vvsock *v = (struct vvsock *)f->d->priv;
	for (int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state == VCONN_ESTABLISHED && v->conn[i].guest_port == guest_port)
			return &v->conn[i];
	return NULL;
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

/* The socket takes only part of each packet (tiny SO_SNDBUF): the remainder waits in the
 * pending buffer, fwd_cnt counts only accepted bytes, EPOLLOUT flushes it in order. */
static void test_tx_partial_write_keeps_remainder(void **state)
{
	struct sfix *f = *state;
	int lfd, afd = guest_connect(f, &lfd);
	struct vconn *c = dev_conn(f, 999);
	assert_non_null(c);
	int one = 1;
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)), 0);
	enum { PKT = 65536, NPKT = 3, TOTAL = PKT * NPKT };
	static uint8_t want[TOTAL], got[TOTAL];
	for (size_t i = 0; i < TOTAL; i++)
		want[i] = pat(i);
	for (int k = 0; k < NPKT; k++) {
		tx_send(f, 999, 1234, VSOCK_OP_RW, 0, want + k * PKT, PKT);
		assert_true(c->pend_len > 0);
		assert_true(c->watch_out); /* EPOLLOUT watched only while data is pending */
		assert_int_equal(c->fwd_cnt + c->pend_len, (uint32_t)(k + 1) * PKT);
	}
	uint32_t accepted = c->fwd_cnt;
	assert_true(accepted < TOTAL);
	struct vsock_hdr h;
	while (rx_next(f, &h, NULL, 0))
		assert_true(h.fwd_cnt <= accepted); /* never advertise bytes still pending */
	/* The host drains the socket but no EPOLLOUT is processed: a CREDIT_REQUEST from the guest
	 * retries the pending data and answers with the new fwd_cnt. */
	size_t have = 0;
	for (ssize_t r; (r = recv(afd, got + have, TOTAL - have, MSG_DONTWAIT)) > 0;)
		have += (size_t)r;
	tx_send(f, 999, 1234, VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
	assert_true(c->fwd_cnt > accepted);
	assert_int_equal(c->fwd_cnt + c->pend_len, TOTAL);
	uint32_t answered = 0;
	while (rx_next(f, &h, NULL, 0))
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			answered = h.fwd_cnt;
	assert_int_equal(answered, c->fwd_cnt);
	for (int it = 0; it < 10000 && have < TOTAL; it++) {
		ssize_t r = recv(afd, got + have, TOTAL - have, MSG_DONTWAIT);
		if (r > 0)
			have += (size_t)r;
		evloop_run_once(f->loop, 1);
	}
	assert_int_equal(have, TOTAL);
	assert_memory_equal(got, want, TOTAL);
	assert_int_equal(c->pend_len, 0);
	assert_false(c->watch_out);
	assert_int_equal(c->fwd_cnt, TOTAL);
	uint32_t told = answered;
	while (rx_next(f, &h, NULL, 0))
		if (h.op == VSOCK_OP_CREDIT_UPDATE)
			told = h.fwd_cnt;
	assert_true(told >= accepted && told <= TOTAL);
	close(afd);
	close(lfd);
}

/* A payload split over several descriptors reaches the socket intact; a header whose len
 * exceeds the chain is dropped; a payload outside guest RAM sets NEEDS_RESET. */
static void test_tx_hostile_chains(void **state)
{
	struct sfix *f = *state;
	int lfd, afd = guest_connect(f, &lfd);
	uint64_t d = vt_alloc(&f->t, 300, 8);
	for (int i = 0; i < 300; i++)
		((uint8_t *)vt_ptr(&f->t, d))[i] = pat((size_t)i);
	struct vt_buf split[] = {{tx_hdr(f, 999, 1234, VSOCK_OP_RW, 0, 300), VSOCK_HDR_LEN, false},
				 {d, 1, false},
				 {d + 1, 199, false},
				 {d + 200, 100, false}};
	tx_chain(f, split, 4);
	uint8_t got[400];
	assert_int_equal(recv(afd, got, sizeof(got), MSG_DONTWAIT), 300);
	assert_memory_equal(got, vt_ptr(&f->t, d), 300);
	assert_false(dev_conn(f, 999)->watch_out); /* all accepted: no EPOLLOUT wake-ups */
	struct vt_buf shortp[] = {{tx_hdr(f, 999, 1234, VSOCK_OP_RW, 0, 200), VSOCK_HDR_LEN, false},
				  {d, 100, false}};
	tx_chain(f, shortp, 2);
	assert_int_equal(recv(afd, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_non_null(dev_conn(f, 999));
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	struct vt_buf outside[] = {{tx_hdr(f, 999, 1234, VSOCK_OP_RW, 0, 64), VSOCK_HDR_LEN, false},
				   {VT_MEM - 32, 64, false}};
	vt_add(&f->t, &f->q[1], outside, 2);
	vt_kick(f->d, 1);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(recv(afd, got, sizeof(got), MSG_DONTWAIT), -1);
	close(afd);
	close(lfd);
}

static void rx_post(struct sfix *f, const struct vt_buf *b, int n)
{
	vt_add(&f->t, &f->q[0], b, n);
	vt_kick(f->d, 0);
}

/* Host data is read straight into RX chains split over several descriptors (header alone in
 * the first); a header-only buffer at the ring head stalls data without hanging the device. */
static void test_rx_split_buffers(void **state)
{
	struct sfix *f = *state;
	struct vt_buf resp[] = {{vt_alloc(&f->t, RXBUF, 8), RXBUF, true}};
	rx_post(f, resp, 1);
	int lfd, afd = guest_connect(f, &lfd);
	uint32_t id, len;
	assert_true(vt_used(&f->t, &f->q[0], &id, &len)); /* the RESPONSE */
	uint64_t hb[3], p1[3], p2[3];
	for (int i = 0; i < 3; i++) {
		hb[i] = vt_alloc(&f->t, VSOCK_HDR_LEN, 8);
		p1[i] = vt_alloc(&f->t, 100, 8);
		p2[i] = vt_alloc(&f->t, 1000, 8);
		struct vt_buf b[] = {
		    {hb[i], VSOCK_HDR_LEN, true}, {p1[i], 100, true}, {p2[i], 1000, true}};
		rx_post(f, b, 3);
	}
	static uint8_t want[3000], got[3000];
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = pat(i);
	assert_int_equal(write(afd, want, sizeof(want)), (ssize_t)sizeof(want));
	pump(f);
	size_t have = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(vt_used(&f->t, &f->q[0], &id, &len));
		struct vsock_hdr h;
		vsock_hdr_decode(vt_ptr(&f->t, hb[i]), &h);
		assert_int_equal(h.op, VSOCK_OP_RW);
		assert_int_equal(len, VSOCK_HDR_LEN + h.len);
		assert_true(h.len <= 1100);
		uint32_t a = h.len < 100 ? h.len : 100;
		memcpy(got + have, vt_ptr(&f->t, p1[i]), a);
		memcpy(got + have + a, vt_ptr(&f->t, p2[i]), h.len - a);
		have += h.len;
	}
	assert_int_equal(have, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	/* Header-only buffer: no room for data, nothing delivered, no hang, no reset. */
	struct vt_buf tiny[] = {{vt_alloc(&f->t, VSOCK_HDR_LEN, 8), VSOCK_HDR_LEN, true}};
	rx_post(f, tiny, 1);
	assert_int_equal(write(afd, "more", 4), 4);
	pump(f);
	assert_false(vt_used(&f->t, &f->q[0], &id, &len));
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	close(afd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_cid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_initiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_bad_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_initiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_and_credit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_sends_transport_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_partial_write_keeps_remainder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_hostile_chains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_split_buffers, setup_norx, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
