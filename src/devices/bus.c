/* SPDX-License-Identifier: Apache-2.0 */
/* devices/bus: sorted port-I/O and MMIO range tables with binary-search dispatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "devices/devices.h"

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base, len;
	struct dev *dev;
};

struct bus_space_tab {
	struct bus_range r[BUS_MAX_RANGES];
	uint32_t n;
};

struct bus {
	struct bus_space_tab sp[2];
};

int bus_create(struct bus **out)
{
	struct bus *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*out = b;
	return 0;
}

void bus_destroy(struct bus *b)
{
	free(b);
}

int bus_register(struct bus *b, enum bus_space sp, uint64_t base, uint64_t len, struct dev *d)
{
	uint64_t end;
	if ((sp != BUS_PIO && sp != BUS_MMIO) || len == 0 || !add_u64(base, len - 1, &end))
		return -EINVAL;
	struct bus_space_tab *t = &b->sp[sp];
	if (t->n == BUS_MAX_RANGES)
		return -ENOSPC;
	uint32_t i = 0;
	while (i < t->n && t->r[i].base < base)
		i++;
	/* Overlap with the neighbour before or after the insertion point. */
	if (i > 0 && t->r[i - 1].base + (t->r[i - 1].len - 1) >= base)
		return -EEXIST;
	if (i < t->n && t->r[i].base <= end)
		return -EEXIST;
	memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(t->r[0]));
	t->r[i] = (struct bus_range){base, len, d};
	t->n++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, enum bus_space sp, uint64_t addr,
					uint32_t len)
{
	if (sp != BUS_PIO && sp != BUS_MMIO)
		return NULL;
	const struct bus_space_tab *t = &b->sp[sp];
	uint32_t lo = 0, hi = t->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &t->r[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* The whole access must fit in the device's range. */
			if (len > r->len - (addr - r->base))
				return NULL;
			return r;
		}
	}
	return NULL;
}

bool bus_read(struct bus *b, enum bus_space sp, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(b, sp, addr, len);
	if (!r || !r->dev->ops->read) {
		memset(data, 0xff, len);
		return false;
	}
	r->dev->ops->read(r->dev, addr - r->base, data, len);
	return true;
}

bool bus_write(struct bus *b, enum bus_space sp, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(b, sp, addr, len);
	if (!r || !r->dev->ops->write)
		return false;
	r->dev->ops->write(r->dev, addr - r->base, data, len);
	return true;
}

uint32_t bus_count(const struct bus *b, enum bus_space sp)
{
	if (sp != BUS_PIO && sp != BUS_MMIO)
		return 0;
	return b->sp[sp].n;
}

struct dev *bus_at(const struct bus *b, enum bus_space sp, uint32_t i, uint64_t *base,
		   uint64_t *len)
{
	if (i >= bus_count(b, sp))
		return NULL;
	const struct bus_range *r = &b->sp[sp].r[i];
	if (base)
		*base = r->base;
	if (len)
		*len = r->len;
	return r->dev;
}
