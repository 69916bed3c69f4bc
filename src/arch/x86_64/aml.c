// SPDX-License-Identifier: Apache-2.0
/* arch/x86_64 AML: hand-assembled DSDT body (COM1, PS/2 controller, virtio-mmio devices). */
#include "arch/x86_64/arch_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define AML_SCOPE_OP 0x10
#define AML_NAME_OP 0x08
#define AML_BUFFER_OP 0x11
#define AML_STRING_PREFIX 0x0d
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_EXT_OP 0x5b
#define AML_DEVICE_OP 0x82

/* Extended Interrupt descriptor flags: consumer, edge-triggered, active-high, exclusive. */
#define AML_IRQ_CONSUMER_EDGE_HIGH 0x03

struct aml {
	uint8_t *b;
	size_t len, cap;
	bool oflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->oflow || n > a->cap - a->len) {
		a->oflow = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t t[9];
	size_t n;
	if (v <= 1) {
		aml_byte(a, (uint8_t)v); /* ZeroOp / OneOp */
		return;
	}
	if (v <= 0xff) {
		t[0] = AML_BYTE_PREFIX, n = 1;
	} else if (v <= 0xffff) {
		t[0] = AML_WORD_PREFIX, n = 2;
	} else if (v <= 0xffffffffULL) {
		t[0] = AML_DWORD_PREFIX, n = 4;
	} else {
		t[0] = AML_QWORD_PREFIX, n = 8;
	}
	for (size_t i = 0; i < n; i++)
		t[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, t, n + 1);
}

/* Start a package: remember where its body begins. */
static size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

/* Close a package: insert the PkgLength (which counts itself) in front of the body. */
static void aml_pkg_end(struct aml *a, size_t start)
{
	if (a->oflow)
		return;
	size_t body = a->len - start, n;
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < 0x1000)
		n = 2;
	else if (body + 3 < 0x100000)
		n = 3;
	else
		n = 4;
	size_t total = body + n;
	if (n > a->cap - a->len || total >= 0x10000000) {
		a->oflow = true;
		return;
	}
	memmove(a->b + start + n, a->b + start, body);
	if (n == 1) {
		a->b[start] = (uint8_t)total;
	} else {
		a->b[start] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			a->b[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, seg, 4);
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* EISA id "PNPxxxx" compressed to a DWord. */
static void aml_eisaid(struct aml *a, const char id[7])
{
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 |
				     ((id[2] - 0x40) & 0x1f));
	unsigned prod = 0;
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		prod = prod << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	uint8_t t[5] = {AML_DWORD_PREFIX, (uint8_t)(vendor >> 8), (uint8_t)vendor,
			(uint8_t)(prod >> 8), (uint8_t)prod};
	aml_bytes(a, t, sizeof(t));
}

static void aml_device_begin(struct aml *a, const char seg[4], size_t *start)
{
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	*start = aml_pkg_begin(a);
	aml_bytes(a, seg, 4);
}

/* Name (_CRS, Buffer) wrapping already-encoded resource descriptors plus the end tag. */
static void aml_crs(struct aml *a, const uint8_t *res, size_t n)
{
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	size_t s = aml_pkg_begin(a);
	aml_int(a, n + 2);
	aml_bytes(a, res, n);
	aml_byte(a, 0x79); /* end tag */
	aml_byte(a, 0x00); /* checksum 0: treated as valid */
	aml_pkg_end(a, s);
}

static size_t res_ext_irq(uint8_t *p, uint32_t irq)
{
	p[0] = 0x89;
	ax_put16(p + 1, 6);
	p[3] = AML_IRQ_CONSUMER_EDGE_HIGH;
	p[4] = 1;
	ax_put32(p + 5, irq);
	return 9;
}

static size_t res_io(uint8_t *p, uint16_t port, uint8_t len)
{
	p[0] = 0x47;
	p[1] = 1; /* 16-bit decode */
	ax_put16(p + 2, port);
	ax_put16(p + 4, port);
	p[6] = 1;
	p[7] = len;
	return 8;
}

static size_t res_mem32_fixed(uint8_t *p, uint32_t base, uint32_t len)
{
	p[0] = 0x86;
	ax_put16(p + 1, 9);
	p[3] = 1; /* read-write */
	ax_put32(p + 4, base);
	ax_put32(p + 8, len);
	return 12;
}

static void aml_legacy_devices(struct aml *a)
{
	uint8_t res[32];
	size_t dev, n;
	aml_device_begin(a, "COM1", &dev);
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_int(a, 1);
	n = res_ext_irq(res, ARCH_SERIAL_IRQ);
	n += res_io(res + n, ARCH_SERIAL_PORT, 8);
	aml_crs(a, res, n);
	aml_pkg_end(a, dev);

	aml_device_begin(a, "PS2_", &dev);
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0303");
	aml_name(a, "_STA");
	aml_int(a, 0x0f);
	n = res_io(res, ARCH_I8042_PORT, 1);
	n += res_io(res + n, ARCH_I8042_PORT + 4, 1);
	n += res_ext_irq(res + n, ARCH_I8042_IRQ);
	aml_crs(a, res, n);
	aml_pkg_end(a, dev);
}

static int aml_virtio_device(struct aml *a, uint32_t idx, const struct arch_mmio_dev *d)
{
	uint8_t res[32];
	char seg[8];
	size_t dev, n;
	if (idx > 999 || d->len == 0 || d->len > 0xffffffffULL || d->base > 0xffffffffULL ||
	    d->base + d->len > AX_FOUR_GIB)
		return -EINVAL;
	snprintf(seg, sizeof(seg), "V%03u", idx);
	aml_device_begin(a, seg, &dev);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_int(a, idx);
	aml_name(a, "_CCA");
	aml_int(a, 1);
	n = res_mem32_fixed(res, (uint32_t)d->base, (uint32_t)d->len);
	n += res_ext_irq(res + n, d->irq);
	aml_crs(a, res, n);
	aml_pkg_end(a, dev);
	return 0;
}

int ax_dsdt_body(const struct arch_mmio_dev *mmio, uint32_t n, uint8_t *buf, size_t cap)
{
	struct aml a = {.b = buf, .cap = cap};
	aml_byte(&a, AML_SCOPE_OP);
	size_t scope = aml_pkg_begin(&a);
	aml_bytes(&a, "\\_SB_", 5);
	aml_legacy_devices(&a);
	for (uint32_t i = 0; i < n; i++) {
		int rc = aml_virtio_device(&a, i, &mmio[i]);
		if (rc)
			return rc;
	}
	aml_pkg_end(&a, scope);
	if (a.oflow)
		return -ENOSPC;
	return (int)a.len;
}
