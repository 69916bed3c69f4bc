/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot: state-file envelope, sections, errors, memory files, create/load (snapshot.md). */
#ifndef SQUIB_SNAPSHOT_H
#define SQUIB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "vmm/vmm.h"

/* ---- format constants (the format version lives here and nowhere else) ---- */
#define SNAP_FORMAT_MAJOR 1
#define SNAP_FORMAT_MINOR 0
#define SNAP_FORMAT_PATCH 0
#define SNAP_STR_(x) #x
#define SNAP_XSTR_(x) SNAP_STR_(x)
/* "1.0.0", derived from the three numbers above */
#define SNAP_FORMAT_VERSION                                                                        \
	SNAP_XSTR_(SNAP_FORMAT_MAJOR)                                                              \
	"." SNAP_XSTR_(SNAP_FORMAT_MINOR) "." SNAP_XSTR_(SNAP_FORMAT_PATCH)
#define SNAP_MAGIC_X86_64 0x0710198486640000ULL
#define SNAP_MAGIC_AARCH64 0x07101984AAAA0000ULL
#define SNAP_MAGIC SNAP_MAGIC_X86_64
#define SNAP_SIZE_LIMIT 10000000u /* whole state file, trailer included */
#define SNAP_VMM_NAME "squib"
#define SNAP_PATH_MAX 4095 /* longest accepted path, bytes */
#define SNAP_PAIR_ID_LEN 16
#define SNAP_PAIR_XATTR "user.squib.pair_id"
#define SNAP_PAIR_SUFFIX ".pairid" /* fallback sibling when xattrs are unsupported */
#define SNAP_TMP_SUFFIX ".tmp"

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
	/* additions (never renumber the variants above) */
	SNAP_E_PAIR_MISMATCH, /* memory file is not the pair of the state file (squib) */
	SNAP_E__COUNT
};

/* A failure: its variant, HTTP status and the exact wire message (truncated at a UTF-8
 * boundary if longer than msg). */
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
	const char *mmds_json; /* MMDS section text (api_mmds_snapshot_text), NULL: none */
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
	bool clock_realtime;  /* x86: advance kvmclock to the host's realtime on resume (api) */
	char **mmds_json_out; /* if set: on success, the MMDS section's text (malloc'd) or NULL */
};

/* ---- errors (errors.c): one table, read by the wire message and by logs ---- */

/* Fill e with variant v, its HTTP status and its exact wire message. The variadic arguments
 * follow the placeholders of the variant's message, in order:
 *   MagicMismatch: uint64_t found, uint64_t expected
 *   VersionMismatch: const char *found, const char *expected
 *   AtomicCommitFailed, MemoryIo, Io: int errnum (positive errno)
 *   AtomicCommitCrossFs: const char *dest, const char *temp_dir
 *   InvalidPath, Bitcode, Capture: const char *reason
 *   SizeLimitExceeded: uint64_t limit
 *   PairMismatch: const char *mem_path
 *   others: none.
 * e may be NULL (nothing happens). Returns the negative errno that best matches v
 * (-EINVAL for file/request errors, -EIO for I/O ones, -errnum when given, ...). */
int snap_error_set(struct snap_error *e, enum snap_err v, ...);
/* Variant name as in snapshot.md ("CrcMismatch"), "Ok" for SNAP_OK, "Unknown" otherwise. */
const char *snap_error_name(enum snap_err v);
/* HTTP status of a variant (0 for SNAP_OK or an unknown value). */
int snap_error_http_status(enum snap_err v);
/* Reset e to SNAP_OK with an empty message. */
void snap_error_clear(struct snap_error *e);

/* ---- CRC-64/Jones (crc64.c) ---- */
/* Continue a CRC-64/Jones over buf (reflected, init 0, xorout 0: start with crc = 0).
 * crc64_jones(0, "123456789", 9) == 0xE9C6D914C4B8D9CA. Any thread. */
uint64_t crc64_jones(uint64_t crc, const void *buf, size_t len);

