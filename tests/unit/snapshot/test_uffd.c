/* SPDX-License-Identifier: Apache-2.0 */
/* test_uffd: Uffd backend against the real uffd-handler: handshake JSON, served pages, holes,
 * balloon REMOVE, kernel-mode faults, error paths and the handler's strict parser. */
#include "snap_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "snapshot/uffd.h"

#define PS 4096ULL
#define MIB (1ULL << 20)

static char dir[512], sock_path[600], mem_path[600];

struct handler {
	pid_t pid;
	int out; /* its stdout and stderr */
	char text[8192];
	size_t len;
};

static int setup(void **state)
{
	test_tmpdir(dir, sizeof(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/h.sock", dir);
	snprintf(mem_path, sizeof(mem_path), "%s/guest.mem", dir);
	alarm(60); /* a handler bug must fail the test, not hang it */
	return 0;
}

static int teardown(void **state)
{
	alarm(0);
	test_rmtree(dir);
	return 0;
}

/* Byte j of file page p: never zero, differs across pages and offsets. */
static uint8_t pattern(uint64_t p, uint64_t j)
{
	return (uint8_t)(1 + (p * 31 + j * 7) % 255);
}

/* A memory file of size bytes with the pattern, except [hole, hole+hole_len) left a hole. */
static void memfile_create(uint64_t size, uint64_t hole, uint64_t hole_len)
{
	uint8_t page[PS];
	int fd = open(mem_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	for (uint64_t off = 0; off < size; off += PS) {
		if (off >= hole && off < hole + hole_len)
			continue;
		for (uint64_t j = 0; j < PS; j++)
			page[j] = pattern(off / PS, j);
		assert_int_equal(pwrite(fd, page, PS, (off_t)off), (ssize_t)PS);
	}
	close(fd);
}

static const char *handler_path(void)
{
	const char *p = getenv("SQUIB_UFFD_HANDLER");
	assert_non_null(p);
	return p;
}

static void handler_start(struct handler *h, const char *mode)
{
	int pfd[2];
	struct stat st;
	memset(h, 0, sizeof(*h));
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execl(handler_path(), "uffd-handler", sock_path, mem_path, "--mode", mode,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	h->out = pfd[0];
	/* The handler renames its socket into place only after listen(). */
	for (int i = 0; i < 5000 && stat(sock_path, &st) != 0; i++)
		usleep(1000);
	assert_int_equal(stat(sock_path, &st), 0);
}

/* Read the handler's stdout until it contains s (or EOF). */
static bool handler_wait_for(struct handler *h, const char *s)
{
	while (!strstr(h->text, s)) {
		ssize_t n = read(h->out, h->text + h->len, sizeof(h->text) - 1 - h->len);
		if (n <= 0)
			return false;
		h->len += (size_t)n;
		h->text[h->len] = '\0';
	}
	return true;
}

/* Wait for exit; returns the exit status (-1 if killed) and the served-fault count in *faults. */
static int handler_finish(struct handler *h, long *faults)
{
	int status;
	handler_wait_for(h, "\x01never");
	close(h->out);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	const char *s = strstr(h->text, "uffd-handler: served ");
	if (faults)
		*faults = s ? strtol(s + strlen("uffd-handler: served "), NULL, 10) : -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Two regions by hand: 1 MiB at GPA 0 (file offset 0), 2 MiB at 4 GiB (file offset 1 MiB). */
static void gmem_two_regions(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
	m->r[0] = (struct gmem_region){.gpa = 0, .size = MIB, .file_offset = 0};
	m->r[1] = (struct gmem_region){.gpa = 4ULL << 30, .size = 2 * MIB, .file_offset = MIB};
	m->nr = 2;
	m->total = 3 * MIB;
	assert_int_equal(snap_uffd_alloc_guest_mem(m), 0);
}

struct reader {
	const struct gmem *m;
	uint64_t hole, hole_len;
	long bad_pages;
};

/* Compare every guest page with the file (the hole must read as zeros). */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	for (unsigned i = 0; i < rd->m->nr; i++) {
		const struct gmem_region *r = &rd->m->r[i];
		for (uint64_t o = 0; o < r->size; o += PS) {
			uint64_t off = r->file_offset + o;
			bool hole = off >= rd->hole && off < rd->hole + rd->hole_len;
			const uint8_t *g = r->host + o;
			for (uint64_t j = 0; j < PS; j++) {
				if (g[j] != (hole ? 0 : pattern(off / PS, j))) {
					rd->bad_pages++;
					break;
				}
			}
		}
	}
	return NULL;
}

static long read_all_pages(const struct gmem *m, uint64_t hole, uint64_t hole_len)
{
	pthread_t t;
	struct reader rd = {.m = m, .hole = hole, .hole_len = hole_len};
	assert_int_equal(pthread_create(&t, NULL, reader_main, &rd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	return rd.bad_pages;
}

static void test_json_format(void **state)
{
	struct gmem m = {0};
	char buf[SNAP_UFFD_MSG_MAX];
	m.r[0] = (struct gmem_region){.size = MIB, .host = (uint8_t *)0x7f0000000000ULL};
	m.r[1] = (struct gmem_region){.gpa = 4ULL << 30,
				      .size = 2 * MIB,
				      .host = (uint8_t *)0x7f1000000000ULL,
				      .file_offset = MIB};
	m.nr = 2;
	const char *want = "[{\"base_host_virt_addr\":139637976727552,\"size\":1048576,"
			   "\"offset\":0,\"page_size\":4096,\"page_size_kib\":4096},"
			   "{\"base_host_virt_addr\":139706696204288,\"size\":2097152,"
			   "\"offset\":1048576,\"page_size\":4096,\"page_size_kib\":4096}]";
	assert_int_equal(snap_uffd_mappings_json(&m, PS, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(snap_uffd_mappings_json(&m, PS, buf, 40), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(snap_uffd_mappings_json(&m, PS, buf, strlen(want)), -ENOSPC);
	assert_int_equal(snap_uffd_mappings_json(&m, PS, buf, strlen(want) + 1), strlen(want));
}

static void test_alloc_untouched(void **state)
{
	struct gmem m;
	unsigned char vec[2 * MIB / PS];
	assert_int_equal(gmem_layout_x86(&m, 2 * MIB), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), 0);
	assert_int_equal(m.fd, -1);
	assert_non_null(m.r[0].host);
	assert_int_equal((uintptr_t)m.r[0].host % PS, 0);
	/* Nothing is populated: the handler must be the first to fill every page. */
	assert_int_equal(mincore(m.r[0].host, 2 * MIB, vec), 0);
	for (size_t i = 0; i < sizeof(vec); i++)
		assert_int_equal(vec[i] & 1, 0);
	gmem_free(&m);
	m.r[0].size = 1000; /* not a page multiple */
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), -EINVAL);
	assert_null(m.r[0].host);
}

/* One region from gmem_layout_x86, on demand: every page equals the file, one fault each. */
static void test_on_demand_one_region(void **state)
{
	struct gmem m;
	struct handler h;
	struct snap_error e;
	int uffd, sock;
	long faults;
	memfile_create(4 * MIB, MIB, 256 * 1024);
	assert_int_equal(gmem_layout_x86(&m, 4 * MIB), 0);
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), 0);
	handler_start(&h, "on-demand");
	assert_int_equal(snap_uffd_setup_ex(sock_path, &m, PS, &uffd, &sock, &e), 0);
	assert_true(uffd >= 0 && sock >= 0);
	assert_true(handler_wait_for(&h, "1 mapping(s), page size 4096"));
	assert_int_equal(read_all_pages(&m, MIB, 256 * 1024), 0);
	close(sock);
	close(uffd);
	assert_int_equal(handler_finish(&h, &faults), 0);
	assert_int_equal(faults, 4 * MIB / PS);
	assert_non_null(strstr(h.text, "uffd-handler: zero-filled 64 of them\n"));
	gmem_free(&m);
}

/* Two regions; writes and kernel-mode accesses (pipe I/O) fault too and are served. */
static void test_on_demand_two_regions(void **state)
{
	struct gmem m;
	struct handler h;
	struct snap_error e;
	int uffd, sock, p[2];
	uint8_t page[PS];
	memfile_create(3 * MIB, 2 * MIB, 64 * 1024);
	gmem_two_regions(&m);
	handler_start(&h, "on-demand");
	assert_int_equal(snap_uffd_setup_ex(sock_path, &m, PS, &uffd, &sock, &e), 0);
	close(uffd); /* the handler holds it now; if it dies the faults resolve instead of hang */
	/* Kernel-mode fault: write(2) from a never-touched guest page (file offset 1 MiB + 8K). */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], m.r[1].host + 2 * PS, PS), (ssize_t)PS);
	assert_int_equal(read(p[0], page, PS), (ssize_t)PS);
	for (uint64_t j = 0; j < PS; j++)
		assert_int_equal(page[j], pattern((MIB + 2 * PS) / PS, j));
	close(p[0]);
	close(p[1]);
	/* A first access that is a write: the page is filled from the file, then written. */
	m.r[0].host[5 * PS + 17] = 0;
	assert_int_equal(m.r[0].host[5 * PS + 16], pattern(5, 16));
	m.r[0].host[5 * PS + 17] = pattern(5, 17);
	assert_int_equal(read_all_pages(&m, 2 * MIB, 64 * 1024), 0);
	close(sock);
	long faults;
	assert_int_equal(handler_finish(&h, &faults), 0);
	assert_int_equal(faults, 3 * MIB / PS);
	assert_non_null(strstr(h.text, "2 mapping(s)"));
	gmem_free(&m);
}

/* all-at-once: the handler fills everything before any access, so no fault reaches it until
 * the balloon removes a page. */
static void test_all_at_once(void **state)
{
	struct gmem m;
	struct handler h;
	struct snap_error e;
	int uffd, sock;
	long faults;
	memfile_create(3 * MIB, 512 * 1024, 128 * 1024);
	gmem_two_regions(&m);
	handler_start(&h, "all-at-once");
	assert_int_equal(snap_uffd_setup_ex(sock_path, &m, PS, &uffd, &sock, &e), 0);
	assert_true(handler_wait_for(&h, "uffd-handler: populated 768 pages (32 zero)"));
	assert_int_equal(read_all_pages(&m, 512 * 1024, 128 * 1024), 0);
	/* After populating, the balloon's REMOVE still turns the page into zeros. */
	assert_int_equal(madvise(m.r[1].host, PS, MADV_DONTNEED), 0);
	assert_int_equal(m.r[1].host[100], 0);
	assert_int_equal(m.r[1].host[PS + 100], pattern(MIB / PS + 1, 100));
	close(sock);
	close(uffd);
	assert_int_equal(handler_finish(&h, &faults), 0);
	assert_int_equal(faults, 1);
	assert_non_null(strstr(h.text, "uffd-handler: zero-filled 1 of them\n"));
	gmem_free(&m);
}

/* Balloon: MADV_DONTNEED raises UFFD_EVENT_REMOVE; later faults there must read zeros. */
static void test_balloon_remove(void **state)
{
	struct gmem m;
	struct handler h;
	struct snap_error e;
	int uffd, sock;
	memfile_create(2 * MIB, 2 * MIB, 0);
	assert_int_equal(gmem_layout_x86(&m, 2 * MIB), 0);
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), 0);
	handler_start(&h, "on-demand");
	assert_int_equal(snap_uffd_setup_ex(sock_path, &m, PS, &uffd, &sock, &e), 0);
	uint8_t *g = m.r[0].host;
	assert_int_equal(g[10 * PS + 1], pattern(10, 1));
	assert_int_equal(g[11 * PS + 1], pattern(11, 1));
	assert_int_equal(madvise(g + 10 * PS, 4 * PS, MADV_DONTNEED), 0);
	for (uint64_t p = 10; p < 14; p++) /* served (p 10, 11) or not (12, 13): zeros now */
		for (uint64_t j = 0; j < PS; j++)
			assert_int_equal(g[p * PS + j], 0);
	assert_int_equal(g[14 * PS + 3], pattern(14, 3));
	assert_int_equal(g[9 * PS + 3], pattern(9, 3));
	close(sock);
	close(uffd);
	long faults;
	assert_int_equal(handler_finish(&h, &faults), 0);
	assert_int_equal(faults, 8);
	assert_non_null(strstr(h.text, "uffd-handler: zero-filled 4 of them\n"));
	gmem_free(&m);
}

