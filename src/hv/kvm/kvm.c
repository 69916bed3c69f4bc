/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm: VM-wide operations of the hypervisor seam over the KVM UAPI. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"
#include "hv/kvm/kvm_int.h"

static int kvm_check(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static void kvm_caps_fill(struct hv_vm *vm)
{
	struct hv_caps *c = &vm->caps;
	c->irqfd = kvm_check(vm->vm_fd, KVM_CAP_IRQFD) > 0;
	c->ioeventfd = kvm_check(vm->vm_fd, KVM_CAP_IOEVENTFD) > 0;
	c->dirty_log = kvm_check(vm->vm_fd, KVM_CAP_USER_MEMORY) > 0;
	c->dirty_log_clear = kvm_check(vm->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0;
	c->tsc_control = kvm_check(vm->vm_fd, KVM_CAP_TSC_CONTROL) > 0;
	c->kvmclock_ctrl = kvm_check(vm->vm_fd, KVM_CAP_KVMCLOCK_CTRL) > 0;
	int mv = kvm_check(vm->vm_fd, KVM_CAP_MAX_VCPUS);
	if (mv <= 0)
		mv = kvm_check(vm->vm_fd, KVM_CAP_NR_VCPUS);
	c->max_vcpus = mv > 0 ? (uint32_t)mv : 1;
	int xs = kvm_check(vm->vm_fd, KVM_CAP_XSAVE2);
	vm->xsave_size = xs > (int)sizeof(struct kvm_xsave) ? xs : 0;
}

static int kvm_vm_setup(struct hv_vm *vm)
{
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -ENOTSUP;
	int t = 0;
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR && ++t < 10);
	if (vm->vm_fd < 0)
		return (errno == ENOENT || errno == ENODEV) ? -ENODEV : -errno;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return -EIO;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return -errno;
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return -errno;
	kvm_caps_fill(vm);
	return 0;
}

int hv_vm_create(struct hv_vm **out)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->vm_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		pthread_mutex_destroy(&vm->lock);
		free(vm);
		return (e == ENOENT || e == ENODEV || e == ENXIO) ? -ENODEV : -e;
	}
	int r = kvm_vm_setup(vm);
	if (r < 0) {
		hv_vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
}

void hv_vm_destroy(struct hv_vm *vm)
{
	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->msr_idx);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

const struct hv_caps *hv_vm_caps(const struct hv_vm *vm)
{
	return &vm->caps;
}

int hv_vm_map(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
	      unsigned flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = ((flags & HV_MAP_DIRTY_LOG) ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
		     ((flags & HV_MAP_READONLY) ? KVM_MEM_READONLY : 0),
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

int hv_vm_create_irqchip(struct hv_vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

int hv_vm_irq_line(struct hv_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t)(level != 0)};
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

int hv_vm_irqfd(struct hv_vm *vm, int efd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd f = {
	    .fd = (uint32_t)efd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0)
		return -errno;
	return 0;
}

int hv_vm_ioeventfd(struct hv_vm *vm, int efd, uint64_t addr, uint32_t len, int64_t datamatch,
		    bool assign)
{
	struct kvm_ioeventfd e = {
	    .datamatch = datamatch < 0 ? 0 : (uint64_t)datamatch,
	    .addr = addr,
	    .len = len,
	    .fd = efd,
	    .flags = (datamatch >= 0 ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
		     (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0)
		return -errno;
	return 0;
}

int hv_vm_dirty_log(struct hv_vm *vm, uint32_t slot, uint64_t npages, uint64_t *bitmap)
{
	(void)npages; /* KVM sizes the bitmap from the slot; the caller allocated enough */
	struct kvm_dirty_log d = {.slot = slot, .dirty_bitmap = bitmap};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return -errno;
	return 0;
}

int hv_vm_supported_cpuid(struct hv_vm *vm, struct hv_cpuid_entry *e, uint32_t *n)
{
	uint32_t cap = KVM_MAX_CPUID;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = cap;
	int r = 0;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		r = -errno;
		goto out;
	}
	if (c->nent > *n) {
		r = -ENOSPC;
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *k = &c->entries[i];
		e[i] = (struct hv_cpuid_entry){
		    .function = k->function,
		    .index = k->index,
		    .flags = (k->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
				 ? HV_CPUID_SIGNIFICANT_INDEX
				 : 0,
		    .eax = k->eax,
		    .ebx = k->ebx,
		    .ecx = k->ecx,
		    .edx = k->edx,
		};
	}
	*n = c->nent;
out:
	free(c);
	return r;
}

static int kvm_msr_index_fetch(struct hv_vm *vm)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + KVM_MAX_MSR_IDX * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = KVM_MAX_MSR_IDX;
	int r = 0;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		r = -errno;
	} else {
		vm->msr_idx = malloc(l->nmsrs * sizeof(uint32_t) + 1);
		if (!vm->msr_idx) {
			r = -ENOMEM;
		} else {
			memcpy(vm->msr_idx, l->indices, l->nmsrs * sizeof(uint32_t));
			vm->n_msr_idx = l->nmsrs;
		}
	}
	free(l);
	return r;
}

int kvm_msr_index_load(struct hv_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	int r = vm->msr_idx ? 0 : kvm_msr_index_fetch(vm);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int hv_vm_msr_index_list(struct hv_vm *vm, uint32_t *idx, uint32_t *n)
{
	int r = kvm_msr_index_load(vm);
	if (r < 0)
		return r;
	if (vm->n_msr_idx > *n)
		return -ENOSPC;
	memcpy(idx, vm->msr_idx, vm->n_msr_idx * sizeof(uint32_t));
	*n = vm->n_msr_idx;
	return 0;
}

uint32_t hv_vm_tsc_khz(struct hv_vm *vm)
{
	int r = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
	return r > 0 ? (uint32_t)r : 0;
}
