/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for x86_64 boot state: zero page, e820, PVH start info, page tables, GDT, sregs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "arch_test_util.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

struct e820_want {
	uint64_t addr, size;
	uint32_t type;
};

static void boot_elf(struct gmem *m, uint64_t mem, bool pvh, int initrd_fd, const char *cmdline,
		     struct arch_x86_boot *b)
{
	struct t_elf t;
	t_elf_build(&t, T_KERNEL_PADDR, pvh, 8);
	t_gmem(m, mem);
	assert_int_equal(t_build(m, t.buf, t.len, initrd_fd, cmdline, 1, NULL, 0, b), 0);
	assert_int_equal(b->pvh, pvh);
}

static void check_e820(const uint8_t *tbl, size_t stride, const struct e820_want *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = tbl + stride * i;
		assert_int_equal(ax_get64(e), w[i].addr);
		assert_int_equal(ax_get64(e + 8), w[i].size);
		assert_int_equal(ax_get32(e + 16), w[i].type);
	}
}

static const struct e820_want e820_128m[] = {
    {0, 0x9fc00, 1},
    {0x9fc00, 0x40400, 2},
    {0xeec00000, 0x10000000, 2},
    {0x100000, 128 * MIB - 0x100000, 1},
};

static const struct e820_want e820_4g[] = {
    {0, 0x9fc00, 1},
    {0x9fc00, 0x40400, 2},
    {0xeec00000, 0x10000000, 2},
    {0x100000, 3 * GIB - 0x100000, 1},
    {4 * GIB, 1 * GIB, 1},
};

static void test_zero_page_fields(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	const char *cmd = "console=ttyS0 reboot=k panic=1";
	boot_elf(&m, 128 * MIB, false, -1, cmd, &b);
	const uint8_t *zp = t_ptr(&m, 0x7000, 4096);
	assert_int_equal(ax_get16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(ax_get32(zp + 0x228), 0x20000);
	assert_int_equal(ax_get32(zp + 0x238), strlen(cmd) + 1);
	assert_int_equal(ax_get32(zp + 0x230), 0x01000000);
	assert_int_equal(ax_get32(zp + 0x218), 0); /* no initrd */
	assert_int_equal(ax_get32(zp + 0x21c), 0);
	assert_int_equal(ax_get64(zp + 0x70), 0xe0000);
	assert_string_equal((const char *)t_ptr(&m, 0x20000, 2048), cmd);
	assert_int_equal(zp[0x1e8], 4);
	check_e820(zp + 0x2d0, 20, e820_128m, 4);
	assert_int_equal(ax_get64(zp + 0x2d0 + 4 * 20 + 8), 0); /* no fifth entry */
	gmem_free(&m);
}

static void test_e820_4g(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	boot_elf(&m, 4 * GIB, false, -1, "", &b);
	const uint8_t *zp = t_ptr(&m, 0x7000, 4096);
	assert_int_equal(zp[0x1e8], 5);
	check_e820(zp + 0x2d0, 20, e820_4g, 5);
	gmem_free(&m);
}

static void test_pvh_start_info(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	uint8_t rd[3000];
	memset(rd, 0x3c, sizeof(rd));
	int rfd = t_memfd(rd, sizeof(rd));
	boot_elf(&m, 4 * GIB, true, rfd, "root=/dev/vda", &b);
	const uint8_t *si = t_ptr(&m, 0x6000, 56);
	assert_int_equal(ax_get32(si), 0x336ec578);
	assert_int_equal(ax_get32(si + 4), 1);	      /* version */
	assert_int_equal(ax_get32(si + 12), 1);	      /* nr_modules */
	assert_int_equal(ax_get64(si + 16), 0x6040);  /* modlist_paddr */
	assert_int_equal(ax_get64(si + 24), 0x20000); /* cmdline_paddr */
	assert_int_equal(ax_get64(si + 32), 0xe0000); /* rsdp_paddr */
	assert_int_equal(ax_get64(si + 40), 0x7000);  /* memmap_paddr */
	assert_int_equal(ax_get32(si + 48), 5);	      /* memmap_entries */
	check_e820(t_ptr(&m, 0x7000, 5 * 24), 24, e820_4g, 5);
	const uint8_t *mod = t_ptr(&m, 0x6040, 32);
	uint64_t addr = (3 * GIB - sizeof(rd)) & ~0xfffULL;
	assert_int_equal(ax_get64(mod), addr);
	assert_int_equal(ax_get64(mod + 8), sizeof(rd));
	assert_memory_equal(t_ptr(&m, addr, sizeof(rd)), rd, sizeof(rd));
	assert_string_equal((const char *)t_ptr(&m, 0x20000, 16), "root=/dev/vda");
	gmem_free(&m);
	close(rfd);
}

static void test_page_tables(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	boot_elf(&m, 128 * MIB, false, -1, "", &b);
	const uint8_t *pml4 = t_ptr(&m, 0x9000, 4096), *pdpte = t_ptr(&m, 0xa000, 4096);
	const uint8_t *pde = t_ptr(&m, 0xb000, 4096);
	assert_int_equal(ax_get64(pml4), 0xa003);
	assert_int_equal(ax_get64(pdpte), 0xb003);
	for (unsigned i = 1; i < 512; i++) {
		assert_int_equal(ax_get64(pml4 + 8 * i), 0);
		assert_int_equal(ax_get64(pdpte + 8 * i), 0);
	}
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(ax_get64(pde + 8 * i), (i << 21) | 0x83);
	gmem_free(&m);
}

static void check_seg(const struct hv_x86_seg *s, uint16_t sel, uint32_t limit, uint8_t type,
		      uint8_t sflag, uint8_t db, uint8_t l, uint8_t g)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->limit, limit);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->s, sflag);
	assert_int_equal(s->db, db);
	assert_int_equal(s->l, l);
	assert_int_equal(s->g, g);
}

