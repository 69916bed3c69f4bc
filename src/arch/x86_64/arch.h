/* SPDX-License-Identifier: Apache-2.0 */
/* arch/x86_64: guest layout and boot (Firecracker v1.16 layout, Linux 64-bit boot protocol,
 * PVH, bzImage), MP + ACPI tables, CPUID normalisation, boot MSRs. Pure functions over guest
 * memory and neutral register structs: no hypervisor calls. */
#ifndef SQUIB_ARCH_X86_64_H
#define SQUIB_ARCH_X86_64_H

#include "base/base.h"
#include "hv/hv.h"

#define ARCH_MMIO32_START 0xC0000000ULL
#define ARCH_BOOT_TIMER_ADDR 0xC0000000ULL
#define ARCH_VIRTIO_MMIO_START 0xC0001000ULL
#define ARCH_VIRTIO_MMIO_LEN 0x1000ULL
#define ARCH_IRQ_FIRST 5
#define ARCH_IRQ_LAST 23
#define ARCH_SERIAL_PORT 0x3f8
#define ARCH_SERIAL_IRQ 4
#define ARCH_I8042_PORT 0x60
#define ARCH_I8042_IRQ 1
#define ARCH_CMDLINE_MAX 2048

struct arch_mmio_dev {
	uint64_t base, len;
	uint32_t irq;
};

struct arch_x86_config {
	int kernel_fd;	     /* ELF vmlinux (PVH note honoured) or bzImage */
	int initrd_fd;	     /* -1 if none */
	const char *cmdline; /* final command line (virtio_mmio.device= entries already added) */
	uint32_t vcpu_count;
	const struct arch_mmio_dev *mmio; /* virtio-mmio devices for the DSDT */
	uint32_t n_mmio;
};

struct arch_x86_boot {
	bool pvh;
	struct hv_x86_regs regs;   /* BSP registers */
	struct hv_x86_sregs sregs; /* BSP segment/control registers */
};

/* Load the kernel and initrd into guest memory and write every boot structure (zero page or
 * PVH start info, e820, command line, GDT, IDT, page tables, MP table, ACPI tables). Fills *out
 * with the BSP's initial registers. Errors: -ENOEXEC (not ELF/bzImage, too old boot protocol),
 * -E2BIG (kernel/initrd/cmdline does not fit), -EIO (read failure), -EINVAL (vcpu_count not in
 * 1..32, mmio list missing or a device outside 32-bit space). err gets a one-line reason.
 * The sregs are complete (CR0/CR3/CR4/EFER, APIC base 0xfee00900 for the BSP). */
int arch_x86_build(struct gmem *m, const struct arch_x86_config *cfg, struct arch_x86_boot *out,
		   char *err, size_t errlen);

/* Initial registers for vCPU `id` (0 = BSP) from the BSP state arch_x86_build produced: the
 * same regs and sregs (Firecracker configures every vCPU alike) except that APs get the APIC
 * base without the BSP flag. */
void arch_x86_vcpu_boot_state(const struct arch_x86_boot *boot, uint32_t id,
			      struct hv_x86_regs *regs, struct hv_x86_sregs *sregs);

/* Normalise supported CPUID for vCPU `id` of `count` as Firecracker does (vendor, leaf 1
 * APIC id/HTT/hypervisor bit/TSC deadline, leaf 0xB topology from smt, PMU off on Intel,
 * brand string). In-place over e[0..*n); may add leaves up to cap. Returns 0 or -ENOSPC
 * (-EINVAL when count is not 1..32 or id >= count). */
int arch_x86_cpuid_normalize(struct hv_cpuid_entry *e, uint32_t *n, uint32_t cap, uint32_t id,
			     uint32_t count, bool smt);

/* Boot MSR values (SYSENTER*, STAR, LSTAR, ..., TSC = 0, MISC_ENABLE fast strings, MTRR
 * default type WB), filtered to those present in the supported index list. Returns count. */
uint32_t arch_x86_boot_msrs(const uint32_t *supported, uint32_t n_supported, struct hv_msr *out,
			    uint32_t cap);

/* Firecracker's "virtio_mmio.device=4K@0xc0001000:5" entry for one device. */
int arch_x86_virtio_cmdline_entry(const struct arch_mmio_dev *d, char *buf, size_t len);

#endif
