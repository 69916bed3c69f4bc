/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_loader: libFuzzer target over the x86_64 kernel/initrd loader and boot-table writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86_64/arch.h"

#define FZ_MEM (32ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem g_mem;
static int g_kernel_fd = -1, g_initrd_fd = -1;

/* Replace the contents of fd with [p, p+n). */
static int fz_fill(int fd, const uint8_t *p, size_t n)
{
	if (ftruncate(fd, 0) < 0)
		return -1;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return lseek(fd, 0, SEEK_SET) < 0 ? -1 : 0;
}

static void fz_init(void)
{
	if (gmem_layout_x86(&g_mem, FZ_MEM) || gmem_alloc(&g_mem))
		abort();
	g_kernel_fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	g_initrd_fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (g_kernel_fd < 0 || g_initrd_fd < 0)
		abort();
	log_configure(NULL, LOG_OFF, false, false);
}

/* Input: byte 0 = vCPU count (0..33, out-of-range values included), byte 1 bit 0 = also pass
 * an initrd, bytes 2-3 = LE split point of the rest between kernel and initrd; the rest is the
 * kernel image (ELF vmlinux, PVH or bzImage, as the loader detects) followed by the initrd. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct arch_mmio_dev mmio[2] = {
	    {.base = 0xC0001000ULL, .len = 0x1000, .irq = 5},
	    {.base = 0xC0002000ULL, .len = 0x1000, .irq = 6},
	};
	struct arch_x86_boot boot;
	char err[256];
	if (g_kernel_fd < 0)
		fz_init();
	if (size < 4)
		return 0;
	bool with_initrd = data[1] & 1;
	size_t split = (size_t)(data[2] | (data[3] << 8));
	const uint8_t *rest = data + 4;
	size_t n = size - 4;
	if (!with_initrd || split > n)
		split = n;
	if (fz_fill(g_kernel_fd, rest, split) || fz_fill(g_initrd_fd, rest + split, n - split))
		return 0;
	struct arch_x86_config cfg = {
	    .kernel_fd = g_kernel_fd,
	    .initrd_fd = with_initrd ? g_initrd_fd : -1,
	    .cmdline = "console=ttyS0 reboot=k panic=1 pci=off "
		       "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6",
	    .vcpu_count = data[0] % 34,
	    .mmio = mmio,
	    .n_mmio = 2,
	};
	if (arch_x86_build(&g_mem, &cfg, &boot, err, sizeof(err)) == 0) {
		struct hv_x86_regs regs;
		struct hv_x86_sregs sregs;
		for (uint32_t id = 0; id < cfg.vcpu_count; id++)
			arch_x86_vcpu_boot_state(&boot, id, &regs, &sregs);
	}
	if (!memchr(err, '\0', sizeof(err))) /* the reason is always a terminated string */
		abort();
	return 0;
}
