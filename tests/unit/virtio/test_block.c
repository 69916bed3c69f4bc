/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for virtio-blk: reads/writes reach the file, read-only, flush, GET_ID, swaps,
 * Sync merging of adjacent requests. */
#include "vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/block.h"

#define DISK (1 << 20)

struct bfix {
	struct vt t;
	struct vt_q q;
	struct dev *d;
	char path[64];
	char path2[64];
	uint64_t hdr, data, st;
};

static void make_file(const char *path, size_t size, uint8_t seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + seed + i / 512);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

static int fix_setup(void **state, bool ro, enum cache_type cache, enum io_engine eng)
{
	struct bfix *f = calloc(1, sizeof(*f));
	vt_init(&f->t);
	snprintf(f->path, sizeof(f->path), "/tmp/squib-vblk-%d.img", getpid());
	snprintf(f->path2, sizeof(f->path2), "/tmp/squib-vblk2-%d.img", getpid());
	make_file(f->path, DISK, 1);
	struct drive_cfg c = {0};
	snprintf(c.drive_id, sizeof(c.drive_id), "rootfs");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "%s", f->path);
	c.is_read_only = ro;
	c.cache_type = cache;
	c.io_engine = eng;
	struct virtio_env env = vt_env(&f->t);
	assert_int_equal(virtio_blk_create(&env, &c, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	vt_q_setup(&f->t, &f->q, 64);
	f->hdr = vt_alloc(&f->t, 16, 16);
	f->data = vt_alloc(&f->t, 8192, 4096);
	f->st = vt_alloc(&f->t, 1, 1);
	*state = f;
	return 0;
}

static int setup_rw(void **state)
{
	return fix_setup(state, false, CACHE_WRITEBACK, IO_ENGINE_SYNC);
}

static int setup_ro(void **state)
{
	return fix_setup(state, true, CACHE_UNSAFE, IO_ENGINE_SYNC);
}

static int setup_async(void **state)
{
	return fix_setup(state, false, CACHE_WRITEBACK, IO_ENGINE_ASYNC);
}

static int teardown(void **state)
{
	struct bfix *f = *state;
	f->d->ops->destroy(f->d);
	unlink(f->path);
	unlink(f->path2);
	vt_fini(&f->t);
	free(f);
	return 0;
}

/* Submit one request; returns the status byte and the used length. */
static uint8_t req(struct bfix *f, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used)
{
	uint8_t *h = vt_ptr(&f->t, f->hdr);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)vt_ptr(&f->t, f->st) = 0xee;
	bool in = type != VIRTIO_BLK_T_OUT;
	struct vt_buf b[3] = {{f->hdr, 16, false}, {f->data, len, in}, {f->st, 1, true}};
	int n = 3;
	if (len == 0) {
		b[1] = b[2];
		n = 2;
	}
	uint16_t head = vt_add(&f->t, &f->q, b, n);
	vt_kick(f->d, 0);
	uint32_t id;
	assert_true(vt_used(&f->t, &f->q, &id, used));
	assert_int_equal(id, head);
	return *(uint8_t *)vt_ptr(&f->t, f->st);
}

static void file_read(const char *path, uint64_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void test_capacity_and_features(void **state)
{
	struct bfix *f = *state;
	uint64_t feat = vt_start(f->d, &f->q, 1, ~0ULL);
	assert_true(feat & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_RO));
	uint64_t cap = 0;
	f->d->ops->read(f->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8);
	assert_int_equal(cap, DISK / 512);
	uint32_t hi = 0;
	f->d->ops->read(f->d, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&hi, 4);
	assert_int_equal(hi, 0);
}

static void test_read(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 3, 2048, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 2049);
	uint8_t want[2048];
	file_read(f->path, 3 * 512, want, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, f->data), want, sizeof(want));
	assert_int_equal(f->t.irq_level, 1);
}

static void test_write_reaches_file(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	memset(vt_ptr(&f->t, f->data), 0x5a, 1024);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, 10, 1024, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	uint8_t got[1024], want[1024];
	memset(want, 0x5a, sizeof(want));
	file_read(f->path, 10 * 512, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(got));
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, &used), VIRTIO_BLK_S_OK);
	/* Read it back through the device. */
	memset(vt_ptr(&f->t, f->data), 0, 1024);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 10, 1024, &used), VIRTIO_BLK_S_OK);
	assert_memory_equal(vt_ptr(&f->t, f->data), want, sizeof(want));
}

static void test_read_only(void **state)
{
	struct bfix *f = *state;
	uint64_t feat = vt_start(f->d, &f->q, 1, ~0ULL);
	assert_true(feat & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(feat & (1ULL << VIRTIO_BLK_F_FLUSH));
	uint8_t before[1024], after[1024];
	file_read(f->path, 0, before, sizeof(before));
	memset(vt_ptr(&f->t, f->data), 0x77, 1024);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, 0, 1024, &used), VIRTIO_BLK_S_IOERR);
	file_read(f->path, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
	/* Reads still work; flush on an Unsafe drive succeeds. */
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 0, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, &used), VIRTIO_BLK_S_OK);
}

