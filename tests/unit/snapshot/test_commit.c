/* SPDX-License-Identifier: Apache-2.0 */
/* test_commit: path validation, atomic pair create (failures, rollback, ENOSPC, cross-fs),
 * state-file reading with the size limit. */
#include "snap_test.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define MEM_MIB 4

static char dir[512];
/* Up to two injected faults: step name and the errno it fails with. */
static const char *fail_step[2];
static int fail_errno[2];

static int fault_hook(const char *step)
{
	for (int i = 0; i < 2; i++)
		if (fail_step[i] && strcmp(step, fail_step[i]) == 0)
			return fail_errno[i];
	return 0;
}

static void faults_clear(void)
{
	fail_step[0] = fail_step[1] = NULL;
}

static int setup(void **state)
{
	test_tmpdir(dir, sizeof(dir));
	snap_fault_hook = fault_hook;
	faults_clear();
	return 0;
}

static int teardown(void **state)
{
	snap_fault_hook = NULL;
	test_rmtree(dir);
	return 0;
}

static void req_init(struct snap_create_req *r, const char *d, const char *name, enum snap_type t)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->snapshot_path, sizeof(r->snapshot_path), "%s/%s.snap", d, name);
	snprintf(r->mem_file_path, sizeof(r->mem_file_path), "%s/%s.mem", d, name);
	r->type = t;
}

/* Write a Full pair of gmem m with 1 vCPU. */
static int write_pair(const struct snap_create_req *r, const struct gmem *m, bool track,
		      const uint64_t *dirty, struct snap_error *e)
{
	struct sbuf p;
	sbuf_init(&p);
	test_payload_head(&p, 1, m->total / TEST_MIB);
	snap_error_clear(e);
	int rc = snap_write_pair(r, track, &p, m, dirty, e);
	sbuf_free(&p);
	return rc;
}

/* Load the pair back: state checks, pair check, memory equal to m. Returns the pair id. */
static void check_pair(const struct snap_create_req *r, const struct gmem *m, uint8_t id[16])
{
	uint8_t *payload;
	size_t len;
	struct snap_error e;
	static struct snap_state_view v;
	int fd;
	uint64_t size;
	assert_int_equal(snap_read_state(r->snapshot_path, &payload, &len, &e), 0);
	assert_int_equal(snap_payload_parse(payload, len, &v, &e), 0);
	assert_int_equal(snap_mem_open(r->mem_file_path, v.mem.pair_id, &fd, &size, &e), 0);
	assert_true(size == m->total);
	assert_true(v.mem.file_size == m->total);
	uint8_t *buf = malloc(m->total);
	assert_int_equal(pread(fd, buf, m->total, 0), (ssize_t)m->total);
	assert_memory_equal(buf, m->r[0].host, m->total);
	free(buf);
	close(fd);
	if (id)
		memcpy(id, v.mem.pair_id, 16);
	free(payload);
}

static void fill(struct gmem *m, uint8_t seed)
{
	for (uint64_t p = 0; p < m->total / PAGE_SIZE; p += 3)
		memset(m->r[0].host + p * PAGE_SIZE, seed + (int)p, 100);
}

static void test_create_load(void **state)
{
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	struct stat st;
	test_gmem(&m, MEM_MIB);
	fill(&m, 1);
	req_init(&r, dir, "a", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), 0);
	check_pair(&r, &m, NULL);
	assert_int_equal(test_count(dir, ".tmp"), 0);
	assert_int_equal(test_count(dir, ""), 2);
	assert_int_equal(stat(r.snapshot_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(r.mem_file_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* overwrite the pair: the new content wins, still no leftovers */
	fill(&m, 9);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), 0);
	check_pair(&r, &m, NULL);
	assert_int_equal(test_count(dir, ""), 2);
	test_gmem_free(&m);
}

