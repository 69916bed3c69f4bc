/* SPDX-License-Identifier: Apache-2.0 */
/* Load-time rollback of a snapshot create killed between its renames (memfile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapshot.h"

static char dir[] = "/var/tmp/squib-rollback-XXXXXX";

static void mkmem(const char *path, const uint8_t id[SNAP_PAIR_ID_LEN], char fill)
{
	char buf[4096];
	memset(buf, fill, sizeof(buf));
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(snap_pair_id_set_fd(fd, id), 0);
	close(fd);
}

static char first_byte(int fd)
{
	char c = 0;
	assert_int_equal(pread(fd, &c, 1, 0), 1);
	return c;
}

/* Killed after the memory exchange: new memory at dest, previous memory at dest.tmp. */
static void test_rollback_after_mem_rename(void **state)
{
	char mem[256], tmp[256];
	uint8_t old_id[SNAP_PAIR_ID_LEN], new_id[SNAP_PAIR_ID_LEN];
	memset(old_id, 0xA1, sizeof(old_id));
	memset(new_id, 0xB2, sizeof(new_id));
	snprintf(mem, sizeof(mem), "%s/vm.mem", dir);
	snprintf(tmp, sizeof(tmp), "%s/vm.mem.tmp", dir);
	mkmem(mem, new_id, 'N');
	mkmem(tmp, old_id, 'O');
	struct snap_error e = {0};
	int fd;
	uint64_t size;
	assert_int_equal(snap_mem_open(mem, old_id, &fd, &size, &e), 0);
	assert_int_equal(size, 4096);
	assert_int_equal(first_byte(fd), 'O');
	close(fd);
	assert_int_equal(access(tmp, F_OK), -1); /* rolled back into place */
	/* the torn new memory is gone: loading with its id is a PairMismatch now */
	assert_true(snap_mem_open(mem, new_id, &fd, &size, &e) < 0);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	unlink(mem);
}

/* Nothing to roll back: a plain mismatch stays a PairMismatch and touches no file. */
static void test_no_rollback_candidate(void **state)
{
	char mem[256], tmp[256];
	uint8_t a[SNAP_PAIR_ID_LEN], b[SNAP_PAIR_ID_LEN], c[SNAP_PAIR_ID_LEN];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	memset(c, 3, sizeof(c));
	snprintf(mem, sizeof(mem), "%s/x.mem", dir);
	snprintf(tmp, sizeof(tmp), "%s/x.mem.tmp", dir);
	mkmem(mem, a, 'A');
	mkmem(tmp, b, 'B'); /* a .tmp that is not the state's pair either */
	struct snap_error e = {0};
	int fd;
	uint64_t size;
	assert_true(snap_mem_open(mem, c, &fd, &size, &e) < 0);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
	assert_int_equal(access(tmp, F_OK), 0);
	assert_int_equal(snap_mem_open(mem, a, &fd, &size, &e), 0);
	assert_int_equal(first_byte(fd), 'A');
	close(fd);
	unlink(mem);
	unlink(tmp);
}

/* Memory file without an xattr (as on a filesystem without user xattrs): its inode. */
static uint64_t mkmem_plain(const char *path, char fill)
{
	char buf[4096];
	struct stat st;
	memset(buf, fill, sizeof(buf));
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return (uint64_t)st.st_ino;
}

