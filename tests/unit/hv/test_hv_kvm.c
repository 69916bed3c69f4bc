/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for hv/kvm: a flat 32-bit program exercising PIO/MMIO exits, kick, and the
 * vCPU / VM state blobs round-tripping. Skipped with a printed reason without /dev/kvm. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv/hv.h"

#define MEM_SIZE (2u << 20)
#define CODE_GPA 0x1000u

struct fx {
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	uint8_t *mem;
};

/* 32-bit flat protected-mode code (like a PVH entry): PIO out/in, then an MMIO write. */
static const uint8_t code[] = {
    0xb0, 0x42,				      /* mov al, 0x42 */
    0xe6, 0x10,				      /* out 0x10, al */
    0xe4, 0x11,				      /* in al, 0x11 */
    0xe6, 0x12,				      /* out 0x12, al  (echo what the "device" returned) */
    0xc6, 0x05, 0x00, 0x00, 0x30, 0x00, 0x7e, /* mov byte [0x300000], 0x7e: MMIO */
    0xeb, 0xfe,				      /* jmp $ (spin until kicked) */
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	int r = hv_vm_create(&f.vm);
	if (r == -ENODEV) {
		printf("SKIP: no /dev/kvm (hv_vm_create returned -ENODEV)\n");
		*state = NULL;
		return 0;
	}
	if (r < 0)
		return -1;
	f.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.mem == MAP_FAILED)
		return -1;
	memcpy(f.mem + CODE_GPA, code, sizeof(code));
	if (hv_vm_map(f.vm, 0, 0, MEM_SIZE, f.mem, 0) < 0 || hv_vm_create_irqchip(f.vm) < 0 ||
	    hv_vcpu_create(f.vm, 0, &f.vcpu) < 0)
		return -1;
	static struct hv_cpuid_entry e[256];
	uint32_t n = 256;
	if (hv_vm_supported_cpuid(f.vm, e, &n) < 0 || hv_vcpu_set_cpuid(f.vcpu, e, n) < 0 ||
	    hv_vcpu_init_lapic(f.vcpu) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	hv_vcpu_destroy(f->vcpu);
	hv_vm_destroy(f->vm);
	munmap(f->mem, MEM_SIZE);
	return 0;
}

