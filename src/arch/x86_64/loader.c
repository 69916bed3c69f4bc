// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 loader: ELF vmlinux (with PVH note), bzImage and initrd into guest RAM. */
#include "arch/x86_64/arch_priv.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AX_ELF_MAX_PHNUM 64
#define AX_NOTE_MAX (1u << 20)
#define AX_XEN_ELFNOTE_PHYS32_ENTRY 18
#define AX_BZ_HDR_READ 0x290u
#define AX_BZ_MIN_VERSION 0x206
#define AX_XLF_KERNEL_64 0x1
#define AX_LOADED_HIGH 0x1

#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		if (errlen)                                                                        \
			snprintf(err, errlen, __VA_ARGS__);                                        \
		return (code);                                                                     \
	} while (0)

int ax_pread_full(int fd, void *dst, uint64_t len, uint64_t off)
{
	uint8_t *p = dst;
	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		if (off > (uint64_t)INT64_MAX)
			return -EIO;
		ssize_t r = pread(fd, p, chunk, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		p += r;
		len -= (uint64_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Size of a regular file, or UINT64_MAX when it cannot be known (pipe, ...). */
static uint64_t ax_file_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0)
		return UINT64_MAX;
	return (uint64_t)st.st_size;
}

/* Search one PT_NOTE blob for XEN_ELFNOTE_PHYS32_ENTRY; 0 if absent. */
static uint64_t ax_note_pvh_entry(const uint8_t *p, uint64_t len)
{
	uint64_t off = 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		uint64_t namesz = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		uint64_t descsz = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		if (namesz > len - off || descsz > len - off - namesz)
			return 0;
		const uint8_t *name = p + off, *desc = p + off + namesz;
		off += namesz + descsz;
		if (nh.n_type != AX_XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
		    memcmp(name, "Xen", 4) != 0 || nh.n_descsz < 4)
			continue;
		uint64_t entry = nh.n_descsz >= 8 ? ax_get64(desc) : ax_get32(desc);
		return entry < AX_FOUR_GIB ? entry : 0;
	}
	return 0;
}

static int ax_elf_note(int fd, const Elf64_Phdr *ph, uint64_t fsize, uint64_t *pvh)
{
	uint64_t end;
	if (ph->p_filesz == 0 || ph->p_filesz > AX_NOTE_MAX)
		return 0;
	if (!add_u64(ph->p_offset, ph->p_filesz, &end) || end > fsize)
		return -ENOEXEC;
	uint8_t *buf = malloc(ph->p_filesz);
	if (!buf)
		return -ENOMEM;
	int rc = ax_pread_full(fd, buf, ph->p_filesz, ph->p_offset);
	if (rc == 0 && !*pvh)
		*pvh = ax_note_pvh_entry(buf, ph->p_filesz);
	free(buf);
	return rc;
}

static int ax_elf_segment(struct gmem *m, int fd, const Elf64_Phdr *ph, uint64_t fsize,
			  uint64_t *load_end, char *err, size_t errlen)
{
	uint64_t fend, mend;
	if (ph->p_filesz > ph->p_memsz)
		FAIL(-ENOEXEC, "ELF segment file size exceeds memory size");
	if (!add_u64(ph->p_offset, ph->p_filesz, &fend) || fend > fsize)
		FAIL(-ENOEXEC, "ELF segment lies beyond the end of the file");
	if (ph->p_paddr < AX_HIMEM_START)
		FAIL(-ENOEXEC, "ELF segment below 1 MiB (0x%llx)", (unsigned long long)ph->p_paddr);
	if (!add_u64(ph->p_paddr, ph->p_memsz, &mend))
		FAIL(-E2BIG, "ELF segment address overflows");
	if (ph->p_memsz == 0)
		return 0;
	uint8_t *dst = gmem_ptr_w(m, ph->p_paddr, ph->p_memsz);
	if (!dst)
		FAIL(-E2BIG, "ELF segment [0x%llx, 0x%llx) is outside guest RAM",
		     (unsigned long long)ph->p_paddr, (unsigned long long)mend);
	if (ph->p_filesz && ax_pread_full(fd, dst, ph->p_filesz, ph->p_offset) < 0)
		FAIL(-EIO, "cannot read ELF segment");
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	if (mend > *load_end)
		*load_end = mend;
	return 0;
}

