/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the x86_64 kernel loaders (ELF, PVH note, bzImage), initrd and cmdline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "arch_test_util.h"

#define MIB (1ULL << 20)

static int elf_build_rc(struct t_elf *t, uint64_t mem)
{
	struct gmem m;
	struct arch_x86_boot b;
	t_gmem(&m, mem);
	int rc = t_build(&m, t->buf, t->len, -1, "console=ttyS0", 1, NULL, 0, &b);
	gmem_free(&m);
	return rc;
}

static void test_elf_linux_boot(void **state)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t_gmem(&m, 128 * MIB);
	memset(t_ptr(&m, T_KERNEL_PADDR, 0x4000), 0xcc, 0x4000); /* stale data must be cleared */
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "console=ttyS0", 1, NULL, 0, &b), 0);
	assert_false(b.pvh);
	assert_int_equal(b.regs.rip, T_KERNEL_ENTRY);
	const uint8_t *k = t_ptr(&m, T_KERNEL_PADDR, 0x4000);
	for (int i = 0; i < 0x200; i++)
		assert_int_equal(k[i], 0xab);
	for (int i = 0x200; i < 0x3000; i++)
		assert_int_equal(k[i], 0); /* bss zeroed */
	assert_int_equal(k[0x3000], 0xcc); /* nothing written past p_memsz */
	gmem_free(&m);
}

static void check_pvh(uint32_t descsz)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	t_elf_build(&t, T_KERNEL_PADDR, true, descsz);
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "a=b", 2, NULL, 0, &b), 0);
	assert_true(b.pvh);
	assert_int_equal(b.regs.rip, T_PVH_ENTRY);
	assert_int_equal(b.regs.rbx, 0x6000);
	assert_int_equal(ax_get32(t_ptr(&m, 0x6000, 4)), 0x336ec578);
	gmem_free(&m);
}

static void test_elf_pvh_note(void **state)
{
	check_pvh(4);
	check_pvh(8);
}

static void test_elf_hostile_segments(void **state)
{
	struct t_elf t;
	/* segment outside guest RAM */
	t_elf_build(&t, 200 * MIB, false, 0);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -E2BIG);
	/* segment straddling the end of RAM */
	t_elf_build(&t, 128 * MIB - 0x1000, false, 0);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -E2BIG);
	/* p_paddr + p_memsz overflows */
	t_elf_build(&t, 0xfffffffffffff000ULL, false, 0);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -E2BIG);
	/* segment below 1 MiB would clobber boot structures */
	t_elf_build(&t, 0x7000, false, 0);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* file size larger than memory size */
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.ph[0].p_memsz = 0x100;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* p_offset + p_filesz overflows */
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.ph[0].p_offset = 0xffffffffffffff00ULL;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* no PT_LOAD at all */
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.ph[0].p_type = PT_NULL;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* entry point outside RAM */
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_entry = 0xffffffff81000000ULL;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
}

static void test_elf_hostile_headers(void **state)
{
	struct t_elf t;
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_phnum = 0;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_phnum = 0xffff;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_phentsize = 32;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_phoff = 0x100000;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_phoff = 0xfffffffffffffff0ULL;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.eh->e_machine = EM_AARCH64;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* truncated: the segment's bytes are not all in the file */
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t.len = 0x1100;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* truncated inside the ELF header */
	t.len = 40;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* not a kernel at all */
	memset(t.buf, 0x42, sizeof(t.buf));
	t.len = sizeof(t.buf);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
}