static void test_invalid_paths(void **state)
{
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	char nul[] = "/tmp/x\0y.snap";
	test_gmem(&m, MEM_MIB);
	assert_int_equal(snap_path_validate_n(nul, sizeof(nul) - 1, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid snapshot path: path contains a NUL byte");
	/* 4096-byte snapshot path */
	req_init(&r, dir, "a", SNAP_FULL);
	memset(r.snapshot_path, 'a', 4096);
	r.snapshot_path[0] = '/';
	r.snapshot_path[4095] = '\0'; /* 4095 bytes: length ok, but one huge name */
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), -ENAMETOOLONG);
	assert_string_equal(e.msg, "snapshot I/O error: File name too long (os error 36)");
	char longp[4200];
	memset(longp, 'b', 4096);
	longp[4096] = '\0';
	assert_int_equal(snap_path_validate(longp, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid snapshot path: path exceeds 4095 bytes");
	/* '..' component (but "..x" and "x.." are fine) */
	req_init(&r, dir, "a", SNAP_FULL);
	snprintf(r.mem_file_path, sizeof(r.mem_file_path), "%s/../a.mem", dir);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid snapshot path: path contains a '..' component");
	snprintf(longp, sizeof(longp), "%s/..x", dir);
	assert_int_equal(snap_path_validate(longp, &e), 0);
	snprintf(longp, sizeof(longp), "%s/x../y", dir);
	assert_int_equal(snap_path_validate(longp, &e), -EINVAL); /* parent x.. missing */
	assert_non_null(strstr(e.msg, "parent directory does not exist: \""));
	/* missing parent */
	req_init(&r, dir, "nodir/a", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), -EINVAL);
	char want[700];
	snprintf(want, sizeof(want),
		 "invalid snapshot path: parent directory does not exist: "
		 "\"%s/nodir\"",
		 dir);
	assert_string_equal(e.msg, want);
	/* parent is a file */
	req_init(&r, dir, "f", SNAP_FULL);
	test_write_file(r.snapshot_path, "x", 1);
	snprintf(longp, sizeof(longp), "%s/sub.snap", r.snapshot_path);
	assert_int_equal(snap_path_validate(longp, &e), -EINVAL);
	unlink(r.snapshot_path);
	/* Diff without dirty tracking */
	req_init(&r, dir, "a", SNAP_DIFF);
	assert_int_equal(write_pair(&r, &m, false, m.dirty, &e), -EINVAL);
	assert_string_equal(e.msg, "invalid snapshot path: Diff snapshot requested but "
				   "track_dirty_pages is false");
	assert_int_equal(e.http_status, 400);
	/* nothing was created by any of these */
	assert_int_equal(test_count(dir, ""), 0);
	test_gmem_free(&m);
}

/* Each failing step leaves the previous pair intact and no temp file. */
static void test_failure_keeps_previous(void **state)
{
	static const struct {
		const char *step;
		enum snap_err want;
		bool pid; /* use the xattr-less fallback */
	} steps[] = {
	    {"mem.write", SNAP_E_MEMORY_IO, false},
	    {"mem.fsync", SNAP_E_MEMORY_IO, false},
	    {"state.write", SNAP_E_IO, false},
	    {"state.fsync", SNAP_E_IO, false},
	    {"rename.mem", SNAP_E_ATOMIC_COMMIT_FAILED, false},
	    {"rename.state", SNAP_E_ATOMIC_COMMIT_FAILED, false},
	    {"rename.state", SNAP_E_ATOMIC_COMMIT_FAILED, true},
	    {"pairid.write", SNAP_E_MEMORY_IO, true},
	};
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	uint8_t id0[16], id1[16];
	uint8_t *old = malloc(MEM_MIB * TEST_MIB);
	test_gmem(&m, MEM_MIB);
	fill(&m, 1);
	req_init(&r, dir, "a", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), 0);
	check_pair(&r, &m, id0);
	memcpy(old, m.r[0].host, m.total);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		fill(&m, (uint8_t)(50 + i));
		fail_step[0] = steps[i].step;
		fail_errno[0] = EIO;
		if (steps[i].pid) {
			fail_step[1] = "xattr.set";
			fail_errno[1] = EOPNOTSUPP;
		}
		assert_true(write_pair(&r, &m, false, NULL, &e) < 0);
		assert_int_equal(e.variant, steps[i].want);
		assert_non_null(strstr(e.msg, "Input/output error (os error 5)"));
		faults_clear();
		/* previous pair still loads with its own pair id and memory */
		struct gmem cur = m;
		memcpy(m.r[0].host, old, m.total);
		check_pair(&r, &cur, id1);
		assert_memory_equal(id0, id1, 16);
		assert_int_equal(test_count(dir, ".tmp"), 0);
		assert_int_equal(test_count(dir, ""), 2);
	}
	free(old);
	test_gmem_free(&m);
}

