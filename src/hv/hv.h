/* SPDX-License-Identifier: Apache-2.0 */
/* hv: the hypervisor seam. One interface; backends live in src/hv/<name>/ and are linked in
 * by the build. Nothing outside a backend includes a hypervisor's headers. */
#ifndef SQUIB_HV_H
#define SQUIB_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_vm;
struct hv_vcpu;

struct hv_caps {
	bool irqfd;	      /* interrupts can be injected through an eventfd */
	bool ioeventfd;	      /* MMIO writes can signal an eventfd without an exit */
	bool dirty_log;	      /* per-slot dirty page logging */
	bool dirty_log_clear; /* KVM_CLEAR_DIRTY_LOG style manual protect */
	bool tsc_control;     /* TSC frequency can be set per vCPU */
	bool kvmclock_ctrl;   /* guest can be told it was paused */
	uint32_t max_vcpus;
};

enum hv_exit_kind {
	HV_EXIT_PIO = 1,
	HV_EXIT_MMIO,
	HV_EXIT_HLT,
	HV_EXIT_SHUTDOWN,	/* triple fault */
	HV_EXIT_SYSTEM_EVENT,	/* guest asked for reset/shutdown via the hypervisor */
	HV_EXIT_CANCELLED,	/* hv_vcpu_kick() interrupted the run */
	HV_EXIT_INTERNAL_ERROR, /* emulation failure etc.: stop the VM */
	HV_EXIT_FAIL_ENTRY,
	HV_EXIT_UNKNOWN,
};

struct hv_exit {
	enum hv_exit_kind kind;
	union {
		struct {
			uint16_t port;
			uint8_t size; /* 1, 2 or 4 */
			bool write;
			uint32_t count; /* rep count */
			uint8_t *data;	/* size*count bytes, read for writes, filled for reads */
		} pio;
		struct {
			uint64_t addr;
			uint8_t *data; /* len bytes, read for writes, filled for reads */
			uint32_t len;
			bool write;
		} mmio;
		struct {
			uint32_t suberror;
			uint64_t rip;
			uint8_t insn[16];
			uint32_t insn_len;
		} err;
		uint64_t reason; /* raw hypervisor reason for FAIL_ENTRY / UNKNOWN / SYSTEM_EVENT */
	} u;
};

/* x86 register files in neutral form (set at boot). */
struct hv_x86_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};
struct hv_x86_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl;
};
struct hv_x86_sregs {
	struct hv_x86_seg cs, ds, es, fs, gs, ss, tr, ldt;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
};
struct hv_cpuid_entry {
	uint32_t function, index, flags; /* flags: HV_CPUID_SIGNIFICANT_INDEX */
	uint32_t eax, ebx, ecx, edx;
};
#define HV_CPUID_SIGNIFICANT_INDEX 1u
struct hv_msr {
	uint32_t index;
	uint64_t data;
};

/* ---- VM ---- */
/* Open the hypervisor and create a VM. -ENODEV when the hypervisor is absent (no /dev/kvm),
 * other -errno on failure. Any thread; the VM is then owned by the VMM thread. */
int hv_vm_create(struct hv_vm **out);
void hv_vm_destroy(struct hv_vm *vm);
const struct hv_caps *hv_vm_caps(const struct hv_vm *vm);
/* Map host memory at gpa. flags: HV_MAP_DIRTY_LOG, HV_MAP_READONLY. */
#define HV_MAP_DIRTY_LOG 1u
#define HV_MAP_READONLY 2u
int hv_vm_map(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
	      unsigned flags);
/* In-kernel interrupt controllers (x86: PIC, IOAPIC, LAPICs) and PIT. Call after mapping RAM
 * (cheaper on some hosts, see testing.md). */
int hv_vm_create_irqchip(struct hv_vm *vm);
/* Drive an interrupt line (level 1/0). Edge devices pulse 1 then 0. */
int hv_vm_irq_line(struct hv_vm *vm, uint32_t gsi, int level);
/* Register an eventfd that raises gsi when written (requires caps.irqfd). */
int hv_vm_irqfd(struct hv_vm *vm, int efd, uint32_t gsi, bool assign);
/* Register an eventfd signalled on a guest MMIO write of len bytes at addr (caps.ioeventfd).
 * datamatch < 0 means any value. */
int hv_vm_ioeventfd(struct hv_vm *vm, int efd, uint64_t addr, uint32_t len, int64_t datamatch,
		    bool assign);
/* Fetch and clear the dirty bitmap of a slot (1 bit per 4 KiB page, little-endian u64 words). */
int hv_vm_dirty_log(struct hv_vm *vm, uint32_t slot, uint64_t npages, uint64_t *bitmap);
/* Supported CPUID of the host+hypervisor. *n in: capacity, out: count. */
int hv_vm_supported_cpuid(struct hv_vm *vm, struct hv_cpuid_entry *e, uint32_t *n);
/* MSR indices the hypervisor can save/restore. *n in: capacity, out: count. */
int hv_vm_msr_index_list(struct hv_vm *vm, uint32_t *idx, uint32_t *n);
/* Guest TSC frequency in kHz (0 if unknown). */
uint32_t hv_vm_tsc_khz(struct hv_vm *vm);
/* Save/restore VM-wide state (irqchips, PIT, clock) as a self-describing LE byte blob written
 * field by field. save: *len in capacity, out used (-ENOSPC if too small). */
int hv_vm_state_save(struct hv_vm *vm, uint8_t *buf, size_t *len);
int hv_vm_state_restore(struct hv_vm *vm, const uint8_t *buf, size_t len);

/* ---- vCPU (every call below except kick runs on the vCPU's own thread) ---- */
int hv_vcpu_create(struct hv_vm *vm, uint32_t id, struct hv_vcpu **out);
void hv_vcpu_destroy(struct hv_vcpu *vcpu);
/* Enter the guest until the next exit. Fills *exit. Returns 0 or -errno. A kick makes it
 * return 0 with HV_EXIT_CANCELLED. */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit);
/* Make a running or about-to-run vCPU leave hv_vcpu_run promptly. Any thread. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu, const struct hv_cpuid_entry *e, uint32_t n);
/* Set MSRs; returns number set (may be short) or -errno. */
int hv_vcpu_set_msrs(struct hv_vcpu *vcpu, const struct hv_msr *m, uint32_t n);
int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_x86_regs *r);
int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_x86_regs *r);
int hv_vcpu_get_sregs(struct hv_vcpu *vcpu, struct hv_x86_sregs *s);
int hv_vcpu_set_sregs(struct hv_vcpu *vcpu, const struct hv_x86_sregs *s);
/* FPU: fcw, mxcsr defaults. */
int hv_vcpu_set_fpu_defaults(struct hv_vcpu *vcpu, uint16_t fcw, uint32_t mxcsr);
/* LAPIC LVT0=ExtINT, LVT1=NMI as Firecracker does. */
int hv_vcpu_init_lapic(struct hv_vcpu *vcpu);
/* Tell the guest's kvmclock the vCPU was paused (no-op if unsupported). */
int hv_vcpu_kvmclock_ctrl(struct hv_vcpu *vcpu);
/* Save/restore the full vCPU state as an LE blob written field by field (regs, sregs, xsave,
 * xcrs, debugregs, lapic, msrs, cpuid, mp_state, events, tsc khz). */
int hv_vcpu_state_save(struct hv_vcpu *vcpu, uint8_t *buf, size_t *len);
int hv_vcpu_state_restore(struct hv_vcpu *vcpu, const uint8_t *buf, size_t len);

#endif