static void test_elf_hostile_notes(void **state)
{
	struct t_elf t;
	/* oversized namesz: the note is ignored, the kernel boots the Linux way */
	t_elf_build(&t, T_KERNEL_PADDR, true, 8);
	uint32_t huge = 0xfffffff0u;
	memcpy(t.buf + 0x1400 + 20, &huge, 4);
	assert_int_equal(elf_build_rc(&t, 128 * MIB), 0);
	/* note segment beyond the end of the file */
	t_elf_build(&t, T_KERNEL_PADDR, true, 8);
	t.ph[1].p_offset = 0x100000;
	assert_int_equal(elf_build_rc(&t, 128 * MIB), -ENOEXEC);
	/* PVH entry above 4 GiB is not a 32-bit entry: ignored */
	t_elf_build(&t, T_KERNEL_PADDR, true, 8);
	uint64_t hi = 0x100001000ULL;
	memcpy(t.buf + 0x1400 + 36, &hi, 8);
	struct gmem m;
	struct arch_x86_boot b;
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 1, NULL, 0, &b), 0);
	assert_false(b.pvh);
	gmem_free(&m);
}

/* ---- bzImage ---- */
struct t_bz {
	uint8_t buf[0x2000];
	size_t len;
};

static void t_bz_build(struct t_bz *z, uint16_t version)
{
	memset(z, 0, sizeof(*z));
	uint8_t *h = z->buf;
	h[0x1f1] = 2; /* setup_sects: kernel at (2+1)*512 */
	ax_put16(h + 0x1fe, 0xaa55);
	h[0x200] = 0xeb;
	h[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(h + 0x202, "HdrS", 4);
	ax_put16(h + 0x206, version);
	h[0x211] = 1; /* LOADED_HIGH */
	ax_put32(h + 0x22c, 0x7fffffff);
	ax_put32(h + 0x230, 0x200000);
	h[0x234] = 1;
	ax_put16(h + 0x236, 1); /* XLF_KERNEL_64 */
	ax_put32(h + 0x238, 2047);
	ax_put64(h + 0x258, 0x1000000);
	ax_put32(h + 0x260, 0x10000);
	memset(h + 3 * 512, 0x5a, 0x1000);
	z->len = 3 * 512 + 0x1000;
}

static int bz_rc(struct t_bz *z, const char *cmdline)
{
	struct gmem m;
	struct arch_x86_boot b;
	t_gmem(&m, 128 * MIB);
	int rc = t_build(&m, z->buf, z->len, -1, cmdline, 1, NULL, 0, &b);
	gmem_free(&m);
	return rc;
}

static void test_bzimage_load(void **state)
{
	struct t_bz z;
	struct gmem m;
	struct arch_x86_boot b;
	t_bz_build(&z, 0x20f);
	ax_put64(z.buf + 0x250, 0x12345); /* hostile setup_data pointer */
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, z.buf, z.len, -1, "console=ttyS0", 1, NULL, 0, &b), 0);
	assert_false(b.pvh);
	assert_int_equal(b.regs.rip, 0x100200);
	const uint8_t *k = t_ptr(&m, 0x100000, 0x1000);
	for (int i = 0; i < 0x1000; i++)
		assert_int_equal(k[i], 0x5a);
	const uint8_t *zp = t_ptr(&m, 0x7000, 4096);
	assert_int_equal(zp[0x1f1], 2);			  /* setup header copied */
	assert_int_equal(ax_get16(zp + 0x206), 0x20f);	  /* protocol version */
	assert_int_equal(ax_get32(zp + 0x230), 0x200000); /* kernel's own alignment kept */
	assert_int_equal(zp[0x210], 0xff);		  /* type_of_loader */
	assert_int_equal(ax_get32(zp + 0x214), 0x100000); /* code32_start */
	assert_int_equal(ax_get32(zp + 0x228), 0x20000);  /* cmd_line_ptr */
	assert_int_equal(ax_get64(zp + 0x250), 0);	  /* setup_data cleared */
	assert_int_equal(ax_get64(zp + 0x070), 0xe0000);  /* acpi_rsdp_addr */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	gmem_free(&m);
}

static void test_bzimage_nonrelocatable(void **state)
{
	struct t_bz z;
	struct gmem m;
	struct arch_x86_boot b;
	t_bz_build(&z, 0x20f);
	z.buf[0x234] = 0; /* not relocatable: must go to pref_address */
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, z.buf, z.len, -1, "", 1, NULL, 0, &b), 0);
	assert_int_equal(b.regs.rip, 0x1000200);
	assert_int_equal(*t_ptr(&m, 0x1000000, 1), 0x5a);
	gmem_free(&m);
}