static void test_linux_gdt_sregs_regs(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	boot_elf(&m, 128 * MIB, false, -1, "", &b);
	const uint8_t *gdt = t_ptr(&m, 0x500, 32);
	assert_int_equal(ax_get64(gdt), 0);
	assert_int_equal(ax_get64(gdt + 8), 0x00af9b000000ffffULL);
	assert_int_equal(ax_get64(gdt + 16), 0x00cf93000000ffffULL);
	assert_int_equal(ax_get64(gdt + 24), 0x008f8b000000ffffULL);
	assert_int_equal(ax_get64(t_ptr(&m, 0x520, 8)), 0);
	const struct hv_x86_sregs *s = &b.sregs;
	check_seg(&s->cs, 0x08, 0xffffffff, 0xb, 1, 0, 1, 1);
	const struct hv_x86_seg *data[] = {&s->ds, &s->es, &s->fs, &s->gs, &s->ss};
	for (size_t i = 0; i < ARRAY_SIZE(data); i++)
		check_seg(data[i], 0x10, 0xffffffff, 0x3, 1, 1, 0, 1);
	check_seg(&s->tr, 0x18, 0xffffffff, 0xb, 0, 0, 0, 1);
	assert_int_equal(s->gdt_base, 0x500);
	assert_int_equal(s->gdt_limit, 31);
	assert_int_equal(s->idt_base, 0x520);
	assert_int_equal(s->idt_limit, 7);
	assert_int_equal(s->cr0 & 0x80000001ULL, 0x80000001ULL); /* PG | PE */
	assert_int_equal(s->cr3, 0x9000);
	assert_int_equal(s->cr4 & 0x20, 0x20); /* PAE */
	assert_int_equal(s->efer, 0x500);      /* LME | LMA */
	assert_int_equal(s->apic_base, 0xfee00900ULL);
	assert_int_equal(b.regs.rflags, 2);
	assert_int_equal(b.regs.rip, T_KERNEL_ENTRY);
	assert_int_equal(b.regs.rsp, 0x8ff0);
	assert_int_equal(b.regs.rbp, 0x8ff0);
	assert_int_equal(b.regs.rsi, 0x7000);
	gmem_free(&m);
}

