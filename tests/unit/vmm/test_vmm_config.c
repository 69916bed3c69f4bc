/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vmm/config: defaults, InstanceStart validation, command-line composition. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86_64/arch.h"
#include "vmm/vmm.h"

static struct vm_config cfg;
static char kernel[] = "/tmp/squib-vmm-kernel-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(kernel);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	return 0;
}

static void with_kernel(void)
{
	vm_config_init(&cfg);
	cfg.boot.set = true;
	strcpy(cfg.boot.kernel_image_path, kernel);
}

static void test_defaults(void **state)
{
	memset(&cfg, 0xa5, sizeof(cfg));
	vm_config_init(&cfg);
	assert_int_equal(cfg.machine.vcpu_count, 1);
	assert_int_equal(cfg.machine.mem_size_mib, 128);
	assert_false(cfg.machine.smt);
	assert_false(cfg.boot.set);
	assert_int_equal(cfg.n_drives, 0);
	assert_int_equal(cfg.serial_out_path[0], 0);
}

static void test_validate(void **state)
{
	char err[256];
	vm_config_init(&cfg);
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Cannot start microvm without kernel configuration.");
	with_kernel();
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), 0);
	cfg.machine.vcpu_count = 0;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.machine.vcpu_count = 33;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.machine.vcpu_count = 32;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), 0);
	cfg.machine.smt = true;
	cfg.machine.vcpu_count = 3;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.machine.vcpu_count = 1;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), 0);
	cfg.machine.mem_size_mib = 0;
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -EINVAL);
	with_kernel();
	strcpy(cfg.boot.kernel_image_path, "/nonexistent/vmlinux");
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory (os error 2)"));
	with_kernel();
	strcpy(cfg.boot.initrd_path, "/nonexistent/initrd");
	assert_int_equal(vm_config_validate(&cfg, err, sizeof(err)), -ENOENT);
}

static void test_cmdline_default(void **state)
{
	char out[ARCH_CMDLINE_MAX];
	with_kernel();
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux "
				 "i8042.nomux i8042.dumbkbd swiotlb=noforce pci=off");
	cfg.boot.has_boot_args = true;
	strcpy(cfg.boot.boot_args, "console=ttyS0 reboot=k panic=1 ");
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 reboot=k panic=1 pci=off");
	cfg.boot.boot_args[0] = '\0'; /* present but empty replaces the default too */
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "pci=off");
}

static void test_cmdline_devices(void **state)
{
	char out[ARCH_CMDLINE_MAX];
	with_kernel();
	cfg.boot.has_boot_args = true;
	strcpy(cfg.boot.boot_args, "console=ttyS0");
	cfg.n_drives = 2;
	strcpy(cfg.drives[0].drive_id, "data");
	strcpy(cfg.drives[1].drive_id, "rootfs");
	cfg.drives[1].is_root_device = true;
	struct vmm_mmio_slot s[2] = {{0xc0001000, 0x1000, 5}, {0xc0002000, 0x1000, 6}};
	assert_int_equal(vmm_cmdline_build(&cfg, s, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 pci=off root=/dev/vda rw "
				 "virtio_mmio.device=4K@0xc0001000:5 "
				 "virtio_mmio.device=4K@0xc0002000:6");
	cfg.drives[1].is_read_only = true;
	strcpy(cfg.drives[1].partuuid, "0eaa91a0-01");
	assert_int_equal(vmm_cmdline_build(&cfg, s, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 pci=off root=PARTUUID=0eaa91a0-01 ro "
				 "virtio_mmio.device=4K@0xc0001000:5");
}

static void test_cmdline_too_long(void **state)
{
	char out[ARCH_CMDLINE_MAX];
	with_kernel();
	cfg.boot.has_boot_args = true;
	memset(cfg.boot.boot_args, 'a', ARCH_CMDLINE_MAX - 9);
	cfg.boot.boot_args[ARCH_CMDLINE_MAX - 9] = '\0';
	/* 2039 + " pci=off" = 2047 characters + NUL = 2048: fits exactly. */
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), ARCH_CMDLINE_MAX - 1);
	strcat(cfg.boot.boot_args, "a");
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, out, sizeof(out)), -E2BIG);
	char small[16];
	strcpy(cfg.boot.boot_args, "console=ttyS0");
	assert_int_equal(vmm_cmdline_build(&cfg, NULL, 0, small, sizeof(small)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	     cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_cmdline_default),  cmocka_unit_test(test_cmdline_devices),
	    cmocka_unit_test(test_cmdline_too_long),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
