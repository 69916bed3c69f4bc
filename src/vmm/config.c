/* SPDX-License-Identifier: Apache-2.0 */
/* vmm/config: defaults, InstanceStart validation and guest command-line composition. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86_64/arch.h"
#include "vmm/vmm.h"

/* Firecracker v1.16.1 DEFAULT_KERNEL_CMDLINE, used only when boot_args is absent. */
static const char default_cmdline[] = "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux "
				      "i8042.nomux i8042.dumbkbd swiotlb=noforce";

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->machine.smt = false;
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->boot.set || !cfg->boot.kernel_image_path[0])
		return fail(err, errlen, -EINVAL,
			    "Cannot start microvm without kernel configuration.");
	const struct machine_cfg *m = &cfg->machine;
	if (m->vcpu_count < 1 || m->vcpu_count > VM_MAX_VCPUS ||
	    (m->smt && m->vcpu_count > 1 && (m->vcpu_count & 1)))
		return fail(err, errlen, -EINVAL,
			    "The vCPU number is invalid: it can only be 1 or an even number "
			    "when SMT is enabled.");
	if (m->mem_size_mib == 0 || m->mem_size_mib > (1ULL << 44) / (1024 * 1024))
		return fail(err, errlen, -EINVAL,
			    "The memory size (MiB) is either 0, or not a multiple of the "
			    "configured page size.");
	int fd = open(cfg->boot.kernel_image_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return fail(err, errlen, -e, "Cannot open kernel image: %s (os error %d)",
			    strerror(e), e);
	}
	close(fd);
	if (cfg->boot.initrd_path[0]) {
		fd = open(cfg->boot.initrd_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			return fail(err, errlen, -e, "Cannot open initrd image: %s (os error %d)",
				    strerror(e), e);
		}
		close(fd);
	}
	return 0;
}

/* Append " word" (no leading space when out is empty). */
static int cmdline_add(char *out, size_t len, size_t *at, const char *word)
{
	size_t n = strlen(word);
	if (n == 0)
		return 0;
	size_t need = n + (*at ? 1 : 0);
	if (*at + need + 1 > len)
		return -E2BIG;
	if (*at)
		out[(*at)++] = ' ';
	memcpy(out + *at, word, n);
	*at += n;
	out[*at] = '\0';
	return 0;
}

static const struct drive_cfg *root_drive(const struct vm_config *cfg)
{
	for (uint32_t i = 0; i < cfg->n_drives && i < VM_MAX_DRIVES; i++)
		if (cfg->drives[i].is_root_device)
			return &cfg->drives[i];
	return NULL;
}

int vmm_cmdline_build(const struct vm_config *cfg, const struct vmm_mmio_slot *slots,
		      uint32_t n_slots, char *out, size_t len)
{
	if (len > ARCH_CMDLINE_MAX)
		len = ARCH_CMDLINE_MAX; /* includes the NUL */
	if (len == 0)
		return -E2BIG;
	size_t at = 0;
	out[0] = '\0';
	const char *base = cfg->boot.has_boot_args ? cfg->boot.boot_args : default_cmdline;
	/* Trim leading/trailing blanks of the user's string; keep its inner text as given. */
	while (*base == ' ')
		base++;
	char tmp[sizeof(cfg->boot.boot_args)];
	snprintf(tmp, sizeof(tmp), "%s", base);
	for (size_t n = strlen(tmp); n > 0 && tmp[n - 1] == ' '; n--)
		tmp[n - 1] = '\0';
	int r = cmdline_add(out, len, &at, tmp);
	if (r == 0)
		r = cmdline_add(out, len, &at, "pci=off");
	const struct drive_cfg *root = root_drive(cfg);
	if (r == 0 && root) {
		char word[96];
		if (root->partuuid[0])
			snprintf(word, sizeof(word), "root=PARTUUID=%s", root->partuuid);
		else
			snprintf(word, sizeof(word), "root=/dev/vda");
		r = cmdline_add(out, len, &at, word);
		if (r == 0)
			r = cmdline_add(out, len, &at, root->is_read_only ? "ro" : "rw");
	}
	for (uint32_t i = 0; r == 0 && i < n_slots; i++) {
		char word[96];
		struct arch_mmio_dev d = {slots[i].base, slots[i].len, slots[i].irq};
		r = arch_x86_virtio_cmdline_entry(&d, word, sizeof(word));
		r = r < 0 ? r : cmdline_add(out, len, &at, word);
	}
	return r < 0 ? r : 0;
}
