// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 ACPI tables: RSDP, XSDT, FADT (hardware-reduced), MADT, DSDT. */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <string.h>

#define ACPI_HDR_LEN 36
#define ACPI_OEM_ID "SQUIB "
#define ACPI_CREATOR_ID "SQIB"
#define ACPI_DSDT_MAX 8192
#define FADT_LEN 276
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_PRESENT (1u << 3)
#define IAPC_PCIE_ASPM_CONTROLS (1u << 4)
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define RSDP_LEN 36

uint8_t ax_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

static void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev,
			const char table_id[8])
{
	memcpy(t, sig, 4);
	ax_put32(t + 4, len);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, table_id, 8);
	ax_put32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	ax_put32(t + 32, 1);
}

/* Finish a table (checksum) and copy it to guest memory at *addr; advance *addr (8-aligned). */
static int acpi_emit(struct gmem *m, uint8_t *t, uint32_t len, uint64_t *addr)
{
	t[9] = ax_checksum(t, len);
	if (*addr + len > AX_SYSTEM_MEM_END || gmem_write(m, *addr, t, len))
		return -E2BIG;
	uint64_t at = *addr;
	*addr = (at + len + 7) & ~7ULL;
	return 0;
}

static int acpi_dsdt(struct gmem *m, const struct arch_x86_config *cfg, uint64_t *addr)
{
	uint8_t t[ACPI_DSDT_MAX];
	int n = ax_dsdt_body(cfg->mmio, cfg->n_mmio, t + ACPI_HDR_LEN, sizeof(t) - ACPI_HDR_LEN);
	if (n < 0)
		return n == -ENOSPC ? -E2BIG : n;
	acpi_header(t, "DSDT", ACPI_HDR_LEN + (uint32_t)n, 6, "SQUIBDSD");
	return acpi_emit(m, t, ACPI_HDR_LEN + (uint32_t)n, addr);
}

static int acpi_fadt(struct gmem *m, uint64_t dsdt, uint64_t *addr)
{
	uint8_t t[FADT_LEN];
	memset(t, 0, sizeof(t));
	acpi_header(t, "FACP", FADT_LEN, 6, "SQUIBFAC");
	ax_put16(t + 109, IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_PRESENT | IAPC_PCIE_ASPM_CONTROLS);
	ax_put32(t + 112, FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	t[131] = 5; /* FADT minor version: ACPI 6.5 */
	ax_put64(t + 140, dsdt);
	memcpy(t + 268, "SQUIBKVM", 8); /* hypervisor vendor identity */
	return acpi_emit(m, t, FADT_LEN, addr);
}

static int acpi_madt(struct gmem *m, uint32_t vcpus, uint64_t *addr)
{
	uint8_t t[ACPI_HDR_LEN + 8 + MADT_IOAPIC_LEN + 256 * MADT_LAPIC_LEN];
	uint32_t len = ACPI_HDR_LEN + 8 + MADT_IOAPIC_LEN + vcpus * MADT_LAPIC_LEN;
	if (vcpus == 0 || vcpus > 255)
		return -EINVAL;
	memset(t, 0, len);
	acpi_header(t, "APIC", len, 6, "SQUIBMAD");
	ax_put32(t + 36, (uint32_t)AX_LAPIC_ADDR);
	ax_put32(t + 40, 0); /* no dual-8259 (hardware-reduced platform) */
	uint8_t *p = t + 44;
	p[0] = 1; /* I/O APIC */
	p[1] = MADT_IOAPIC_LEN;
	p[2] = 0;
	ax_put32(p + 4, (uint32_t)AX_IOAPIC_ADDR);
	ax_put32(p + 8, 0);
	p += MADT_IOAPIC_LEN;
	for (uint32_t i = 0; i < vcpus; i++, p += MADT_LAPIC_LEN) {
		p[0] = 0; /* processor local APIC */
		p[1] = MADT_LAPIC_LEN;
		p[2] = (uint8_t)i;
		p[3] = (uint8_t)i;
		ax_put32(p + 4, 1); /* enabled */
	}
	return acpi_emit(m, t, len, addr);
}

static int acpi_xsdt(struct gmem *m, uint64_t fadt, uint64_t madt, uint64_t *addr)
{
	uint8_t t[ACPI_HDR_LEN + 16];
	acpi_header(t, "XSDT", sizeof(t), 1, "SQUIBXSD");
	ax_put64(t + 36, fadt);
	ax_put64(t + 44, madt);
	return acpi_emit(m, t, sizeof(t), addr);
}

static int acpi_rsdp(struct gmem *m, uint64_t xsdt)
{
	uint8_t t[RSDP_LEN];
	memset(t, 0, sizeof(t));
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, ACPI_OEM_ID, 6);
	t[15] = 2;
	ax_put32(t + 20, RSDP_LEN);
	ax_put64(t + 24, xsdt);
	t[8] = ax_checksum(t, 20);
	t[32] = ax_checksum(t, RSDP_LEN);
	return gmem_write(m, AX_RSDP_ADDR, t, sizeof(t)) ? -E2BIG : 0;
}

int ax_acpi_write(struct gmem *m, const struct arch_x86_config *cfg)
{
	uint64_t addr = AX_ACPI_TABLES_ADDR, dsdt, fadt, madt, xsdt;
	int rc;
	dsdt = addr;
	if ((rc = acpi_dsdt(m, cfg, &addr)))
		return rc;
	fadt = addr;
	if ((rc = acpi_fadt(m, dsdt, &addr)))
		return rc;
	madt = addr;
	if ((rc = acpi_madt(m, cfg->vcpu_count, &addr)))
		return rc;
	xsdt = addr;
	if ((rc = acpi_xsdt(m, fadt, madt, &addr)))
		return rc;
	return acpi_rsdp(m, xsdt);
}
