/* SPDX-License-Identifier: Apache-2.0 */
/* test_describe: --describe-snapshot output on an intact, a damaged and a hopeless file. */
#include "snap_test.h"

#include <errno.h>

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

static char *describe(const char *path, int *rc)
{
	static char out[8192];
	FILE *f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	*rc = snapshot_describe(path, f);
	fclose(f);
	return out;
}

static void make_pair(struct snap_create_req *r, struct gmem *m)
{
	struct snap_error e;
	struct sbuf p;
	test_gmem(m, 4);
	memset(m->r[0].host + 8192, 7, 10);
	memset(r, 0, sizeof(*r));
	snprintf(r->snapshot_path, sizeof(r->snapshot_path), "%s/vm1.snap", dir);
	snprintf(r->mem_file_path, sizeof(r->mem_file_path), "%s/vm1.mem", dir);
	sbuf_init(&p);
	test_payload_head(&p, 2, 4);
	assert_int_equal(snap_write_pair(r, true, &p, m, NULL, &e), 0);
	sbuf_free(&p);
}

static void test_describe_ok_and_damaged(void **state)
{
	struct snap_create_req r;
	struct gmem m;
	int rc;
	char want[VM_PATH_MAX + 128];
	make_pair(&r, &m);
	char *out = describe(r.snapshot_path, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want),
		 "state file: %s\n"
		 "magic: 0x0710198486640000\n"
		 "version: 1.0.0\n",
		 r.snapshot_path);
	assert_memory_equal(out, want, strlen(want));
	assert_non_null(strstr(out, "\nvcpu_count: 2\n"));
	assert_non_null(strstr(out, "\nmem_size_mib: 4\n"));
	assert_non_null(strstr(out, "\ntrack_dirty_pages: true\n"));
	assert_non_null(strstr(out, "\nsnapshot_type: Full\n"));
	assert_non_null(strstr(out,
			       "\ndevices: 2\n  - serial: ttyS0 (mmio 0x0, irq 4, 4 bytes)\n"
			       "  - virtio-block: rootfs (mmio 0xd0000000, irq 5, 8 bytes)\n"));
	assert_non_null(strstr(out, "\nmmds_present: yes\n"));
	snprintf(want, sizeof(want), "\nmemory file: %s (4194304 bytes, pair ok)\n",
		 r.mem_file_path);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\ncrc_ok: yes\n"));
	/* damage one byte of the trailer: exit 2, still described, crc_ok NO */
	size_t n;
	uint8_t *b = test_read_file(r.snapshot_path, &n);
	b[n - 3] ^= 0x10;
	test_write_file(r.snapshot_path, b, n);
	out = describe(r.snapshot_path, &rc);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "\nvcpu_count: 2\n"));
	assert_non_null(strstr(out, "\ncrc_ok: NO\n"));
	/* damage inside the payload structure too: exit 2, the error is shown */
	b[30] ^= 0xff;
	test_write_file(r.snapshot_path, b, n);
	out = describe(r.snapshot_path, &rc);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "\nerror: snapshot is from a different VMM"));
	assert_non_null(strstr(out, "\ncrc_ok: NO\n"));
	free(b);
	/* memory file missing: rewrite a good pair, then remove only the memory file */
	test_gmem_free(&m);
	make_pair(&r, &m);
	unlink(r.mem_file_path);
	out = describe(r.snapshot_path, &rc);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "\nmemory file: %s (MISSING)\n", r.mem_file_path);
	assert_non_null(strstr(out, want));
	test_gmem_free(&m);
}

static void test_describe_unreadable(void **state)
{
	char p[700];
	int rc;
	snprintf(p, sizeof(p), "%s/none.snap", dir);
	char *out = describe(p, &rc);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "error: snapshot I/O error: No such file or directory"));
	/* another architecture's magic with a valid CRC: not a CRC failure, exit 1 */
	struct sbuf f;
	sbuf_init(&f);
	snap_envelope_encode_ex(SNAP_MAGIC_AARCH64, "1.0.0", (const uint8_t *)"", 0, &f);
	snprintf(p, sizeof(p), "%s/arm.snap", dir);
	test_write_file(p, f.data, f.len);
	sbuf_free(&f);
	out = describe(p, &rc);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "magic: 0x07101984aaaa0000\n"));
	assert_non_null(strstr(out, "crc_ok: yes\n"));
}

static void test_mem_path_guess(void **state)
{
	char out[64];
	assert_int_equal(snapshot_mem_path_guess("/a/vm.snap", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/vm.mem");
	assert_int_equal(snapshot_mem_path_guess("/a.b/vm", out, sizeof(out)), 0);
	assert_string_equal(out, "/a.b/vm.mem");
	assert_int_equal(snapshot_mem_path_guess("/a/.hidden", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/.hidden.mem");
	assert_int_equal(snapshot_mem_path_guess("x.vmstate", out, sizeof(out)), 0);
	assert_string_equal(out, "x.mem");
	assert_int_equal(snapshot_mem_path_guess("x.vmstate", out, 5), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_describe_ok_and_damaged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_describe_unreadable, setup, teardown),
	    cmocka_unit_test(test_mem_path_guess),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