/* ---- sbuf: growable little-endian writer (sbuf.c) ---- */
/* Errors are sticky: after the first failure (-ENOMEM, -E2BIG, -EINVAL) every later put is
 * a no-op returning the same error, so a writer can check once at the end. */
struct sbuf {
	uint8_t *data;
	size_t len, cap;
	int err; /* 0 or the first negative errno */
};
/* Empty buffer, no allocation yet. */
void sbuf_init(struct sbuf *b);
/* Free the storage and reset to empty (err cleared). */
void sbuf_free(struct sbuf *b);
/* Append values in little endian. Return 0 or the sticky -errno. */
int sbuf_put_u8(struct sbuf *b, uint8_t v);
int sbuf_put_u16(struct sbuf *b, uint16_t v);
int sbuf_put_u32(struct sbuf *b, uint32_t v);
int sbuf_put_u64(struct sbuf *b, uint64_t v);
int sbuf_put_bool(struct sbuf *b, bool v); /* one byte, 0 or 1 */
int sbuf_put_bytes(struct sbuf *b, const void *p, size_t n);
/* A string as u32 LE length + bytes (no NUL). -E2BIG (sticky) if strlen(s) > max. */
int sbuf_put_str(struct sbuf *b, const char *s, size_t max);
/* Same, for n bytes that may contain anything (n <= max, n <= UINT32_MAX). */
int sbuf_put_strn(struct sbuf *b, const char *s, size_t n, size_t max);
/* Append n uninitialised bytes and return a pointer to them (valid until the next put), or
 * NULL on error. */
uint8_t *sbuf_reserve(struct sbuf *b, size_t n);
/* Section framing: begin writes u32 tag + a u32 length placeholder and returns a mark; end
 * backpatches the length with the bytes written since begin (-E2BIG if > UINT32_MAX). Marks
 * nest (a field length can be framed the same way with sbuf_len_begin/end). */
size_t sbuf_section_begin(struct sbuf *b, uint32_t tag);
int sbuf_section_end(struct sbuf *b, size_t mark);
/* A bare u32 length placeholder (no tag), backpatched by sbuf_len_end. */
size_t sbuf_len_begin(struct sbuf *b);
int sbuf_len_end(struct sbuf *b, size_t mark);

/* ---- sreader: bounds-checked little-endian reader (sbuf.c) ---- */
/* Every read past the end (or of a malformed value) sets the sticky err flag and returns 0 /
 * NULL; later reads fail too. Never reads outside [buf, buf+len). */
struct sreader {
	const uint8_t *p;
	size_t len, off;
	bool err;
};
void sreader_init(struct sreader *r, const void *buf, size_t len);
uint8_t sreader_u8(struct sreader *r);
uint16_t sreader_u16(struct sreader *r);
uint32_t sreader_u32(struct sreader *r);
uint64_t sreader_u64(struct sreader *r);
/* One byte that must be 0 or 1 (anything else sets err). */
bool sreader_bool(struct sreader *r);
/* Pointer to the next n bytes (advanced past), or NULL + err if fewer remain. */
const uint8_t *sreader_bytes(struct sreader *r, size_t n);
/* u32 length + bytes into dst (NUL-terminated). Fails (err) if the length is >= cap, exceeds
 * the input, or the bytes contain a NUL. Returns 0 or -EINVAL. */
int sreader_str(struct sreader *r, char *dst, size_t cap);
/* u32 length + bytes, returned by pointer (no copy) with *n; NULL + err if the length is
 * larger than max or than the input. */
const uint8_t *sreader_blob(struct sreader *r, size_t max, uint32_t *n);
size_t sreader_remaining(const struct sreader *r);
/* true when no read failed. */
bool sreader_ok(const struct sreader *r);

/* ---- envelope (envelope.c) ---- */
/* Frame payload as a state file: u64 LE magic, u64 LE n + version, payload, u64 LE CRC.
 * out is appended to. Returns 0 or -errno (sticky sbuf error). */
int snap_envelope_encode(const uint8_t *payload, size_t len, struct sbuf *out);
/* Same with an explicit magic and version string (tests, tools). */
int snap_envelope_encode_ex(uint64_t magic, const char *version, const uint8_t *payload, size_t len,
			    struct sbuf *out);