/* A state destination that is a directory: rename(2) fails for real, memory rolled back. */
static void test_rename_fails_rollback(void **state)
{
	struct gmem m;
	struct snap_create_req r, r2;
	struct snap_error e;
	uint8_t id0[16], id1[16];
	test_gmem(&m, MEM_MIB);
	fill(&m, 3);
	req_init(&r, dir, "a", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), 0);
	check_pair(&r, &m, id0);
	uint8_t *old = malloc(m.total);
	memcpy(old, m.r[0].host, m.total);
	/* second request: same memory file, state path is a non-empty directory */
	req_init(&r2, dir, "a", SNAP_FULL);
	snprintf(r2.snapshot_path, sizeof(r2.snapshot_path), "%s/dir.snap", dir);
	assert_int_equal(mkdir(r2.snapshot_path, 0700), 0);
	char inner[VM_PATH_MAX + 16];
	snprintf(inner, sizeof(inner), "%s/keep", r2.snapshot_path);
	test_write_file(inner, "k", 1);
	fill(&m, 77);
	assert_true(write_pair(&r2, &m, false, NULL, &e) < 0);
	assert_int_equal(e.variant, SNAP_E_ATOMIC_COMMIT_FAILED);
	assert_int_equal(e.http_status, 500);
	assert_string_equal(e.msg, "atomic commit (rename) failed: Is a directory (os error 21)");
	/* a.mem is the old one again, a.snap still its pair */
	memcpy(m.r[0].host, old, m.total);
	check_pair(&r, &m, id1);
	assert_memory_equal(id0, id1, 16);
	assert_int_equal(test_count(dir, ".tmp"), 0);
	assert_int_equal(test_count(r2.snapshot_path, ""), 1);
	free(old);
	test_gmem_free(&m);
}

/* Diff through the pair writer; Diff without a bitmap; the xattr-less fallback. */
static void test_diff_and_fallback(void **state)
{
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	struct stat st;
	char sib[VM_PATH_MAX + 16];
	test_gmem(&m, MEM_MIB);
	req_init(&r, dir, "d", SNAP_DIFF);
	assert_int_equal(write_pair(&r, &m, true, NULL, &e), -EIO);
	assert_string_equal(
	    e.msg, "snapshot capture/restore failure: Diff snapshot without a dirty bitmap");
	assert_int_equal(test_count(dir, ""), 0);
	assert_int_equal(gmem_write(&m, 8 * PAGE_SIZE, "diffdata", 8), 0);
	assert_int_equal(write_pair(&r, &m, true, m.dirty, &e), 0);
	check_pair(&r, &m, NULL);
	assert_int_equal(stat(r.mem_file_path, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= PAGE_SIZE + 64 * 1024);
	/* the state records the type */
	uint8_t *payload;
	size_t len;
	static struct snap_state_view v;
	assert_int_equal(snap_read_state(r.snapshot_path, &payload, &len, &e), 0);
	assert_int_equal(snap_payload_parse(payload, len, &v, &e), 0);
	assert_int_equal(v.mem.type, SNAP_DIFF);
	free(payload);
	/* filesystem without user xattrs: "<mem>.pairid" written in the same commit */
	fail_step[0] = "xattr.set";
	fail_errno[0] = EOPNOTSUPP;
	req_init(&r, dir, "f", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), 0);
	faults_clear();
	snprintf(sib, sizeof(sib), "%s.pairid", r.mem_file_path);
	assert_int_equal(stat(sib, &st), 0);
	{ /* 32 hex digits, the memory file's inode, newline */
		char txt[80] = {0}, want[40];
		struct stat ms;
		FILE *sf = fopen(sib, "re");
		assert_non_null(sf);
		assert_true(fread(txt, 1, sizeof(txt) - 1, sf) > 0);
		fclose(sf);
		assert_int_equal(stat(r.mem_file_path, &ms), 0);
		snprintf(want, sizeof(want), " %llu\n", (unsigned long long)ms.st_ino);
		assert_int_equal(strlen(txt), 32 + strlen(want));
		assert_string_equal(txt + 32, want);
	}
	assert_int_equal(getxattr(r.mem_file_path, SNAP_PAIR_XATTR, sib, 16), -1);
	check_pair(&r, &m, NULL);
	/* a failing directory fsync is reported, but the new pair is in place */
	fail_step[0] = "dir.fsync";
	fail_errno[0] = EIO;
	fill(&m, 5);
	req_init(&r, dir, "g", SNAP_FULL);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), -EIO);
	assert_int_equal(e.variant, SNAP_E_IO);
	faults_clear();
	check_pair(&r, &m, NULL);
	assert_int_equal(test_count(dir, ".tmp"), 0);
	test_gmem_free(&m);
}