/* snap_uffd_setup keeps the socket open: the handler serves the process until it exits, and
 * exits then (were the socket closed early, the handler would leave, and with every uffd copy
 * closed the child would read zeros). */
static void test_setup_keeps_socket(void **state)
{
	struct handler h;
	int status;
	long faults;
	memfile_create(MIB, 0, 0);
	handler_start(&h, "on-demand");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct gmem m;
		struct snap_error e;
		int uffd;
		close(h.out);
		if (gmem_layout_x86(&m, MIB) || snap_uffd_alloc_guest_mem(&m) ||
		    snap_uffd_setup(sock_path, &m, PS, &uffd, &e))
			_exit(2);
		close(uffd);
		usleep(100 * 1000); /* a handler that saw EOF now would be gone before the reads */
		struct reader rd = {.m = &m}; /* no cmocka asserts in the child */
		reader_main(&rd);
		_exit(rd.bad_pages == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(handler_finish(&h, &faults), 0);
	assert_int_equal(faults, MIB / PS);
}

/* A failed setup leaves no registration behind: memory reads as zero without a handler. */
static void expect_setup_error(const char *path, uint64_t ps, int err, const char *msg)
{
	struct gmem m;
	struct snap_error e;
	int uffd = 7, sock = 7;
	assert_int_equal(gmem_layout_x86(&m, MIB), 0);
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), 0);
	assert_int_equal(snap_uffd_setup_ex(path, &m, ps, &uffd, &sock, &e), -err);
	assert_int_equal(e.variant, SNAP_E_MEMORY_IO);
	assert_int_equal(e.http_status, 500);
	assert_string_equal(e.msg, msg);
	assert_int_equal(uffd, -1);
	assert_int_equal(sock, -1);
	assert_int_equal(m.r[0].host[PS * 3], 0);
	gmem_free(&m);
}

