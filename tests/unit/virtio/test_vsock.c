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

static int setup(void **state)
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

static void tx_send(struct sfix *f, uint32_t src_port, uint32_t dst_port, uint16_t op,
		    uint32_t flags, const void *data, uint32_t len)
{
	uint64_t buf = vt_alloc(&f->t, VSOCK_HDR_LEN + len + 1, 8);
	uint8_t *p = vt_ptr(&f->t, buf);
	uint64_t cids[2] = {3, 2};
	uint32_t ports[3] = {src_port, dst_port, len};
	uint16_t to[2] = {VSOCK_TYPE_STREAM, op};
	uint32_t cr[3] = {flags, 65536, 0};
	memcpy(p, cids, 16);
	memcpy(p + 16, ports, 12);
	memcpy(p + 28, to, 4);
	memcpy(p + 32, cr, 12);
	if (len)
		memcpy(p + VSOCK_HDR_LEN, data, len);
	struct vt_buf b[] = {{buf, VSOCK_HDR_LEN, false}, {buf + VSOCK_HDR_LEN, len, false}};
	vt_add(&f->t, &f->q[1], b, len ? 2 : 1);
	vt_kick(f->d, 1);
	uint32_t id, ulen;
	assert_true(vt_used(&f->t, &f->q[1], &id, &ulen));
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

static void test_guest_initiated(void **state)
{
	struct sfix *f = *state;
	char lpath[100];
	snprintf(lpath, sizeof(lpath), "%s_1234", f->path);
	unlink(lpath);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lpath);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	tx_send(f, 999, 1234, VSOCK_OP_REQUEST, 0, NULL, 0);
	struct vsock_hdr h;
	assert_true(rx_next(f, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(h.dst_port, 999);
	int afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
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
	unlink(lpath);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_cid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_initiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_bad_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_initiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_and_credit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_sends_transport_reset, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