struct snap_envelope {
	uint64_t magic;
	char version[32]; /* as found in the file, normalised "M.m.p" */
	uint32_t major, minor, patch;
	const uint8_t *payload; /* points into the decoded buffer */
	size_t payload_len;
	bool crc_ok;
};
/* The version rule: a file version is loadable by "ours" when the majors are equal and the
 * file's minor is at most ours (patch free). */
bool snap_version_loadable(uint32_t major, uint32_t minor, uint32_t our_major, uint32_t our_minor);
/* Check buf (a whole state file) in snapshot.md's order: size limit, too short, CRC (skipped
 * when check_crc is false; env->crc_ok still reports it), decode of magic and version
 * (Bitcode), magic, version rule. Does not look at the payload. Returns 0, or -errno with e
 * set. env->payload points into buf. */
int snap_envelope_decode(const uint8_t *buf, size_t len, bool check_crc, struct snap_envelope *env,
			 struct snap_error *e);

/* ---- payload sections (sections.c, catalogue in docs/snapshot-format.md) ---- */
enum snap_tag {
	SNAP_TAG_IDENTITY = 1,
	SNAP_TAG_VM_INFO = 2,
	SNAP_TAG_VCPU = 3,
	SNAP_TAG_VM_STATE = 4,
	SNAP_TAG_DEVICE = 5,
	SNAP_TAG_MMDS = 6,
	SNAP_TAG_MEMORY = 7,
};
#define SNAP_MAX_DEVICES 64
#define SNAP_KIND_MAX 32

/* Host CPU features relevant to restore (x86 CPUID words). */
struct snap_cpu_features {
	char vendor[13];    /* CPUID 0 vendor string */
	uint32_t signature; /* CPUID 1 eax (family/model/stepping) */
	uint32_t leaf1_ecx, leaf1_edx, leaf7_ebx, leaf7_ecx, leaf7_edx;
	uint64_t xcr0_mask; /* CPUID 0xD.0 edx:eax: XSAVE features the host supports */
	uint32_t tsc_khz;   /* 0 if unknown; the caller fills it from hv_vm_tsc_khz() */
};
struct snap_identity {
	char vmm[16];	      /* SNAP_VMM_NAME */
	char vmm_version[32]; /* squib's own version, informative */
	struct snap_cpu_features cpu;
};
struct snap_vm_info {
	struct machine_cfg machine; /* memory size, vCPUs, SMT, template, dirty tracking */
	struct boot_source_cfg boot;
	/* device configuration (drives, nets, vsock, entropy, balloon, serial, boot timer); only
	 * those fields of dev are encoded (devcfg.c) */
	struct vm_config dev;
};
struct snap_mem_region {
	uint64_t gpa, size, file_offset;
};
struct snap_mem_desc {
	uint32_t page_size;
	uint8_t type; /* enum snap_type of the memory file */
	uint64_t file_size;
	uint8_t pair_id[SNAP_PAIR_ID_LEN];
	uint32_t nr;
	struct snap_mem_region r[GMEM_MAX_REGIONS];
};
struct snap_blob {
	const uint8_t *data; /* points into the payload */
	uint32_t len;
};
struct snap_device_sec {
	char kind[SNAP_KIND_MAX];
	char id[VM_ID_MAX];
	uint64_t mmio_base;
	uint32_t irq;
	struct snap_blob blob;
};
/* A whole payload, parsed and checked (blobs point into the payload buffer). Large: allocate
 * it on the heap. */
struct snap_state_view {
	struct snap_identity ident;
	struct snap_vm_info info;
	uint32_t n_vcpus;
	struct snap_blob vcpu[VM_MAX_VCPUS]; /* index i = vCPU i */
	struct snap_blob vm_state;
	uint32_t n_devices;
	struct snap_device_sec dev[SNAP_MAX_DEVICES];
	bool has_mmds;
	struct snap_blob mmds; /* JSON text, not NUL-terminated */
	struct snap_mem_desc mem;
};

