// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 initial vCPU state: GDT, IDT, identity page tables, sregs, regs, boot MSRs. */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <string.h>

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NW 0x20000000ULL
#define CR0_CD 0x40000000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define APIC_BASE_BSP 0x100ULL
#define APIC_BASE_ENABLE 0x800ULL

uint64_t ax_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return (((uint64_t)base & 0xff000000ULL) << 32) | (((uint64_t)flags & 0xf0ffULL) << 40) |
	       (((uint64_t)limit & 0x000f0000ULL) << 32) |
	       (((uint64_t)base & 0x00ffffffULL) << 16) | ((uint64_t)limit & 0x0000ffffULL);
}

void ax_seg_from_gdt(uint64_t e, uint16_t index, struct hv_x86_seg *s)
{
	uint32_t limit = (uint32_t)((e & 0xffffULL) | ((e >> 32) & 0xf0000ULL));
	memset(s, 0, sizeof(*s));
	s->base = ((e >> 16) & 0xffffffULL) | (((e >> 56) & 0xffULL) << 24);
	s->g = (uint8_t)((e >> 55) & 1);
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->selector = (uint16_t)(index * 8);
	s->type = (uint8_t)((e >> 40) & 0xf);
	s->s = (uint8_t)((e >> 44) & 1);
	s->dpl = (uint8_t)((e >> 45) & 3);
	s->present = (uint8_t)((e >> 47) & 1);
	s->avl = (uint8_t)((e >> 52) & 1);
	s->l = (uint8_t)((e >> 53) & 1);
	s->db = (uint8_t)((e >> 54) & 1);
}

/* PML4[0] -> PDPTE, PDPTE[0] -> PDE, 512 x 2 MiB pages identity-mapping the first GiB. */
static int ax_page_tables_write(struct gmem *m)
{
	uint8_t *pml4 = gmem_ptr_w(m, AX_PML4_ADDR, PAGE_SIZE);
	uint8_t *pdpte = gmem_ptr_w(m, AX_PDPTE_ADDR, PAGE_SIZE);
	uint8_t *pde = gmem_ptr_w(m, AX_PDE_ADDR, PAGE_SIZE);
	if (!pml4 || !pdpte || !pde)
		return -E2BIG;
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpte, 0, PAGE_SIZE);
	ax_put64(pml4, AX_PDPTE_ADDR | 0x03);
	ax_put64(pdpte, AX_PDE_ADDR | 0x03);
	for (uint64_t i = 0; i < 512; i++)
		ax_put64(pde + 8 * i, (i << 21) | 0x83);
	return 0;
}

static int ax_gdt_write(struct gmem *m, const uint64_t *gdt, unsigned n)
{
	uint8_t buf[32], idt[8] = {0};
	for (unsigned i = 0; i < n && i < 4; i++)
		ax_put64(buf + 8 * i, gdt[i]);
	if (gmem_write(m, AX_GDT_ADDR, buf, 8ULL * n) || gmem_write(m, AX_IDT_ADDR, idt, 8))
		return -E2BIG;
	return 0;
}

int ax_cpu_setup(struct gmem *m, bool pvh, uint64_t entry, struct hv_x86_regs *r,
		 struct hv_x86_sregs *s)
{
	uint64_t gdt[4];
	gdt[0] = 0;
	if (pvh) {
		gdt[1] = ax_gdt_entry(0xc09b, 0, 0xffffffff);
		gdt[2] = ax_gdt_entry(0xc093, 0, 0xffffffff);
		gdt[3] = ax_gdt_entry(0x008b, 0, 0x67);
	} else {
		gdt[1] = ax_gdt_entry(0xa09b, 0, 0xfffff);
		gdt[2] = ax_gdt_entry(0xc093, 0, 0xfffff);
		gdt[3] = ax_gdt_entry(0x808b, 0, 0xfffff);
	}
	int rc = ax_gdt_write(m, gdt, 4);
	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	ax_seg_from_gdt(gdt[1], 1, &s->cs);
	ax_seg_from_gdt(gdt[2], 2, &s->ds);
	s->es = s->fs = s->gs = s->ss = s->ds;
	ax_seg_from_gdt(gdt[3], 3, &s->tr);
	s->ldt = (struct hv_x86_seg){.limit = 0xffff, .type = 2, .present = 1};
	s->gdt_base = AX_GDT_ADDR;
	s->gdt_limit = 4 * 8 - 1;
	s->idt_base = AX_IDT_ADDR;
	s->idt_limit = 7;
	s->apic_base = AX_LAPIC_ADDR | APIC_BASE_ENABLE | APIC_BASE_BSP;
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;
	r->rip = entry;
	if (pvh) {
		s->cr0 = CR0_PE | CR0_ET;
		r->rbx = AX_PVH_INFO_ADDR;
		return 0;
	}
	rc = ax_page_tables_write(m);
	if (rc)
		return rc;
	/* KVM's reset CR0 (CD|NW|ET) plus PE and PG, as Firecracker ends up with. */
	s->cr0 = CR0_CD | CR0_NW | CR0_ET | CR0_PE | CR0_PG;
	s->cr3 = AX_PML4_ADDR;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
	r->rsp = r->rbp = AX_BOOT_STACK;
	r->rsi = AX_ZERO_PAGE_ADDR;
	return 0;
}

void arch_x86_vcpu_boot_state(const struct arch_x86_boot *boot, uint32_t id,
			      struct hv_x86_regs *regs, struct hv_x86_sregs *sregs)
{
	*regs = boot->regs;
	*sregs = boot->sregs;
	if (id != 0)
		sregs->apic_base &= ~APIC_BASE_BSP;
}

uint32_t arch_x86_boot_msrs(const uint32_t *supported, uint32_t n_supported, struct hv_msr *out,
			    uint32_t cap)
{
	static const struct hv_msr boot[] = {
	    {0x174, 0},		      /* IA32_SYSENTER_CS */
	    {0x175, 0},		      /* IA32_SYSENTER_ESP */
	    {0x176, 0},		      /* IA32_SYSENTER_EIP */
	    {0xc0000081, 0},	      /* STAR */
	    {0xc0000083, 0},	      /* CSTAR */
	    {0xc0000102, 0},	      /* KERNEL_GS_BASE */
	    {0xc0000084, 0},	      /* SYSCALL_MASK */
	    {0xc0000082, 0},	      /* LSTAR */
	    {0x10, 0},		      /* IA32_TSC */
	    {0x1a0, 1},		      /* IA32_MISC_ENABLE: fast strings */
	    {0x2ff, (1u << 11) | 6u}, /* MTRRdefType: enabled, default WB */
	};
	uint32_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(boot) && n < cap; i++) {
		for (uint32_t j = 0; j < n_supported; j++) {
			if (supported[j] == boot[i].index) {
				out[n++] = boot[i];
				break;
			}
		}
	}
	return n;
}
