// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 boot information: e820 map, Linux zero page, PVH hvm_start_info. */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <string.h>

#define ZP_ACPI_RSDP 0x070
#define ZP_E820_ENTRIES 0x1e8
#define ZP_BOOT_FLAG 0x1fe
#define ZP_HEADER 0x202
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_CODE32_START 0x214
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_CMD_LINE_PTR 0x228
#define ZP_KERNEL_ALIGNMENT 0x230
#define ZP_CMDLINE_SIZE 0x238
#define ZP_HW_SUBARCH 0x23c
#define ZP_HW_SUBARCH_DATA 0x240
#define ZP_SETUP_DATA 0x250
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_SLOTS 128
#define ZP_SIZE 4096

#define PVH_MAGIC 0x336ec578u
#define PVH_INFO_SIZE 56
#define PVH_MOD_SIZE 32
#define PVH_MEMMAP_ENTRY_SIZE 24

static void ax_e820_add(struct ax_e820 *e, unsigned cap, unsigned *n, uint64_t addr, uint64_t size,
			uint32_t type)
{
	if (*n >= cap || size == 0)
		return;
	e[*n] = (struct ax_e820){.addr = addr, .size = size, .type = type};
	(*n)++;
}

unsigned ax_e820_build(const struct gmem *m, struct ax_e820 *e, unsigned cap)
{
	unsigned n = 0;
	ax_e820_add(e, cap, &n, 0, AX_EBDA_START, AX_E820_RAM);
	ax_e820_add(e, cap, &n, AX_SYSTEM_MEM_START, AX_SYSTEM_MEM_END - AX_SYSTEM_MEM_START,
		    AX_E820_RESERVED);
	ax_e820_add(e, cap, &n, AX_PCI_MMCONFIG_START, AX_PCI_MMCONFIG_SIZE, AX_E820_RESERVED);
	for (unsigned i = 0; i < m->nr; i++) {
		uint64_t start = m->r[i].gpa, end = m->r[i].gpa + m->r[i].size;
		if (start < AX_HIMEM_START)
			start = AX_HIMEM_START;
		if (start < end)
			ax_e820_add(e, cap, &n, start, end - start, AX_E820_RAM);
	}
	return n;
}

int ax_zero_page_write(struct gmem *m, const struct ax_kernel *k, const struct ax_initrd *rd,
		       uint32_t cmdline_len)
{
	uint8_t zp[ZP_SIZE];
	struct ax_e820 e[AX_E820_MAX];
	memset(zp, 0, sizeof(zp));
	if (k->bzimage) {
		memcpy(zp + AX_SETUP_HDR_OFF, k->hdr, k->hdr_len);
		/* Never let the image point the kernel at data we did not write. */
		ax_put64(zp + ZP_SETUP_DATA, 0);
		ax_put32(zp + ZP_HW_SUBARCH, 0);
		ax_put64(zp + ZP_HW_SUBARCH_DATA, 0);
		ax_put32(zp + ZP_CODE32_START, (uint32_t)k->code32_start);
	} else {
		ax_put32(zp + ZP_KERNEL_ALIGNMENT, 0x01000000);
		ax_put32(zp + ZP_CMDLINE_SIZE, cmdline_len);
	}
	zp[ZP_TYPE_OF_LOADER] = 0xff;
	ax_put16(zp + ZP_BOOT_FLAG, 0xaa55);
	memcpy(zp + ZP_HEADER, "HdrS", 4);
	ax_put32(zp + ZP_CMD_LINE_PTR, (uint32_t)AX_CMDLINE_ADDR);
	ax_put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)rd->addr);
	ax_put32(zp + ZP_RAMDISK_SIZE, (uint32_t)rd->size);
	ax_put64(zp + ZP_ACPI_RSDP, AX_RSDP_ADDR);
	unsigned n = ax_e820_build(m, e, AX_E820_MAX);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n && i < ZP_E820_SLOTS; i++) {
		uint8_t *p = zp + ZP_E820_TABLE + 20 * i;
		ax_put64(p, e[i].addr);
		ax_put64(p + 8, e[i].size);
		ax_put32(p + 16, e[i].type);
	}
	return gmem_write(m, AX_ZERO_PAGE_ADDR, zp, sizeof(zp));
}

int ax_pvh_write(struct gmem *m, const struct ax_initrd *rd)
{
	uint8_t info[PVH_INFO_SIZE], mod[PVH_MOD_SIZE];
	uint8_t map[AX_E820_MAX * PVH_MEMMAP_ENTRY_SIZE];
	struct ax_e820 e[AX_E820_MAX];
	unsigned n = ax_e820_build(m, e, AX_E820_MAX);
	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = map + PVH_MEMMAP_ENTRY_SIZE * i;
		ax_put64(p, e[i].addr);
		ax_put64(p + 8, e[i].size);
		ax_put32(p + 16, e[i].type);
	}
	memset(info, 0, sizeof(info));
	ax_put32(info, PVH_MAGIC);
	ax_put32(info + 4, 1);
	ax_put64(info + 24, AX_CMDLINE_ADDR);
	ax_put64(info + 32, AX_RSDP_ADDR);
	ax_put64(info + 40, AX_PVH_MEMMAP_ADDR);
	ax_put32(info + 48, n);
	if (rd->size) {
		ax_put32(info + 12, 1);
		ax_put64(info + 16, AX_PVH_MODLIST_ADDR);
		memset(mod, 0, sizeof(mod));
		ax_put64(mod, rd->addr);
		ax_put64(mod + 8, rd->size);
		if (gmem_write(m, AX_PVH_MODLIST_ADDR, mod, sizeof(mod)))
			return -E2BIG;
	}
	if (gmem_write(m, AX_PVH_INFO_ADDR, info, sizeof(info)) ||
	    gmem_write(m, AX_PVH_MEMMAP_ADDR, map, (uint64_t)n * PVH_MEMMAP_ENTRY_SIZE))
		return -E2BIG;
	return 0;
}