static void test_get_id_and_unsupported(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	memset(vt_ptr(&f->t, f->data), 0xff, 20);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_GET_ID, 0, 20, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	char want[20] = "rootfs";
	assert_memory_equal(vt_ptr(&f->t, f->data), want, 20);
	assert_int_equal(req(f, 77, 0, 512, &used), VIRTIO_BLK_S_UNSUPP);
}

static void test_bad_ranges(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, DISK / 512 - 1, 1024, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 0xffffffffffffffffULL, 512, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 0, 100, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, DISK / 512, 512, &used), VIRTIO_BLK_S_IOERR);
	/* A chain with no status byte is returned with length 0, the device keeps working. */
	struct vt_buf b[] = {{f->hdr, 16, false}};
	vt_add(&f->t, &f->q, b, 1);
	vt_kick(f->d, 0);
	uint32_t id;
	assert_true(vt_used(&f->t, &f->q, &id, &used));
	assert_int_equal(used, 0);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 0, 512, &used), VIRTIO_BLK_S_OK);
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_path_swap(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	make_file(f->path2, 2 * DISK, 9);
	uint32_t gen = vt_rd(f->d, VIRTIO_MMIO_CONFIG_GEN);
	assert_int_equal(virtio_blk_update(f->d, "/nonexistent/x.img", NULL), -ENOENT);
	assert_int_equal(virtio_blk_update(f->d, f->path2, NULL), 0);
	assert_int_equal(vt_rd(f->d, VIRTIO_MMIO_CONFIG_GEN), gen + 1);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_INT_STATUS) & VIRTIO_INT_CONFIG);
	uint64_t cap = 0;
	f->d->ops->read(f->d, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8);
	assert_int_equal(cap, 2 * DISK / 512);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, DISK / 512 + 1, 512, &used), VIRTIO_BLK_S_OK);
	uint8_t want[512];
	file_read(f->path2, DISK + 512, want, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, f->data), want, sizeof(want));
}

static void test_save_restore(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 0, 512, &used), VIRTIO_BLK_S_OK);
	struct vwr w = {0};
	struct vdev *vd = vdev_from_dev(f->d, VIRTIO_KIND_BLOCK);
	assert_non_null(vd);
	assert_int_equal(vdev_save(vd, &w), 0);
	/* A fresh device from the same config picks up where the old one stopped. */
	struct drive_cfg c = ((struct vblk *)vd)->cfg;
	f->d->ops->destroy(f->d);
	struct virtio_env env = vt_env(&f->t);
	assert_int_equal(virtio_blk_create(&env, &c, VIRTIO_MMIO_BASE, 5, &f->d), 0);
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len), 0);
	assert_true(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 1, 512, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 513);
	/* Truncated state is refused. */
	assert_int_equal(f->d->ops->restore(f->d, w.buf, w.len - 3), -EINVAL);
	free(w.buf);
}

static void test_async_engine(void **state)
{
	struct bfix *f = *state;
#ifdef HAVE_LIBURING
	/* io_uring must really be in use here (the fallback is only for refusing kernels). */
	assert_non_null(((struct vblk *)f->d->priv)->aio);
#endif
	vt_start(f->d, &f->q, 1, ~0ULL);
	memset(vt_ptr(&f->t, f->data), 0x3c, 4096);
	uint32_t used;
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, 8, 4096, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, &used), VIRTIO_BLK_S_OK);
	uint8_t got[4096], want[4096];
	memset(want, 0x3c, sizeof(want));
	file_read(f->path, 8 * 512, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(got));
	memset(vt_ptr(&f->t, f->data), 0, 4096);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 8, 4096, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	assert_memory_equal(vt_ptr(&f->t, f->data), want, sizeof(want));
	assert_int_equal(req(f, VIRTIO_BLK_T_GET_ID, 0, 20, &used), VIRTIO_BLK_S_OK);
}

