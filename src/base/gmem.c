/* SPDX-License-Identifier: Apache-2.0 */
/* gmem: guest RAM regions, overflow-safe guest-address translation. */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GIB (1ULL << 30)
#define MMIO32_START (3 * GIB)
#define MMIO32_END (4 * GIB)

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end;
	if (!add_u64(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size && r->host)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static void gmem_mark_dirty(struct gmem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t first = (r->file_offset + gpa - r->gpa) / PAGE_SIZE;
		uint64_t last = (r->file_offset + gpa - r->gpa + (len ? len - 1 : 0)) / PAGE_SIZE;
		for (uint64_t p = first; p <= last; p++)
			__atomic_or_fetch(&m->dirty[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
		return;
	}
}

void *gmem_ptr_w(struct gmem *m, uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);
	if (p && m->dirty)
		gmem_mark_dirty(m, gpa, len);
	return p;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(struct gmem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr_w(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gmem_layout_x86(struct gmem *m, uint64_t mem_size)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (mem_size == 0 || mem_size % PAGE_SIZE)
		return -EINVAL;
	uint64_t low = mem_size < MMIO32_START ? mem_size : MMIO32_START;
	m->r[0] = (struct gmem_region){.gpa = 0, .size = low, .file_offset = 0};
	m->nr = 1;
	if (mem_size > low) {
		m->r[1] = (struct gmem_region){
		    .gpa = MMIO32_END, .size = mem_size - low, .file_offset = low};
		m->nr = 2;
	}
	m->total = mem_size;
	return 0;
}

int gmem_alloc(struct gmem *m)
{
	int fd = memfd_create("squib-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)m->total) < 0)
		goto fail;
	for (unsigned i = 0; i < m->nr; i++) {
		void *p = mmap(NULL, m->r[i].size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_NORESERVE, fd, (off_t)m->r[i].file_offset);
		if (p == MAP_FAILED)
			goto fail;
		m->r[i].host = p;
	}
	m->fd = fd;
	return 0;
fail:;
	int err = -errno;
	for (unsigned i = 0; i < m->nr; i++) {
		if (m->r[i].host)
			munmap(m->r[i].host, m->r[i].size);
		m->r[i].host = NULL;
	}
	close(fd);
	return err;
}

void gmem_free(struct gmem *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		if (m->r[i].host)
			munmap(m->r[i].host, m->r[i].size);
		m->r[i].host = NULL;
	}
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->dirty);
	m->dirty = NULL;
}

int gmem_dirty_enable(struct gmem *m)
{
	uint64_t words = (m->total / PAGE_SIZE + 63) / 64;
	m->dirty = calloc(words ? words : 1, sizeof(uint64_t));
	return m->dirty ? 0 : -ENOMEM;
}