/* Fill id with SNAP_VMM_NAME, the squib version and this host's CPUID words. */
void snap_identity_host(struct snap_identity *id);
/* Typed section writers: append one whole section (tag, length, body). 0 or sticky -errno. */
int snap_sec_identity_put(struct sbuf *b, const struct snap_identity *id);
int snap_sec_vm_info_put(struct sbuf *b, const struct snap_vm_info *vi);
int snap_sec_vcpu_put(struct sbuf *b, uint32_t index, const uint8_t *blob, size_t len);
int snap_sec_vm_state_put(struct sbuf *b, const uint8_t *blob, size_t len);
int snap_sec_mmds_put(struct sbuf *b, const char *json, size_t len);
int snap_sec_mem_put(struct sbuf *b, const struct snap_mem_desc *m);
/* Device sections let the device write its blob straight into b (dev_ops.save):
 *   size_t mk = snap_sec_device_begin(b, "virtio-block", "rootfs", base, irq);
 *   d->ops->save(d, b);
 *   snap_sec_device_end(b, mk);
 * end backpatches both the section and the blob length. */
size_t snap_sec_device_begin(struct sbuf *b, const char *kind, const char *id, uint64_t mmio_base,
			     uint32_t irq);
int snap_sec_device_end(struct sbuf *b, size_t mark);
/* Typed section readers over one section body. 0 or -EINVAL (malformed, or a length that
 * disagrees with the content). */
int snap_sec_identity_get(const uint8_t *body, size_t len, struct snap_identity *out);
int snap_sec_vm_info_get(const uint8_t *body, size_t len, struct snap_vm_info *out);
int snap_sec_mmds_get(const uint8_t *body, size_t len, struct snap_blob *json);
int snap_sec_mem_get(const uint8_t *body, size_t len, struct snap_mem_desc *out);
/* Walk and check a whole payload (order, identity first and "squib", known tags, lengths,
 * vCPU count, required sections) into v. Incompatible on any failure. 0 or -EINVAL. */
int snap_payload_parse(const uint8_t *p, size_t len, struct snap_state_view *v,
		       struct snap_error *e);
/* Envelope checks then snap_payload_parse over a whole state file held in memory. */
int snap_state_decode(const uint8_t *buf, size_t len, bool check_crc, struct snap_envelope *env,
		      struct snap_state_view *v, struct snap_error *e);

/* ---- paths (paths.c): validation before any I/O ---- */
/* InvalidPath unless path (len bytes, may hold NULs) is non-empty, has no NUL, is at most
 * SNAP_PATH_MAX bytes, has no ".." component and its parent is an existing directory.
 * 0 or -EINVAL with e set. */
int snap_path_validate_n(const char *path, size_t len, struct snap_error *e);
/* Only the checks that need no I/O (empty, NUL, length, ".."), for the API thread. */
int snap_path_validate_chars(const char *path, size_t len, struct snap_error *e);
/* Same for a C string (its length is strlen). */
int snap_path_validate(const char *path, struct snap_error *e);
/* AtomicCommitCrossFs unless temp_dir and dest (or, when dest does not exist yet, its parent)
 * have the same st_dev. A failing stat is Io. 0 or -errno. */
int snap_path_check_same_fs(const char *dest, const char *temp_dir, struct snap_error *e);
/* Parent directory of path into out ("." when path has no '/'). -ENAMETOOLONG if it does
 * not fit. */
int snap_path_parent(const char *path, char *out, size_t cap);

/* ---- memory files (memfile.c) ---- */
/* Write guest RAM into fd (an empty regular file) as a Full memory file: ftruncate to
 * m->total, then only non-zero pages are written (regions at their file_offset); zero pages
 * and holes of the backing memfd stay holes. MemoryIo on failure. 0 or -errno. */
int snap_memfile_write_full(int fd, const struct gmem *m, struct snap_error *e);
/* Diff: ftruncate to m->total and write exactly the pages whose bit is set in dirty (1 bit
 * per page, LE u64 words, indexed by file offset / PAGE_SIZE, m->total / PAGE_SIZE bits). */
