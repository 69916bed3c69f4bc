/* SPDX-License-Identifier: Apache-2.0 */
/* test_evloop: add, mod (re-evaluates readiness), del. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"

static uint32_t seen;

static void cb(void *arg, uint32_t events)
{
	(void)arg;
	seen |= events;
}

static void test_mod_reports_a_due_edge(void **state)
{
	struct evloop *l;
	int sv[2];
	assert_int_equal(evloop_create(&l), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(evloop_add(l, sv[0], EPOLLIN | EPOLLET, cb, NULL), 0);
	assert_int_equal(evloop_run_once(l, 0), 0); /* nothing to read; writable is not watched */
	assert_int_equal(evloop_mod(l, sv[0], EPOLLIN | EPOLLOUT | EPOLLET), 0);
	seen = 0;
	assert_int_equal(evloop_run_once(l, 0), 1); /* the socket was writable all along */
	assert_true(seen & EPOLLOUT);
	assert_int_equal(evloop_mod(l, sv[0], EPOLLIN | EPOLLET), 0);
	seen = 0;
	assert_int_equal(evloop_run_once(l, 0), 0);
	assert_int_equal(evloop_mod(l, sv[1], EPOLLIN), -ENOENT);
	assert_int_equal(evloop_del(l, sv[0]), 0);
	assert_int_equal(evloop_mod(l, sv[0], EPOLLIN), -ENOENT);
	close(sv[0]);
	close(sv[1]);
	evloop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_mod_reports_a_due_edge)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
