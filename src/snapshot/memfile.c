/* SPDX-License-Identifier: Apache-2.0 */
/* memfile: sparse Full/Diff memory files from guest RAM, pair ids, memory-file open. */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int pwrite_all(int fd, const uint8_t *p, uint64_t n, uint64_t off)
{
	int f = snap_fault("mem.write");
	if (f)
		return -f;
	while (n > 0) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
		ssize_t w = pwrite(fd, p, chunk, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		off += (uint64_t)w;
		n -= (uint64_t)w;
	}
	return 0;
}

/* true when the page (PAGE_SIZE bytes, 8-byte aligned) holds only zeros. */
static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < PAGE_SIZE / 8; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	}
	return true;
}

/* true when fd is a memfd (gmem_alloc's MAP_SHARED RAM). A snapshot file mapped MAP_PRIVATE
 * must not be asked for its extents: copy-on-write pages live outside the file. */
static bool fd_is_memfd(int fd)
{
	char link[64], target[16];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target));
	return n >= 7 && memcmp(target, "/memfd:", 7) == 0;
}

/* Next data extent of the region in [pos, size) (region-relative). RAM backed by a memfd
 * (mapped MAP_SHARED by gmem_alloc) is asked with SEEK_DATA/SEEK_HOLE so untouched RAM is
 * never faulted in; any other backing is scanned whole. Returns false when no data is left. */