static void test_setup_errors(void **state)
{
	char p[600], longp[200];
	expect_setup_error(sock_path, PS, ENOENT,
			   "memory file I/O error: No such file or directory (os error 2)");
	/* A socket file nobody listens on. */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(p, sizeof(p), "%s/dead.sock", dir);
	strcpy(sa.sun_path, p);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	expect_setup_error(p, PS, ECONNREFUSED,
			   "memory file I/O error: Connection refused (os error 111)");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	expect_setup_error(longp, PS, ENAMETOOLONG,
			   "memory file I/O error: File name too long (os error 36)");
	expect_setup_error(sock_path, 1000, EINVAL,
			   "memory file I/O error: Invalid argument (os error 22)");
	/* snap_uffd_setup (socket kept internally) reports the same way. */
	struct gmem m;
	struct snap_error e;
	int uffd = 3;
	assert_int_equal(gmem_layout_x86(&m, MIB), 0);
	assert_int_equal(snap_uffd_alloc_guest_mem(&m), 0);
	assert_int_equal(snap_uffd_setup(sock_path, &m, PS, &uffd, &e), -ENOENT);
	assert_int_equal(uffd, -1);
	assert_int_equal(e.variant, SNAP_E_MEMORY_IO);
	gmem_free(&m);
}

/* Send json (with a pipe fd) to a fresh handler; returns its exit status. */
static int handler_feed(const char *json, struct handler *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int p[2];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	handler_start(h, "on-demand");
	strcpy(sa.sun_path, sock_path);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(pipe(p), 0);
	struct iovec iov = {.iov_base = (void *)json, .iov_len = strlen(json)};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	assert_int_equal(sendmsg(s, &msg, 0), (ssize_t)strlen(json));
	int rc = handler_finish(h, NULL);
	close(s);
	close(p[0]);
	close(p[1]);
	return rc;
}

