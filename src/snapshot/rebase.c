/* SPDX-License-Identifier: Apache-2.0 */
/* rebase: apply a Diff memory file onto its base (data extents via SEEK_DATA/SEEK_HOLE). */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REBASE_CHUNK (1u << 20)

/* Copy [start, end) of in onto out at the same offsets. 0 or -errno. */
static int copy_extent(int in, int out, uint64_t start, uint64_t end, uint8_t *buf)
{
	while (start < end) {
		size_t n = end - start > REBASE_CHUNK ? REBASE_CHUNK : (size_t)(end - start);
		ssize_t r = pread(in, buf, n, (off_t)start);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		for (ssize_t w, done = 0; done < r; done += w) {
			w = pwrite(out, buf + done, (size_t)(r - done), (off_t)(start + done));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
		}
		start += (uint64_t)r;
	}
	return 0;
}

/* Walk the data extents of in (whole file if SEEK_DATA is unsupported). */
static int copy_data_extents(int in, int out, uint64_t size)
{
	uint8_t *buf = malloc(REBASE_CHUNK);
	uint64_t pos = 0;
	int rc = 0;
	if (!buf)
		return -ENOMEM;
	while (rc == 0 && pos < size) {
		off_t d = lseek(in, (off_t)pos, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0) {
			rc = errno == EINVAL ? copy_extent(in, out, pos, size, buf) : -errno;
			break;
		}
		off_t h = lseek(in, d, SEEK_HOLE);
		uint64_t end = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
		rc = copy_extent(in, out, (uint64_t)d, end, buf);
		pos = end;
	}
	free(buf);
	return rc;
}

/* Give base the pair id of diff (xattr, else the sibling file). No id on diff: unchanged. */
static int pair_id_transfer(const char *diff, int dfd, const char *base, int bfd)
{
	uint8_t id[SNAP_PAIR_ID_LEN];
	char p[VM_PATH_MAX + 16];
	int rc = snap_pair_id_get(diff, dfd, id);
	if (rc == -ENODATA)
		return 0;
	if (rc < 0)
		return rc;
	rc = snap_pair_id_set_fd(bfd, id);
	if (rc != -ENOTSUP)
		return rc;
	if ((size_t)snprintf(p, sizeof(p), "%s%s", base, SNAP_PAIR_SUFFIX) >= sizeof(p))
		return -ENAMETOOLONG;
	struct stat st;
	char txt[SNAP_PAIR_TEXT_MAX];
	if (fstat(bfd, &st) < 0)
		return -errno;
	size_t n = snap_pair_sibling_text(txt, id, (uint64_t)st.st_ino);
	FILE *f = fopen(p, "we");
	if (!f)
		return -errno;
	fwrite(txt, 1, n, f);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int err = errno;
		fclose(f);
		return -err;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

int snapshot_rebase(const char *diff, const char *base, struct snap_error *e)
{
	struct stat ds, bs;
	char reason[160];
	int rc, dfd = open(diff, O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, errno);
	int bfd = open(base, O_WRONLY | O_CLOEXEC);
	if (bfd < 0) {
		rc = snap_error_set(e, SNAP_E_MEMORY_IO, errno);
		close(dfd);
		return rc;
	}
	if (fstat(dfd, &ds) < 0 || fstat(bfd, &bs) < 0) {
		rc = snap_error_set(e, SNAP_E_MEMORY_IO, errno);
	} else if (ds.st_size != bs.st_size) {
		snprintf(reason, sizeof(reason),
			 "memory file sizes differ (diff: %lld bytes, base: %lld bytes)",
			 (long long)ds.st_size, (long long)bs.st_size);
		rc = snap_error_set(e, SNAP_E_INVALID_PATH, reason);
	} else {
		rc = copy_data_extents(dfd, bfd, (uint64_t)ds.st_size);
		if (rc == 0)
			rc = pair_id_transfer(diff, dfd, base, bfd);
		if (rc == 0 && fsync(bfd) < 0)
			rc = -errno;
		if (rc < 0)
			rc = snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
	}
	close(dfd);
	close(bfd);
	return rc;
}

int snapshot_rebase_main(int argc, char **argv)
{
	struct snap_error e;
	if (argc != 3 || strcmp(argv[0], "rebase") != 0) {
		fprintf(stderr, "usage: squib snapshot rebase DIFF_MEM_FILE BASE_MEM_FILE\n"
				"Copies the pages present in DIFF onto BASE (in place).\n");
		return 2;
	}
	if (snapshot_rebase(argv[1], argv[2], &e) < 0) {
		fprintf(stderr, "squib snapshot rebase: %s\n", e.msg);
		return 1;
	}
	return 0;
}
