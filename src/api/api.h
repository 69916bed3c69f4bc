/* SPDX-License-Identifier: Apache-2.0 */
/* api: Firecracker v1.16.1 HTTP API (router, schemas, actions), config file, CLI, metrics. */
#ifndef SQUIB_API_H
#define SQUIB_API_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/base.h"
#include "snapshot/snapshot.h"
#include "vmm/vmm.h"

#define API_FC_VERSION "1.16.1"
#define API_DEFAULT_SOCK "/run/firecracker.socket"
#define API_DEFAULT_ID "anonymous-instance"
#define API_DEFAULT_MAX_PAYLOAD 51200
#define API_MAX_PAYLOAD_MIN 1024
#define API_MAX_PAYLOAD_MAX 1048576
#ifndef SNAP_FORMAT_VERSION
#define API_SNAP_FORMAT_VERSION "1.0.0"
#else
#define API_SNAP_FORMAT_VERSION SNAP_FORMAT_VERSION
#endif

/* Firecracker's process exit codes (FcExitCode). */
enum api_exit {
	API_EXIT_OK = 0,
	API_EXIT_GENERIC = 1,
	API_EXIT_UNEXPECTED = 2,
	API_EXIT_BAD_CONFIGURATION = 152,
	API_EXIT_ARG_PARSING = 153,
};

/* ---- wire messages: the one table (messages.c), golden-tested ---- */
enum api_msg {
	MSG_BAD_ROUTE,
	MSG_EMPTY_PUT,
	MSG_EMPTY_PATCH,
	MSG_GET_BODY,
	MSG_PAYLOAD_TOO_LARGE,
	MSG_JSON_SYNTAX,
	MSG_JSON_NOT_OBJECT,
	MSG_JSON_UNKNOWN_FIELD,
	MSG_JSON_MISSING_FIELD,
	MSG_JSON_TYPE,
	MSG_JSON_RANGE,
	MSG_JSON_VARIANT,
	MSG_NOT_BEFORE_START,
	MSG_NOT_AFTER_START,
	MSG_LOAD_AFTER_CONFIG,
	MSG_CREATE_NOT_PAUSED,
	MSG_NO_KERNEL,
	MSG_START_FAILED,
	MSG_VCPU_COUNT,
	MSG_MEM_SIZE,
	MSG_BALLOON_MEM,
	MSG_ID_MISMATCH,
	MSG_ID_INVALID,
	MSG_ROOT_DRIVE_EXISTS,
	MSG_TOO_MANY_DRIVES,
	MSG_TOO_MANY_NETS,
	MSG_DRIVE_NOT_FOUND,
	MSG_NET_NOT_FOUND,
	MSG_MAC_IN_USE,
	MSG_TAP_IN_USE,
	MSG_BALLOON_NONE,
	MSG_BALLOON_TOO_LARGE,
	MSG_BALLOON_STATS_DISABLED,
	MSG_MMDS_NOT_INIT,
	MSG_MMDS_LIMIT,
	MSG_MMDS_NOT_OBJECT,
	MSG_MMDS_IFACE_EMPTY,
	MSG_MMDS_IFACE_UNKNOWN,
	MSG_MMDS_IPV4,
	MSG_LOAD_MISSING_MEM,
	MSG_LOAD_TOO_MANY_MEM,
	MSG_LOAD_DEPRECATED,
	MSG_UNSUPPORTED,
	MSG_PAUSE_TIMEOUT,
	MSG_ACTION_TIMEOUT,
	MSG_QUEUE_FULL,
	MSG_VMM_GONE,
	MSG_LOGGER_OPEN,
	MSG_METRICS_OPEN,
	MSG_METRICS_NONE,
	MSG_DEVICE_UPDATE,
	MSG_VM_STATE_FAILED,
	MSG_CONFIG_READ,
	MSG_CONFIG_KEY,
	MSG_CONFIG_ACTION,
	MSG_OUT_OF_MEMORY,
	MSG_MALFORMED_HTTP,
	MSG_COUNT
};
/* The printf format of message id (NULL if out of range). Any thread. */
const char *api_msg_fmt(enum api_msg id);
/* The symbolic name of id ("MSG_..."), for the golden test. */
const char *api_msg_name(enum api_msg id);

