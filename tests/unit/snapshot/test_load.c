/* SPDX-License-Identifier: Apache-2.0 */
/* test_load: opening a pair for restore (pair mismatch, size check) and MAP_PRIVATE mapping. */
#include "snap_test.h"

#include <errno.h>
#include <fcntl.h>

static char dir[512];

static int setup(void **state)
{
	test_tmpdir(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	test_rmtree(dir);
	return 0;
}

/* Write pair <name>.snap/.mem of a 4 MiB guest whose page p starts with seed+p. */
static void make_pair(const char *name, uint8_t seed, struct snap_load_req *lr)
{
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	struct sbuf p;
	test_gmem(&m, 4);
	for (uint64_t pg = 0; pg < m.total / PAGE_SIZE; pg += 2)
		m.r[0].host[pg * PAGE_SIZE] = (uint8_t)(seed + pg);
	memset(&r, 0, sizeof(r));
	snprintf(r.snapshot_path, sizeof(r.snapshot_path), "%s/%s.snap", dir, name);
	snprintf(r.mem_file_path, sizeof(r.mem_file_path), "%s/%s.mem", dir, name);
	sbuf_init(&p);
	test_payload_head(&p, 1, 4);
	assert_int_equal(snap_write_pair(&r, false, &p, &m, NULL, &e), 0);
	sbuf_free(&p);
	test_gmem_free(&m);
	memset(lr, 0, sizeof(*lr));
	strcpy(lr->snapshot_path, r.snapshot_path);
	strcpy(lr->mem_path, r.mem_file_path);
}

static void test_load_and_map(void **state)
{
	struct snap_load_req a, b;
	struct snap_error e;
	static struct snap_state_view v;
	uint8_t *payload;
	size_t len;
	int fd;
	struct gmem m;
	make_pair("a", 1, &a);
	make_pair("b", 2, &b);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), 0);
	assert_true(fd >= 0);
	assert_int_equal(v.n_vcpus, 1);
	assert_int_equal(snap_mem_map(fd, &v.mem, &m, &e), 0);
	assert_true(m.total == 4 * TEST_MIB);
	assert_int_equal(m.nr, 1);
	for (uint64_t pg = 0; pg < m.total / PAGE_SIZE; pg++)
		assert_int_equal(m.r[0].host[pg * PAGE_SIZE], pg % 2 ? 0 : (uint8_t)(1 + pg));
	/* guest writes are private: the memory file does not change */
	assert_int_equal(gmem_write(&m, 0, "XYZ", 3), 0);
	uint8_t first;
	assert_int_equal(pread(fd, &first, 1, 0), 1);
	assert_int_equal(first, 1);
	gmem_free(&m);
	free(payload);
	/* a's state with b's memory: refused */
	strcpy(a.mem_path, b.mem_path);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	assert_null(payload);
	assert_int_equal(fd, -1);
	char want[VM_PATH_MAX + 128];
	snprintf(want, sizeof(want),
		 "memory file \"%s\" is not the pair of this snapshot (pair id mismatch)",
		 b.mem_path);
	assert_string_equal(e.msg, want);
	/* Uffd backend: state only, no memory file opened */
	a.backend = SNAP_MEM_UFFD;
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), 0);
	assert_int_equal(fd, -1);
	free(payload);
}

/* A restored VM (RAM = MAP_PRIVATE file mapping) snapshots again: pages written after the
 * restore live outside the file and must still reach the new memory file. */
static void test_resnapshot_restored(void **state)
{
	struct snap_load_req a;
	struct snap_error e;
	static struct snap_state_view v;
	uint8_t *payload, b[2];
	size_t len;
	int fd;
	struct gmem m;
	char p[700];
	make_pair("a", 1, &a);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), 0);
	assert_int_equal(snap_mem_map(fd, &v.mem, &m, &e), 0);
	assert_int_equal(gmem_write(&m, 3 * PAGE_SIZE + 5, "RW", 2), 0); /* was a hole */
	snprintf(p, sizeof(p), "%s/again.mem", dir);
	int out = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	assert_int_equal(snap_memfile_write_full(out, &m, &e), 0);
	assert_int_equal(pread(out, b, 2, 3 * PAGE_SIZE + 5), 2);
	assert_memory_equal(b, "RW", 2);
	assert_int_equal(pread(out, b, 1, 2 * PAGE_SIZE), 1);
	assert_int_equal(b[0], 3); /* seed 1 + page 2, from the file */
	close(out);
	gmem_free(&m);
	free(payload);
}

static void test_load_errors(void **state)
{
	struct snap_load_req a;
	struct snap_error e;
	static struct snap_state_view v;
	uint8_t *payload;
	size_t len;
	int fd;
	make_pair("a", 1, &a);
	/* truncated memory file (pair id still right) */
	assert_int_equal(truncate(a.mem_path, 4096), 0);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), -EIO);
	assert_string_equal(e.msg, "snapshot capture/restore failure: memory file size 4096 "
				   "differs from the snapshot's 4194304 bytes");
	assert_int_equal(fd, -1);
	/* damaged state file */
	size_t n;
	uint8_t *b = test_read_file(a.snapshot_path, &n);
	b[n / 2] ^= 4;
	test_write_file(a.snapshot_path, b, n);
	free(b);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_CRC_MISMATCH);
	assert_null(payload);
	/* missing memory file */
	make_pair("c", 1, &a);
	unlink(a.mem_path);
	assert_int_equal(snap_load_open(&a, &payload, &len, &v, &fd, &e), -ENOENT);
	assert_string_equal(e.msg, "memory file I/O error: No such file or directory (os error 2)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load_and_map, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resnapshot_restored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