static void test_handler_rejects_bad_handshake(void **state)
{
	struct handler h;
#define MAP(extra) "{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0," extra "}"
	static const char *const bad[] = {
	    "[" MAP("\"page_size\":4096,\"page_size_kib\":4") "]", /* KiB, not bytes */
	    "[" MAP("\"page_size_kib\":4096") "]",		   /* pre-v1.12 shape */
	    "[" MAP("\"page_size\":4096") "]",			   /* page_size_kib missing */
	    "[" MAP("\"page_size\":4096,\"page_size_kib\":4096,\"x\":1") "]", /* unknown field */
	    MAP("\"page_size\":4096,\"page_size_kib\":4096"),		      /* not an array */
	    "[]",
	    "[" MAP("\"page_size\":4096,\"page_size_kib\":4096") "] x", /* trailing bytes */
	    "[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":8192,\"page_size\":4096,"
	    "\"page_size_kib\":4096}]", /* beyond the 8 KiB memory file */
	    "[{\"base_host_virt_addr\":4096,\"size\":\"8192\",\"offset\":0,\"page_size\":4096,"
	    "\"page_size_kib\":4096}]", /* a string */
	};
	memfile_create(2 * PS, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		print_message("bad handshake %zu: %s\n", i, bad[i]);
		assert_int_equal(handler_feed(bad[i], &h), 1);
		assert_null(strstr(h.text, "mapping(s)"));
		assert_null(strstr(h.text, "not a userfaultfd"));
	}
	/* The well-formed message passes the parser (then the pipe fd is refused as a uffd). */
	assert_int_equal(handler_feed("[" MAP("\"page_size\":4096,\"page_size_kib\":4096") "]", &h),
			 1);
	assert_non_null(strstr(h.text, "connected to pid"));
	assert_non_null(strstr(h.text, "the fd received is not a userfaultfd"));
#undef MAP
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_format),
	    cmocka_unit_test(test_alloc_untouched),
	    cmocka_unit_test_setup_teardown(test_on_demand_one_region, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_on_demand_two_regions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balloon_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_keeps_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handler_rejects_bad_handshake, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