static void mksibling(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void sibling(const char *path, const uint8_t id[SNAP_PAIR_ID_LEN], uint64_t ino)
{
	char txt[SNAP_PAIR_TEXT_MAX];
	size_t n = snap_pair_sibling_text(txt, id, ino);
	assert_int_equal(n, strlen(txt));
	mksibling(path, txt);
}

struct torn {
	char mem[256], tmp[256], pid[256], pidtmp[256];
	uint8_t old_id[SNAP_PAIR_ID_LEN], new_id[SNAP_PAIR_ID_LEN];
};

static void torn_paths(struct torn *t)
{
	memset(t->old_id, 0xA1, sizeof(t->old_id));
	memset(t->new_id, 0xB2, sizeof(t->new_id));
	snprintf(t->mem, sizeof(t->mem), "%s/s.mem", dir);
	snprintf(t->tmp, sizeof(t->tmp), "%s/s.mem.tmp", dir);
	snprintf(t->pid, sizeof(t->pid), "%s/s.mem.pairid", dir);
	snprintf(t->pidtmp, sizeof(t->pidtmp), "%s/s.mem.pairid.tmp", dir);
}

static void torn_cleanup(struct torn *t)
{
	unlink(t->mem);
	unlink(t->tmp);
	unlink(t->pid);
	unlink(t->pidtmp);
}

static void expect_load(const char *mem, const uint8_t id[SNAP_PAIR_ID_LEN], char want)
{
	struct snap_error e = {0};
	int fd;
	uint64_t size;
	assert_int_equal(snap_mem_open(mem, id, &fd, &size, &e), 0);
	assert_int_equal(first_byte(fd), want);
	close(fd);
}

static void expect_mismatch(const char *mem, const uint8_t id[SNAP_PAIR_ID_LEN])
{
	struct snap_error e = {0};
	int fd;
	uint64_t size;
	assert_true(snap_mem_open(mem, id, &fd, &size, &e) < 0);
	assert_int_equal(e.variant, SNAP_E_PAIR_MISMATCH);
}

/* Sibling fallback, killed after both the sibling and the memory exchange. */
static void test_sibling_rollback_after_mem_rename(void **state)
{
	struct torn t;
	torn_paths(&t);
	uint64_t y = mkmem_plain(t.mem, 'N'), x = mkmem_plain(t.tmp, 'O');
	sibling(t.pid, t.new_id, y);
	sibling(t.pidtmp, t.old_id, x);
	expect_load(t.mem, t.old_id, 'O');
	assert_int_equal(access(t.tmp, F_OK), -1);
	assert_int_equal(access(t.pidtmp, F_OK), -1);
	expect_load(t.mem, t.old_id, 'O'); /* stable: the sibling is back in place */
	expect_mismatch(t.mem, t.new_id);
	torn_cleanup(&t);
}

/* Sibling fallback, killed between the sibling and the memory exchange: the memory file at
 * the destination is still the old one; the new one at ".tmp" must not be taken. */
static void test_sibling_rollback_between_renames(void **state)
{
	struct torn t;
	torn_paths(&t);
	uint64_t x = mkmem_plain(t.mem, 'O'), y = mkmem_plain(t.tmp, 'N');
	sibling(t.pid, t.new_id, y);
	sibling(t.pidtmp, t.old_id, x);
	expect_load(t.mem, t.old_id, 'O');
	assert_int_equal(access(t.tmp, F_OK), 0); /* the abandoned new memory stays at .tmp */
	assert_int_equal(access(t.pidtmp, F_OK), -1);
	expect_load(t.mem, t.old_id, 'O');
	torn_cleanup(&t);
}

/* A ".pairid.tmp" without an inode (older squib), or naming another inode: no rollback. */
static void test_sibling_without_inode_is_not_trusted(void **state)
{
	struct torn t;
	char txt[SNAP_PAIR_TEXT_MAX];
	torn_paths(&t);
	uint64_t y = mkmem_plain(t.mem, 'N');
	mkmem_plain(t.tmp, 'O');
	sibling(t.pid, t.new_id, y);
	snap_pair_sibling_text(txt, t.old_id, 0);
	*strchr(txt, ' ') = '\n';
	*(strchr(txt, '\n') + 1) = 0;
	mksibling(t.pidtmp, txt);
	expect_mismatch(t.mem, t.old_id);
	assert_int_equal(access(t.tmp, F_OK), 0);
	sibling(t.pidtmp, t.old_id, y + 12345);
	expect_mismatch(t.mem, t.old_id);
	assert_int_equal(access(t.tmp, F_OK), 0);
	torn_cleanup(&t);
}

/* Sibling text: id, inode, newline; the older form without an inode still loads; junk does
 * not. */
static void test_sibling_formats(void **state)
{
	struct torn t;
	char txt[SNAP_PAIR_TEXT_MAX];
	torn_paths(&t);
	uint64_t x = mkmem_plain(t.mem, 'O');
	assert_int_equal(snap_pair_sibling_text(txt, t.old_id, 987654321),
			 2 * SNAP_PAIR_ID_LEN + 11);
	assert_string_equal(txt + 2 * SNAP_PAIR_ID_LEN, " 987654321\n");
	assert_memory_equal(txt, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", 2 * SNAP_PAIR_ID_LEN);
	sibling(t.pid, t.old_id, x);
	expect_load(t.mem, t.old_id, 'O');
	mksibling(t.pid, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1\n");
	expect_load(t.mem, t.old_id, 'O');
	static const char *bad[] = {
	    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 \n",  "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 12x\n",
	    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",	    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1x5\n",
	    "A1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 1\n", "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 -1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mksibling(t.pid, bad[i]);
		expect_mismatch(t.mem, t.old_id);
	}
	torn_cleanup(&t);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rollback_after_mem_rename),
	    cmocka_unit_test(test_no_rollback_candidate),
	    cmocka_unit_test(test_sibling_rollback_after_mem_rename),
	    cmocka_unit_test(test_sibling_rollback_between_renames),
	    cmocka_unit_test(test_sibling_without_inode_is_not_trusted),
	    cmocka_unit_test(test_sibling_formats),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
