/* SPDX-License-Identifier: Apache-2.0 */
/* uffd-handler: example page-fault handler for squib's Uffd snapshot backend (docs/uffd.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UH_MAX_REGIONS 64
#define UH_MSG_MAX 65536
#define UH_BATCH 64
#define UH_CHUNK_PAGES 256 /* pages per UFFDIO_COPY / ZEROPAGE when populating everything */

struct uh_region {
	uint64_t base, size, offset;
	uint64_t *removed; /* 1 bit per page: released by the balloon, later faults get zeros */
};

struct uh_state {
	int uffd, sock, memfd;
	const uint8_t *mem; /* MEMFILE mapped read-only, MAP_PRIVATE */
	uint64_t mem_size, page_size;
	struct uh_region r[UH_MAX_REGIONS];
	unsigned nr;
	uint64_t faults;   /* page faults served */
	uint64_t zeroed;   /* of which with UFFDIO_ZEROPAGE (hole or removed page) */
	uint64_t *pending; /* fault addresses deferred after EAGAIN */
	size_t n_pending, cap_pending;
	bool all_at_once;
};

static void uh_usage(FILE *f)
{
	fprintf(f, "usage: uffd-handler SOCKET MEMFILE [--mode on-demand|all-at-once]\n");
}

static int uh_parse_args(int argc, char **argv, const char **sock, const char **file,
			 bool *all_at_once)
{
	const char *pos[2];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *mode = NULL;
		if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
			mode = argv[++i];
		else if (strncmp(argv[i], "--mode=", 7) == 0)
			mode = argv[i] + 7;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return -1;
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return -1;
		if (mode && strcmp(mode, "on-demand") == 0)
			*all_at_once = false;
		else if (mode && strcmp(mode, "all-at-once") == 0)
			*all_at_once = true;
		else if (mode)
			return -1;
	}
	if (npos != 2)
		return -1;
	*sock = pos[0];
	*file = pos[1];
	return 0;
}

/* Listen on path. The socket is bound under a temporary name and renamed into place after
 * listen(), so a client that sees the path can connect at once. */
