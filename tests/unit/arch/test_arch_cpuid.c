/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for x86_64 CPUID normalisation and the boot MSR list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "arch_test_util.h"

#define CAP 64

static void vendor(struct hv_cpuid_entry *e, const char *v)
{
	memcpy(&e->ebx, v, 4);
	memcpy(&e->edx, v + 4, 4);
	memcpy(&e->ecx, v + 8, 4);
}

static void brand(struct hv_cpuid_entry *e, const char *s)
{
	char b[48] = {0};
	strncpy(b, s, 47);
	for (int l = 0; l < 3; l++) {
		e[l].function = 0x80000002u + (uint32_t)l;
		memcpy(&e[l].eax, b + 16 * l, 16);
	}
}

static void read_brand(const struct hv_cpuid_entry *e, uint32_t n, char *out)
{
	memset(out, 0, 49);
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function >= 0x80000002u && e[i].function <= 0x80000004u) {
			char *p = out + 16 * (e[i].function - 0x80000002u);
			memcpy(p, &e[i].eax, 4);
			memcpy(p + 4, &e[i].ebx, 4);
			memcpy(p + 8, &e[i].ecx, 4);
			memcpy(p + 12, &e[i].edx, 4);
		}
}

static const struct hv_cpuid_entry *leaf(const struct hv_cpuid_entry *e, uint32_t n, uint32_t fn,
					 uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

/* A host-like Intel table: leaves 0, 1, 4 (3 caches + null), 6, 7, 0xA, 0xB (3 subleaves),
 * 0x1F (one stale subleaf, only when with_1f), 0x80000006, brand. */
static uint32_t intel_table_ex(struct hv_cpuid_entry *e, bool with_1f)
{
	uint32_t n = 0;
	memset(e, 0, sizeof(*e) * CAP);
	e[n].eax = 0x1f;
	vendor(&e[n++], "GenuineIntel");
	e[n].function = 1;
	e[n].ebx = 0xff0a0801; /* host apic id 0xff, 10 logical, brand index 1 */
	e[n].ecx = (1u << 15) | 1u;
	e[n++].edx = 1u;
	for (uint32_t lvl = 1; lvl <= 3; lvl++) {
		e[n].function = 4;
		e[n].index = lvl - 1;
		e[n++].eax = (lvl << 5) | 1 | (0xfffu << 14) | (0x3fu << 26);
	}
	e[n].function = 4; /* null subleaf ends the list */
	e[n++].index = 3;
	e[n].function = 6;
	e[n].eax = 0x6;
	e[n++].ecx = 0x9;
	e[n].function = 7;
	e[n++].ecx = 1u << 5;
	e[n].function = 0xa;
	e[n++].eax = 0x07300403;
	for (uint32_t i = 0; i < 3; i++) {
		e[n].function = 0xb;
		e[n].index = i;
		e[n++].edx = 0xff;
	}
	if (with_1f) {
		e[n].function = 0x1f;
		e[n++].eax = 0xdead;
	}
	e[n].function = 0x80000000u;
	e[n++].eax = 0x80000008u;
	e[n].function = 0x80000006u;
	e[n++].edx = 0xffffffffu;
	brand(&e[n], "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz");
	return n + 3;
}

static uint32_t intel_table(struct hv_cpuid_entry *e)
{
	return intel_table_ex(e, true);
}

static void test_leaf1_single(void **state)
{
	struct hv_cpuid_entry e[CAP];
	uint32_t n = intel_table(e);
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 0, 1, false), 0);
	const struct hv_cpuid_entry *l1 = leaf(e, n, 1, 0);
	assert_int_equal(l1->ebx >> 24, 0);	     /* APIC id */
	assert_int_equal((l1->ebx >> 16) & 0xff, 1); /* logical count */
	assert_int_equal((l1->ebx >> 8) & 0xff, 8);  /* CLFLUSH */
	assert_int_equal(l1->ebx & 0xff, 1);	     /* brand index kept */
	assert_false(l1->edx & (1u << 28));	     /* no HTT */
	assert_true(l1->ecx & (1u << 31));	     /* hypervisor */
	assert_true(l1->ecx & (1u << 24));	     /* TSC deadline */
	assert_false(l1->ecx & (1u << 15));	     /* PDCM cleared */
	assert_true(l1->ecx & 1u);		     /* other bits kept */
}

