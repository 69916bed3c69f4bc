// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 CPUID normalisation per vCPU (topology, APIC ids, PMU, brand string). */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <stdio.h>
#include <string.h>

#define LEAF1_ECX_PDCM (1u << 15)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT (1u << 28)
#define BRAND_LEAF 0x80000002u
#define BRAND_LEN 48
#define CPUID_PKG_SHIFT 5 /* log2(32), the vCPU maximum */

enum cpuid_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

struct cpuid_ctx {
	struct hv_cpuid_entry *e;
	uint32_t *n, cap;
	uint32_t id, count;
	uint32_t cpu_bits; /* log2 threads per core */
};

static struct hv_cpuid_entry *cpuid_find(const struct cpuid_ctx *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < *c->n; i++)
		if (c->e[i].function == fn && c->e[i].index == idx)
			return &c->e[i];
	return NULL;
}

static struct hv_cpuid_entry *cpuid_get_or_add(struct cpuid_ctx *c, uint32_t fn, uint32_t idx)
{
	struct hv_cpuid_entry *x = cpuid_find(c, fn, idx);
	if (x)
		return x;
	if (*c->n >= c->cap)
		return NULL;
	x = &c->e[(*c->n)++];
	memset(x, 0, sizeof(*x));
	x->function = fn;
	x->index = idx;
	return x;
}

static enum cpuid_vendor cpuid_vendor(const struct cpuid_ctx *c)
{
	const struct hv_cpuid_entry *l0 = cpuid_find(c, 0, 0);
	char v[13];
	if (!l0)
		return VENDOR_OTHER;
	memcpy(v, &l0->ebx, 4);
	memcpy(v + 4, &l0->edx, 4);
	memcpy(v + 8, &l0->ecx, 4);
	v[12] = 0;
	if (!strcmp(v, "GenuineIntel"))
		return VENDOR_INTEL;
	if (!strcmp(v, "AuthenticAMD"))
		return VENDOR_AMD;
	return VENDOR_OTHER;
}

static uint32_t ceil_log2(uint32_t v)
{
	uint32_t b = 0;
	while ((1u << b) < v)
		b++;
	return b;
}

static void cpuid_leaf1(struct cpuid_ctx *c)
{
	struct hv_cpuid_entry *x = cpuid_find(c, 1, 0);
	if (!x)
		return;
	uint32_t logical = 1u << ceil_log2(c->count);
	x->ebx = (x->ebx & 0xffu) | (8u << 8) | ((logical & 0xffu) << 16) | (c->id << 24);
	x->ecx = (x->ecx & ~LEAF1_ECX_PDCM) | LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_HYPERVISOR;
	x->edx = c->count > 1 ? x->edx | LEAF1_EDX_HTT : x->edx & ~LEAF1_EDX_HTT;
}

/* Leaf 0xB extended topology: SMT level, then a core level whose shift (log2 of the 32-vCPU
 * maximum) puts every vCPU in one package. Subleaf 1 is added when KVM omits it. */
static int cpuid_topology(struct cpuid_ctx *c)
{
	if (!cpuid_find(c, 0xb, 1) && !cpuid_get_or_add(c, 0xb, 1))
		return -ENOSPC;
	for (uint32_t i = 0; i < *c->n; i++) {
		struct hv_cpuid_entry *x = &c->e[i];
		if (x->function != 0xb)
			continue;
		x->flags |= HV_CPUID_SIGNIFICANT_INDEX;
		x->edx = c->id;
		if (x->index == 0) {
			x->eax = c->cpu_bits;
			x->ebx = 1u << c->cpu_bits;
			x->ecx = 1u << 8;
		} else if (x->index == 1) {
			x->eax = CPUID_PKG_SHIFT;
			x->ebx = c->count;
			x->ecx = (2u << 8) | 1;
		} else {
			x->eax = x->ebx = 0;
			x->ecx = x->index & 0xff;
		}
	}
	return 0;
}

/* Leaf 4 (Intel) / 0x8000001D (AMD): how many logical CPUs share each cache level (L1/L2 per
 * core, L3 per package); Intel also gets the cores-per-package field. */
