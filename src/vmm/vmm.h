/* SPDX-License-Identifier: Apache-2.0 */
/* vmm: the microVM configuration model, lifecycle, vCPU threads and event loop. */
#ifndef SQUIB_VMM_H
#define SQUIB_VMM_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_VCPUS 32
#define VM_MAX_DRIVES 16
#define VM_MAX_NETS 8
#define VM_PATH_MAX 4096
#define VM_ID_MAX 64

/* Token bucket as in Firecracker's RateLimiter object (size 0 = unlimited). */
struct tbucket_cfg {
	bool set;
	uint64_t size;
	uint64_t one_time_burst; /* 0 if absent */
	uint64_t refill_time_ms;
};
struct rate_limiter_cfg {
	struct tbucket_cfg bandwidth, ops;
};

struct boot_source_cfg {
	bool set;
	char kernel_image_path[VM_PATH_MAX];
	char initrd_path[VM_PATH_MAX]; /* "" if none */
	bool has_boot_args;
	char boot_args[2048];
};

enum cpu_template {
	CPU_TEMPLATE_NONE = 0,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A
};
enum huge_pages { HUGE_PAGES_NONE = 0, HUGE_PAGES_2M };

struct machine_cfg {
	uint32_t vcpu_count;   /* default 1 */
	uint64_t mem_size_mib; /* default 128 */
	bool smt;
	bool track_dirty_pages;
	enum cpu_template cpu_template;
	enum huge_pages huge_pages;
};

enum io_engine { IO_ENGINE_SYNC = 0, IO_ENGINE_ASYNC };
enum cache_type { CACHE_UNSAFE = 0, CACHE_WRITEBACK };

struct drive_cfg {
	char drive_id[VM_ID_MAX];
	char path_on_host[VM_PATH_MAX];
	bool is_root_device;
	bool is_read_only;
	char partuuid[64]; /* "" if none */
	enum cache_type cache_type;
	enum io_engine io_engine;
	struct rate_limiter_cfg rate_limiter;
};

struct net_cfg {
	char iface_id[VM_ID_MAX];
	char host_dev_name[16];
	bool has_mac;
	uint8_t guest_mac[6];
	struct rate_limiter_cfg rx_rate_limiter, tx_rate_limiter;
};

struct vsock_cfg {
	bool set;
	uint32_t guest_cid;
	char uds_path[VM_PATH_MAX];
};

struct entropy_cfg {
	bool set;
	struct rate_limiter_cfg rate_limiter;
};

struct balloon_cfg {
	bool set;
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
	bool free_page_hinting;
	bool free_page_reporting;
};

struct cpuid_modifier {
	uint32_t leaf, subleaf, flags;
	uint8_t reg;	     /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint32_t set_mask;   /* bits forced to 1 */
	uint32_t clear_mask; /* bits forced to 0 */
};
struct msr_modifier {
	uint32_t addr;
	uint64_t set_mask, clear_mask;
};
#define VM_MAX_CPUID_MODS 128
#define VM_MAX_MSR_MODS 64
struct cpu_config_cfg {
	bool set;
	uint32_t n_cpuid, n_msr;
	struct cpuid_modifier cpuid[VM_MAX_CPUID_MODS];
	struct msr_modifier msr[VM_MAX_MSR_MODS];
};

/* The whole pre-boot configuration. Filled by the API/config-file handlers, consumed by
 * vmm_boot(). Plain data: copy it freely. */
struct vm_config {
	struct boot_source_cfg boot;
	struct machine_cfg machine;
	uint32_t n_drives, n_nets;
	struct drive_cfg drives[VM_MAX_DRIVES];
	struct net_cfg nets[VM_MAX_NETS];
	struct vsock_cfg vsock;
	struct entropy_cfg entropy;
	struct balloon_cfg balloon;
	struct cpu_config_cfg cpu_config;
	char serial_out_path[VM_PATH_MAX]; /* "" = stdout */
	bool boot_timer;		   /* --boot-timer */
};

/* Fill cfg with Firecracker's defaults (1 vCPU, 128 MiB, no devices). */
void vm_config_init(struct vm_config *cfg);

#endif

/* ---- running microVM (implemented in src/vmm/*.c) ---- */
struct vmm;
struct evloop;

/* Called on the VMM thread when the guest stops for good: exit_code 0 on i8042 reset or
 * guest power-off, Firecracker's codes otherwise (see docs/cli.md). */
typedef void (*vmm_exit_fn)(void *ctx, int exit_code);

/* Build and start the microVM described by cfg (InstanceStart). Registers its fds in loop
 * (VMM thread). On failure returns -errno and writes Firecracker's fault text into err. */
int vmm_boot(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit, void *ctx,
	     struct vmm **out, char *err, size_t errlen);
/* Stop every vCPU out of the guest (acknowledged) / let them run again. VMM thread. */
int vmm_pause(struct vmm *v);
int vmm_resume(struct vmm *v);
/* SendCtrlAltDel through the i8042. */
int vmm_send_ctrl_alt_del(struct vmm *v);
/* Tear everything down (vCPU threads joined, fds closed, memory unmapped). */
void vmm_destroy(struct vmm *v);