/* ---- responses ---- */
struct api_response {
	int status;	 /* 200, 204, 400, 413, 500, 503, 504 */
	char *body;	 /* malloc'd JSON text or NULL (204) */
	bool deprecated; /* add the Deprecation header */
};
/* Build {"fault_message": <formatted table message>} with status. Returns -EINVAL so callers
 * can `return api_fail(...)`. */
int api_fail(struct api_response *r, int status, enum api_msg id, ...);
int api_failv(struct api_response *r, int status, enum api_msg id, va_list ap);
/* A fault with a literal message (snapshot errors, vmm boot errors). Returns -EINVAL. */
int api_fail_text(struct api_response *r, int status, const char *msg);
/* 200 with a JSON body (takes ownership of j). */
void api_ok_json(struct api_response *r, json_t *j);
void api_response_free(struct api_response *r);

/* ---- typed actions (router output, executed on the VMM thread) ---- */
enum api_method { API_M_GET, API_M_PUT, API_M_PATCH, API_M_DELETE, API_M_OTHER };
enum api_method api_method_parse(const char *s);

enum api_kind {
	/* read-only GETs answered from the published copy */
	API_GET_ROOT,
	API_GET_VERSION,
	API_GET_MACHINE,
	API_GET_VM_CONFIG,
	API_GET_BALLOON,
	API_GET_MMDS,
	API_N_PUBLISHED,
	/* everything else goes through the VMM queue */
	API_GET_BALLOON_STATS = API_N_PUBLISHED,
	API_START,
	API_SEND_CAD,
	API_FLUSH_METRICS,
	API_PUT_BOOT,
	API_PUT_MACHINE,
	API_PATCH_MACHINE,
	API_PUT_DRIVE,
	API_PATCH_DRIVE,
	API_PUT_NET,
	API_PATCH_NET,
	API_PUT_VSOCK,
	API_PUT_ENTROPY,
	API_PUT_BALLOON,
	API_PATCH_BALLOON,
	API_PATCH_BALLOON_STATS,
	API_BALLOON_HINTING,
	API_PUT_LOGGER,
	API_PUT_METRICS,
	API_PUT_MMDS,
	API_PATCH_MMDS,
	API_PUT_MMDS_CONFIG,
	API_PUT_SERIAL,
	API_PUT_CPU_CONFIG,
	API_PATCH_VM,
	API_SNAP_CREATE,
	API_SNAP_LOAD,
	API_KIND_COUNT
};

struct api_machine_patch {
	bool has_vcpu, has_mem, has_smt, has_track, has_tmpl, has_huge;
	struct machine_cfg v;
};
struct api_drive_patch {
	char drive_id[VM_ID_MAX];
	bool has_path, has_rl;
	char path_on_host[VM_PATH_MAX];
	struct rate_limiter_cfg rl;
};
struct api_net_patch {
	char iface_id[VM_ID_MAX];
	bool has_rx, has_tx;
	struct rate_limiter_cfg rx, tx;
};
struct api_logger_cfg {
	char log_path[VM_PATH_MAX]; /* "" = keep current sink */
	enum log_level level;
	bool show_level, show_origin;
	char module[128];
};
struct api_metrics_cfg {
	char metrics_path[VM_PATH_MAX];
};
struct api_mmds_cfg {
	int version;   /* 1 or 2 */
	uint32_t ipv4; /* host order */
	bool imds_compat;
	uint32_t n_ifaces;
	char ifaces[VM_MAX_NETS][VM_ID_MAX];
};
enum api_hint_op { API_HINT_START, API_HINT_STATUS, API_HINT_STOP };

struct api_action {
	enum api_kind kind;
	bool deprecated;
	union {
		struct boot_source_cfg boot;
		struct machine_cfg machine;
		struct api_machine_patch mpatch;
		struct drive_cfg drive;
		struct api_drive_patch dpatch;
		struct net_cfg net;
		struct api_net_patch npatch;
		struct vsock_cfg vsock;
		struct entropy_cfg entropy;
		struct balloon_cfg balloon;
		uint32_t amount_mib;
		uint32_t stats_interval_s;
		enum api_hint_op hint_op;
		struct api_logger_cfg logger;
		struct api_metrics_cfg metrics;
		struct api_mmds_cfg mmds_cfg;
		char serial_out_path[VM_PATH_MAX];
		struct cpu_config_cfg cpu;
		bool pause;
		struct snap_create_req snap_create;
		struct snap_load_req snap_load;
	} u;
	json_t *json; /* PUT/PATCH /mmds body (owned; freed by api_action_clear) */
};

