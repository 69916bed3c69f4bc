/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot/uffd: squib's side of Firecracker's Uffd memory backend (userfaultfd + handshake). */
#ifndef SQUIB_SNAPSHOT_UFFD_H
#define SQUIB_SNAPSHOT_UFFD_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "snapshot/snapshot.h"

/* Largest handshake message squib sends (GMEM_MAX_REGIONS mappings fit with room to spare). */
#define SNAP_UFFD_MSG_MAX 1024

/* Map every region of m (layout already filled: gpa, size, file_offset; host NULL) as anonymous
 * private memory, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, as a Uffd
 * restore needs: the pages stay unpopulated until the page-fault handler serves them, so
 * squib must not touch them before snap_uffd_setup. Sets m->fd = -1. Returns 0 or -errno
 * (-EINVAL for an empty or non page-multiple region); on failure nothing stays mapped and
 * every host pointer is NULL. Release with gmem_free. */
int snap_uffd_alloc_guest_mem(struct gmem *m);

/* Write the handshake's JSON into buf (NUL-terminated): Firecracker v1.16's array of
 * GuestRegionUffdMapping, one object per region of m in order, exactly
 *   [{"base_host_virt_addr":H,"size":S,"offset":O,"page_size":P,"page_size_kib":P},...]
 * with decimal integers, no spaces; offset is the region's file_offset and both page_size
 * fields hold page_size in bytes (page_size_kib is misnamed upstream). Returns the length
 * (excluding the NUL) or -ENOSPC if it does not fit in cap. */
int snap_uffd_mappings_json(const struct gmem *m, uint64_t page_size, char *buf, size_t cap);

/* The Uffd backend of PUT /snapshot/load. Creates a userfaultfd (O_CLOEXEC|O_NONBLOCK, kernel
 * faults included, UFFD_API handshake requiring UFFD_FEATURE_EVENT_REMOVE; the userfaultfd(2)
 * syscall, or /dev/userfaultfd when the syscall is refused), registers every region of m
 * (m->r[i].host, m->r[i].size) for MISSING faults, connects to the Unix stream socket at
 * backend_path and sends ONE message: the snap_uffd_mappings_json text with the uffd in an
 * SCM_RIGHTS control message. The connected socket is then deliberately kept open for the
 * life of the process (as Firecracker does), so the handler's EOF means squib has exited.
 * page_size must be a power of two >= 4096 that divides every region's host address and size.
 * On success *uffd_out is the userfaultfd (caller owns it; it may close it once the handler
 * has it) and returns 0. On failure: SNAP_E_MEMORY_IO "memory file I/O error: {io}" with the
 * failing errno (ENOENT / ECONNREFUSED for a missing backend, ENAMETOOLONG for a path that
 * does not fit sun_path, EINVAL for a bad page size or region, EPERM / ENOSYS when no
 * userfaultfd is available), *uffd_out = -1, the regions are unregistered, and -errno is
 * returned. Call before any vCPU runs, on the VMM thread. */
int snap_uffd_setup(const char *backend_path, struct gmem *m, uint64_t page_size, int *uffd_out,
		    struct snap_error *e);

/* Same as snap_uffd_setup, but the connected socket is handed back in *sock_out (O_CLOEXEC)
 * instead of being kept open internally: closing it tells the handler squib is gone. Tests and
 * tools use this; *sock_out = -1 on failure. */
int snap_uffd_setup_ex(const char *backend_path, struct gmem *m, uint64_t page_size, int *uffd_out,
		       int *sock_out, struct snap_error *e);

#endif
