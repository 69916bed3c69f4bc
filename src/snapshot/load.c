/* SPDX-License-Identifier: Apache-2.0 */
/* load: open a snapshot pair for restore (state checks, pair check) and map its memory. */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int snap_load_open(const struct snap_load_req *r, uint8_t **payload, size_t *len,
		   struct snap_state_view *v, int *mem_fd, struct snap_error *e)
{
	uint64_t size;
	char reason[128];
	*mem_fd = -1;
	int rc = snap_read_state(r->snapshot_path, payload, len, e);
	if (rc < 0)
		return rc;
	rc = snap_payload_parse(*payload, *len, v, e);
	if (rc == 0 && r->backend == SNAP_MEM_FILE) {
		rc = snap_mem_open(r->mem_path, v->mem.pair_id, mem_fd, &size, e);
		if (rc == 0 && size != v->mem.file_size) {
			snprintf(reason, sizeof(reason),
				 "memory file size %llu differs from the snapshot's %llu bytes",
				 (unsigned long long)size, (unsigned long long)v->mem.file_size);
			rc = snap_error_set(e, SNAP_E_CAPTURE, reason);
			close(*mem_fd);
			*mem_fd = -1;
		}
	}
	if (rc < 0) {
		free(*payload);
		*payload = NULL;
		*len = 0;
	}
	return rc;
}

int snap_mem_map(int fd, const struct snap_mem_desc *d, struct gmem *m, struct snap_error *e)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (d->nr == 0 || d->nr > GMEM_MAX_REGIONS)
		return snap_error_set(e, SNAP_E_MEMORY_IO, EINVAL);
	for (uint32_t i = 0; i < d->nr; i++) {
		void *p = mmap(NULL, d->r[i].size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)d->r[i].file_offset);
		if (p == MAP_FAILED) {
			int err = errno;
			gmem_free(m); /* unmaps what is mapped; m->fd is still -1 */
			return snap_error_set(e, SNAP_E_MEMORY_IO, err);
		}
		m->r[i] = (struct gmem_region){.gpa = d->r[i].gpa,
					       .size = d->r[i].size,
					       .host = p,
					       .file_offset = d->r[i].file_offset};
		m->nr = i + 1;
		m->total += d->r[i].size;
	}
	m->fd = fd;
	return 0;
}