static void test_bzimage_rejects(void **state)
{
	struct t_bz z;
	t_bz_build(&z, 0x205); /* protocol 2.05 is too old */
	assert_int_equal(bz_rc(&z, ""), -ENOEXEC);
	t_bz_build(&z, 0x20f);
	ax_put16(z.buf + 0x236, 0); /* no 64-bit entry */
	assert_int_equal(bz_rc(&z, ""), -ENOEXEC);
	t_bz_build(&z, 0x20f);
	z.buf[0x211] = 0; /* zImage */
	assert_int_equal(bz_rc(&z, ""), -ENOEXEC);
	t_bz_build(&z, 0x20f);
	ax_put32(z.buf + 0x260, 0x7fffffff); /* init_size larger than RAM */
	assert_int_equal(bz_rc(&z, ""), -E2BIG);
	t_bz_build(&z, 0x20f);
	z.buf[0x234] = 0; /* not relocatable, wants 2 GiB: outside the identity map */
	ax_put64(z.buf + 0x258, 0x80000000ULL);
	struct gmem m;
	struct arch_x86_boot b;
	t_gmem(&m, 3ULL << 30);
	assert_int_equal(t_build(&m, z.buf, z.len, -1, "", 1, NULL, 0, &b), -E2BIG);
	gmem_free(&m);
	t_bz_build(&z, 0x20f);
	z.buf[0x1f1] = 200; /* setup_sects past the end of the file */
	assert_int_equal(bz_rc(&z, ""), -ENOEXEC);
	t_bz_build(&z, 0x20f);
	ax_put32(z.buf + 0x238, 10); /* kernel accepts 10 cmdline bytes */
	assert_int_equal(bz_rc(&z, "0123456789"), 0);
	assert_int_equal(bz_rc(&z, "0123456789a"), -E2BIG);
	t_bz_build(&z, 0x20f);
	memcpy(z.buf + 0x202, "HdrX", 4);
	assert_int_equal(bz_rc(&z, ""), -ENOEXEC);
}

static void test_bzimage_initrd_addr_max(void **state)
{
	struct t_bz z;
	struct gmem m;
	struct arch_x86_boot b;
	uint8_t rd[5000];
	memset(rd, 0x77, sizeof(rd));
	int rfd = t_memfd(rd, sizeof(rd));
	t_bz_build(&z, 0x20f);
	ax_put32(z.buf + 0x22c, 0x3ffffff); /* initrd must end below 64 MiB */
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, z.buf, z.len, rfd, "", 1, NULL, 0, &b), 0);
	const uint8_t *zp = t_ptr(&m, 0x7000, 4096);
	assert_int_equal(ax_get32(zp + 0x218), (0x4000000 - 5000) & ~0xfffu);
	assert_int_equal(ax_get32(zp + 0x21c), 5000);
	assert_memory_equal(t_ptr(&m, (0x4000000 - 5000) & ~0xfffu, 5000), rd, 5000);
	gmem_free(&m);
	close(rfd);
}

static void test_initrd_elf(void **state)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	uint8_t rd[10000];
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)i;
	int rfd = t_memfd(rd, sizeof(rd));
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, rfd, "", 1, NULL, 0, &b), 0);
	uint64_t addr = (128 * MIB - sizeof(rd)) & ~0xfffULL;
	const uint8_t *zp = t_ptr(&m, 0x7000, 4096);
	assert_int_equal(ax_get32(zp + 0x218), addr);
	assert_int_equal(ax_get32(zp + 0x21c), sizeof(rd));
	assert_memory_equal(t_ptr(&m, addr, sizeof(rd)), rd, sizeof(rd));
	gmem_free(&m);
	/* an initrd bigger than RAM is refused, not truncated */
	assert_int_equal(ftruncate(rfd, 200 * MIB), 0);
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, rfd, "", 1, NULL, 0, &b), -E2BIG);
	gmem_free(&m);
	close(rfd);
}