static void write_state_of_size(const char *path, size_t target)
{
	struct sbuf p, f;
	struct snap_identity id;
	struct snap_vm_info vi;
	struct snap_mem_desc md;
	size_t pad = 0;
	for (int pass = 0; pass < 2; pass++) {
		sbuf_init(&p);
		snap_identity_host(&id);
		snap_sec_identity_put(&p, &id);
		test_vm_info(&vi, 1, 64);
		snap_sec_vm_info_put(&p, &vi);
		snap_sec_vcpu_put(&p, 0, (const uint8_t *)"v", 1);
		snap_sec_vm_state_put(&p, (const uint8_t *)"s", 1);
		char *json = calloc(1, pad + 1);
		memset(json, ' ', pad);
		snap_sec_mmds_put(&p, json, pad);
		free(json);
		test_mem_desc(&md, 64);
		snap_sec_mem_put(&p, &md);
		sbuf_init(&f);
		assert_int_equal(snap_envelope_encode(p.data, p.len, &f), 0);
		if (pass == 0)
			pad = target - f.len;
		else
			assert_int_equal(f.len, target);
		if (pass == 1)
			test_write_file(path, f.data, f.len);
		sbuf_free(&p);
		sbuf_free(&f);
	}
}

/* A payload that would not load is refused before any file is written. */
static void test_bad_payload_refused(void **state)
{
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	struct sbuf p;
	test_gmem(&m, MEM_MIB);
	req_init(&r, dir, "a", SNAP_FULL);
	sbuf_init(&p);
	test_payload_head(&p, 2, MEM_MIB); /* 2 vCPUs ... */
	p.data[8 + 4] = 0;		   /* ... identity's vmm string length broken */
	assert_int_equal(snap_write_pair(&r, false, &p, &m, NULL, &e), -EIO);
	assert_string_equal(e.msg, "snapshot capture/restore failure: state payload does not pass "
				   "the load checks");
	assert_int_equal(test_count(dir, ""), 0);
	sbuf_free(&p);
	test_gmem_free(&m);
}