static void test_pvh_gdt_sregs_regs(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	boot_elf(&m, 128 * MIB, true, -1, "", &b);
	const uint8_t *gdt = t_ptr(&m, 0x500, 32);
	assert_int_equal(ax_get64(gdt + 8), 0x00cf9b000000ffffULL);
	assert_int_equal(ax_get64(gdt + 16), 0x00cf93000000ffffULL);
	assert_int_equal(ax_get64(gdt + 24), 0x00008b0000000067ULL);
	const struct hv_x86_sregs *s = &b.sregs;
	check_seg(&s->cs, 0x08, 0xffffffff, 0xb, 1, 1, 0, 1);
	check_seg(&s->ss, 0x10, 0xffffffff, 0x3, 1, 1, 0, 1);
	check_seg(&s->tr, 0x18, 0x67, 0xb, 0, 0, 0, 0);
	assert_int_equal(s->cr0, 0x11); /* PE | ET */
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->cr3, 0);
	assert_int_equal(s->efer, 0);
	assert_int_equal(b.regs.rip, T_PVH_ENTRY);
	assert_int_equal(b.regs.rbx, 0x6000);
	assert_int_equal(b.regs.rflags, 2);
	gmem_free(&m);
}

static void test_ap_state(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	struct hv_x86_regs r;
	struct hv_x86_sregs s;
	boot_elf(&m, 128 * MIB, false, -1, "", &b);
	arch_x86_vcpu_boot_state(&b, 0, &r, &s);
	assert_memory_equal(&r, &b.regs, sizeof(r));
	assert_int_equal(s.apic_base, 0xfee00900ULL);
	arch_x86_vcpu_boot_state(&b, 3, &r, &s);
	assert_memory_equal(&r, &b.regs, sizeof(r));
	assert_int_equal(s.apic_base, 0xfee00800ULL); /* enabled, not BSP */
	assert_int_equal(s.cr3, b.sregs.cr3);
	assert_memory_equal(&s.cs, &b.sregs.cs, sizeof(s.cs));
	gmem_free(&m);
}

static void test_gdt_entry_roundtrip(void **state)
{
	struct hv_x86_seg s;
	uint64_t e = ax_gdt_entry(0xc093, 0x12345678, 0xabcde);
	ax_seg_from_gdt(e, 5, &s);
	assert_int_equal(s.base, 0x12345678);
	assert_int_equal(s.limit, (0xabcdeu << 12) | 0xfff);
	assert_int_equal(s.selector, 40);
	assert_int_equal(s.type, 3);
	assert_int_equal(s.g, 1);
	assert_int_equal(s.db, 1);
}

static void test_build_rejects_config(void **state)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 0, NULL, 0, &b), -EINVAL);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 33, NULL, 0, &b), -EINVAL);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 1, NULL, 2, &b), -EINVAL);
	gmem_free(&m);
	/* RAM too small for the kernel at 16 MiB */
	t_gmem(&m, 8 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 1, NULL, 0, &b), -E2BIG);
	gmem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zero_page_fields),
	    cmocka_unit_test(test_e820_4g),
	    cmocka_unit_test(test_pvh_start_info),
	    cmocka_unit_test(test_page_tables),
	    cmocka_unit_test(test_linux_gdt_sregs_regs),
	    cmocka_unit_test(test_pvh_gdt_sregs_regs),
	    cmocka_unit_test(test_ap_state),
	    cmocka_unit_test(test_gdt_entry_roundtrip),
	    cmocka_unit_test(test_build_rejects_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
