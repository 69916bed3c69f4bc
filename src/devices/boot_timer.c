/* SPDX-License-Identifier: Apache-2.0 */
/* devices/boot_timer: logs the guest boot time when the guest writes 123 at offset 0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "devices/devices.h"

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	struct dev dev;
	uint64_t start_us, start_cpu_us;
};

static void boot_timer_read(struct dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
}

static void boot_timer_write(struct dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_timer *t = d->priv;
	if (off != 0 || len != 1 || data[0] != BOOT_TIMER_MAGIC)
		return;
	uint64_t now = time_mono_us(), cpu = time_cpu_us();
	uint64_t us = now > t->start_us ? now - t->start_us : 0;
	uint64_t cpu_us = cpu > t->start_cpu_us ? cpu - t->start_cpu_us : 0;
	LOG_INF("Guest-boot-time = %llu us %llu ms, %llu CPU us %llu CPU ms",
		(unsigned long long)us, (unsigned long long)(us / 1000), (unsigned long long)cpu_us,
		(unsigned long long)(cpu_us / 1000));
}

static void boot_timer_destroy(struct dev *d)
{
	free(d->priv);
}

static const struct dev_ops boot_timer_ops = {
    .kind = "boot_timer",
    .read = boot_timer_read,
    .write = boot_timer_write,
    .destroy = boot_timer_destroy,
};

int boot_timer_create(uint64_t start_us, uint64_t start_cpu_us, struct dev **out)
{
	struct boot_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->start_us = start_us;
	t->start_cpu_us = start_cpu_us;
	t->dev.ops = &boot_timer_ops;
	t->dev.priv = t;
	strcpy(t->dev.id, "boot_timer");
	*out = &t->dev;
	return 0;
}
