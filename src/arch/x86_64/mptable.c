// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 MP table (Intel MultiProcessor spec 1.4) for kernels that still parse it. */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <string.h>

#define MP_APIC_VERSION 0x14
#define MP_CPU_STEPPING 0x600
#define MP_CPU_FEATURES 0x201 /* APIC | FPU */
#define MP_MAX_CPUS 32
#define MP_IRQS 24
#define MP_MAX_SIZE (16 + 44 + 20 * MP_MAX_CPUS + 8 + 8 + 8 * MP_IRQS + 16)

static uint8_t *mp_entry(uint8_t *p, uint8_t type, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
			 uint8_t e, uint8_t f)
{
	uint8_t v[8] = {type, a, b, c, d, e, f, 0};
	memcpy(p, v, 8);
	return p + 8;
}

int ax_mptable_write(struct gmem *m, uint32_t vcpus)
{
	uint8_t buf[MP_MAX_SIZE];
	if (vcpus == 0 || vcpus > MP_MAX_CPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	uint8_t *fp = buf, *hdr = buf + 16, *p = hdr + 44;
	uint8_t ioapic_id = (uint8_t)(vcpus + 1);
	for (uint32_t i = 0; i < vcpus; i++) {
		p[0] = 0; /* processor */
		p[1] = (uint8_t)i;
		p[2] = MP_APIC_VERSION;
		p[3] = (uint8_t)(1 | (i == 0 ? 2 : 0)); /* enabled, BSP */
		ax_put32(p + 4, MP_CPU_STEPPING);
		ax_put32(p + 8, MP_CPU_FEATURES);
		p += 20;
	}
	p[0] = 1; /* bus 0: ISA */
	memcpy(p + 2, "ISA   ", 6);
	p += 8;
	p[0] = 2; /* IOAPIC */
	p[1] = ioapic_id;
	p[2] = MP_APIC_VERSION;
	p[3] = 1;
	ax_put32(p + 4, (uint32_t)AX_IOAPIC_ADDR);
	p += 8;
	for (uint8_t irq = 0; irq < MP_IRQS; irq++) {
		p = mp_entry(p, 3, 0 /* INT */, 0, 0, 0, irq, ioapic_id);
		p[-1] = irq;
	}
	p = mp_entry(p, 4, 3 /* ExtINT */, 0, 0, 0, 0, 0);
	p = mp_entry(p, 4, 1 /* NMI */, 0, 0, 0, 0, 0xff);
	p[-1] = 1;
	uint16_t entries = (uint16_t)(vcpus + 2 + MP_IRQS + 2);
	size_t len = (size_t)(p - hdr);
	memcpy(hdr, "PCMP", 4);
	ax_put16(hdr + 4, (uint16_t)len);
	hdr[6] = 4;
	memcpy(hdr + 8, "FC      ", 8);
	memcpy(hdr + 16, "000000000000", 12);
	ax_put16(hdr + 34, entries);
	ax_put32(hdr + 36, (uint32_t)AX_LAPIC_ADDR);
	hdr[7] = ax_checksum(hdr, len);
	memcpy(fp, "_MP_", 4);
	ax_put32(fp + 4, (uint32_t)(AX_SYSTEM_MEM_START + 16));
	fp[8] = 1;
	fp[9] = 4;
	fp[10] = ax_checksum(fp, 16);
	if (16 + len > AX_ACPI_TABLES_ADDR - AX_SYSTEM_MEM_START)
		return -E2BIG;
	return gmem_write(m, AX_SYSTEM_MEM_START, buf, 16 + len) ? -E2BIG : 0;
}