static void test_async_engine_evloop(void **state)
{
	struct vt t;
	vt_init(&t);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/squib-vblk3-%d.img", getpid());
	make_file(path, DISK, 3);
	struct evloop *loop;
	assert_int_equal(evloop_create(&loop), 0);
	struct drive_cfg c = {.io_engine = IO_ENGINE_ASYNC, .cache_type = CACHE_WRITEBACK};
	snprintf(c.drive_id, sizeof(c.drive_id), "scratch");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "%s", path);
	struct virtio_env env = vt_env(&t);
	env.loop = loop;
	struct dev *d;
	assert_int_equal(virtio_blk_create(&env, &c, VIRTIO_MMIO_BASE, 5, &d), 0);
	struct vt_q q;
	vt_q_setup(&t, &q, 64);
	vt_start(d, &q, 1, ~0ULL);
	/* Eight reads in flight at once, completed through the evloop eventfd. */
	uint64_t hdr = vt_alloc(&t, 16 * 8, 16), data = vt_alloc(&t, 4096 * 8, 4096);
	uint64_t st = vt_alloc(&t, 8, 1);
	for (int i = 0; i < 8; i++) {
		uint8_t *h = vt_ptr(&t, hdr + 16 * i);
		memset(h, 0, 16);
		uint64_t sector = 8ULL * i;
		memcpy(h + 8, &sector, 8);
		struct vt_buf b[] = {
		    {hdr + 16 * i, 16, false}, {data + 4096ULL * i, 4096, true}, {st + i, 1, true}};
		vt_add(&t, &q, b, 3);
	}
	vt_kick(d, 0);
	int done = 0;
	uint32_t id, len;
	for (int k = 0; k < 100 && done < 8; k++) {
		evloop_run_once(loop, 10);
		while (vt_used(&t, &q, &id, &len)) {
			assert_int_equal(len, 4097);
			done++;
		}
	}
	assert_int_equal(done, 8);
	uint8_t want[4096];
	file_read(path, 7 * 4096, want, sizeof(want));
	assert_memory_equal(vt_ptr(&t, data + 7 * 4096), want, sizeof(want));
	assert_int_equal(*(uint8_t *)vt_ptr(&t, st + 7), VIRTIO_BLK_S_OK);
	d->ops->destroy(d);
	evloop_destroy(loop);
	unlink(path);
	vt_fini(&t);
}

/* Post one request (header at hdr, data at data, status byte at st) without a kick. */
static uint16_t post(struct bfix *f, uint64_t hdr, uint32_t type, uint64_t sector, uint64_t data,
		     uint32_t len, uint64_t st)
{
	uint8_t *h = vt_ptr(&f->t, hdr);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)vt_ptr(&f->t, st) = 0xee;
	struct vt_buf b[3] = {
	    {hdr, 16, false}, {data, len, type != VIRTIO_BLK_T_OUT}, {st, 1, true}};
	return vt_add(&f->t, &f->q, b, 3);
}

/* n requests posted at once; their header, data (each 4 KiB apart plus a gap, so the guest
 * buffers are not contiguous) and status slots. */
struct batch {
	uint64_t hdr, data, st;
	uint16_t head[40];
};

static void batch_alloc(struct bfix *f, struct batch *b, int n)
{
	b->hdr = vt_alloc(&f->t, 16ULL * n, 16);
	b->data = vt_alloc(&f->t, 8192ULL * n, 4096);
	b->st = vt_alloc(&f->t, (uint64_t)n, 1);
}

static uint64_t bdata(const struct batch *b, int i)
{
	return b->data + 8192ULL * i;
}

/* Expect the next n used entries to be b's heads in order with the given lengths/statuses. */
static void expect_used(struct bfix *f, const struct batch *b, int first, int n, uint32_t len,
			uint8_t status)
{
	for (int i = first; i < first + n; i++) {
		uint32_t id, used;
		assert_true(vt_used(&f->t, &f->q, &id, &used));
		assert_int_equal(id, b->head[i]);
		assert_int_equal(used, len);
		assert_int_equal(*(uint8_t *)vt_ptr(&f->t, b->st + i), status);
	}
}

static uint64_t merged(struct bfix *f)
{
	return ((struct vblk *)f->d->priv)->merged;
}

/* Adjacent reads of one notification move together and still complete one by one, in order. */
static void test_merged_reads(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	struct batch b;
	batch_alloc(f, &b, 5);
	for (int i = 0; i < 5; i++)
		b.head[i] = post(f, b.hdr + 16 * i, VIRTIO_BLK_T_IN, 8 + 8 * i, bdata(&b, i), 4096,
				 b.st + i);
	vt_kick(f->d, 0);
	expect_used(f, &b, 0, 5, 4097, VIRTIO_BLK_S_OK);
	assert_int_equal(merged(f), 4);
	uint8_t want[4096];
	for (int i = 0; i < 5; i++) {
		file_read(f->path, (8 + 8 * i) * 512ULL, want, sizeof(want));
		assert_memory_equal(vt_ptr(&f->t, bdata(&b, i)), want, sizeof(want));
	}
	assert_int_equal(f->t.irq_raises, 1); /* one interrupt for the whole notification */
}

/* Requests that are not adjacent (gap, backwards) or change direction are not merged; a
 * read after writes of the same range sees the written data; a flush keeps its place. */