static void test_cmdline_limits(void **state)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	char line[2100];
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	memset(line, 'x', sizeof(line));
	line[2047] = 0; /* 2047 chars + NUL = 2048: fits */
	t_gmem(&m, 128 * MIB);
	assert_int_equal(t_build(&m, t.buf, t.len, -1, line, 1, NULL, 0, &b), 0);
	assert_memory_equal(t_ptr(&m, 0x20000, 2048), line, 2048);
	assert_int_equal(ax_get32(t_ptr(&m, 0x7000 + 0x238, 4)), 2048);
	line[2047] = 'x';
	line[2048] = 0; /* one too many */
	assert_int_equal(t_build(&m, t.buf, t.len, -1, line, 1, NULL, 0, &b), -E2BIG);
	gmem_free(&m);
}

/* Deterministic header mutation: flip random bytes of valid ELF / bzImage images (headers,
 * program headers, notes) and check every result is a clean success or a documented error.
 * Under the sanitizer build this is a small in-tree fuzz run. */
static void test_mutated_headers(void **state)
{
	struct gmem m;
	struct arch_x86_boot b;
	uint32_t seed = 12345;
	t_gmem(&m, 64 * MIB);
	for (int iter = 0; iter < 3000; iter++) {
		struct t_elf t;
		struct t_bz z;
		uint8_t *img;
		size_t len, span;
		if (iter % 2) {
			t_elf_build(&t, T_KERNEL_PADDR, true, 8);
			img = t.buf, len = t.len, span = 0x1440;
		} else {
			t_bz_build(&z, 0x20f);
			img = z.buf, len = z.len, span = 0x290;
		}
		for (int k = 0; k < 1 + iter % 6; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t off = (seed >> 8) % span;
			if (iter % 2 == 0) /* bzImage: aim at the setup header */
				off = 0x1f1 + off % (0x290 - 0x1f1);
			else if (k % 2 == 0) /* ELF: aim at the ELF and program headers */
				off %= sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
			else if (k % 3 == 1) /* ... or at the notes */
				off = 0x1400 + off % 0x40;
			seed = seed * 1103515245u + 12345u;
			img[off] = (uint8_t)(seed >> 16);
		}
		int rc = t_build(&m, img, len, -1, "", 1, NULL, 0, &b);
		assert_true(rc == 0 || rc == -ENOEXEC || rc == -E2BIG || rc == -EIO);
	}
	gmem_free(&m);
}

static void test_virtio_cmdline_entry(void **state)
{
	char buf[64];
	struct arch_mmio_dev d = {.base = 0xc0001000, .len = 0x1000, .irq = 5};
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_mmio.device=4K@0xc0001000:5");
	d = (struct arch_mmio_dev){.base = 0xC000A000, .len = 2 << 20, .irq = 23};
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_mmio.device=2M@0xc000a000:23");
	d = (struct arch_mmio_dev){.base = 0x100000000ULL, .len = 1ULL << 30, .irq = 6};
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_mmio.device=1G@0x100000000:6");
	d = (struct arch_mmio_dev){.base = 0xd0000000, .len = 0x1234, .irq = 7};
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_mmio.device=4660@0xd0000000:7");
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, 10), -ENOSPC);
	d.len = 0;
	assert_int_equal(arch_x86_virtio_cmdline_entry(&d, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf_linux_boot),
	    cmocka_unit_test(test_elf_pvh_note),
	    cmocka_unit_test(test_elf_hostile_segments),
	    cmocka_unit_test(test_elf_hostile_headers),
	    cmocka_unit_test(test_elf_hostile_notes),
	    cmocka_unit_test(test_bzimage_load),
	    cmocka_unit_test(test_bzimage_nonrelocatable),
	    cmocka_unit_test(test_bzimage_rejects),
	    cmocka_unit_test(test_bzimage_initrd_addr_max),
	    cmocka_unit_test(test_initrd_elf),
	    cmocka_unit_test(test_cmdline_limits),
	    cmocka_unit_test(test_mutated_headers),
	    cmocka_unit_test(test_virtio_cmdline_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
