/* SPDX-License-Identifier: Apache-2.0 */
/* test_memfile: sparse Full files, Diff files, rebase == Full, pair ids and their fallback. */
#include "snap_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static char dir[512];
static const char *fail_step;

static int fault_hook(const char *step)
{
	return fail_step && strcmp(step, fail_step) == 0 ? EOPNOTSUPP : 0;
}

static int setup(void **state)
{
	test_tmpdir(dir, sizeof(dir));
	fail_step = NULL;
	snap_fault_hook = fault_hook;
	return 0;
}

static int teardown(void **state)
{
	snap_fault_hook = NULL;
	test_rmtree(dir);
	return 0;
}

static int create(const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	return fd;
}

static void assert_file_equals_ram(const char *path, const struct gmem *m)
{
	size_t len;
	uint8_t *b = test_read_file(path, &len);
	assert_true(len == m->total);
	for (unsigned i = 0; i < m->nr; i++)
		assert_memory_equal(b + m->r[i].file_offset, m->r[i].host, m->r[i].size);
	free(b);
}

static void test_full_sparse(void **state)
{
	struct gmem m;
	struct snap_error e;
	struct stat st;
	char p[600];
	test_gmem(&m, 64);
	int fd = create("full.mem", p, sizeof(p));
	assert_int_equal(snap_memfile_write_full(fd, &m, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size == 64 * TEST_MIB);
	assert_true((uint64_t)st.st_blocks * 512 <=
		    64 * 1024); /* untouched RAM: (almost) all holes */
	/* writing a few pages (and zeroing one again) stores only those */
	memset(m.r[0].host + 5 * PAGE_SIZE, 0x11, 10);
	memset(m.r[0].host + 6 * PAGE_SIZE, 0x22, PAGE_SIZE);
	memset(m.r[0].host + 40 * TEST_MIB, 0x33, 1);
	memset(m.r[0].host + 41 * TEST_MIB, 0x44, 1);
	memset(m.r[0].host + 41 * TEST_MIB, 0, 1); /* resident but zero: stays a hole */
	close(fd);
	fd = create("full.mem", p, sizeof(p));
	assert_int_equal(snap_memfile_write_full(fd, &m, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 >= 3 * PAGE_SIZE);
	assert_true((uint64_t)st.st_blocks * 512 <= 3 * PAGE_SIZE + 64 * 1024);
	close(fd);
	assert_file_equals_ram(p, &m);
	test_gmem_free(&m);
}

static void set_dirty(struct gmem *m, uint64_t gpa, uint8_t v, size_t n)
{
	uint8_t buf[PAGE_SIZE];
	memset(buf, v, sizeof(buf));
	assert_int_equal(gmem_write(m, gpa, buf, n), 0);
}

static void test_diff_and_rebase(void **state)
{
	struct gmem m;
	struct snap_error e;
	struct stat st;
	char base[600], diff[600], full[600];
	test_gmem(&m, 16);
	/* base: some data */
	for (uint64_t a = 0; a < m.total; a += 7 * PAGE_SIZE)
		memset(m.r[0].host + a, (int)(a / PAGE_SIZE) | 1, 64);
	int fd = create("base.mem", base, sizeof(base));
	assert_int_equal(snap_memfile_write_full(fd, &m, &e), 0);
	close(fd);
	/* dirty a few pages through the VMM path (marks m.dirty), one of them back to zero */
	memset(m.dirty, 0, (m.total / PAGE_SIZE / 64 + 1) * 8);
	set_dirty(&m, 3 * PAGE_SIZE, 0xab, 100);
	set_dirty(&m, 4 * PAGE_SIZE, 0xcd, PAGE_SIZE);
	set_dirty(&m, 7 * PAGE_SIZE, 0x00, PAGE_SIZE); /* was data in base, now zero */
	set_dirty(&m, 15 * TEST_MIB, 0xef, 1);
	/* a write the bitmap does not know about must not reach the diff */
	memset(m.r[0].host + 9 * TEST_MIB, 0x77, 8);
	fd = create("diff.mem", diff, sizeof(diff));
	assert_int_equal(snap_memfile_write_diff(fd, &m, m.dirty, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size == m.total);
	assert_true((uint64_t)st.st_blocks * 512 <= 4 * PAGE_SIZE + 64 * 1024);
	/* data extents are exactly the dirty pages */
	assert_int_equal(lseek(fd, 0, SEEK_DATA), 3 * PAGE_SIZE);
	assert_int_equal(lseek(fd, 3 * PAGE_SIZE, SEEK_HOLE), 5 * PAGE_SIZE);
	assert_int_equal(lseek(fd, 5 * PAGE_SIZE, SEEK_DATA), 7 * PAGE_SIZE);
	assert_int_equal(lseek(fd, 7 * PAGE_SIZE, SEEK_HOLE), 8 * PAGE_SIZE);
	assert_int_equal(lseek(fd, 8 * PAGE_SIZE, SEEK_DATA), 15 * TEST_MIB);
	close(fd);
	/* undo the untracked write so the Full reference matches what the diff knows */
	memset(m.r[0].host + 9 * TEST_MIB, 0, 8);
	fd = create("full.mem", full, sizeof(full));
	assert_int_equal(snap_memfile_write_full(fd, &m, &e), 0);
	close(fd);
	assert_int_equal(snapshot_rebase(diff, base, &e), 0);
	size_t lb, lf;
	uint8_t *b = test_read_file(base, &lb), *f = test_read_file(full, &lf);
	assert_true(lb == lf);
	assert_memory_equal(b, f, lb);
	free(b);
	free(f);
	test_gmem_free(&m);
}

/* Guest RAM above 3 GiB: two regions, the second at file offset 3 GiB (sparse memfd). */
static void test_two_regions(void **state)
{
	struct gmem m;
	struct snap_error e;
	struct stat st;
	char p[600];
	uint8_t b[4];
	test_gmem(&m, 3 * 1024 + 8);
	assert_int_equal(m.nr, 2);
	assert_int_equal(gmem_write(&m, 0x1000, "lo", 2), 0);
	assert_int_equal(gmem_write(&m, (4ULL << 30) + 0x3000, "hi", 2), 0);
	int fd = create("full.mem", p, sizeof(p));
	assert_int_equal(snap_memfile_write_full(fd, &m, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size == m.total);
	assert_true((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	assert_int_equal(pread(fd, b, 2, 0x1000), 2);
	assert_memory_equal(b, "lo", 2);
	assert_int_equal(pread(fd, b, 2, (3ULL << 30) + 0x3000), 2);
	assert_memory_equal(b, "hi", 2);
	close(fd);
	/* Diff: the VMM-side bitmap marked exactly those two pages */
	fd = create("diff.mem", p, sizeof(p));
	assert_int_equal(snap_memfile_write_diff(fd, &m, m.dirty, &e), 0);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), 0x1000);
	assert_int_equal(lseek(fd, 0x1000, SEEK_HOLE), 0x2000);
	assert_true(lseek(fd, 0x2000, SEEK_DATA) == (off_t)((3ULL << 30) + 0x3000));
	assert_int_equal(pread(fd, b, 2, (3ULL << 30) + 0x3000), 2);
	assert_memory_equal(b, "hi", 2);
	close(fd);
	test_gmem_free(&m);
}

static void test_rebase_errors(void **state)
{
	struct snap_error e;
	char a[600], b[600];
	close(create("a.mem", a, sizeof(a)));
	int fd = create("b.mem", b, sizeof(b));
	assert_int_equal(ftruncate(fd, 8192), 0);
	close(fd);
	assert_int_equal(snapshot_rebase(a, b, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_INVALID_PATH);
	assert_string_equal(e.msg, "invalid snapshot path: memory file sizes differ (diff: 0 "
				   "bytes, base: 8192 bytes)");
	snprintf(b, sizeof(b), "%s/missing.mem", dir);
	assert_int_equal(snapshot_rebase(a, b, &e), -ENOENT);
	assert_string_equal(e.msg, "memory file I/O error: No such file or directory (os error 2)");
	char *argv[] = {"rebase", a};
	assert_int_equal(snapshot_rebase_main(2, argv), 2);
	char *argv2[] = {"rebase", a, b};
	assert_int_equal(snapshot_rebase_main(3, argv2), 1);
}

static void test_pair_id(void **state)
{
	struct snap_error e;
	uint8_t id[16], other[16], got[16];
	char p[600], sib[700];
	int fd2;
	uint64_t size;
	assert_int_equal(snap_pair_id_new(id), 0);
	assert_int_equal(snap_pair_id_new(other), 0);
	assert_memory_not_equal(id, other, 16);
	int fd = create("m.mem", p, sizeof(p));
	assert_int_equal(snap_pair_id_set_fd(fd, id), 0);
	assert_int_equal(fgetxattr(fd, SNAP_PAIR_XATTR, got, 16), 16);
	assert_memory_equal(got, id, 16);
	close(fd);
	assert_int_equal(snap_mem_open(p, id, &fd2, &size, &e), 0);
	close(fd2);
	/* a different id: PairMismatch, 400, exact message */
	assert_int_equal(snap_mem_open(p, other, &fd2, &size, &e), -EINVAL);
	assert_int_equal(fd2, -1);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	assert_int_equal(e.http_status, 400);
	char want[800];
	snprintf(want, sizeof(want),
		 "memory file \"%s\" is not the pair of this snapshot (pair id mismatch)", p);
	assert_string_equal(e.msg, want);
	/* no id at all (e.g. copied without xattrs): also a mismatch */
	assert_int_equal(removexattr(p, SNAP_PAIR_XATTR), 0);
	assert_int_equal(snap_mem_open(p, id, &fd2, &size, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	/* fallback sibling */
	fd = open(p, O_RDWR);
	fail_step = "xattr.set";
	assert_int_equal(snap_pair_id_set_fd(fd, id), -ENOTSUP);
	fail_step = NULL;
	close(fd);
	snprintf(sib, sizeof(sib), "%s.pairid", p);
	char hex[40];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	hex[32] = '\n';
	test_write_file(sib, hex, 33);
	assert_int_equal(snap_mem_open(p, id, &fd2, &size, &e), 0);
	close(fd2);
	/* corrupt sibling: mismatch */
	hex[0] = 'Z';
	test_write_file(sib, hex, 33);
	assert_int_equal(snap_mem_open(p, id, &fd2, &size, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	/* missing memory file: MemoryIo */
	snprintf(sib, sizeof(sib), "%s/none.mem", dir);
	assert_int_equal(snap_mem_open(sib, id, &fd2, &size, &e), -ENOENT);
	assert_int_equal(e.variant, SNAP_E_MEMORY_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full_sparse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diff_and_rebase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_regions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rebase_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pair_id, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
