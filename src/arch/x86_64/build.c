// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 boot orchestration: kernel, initrd, cmdline, boot info, tables, vCPU state. */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define AX_MAX_VCPUS 32

#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		if (errlen)                                                                        \
			snprintf(err, errlen, __VA_ARGS__);                                        \
		return (code);                                                                     \
	} while (0)

static int ax_cmdline_write(struct gmem *m, const char *cmdline, size_t len)
{
	uint8_t *dst = gmem_ptr_w(m, AX_CMDLINE_ADDR, ARCH_CMDLINE_MAX);
	if (!dst)
		return -E2BIG;
	memset(dst, 0, ARCH_CMDLINE_MAX);
	memcpy(dst, cmdline, len);
	return 0;
}

static int ax_check_config(const struct gmem *m, const struct arch_x86_config *cfg, char *err,
			   size_t errlen)
{
	if (cfg->vcpu_count == 0 || cfg->vcpu_count > AX_MAX_VCPUS)
		FAIL(-EINVAL, "vCPU count %" PRIu32 " is not in 1..%d", cfg->vcpu_count,
		     AX_MAX_VCPUS);
	if (cfg->n_mmio && !cfg->mmio)
		FAIL(-EINVAL, "virtio-mmio device list is missing");
	if (m->nr == 0 || m->r[0].gpa != 0 || !gmem_ptr(m, 0, AX_HIMEM_START))
		FAIL(-E2BIG, "guest RAM must cover the first MiB");
	return 0;
}

static int ax_tables_write(struct gmem *m, const struct arch_x86_config *cfg,
			   const struct ax_kernel *k, const struct ax_initrd *rd, uint32_t cmdlen,
			   char *err, size_t errlen)
{
	int rc = k->pvh ? ax_pvh_write(m, rd) : ax_zero_page_write(m, k, rd, cmdlen);
	if (rc)
		FAIL(rc, "cannot write the boot information");
	rc = ax_mptable_write(m, cfg->vcpu_count);
	if (rc)
		FAIL(rc, "cannot write the MP table");
	rc = ax_acpi_write(m, cfg);
	if (rc)
		FAIL(rc, "cannot write the ACPI tables (too many devices or bad device address)");
	return 0;
}

int arch_x86_build(struct gmem *m, const struct arch_x86_config *cfg, struct arch_x86_boot *out,
		   char *err, size_t errlen)
{
	struct ax_kernel k;
	struct ax_initrd rd;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	size_t len = strnlen(cmdline, ARCH_CMDLINE_MAX) + 1;
	int rc;

	if (errlen)
		err[0] = 0;
	memset(out, 0, sizeof(*out));
	if ((rc = ax_check_config(m, cfg, err, errlen)))
		return rc;
	if (len > ARCH_CMDLINE_MAX)
		FAIL(-E2BIG, "kernel command line is longer than %d bytes", ARCH_CMDLINE_MAX - 1);
	if ((rc = ax_kernel_load(m, cfg->kernel_fd, &k, err, errlen)))
		return rc;
	if (k.bzimage && k.cmdline_size && len - 1 > k.cmdline_size)
		FAIL(-E2BIG, "kernel command line exceeds the kernel's limit of %" PRIu32 " bytes",
		     k.cmdline_size);
	if ((rc = ax_initrd_load(m, cfg->initrd_fd, &k, &rd, err, errlen)))
		return rc;
	if (ax_cmdline_write(m, cmdline, len))
		FAIL(-E2BIG, "guest RAM cannot hold the command line");
	if ((rc = ax_tables_write(m, cfg, &k, &rd, (uint32_t)len, err, errlen)))
		return rc;
	if ((rc = ax_cpu_setup(m, k.pvh, k.entry, &out->regs, &out->sregs)))
		FAIL(rc, "cannot write GDT or page tables");
	out->pvh = k.pvh;
	return 0;
}

int arch_x86_virtio_cmdline_entry(const struct arch_mmio_dev *d, char *buf, size_t len)
{
	static const struct {
		uint64_t unit;
		const char *suffix;
	} units[] = {{1ULL << 30, "G"}, {1ULL << 20, "M"}, {1ULL << 10, "K"}, {1, ""}};
	if (!d || !buf || d->len == 0)
		return -EINVAL;
	size_t i = 0;
	while (d->len % units[i].unit)
		i++;
	int n = snprintf(buf, len, "virtio_mmio.device=%" PRIu64 "%s@0x%" PRIx64 ":%" PRIu32,
			 d->len / units[i].unit, units[i].suffix, d->base, d->irq);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}
