/* SPDX-License-Identifier: Apache-2.0 */
/* squib test guest: entry points (Linux 64-bit, PVH 32-bit, AP trampoline), interrupt stubs. */

#define MSR_EFER 0xC0000080
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define EFER_LME 0x100
#define TRAMP_ADDR 0x8000

/* ---- PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen", 32-bit entry address. ---- */
	.section .note.Xen, "a"
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long pvh_start32

	.text
/* ---- Linux 64-bit boot protocol: long mode, rsi = zero page, first GiB identity mapped. ---- */
	.code64
	.globl _start64
_start64:
	cli
	cld
	movq %rsi, %r12
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	leaq boot_stack_top(%rip), %rsp
	movl $1, %edi
	movq %r12, %rsi
	call kmain
1:	cli
	hlt
	jmp 1b

/* ---- PVH: 32-bit protected mode, paging off, ebx = hvm_start_info. ---- */
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, %esi
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	/* Boot page tables (the kernel builds its final ones): identity map 1 GiB, 2 MiB pages. */
	movl $boot_pdpt + 3, boot_pml4
	movl $boot_pd + 3, boot_pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, boot_pd(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	lgdt boot_gdtr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $0x08, $pvh64

	.code64
pvh64:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	movl $2, %edi
	movl %esi, %esi
	call kmain
1:	cli
	hlt
	jmp 1b

/* ---- AP entry in 64-bit mode (from the trampoline): rsp set, edi = cpu index. ---- */
ap_entry64:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	call ap_main
1:	cli
	hlt
	jmp 1b

/* ---- enter_user(fn, stack_top, arg): iretq to ring 3 with interrupts enabled. ---- */
	.globl enter_user
enter_user:
	pushq $0x1b		/* ss: user data, RPL 3 */
	pushq %rsi		/* rsp */
	pushq $0x202		/* rflags: IF */
	pushq $0x23		/* cs: user code, RPL 3 */
	pushq %rdi		/* rip */
	movq %rdx, %rdi
	xorl %eax, %eax
	movl %eax, %ds
	movl %eax, %es
	xorl %esi, %esi
	xorl %edx, %edx
	iretq

/* ---- Interrupt stubs: 256 entries, 16 bytes apart; push error code (or 0) and vector. ---- */
	.p2align 4
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.p2align 4
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

/* ---- AP trampoline: copied to TRAMP_ADDR, started by SIPI in real mode at CS=0x0800. ---- */
#define T(x) ((x) - tramp_start + TRAMP_ADDR)
	.code16
	.globl tramp_start, tramp_end, tramp_cr3, tramp_stack, tramp_cpu
tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdtr - tramp_start
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp32)
	.code32
tramp32:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl T(tramp_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $0x08, $T(tramp64)
	.code64
tramp64:
	movq T(tramp_stack), %rsp
	movl T(tramp_cpu), %edi
	movabsq $ap_entry64, %rax
	jmp *%rax
	.p2align 3
tramp_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.p2align 3
tramp_cr3:
	.quad 0
tramp_stack:
	.quad 0
tramp_cpu:
	.quad 0
tramp_end:

	.section .rodata
	.p2align 3
/* Boot GDT: 0x08 64-bit code, 0x10 data, 0x18 32-bit code (trampoline). */
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cf9a000000ffff
boot_gdt_end:
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .bss
	.p2align 12
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4096
	.p2align 4
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