static void test_leaf1_four(void **state)
{
	for (uint32_t id = 0; id < 4; id++) {
		struct hv_cpuid_entry e[CAP];
		uint32_t n = intel_table(e);
		assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, id, 4, false), 0);
		const struct hv_cpuid_entry *l1 = leaf(e, n, 1, 0);
		assert_int_equal(l1->ebx >> 24, id);
		assert_int_equal((l1->ebx >> 16) & 0xff, 4);
		assert_true(l1->edx & (1u << 28));
		const struct hv_cpuid_entry *b0 = leaf(e, n, 0xb, 0), *b1 = leaf(e, n, 0xb, 1);
		assert_int_equal(b0->edx, id);
		assert_int_equal(b0->eax, 0); /* no SMT */
		assert_int_equal(b0->ebx, 1);
		assert_int_equal(b0->ecx, 0x100);
		assert_int_equal(b1->eax, 5); /* log2(32): all vCPUs in one package */
		assert_int_equal(b1->ebx, 4);
		assert_int_equal(b1->ecx, 0x201);
		assert_int_equal(leaf(e, n, 0xb, 2)->ecx, 2); /* invalid level */
	}
	struct hv_cpuid_entry e[CAP];
	uint32_t n = intel_table(e);
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 2, 3, false), 0);
	assert_int_equal((leaf(e, n, 1, 0)->ebx >> 16) & 0xff, 4); /* next power of two */
}

static void test_intel_specifics(void **state)
{
	struct hv_cpuid_entry e[CAP];
	char b[49];
	uint32_t n = intel_table(e);
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 1, 4, true), 0);
	const struct hv_cpuid_entry *a = leaf(e, n, 0xa, 0);
	assert_int_equal(a->eax | a->ebx | a->ecx | a->edx, 0); /* PMU off */
	assert_int_equal(leaf(e, n, 6, 0)->eax & 2, 0);
	assert_int_equal(leaf(e, n, 6, 0)->ecx & 8, 0);
	assert_int_equal(leaf(e, n, 7, 0)->ebx & 0x2040, 0x2040);
	assert_int_equal(leaf(e, n, 7, 0)->ecx & 0x20, 0);
	/* SMT: two threads per core */
	assert_int_equal(leaf(e, n, 0xb, 0)->eax, 1);
	assert_int_equal(leaf(e, n, 0xb, 0)->ebx, 2);
	/* leaf 0x1F mirrors 0xB (the stale subleaf 0 is overwritten) */
	for (uint32_t i = 0; i < 3; i++) {
		const struct hv_cpuid_entry *f = leaf(e, n, 0x1f, i), *bb = leaf(e, n, 0xb, i);
		assert_non_null(f);
		assert_int_equal(f->eax, bb->eax);
		assert_int_equal(f->ebx, bb->ebx);
		assert_int_equal(f->ecx, bb->ecx);
		assert_int_equal(f->edx, 1);
	}
	assert_int_equal(leaf(e, n, 0x80000006u, 0)->edx, 0xfffcffffu); /* reserved bits clear */
	/* leaf 4 sharing: L1/L2 per core (2 threads), L3 all 4; 2 cores */
	assert_int_equal((leaf(e, n, 4, 0)->eax >> 14) & 0xfff, 1);
	assert_int_equal((leaf(e, n, 4, 2)->eax >> 14) & 0xfff, 3);
	assert_int_equal(leaf(e, n, 4, 2)->eax >> 26, 1);
	read_brand(e, n, b);
	assert_string_equal(b, "Intel(R) Xeon(R) Processor @ 3.20GHz");
}

static void test_topology_leaves_added(void **state)
{
	struct hv_cpuid_entry e[CAP];
	uint32_t n = intel_table_ex(e, false);
	/* drop 0xB subleaves 1 and 2 as newer KVM does */
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!(e[i].function == 0xb && e[i].index > 0))
			e[m++] = e[i];
	n = m;
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 1, 2, false), 0);
	const struct hv_cpuid_entry *b1 = leaf(e, n, 0xb, 1);
	assert_non_null(b1);
	assert_int_equal(b1->flags & HV_CPUID_SIGNIFICANT_INDEX, HV_CPUID_SIGNIFICANT_INDEX);
	assert_int_equal(b1->ebx, 2);
	assert_int_equal(b1->edx, 1);
	assert_null(leaf(e, n, 0x1f, 0)); /* host had no 0x1F: none invented */
	char b[49];
	/* a host brand string without a frequency gives the bare Xeon brand */
	struct hv_cpuid_entry *b2 = (struct hv_cpuid_entry *)leaf(e, n, 0x80000002u, 0);
	assert_non_null(b2);
	assert_int_equal(leaf(e, n, 0x80000004u, 0), b2 + 2); /* the three leaves are adjacent */
	brand(b2, "Some CPU without a clock");
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 0, 2, false), 0);
	read_brand(e, n, b);
	assert_string_equal(b, "Intel(R) Xeon(R) Processor");
}