static void test_merge_boundaries(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	struct batch b;
	batch_alloc(f, &b, 7);
	memset(vt_ptr(&f->t, bdata(&b, 0)), 0x11, 4096);
	memset(vt_ptr(&f->t, bdata(&b, 1)), 0x22, 4096);
	b.head[0] = post(f, b.hdr, VIRTIO_BLK_T_OUT, 64, bdata(&b, 0), 4096, b.st);
	b.head[1] = post(f, b.hdr + 16, VIRTIO_BLK_T_OUT, 72, bdata(&b, 1), 4096, b.st + 1);
	b.head[2] = post(f, b.hdr + 32, VIRTIO_BLK_T_FLUSH, 0, bdata(&b, 2), 0, b.st + 2);
	b.head[3] = post(f, b.hdr + 48, VIRTIO_BLK_T_IN, 64, bdata(&b, 3), 4096, b.st + 3);
	b.head[4] = post(f, b.hdr + 64, VIRTIO_BLK_T_IN, 72, bdata(&b, 4), 4096, b.st + 4);
	b.head[5] = post(f, b.hdr + 80, VIRTIO_BLK_T_IN, 0, bdata(&b, 5), 512, b.st + 5);
	b.head[6] = post(f, b.hdr + 96, VIRTIO_BLK_T_IN, 16, bdata(&b, 6), 512, b.st + 6);
	vt_kick(f->d, 0);
	expect_used(f, &b, 0, 2, 1, VIRTIO_BLK_S_OK);
	expect_used(f, &b, 2, 1, 1, VIRTIO_BLK_S_OK);
	expect_used(f, &b, 3, 2, 4097, VIRTIO_BLK_S_OK);
	expect_used(f, &b, 5, 2, 513, VIRTIO_BLK_S_OK);
	assert_int_equal(merged(f), 2); /* write 72 joins 64, read 72 joins 64; 0 and 16 alone */
	uint8_t want[4096];
	memset(want, 0x11, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, bdata(&b, 3)), want, sizeof(want));
	memset(want, 0x22, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, bdata(&b, 4)), want, sizeof(want));
	file_read(f->path, 72 * 512, want, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, bdata(&b, 4)), want, sizeof(want));
}

/* A run holds at most BLK_RUN_REQS requests; longer streams are split, none is lost. */
static void test_merge_limit(void **state)
{
	struct bfix *f = *state;
	vt_q_setup(&f->t, &f->q, 128); /* room for 40 chains of 3 descriptors */
	vt_start(f->d, &f->q, 1, ~0ULL);
	struct batch b;
	batch_alloc(f, &b, 40);
	for (int i = 0; i < 40; i++)
		b.head[i] = post(f, b.hdr + 16 * i, VIRTIO_BLK_T_IN, (uint64_t)i, bdata(&b, i), 512,
				 b.st + i);
	vt_kick(f->d, 0);
	expect_used(f, &b, 0, 40, 513, VIRTIO_BLK_S_OK);
	assert_int_equal(merged(f), (BLK_RUN_REQS - 1) + (40 - BLK_RUN_REQS - 1));
	uint8_t want[512];
	for (int i = 0; i < 40; i += 13) {
		file_read(f->path, i * 512ULL, want, sizeof(want));
		assert_memory_equal(vt_ptr(&f->t, bdata(&b, i)), want, sizeof(want));
	}
}

/* If the merged transfer fails, each request is retried alone: only the requests whose own
 * range fails get IOERR (here: the file shrank under the device, past its last 8 KiB). */
static void test_merged_read_failure(void **state)
{
	struct bfix *f = *state;
	vt_start(f->d, &f->q, 1, ~0ULL);
	assert_int_equal(truncate(f->path, DISK - 8192), 0);
	struct batch b;
	batch_alloc(f, &b, 4);
	for (int i = 0; i < 4; i++)
		b.head[i] = post(f, b.hdr + 16 * i, VIRTIO_BLK_T_IN, DISK / 512 - 32 + 8 * i,
				 bdata(&b, i), 4096, b.st + i);
	vt_kick(f->d, 0);
	expect_used(f, &b, 0, 2, 4097, VIRTIO_BLK_S_OK);
	expect_used(f, &b, 2, 2, 1, VIRTIO_BLK_S_IOERR);
	uint8_t want[4096];
	file_read(f->path, DISK - 12288, want, sizeof(want));
	assert_memory_equal(vt_ptr(&f->t, bdata(&b, 1)), want, sizeof(want));
	assert_false(vt_rd(f->d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_capacity_and_features, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_write_reaches_file, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_get_id_and_unsupported, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ranges, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_path_swap, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_merged_reads, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_boundaries, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_limit, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_merged_read_failure, setup_rw, teardown),
	    cmocka_unit_test_setup_teardown(test_async_engine, setup_async, teardown),
	    cmocka_unit_test(test_async_engine_evloop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
