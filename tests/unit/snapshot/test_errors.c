/* SPDX-License-Identifier: Apache-2.0 */
/* test_errors: every snapshot wire message pinned byte for byte against golden/errors.txt. */
#include "snap_test.h"

#include <errno.h>

static const char *golden_path;

static void line_add(char *out, size_t cap, const struct snap_error *e)
{
	size_t n = strlen(out);
	snprintf(out + n, cap - n, "%s\t%d\t%s\n", snap_error_name(e->variant), e->http_status,
		 e->msg);
}

static void test_golden(void **state)
{
	static char got[16384], want[16384];
	struct snap_error e;
	char longp[4200], nulp[] = "/tmp/a\0b";
	got[0] = '\0';
#define ADD(...)                                                                                   \
	do {                                                                                       \
		snap_error_set(&e, __VA_ARGS__);                                                   \
		line_add(got, sizeof(got), &e);                                                    \
	} while (0)
	ADD(SNAP_E_QUIESCE_TIMEOUT);
	ADD(SNAP_E_MAGIC_MISMATCH, (uint64_t)SNAP_MAGIC_AARCH64, (uint64_t)SNAP_MAGIC);
	ADD(SNAP_E_MAGIC_MISMATCH, (uint64_t)0, (uint64_t)SNAP_MAGIC);
	ADD(SNAP_E_VERSION_MISMATCH, "2.0.0", SNAP_FORMAT_VERSION);
	ADD(SNAP_E_CRC_MISMATCH);
	ADD(SNAP_E_TOO_SHORT);
	ADD(SNAP_E_INCOMPATIBLE);
	ADD(SNAP_E_ATOMIC_COMMIT_FAILED, ENOENT);
	ADD(SNAP_E_ATOMIC_COMMIT_CROSS_FS, "/dest/x.snap", "/tmp");
	ADD(SNAP_E_ATOMIC_COMMIT_CROSS_FS, "/a\"b\\c\nd\te\rf\001g\377h\177\303\251", "/t");
	/* InvalidPath reasons come from the real validator. */
	assert_int_equal(snap_path_validate_n(nulp, sizeof(nulp) - 1, &e), -EINVAL);
	line_add(got, sizeof(got), &e);
	memset(longp, 'a', 4096);
	longp[0] = '/';
	longp[4096] = '\0';
	assert_int_equal(snap_path_validate(longp, &e), -EINVAL);
	line_add(got, sizeof(got), &e);
	assert_int_equal(snap_path_validate("/tmp/../x.snap", &e), -EINVAL);
	line_add(got, sizeof(got), &e);
	assert_int_equal(snap_path_validate("/no/such/x.snap", &e), -EINVAL);
	line_add(got, sizeof(got), &e);
	ADD(SNAP_E_INVALID_PATH, "Diff snapshot requested but track_dirty_pages is false");
	ADD(SNAP_E_BITCODE, "version string is not MAJOR.MINOR.PATCH");
	ADD(SNAP_E_SIZE_LIMIT, (uint64_t)SNAP_SIZE_LIMIT);
	ADD(SNAP_E_MEMORY_IO, ENOSPC);
	ADD(SNAP_E_IO, EACCES);
	ADD(SNAP_E_CAPTURE, "vCPU 1 state could not be read");
	ADD(SNAP_E_PAIR_MISMATCH, "/m/a.mem");
#undef ADD
	FILE *f = fopen(golden_path, "rb");
	assert_non_null(f);
	size_t n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	assert_string_equal(got, want);
}

static void test_table(void **state)
{
	struct snap_error e;
	assert_string_equal(snap_error_name(SNAP_OK), "Ok");
	assert_string_equal(snap_error_name(SNAP_E__COUNT), "Unknown");
	assert_string_equal(snap_error_name(SNAP_E_SIZE_LIMIT), "SizeLimitExceeded");
	assert_int_equal(snap_error_http_status(SNAP_E_QUIESCE_TIMEOUT), 503);
	assert_int_equal(snap_error_http_status(SNAP_OK), 0);
	/* return codes */
	assert_int_equal(snap_error_set(&e, SNAP_E_IO, ENOSPC), -ENOSPC);
	assert_int_equal(snap_error_set(&e, SNAP_E_QUIESCE_TIMEOUT), -ETIMEDOUT);
	assert_int_equal(snap_error_set(&e, SNAP_E_CRC_MISMATCH), -EINVAL);
	assert_int_equal(snap_error_set(NULL, SNAP_E_CRC_MISMATCH), -EINVAL);
	snap_error_clear(&e);
	assert_int_equal(e.variant, SNAP_OK);
	assert_string_equal(e.msg, "");
}

/* A message longer than the buffer is cut at a UTF-8 character boundary. */
static void test_truncation(void **state)
{
	struct snap_error e;
	static char p[3000];
	for (size_t i = 0; i + 2 < sizeof(p); i += 2) {
		p[i] = (char)0xc3;
		p[i + 1] = (char)0xa9;
	}
	p[sizeof(p) - 2] = '\0';
	snap_error_set(&e, SNAP_E_ATOMIC_COMMIT_CROSS_FS, p, "/t");
	size_t n = strlen(e.msg);
	assert_true(n < sizeof(e.msg));
	assert_true(n > 900);
	/* last char complete: the message ends with a whole 2-byte sequence */
	assert_int_equal((unsigned char)e.msg[n - 1], 0xa9);
	assert_int_equal((unsigned char)e.msg[n - 2], 0xc3);
}

int main(int argc, char **argv)
{
	golden_path = argc > 1 ? argv[1] : "golden/errors.txt";
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