/* Parse one request (method, path without query, body of len bytes) into a typed action.
 * Pure: no global state. Returns 0, or -EINVAL with r filled with the 4xx answer; then
 * a->kind is the matched route's kind, or API_KIND_COUNT when no route matched. */
int api_route(enum api_method m, const char *path, const char *body, size_t len,
	      struct api_action *a, struct api_response *r);
/* Route a whole raw HTTP/1.1 request held in memory (fuzz target, tests). Same contract. */
int api_route_raw(const uint8_t *data, size_t len, struct api_action *a, struct api_response *r);
/* Free what an action owns (the MMDS JSON). */
void api_action_clear(struct api_action *a);
/* Short label of an action for 504 messages and logs ("InstanceStart", "PATCH /vm", ...). */
const char *api_action_what(enum api_kind k);
/* Deadline for an action in milliseconds (squib's per-class timeouts). */
int api_action_deadline_ms(enum api_kind k);

/* ---- the VMM the actions drive: the real one, or a test double ---- */
struct api_vmm_ops {
	int (*boot)(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit,
		    void *ctx, struct vmm **out, char *err, size_t errlen);
	int (*pause)(struct vmm *v);
	int (*resume)(struct vmm *v);
	int (*ctrl_alt_del)(struct vmm *v);
	void (*destroy)(struct vmm *v);
	int (*snap_create)(struct vmm *v, const struct vm_config *cfg,
			   const struct snap_create_req *r, struct snap_error *e);
	int (*snap_load)(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
			 void *ctx, struct vmm **out, struct vm_config *cfg_out,
			 struct snap_error *e);
};
/* vmm_boot, vmm_pause, ..., snapshot_create, snapshot_load. */
extern const struct api_vmm_ops api_vmm_ops_real;
/* A stand-in VMM without KVM (squib's API tests, env SQUIB_TEST_FAKE_VMM=1): boot and
 * snapshots succeed without touching a guest; SendCtrlAltDel ends the "guest" with exit 0. */
extern const struct api_vmm_ops api_vmm_ops_fake;

/* ---- the VMM-side state the actions run against (VMM thread only) ---- */
enum api_vm_state { API_VM_NOT_STARTED, API_VM_RUNNING, API_VM_PAUSED };

struct api_vm {
	struct vm_config cfg;
	enum api_vm_state state;
	bool boot_specific_set; /* anything but logger/metrics/serial/mmds configured */
	bool restored;		/* came from PUT /snapshot/load */
	bool machine_put;
	struct vmm *vmm;
	struct evloop *loop;
	vmm_exit_fn on_exit;
	void *exit_ctx;
	char id[VM_ID_MAX + 1];
	bool logger_set, metrics_set, mmds_cfg_set;
	struct api_logger_cfg logger;
	struct api_metrics_cfg metrics;
	struct api_mmds_cfg mmds_cfg;
	json_t *mmds; /* NULL until initialized */
	size_t mmds_limit;
	const struct api_vmm_ops *ops; /* &api_vmm_ops_real unless a test swaps it */
};

/* Initialise with defaults (Firecracker's), id may be NULL. */
void api_vm_init(struct api_vm *vm, const char *id, struct evloop *loop, vmm_exit_fn on_exit,
		 void *ctx, size_t mmds_limit);
/* Free MMDS data and destroy a running vmm if any. */
void api_vm_fini(struct api_vm *vm);
/* Execute one action against vm; fills r. VMM thread. */
void api_exec(struct api_vm *vm, struct api_action *a, struct api_response *r);
/* The FullVmConfiguration document (GET /vm/config, same keys as --config-file). */
json_t *api_vm_config_json(const struct api_vm *vm);
/* "Not started" / "Running" / "Paused". */
const char *api_state_name(enum api_vm_state s);

/* Logger extension (implemented in src/base/log.c): only emit lines whose origin file path
 * contains module ("" or NULL = all). Any thread. */
void log_set_module(const char *module);

/* ---- MMDS data store (mmds.c) ---- */
/* RFC 7396 merge patch: returns the new target (target is consumed, patch is not). */
json_t *api_merge_patch(json_t *target, json_t *patch);
/* Serialized (compact) size of j in bytes. */
size_t api_json_size(const json_t *j);