#define SKIP_IF_NO_KVM()                                                                           \
	do {                                                                                       \
		if (!*state) {                                                                     \
			printf("SKIP: no /dev/kvm\n");                                             \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static atomic_bool run_done;

static void *watchdog(void *arg)
{
	for (int i = 0; i < 2000 && !atomic_load(&run_done); i++)
		usleep(10000);
	if (!atomic_load(&run_done))
		hv_vcpu_kick(arg);
	return NULL;
}

/* hv_vcpu_run with a 20 s watchdog; reports where the guest was if it had to be kicked. */
static void run_checked(struct fx *f, struct hv_exit *x)
{
	pthread_t t;
	atomic_store(&run_done, false);
	pthread_create(&t, NULL, watchdog, f->vcpu);
	int r = hv_vcpu_run(f->vcpu, x);
	atomic_store(&run_done, true);
	pthread_join(t, NULL);
	assert_int_equal(r, 0);
	if (x->kind == HV_EXIT_CANCELLED) {
		struct hv_x86_regs g;
		hv_vcpu_get_regs(f->vcpu, &g);
		printf("guest stuck: rip %#llx rflags %#llx\n", (unsigned long long)g.rip,
		       (unsigned long long)g.rflags);
	}
}

static void flat32_start(struct fx *f)
{
	struct hv_x86_sregs s;
	assert_int_equal(hv_vcpu_get_sregs(f->vcpu, &s), 0);
	struct hv_x86_seg code_seg = {.base = 0,
				      .limit = 0xffffffff,
				      .selector = 0x8,
				      .type = 0xb,
				      .present = 1,
				      .dpl = 0,
				      .db = 1,
				      .s = 1,
				      .l = 0,
				      .g = 1};
	struct hv_x86_seg data_seg = code_seg;
	data_seg.type = 0x3;
	data_seg.selector = 0x10;
	s.cs = code_seg;
	s.ds = s.es = s.fs = s.gs = s.ss = data_seg;
	s.cr0 = 0x11; /* PE | ET */
	s.cr4 = 0;
	s.efer = 0;
	assert_int_equal(hv_vcpu_set_sregs(f->vcpu, &s), 0);
	struct hv_x86_regs r;
	memset(&r, 0, sizeof(r));
	r.rip = CODE_GPA;
	r.rflags = 0x2;
	assert_int_equal(hv_vcpu_set_regs(f->vcpu, &r), 0);
}

static void test_caps(void **state)
{
	SKIP_IF_NO_KVM();
	struct fx *f = *state;
	const struct hv_caps *c = hv_vm_caps(f->vm);
	assert_true(c->irqfd);
	assert_true(c->ioeventfd);
	assert_true(c->max_vcpus >= 1);
	struct hv_cpuid_entry e[256];
	uint32_t n = 256;
	assert_int_equal(hv_vm_supported_cpuid(f->vm, e, &n), 0);
	assert_true(n > 4);
	assert_int_equal(e[0].function, 0);
	uint32_t idx[1024], m = 1024;
	assert_int_equal(hv_vm_msr_index_list(f->vm, idx, &m), 0);
	assert_true(m > 10);
	uint32_t small = 1;
	assert_int_equal(hv_vm_msr_index_list(f->vm, idx, &small), -ENOSPC);
}

static void test_exits(void **state)
{
	SKIP_IF_NO_KVM();
	struct fx *f = *state;
	flat32_start(f);
	struct hv_exit x;
	run_checked(f, &x);
	assert_int_equal(x.kind, HV_EXIT_PIO);
	assert_int_equal(x.u.pio.port, 0x10);
	assert_true(x.u.pio.write);
	assert_int_equal(x.u.pio.size, 1);
	assert_int_equal(x.u.pio.data[0], 0x42);
	run_checked(f, &x);
	assert_int_equal(x.kind, HV_EXIT_PIO);
	assert_int_equal(x.u.pio.port, 0x11);
	assert_false(x.u.pio.write);
	x.u.pio.data[0] = 0x99; /* the "device" answers */
	run_checked(f, &x);
	assert_int_equal(x.kind, HV_EXIT_PIO);
	assert_int_equal(x.u.pio.port, 0x12);
	assert_int_equal(x.u.pio.data[0], 0x99);
	run_checked(f, &x);
	assert_int_equal(x.kind, HV_EXIT_MMIO);
	assert_int_equal(x.u.mmio.addr, 0x300000); /* beyond the 2 MiB of RAM */
	assert_true(x.u.mmio.write);
	assert_int_equal(x.u.mmio.len, 1);
	assert_int_equal(x.u.mmio.data[0], 0x7e);
}

/* Writes RAM page 5, does an MMIO write covered by an ioeventfd, then a PIO exit. */
static const uint8_t code_dirty[] = {
    0xc6, 0x05, 0x00, 0x50, 0x00, 0x00, 0x01, /* mov byte [0x5000], 1 */
    0xc6, 0x05, 0x00, 0x00, 0x30, 0x00, 0x7e, /* mov byte [0x300000], 0x7e: ioeventfd */
    0xe6, 0x10,				      /* out 0x10, al */
    0xeb, 0xfe,				      /* jmp $ */
};

static void test_dirty_log_and_ioeventfd(void **state)
{
	SKIP_IF_NO_KVM();
	struct fx *f = *state;
	memcpy(f->mem + CODE_GPA, code_dirty, sizeof(code_dirty));
	/* Turn dirty logging on for the existing slot (flags-only change). */
	assert_int_equal(hv_vm_map(f->vm, 0, 0, MEM_SIZE, f->mem, HV_MAP_DIRTY_LOG), 0);
	uint64_t bm[MEM_SIZE / 4096 / 64];
	assert_int_equal(hv_vm_dirty_log(f->vm, 0, MEM_SIZE / 4096, bm), 0); /* clear */
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(hv_vm_ioeventfd(f->vm, efd, 0x300000, 1, -1, true), 0);
	flat32_start(f);
	struct hv_exit x;
	run_checked(f, &x);
	assert_int_equal(x.kind, HV_EXIT_PIO); /* the MMIO write did not exit */
	assert_int_equal(x.u.pio.port, 0x10);
	uint64_t n = 0;
	assert_int_equal(read(efd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(hv_vm_dirty_log(f->vm, 0, MEM_SIZE / 4096, bm), 0);
	assert_true(bm[0] & (1ull << 5));     /* page 0x5000 written by the guest */
	assert_false(bm[0] & (1ull << 0x10)); /* an untouched page */
	assert_int_equal(f->mem[0x5000], 1);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(hv_vm_dirty_log(f->vm, 0, MEM_SIZE / 4096, bm), 0);
	assert_false(bm[0] & (1ull << 5)); /* fetching cleared it */
	assert_int_equal(hv_vm_ioeventfd(f->vm, efd, 0x300000, 1, -1, false), 0);
	close(efd);
}

/* Jumps into MMIO space: KVM cannot fetch the instruction and reports an internal error. */
static const uint8_t code_fetch_mmio[] = {
    0xb8, 0x00, 0x00, 0x30, 0x00, /* mov eax, 0x300000 */
    0xff, 0xe0,			  /* jmp eax */
};

static void test_internal_error(void **state)
{
	SKIP_IF_NO_KVM();
	struct fx *f = *state;
	memcpy(f->mem + CODE_GPA, code_fetch_mmio, sizeof(code_fetch_mmio));
	flat32_start(f);
	struct hv_exit x;
	run_checked(f, &x);
	printf("fetch from MMIO: exit kind %d suberror %u rip %#llx insn_len %u\n", x.kind,
	       x.u.err.suberror, (unsigned long long)x.u.err.rip, x.u.err.insn_len);
	assert_int_equal(x.kind, HV_EXIT_INTERNAL_ERROR);
	assert_int_equal(x.u.err.suberror, 1); /* KVM_INTERNAL_ERROR_EMULATION */
	assert_int_equal(x.u.err.rip, 0x300000);
}

static void *kicker(void *arg)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	hv_vcpu_kick(arg);
	return NULL;
}

static void test_kick_and_state(void **state)
{
	SKIP_IF_NO_KVM();
	struct fx *f = *state;
	flat32_start(f);
	struct hv_x86_regs r;
	assert_int_equal(hv_vcpu_get_regs(f->vcpu, &r), 0);
	r.rip = CODE_GPA + sizeof(code) - 2; /* straight to the spin loop */
	r.rbx = 0x1122334455667788ULL;
	assert_int_equal(hv_vcpu_set_regs(f->vcpu, &r), 0);
	pthread_t t;
	pthread_create(&t, NULL, kicker, f->vcpu);
	struct hv_exit x;
	assert_int_equal(hv_vcpu_run(f->vcpu, &x), 0);
	pthread_join(t, NULL);
	assert_int_equal(x.kind, HV_EXIT_CANCELLED);

	size_t cap = 1 << 20, len = cap, len2 = cap;
	uint8_t *a = malloc(cap), *b = malloc(cap);
	assert_int_equal(hv_vcpu_state_save(f->vcpu, a, &len), 0);
	assert_true(len > 4096);
	size_t tiny = 16;
	assert_int_equal(hv_vcpu_state_save(f->vcpu, b, &tiny), -ENOSPC);
	r.rbx = 0;
	assert_int_equal(hv_vcpu_set_regs(f->vcpu, &r), 0);
	assert_int_equal(hv_vcpu_state_restore(f->vcpu, a, len), 0);
	assert_int_equal(hv_vcpu_get_regs(f->vcpu, &r), 0);
	assert_int_equal(r.rbx, 0x1122334455667788ULL);
	assert_int_equal(r.rip, CODE_GPA + sizeof(code) - 2);
	assert_int_equal(hv_vcpu_state_save(f->vcpu, b, &len2), 0);
	assert_int_equal(len, len2);
	assert_int_equal(hv_vcpu_state_restore(f->vcpu, a, len - 1), -EINVAL);
	a[0] ^= 1;
	assert_int_equal(hv_vcpu_state_restore(f->vcpu, a, len), -EINVAL);

	len = cap;
	assert_int_equal(hv_vm_state_save(f->vm, a, &len), 0);
	assert_int_equal(hv_vm_state_restore(f->vm, a, len), 0);
	len2 = cap;
	assert_int_equal(hv_vm_state_save(f->vm, b, &len2), 0);
	assert_int_equal(len, len2);
	assert_int_equal(hv_vm_state_restore(f->vm, a, len - 3), -EINVAL);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kick_and_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dirty_log_and_ioeventfd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_internal_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