static int ax_elf_check_header(const Elf64_Ehdr *eh, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t phend;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		FAIL(-ENOEXEC, "ELF kernel is not 64-bit little-endian");
	if (eh->e_machine != EM_X86_64)
		FAIL(-ENOEXEC, "ELF kernel is not for x86_64");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		FAIL(-ENOEXEC, "ELF program header size is %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > AX_ELF_MAX_PHNUM)
		FAIL(-ENOEXEC, "ELF program header count %u is invalid", eh->e_phnum);
	if (!add_u64(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &phend) ||
	    phend > fsize)
		FAIL(-ENOEXEC, "ELF program headers lie beyond the end of the file");
	return 0;
}

static int ax_elf_load(struct gmem *m, int fd, const Elf64_Ehdr *eh, uint64_t fsize,
		       struct ax_kernel *k, char *err, size_t errlen)
{
	Elf64_Phdr ph[AX_ELF_MAX_PHNUM];
	uint64_t pvh = 0;
	unsigned loads = 0;
	int rc = ax_elf_check_header(eh, fsize, err, errlen);
	if (rc)
		return rc;
	if (ax_pread_full(fd, ph, (uint64_t)eh->e_phnum * sizeof(ph[0]), eh->e_phoff) < 0)
		FAIL(-EIO, "cannot read ELF program headers");
	k->load_end = AX_HIMEM_START;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE) {
			rc = ax_elf_note(fd, &ph[i], fsize, &pvh);
			if (rc == -ENOEXEC)
				FAIL(rc, "ELF note segment lies beyond the end of the file");
			if (rc)
				FAIL(rc, "cannot read ELF note segment");
			continue;
		}
		if (ph[i].p_type != PT_LOAD)
			continue;
		rc = ax_elf_segment(m, fd, &ph[i], fsize, &k->load_end, err, errlen);
		if (rc)
			return rc;
		loads++;
	}
	if (!loads)
		FAIL(-ENOEXEC, "ELF kernel has no loadable segment");
	k->pvh = pvh != 0;
	k->entry = pvh ? pvh : eh->e_entry;
	if (!gmem_ptr(m, k->entry, 1))
		FAIL(-ENOEXEC, "ELF entry 0x%llx is not in guest RAM",
		     (unsigned long long)k->entry);
	return 0;
}

/* Where to put the protected-mode kernel of a bzImage. */
static uint64_t ax_bz_load_addr(const uint8_t *h, uint16_t version)
{
	bool reloc = version >= 0x205 && h[0x234] != 0;
	uint64_t pref = version >= 0x20a ? ax_get64(h + 0x258) : 0;
	if (!reloc && pref >= AX_HIMEM_START)
		return pref;
	return AX_HIMEM_START;
}

