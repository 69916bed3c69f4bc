/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for arch unit tests: guest RAM, in-memory kernel images (ELF, bzImage), memfds. */
#ifndef SQUIB_TEST_ARCH_UTIL_H
#define SQUIB_TEST_ARCH_UTIL_H

#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86_64/arch_priv.h"

#define T_KERNEL_PADDR 0x1000000ULL
#define T_KERNEL_ENTRY 0x1000040ULL
#define T_PVH_ENTRY 0x1000080ULL

/* Guest RAM of size bytes, allocated (memfd, sparse). */
static inline void t_gmem(struct gmem *m, uint64_t size)
{
	assert_int_equal(gmem_layout_x86(m, size), 0);
	assert_int_equal(gmem_alloc(m), 0);
}

/* A memfd holding exactly len bytes of p. */
static inline int t_memfd(const void *p, size_t len)
{
	int fd = memfd_create("squib-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	return fd;
}

struct t_elf {
	uint8_t buf[8192];
	size_t len;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

/* Tiny vmlinux-like ELF: one PT_LOAD (0x200 bytes of 0xAB, memsz 0x3000) at paddr, optional
 * PT_NOTE with a Xen PHYS32_ENTRY note (desc of descsz bytes). */
static inline void t_elf_build(struct t_elf *t, uint64_t paddr, bool pvh_note, uint32_t descsz)
{
	memset(t, 0, sizeof(*t));
	t->eh = (Elf64_Ehdr *)t->buf;
	t->ph = (Elf64_Phdr *)(t->buf + sizeof(Elf64_Ehdr));
	Elf64_Ehdr *eh = t->eh;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = T_KERNEL_ENTRY;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = pvh_note ? 2 : 1;
	Elf64_Phdr *ph = t->ph;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x1000;
	ph[0].p_paddr = paddr;
	ph[0].p_vaddr = 0xffffffff81000000ULL;
	ph[0].p_filesz = 0x200;
	ph[0].p_memsz = 0x3000;
	memset(t->buf + 0x1000, 0xab, 0x200);
	t->len = 0x1200;
	if (pvh_note) {
		uint8_t *n = t->buf + 0x1400;
		Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = descsz, .n_type = 18};
		/* an unrelated note first, then the Xen one */
		Elf64_Nhdr other = {.n_namesz = 4, .n_descsz = 4, .n_type = 6};
		memcpy(n, &other, sizeof(other));
		memcpy(n + 12, "GNU", 4);
		memset(n + 16, 0x11, 4);
		memcpy(n + 20, &nh, sizeof(nh));
		memcpy(n + 32, "Xen", 4);
		uint64_t entry = T_PVH_ENTRY;
		memcpy(n + 36, &entry, descsz < 8 ? descsz : 8);
		ph[1].p_type = PT_NOTE;
		ph[1].p_offset = 0x1400;
		ph[1].p_filesz = 36 + ((descsz + 3) & ~3u);
		t->len = 0x1400 + ph[1].p_filesz;
	}
}

/* Build and run arch_x86_build with an ELF/bzImage image in memory. */
static inline int t_build(struct gmem *m, const void *img, size_t len, int initrd_fd,
			  const char *cmdline, uint32_t vcpus, const struct arch_mmio_dev *mmio,
			  uint32_t n_mmio, struct arch_x86_boot *out)
{
	char err[256];
	int fd = t_memfd(img, len);
	struct arch_x86_config cfg = {.kernel_fd = fd,
				      .initrd_fd = initrd_fd,
				      .cmdline = cmdline,
				      .vcpu_count = vcpus,
				      .mmio = mmio,
				      .n_mmio = n_mmio};
	int rc = arch_x86_build(m, &cfg, out, err, sizeof(err));
	if (rc)
		assert_true(err[0] != 0); /* every failure explains itself */
	close(fd);
	return rc;
}

static inline uint8_t t_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static inline uint8_t *t_ptr(struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gmem_ptr(m, gpa, len);
	assert_non_null(p);
	return p;
}

#endif