int snap_memfile_write_diff(int fd, const struct gmem *m, const uint64_t *dirty,
			    struct snap_error *e);
/* Store pair id on the open memory file (xattr SNAP_PAIR_XATTR). Returns 0, -ENOTSUP when
 * the filesystem has no user xattrs (the caller then uses the sibling fallback), or -errno. */
int snap_pair_id_set_fd(int fd, const uint8_t id[SNAP_PAIR_ID_LEN]);
/* Read the pair id of the memory file at mem_path: xattr first, else the sibling
 * "<mem_path>.pairid". 0, -ENODATA when neither exists, -errno. */
int snap_pair_id_get(const char *mem_path, int fd, uint8_t id[SNAP_PAIR_ID_LEN]);
/* Text of a ".pairid" sibling: 32 lowercase hex digits, a space, the inode number of the
 * memory file it belongs to (decimal), "\n". The inode lets a load tell the two memory files
 * of a torn create apart (renames keep inodes); files without it (older squib) still load.
 * out must hold SNAP_PAIR_TEXT_MAX bytes. Returns the length. */
#define SNAP_PAIR_TEXT_MAX 64
size_t snap_pair_sibling_text(char *out, const uint8_t id[SNAP_PAIR_ID_LEN], uint64_t ino);
/* 16 random bytes from getrandom(2). 0 or -errno. */
int snap_pair_id_new(uint8_t id[SNAP_PAIR_ID_LEN]);
/* Open a memory file for loading (O_RDONLY|O_CLOEXEC) and check that it carries pair_id:
 * *fd and *size (st_size) on success. MemoryIo if it cannot be opened/stat'ed,
 * PairMismatch if the id differs or is absent. The caller compares *size with the
 * descriptor's file_size and maps the file MAP_PRIVATE. 0 or -errno. */
int snap_mem_open(const char *path, const uint8_t pair_id[SNAP_PAIR_ID_LEN], int *fd,
		  uint64_t *size, struct snap_error *e);
/* Copy every data extent of diff (SEEK_DATA/SEEK_HOLE) onto base at the same offset, then
 * give base the diff's pair id, so base + the diff's state file form a pair. Sizes must be
 * equal (InvalidPath otherwise). MemoryIo on I/O failure. 0 or -errno. */
int snapshot_rebase(const char *diff, const char *base, struct snap_error *e);
/* CLI: `squib snapshot rebase DIFF BASE` with argv = {"rebase", DIFF, BASE}. Prints the
 * error to stderr. Returns the process exit code (0 ok, 1 failure, 2 usage). */
int snapshot_rebase_main(int argc, char **argv);

/* ---- create / load orchestration (commit.c) ---- */
/* Test hook for failure injection: when set, called before each I/O step named
 * "state.write", "state.fsync", "mem.write", "mem.fsync", "rename.pairid", "rename.mem",
 * "rename.state", "dir.fsync"; a positive errno return makes that step fail with it.
 * NULL in production. Not thread-safe; tests only. */
extern int (*snap_fault_hook)(const char *step);

/* Write a snapshot pair. payload holds every section but the memory descriptor, in the
 * catalogue's order (identity, VM info, vCPUs, VM state, devices, MMDS). This function:
 *  1. validates both paths and the request (InvalidPath / AtomicCommitCrossFs; a Diff with
 *     track_dirty_pages false is InvalidPath "Diff snapshot requested but track_dirty_pages
 *     is false"; a Diff with dirty_or_null NULL is Capture) - no file is created on failure;
 *  2. draws a pair id, appends the memory descriptor section and frames the envelope;
 *  3. writes <mem>.tmp (Full from mem, or Diff of the pages set in dirty_or_null, which is
 *     the KVM dirty log OR'ed with mem->dirty, indexed by file offset), stores the pair id,
 *     fsyncs; writes <state>.tmp, fsyncs;
 *  4. renames memory (after its .pairid sibling if the fallback is used), then state, then
 *     fsyncs the parent directories.
 * On failure no .tmp file remains and the previous pair (if any) is restored in place.
 * Dirty bitmaps are only read: after a successful return the caller resets the KVM dirty
 * log and mem->dirty (dirty_or_null has ceil(mem->total / PAGE_SIZE / 64) words).
 * Called on the VMM thread with the vCPUs paused. 0 or -errno with e set. */