static int ax_bz_load(struct gmem *m, int fd, const uint8_t *h, uint64_t fsize, struct ax_kernel *k,
		      char *err, size_t errlen)
{
	uint16_t version = ax_get16(h + 0x206);
	if (version < AX_BZ_MIN_VERSION)
		FAIL(-ENOEXEC, "bzImage boot protocol %u.%02u is older than 2.06", version >> 8,
		     version & 0xff);
	if (!(h[0x211] & AX_LOADED_HIGH))
		FAIL(-ENOEXEC, "zImage (not loaded high) is not supported");
	if (version >= 0x20c && !(ax_get16(h + 0x236) & AX_XLF_KERNEL_64))
		FAIL(-ENOEXEC, "bzImage has no 64-bit entry point");
	uint64_t sects = h[0x1f1] ? h[0x1f1] : 4;
	uint64_t koff = (sects + 1) * 512;
	if (fsize == UINT64_MAX || fsize <= koff)
		FAIL(-ENOEXEC, "bzImage is truncated");
	uint64_t ksize = fsize - koff;
	uint64_t init_size = version >= 0x20a ? ax_get32(h + 0x260) : 0;
	uint64_t span = ksize > init_size ? ksize : init_size, end;
	uint64_t addr = ax_bz_load_addr(h, version);
	if (!add_u64(addr, span, &end) || !gmem_ptr(m, addr, span))
		FAIL(-E2BIG, "bzImage needs [0x%llx, 0x%llx) which is not guest RAM",
		     (unsigned long long)addr, (unsigned long long)end);
	if (end > AX_IDENTITY_MAP_END)
		FAIL(-E2BIG, "bzImage [0x%llx, 0x%llx) exceeds the identity-mapped first GiB",
		     (unsigned long long)addr, (unsigned long long)end);
	if (ax_pread_full(fd, gmem_ptr_w(m, addr, ksize), ksize, koff) < 0)
		FAIL(-EIO, "cannot read bzImage kernel");
	k->bzimage = true;
	k->version = version;
	k->entry = addr + 0x200;
	k->code32_start = addr;
	k->load_end = end;
	k->initrd_addr_max = version >= 0x203 ? ax_get32(h + 0x22c) : 0x37ffffff;
	k->cmdline_size = ax_get32(h + 0x238);
	uint32_t hlen = 0x202u + h[0x201] - AX_SETUP_HDR_OFF;
	k->hdr_len = hlen < AX_SETUP_HDR_MAX ? hlen : AX_SETUP_HDR_MAX;
	memcpy(k->hdr, h + AX_SETUP_HDR_OFF, k->hdr_len);
	return 0;
}

int ax_kernel_load(struct gmem *m, int fd, struct ax_kernel *k, char *err, size_t errlen)
{
	uint8_t h[AX_BZ_HDR_READ];
	uint64_t fsize = ax_file_size(fd);
	memset(k, 0, sizeof(*k));
	if (fsize != UINT64_MAX && fsize < sizeof(Elf64_Ehdr))
		FAIL(-ENOEXEC, "kernel image is too small");
	uint64_t want = fsize < sizeof(h) ? fsize : sizeof(h);
	if (ax_pread_full(fd, h, want, 0) < 0)
		FAIL(-EIO, "cannot read kernel header");
	if (memcmp(h, ELFMAG, SELFMAG) == 0) {
		Elf64_Ehdr eh;
		memcpy(&eh, h, sizeof(eh));
		return ax_elf_load(m, fd, &eh, fsize, k, err, errlen);
	}
	if (want == sizeof(h) && ax_get16(h + 0x1fe) == 0xaa55 && memcmp(h + 0x202, "HdrS", 4) == 0)
		return ax_bz_load(m, fd, h, fsize, k, err, errlen);
	FAIL(-ENOEXEC, "kernel is neither an ELF vmlinux nor a bzImage");
}

int ax_initrd_load(struct gmem *m, int fd, const struct ax_kernel *k, struct ax_initrd *out,
		   char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return 0;
	uint64_t size = ax_file_size(fd);
	if (size == UINT64_MAX)
		FAIL(-EIO, "cannot size the initrd (not a regular file)");
	if (size == 0)
		return 0;
	uint64_t top = m->r[0].gpa + m->r[0].size;
	if (k->bzimage && (uint64_t)k->initrd_addr_max + 1 < top)
		top = (uint64_t)k->initrd_addr_max + 1;
	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < k->load_end)
		FAIL(-E2BIG, "initrd of %llu bytes does not fit in guest RAM",
		     (unsigned long long)size);
	uint64_t addr = (top - size) & ~(PAGE_SIZE - 1);
	void *dst = gmem_ptr_w(m, addr, size);
	if (!dst)
		FAIL(-E2BIG, "initrd does not fit in guest RAM");
	if (ax_pread_full(fd, dst, size, 0) < 0)
		FAIL(-EIO, "cannot read initrd");
	out->addr = addr;
	out->size = size;
	return 0;
}
