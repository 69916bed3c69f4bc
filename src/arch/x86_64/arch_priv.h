/* SPDX-License-Identifier: Apache-2.0 */
/* arch/x86_64 internals: guest layout constants and the helpers shared by the boot files. */
#ifndef SQUIB_ARCH_X86_64_PRIV_H
#define SQUIB_ARCH_X86_64_PRIV_H

#include "arch/x86_64/arch.h"

#define AX_GDT_ADDR 0x500ULL
#define AX_IDT_ADDR 0x520ULL
#define AX_PVH_INFO_ADDR 0x6000ULL
#define AX_PVH_MODLIST_ADDR 0x6040ULL
#define AX_ZERO_PAGE_ADDR 0x7000ULL
#define AX_PVH_MEMMAP_ADDR 0x7000ULL
#define AX_BOOT_STACK 0x8ff0ULL
#define AX_PML4_ADDR 0x9000ULL
#define AX_PDPTE_ADDR 0xa000ULL
#define AX_PDE_ADDR 0xb000ULL
#define AX_CMDLINE_ADDR 0x20000ULL
#define AX_EBDA_START 0x9fc00ULL
#define AX_SYSTEM_MEM_START 0x9fc00ULL
#define AX_SYSTEM_MEM_END 0xe0000ULL
#define AX_ACPI_TABLES_ADDR 0xa0000ULL
#define AX_RSDP_ADDR 0xe0000ULL
#define AX_HIMEM_START 0x100000ULL
#define AX_PCI_MMCONFIG_START 0xeec00000ULL
#define AX_PCI_MMCONFIG_SIZE 0x10000000ULL
#define AX_IOAPIC_ADDR 0xfec00000ULL
#define AX_LAPIC_ADDR 0xfee00000ULL
#define AX_FOUR_GIB 0x100000000ULL
#define AX_IDENTITY_MAP_END 0x40000000ULL /* boot page tables map [0, 1 GiB) */

#define AX_E820_RAM 1u
#define AX_E820_RESERVED 2u
#define AX_E820_MAX 8

/* Largest setup header copied from a bzImage (boot_params 0x1f1..0x290). */
#define AX_SETUP_HDR_OFF 0x1f1u
#define AX_SETUP_HDR_MAX (0x290u - 0x1f1u)

struct ax_e820 {
	uint64_t addr, size;
	uint32_t type;
};

/* What the kernel loader found and placed. */
struct ax_kernel {
	uint64_t entry;	   /* 64-bit entry (Linux boot) or 32-bit PVH entry */
	bool pvh;	   /* entry is the PVH (XEN_ELFNOTE_PHYS32_ENTRY) entry */
	bool bzimage;	   /* setup header in hdr[] is valid */
	uint64_t load_end; /* first byte after the loaded image (incl. bss / init_size) */
	uint16_t version;  /* bzImage boot protocol version */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size; /* max cmdline length excluding NUL (bzImage) */
	uint64_t code32_start;
	uint8_t hdr[AX_SETUP_HDR_MAX]; /* setup header bytes as in boot_params */
	uint32_t hdr_len;
};

struct ax_initrd {
	uint64_t addr, size; /* size 0 = none */
};

/* Little-endian stores/loads into byte buffers. */
static inline void ax_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void ax_put32(uint8_t *p, uint32_t v)
{
	ax_put16(p, (uint16_t)v);
	ax_put16(p + 2, (uint16_t)(v >> 16));
}
static inline void ax_put64(uint8_t *p, uint64_t v)
{
	ax_put32(p, (uint32_t)v);
	ax_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t ax_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ax_get32(const uint8_t *p)
{
	return (uint32_t)ax_get16(p) | ((uint32_t)ax_get16(p + 2) << 16);
}
static inline uint64_t ax_get64(const uint8_t *p)
{
	return (uint64_t)ax_get32(p) | ((uint64_t)ax_get32(p + 4) << 32);
}

/* ---- loader.c ---- */
/* Load an ELF vmlinux or bzImage from fd into m. Returns 0, -ENOEXEC, -E2BIG, -EIO. */
int ax_kernel_load(struct gmem *m, int fd, struct ax_kernel *k, char *err, size_t errlen);
/* Load the initrd from fd at the end of the low region (below addr_max). */
int ax_initrd_load(struct gmem *m, int fd, const struct ax_kernel *k, struct ax_initrd *out,
		   char *err, size_t errlen);
/* pread exactly len bytes at off into dst. 0 or -EIO (short file = -EIO). */
int ax_pread_full(int fd, void *dst, uint64_t len, uint64_t off);

/* ---- bootinfo.c ---- */
/* Fill the e820 table (Firecracker order). Returns the entry count. */
unsigned ax_e820_build(const struct gmem *m, struct ax_e820 *e, unsigned cap);
/* Write the zero page (Linux 64-bit boot). */
int ax_zero_page_write(struct gmem *m, const struct ax_kernel *k, const struct ax_initrd *rd,
		       uint32_t cmdline_len);
/* Write hvm_start_info, memmap and module list (PVH boot). */
int ax_pvh_write(struct gmem *m, const struct ax_initrd *rd);

/* ---- cpu.c ---- */
/* Encode a GDT entry from flags/base/limit. */
uint64_t ax_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* Decode a GDT entry into a segment with selector index*8. */
void ax_seg_from_gdt(uint64_t entry, uint16_t index, struct hv_x86_seg *s);
/* Write GDT, IDT (and page tables unless pvh); fill sregs and regs for entry. */
int ax_cpu_setup(struct gmem *m, bool pvh, uint64_t entry, struct hv_x86_regs *r,
		 struct hv_x86_sregs *s);

/* ---- mptable.c ---- */
/* Write the MP floating pointer and configuration table at AX_SYSTEM_MEM_START. */
int ax_mptable_write(struct gmem *m, uint32_t vcpus);

/* ---- acpi.c ---- */
/* Byte sum complement: value that makes the bytes sum to zero. */
uint8_t ax_checksum(const uint8_t *p, size_t len);
/* Write DSDT, FADT, MADT, XSDT at AX_ACPI_TABLES_ADDR and the RSDP at AX_RSDP_ADDR. */
int ax_acpi_write(struct gmem *m, const struct arch_x86_config *cfg);

/* ---- aml.c ---- */
/* Build the DSDT body (AML after the 36-byte header) into buf. Returns length or -ENOSPC. */
int ax_dsdt_body(const struct arch_mmio_dev *mmio, uint32_t n, uint8_t *buf, size_t cap);

#endif