int snap_write_pair(const struct snap_create_req *r, bool track_dirty_pages,
		    const struct sbuf *payload, const struct gmem *mem,
		    const uint64_t *dirty_or_null, struct snap_error *e);
/* Read a state file (at most SNAP_SIZE_LIMIT + 1 bytes), run the envelope checks in order
 * and the payload structure check. On success *payload (malloc'd, caller frees) holds only
 * the payload, ready for snap_payload_parse. Io if the file cannot be read. 0 or -errno. */
int snap_read_state(const char *path, uint8_t **payload, size_t *len, struct snap_error *e);
/* Read a whole file of at most limit+1 bytes into a malloc'd buffer (Io on failure). */
int snap_file_read_limited(const char *path, size_t limit, uint8_t **buf, size_t *len,
			   struct snap_error *e);

/* ---- load helpers (load.c) ---- */
/* First half of PUT /snapshot/load, before any VM exists: read and check the state file
 * (snap_read_state), parse it into v (blobs point into *payload, which the caller frees after
 * restoring), and for the File backend open the memory file with the pair check
 * (snap_mem_open) and check its size against the memory descriptor (Capture "memory file
 * size N differs from the snapshot's M bytes"). For Uffd *mem_fd is -1. No path validation
 * (load reads existing files). 0 or -errno with e set; nothing to free on failure. */
int snap_load_open(const struct snap_load_req *r, uint8_t **payload, size_t *len,
		   struct snap_state_view *v, int *mem_fd, struct snap_error *e);
/* Map the memory file as guest RAM: one MAP_PRIVATE|MAP_NORESERVE mapping per descriptor
 * region at its file offset (pages fault in lazily; writes stay private). Fills m (gpa,
 * size, file_offset, host, nr, total, fd = fd, dirty = NULL); on success m owns fd and
 * gmem_free() releases everything. MemoryIo on failure (fd is then left open). */
int snap_mem_map(int fd, const struct snap_mem_desc *d, struct gmem *m, struct snap_error *e);

/* ---- describe (describe.c) ---- */
/* Print a human summary of the state file at path to out: path, magic, version, vcpu_count,
 * mem_size_mib, track_dirty_pages, devices, mmds_present, the memory file beside it (the
 * state path with its extension replaced by ".mem", or ".mem" appended) with its size and
 * pair check, and crc_ok. A CRC failure falls back to a decode without the CRC check.
 * Returns 0 (intact), 2 (CRC failed but printed), 1 (unreadable or undecodable). */
int snapshot_describe(const char *path, FILE *out);
/* The memory path describe infers for state_path. -ENAMETOOLONG if it does not fit. */
int snapshot_mem_path_guess(const char *state_path, char *out, size_t cap);

/* ---- running microVM (vmsnap.c, vmload.c) ---- */
/* PUT /snapshot/create on a paused microVM: validate the request, save devices, vCPUs (each on
 * its own thread) and VM state, then write the pair atomically (snap_write_pair). Diff takes
 * the KVM dirty log OR'ed with the VMM-side bitmap; after a successful create of either type
 * the dirty state starts over. VMM thread. 0 or -errno with e set. */
int snapshot_create(struct vmm *v, const struct vm_config *cfg, const struct snap_create_req *r,
		    struct snap_error *e);
/* PUT /snapshot/load before boot: read and check the state file, map guest RAM (File:
 * MAP_PRIVATE, lazy; Uffd: handshake with the handler at mem_path), rebuild the microVM with
 * the saved configuration plus overrides, restore vCPUs (on their threads), VM state and
 * devices in Firecracker's order, resume if asked. On failure nothing is left behind and the
 * caller stays Not started. VMM thread. 0 or -errno with e set. */
int snapshot_load(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
		  void *ctx, struct vmm **out, struct vm_config *cfg_out, struct snap_error *e);

#endif