static bool region_next_data(const struct gmem *m, const struct gmem_region *r, uint64_t pos,
			     uint64_t *start, uint64_t *end)
{
	*start = pos;
	*end = r->size;
	if (m->fd < 0 || !fd_is_memfd(m->fd))
		return pos < r->size;
	off_t d = lseek(m->fd, (off_t)(r->file_offset + pos), SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? false : pos < r->size;
	if ((uint64_t)d >= r->file_offset + r->size)
		return false;
	off_t h = lseek(m->fd, d, SEEK_HOLE);
	*start = ((uint64_t)d - r->file_offset) & ~(PAGE_SIZE - 1);
	if (h >= 0 && (uint64_t)h < r->file_offset + r->size)
		*end = ((uint64_t)h - r->file_offset + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	return true;
}

/* Write the non-zero pages of [start, end) of a region as runs. */
static int region_write_nonzero(int fd, const struct gmem_region *r, uint64_t start, uint64_t end)
{
	uint64_t run = UINT64_MAX;
	for (uint64_t off = start; off <= end; off += PAGE_SIZE) {
		bool data = off < end && !page_is_zero(r->host + off);
		if (data && run == UINT64_MAX)
			run = off;
		if (!data && run != UINT64_MAX) {
			int rc = pwrite_all(fd, r->host + run, off - run, r->file_offset + run);
			if (rc < 0)
				return rc;
			run = UINT64_MAX;
		}
	}
	return 0;
}

static int memfile_truncate(int fd, const struct gmem *m)
{
	int f = snap_fault("mem.write");
	if (f)
		return -f;
	return ftruncate(fd, (off_t)m->total) < 0 ? -errno : 0;
}

int snap_memfile_write_full(int fd, const struct gmem *m, struct snap_error *e)
{
	int rc = memfile_truncate(fd, m);
	for (unsigned i = 0; rc == 0 && i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];
		uint64_t pos = 0, s, t;
		if (!r->host)
			return snap_error_set(e, SNAP_E_CAPTURE, "guest memory region not mapped");
		while (rc == 0 && region_next_data(m, r, pos, &s, &t)) {
			rc = region_write_nonzero(fd, r, s, t);
			pos = t;
		}
	}
	return rc < 0 ? snap_error_set(e, SNAP_E_MEMORY_IO, -rc) : 0;
}

static bool bit_test(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

int snap_memfile_write_diff(int fd, const struct gmem *m, const uint64_t *dirty,
			    struct snap_error *e)
{
	int rc = memfile_truncate(fd, m);
	for (unsigned i = 0; rc == 0 && i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];
		uint64_t base = r->file_offset / PAGE_SIZE, np = r->size / PAGE_SIZE;
		uint64_t run = UINT64_MAX;
		if (!r->host)
			return snap_error_set(e, SNAP_E_CAPTURE, "guest memory region not mapped");
		for (uint64_t p = 0; rc == 0 && p <= np; p++) {
			if (p < np && run == UINT64_MAX && (base + p) % 64 == 0 && np - p >= 64 &&
			    dirty[(base + p) / 64] == 0) {
				p += 63; /* whole clean word */
				continue;
			}
			bool d = p < np && bit_test(dirty, base + p);
			if (d && run == UINT64_MAX)
				run = p;
			if (!d && run != UINT64_MAX) {
				rc =
				    pwrite_all(fd, r->host + run * PAGE_SIZE, (p - run) * PAGE_SIZE,
					       r->file_offset + run * PAGE_SIZE);
				run = UINT64_MAX;
			}
		}
	}
	return rc < 0 ? snap_error_set(e, SNAP_E_MEMORY_IO, -rc) : 0;
}

/* ---- pair id ---- */

int snap_pair_id_new(uint8_t id[SNAP_PAIR_ID_LEN])
{
	size_t got = 0;
	while (got < SNAP_PAIR_ID_LEN) {
		ssize_t n = getrandom(id + got, SNAP_PAIR_ID_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

int snap_pair_id_set_fd(int fd, const uint8_t id[SNAP_PAIR_ID_LEN])
{
	int f = snap_fault("xattr.set");
	if (f)
		return f == EOPNOTSUPP ? -ENOTSUP : -f;
	if (fsetxattr(fd, SNAP_PAIR_XATTR, id, SNAP_PAIR_ID_LEN, 0) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOTSUP ? -ENOTSUP : -errno;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t snap_pair_sibling_text(char *out, const uint8_t id[SNAP_PAIR_ID_LEN], uint64_t ino)
{
	size_t n = 0;
	for (int i = 0; i < SNAP_PAIR_ID_LEN; i++)
		n += (size_t)snprintf(out + n, SNAP_PAIR_TEXT_MAX - n, "%02x", id[i]);
	n += (size_t)snprintf(out + n, SNAP_PAIR_TEXT_MAX - n, " %llu\n", (unsigned long long)ino);
	return n;
}

/* A pair-id sibling file: 32 lowercase hex digits, optionally " <inode>", and "\n".
 * *ino is 0 when the file has no inode (written by an older squib). */
static int pair_id_file_read(const char *p, uint8_t id[SNAP_PAIR_ID_LEN], uint64_t *ino)
{
	char txt[SNAP_PAIR_TEXT_MAX];
	const int hex = 2 * SNAP_PAIR_ID_LEN;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENODATA : -errno;
	ssize_t n = read(fd, txt, sizeof(txt) - 1);
	close(fd);
	if (n < hex + 1 || txt[n - 1] != '\n')
		return -EINVAL;
	txt[n - 1] = 0;
	*ino = 0;
	if (n > hex + 1) {
		char *end;
		if (txt[hex] != ' ' || txt[hex + 1] < '0' || txt[hex + 1] > '9')
			return -EINVAL;
		errno = 0;
		unsigned long long v = strtoull(txt + hex + 1, &end, 10);
		if (errno || *end)
			return -EINVAL;
		*ino = v;
	}
	for (int i = 0; i < SNAP_PAIR_ID_LEN; i++) {
		int hi = hexval(txt[2 * i]), lo = hexval(txt[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Sibling "<mem_path>.pairid". */
static int pair_id_sibling_read(const char *mem_path, uint8_t id[SNAP_PAIR_ID_LEN])
{
	char p[VM_PATH_MAX + 16];
	if ((size_t)snprintf(p, sizeof(p), "%s%s", mem_path, SNAP_PAIR_SUFFIX) >= sizeof(p))
		return -ENAMETOOLONG;
	uint64_t ino;
	return pair_id_file_read(p, id, &ino);
}

int snap_pair_id_get(const char *mem_path, int fd, uint8_t id[SNAP_PAIR_ID_LEN])
{
	ssize_t n = fd >= 0 ? fgetxattr(fd, SNAP_PAIR_XATTR, id, SNAP_PAIR_ID_LEN)
			    : getxattr(mem_path, SNAP_PAIR_XATTR, id, SNAP_PAIR_ID_LEN);
	if (n == SNAP_PAIR_ID_LEN)
		return 0;
	if (n >= 0 || errno == ERANGE)
		return -EINVAL;
	if (errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	return pair_id_sibling_read(mem_path, id);
}

static uint64_t path_ino(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* Sibling fallback of mem_rollback: "<path>.pairid.tmp" names the state's pair id and the
 * inode of its memory file (the sibling is renamed first, then the memory file). If that inode
 * is at path, only the sibling moved: put it back. If it is at "<path>.tmp", put both back. */
static int mem_rollback_sibling(const char *path, const char *mtmp,
				const uint8_t want[SNAP_PAIR_ID_LEN])
{
	char pdst[VM_PATH_MAX + 32], ptmp[VM_PATH_MAX + 32];
	uint8_t id[SNAP_PAIR_ID_LEN];
	uint64_t ino;
	snprintf(pdst, sizeof(pdst), "%s%s", path, SNAP_PAIR_SUFFIX);
	snprintf(ptmp, sizeof(ptmp), "%s%s%s", path, SNAP_PAIR_SUFFIX, SNAP_TMP_SUFFIX);
	if (pair_id_file_read(ptmp, id, &ino) < 0 || ino == 0 ||
	    memcmp(id, want, SNAP_PAIR_ID_LEN) != 0)
		return -ENOENT;
	if (path_ino(path) != ino && (path_ino(mtmp) != ino || rename(mtmp, path) < 0))
		return -ENOENT;
	return rename(ptmp, pdst) < 0 ? -ENOENT : 0;
}

/* A create killed between its renames (commit.c exchanges "<dest>.tmp" and "<dest>") leaves
 * the previous state file in place with newer memory (or pair-id sibling) files. Put the
 * previous ones back when they provably belong to the state: the ".tmp" memory file's own
 * pair-id xattr is the state's, or the ".pairid.tmp" sibling names the state's id and the
 * inode of one of the two memory files. Anything else stays a PairMismatch (never a guest on
 * the wrong memory). 0 if rolled back, -ENOENT otherwise. */
static int mem_rollback(const char *path, const uint8_t want[SNAP_PAIR_ID_LEN])
{
	char tmp[VM_PATH_MAX + 16];
	uint8_t id[SNAP_PAIR_ID_LEN];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", path, SNAP_TMP_SUFFIX) >= sizeof(tmp))
		return -ENOENT;
	if (getxattr(tmp, SNAP_PAIR_XATTR, id, SNAP_PAIR_ID_LEN) == SNAP_PAIR_ID_LEN) {
		if (memcmp(id, want, SNAP_PAIR_ID_LEN) != 0 || rename(tmp, path) < 0)
			return -ENOENT;
	} else if (mem_rollback_sibling(path, tmp, want) < 0) {
		return -ENOENT;
	}
	LOG_WARNING("memory file %s: rolled back an interrupted snapshot create", path);
	return 0;
}

int snap_mem_open(const char *path, const uint8_t pair_id[SNAP_PAIR_ID_LEN], int *fd,
		  uint64_t *size, struct snap_error *e)
{
	struct stat st;
	uint8_t got[SNAP_PAIR_ID_LEN];
	*fd = -1;
	int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, errno);
	if (fstat(f, &st) < 0) {
		int err = errno;
		close(f);
		return snap_error_set(e, SNAP_E_MEMORY_IO, err);
	}
	int rc = snap_pair_id_get(path, f, got);
	if (rc < 0 && rc != -ENODATA && rc != -EINVAL) {
		close(f);
		return snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
	}
	if ((rc < 0 || memcmp(got, pair_id, SNAP_PAIR_ID_LEN) != 0) &&
	    mem_rollback(path, pair_id) == 0) {
		close(f);
		return snap_mem_open(path, pair_id, fd, size, e);
	}
	if (rc < 0 || memcmp(got, pair_id, SNAP_PAIR_ID_LEN) != 0) {
		close(f);
		return snap_error_set(e, SNAP_E_PAIR_MISMATCH, path);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}
