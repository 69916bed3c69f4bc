/* SPDX-License-Identifier: Apache-2.0 */
/* vmm internals shared by the src/vmm sources (not a public header). */
#ifndef SQUIB_VMM_INT_H
#define SQUIB_VMM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "arch/x86_64/arch.h"
#include "base/base.h"
#include "devices/devices.h"
#include "hv/hv.h"
#include "virtio/virtio.h"
#include "vmm/vmm.h"

#define VMM_MAX_DEVS 32
#define VMM_MAX_MMIO 19 /* GSIs 5..23 */

struct vmm_vcpu {
	struct vmm *vmm;
	uint32_t id;
	pthread_t thread;
	bool thread_started;
	struct hv_vcpu *hv;
	uint64_t job_seen;
};

struct vmm {
	struct vm_config cfg;
	struct evloop *loop;
	vmm_exit_fn on_exit;
	void *ctx;

	struct gmem mem;
	bool mem_alloc;
	struct hv_vm *vm;
	struct bus *bus;
	struct dev *serial, *i8042;
	struct dev *devs[VMM_MAX_DEVS]; /* legacy devices first, then the virtio ones */
	uint32_t n_devs;
	uint32_t n_legacy; /* devs[0..n_legacy) are owned here; the rest by virtio */
	struct virtio_set *virtio;
	struct arch_mmio_dev mmio[VMM_MAX_MMIO];
	uint32_t n_mmio;
	struct arch_x86_boot boot;
	int serial_fd;
	bool serial_fd_owned;
	bool stdin_watched;
	int exit_efd;
	uint64_t start_us, start_cpu_us;

	/* vCPU control; lock protects everything below. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t n_vcpus;
	struct vmm_vcpu vcpus[VM_MAX_VCPUS];
	uint32_t n_ready; /* vCPUs that finished setup (or failed) */
	int setup_rc;	  /* first setup error */
	bool go;	  /* released to run */
	bool pause_req;
	uint32_t n_parked;
	bool stop;
	uint64_t job_gen;
	int (*job_fn)(struct hv_vcpu *, uint32_t, void *);
	void *job_arg;
	uint32_t job_next; /* id of the vCPU whose turn it is */
	int job_rc;
	/* vmm_restore: per-vCPU state restore on its own thread instead of boot setup */
	int (*restore_vcpu)(struct hv_vcpu *, uint32_t, void *);
	void *restore_arg;
	atomic_bool exited;
	atomic_int exit_code;
	bool exit_reported;
};

/* vcpu.c */
/* Start the vCPU threads and wait for their setup; start_paused parks them all before they
 * enter the guest (returns once all parked). */
int vmm_vcpus_start(struct vmm *v, bool start_paused, char *err, size_t errlen);
void vmm_vcpus_stop(struct vmm *v);
/* Record that the guest is done (first caller wins) and wake the VMM thread. Any thread. */
void vmm_request_exit(struct vmm *v, int code, const char *why);

/* arch_fallback.c (temporary, see that file) or the arch module. */

#endif
