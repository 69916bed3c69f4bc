/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the x86_64 ACPI tables (RSDP, XSDT, FADT, MADT, DSDT AML) and MP table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "arch_test_util.h"

#define MIB (1ULL << 20)

static const struct arch_mmio_dev devs[] = {
    {0xc0001000, 0x1000, 5},
    {0xc0002000, 0x1000, 6},
    {0xc0003000, 0x1000, 17},
};

static void boot(struct gmem *m, uint32_t vcpus, const struct arch_mmio_dev *d, uint32_t n)
{
	struct t_elf t;
	struct arch_x86_boot b;
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t_gmem(m, 128 * MIB);
	assert_int_equal(t_build(m, t.buf, t.len, -1, "", vcpus, d, n, &b), 0);
}

/* Validate a table at gpa: signature, length sane, inside SYSTEM_MEM, bytes sum to zero. */
static const uint8_t *table(struct gmem *m, uint64_t gpa, const char *sig)
{
	assert_true(gpa >= 0x9fc00 && gpa < 0xe0000);
	const uint8_t *h = t_ptr(m, gpa, 36);
	assert_memory_equal(h, sig, 4);
	uint32_t len = ax_get32(h + 4);
	assert_true(len >= 36 && gpa + len <= 0xe0000);
	assert_int_equal(t_sum(t_ptr(m, gpa, len), len), 0);
	return h;
}

static const uint8_t *xsdt_entry(struct gmem *m, const char *sig)
{
	const uint8_t *rsdp = t_ptr(m, 0xe0000, 36);
	const uint8_t *x = table(m, ax_get64(rsdp + 24), "XSDT");
	uint32_t n = (ax_get32(x + 4) - 36) / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = ax_get64(x + 36 + 8 * i);
		if (memcmp(t_ptr(m, a, 4), sig, 4) == 0)
			return table(m, a, sig);
	}
	fail_msg("table %s not in XSDT", sig);
	return NULL;
}

