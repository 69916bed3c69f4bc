// SPDX-License-Identifier: Apache-2.0
/* squib test guest: ACPI MADT parsing and AP bring-up (INIT-SIPI-SIPI), ring 0. */
#include "guest.h"

#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static int sum_ok(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < n; i++)
		s += p[i];
	return s == 0;
}

static uint64_t find_rsdp(void)
{
	if (boot.rsdp && !strncmp(phys(boot.rsdp), "RSD PTR ", 8))
		return boot.rsdp;
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!strncmp(phys(a), "RSD PTR ", 8) && sum_ok(phys(a), 20))
			return a;
	return 0;
}

static int madt_cpus(const uint8_t *madt, uint32_t *ids, int max)
{
	uint32_t len = *(const uint32_t *)(madt + 4);
	int n = 0;

	for (uint32_t off = 44; off + 2 <= len && madt[off + 1] >= 2; off += madt[off + 1]) {
		const uint8_t *e = madt + off;
		if (e[0] == 0 && (*(const uint32_t *)(e + 4) & 3) && n < max)
			ids[n++] = e[3]; /* processor local APIC: id, enabled/online-capable */
		else if (e[0] == 9 && (*(const uint32_t *)(e + 8) & 3) && n < max)
			ids[n++] = *(const uint32_t *)(e + 4); /* local x2APIC */
	}
	return n;
}

/* Collect enabled local APIC ids from the MADT; returns the count (0 if no ACPI/MADT). */
int acpi_find_cpus(uint32_t *ids, int max)
{
	uint64_t rsdp = find_rsdp();

	if (!rsdp)
		return 0;
	const uint8_t *r = phys(rsdp);
	int xsdt = r[15] >= 2 && *(const uint64_t *)(r + 24);
	const uint8_t *sdt = phys(xsdt ? *(const uint64_t *)(r + 24) : *(const uint32_t *)(r + 16));
	uint32_t len = *(const uint32_t *)(sdt + 4);
	uint32_t esz = xsdt ? 8 : 4;

	for (uint32_t off = 36; off + esz <= len; off += esz) {
		uint64_t a = xsdt ? *(const uint64_t *)(sdt + off) : *(const uint32_t *)(sdt + off);
		if (!strncmp(phys(a), "APIC", 4))
			return madt_cpus(phys(a), ids, max);
	}
	return 0;
}

/* Intel MP table fallback: "_MP_" floating pointer in the EBDA / BIOS areas. */
static int mptable_cpus(uint32_t *ids, int max)
{
	static const uint64_t ranges[][2] = {{0x9fc00, 0xa0000}, {0xe0000, 0x100000}};
	int n = 0;

	for (int r = 0; r < 2; r++)
		for (uint64_t a = ranges[r][0]; a < ranges[r][1]; a += 16) {
			const uint8_t *fp = phys(a);
			if (strncmp((const char *)fp, "_MP_", 4) || !sum_ok(fp, 16))
				continue;
			const uint8_t *ct = phys(*(const uint32_t *)(fp + 4));
			if (!*(const uint32_t *)(fp + 4) || strncmp((const char *)ct, "PCMP", 4))
				continue;
			const uint8_t *e = ct + 44, *end = ct + *(const uint16_t *)(ct + 4);
			while (e < end && n < max) {
				if (e[0] == 0 && (e[3] & 1))
					ids[n++] = e[1];
				e += e[0] == 0 ? 20 : 8;
			}
			return n;
		}
	return 0;
}

static void send_ipi(uint32_t apic, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, apic << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++)
		__builtin_ia32_pause();
}

/* Start every MADT CPU other than the BSP; boot.ncpus/apic_id list the CPUs that came up. */
void smp_boot(void)
{
	uint32_t ids[MAX_CPUS * 2];
	int n = acpi_find_cpus(ids, MAX_CPUS * 2);
	const char *src = "madt";
	uint8_t *tramp = phys(TRAMP_ADDR);
	uint64_t cr3, forced = cmdline_num(boot.cmdline, "cpus", 0);

	if (!n) {
		n = mptable_cpus(ids, MAX_CPUS * 2);
		src = n ? "mptable" : "none";
	}
	if (forced) { /* cpus=<n>: assume APIC ids 0..n-1 */
		n = forced < MAX_CPUS ? (int)forced : MAX_CPUS;
		for (int i = 0; i < n; i++)
			ids[i] = (uint32_t)i;
		src = "param";
	}
	kprintf("SMP-FOUND cpus=%d source=%s\n", n, src);
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	memcpy(tramp, tramp_start, (size_t)(tramp_end - tramp_start));
	*(uint64_t *)(tramp + (tramp_cr3 - tramp_start)) = cr3;
	for (int i = 0; i < n; i++) {
		if (ids[i] == boot.apic_id[0])
			continue;
		int cpu = boot.ncpus;
		if (cpu >= MAX_CPUS) {
			kprintf("SMP-WARN more than %d cpus, ignoring apic=%u\n", MAX_CPUS, ids[i]);
			break;
		}
		*(uint64_t *)(tramp + (tramp_stack - tramp_start)) = ap_stack_top(cpu);
		*(uint64_t *)(tramp + (tramp_cpu - tramp_start)) = (uint64_t)cpu;
		boot.apic_id[cpu] = ids[i];
		boot.ncpus = cpu + 1; /* before the AP looks itself up */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		send_ipi(ids[i], 0x4500); /* INIT, level assert */
		udelay(10000);
		for (int s = 0; s < 2 && !smp_done[cpu]; s++) {
			send_ipi(ids[i], 0x4600 | (TRAMP_ADDR >> 12)); /* STARTUP */
			udelay(200);
		}
		for (int w = 0; w < 5000 && !smp_done[cpu]; w++) /* up to 5 s (TCG is slow) */
			udelay(1000);
		if (!smp_done[cpu]) {
			kprintf("SMP-ERROR apic=%u did not start\n", ids[i]);
			boot.ncpus = cpu;
		}
	}
}