static void test_read_state_files(void **state)
{
	char p[700];
	uint8_t *payload;
	size_t len;
	struct snap_error e;
	snprintf(p, sizeof(p), "%s/s.snap", dir);
	write_state_of_size(p, SNAP_SIZE_LIMIT);
	assert_int_equal(snap_read_state(p, &payload, &len, &e), 0);
	assert_true(len > SNAP_SIZE_LIMIT - 100);
	free(payload);
	write_state_of_size(p, SNAP_SIZE_LIMIT + 1);
	assert_int_equal(snap_read_state(p, &payload, &len, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_SIZE_LIMIT);
	assert_null(payload);
	/* truncated: CRC; empty: TooShort; missing: Io */
	size_t n;
	write_state_of_size(p, 5000);
	uint8_t *b = test_read_file(p, &n);
	test_write_file(p, b, n - 100);
	assert_int_equal(snap_read_state(p, &payload, &len, &e), -EINVAL);
	assert_int_equal(e.variant, SNAP_E_CRC_MISMATCH);
	b[n / 2] ^= 1;
	test_write_file(p, b, n);
	snap_read_state(p, &payload, &len, &e);
	assert_int_equal(e.variant, SNAP_E_CRC_MISMATCH);
	free(b);
	test_write_file(p, "", 0);
	snap_read_state(p, &payload, &len, &e);
	assert_int_equal(e.variant, SNAP_E_TOO_SHORT);
	snprintf(p, sizeof(p), "%s/none.snap", dir);
	assert_int_equal(snap_read_state(p, &payload, &len, &e), -ENOENT);
	assert_string_equal(e.msg, "snapshot I/O error: No such file or directory (os error 2)");
}

/* Cross-filesystem: temp dir vs destination on different st_dev. */
static void test_cross_fs(void **state)
{
	struct stat a, b;
	struct snap_error e;
	char dest[700];
	snprintf(dest, sizeof(dest), "%s/x.snap", dir);
	if (stat("/dev/shm", &a) < 0 || stat(dir, &b) < 0 || a.st_dev == b.st_dev) {
		printf("SKIP cross-fs: /dev/shm and %s are on the same filesystem\n", dir);
		return;
	}
	assert_int_equal(snap_path_check_same_fs(dest, "/dev/shm", &e), -EXDEV);
	assert_int_equal(e.variant, SNAP_E_ATOMIC_COMMIT_CROSS_FS);
	char want[1400];
	snprintf(want, sizeof(want),
		 "snapshot temp-file path is on a different filesystem from the destination "
		 "(dest=\"%s\", temp_dir=\"/dev/shm\"); rename(2) cannot be atomic across mounts",
		 dest);
	assert_string_equal(e.msg, want);
	assert_int_equal(snap_path_check_same_fs(dest, dir, &e), 0);
	/* through the pair writer: a destination bind-mounted from another filesystem */
	char src[64] = "/dev/shm/squib-snap-xfs-XXXXXX";
	int fd = mkstemp(src);
	assert_true(fd >= 0);
	close(fd);
	struct snap_create_req r;
	req_init(&r, dir, "x", SNAP_FULL);
	test_write_file(r.mem_file_path, "old", 3);
	if (mount(src, r.mem_file_path, NULL, MS_BIND, NULL) < 0) {
		printf("SKIP cross-fs bind mount: %s\n", strerror(errno));
		unlink(src);
		return;
	}
	struct gmem m;
	test_gmem(&m, MEM_MIB);
	assert_int_equal(write_pair(&r, &m, false, NULL, &e), -EXDEV);
	assert_int_equal(e.variant, SNAP_E_ATOMIC_COMMIT_CROSS_FS);
	assert_int_equal(test_count(dir, ".tmp"), 0);
	assert_int_equal(umount(r.mem_file_path), 0);
	unlink(src);
	test_gmem_free(&m);
}

/* ENOSPC on a tiny tmpfs: memory file -> MemoryIo, state file -> Io. */
static void test_enospc(void **state)
{
	char mnt[700];
	struct gmem m;
	struct snap_create_req r;
	struct snap_error e;
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
		printf("SKIP ENOSPC: cannot mount a tmpfs (%s)\n", strerror(errno));
		return;
	}
	test_gmem(&m, MEM_MIB);
	fill(&m, 1); /* ~1/3 of 4 MiB non-zero: does not fit in 256 KiB */
	req_init(&r, mnt, "a", SNAP_FULL);
	assert_true(write_pair(&r, &m, false, NULL, &e) < 0);
	assert_string_equal(e.msg, "memory file I/O error: No space left on device (os error 28)");
	assert_int_equal(test_count(mnt, ""), 0);
	/* zero RAM (sparse, fits) but a state file larger than the space left */
	memset(m.r[0].host, 0, m.total);
	struct sbuf p;
	struct snap_identity id;
	struct snap_vm_info vi;
	sbuf_init(&p);
	snap_identity_host(&id);
	snap_sec_identity_put(&p, &id);
	test_vm_info(&vi, 1, MEM_MIB);
	snap_sec_vm_info_put(&p, &vi);
	snap_sec_vcpu_put(&p, 0, (const uint8_t *)"v", 1);
	snap_sec_vm_state_put(&p, (const uint8_t *)"s", 1);
	char *json = calloc(1, 512 * 1024);
	memset(json, ' ', 512 * 1024 - 1);
	snap_sec_mmds_put(&p, json, strlen(json));
	free(json);
	assert_true(snap_write_pair(&r, false, &p, &m, NULL, &e) < 0);
	sbuf_free(&p);
	assert_string_equal(e.msg, "snapshot I/O error: No space left on device (os error 28)");
	assert_int_equal(test_count(mnt, ""), 0);
	assert_int_equal(umount(mnt), 0);
	test_gmem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_keeps_previous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rename_fails_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diff_and_fallback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_state_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_payload_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cross_fs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