static int uh_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	char tmp[sizeof(sa.sun_path)];
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "uffd-handler: socket path too long: %s\n", path);
		return -1;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* stale socket of an earlier run */
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	bool renamed = n > 0 && (size_t)n < sizeof(tmp);
	strcpy(sa.sun_path, renamed ? tmp : path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0 ||
	    (renamed && rename(tmp, path) < 0)) {
		fprintf(stderr, "uffd-handler: cannot listen on %s: %s\n", path, strerror(errno));
		if (renamed)
			unlink(tmp);
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* The one handshake message: JSON text in buf (NUL-terminated) and exactly one fd. */
static int uh_recv(int s, char *buf, size_t cap, int *fd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap - 1};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl)};
	ssize_t n;
	int nfd = 0;
	*fd = -1;
	do
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fprintf(stderr, "uffd-handler: no handshake message: %s\n",
			n ? strerror(errno) : "connection closed");
		return -1;
	}
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfd++ == 0)
				*fd = f;
			else
				close(f);
		}
	}
	if (nfd != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		fprintf(stderr, "uffd-handler: expected exactly one fd (SCM_RIGHTS), got %d\n",
			nfd);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

static bool uh_is_uffd(int fd)
{
	char p[64], t[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return true; /* no /proc: cannot tell, the first ioctl will */
	t[n] = '\0';
	return strcmp(t, "anon_inode:[userfaultfd]") == 0;
}

/* A required non-negative integer field of a mapping. */
static int uh_field(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v || !json_is_integer(v) || json_integer_value(v) < 0) {
		fprintf(stderr, "uffd-handler: mapping field \"%s\" missing or not a u64\n", key);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Checks one GuestRegionUffdMapping object; fills st->r[i] and st->page_size. */
static int uh_mapping_parse(struct uh_state *st, json_t *o, unsigned i)
{
	struct uh_region *r = &st->r[i];
	uint64_t ps, ps_kib, end;
	if (!json_is_object(o) || json_object_size(o) != 5) {
		fprintf(stderr,
			"uffd-handler: mapping %u is not an object of exactly the 5 fields "
			"base_host_virt_addr, size, offset, page_size, page_size_kib\n",
			i);
		return -1;
	}
	if (uh_field(o, "base_host_virt_addr", &r->base) || uh_field(o, "size", &r->size) ||
	    uh_field(o, "offset", &r->offset) || uh_field(o, "page_size", &ps) ||
	    uh_field(o, "page_size_kib", &ps_kib))
		return -1;
	if (ps != ps_kib || ps < 4096 || (ps & (ps - 1)) || (i && ps != st->page_size)) {
		fprintf(stderr, "uffd-handler: bad page size %" PRIu64 "/%" PRIu64 "\n", ps,
			ps_kib);
		return -1;
	}
	st->page_size = ps;
	if (r->size == 0 || r->size % ps || r->base % ps || r->offset % ps ||
	    __builtin_add_overflow(r->base, r->size, &end) ||
	    __builtin_add_overflow(r->offset, r->size, &end) || end > st->mem_size) {
		fprintf(stderr,
			"uffd-handler: mapping %u (size %" PRIu64 ", offset %" PRIu64
			") is unaligned or beyond the memory file (%" PRIu64 " bytes)\n",
			i, r->size, r->offset, st->mem_size);
		return -1;
	}
	for (unsigned j = 0; j < i; j++) {
		if (r->base < st->r[j].base + st->r[j].size && st->r[j].base < r->base + r->size) {
			fprintf(stderr, "uffd-handler: mappings %u and %u overlap\n", j, i);
			return -1;
		}
	}
	r->removed = calloc((r->size / ps + 63) / 64, sizeof(uint64_t));
	return r->removed ? 0 : -1;
}

/* Strict parse of the JSON array Firecracker v1.16 sends (no unknown or missing fields). */
static int uh_mappings_parse(struct uh_state *st, const char *buf)
{
	json_error_t jerr;
	json_t *a = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
	int rc = 0;
	if (!a) {
		fprintf(stderr, "uffd-handler: handshake is not JSON: %s\n", jerr.text);
		return -1;
	}
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > UH_MAX_REGIONS) {
		fprintf(stderr, "uffd-handler: handshake is not an array of 1..%d mappings\n",
			UH_MAX_REGIONS);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(a); i++) {
		rc = uh_mapping_parse(st, json_array_get(a, i), (unsigned)i);
		st->nr = (unsigned)i + (rc == 0);
	}
	json_decref(a);
	return rc;
}

static struct uh_region *uh_region_find(struct uh_state *st, uint64_t addr)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (addr >= st->r[i].base && addr - st->r[i].base < st->r[i].size)
			return &st->r[i];
	return NULL;
}

static bool uh_removed(const struct uh_region *r, uint64_t page)
{
	return r->removed[page / 64] & (1ULL << (page % 64));
}

/* true when [off, off+len) of the memory file is entirely a hole (reads as zeros). */
static bool uh_is_hole(struct uh_state *st, uint64_t off, uint64_t len)
{
	off_t d = lseek(st->memfd, (off_t)off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO; /* no data after off; other errors: assume data */
	return (uint64_t)d >= off + len;
}

static int uh_zero(struct uh_state *st, uint64_t addr, uint64_t len)
{
	struct uffdio_zeropage z = {.range = {.start = addr, .len = len}};
	if (ioctl(st->uffd, UFFDIO_ZEROPAGE, &z) == 0)
		return 0;
	return -errno;
}

static int uh_copy(struct uh_state *st, uint64_t addr, uint64_t off, uint64_t len)
{
	struct uffdio_copy c = {
	    .dst = addr, .src = (uint64_t)(uintptr_t)(st->mem + off), .len = len};
	if (ioctl(st->uffd, UFFDIO_COPY, &c) == 0)
		return 0;
	return -errno;
}

static void uh_wake(struct uh_state *st, uint64_t addr, uint64_t len)
{
	struct uffdio_range rg = {.start = addr, .len = len};
	ioctl(st->uffd, UFFDIO_WAKE, &rg);
}

/* Serve the fault at addr: zeros for a removed page or a file hole, else the file's page.
 * 0 when done (EEXIST: someone else mapped it, wake the waiter), -EAGAIN to retry later, -ESRCH
 * when squib's memory is gone, other -errno fatal. */
static int uh_serve(struct uh_state *st, uint64_t addr)
{
	uint64_t ps = st->page_size;
	addr &= ~(ps - 1);
	struct uh_region *r = uh_region_find(st, addr);
	if (!r) {
		fprintf(stderr, "uffd-handler: fault at 0x%" PRIx64 " outside every mapping\n",
			addr);
		return 0;
	}
	uint64_t page = (addr - r->base) / ps, off = r->offset + page * ps;
	bool zero = uh_removed(r, page) || uh_is_hole(st, off, ps);
	int rc = zero ? uh_zero(st, addr, ps) : uh_copy(st, addr, off, ps);
	st->zeroed += zero && rc == 0;
	if (rc == -EEXIST)
		uh_wake(st, addr, ps);
	if (rc == -ENOENT) /* the range was unmapped meanwhile */
		rc = 0;
	return rc == -EEXIST ? 0 : rc;
}

static int uh_defer(struct uh_state *st, uint64_t addr)
{
	if (st->n_pending == st->cap_pending) {
		size_t cap = st->cap_pending ? 2 * st->cap_pending : 64;
		uint64_t *p = realloc(st->pending, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->pending = p;
		st->cap_pending = cap;
	}
	st->pending[st->n_pending++] = addr;
	return 0;
}

static void uh_on_remove(struct uh_state *st, uint64_t start, uint64_t end)
{
	uint64_t ps = st->page_size;
	for (unsigned i = 0; i < st->nr; i++) {
		struct uh_region *r = &st->r[i];
		uint64_t lo = start > r->base ? start : r->base;
		uint64_t hi = end < r->base + r->size ? end : r->base + r->size;
		for (uint64_t a = lo & ~(ps - 1); a < hi; a += ps) {
			uint64_t page = (a - r->base) / ps;
			r->removed[page / 64] |= 1ULL << (page % 64);
		}
	}
}

static int uh_fault(struct uh_state *st, uint64_t addr)
{
	int rc = uh_serve(st, addr);
	if (rc == -EAGAIN)
		return uh_defer(st, addr);
	if (rc == 0)
		st->faults++;
	return rc;
}

/* Read every queued uffd message. 0, or -errno (-ESRCH: squib's memory is gone). */
static int uh_drain(struct uh_state *st)
{
	struct uffd_msg msg[UH_BATCH];
	for (;;) {
		ssize_t n = read(st->uffd, msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (size_t i = 0; i < (size_t)n / sizeof(msg[0]); i++) {
			int rc = 0;
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				rc = uh_fault(st, msg[i].arg.pagefault.address);
			else if (msg[i].event == UFFD_EVENT_REMOVE)
				uh_on_remove(st, msg[i].arg.remove.start, msg[i].arg.remove.end);
			else
				fprintf(stderr, "uffd-handler: ignoring uffd event %u\n",
					msg[i].event);
			if (rc)
				return rc;
		}
	}
}

/* Retry faults deferred after EAGAIN (a REMOVE was in flight). */
static int uh_retry_pending(struct uh_state *st)
{
	size_t n = st->n_pending;
	st->n_pending = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = uh_fault(st, st->pending[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Fill [addr, addr+len) (file offset off) with one ioctl, skipping pages mapped meanwhile and
 * draining events while the kernel answers EAGAIN. 0 or -errno. */
static int uh_fill(struct uh_state *st, uint64_t addr, uint64_t off, uint64_t len, bool zero)
{
	uint64_t done = 0, ps = st->page_size;
	while (done < len) {
		struct uffdio_copy c = {.dst = addr + done,
					.src = (uint64_t)(uintptr_t)(st->mem + off + done),
					.len = len - done};
		struct uffdio_zeropage z = {.range = {.start = addr + done, .len = len - done}};
		int rc = ioctl(st->uffd, zero ? UFFDIO_ZEROPAGE : UFFDIO_COPY,
			       zero ? (void *)&z : (void *)&c);
		int64_t got = zero ? z.zeropage : c.copy;
		if (rc == 0)
			return 0;
		rc = errno;
		if (got > 0) {
			done += (uint64_t)got;
		} else if (rc == EEXIST) {
			uh_wake(st, addr + done, ps);
			done += ps;
		} else if (rc == EAGAIN) {
			int d = uh_drain(st);
			if (d)
				return d;
		} else {
			return -rc;
		}
	}
	return 0;
}

/* Length (page multiple, at most max) of the run of hole or data pages at file offset off. */
static uint64_t uh_run(struct uh_state *st, uint64_t off, uint64_t max, bool *hole)
{
	uint64_t ps = st->page_size, end;
	off_t d = lseek(st->memfd, (off_t)off, SEEK_DATA);
	if (d < 0 && errno != ENXIO) {
		*hole = false; /* SEEK_DATA unsupported: treat everything as data */
		return max;
	}
	*hole = d < 0 || (uint64_t)d >= off + ps;
	if (*hole) {
		end = d < 0 ? off + max : (uint64_t)d & ~(ps - 1);
	} else {
		off_t h = lseek(st->memfd, (off_t)off, SEEK_HOLE);
		end = h < 0 ? off + max : ((uint64_t)h + ps - 1) & ~(ps - 1);
	}
	return end - off < max ? end - off : max;
}

/* Populate one chunk [a, a+len) of region r; pages the balloon removed are left to fault. */
static int uh_populate_chunk(struct uh_state *st, struct uh_region *r, uint64_t a, uint64_t len,
			     uint64_t *zero_pages)
{
	uint64_t ps = st->page_size;
	for (uint64_t p = a; p < a + len;) {
		uint64_t page = (p - r->base) / ps, n = 0;
		bool hole;
		if (uh_removed(r, page)) {
			p += ps;
			continue;
		}
		uint64_t run = uh_run(st, r->offset + page * ps, a + len - p, &hole);
		while (n < run && !uh_removed(r, page + n / ps))
			n += ps;
		int rc = uh_fill(st, p, r->offset + page * ps, n, hole);
		if (rc)
			return rc;
		*zero_pages += hole ? n / ps : 0;
		p += n;
	}
	return 0;
}

/* all-at-once: copy every data page and zero-fill every hole before serving events. */
static int uh_populate_all(struct uh_state *st)
{
	uint64_t ps = st->page_size, chunk = UH_CHUNK_PAGES * ps, pages = 0, zero = 0;
	for (unsigned i = 0; i < st->nr; i++) {
		struct uh_region *r = &st->r[i];
		for (uint64_t a = r->base; a < r->base + r->size; a += chunk) {
			uint64_t len =
			    r->base + r->size - a < chunk ? r->base + r->size - a : chunk;
			int rc = uh_populate_chunk(st, r, a, len, &zero);
			if (rc)
				return rc;
			pages += len / ps;
		}
	}
	printf("uffd-handler: populated %" PRIu64 " pages (%" PRIu64 " zero)\n", pages, zero);
	return 0;
}

/* Serve until squib goes away (EOF / POLLHUP on the socket, POLLERR / POLLHUP on the uffd). */
static int uh_loop(struct uh_state *st)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = st->uffd, .events = POLLIN},
				      {.fd = st->sock, .events = POLLIN}};
		int rc = st->n_pending ? uh_retry_pending(st) : 0;
		if (rc)
			return rc == -ESRCH ? 0 : rc;
		if (poll(p, 2, st->n_pending ? 10 : -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents & POLLIN) {
			rc = uh_drain(st);
			if (rc)
				return rc == -ESRCH ? 0 : rc;
		}
		if ((p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) ||
		    (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)))
			return 0;
		if (p[1].revents & POLLIN) {
			char b[256];
			ssize_t n = recv(st->sock, b, sizeof(b), MSG_DONTWAIT);
			if (n == 0)
				return 0;
			if (n > 0)
				fprintf(stderr, "uffd-handler: ignoring %zd unexpected bytes\n", n);
		}
	}
}

/* Accept squib, take its mappings and uffd. 0 or -1 (message printed). */
static int uh_handshake(struct uh_state *st, const char *sock_path)
{
	static char buf[UH_MSG_MAX];
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int l = uh_listen(sock_path);
	if (l < 0)
		return -1;
	printf("uffd-handler: listening on %s\n", sock_path);
	do
		st->sock = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	while (st->sock < 0 && errno == EINTR);
	close(l);
	unlink(sock_path);
	if (st->sock < 0) {
		fprintf(stderr, "uffd-handler: accept: %s\n", strerror(errno));
		return -1;
	}
	if (getsockopt(st->sock, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		printf("uffd-handler: connected to pid %ld\n", (long)cred.pid);
	if (uh_recv(st->sock, buf, sizeof(buf), &st->uffd) || uh_mappings_parse(st, buf))
		return -1;
	if (!uh_is_uffd(st->uffd)) {
		fprintf(stderr, "uffd-handler: the fd received is not a userfaultfd\n");
		return -1;
	}
	printf("uffd-handler: %u mapping(s), page size %" PRIu64 "\n", st->nr, st->page_size);
	return 0;
}

static int uh_open_mem(struct uh_state *st, const char *path)
{
	struct stat sb;
	st->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (st->memfd < 0 || fstat(st->memfd, &sb) < 0) {
		fprintf(stderr, "uffd-handler: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	st->mem_size = (uint64_t)sb.st_size;
	if (st->mem_size == 0)
		return 0;
	void *p = mmap(NULL, st->mem_size, PROT_READ, MAP_PRIVATE, st->memfd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "uffd-handler: cannot map %s: %s\n", path, strerror(errno));
		return -1;
	}
	st->mem = p;
	return 0;
}

int main(int argc, char **argv)
{
	struct uh_state st = {.uffd = -1, .sock = -1, .memfd = -1};
	const char *sock_path, *mem_path;
	int rc;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		uh_usage(stdout);
		return 0;
	}
	if (uh_parse_args(argc, argv, &sock_path, &mem_path, &st.all_at_once)) {
		uh_usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (uh_open_mem(&st, mem_path) || uh_handshake(&st, sock_path))
		return 1;
	rc = st.all_at_once ? uh_populate_all(&st) : 0;
	if (rc == 0)
		rc = uh_loop(&st);
	if (rc && rc != -ESRCH)
		fprintf(stderr, "uffd-handler: serving faults failed: %s\n", strerror(-rc));
	printf("uffd-handler: zero-filled %" PRIu64 " of them\n", st.zeroed);
	printf("uffd-handler: served %" PRIu64 " faults\n", st.faults);
	for (unsigned i = 0; i < st.nr; i++)
		free(st.r[i].removed);
	free(st.pending);
	return rc && rc != -ESRCH ? 1 : 0;
}