static void cpuid_cache_sharing(struct cpuid_ctx *c, uint32_t fn, bool cores_field)
{
	uint32_t threads = 1u << c->cpu_bits;
	uint32_t cores = c->count / threads ? c->count / threads : 1;
	for (uint32_t idx = 0;; idx++) {
		struct hv_cpuid_entry *x = cpuid_find(c, fn, idx);
		if (!x || (x->eax | x->ebx | x->ecx | x->edx) == 0)
			return;
		uint32_t level = (x->eax >> 5) & 7;
		if (level == 1 || level == 2 || level == 3) {
			uint32_t share = level == 3 ? c->count : threads;
			x->eax = (x->eax & ~(0xfffu << 14)) | (((share - 1) & 0xfff) << 14);
		}
		if (cores_field)
			x->eax = (x->eax & 0x03ffffffu) | (((cores - 1) & 0x3f) << 26);
	}
}

static int cpuid_brand(struct cpuid_ctx *c, const char *brand)
{
	char b[BRAND_LEN];
	memset(b, 0, sizeof(b));
	strncpy(b, brand, BRAND_LEN - 1);
	for (uint32_t l = 0; l < 3; l++) {
		struct hv_cpuid_entry *x = cpuid_get_or_add(c, BRAND_LEAF + l, 0);
		if (!x)
			return -ENOSPC;
		memcpy(&x->eax, b + 16 * l, 4);
		memcpy(&x->ebx, b + 16 * l + 4, 4);
		memcpy(&x->ecx, b + 16 * l + 8, 4);
		memcpy(&x->edx, b + 16 * l + 12, 4);
	}
	struct hv_cpuid_entry *x80 = cpuid_find(c, 0x80000000u, 0);
	if (x80 && x80->eax < BRAND_LEAF + 2)
		x80->eax = BRAND_LEAF + 2;
	return 0;
}

/* " @ 3.00GHz" from the current brand string (number before [TGM]Hz, after a space), or "". */
static void cpuid_host_freq(const struct cpuid_ctx *c, char *out, size_t len)
{
	char b[BRAND_LEN + 1];
	memset(b, 0, sizeof(b));
	out[0] = 0;
	for (uint32_t l = 0; l < 3; l++) {
		const struct hv_cpuid_entry *x = cpuid_find(c, BRAND_LEAF + l, 0);
		if (!x)
			return;
		memcpy(b + 16 * l, &x->eax, 4);
		memcpy(b + 16 * l + 4, &x->ebx, 4);
		memcpy(b + 16 * l + 8, &x->ecx, 4);
		memcpy(b + 16 * l + 12, &x->edx, 4);
	}
	for (size_t i = 1; i + 3 <= BRAND_LEN; i++) {
		if (!strchr("TGM", b[i]) || b[i] == 0 || b[i + 1] != 'H' || b[i + 2] != 'z')
			continue;
		size_t start = i;
		while (start > 0 &&
		       (b[start - 1] == '.' || (b[start - 1] >= '0' && b[start - 1] <= '9')))
			start--;
		if (start == i || start == 0 || b[start - 1] != ' ')
			return;
		snprintf(out, len, " @ %.*s", (int)(i + 3 - start), b + start);
		return;
	}
}

/* Leaf 0x1F mirrors leaf 0xB when the host exposes 0x1F at all. */
static int cpuid_leaf_1f(struct cpuid_ctx *c)
{
	bool have_1f = false;
	for (uint32_t i = 0; i < *c->n; i++)
		have_1f |= c->e[i].function == 0x1f;
	if (!have_1f)
		return 0;
	for (uint32_t idx = 0;; idx++) {
		const struct hv_cpuid_entry *b = cpuid_find(c, 0xb, idx);
		if (!b)
			return 0;
		struct hv_cpuid_entry copy = *b, *x = cpuid_get_or_add(c, 0x1f, idx);
		if (!x)
			return -ENOSPC;
		*x = copy;
		x->function = 0x1f;
	}
}

