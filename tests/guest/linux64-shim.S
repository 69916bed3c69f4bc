/* SPDX-License-Identifier: Apache-2.0 */
/* Test shim: booted by QEMU via PVH, recreates Firecracker's Linux 64-bit boot state, jumps. */
/*
 * Lets the guest's Linux 64-bit entry be tested under QEMU: run with
 *   -kernel linux64-shim -device loader,file=squib-test-guest
 * It builds a zero page at 0x7000 (cmdline copied to 0x20000, e820 from the PVH memmap,
 * acpi_rsdp_addr), Firecracker's boot GDT at 0x500 and identity page tables at 0x9000..0xb000,
 * enters long mode and jumps to 0x1000000 (the guest's e_entry) with rsi=0x7000, rsp=0x8ff0.
 */
#define ZP 0x7000
#define CMDLINE 0x20000
#define GUEST_ENTRY 0x1000000

	.section .note.Xen, "a"
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long shim_start32

	.text
	.code32
	.globl shim_start32
shim_start32:
	cli
	cld
	movl %ebx, %ebp
	xorl %eax, %eax
	movl $ZP, %edi
	movl $0x1000, %ecx
	rep stosb
	movl $0x9000, %edi
	movl $0x3000, %ecx
	rep stosb
	/* cmdline -> 0x20000, NUL-terminated, at most 2048 bytes with the NUL */
	movl 24(%ebp), %esi
	movl $CMDLINE, %edi
	xorl %ecx, %ecx
	testl %esi, %esi
	jz 2f
1:	movb (%esi,%ecx), %al
	movb %al, (%edi,%ecx)
	incl %ecx
	testb %al, %al
	jz 3f
	cmpl $2047, %ecx
	jb 1b
2:	movb $0, (%edi,%ecx)
	incl %ecx
3:	movl %ecx, ZP + 0x238		/* cmdline_size */
	movl $CMDLINE, ZP + 0x228	/* cmd_line_ptr */
	movw $0xaa55, ZP + 0x1fe	/* boot_flag */
	movl $0x53726448, ZP + 0x202	/* "HdrS" */
	movb $0xff, ZP + 0x210		/* type_of_loader */
	movl $0x01000000, ZP + 0x230	/* kernel_alignment */
	cmpl $1, 4(%ebp)
	jb 5f
	movl 32(%ebp), %eax		/* rsdp_paddr -> acpi_rsdp_addr */
	movl %eax, ZP + 0x70
	movl 36(%ebp), %eax
	movl %eax, ZP + 0x74
	/* PVH memmap (24-byte entries) -> e820 table (20-byte entries) */
	movl 40(%ebp), %esi
	movl 48(%ebp), %ecx
	cmpl $128, %ecx
	jbe 4f
	movl $128, %ecx
4:	movb %cl, ZP + 0x1e8
	movl $ZP + 0x2d0, %edi
	testl %ecx, %ecx
	jz 5f
6:	movl (%esi), %eax
	movl %eax, (%edi)
	movl 4(%esi), %eax
	movl %eax, 4(%edi)
	movl 8(%esi), %eax
	movl %eax, 8(%edi)
	movl 12(%esi), %eax
	movl %eax, 12(%edi)
	movl 16(%esi), %eax
	movl %eax, 16(%edi)
	addl $24, %esi
	addl $20, %edi
	decl %ecx
	jnz 6b
5:	/* Firecracker's boot GDT at 0x500: null, code, data, tss */
	movl $0, 0x500
	movl $0, 0x504
	movl $0x0000ffff, 0x508
	movl $0x00af9b00, 0x50c
	movl $0x0000ffff, 0x510
	movl $0x00cf9300, 0x514
	movl $0x0000ffff, 0x518
	movl $0x008f8b00, 0x51c
	/* PML4 0x9000 -> PDPT 0xa000 -> PD 0xb000: first GiB, 2 MiB pages */
	movl $0xa003, 0x9000
	movl $0xb003, 0xa000
	xorl %ecx, %ecx
7:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, 0xb000(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jb 7b
	lgdt shim_gdtr
	movl %cr4, %eax
	orl $0x20, %eax
	movl %eax, %cr4
	movl $0x9000, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax
	movl %eax, %cr0
	ljmp $0x08, $shim64

	.code64
shim64:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $0x8ff0, %esp
	movq %rsp, %rbp
	movl $ZP, %esi
	movl $GUEST_ENTRY, %eax
	jmp *%rax

	.section .rodata
	.p2align 3
shim_gdtr:
	.word 31
	.long 0x500

	.section .note.GNU-stack, "", @progbits