static void test_intel_no_room(void **state)
{
	struct hv_cpuid_entry e[CAP];
	uint32_t n = intel_table(e);
	uint32_t cap = n; /* no room for the 0x1F copies */
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, cap, 0, 1, false), -ENOSPC);
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, cap, 1, 1, false), -EINVAL);
}

static void test_amd(void **state)
{
	struct hv_cpuid_entry e[CAP];
	char b[49];
	uint32_t n = 0;
	memset(e, 0, sizeof(e));
	e[n].eax = 0x10;
	vendor(&e[n++], "AuthenticAMD");
	e[n++].function = 1;
	e[n].function = 7;
	e[n++].edx = 0xffffffffu;
	e[n].function = 0x80000000u;
	e[n++].eax = 0x80000008u;
	e[n++].function = 0x80000001u;
	e[n++].function = 0x80000008u;
	e[n].function = 0x8000001du;
	e[n++].eax = (3u << 5) | 3u; /* L3 unified */
	e[n].function = 0x8000001du;
	e[n++].index = 1; /* null: end of the list */
	e[n++].function = 0x8000001eu;
	assert_int_equal(arch_x86_cpuid_normalize(e, &n, CAP, 3, 4, true), 0);
	assert_int_equal(leaf(e, n, 1, 0)->ebx >> 24, 3);
	assert_int_equal(leaf(e, n, 7, 0)->edx & (1u << 29), 0);
	assert_int_equal(leaf(e, n, 0x80000000u, 0)->eax, 0x8000001fu);
	assert_true(leaf(e, n, 0x80000001u, 0)->ecx & (1u << 22));
	assert_int_equal(leaf(e, n, 0x80000008u, 0)->ecx & 0xf0ff, 0x7003);
	const struct hv_cpuid_entry *t = leaf(e, n, 0x8000001eu, 0);
	assert_int_equal(t->eax, 3);
	assert_int_equal(t->ebx & 0xffff, 0x0101); /* core 1, two threads per core */
	assert_int_equal(t->ecx & 0x7ff, 0);
	for (uint32_t i = 0; i < n; i++) /* every cache level's sharing matches its level */
		if (e[i].function == 0x8000001du && (e[i].eax & 0x1f)) {
			uint32_t lvl = (e[i].eax >> 5) & 7, share = ((e[i].eax >> 14) & 0xfff) + 1;
			assert_int_equal(share, lvl == 3 ? 4 : lvl ? 2 : share);
		}
	read_brand(e, n, b); /* brand leaves were absent: added */
	assert_string_equal(b, "AMD EPYC");
}

static void test_boot_msrs(void **state)
{
	const uint32_t supported[] = {0x10, 0x1a0, 0x2ff, 0x174, 0xc0000082, 0x12345};
	struct hv_msr out[16];
	uint32_t n = arch_x86_boot_msrs(supported, ARRAY_SIZE(supported), out, 16);
	assert_int_equal(n, 5);
	bool seen_mtrr = false, seen_misc = false;
	for (uint32_t i = 0; i < n; i++) {
		if (out[i].index == 0x2ff) {
			assert_int_equal(out[i].data, 0x806);
			seen_mtrr = true;
		} else if (out[i].index == 0x1a0) {
			assert_int_equal(out[i].data, 1);
			seen_misc = true;
		} else {
			assert_int_equal(out[i].data, 0);
			assert_int_not_equal(out[i].index, 0x12345);
		}
	}
	assert_true(seen_mtrr && seen_misc);
	assert_int_equal(arch_x86_boot_msrs(supported, ARRAY_SIZE(supported), out, 2), 2);
	assert_int_equal(arch_x86_boot_msrs(NULL, 0, out, 16), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaf1_single),    cmocka_unit_test(test_leaf1_four),
	    cmocka_unit_test(test_intel_specifics), cmocka_unit_test(test_topology_leaves_added),
	    cmocka_unit_test(test_intel_no_room),   cmocka_unit_test(test_amd),
	    cmocka_unit_test(test_boot_msrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
