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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