/* ---- config file (config.c) ---- */
/* Replay a --config-file document through api_route/api_exec (same validation as HTTP).
 * Does not start the VM. Returns 0 or -EINVAL with a log-ready message in err. VMM thread. */
int api_config_replay(struct api_vm *vm, const char *text, size_t len, char *err, size_t errlen);
/* Seed MMDS from a --metadata file. Returns 0 or -errno/-EINVAL with err. */
int api_metadata_load(struct api_vm *vm, const char *path, char *err, size_t errlen);

/* ---- metrics (metrics.c) ---- */
enum api_metric_group { API_MET_GET, API_MET_PUT, API_MET_PATCH };
/* Count one request on kind k (ok or failed). Any thread. */
void api_metrics_count(enum api_kind k, bool failed);
void api_metrics_deprecated(void);
/* Record a latency sample in latencies_us.<name> (name from api_metrics_latency_names). */
void api_metrics_latency(const char *name, uint64_t us);
/* api_server.process_startup_time_us / _cpu_us (from the jailer's --start-time-* flags). */
void api_metrics_startup(uint64_t us, uint64_t cpu_us);
/* Open the metrics sink (file or FIFO, non-blocking). Returns 0 or -errno. */
int api_metrics_open(const char *path);
bool api_metrics_is_open(void);
/* Write one JSON line of all metrics (counters are deltas since the last flush). Returns 0,
 * -ENODEV if no sink, -EAGAIN if the pipe was full (counted as a lost metric). */
int api_metrics_flush(void);
/* The metrics document (for tests). Caller frees. */
char *api_metrics_render(void);
uint64_t api_metrics_lost(void);

/* ---- HTTP server (server.c) ---- */
struct api_server;
/* Bind an AF_UNIX socket at path (stale file removed, mode 0600) and serve the API on
 * libmicrohttpd threads; actions are queued to vm's evloop (eventfd). Returns 0 or -errno. */
int api_server_start(const char *path, struct api_vm *vm, size_t max_payload,
		     struct api_server **out);
/* Stop serving, unlink the socket and free. Main thread. */
void api_server_stop(struct api_server *s);
/* Refresh the published read-only copy from vm (VMM thread; also done after every action). */
void api_server_publish(struct api_server *s);

/* ---- CLI (cli.c) ---- */
struct api_cli {
	const char *api_sock, *id, *config_file, *metadata, *seccomp_filter;
	const char *log_path, *level, *module, *metrics_path, *describe_snapshot;
	bool no_api, no_seccomp, show_level, show_log_origin, boot_timer, enable_pci;
	bool version, snapshot_version, help;
	size_t max_payload, mmds_limit;
	bool mmds_limit_set;
	uint64_t start_time_us, start_time_cpu_us, parent_cpu_time_us;
};
/* Parse argv as Firecracker v1.16.1 does. Returns 0 or -EINVAL with a message in err (exit
 * API_EXIT_ARG_PARSING). */
int api_cli_parse(int argc, char **argv, struct api_cli *o, char *err, size_t errlen);
/* The --help text. */
const char *api_cli_usage(void);

/* ---- device dispatch for post-boot updates (devices_glue.c; weak until wired) ---- */
/* Each returns 0 or -errno and may write a reason into err. VMM thread. */
int api_dev_drive_update(struct vmm *v, const struct api_drive_patch *p, char *err, size_t n);
int api_dev_net_update(struct vmm *v, const struct api_net_patch *p, char *err, size_t n);
int api_dev_balloon_update(struct vmm *v, uint32_t amount_mib, char *err, size_t n);
int api_dev_balloon_stats_update(struct vmm *v, uint32_t interval_s, char *err, size_t n);
/* Fill *out with the BalloonStats object (caller decrefs). */
int api_dev_balloon_stats(struct vmm *v, json_t **out, char *err, size_t n);
int api_dev_balloon_hinting(struct vmm *v, enum api_hint_op op, json_t **out, char *err, size_t n);

/* ---- snapshot glue (weak fallbacks until src/snapshot provides them) ---- */
int snapshot_create(struct vmm *v, const struct vm_config *cfg, const struct snap_create_req *r,
		    struct snap_error *e);
int snapshot_load(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
		  void *ctx, struct vmm **out, struct vm_config *cfg_out, struct snap_error *e);
int snapshot_describe(const char *path, FILE *out);
int snapshot_rebase_main(int argc, char **argv);

#endif
