/* SPDX-License-Identifier: Apache-2.0 */
/* base: logging, checked arithmetic, guest memory view, epoll event loop. */
#ifndef SQUIB_BASE_H
#define SQUIB_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE 4096ULL

/* ---- logging (Firecracker-style lines; see docs/logging.md) ---- */
enum log_level { LOG_OFF = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Configure the logger. path NULL = stderr. Returns 0 or -errno. Any thread. */
int log_configure(const char *path, enum log_level level, bool show_level, bool show_origin);
/* Set the instance id printed on each line (default "anonymous-instance"). */
void log_set_instance_id(const char *id);
/* Parse "Error|Warning|Info|Debug|Trace|Off" (case-insensitive). -EINVAL if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/* Emit one line. Never blocks for long; a full pipe drops the line and counts it. */
void log_emit(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Lines dropped because the sink would block. */
uint64_t log_lost_count(void);

#define LOG_ERR(...) log_emit(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_WARNING(...) log_emit(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_INF(...) log_emit(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DBG(...) log_emit(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* ---- checked arithmetic ---- */
/* *out = a + b; returns false on overflow. */
static inline bool add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* ---- guest memory ---- */
#define GMEM_MAX_REGIONS 3
struct gmem_region {
	uint64_t gpa;	      /* guest-physical start */
	uint64_t size;	      /* bytes, page multiple */
	uint8_t *host;	      /* host mapping */
	uint64_t file_offset; /* offset of this region in the memory file / memfd */
};
struct gmem {
	struct gmem_region r[GMEM_MAX_REGIONS];
	unsigned nr;
	uint64_t total; /* sum of region sizes */
	int fd;		/* memfd or snapshot file backing RAM, -1 if anonymous */
	uint64_t
	    *dirty; /* VMM-side dirty bitmap (1 bit per page, indexed by file offset), or NULL */
};

/* Host pointer for [gpa, gpa+len) if it lies entirely in one RAM region, else NULL.
 * Overflow-safe. Any thread. */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Like gmem_ptr, and marks the pages dirty in the VMM-side bitmap (device writes). */
void *gmem_ptr_w(struct gmem *m, uint64_t gpa, uint64_t len);
/* Copy helpers: return 0 or -EFAULT if the range is not guest RAM. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(struct gmem *m, uint64_t gpa, const void *src, uint64_t len);
/* Layout guest RAM of mem_size bytes as Firecracker v1.16 does: [0, min(size,3G)) and
 * [4G, ...). Fills gpa/size/file_offset only (host = NULL). Returns 0 or -EINVAL. */
int gmem_layout_x86(struct gmem *m, uint64_t mem_size);
/* Allocate RAM for the layout: one memfd (MFD_CLOEXEC), mapped MAP_SHARED per region.
 * Returns 0 or -errno. */
int gmem_alloc(struct gmem *m);
/* Release the mappings, the backing fd and the dirty bitmap. */
void gmem_free(struct gmem *m);
/* Allocate the VMM-side dirty bitmap (device writes through gmem_ptr_w are recorded there, for
 * Diff snapshots). 0 or -ENOMEM. */
int gmem_dirty_enable(struct gmem *m);

/* ---- event loop (VMM thread) ---- */
struct evloop;
typedef void (*evloop_cb)(void *arg, uint32_t events);
int evloop_create(struct evloop **out);
void evloop_destroy(struct evloop *l);
/* Watch fd for events (EPOLLIN etc.). Returns 0 or -errno. VMM thread only. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *arg);
int evloop_del(struct evloop *l, int fd);
/* Change the events watched on fd (same callback and slot; readiness is re-evaluated, so an
 * edge that is already due is reported). 0, -ENOENT if fd is not watched, or -errno. */
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Run one round, waiting at most timeout_ms (-1 forever). Returns number dispatched or -errno. */
int evloop_run_once(struct evloop *l, int timeout_ms);

/* ---- misc ---- */
uint64_t time_mono_us(void);
uint64_t time_cpu_us(void);

#endif