static void test_rsdp_chain(void **state)
{
	struct gmem m;
	boot(&m, 2, devs, 3);
	const uint8_t *rsdp = t_ptr(&m, 0xe0000, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(ax_get32(rsdp + 20), 36);
	assert_int_equal(t_sum(rsdp, 20), 0);
	assert_int_equal(t_sum(rsdp, 36), 0);
	const uint8_t *x = table(&m, ax_get64(rsdp + 24), "XSDT");
	assert_int_equal(ax_get32(x + 4), 36 + 16); /* FADT + MADT */
	const uint8_t *fadt = xsdt_entry(&m, "FACP");
	assert_int_equal(ax_get32(fadt + 4), 276);
	assert_true(ax_get32(fadt + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_int_equal(ax_get16(fadt + 109), 0x1c);	/* no VGA, no MSI, no ASPM control */
	table(&m, ax_get64(fadt + 140), "DSDT");
	xsdt_entry(&m, "APIC");
	/* the zero page points at the RSDP */
	assert_int_equal(ax_get64(t_ptr(&m, 0x7070, 8)), 0xe0000);
	gmem_free(&m);
}

static void check_madt(uint32_t vcpus)
{
	struct gmem m;
	boot(&m, vcpus, NULL, 0);
	const uint8_t *t = xsdt_entry(&m, "APIC");
	uint32_t len = ax_get32(t + 4), lapics = 0, ioapics = 0;
	assert_int_equal(ax_get32(t + 36), 0xfee00000);
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = t + off;
		assert_true(e[1] >= 2 && off + e[1] <= len);
		if (e[0] == 0) {
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics); /* processor uid */
			assert_int_equal(e[3], lapics); /* APIC id = vCPU index */
			assert_int_equal(ax_get32(e + 4), 1);
			lapics++;
		} else if (e[0] == 1) {
			assert_int_equal(e[2], 0);
			assert_int_equal(ax_get32(e + 4), 0xfec00000);
			assert_int_equal(ax_get32(e + 8), 0);
			ioapics++;
		}
		off += e[1];
	}
	assert_int_equal(lapics, vcpus);
	assert_int_equal(ioapics, 1);
	gmem_free(&m);
}

static void test_madt(void **state)
{
	check_madt(1);
	check_madt(4);
	check_madt(32);
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

/* Decode an AML PkgLength at p; returns the value and sets *n to its byte count. */
static uint32_t pkglen(const uint8_t *p, unsigned *n)
{
	unsigned extra = p[0] >> 6;
	uint32_t v = extra ? (p[0] & 0xfu) : (p[0] & 0x3fu);
	for (unsigned i = 0; i < extra; i++)
		v |= (uint32_t)p[1 + i] << (4 + 8 * i);
	*n = extra + 1;
	return v;
}

static void test_dsdt_devices(void **state)
{
	struct gmem m;
	boot(&m, 1, devs, 3);
	const uint8_t *t = xsdt_entry(&m, "FACP");
	const uint8_t *d = table(&m, ax_get64(t + 140), "DSDT");
	uint32_t len = ax_get32(d + 4);
	const uint8_t *aml = d + 36;
	size_t alen = len - 36;
	/* one Scope (\_SB_) whose PkgLength covers the whole body */
	unsigned n;
	assert_int_equal(aml[0], 0x10);
	assert_int_equal(pkglen(aml + 1, &n), alen - 1);
	assert_memory_equal(aml + 1 + n, "\\_SB_", 5);
	/* walk the devices inside the scope: each Device's PkgLength must chain exactly */
	size_t off = 1 + n + 5, devices = 0;
	while (off < alen) {
		assert_int_equal(aml[off], 0x5b);
		assert_int_equal(aml[off + 1], 0x82);
		off += 2 + pkglen(aml + off + 2, &n);
		devices++;
	}
	assert_int_equal(off, alen);
	assert_int_equal(devices, 2 + 3); /* COM1, PS2_, three virtio */
	for (unsigned i = 0; i < 3; i++) {
		char name[5];
		snprintf(name, sizeof(name), "V%03u", i);
		const uint8_t *dev = find(aml, alen, name, 4);
		assert_non_null(dev);
		size_t rest = alen - (size_t)(dev - aml);
		assert_non_null(find(dev, rest, "\x08_HID\x0dLNRO0005", 14));
		uint8_t mem[12] = {0x86, 0x09, 0x00, 0x01};
		ax_put32(mem + 4, (uint32_t)devs[i].base);
		ax_put32(mem + 8, (uint32_t)devs[i].len);
		const uint8_t *r = find(dev, rest, mem, sizeof(mem));
		assert_non_null(r);
		/* Extended Interrupt right after: consumer, edge, active-high, exclusive */
		uint8_t irq[9] = {0x89, 0x06, 0x00, 0x03, 0x01};
		ax_put32(irq + 5, devs[i].irq);
		assert_memory_equal(r + 12, irq, 9);
		assert_memory_equal(r + 21, "\x79\x00", 2);
	}
	size_t hids = 0;
	for (const uint8_t *p = aml; (p = find(p, alen - (size_t)(p - aml), "LNRO0005", 8)); p++)
		hids++;
	assert_int_equal(hids, 3);
	/* COM1: EisaId(PNP0501), IO 0x3f8 len 8, IRQ 4 */
	const uint8_t *com = find(aml, alen, "COM1", 4);
	assert_non_null(com);
	assert_non_null(find(com, 64, "\x0c\x41\xd0\x05\x01", 5));
	assert_non_null(find(com, 64, "\x47\x01\xf8\x03\xf8\x03\x01\x08", 8));
	assert_non_null(find(com, 64, "\x89\x06\x00\x03\x01\x04\x00\x00\x00", 9));
	gmem_free(&m);
}

static void test_dsdt_many_devices(void **state)
{
	/* 19 devices (IRQs 5..23) fit; a bigger table needs 2-byte PkgLengths and still chains */
	struct arch_mmio_dev many[19];
	for (unsigned i = 0; i < 19; i++)
		many[i] = (struct arch_mmio_dev){0xc0001000 + 0x1000ULL * i, 0x1000, 5 + i};
	struct gmem m;
	boot(&m, 4, many, 19);
	const uint8_t *d = table(&m, ax_get64(xsdt_entry(&m, "FACP") + 140), "DSDT");
	unsigned n;
	assert_int_equal(pkglen(d + 37, &n), ax_get32(d + 4) - 37);
	assert_true(n >= 2);
	gmem_free(&m);
}

static void test_acpi_rejects_bad_devices(void **state)
{
	struct t_elf t;
	struct gmem m;
	struct arch_x86_boot b;
	t_elf_build(&t, T_KERNEL_PADDR, false, 0);
	t_gmem(&m, 128 * MIB);
	struct arch_mmio_dev high = {0x100000000ULL, 0x1000, 5};
	assert_true(t_build(&m, t.buf, t.len, -1, "", 1, &high, 1, &b) < 0);
	static struct arch_mmio_dev lots[400];
	for (unsigned i = 0; i < 400; i++)
		lots[i] = (struct arch_mmio_dev){0xc0001000 + 0x1000ULL * i, 0x1000, 5};
	assert_int_equal(t_build(&m, t.buf, t.len, -1, "", 1, lots, 400, &b), -E2BIG);
	gmem_free(&m);
}

static void test_mptable(void **state)
{
	struct gmem m;
	boot(&m, 4, NULL, 0);
	const uint8_t *fp = t_ptr(&m, 0x9fc00, 16);
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(t_sum(fp, 16), 0);
	uint32_t phys = ax_get32(fp + 4);
	const uint8_t *h = t_ptr(&m, phys, 44);
	assert_memory_equal(h, "PCMP", 4);
	uint16_t len = ax_get16(h + 4);
	assert_int_equal(t_sum(t_ptr(&m, phys, len), len), 0);
	assert_true(phys + len <= 0xa0000); /* below the ACPI tables */
	assert_int_equal(ax_get32(h + 36), 0xfee00000);
	unsigned cpus = 0, entries = ax_get16(h + 34), ints = 0;
	const uint8_t *p = h + 44;
	for (unsigned i = 0; i < entries; i++) {
		if (p[0] == 0) {
			assert_int_equal(p[1], cpus);
			assert_int_equal(p[3] & 2, cpus == 0 ? 2 : 0); /* BSP flag */
			cpus++;
			p += 20;
		} else {
			ints += p[0] == 3;
			p += 8;
		}
	}
	assert_int_equal(cpus, 4);
	assert_int_equal(ints, 24);
	assert_int_equal(p - h, len);
	gmem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp_chain),
	    cmocka_unit_test(test_madt),
	    cmocka_unit_test(test_dsdt_devices),
	    cmocka_unit_test(test_dsdt_many_devices),
	    cmocka_unit_test(test_acpi_rejects_bad_devices),
	    cmocka_unit_test(test_mptable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
