/* SPDX-License-Identifier: Apache-2.0 */
/* uffd: userfaultfd over guest RAM and Firecracker's handshake with an external page server. */
#include "snapshot/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int snap_uffd_alloc_guest_mem(struct gmem *m)
{
	if (m->nr == 0 || m->nr > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr; i++) {
		m->r[i].host = NULL;
		if (m->r[i].size == 0 || m->r[i].size % PAGE_SIZE)
			return -EINVAL;
	}
	m->fd = -1;
	for (unsigned i = 0; i < m->nr; i++) {
		void *p = mmap(NULL, m->r[i].size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			int err = -errno;
			gmem_free(m);
			return err;
		}
		m->r[i].host = p;
	}
	return 0;
}

int snap_uffd_mappings_json(const struct gmem *m, uint64_t page_size, char *buf, size_t cap)
{
	size_t len = 0;
	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i <= m->nr; i++) {
		int n;
		if (i == m->nr)
			n = snprintf(buf + len, cap - len, "%s]", m->nr ? "" : "[");
		else
			n = snprintf(buf + len, cap - len,
				     "%s{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
				     ",\"offset\":%" PRIu64 ",\"page_size\":%" PRIu64
				     ",\"page_size_kib\":%" PRIu64 "}",
				     i == 0 ? "[" : ",", (uint64_t)(uintptr_t)m->r[i].host,
				     m->r[i].size, m->r[i].file_offset, page_size, page_size);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[0] = '\0';
			return -ENOSPC;
		}
		len += (size_t)n;
	}
	return (int)len;
}

/* A userfaultfd that also reports kernel-mode faults (KVM touches guest RAM from the kernel):
 * the syscall first, then /dev/userfaultfd, which works without vm.unprivileged_userfaultfd. */
static int snap_uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	int err = errno;
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -err;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	err = errno;
	close(dev);
	return fd >= 0 ? fd : -err;
}

/* UFFD_API handshake: the features Firecracker requires (EVENT_REMOVE, for the balloon). */
static int snap_uffd_api(int fd)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE};
	const uint64_t need = (1ULL << _UFFDIO_REGISTER) | (1ULL << _UFFDIO_UNREGISTER);
	if (ioctl(fd, UFFDIO_API, &api) < 0)
		return -errno;
	if (!(api.features & UFFD_FEATURE_EVENT_REMOVE) || (api.ioctls & need) != need)
		return -ENOTSUP;
	return 0;
}

static int snap_uffd_check(const struct gmem *m, uint64_t page_size)
{
	if (page_size < 4096 || (page_size & (page_size - 1)))
		return -EINVAL;
	if (m->nr == 0 || m->nr > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];
		if (!r->host || r->size == 0 || r->size % page_size ||
		    (uintptr_t)r->host % page_size || r->file_offset % page_size)
			return -EINVAL;
	}
	return 0;
}

/* Register regions [0, n) for MISSING faults; on failure unregister those done. */
static int snap_uffd_register(int fd, const struct gmem *m)
{
	const uint64_t need = 1ULL << _UFFDIO_COPY;
	for (unsigned i = 0; i < m->nr; i++) {
		struct uffdio_register reg = {
		    .range = {.start = (uint64_t)(uintptr_t)m->r[i].host, .len = m->r[i].size},
		    .mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		int err = 0;
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0)
			err = -errno;
		else if ((reg.ioctls & need) != need)
			err = -ENOTSUP;
		if (err) {
			for (unsigned j = 0; j < i + (err == -ENOTSUP); j++) {
				struct uffdio_range rg = {.start =
							      (uint64_t)(uintptr_t)m->r[j].host,
							  .len = m->r[j].size};
				ioctl(fd, UFFDIO_UNREGISTER, &rg);
			}
			return err;
		}
	}
	return 0;
}

static int snap_uffd_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n == 0)
		return -ENOENT;
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int rc;
	do
		rc = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int err = -errno;
		close(s);
		return err;
	}
	return s;
}

/* One sendmsg of the JSON with the uffd as SCM_RIGHTS; a short write finishes without fd. */
static int snap_uffd_send(int s, const char *json, size_t len, int uffd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)json, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	size_t off = 0;
	while (off < len) {
		ssize_t w = sendmsg(s, &msg, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
		iov.iov_base = (void *)(json + off);
		iov.iov_len = len - off;
		msg.msg_control = NULL; /* the fd went with the first bytes */
		msg.msg_controllen = 0;
	}
	return 0;
}

static void snap_uffd_unregister_all(int fd, const struct gmem *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		struct uffdio_range rg = {.start = (uint64_t)(uintptr_t)m->r[i].host,
					  .len = m->r[i].size};
		ioctl(fd, UFFDIO_UNREGISTER, &rg);
	}
}

int snap_uffd_setup_ex(const char *backend_path, struct gmem *m, uint64_t page_size, int *uffd_out,
		       int *sock_out, struct snap_error *e)
{
	char json[SNAP_UFFD_MSG_MAX];
	int uffd = -1, s = -1, rc, len;

	*uffd_out = -1;
	if (sock_out)
		*sock_out = -1;
	if (!backend_path)
		return snap_error_set(e, SNAP_E_MEMORY_IO, EINVAL);
	if ((rc = snap_uffd_check(m, page_size)))
		return snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
	len = snap_uffd_mappings_json(m, page_size, json, sizeof(json));
	if (len < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, -len);
	if ((uffd = snap_uffd_open()) < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, -uffd);
	if ((rc = snap_uffd_api(uffd)))
		goto fail;
	if ((rc = snap_uffd_register(uffd, m)))
		goto fail;
	if ((s = snap_uffd_connect(backend_path)) < 0) {
		rc = s;
		goto fail_unreg;
	}
	if ((rc = snap_uffd_send(s, json, (size_t)len, uffd))) {
		close(s);
		goto fail_unreg;
	}
	LOG_INF("uffd: sent %u guest memory mapping(s) to %s", m->nr, backend_path);
	*uffd_out = uffd;
	if (sock_out)
		*sock_out = s;
	/* else: s stays open until the process exits, so the handler never sees an early EOF */
	return 0;
fail_unreg:
	snap_uffd_unregister_all(uffd, m);
fail:
	close(uffd);
	return snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
}

int snap_uffd_setup(const char *backend_path, struct gmem *m, uint64_t page_size, int *uffd_out,
		    struct snap_error *e)
{
	return snap_uffd_setup_ex(backend_path, m, page_size, uffd_out, NULL, e);
}
