/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot: state-file envelope, sections, errors, memory files, create/load (snapshot.md). */
#ifndef SQUIB_SNAPSHOT_H
#define SQUIB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/vmm.h"

/* Error variants of ../shared/docs/snapshot.md, in that table's order. */
enum snap_err {
	SNAP_OK = 0,
	SNAP_E_QUIESCE_TIMEOUT,
	SNAP_E_MAGIC_MISMATCH,
	SNAP_E_VERSION_MISMATCH,
	SNAP_E_CRC_MISMATCH,
	SNAP_E_TOO_SHORT,
	SNAP_E_INCOMPATIBLE,
	SNAP_E_ATOMIC_COMMIT_FAILED,
	SNAP_E_ATOMIC_COMMIT_CROSS_FS,
	SNAP_E_INVALID_PATH,
	SNAP_E_BITCODE,
	SNAP_E_SIZE_LIMIT,
	SNAP_E_MEMORY_IO,
	SNAP_E_IO,
	SNAP_E_CAPTURE,
};

/* A failure: its variant, HTTP status and the exact wire message. */
struct snap_error {
	enum snap_err variant;
	int http_status;
	char msg[1024];
};

enum snap_type { SNAP_FULL = 0, SNAP_DIFF };
enum snap_mem_backend { SNAP_MEM_FILE = 0, SNAP_MEM_UFFD };

struct snap_create_req {
	char snapshot_path[VM_PATH_MAX];
	char mem_file_path[VM_PATH_MAX];
	enum snap_type type;
};

struct snap_net_override {
	char iface_id[VM_ID_MAX];
	char host_dev_name[16];
};
struct snap_drive_override {
	char drive_id[VM_ID_MAX];
	char path_on_host[VM_PATH_MAX];
};

struct snap_load_req {
	char snapshot_path[VM_PATH_MAX];
	char mem_path[VM_PATH_MAX]; /* mem_backend.backend_path or mem_file_path */
	enum snap_mem_backend backend;
	bool track_dirty_pages;
	bool resume_vm;
	uint32_t n_net, n_drive;
	struct snap_net_override net[VM_MAX_NETS];
	struct snap_drive_override drive[VM_MAX_DRIVES];
	bool has_vsock_override;
	char vsock_uds_path[VM_PATH_MAX];
};

#endif
