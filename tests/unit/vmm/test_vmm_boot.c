/* SPDX-License-Identifier: Apache-2.0 */
/* KVM tests of vmm: boot the test guest (argv[1]) through vmm_boot, exit codes, pause/resume,
 * per-vCPU jobs, and a restore into a new VM. Skipped with a printed reason without /dev/kvm. */
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

#include "base/base.h"
#include "hv/hv.h"
#include "vmm/vmm.h"

static const char *guest;
static bool have_kvm;

struct run {
	bool done;
	int code;
};

static void on_exit_cb(void *ctx, int code)
{
	struct run *r = ctx;
	r->done = true;
	r->code = code;
}

#define SKIP_IF_NO_KVM()                                                                           \
	do {                                                                                       \
		if (!have_kvm || !guest) {                                                         \
			printf("SKIP: %s\n", have_kvm ? "no test guest" : "no /dev/kvm");          \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void cfg_for(struct vm_config *c, const char *args, uint32_t vcpus)
{
	vm_config_init(c);
	c->boot.set = true;
	snprintf(c->boot.kernel_image_path, sizeof(c->boot.kernel_image_path), "%s", guest);
	c->boot.has_boot_args = true;
	snprintf(c->boot.boot_args, sizeof(c->boot.boot_args), "%s", args);
	c->machine.vcpu_count = vcpus;
	c->machine.mem_size_mib = 64;
	snprintf(c->serial_out_path, sizeof(c->serial_out_path), "/dev/null");
}

/* Run the loop until the guest stops or timeout_ms passes; returns the exit code or -1. */
static int run_until_exit(struct evloop *l, struct run *r, int timeout_ms)
{
	uint64_t end = time_mono_us() + (uint64_t)timeout_ms * 1000;
	while (!r->done && time_mono_us() < end)
		evloop_run_once(l, 100);
	return r->done ? r->code : -1;
}

static void test_boot_reset_exit0(void **state)
{
	SKIP_IF_NO_KVM();
	static struct vm_config c;
	cfg_for(&c, "squib.scenario=hello", 1);
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	struct run r = {0};
	struct vmm *v;
	char err[256];
	assert_int_equal(vmm_boot(&c, l, on_exit_cb, &r, &v, err, sizeof(err)), 0);
	assert_int_equal(vmm_vcpu_count(v), 1);
	assert_int_equal(run_until_exit(l, &r, 30000), 0); /* i8042 reset -> exit 0 */
	vmm_destroy(v);
	evloop_destroy(l);
}

static int count_job(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	uint32_t *seen = arg;
	struct hv_x86_regs regs;
	if (hv_vcpu_get_regs(vcpu, &regs) < 0)
		return -EIO;
	*seen |= 1u << id;
	return 0;
}

static void test_pause_resume(void **state)
{
	SKIP_IF_NO_KVM();
	static struct vm_config c;
	cfg_for(&c, "squib.scenario=digest mib=4 rounds=20 round_ms=50", 2);
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	struct run r = {0};
	struct vmm *v;
	char err[256];
	assert_int_equal(vmm_boot(&c, l, on_exit_cb, &r, &v, err, sizeof(err)), 0);
	uint32_t seen = 0;
	assert_int_equal(vmm_for_each_vcpu_paused(v, count_job, &seen), -EAGAIN);
	uint64_t t0 = time_mono_us();
	assert_int_equal(vmm_pause(v), 0);
	assert_true(time_mono_us() - t0 < 1000000);
	assert_true(vmm_is_paused(v));
	assert_int_equal(vmm_for_each_vcpu_paused(v, count_job, &seen), 0);
	assert_int_equal(seen, 3);
	assert_int_equal(vmm_resume(v), 0);
	assert_false(vmm_is_paused(v));
	assert_int_equal(run_until_exit(l, &r, 60000), 0);
	assert_int_equal(vmm_pause(v), -ESRCH); /* stopped VMs cannot pause */
	vmm_destroy(v);
	evloop_destroy(l);
}

static void test_bad_kernel(void **state)
{
	static struct vm_config c;
	vm_config_init(&c);
	c.boot.set = true;
	strcpy(c.boot.kernel_image_path, "/proc/self/status"); /* readable, not a kernel */
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	struct run r = {0};
	struct vmm *v = NULL;
	char err[256] = "";
	int rc = vmm_boot(&c, l, on_exit_cb, &r, &v, err, sizeof(err));
	assert_true(rc < 0);
	assert_true(err[0] != '\0');
	printf("vmm_boot of a non-kernel: %d (%s)\n", rc, err);
	evloop_destroy(l);
}

int main(int argc, char **argv)
{
	guest = argc > 1 ? argv[1] : NULL;
	struct hv_vm *vm;
	int r = hv_vm_create(&vm);
	have_kvm = r == 0;
	if (r == 0)
		hv_vm_destroy(vm);
	else
		printf("no /dev/kvm (hv_vm_create: %s): KVM tests are skipped\n", strerror(-r));
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boot_reset_exit0),
	    cmocka_unit_test(test_pause_resume),
	    cmocka_unit_test(test_bad_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
