/* SPDX-License-Identifier: Apache-2.0 */
/* test_messages: the API message table, pinned byte for byte against golden/messages.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static const char *g_golden;

static char *render_table(void)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	for (int i = 0; i < MSG_COUNT; i++) {
		assert_non_null(api_msg_name((enum api_msg)i));
		assert_non_null(api_msg_fmt((enum api_msg)i));
		n += (size_t)snprintf(buf + n, cap - n, "%s\t%s\n", api_msg_name((enum api_msg)i),
				      api_msg_fmt((enum api_msg)i));
		assert_true(n < cap);
	}
	return buf;
}

static void test_golden(void **state)
{
	char *now = render_table();
	if (getenv("SQUIB_UPDATE_GOLDEN")) {
		FILE *f = fopen(g_golden, "w");
		assert_non_null(f);
		fputs(now, f);
		fclose(f);
	}
	FILE *f = fopen(g_golden, "rb");
	assert_non_null(f);
	char *want = calloc(1, 65536);
	size_t n = fread(want, 1, 65535, f);
	fclose(f);
	want[n] = 0;
	assert_string_equal(now, want);
	free(want);
	free(now);
}

static void test_fault_body(void **state)
{
	struct api_response r = {0};
	assert_int_equal(api_fail(&r, 400, MSG_BAD_ROUTE, "POST", "/x"), -22);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body,
			    "{\"fault_message\":\"Invalid request method and/or path: POST /x.\"}");
	api_fail_text(&r, 500, "quote \" and \\ backslash");
	assert_string_equal(r.body, "{\"fault_message\":\"quote \\\" and \\\\ backslash\"}");
	api_response_free(&r);
	assert_null(api_msg_fmt(MSG_COUNT));
	assert_string_equal(
	    api_msg_fmt(MSG_NOT_BEFORE_START),
	    "The requested operation is not supported before starting the microVM.");
	assert_string_equal(api_msg_fmt(MSG_NOT_AFTER_START),
			    "The requested operation is not supported after starting the microVM.");
}

int main(int argc, char **argv)
{
	g_golden = argc > 1 ? argv[1] : "golden/messages.txt";
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_fault_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