static int cpuid_intel(struct cpuid_ctx *c)
{
	struct hv_cpuid_entry *x;
	char brand[BRAND_LEN], freq[24];
	cpuid_cache_sharing(c, 4, true);
	if ((x = cpuid_find(c, 6, 0))) {
		x->eax &= ~(1u << 1); /* turbo */
		x->ecx &= ~(1u << 3); /* energy-performance bias */
	}
	if ((x = cpuid_find(c, 7, 0))) {
		x->ebx |= (1u << 6) | (1u << 13); /* FDP_EXCPTN_ONLY, FPU CS/DS deprecated */
		x->ecx &= ~(1u << 5);		  /* WAITPKG */
	}
	if ((x = cpuid_find(c, 0xa, 0)))
		x->eax = x->ebx = x->ecx = x->edx = 0; /* no PMU */
	int rc = cpuid_leaf_1f(c);
	if (rc)
		return rc;
	cpuid_host_freq(c, freq, sizeof(freq));
	snprintf(brand, sizeof(brand), "Intel(R) Xeon(R) Processor%.20s", freq);
	return cpuid_brand(c, brand);
}

/* Copy host CPUID leaf fn (all subleaves until a null cache type when multi) on an AMD host. */
static int cpuid_amd_host_passthrough(struct cpuid_ctx *c)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, cx, d;
	__cpuid(0, a, b, cx, d);
	if (b != 0x68747541u || d != 0x69746e65u || cx != 0x444d4163u) /* "AuthenticAMD" */
		return 0;
	__cpuid(0x80000000u, a, b, cx, d);
	if (a < 0x8000001eu)
		return 0;
	struct hv_cpuid_entry *x = cpuid_get_or_add(c, 0x8000001eu, 0);
	if (!x)
		return -ENOSPC;
	__cpuid(0x8000001eu, x->eax, x->ebx, x->ecx, x->edx);
	for (uint32_t idx = 0; idx < 16; idx++) {
		__cpuid_count(0x8000001du, idx, a, b, cx, d);
		if ((a & 0xf) == 0)
			break;
		if (!(x = cpuid_get_or_add(c, 0x8000001du, idx)))
			return -ENOSPC;
		*x = (struct hv_cpuid_entry){0x8000001du, idx, HV_CPUID_SIGNIFICANT_INDEX, a, b,
					     cx,	  d};
	}
#endif
	return 0;
}

static int cpuid_amd(struct cpuid_ctx *c)
{
	struct hv_cpuid_entry *x;
	uint32_t threads = 1u << c->cpu_bits;
	int rc = cpuid_amd_host_passthrough(c);
	if (rc)
		return rc;
	if ((x = cpuid_find(c, 7, 0)))
		x->edx &= ~(1u << 29); /* no IA32_ARCH_CAPABILITIES on AMD */
	if ((x = cpuid_find(c, 0x80000000u, 0)))
		x->eax = 0x8000001fu;
	if ((x = cpuid_find(c, 0x80000001u, 0)))
		x->ecx |= 1u << 22; /* topology extensions */
	if ((x = cpuid_find(c, 0x80000008u, 0)))
		x->ecx = (x->ecx & ~0xf0ffu) | (7u << 12) | ((c->count - 1) & 0xff);
	cpuid_cache_sharing(c, 0x8000001du, false);
	if ((x = cpuid_get_or_add(c, 0x8000001eu, 0))) {
		x->eax = c->id;
		x->ebx = (x->ebx & ~0xffffu) | ((c->id / threads) & 0xff) | ((threads - 1) << 8);
		x->ecx &= ~0x7ffu; /* node 0, one node per processor */
	}
	return cpuid_brand(c, "AMD EPYC");
}

int arch_x86_cpuid_normalize(struct hv_cpuid_entry *e, uint32_t *n, uint32_t cap, uint32_t id,
			     uint32_t count, bool smt)
{
	if (!e || !n || *n > cap || count == 0 || count > 32 || id >= count)
		return -EINVAL;
	struct cpuid_ctx c = {.e = e, .n = n, .cap = cap, .id = id, .count = count};
	c.cpu_bits = smt && count > 1 ? 1 : 0;
	enum cpuid_vendor v = cpuid_vendor(&c);
	struct hv_cpuid_entry *x = cpuid_find(&c, 0x80000006u, 0);
	if (x)
		x->edx &= ~0x00030000u; /* reserved bits */
	cpuid_leaf1(&c);
	int rc = cpuid_topology(&c);
	if (rc)
		return rc;
	if (v == VENDOR_INTEL)
		return cpuid_intel(&c);
	if (v == VENDOR_AMD)
		return cpuid_amd(&c);
	return 0;
}
