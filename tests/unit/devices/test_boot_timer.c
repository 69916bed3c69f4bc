/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for devices/boot_timer: the guest's magic write logs the boot time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "devices/devices.h"

static void read_file(const char *p, char *buf, size_t cap)
{
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_boot_time_logged(void **state)
{
	char path[] = "/tmp/squib-boot-timer-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_configure(path, LOG_INFO, true, false), 0);
	struct dev *d;
	uint64_t start = time_mono_us() - 5000; /* the VMM "started" 5 ms ago */
	assert_int_equal(boot_timer_create(start, time_cpu_us(), &d), 0);
	uint8_t v = 122;
	d->ops->write(d, 0, &v, 1); /* wrong value */
	v = 123;
	d->ops->write(d, 4, &v, 1); /* wrong offset */
	uint8_t w[4] = {123, 0, 0, 0};
	d->ops->write(d, 0, w, 4); /* wrong size */
	char buf[4096];
	read_file(path, buf, sizeof(buf));
	assert_null(strstr(buf, "Guest-boot-time"));
	d->ops->write(d, 0, &v, 1);
	read_file(path, buf, sizeof(buf));
	char *p = strstr(buf, "Guest-boot-time = ");
	assert_non_null(p);
	unsigned long long us, ms, cus, cms;
	assert_int_equal(sscanf(p, "Guest-boot-time = %llu us %llu ms, %llu CPU us %llu CPU ms",
				&us, &ms, &cus, &cms),
			 4);
	assert_true(us >= 5000);
	assert_int_equal(ms, us / 1000);
	assert_int_equal(cms, cus / 1000);
	assert_non_null(strstr(buf, "INFO"));
	d->ops->destroy(d);
	log_configure(NULL, LOG_WARN, false, false);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boot_time_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
