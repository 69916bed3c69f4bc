/* SPDX-License-Identifier: Apache-2.0 */
/* vmm: the microVM configuration model, lifecycle, vCPU threads and event loop. */
#ifndef SQUIB_VMM_H
#define SQUIB_VMM_H

#include <stdbool.h>
#include <stddef.h>
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
	uint16_t mtu; /* advertised with VIRTIO_NET_F_MTU; 0: not set (guest default) */
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
	/* added by vmm: process start for the boot timer (--start-time-us /
	 * --start-time-cpu-us, or the process start); 0 = the time vmm_boot is called. */
	uint64_t start_time_us;
	uint64_t start_time_cpu_us;
};

/* Fill cfg with Firecracker's defaults (1 vCPU, 128 MiB, no devices). */
void vm_config_init(struct vm_config *cfg);

/* ---- running microVM (implemented in src/vmm/) ---- */
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

/* ---- additions (vmm module) ---- */
struct hv_vm;
struct hv_vcpu;
struct gmem;
struct bus;
struct dev;

/* Check cfg as InstanceStart does (kernel set and readable, 1..32 vCPUs, even count with SMT,
 * memory > 0). Returns 0 or -EINVAL/-errno with Firecracker-style text in err. Any thread. */
int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen);

/* One virtio-mmio device as it appears on the command line (see arch_mmio_dev). */
struct vmm_mmio_slot {
	uint64_t base, len;
	uint32_t irq;
};
/* Compose the guest command line: boot_args (or Firecracker's default when absent),
 * "pci=off", root= and ro/rw for a root drive, then one virtio_mmio.device= entry per slot.
 * Returns 0, -E2BIG when it does not fit in len (or ARCH_CMDLINE_MAX). Any thread. */
int vmm_cmdline_build(const struct vm_config *cfg, const struct vmm_mmio_slot *slots,
		      uint32_t n_slots, char *out, size_t len);

/* Number of vCPUs of a running microVM. Any thread. */
uint32_t vmm_vcpu_count(const struct vmm *v);
/* Run fn on each vCPU's own thread while the VM is paused (vmm_pause succeeded), one vCPU
 * after another in id order. Returns 0, -EAGAIN if not paused, or the first error fn
 * returned (the remaining vCPUs are not visited). VMM thread. */
int vmm_for_each_vcpu_paused(struct vmm *v, int (*fn)(struct hv_vcpu *vcpu, uint32_t id, void *arg),
			     void *arg);
/* Accessors for the snapshot code (valid until vmm_destroy). */
struct gmem *vmm_gmem(struct vmm *v);
struct hv_vm *vmm_hv_vm(struct vmm *v);
struct bus *vmm_bus(struct vmm *v);
/* Every device in board order (serial, i8042, boot timer if present, then virtio devices);
 * returns the count and *out the array (owned by v). */
uint32_t vmm_devices(struct vmm *v, struct dev *const **out);
/* The configuration the VM was booted with. */
const struct vm_config *vmm_config(const struct vmm *v);
/* true while vmm_pause is in effect. */
bool vmm_is_paused(const struct vmm *v);
/* Snapshot load: build the microVM like vmm_boot but with guest RAM supplied by the caller
 * (mem: regions laid out and mapped, e.g. MAP_PRIVATE over the memory file; taken over by
 * the vmm on success and on failure, freed with gmem_free), no kernel loading and no boot
 * registers. Each vCPU is created on its own thread and restore_vcpu(vcpu, id, arg) runs
 * there (e.g. hv_vcpu_state_restore); then every vCPU parks, so the microVM is returned
 * Paused. The caller then restores the VM state (hv_vm_state_restore on vmm_hv_vm), the
 * devices (vmm_devices, dev_ops.restore) and calls vmm_resume. cfg->boot need not exist.
 * Returns 0 or -errno with text in err. VMM thread. */
int vmm_restore(const struct vm_config *cfg, struct gmem *mem, struct evloop *loop,
		vmm_exit_fn on_exit, void *ctx,
		int (*restore_vcpu)(struct hv_vcpu *vcpu, uint32_t id, void *arg), void *arg,
		struct vmm **out, char *err, size_t errlen);
/* The virtio-mmio devices of the microVM (never NULL after a successful boot/restore; the set
 * may be empty). For PATCH /drives, /network-interfaces, /balloon. VMM thread. */
struct virtio_set;
struct virtio_set *vmm_virtio(struct vmm *v);
/* Feed host bytes to the guest serial port (the VMM registers stdin itself). VMM thread. */
void vmm_serial_input(struct vmm *v, const uint8_t *buf, size_t len);

#endif
