/* SPDX-License-Identifier: Apache-2.0 */
/* virtio device set: creation in Firecracker attach order, lookup, pause/resume, updates. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/vdev.h"

struct virtio_set {
	size_t n;
	struct virtio_slot slot[VIRTIO_MAX_DEVICES];
	char ids[VIRTIO_MAX_DEVICES][VM_ID_MAX];
};

const char *virtio_kind_name(enum virtio_kind k)
{
	switch (k) {
	case VIRTIO_KIND_BLOCK:
		return "virtio-block";
	case VIRTIO_KIND_NET:
		return "virtio-net";
	case VIRTIO_KIND_VSOCK:
		return "virtio-vsock";
	case VIRTIO_KIND_RNG:
		return "virtio-rng";
	case VIRTIO_KIND_BALLOON:
		return "virtio-balloon";
	}
	return NULL;
}

size_t virtio_set_count(const struct virtio_set *s)
{
	return s ? s->n : 0;
}

const struct virtio_slot *virtio_set_slot(const struct virtio_set *s, size_t i)
{
	return s && i < s->n ? &s->slot[i] : NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Reserve the next slot; returns its index or -ENOSPC. */
static int set_next(struct virtio_set *s, enum virtio_kind kind, const char *id, uint64_t *base,
		    uint32_t *irq)
{
	if (s->n >= VIRTIO_MAX_DEVICES)
		return -ENOSPC;
	size_t i = s->n;
	snprintf(s->ids[i], sizeof(s->ids[i]), "%s", id);
	s->slot[i] = (struct virtio_slot){.base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_LEN,
					  .len = VIRTIO_MMIO_LEN,
					  .irq = VIRTIO_IRQ_BASE + (uint32_t)i,
					  .kind = kind,
					  .id = s->ids[i]};
	*base = s->slot[i].base;
	*irq = s->slot[i].irq;
	return (int)i;
}

static int set_add_drive(struct virtio_set *s, const struct virtio_env *env,
			 const struct drive_cfg *d, char *err, size_t errlen)
{
	uint64_t base;
	uint32_t irq;
	int i = set_next(s, VIRTIO_KIND_BLOCK, d->drive_id, &base, &irq);
	int rc = i < 0 ? i : virtio_blk_create(env, d, base, irq, &s->slot[i].dev);
	if (rc) {
		set_err(err, errlen, "Unable to create the block device %s: %s (%s)", d->drive_id,
			strerror(-rc), d->path_on_host);
		return rc;
	}
	s->n++;
	return 0;
}

static int set_add_net(struct virtio_set *s, const struct virtio_env *env, const struct net_cfg *c,
		       char *err, size_t errlen)
{
	uint64_t base;
	uint32_t irq;
	int i = set_next(s, VIRTIO_KIND_NET, c->iface_id, &base, &irq);
	int rc = i < 0 ? i : virtio_net_create(env, c, base, irq, &s->slot[i].dev);
	if (rc) {
		set_err(err, errlen,
			"Could not create the network device %s: Open tap device "
			"failed: %s (%s)",
			c->iface_id, strerror(-rc), c->host_dev_name);
		return rc;
	}
	s->n++;
	return 0;
}

static int set_add_misc(struct virtio_set *s, const struct virtio_env *env,
			const struct vm_config *cfg, enum virtio_kind kind, char *err,
			size_t errlen)
{
	static const char *const names[] = {[VIRTIO_KIND_BALLOON] = "balloon",
					    [VIRTIO_KIND_VSOCK] = "vsock",
					    [VIRTIO_KIND_RNG] = "rng"};
	uint64_t base;
	uint32_t irq;
	int i = set_next(s, kind, names[kind], &base, &irq), rc = i;
	struct dev **out = i >= 0 ? &s->slot[i].dev : NULL;
	if (i >= 0 && kind == VIRTIO_KIND_BALLOON)
		rc = virtio_balloon_create(env, &cfg->balloon, base, irq, out);
	else if (i >= 0 && kind == VIRTIO_KIND_VSOCK)
		rc = virtio_vsock_create(env, &cfg->vsock, base, irq, out);
	else if (i >= 0)
		rc = virtio_rng_create(env, &cfg->entropy, base, irq, out);
	if (rc) {
		set_err(err, errlen, "Unable to create the %s device: %s", names[kind],
			strerror(-rc));
		return rc;
	}
	s->n++;
	return 0;
}

static int set_build(struct virtio_set *s, const struct vm_config *cfg,
		     const struct virtio_env *env, char *err, size_t errlen)
{
	int rc = 0;
	if (cfg->balloon.set)
		rc = set_add_misc(s, env, cfg, VIRTIO_KIND_BALLOON, err, errlen);
	for (uint32_t i = 0; !rc && i < cfg->n_drives; i++)
		if (cfg->drives[i].is_root_device)
			rc = set_add_drive(s, env, &cfg->drives[i], err, errlen);
	for (uint32_t i = 0; !rc && i < cfg->n_drives; i++)
		if (!cfg->drives[i].is_root_device)
			rc = set_add_drive(s, env, &cfg->drives[i], err, errlen);
	for (uint32_t i = 0; !rc && i < cfg->n_nets; i++)
		rc = set_add_net(s, env, &cfg->nets[i], err, errlen);
	if (!rc && cfg->vsock.set)
		rc = set_add_misc(s, env, cfg, VIRTIO_KIND_VSOCK, err, errlen);
	if (!rc && cfg->entropy.set)
		rc = set_add_misc(s, env, cfg, VIRTIO_KIND_RNG, err, errlen);
	return rc;
}

int virtio_devices_create(const struct vm_config *cfg, const struct virtio_env *env,
			  struct virtio_set **out, char *err, size_t errlen)
{
	if (!cfg || !env || !env->mem || !out)
		return -EINVAL;
	if (cfg->n_drives > VM_MAX_DRIVES || cfg->n_nets > VM_MAX_NETS)
		return -EINVAL;
	struct virtio_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = set_build(s, cfg, env, err, errlen);
	if (rc) {
		if (rc == -ENOSPC)
			set_err(err, errlen, "Too many virtio devices (at most %d)",
				VIRTIO_MAX_DEVICES);
		virtio_set_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void virtio_set_destroy(struct virtio_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		s->slot[i].dev->ops->destroy(s->slot[i].dev);
	free(s);
}

void virtio_set_release(struct virtio_set *s)
{
	free(s);
}

void virtio_set_pause(struct virtio_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		s->slot[i].dev->ops->pause(s->slot[i].dev);
}

void virtio_set_resume(struct virtio_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		s->slot[i].dev->ops->resume(s->slot[i].dev);
}

static struct dev *set_find(struct virtio_set *s, enum virtio_kind kind, const char *id)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->slot[i].kind == kind && (!id || !strcmp(s->slot[i].id, id)))
			return s->slot[i].dev;
	return NULL;
}

int virtio_drive_update(struct virtio_set *s, const char *drive_id, const char *path,
			const struct rate_limiter_cfg *rl)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BLOCK, drive_id);
	return d ? virtio_blk_update(d, path, rl) : -ENOENT;
}

int virtio_net_update(struct virtio_set *s, const char *iface_id, const struct rate_limiter_cfg *rx,
		      const struct rate_limiter_cfg *tx)
{
	struct dev *d = set_find(s, VIRTIO_KIND_NET, iface_id);
	return d ? virtio_net_update_dev(d, rx, tx) : -ENOENT;
}

int virtio_balloon_set_target(struct virtio_set *s, uint32_t amount_mib)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_target(d, amount_mib) : -ENODEV;
}

int virtio_balloon_set_stats_interval(struct virtio_set *s, uint32_t interval_s)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_interval(d, interval_s) : -ENODEV;
}

int virtio_balloon_get_stats(struct virtio_set *s, struct virtio_balloon_stats *out)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_stats(d, out) : -ENODEV;
}

int virtio_balloon_hinting_start(struct virtio_set *s, bool acknowledge_on_stop)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_hint_start(d, acknowledge_on_stop) : -ENODEV;
}

int virtio_balloon_hinting_stop(struct virtio_set *s)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_hint_stop(d) : -ENODEV;
}

int virtio_balloon_hinting_status(struct virtio_set *s, struct virtio_balloon_hinting *out)
{
	struct dev *d = set_find(s, VIRTIO_KIND_BALLOON, NULL);
	return d ? virtio_balloon_hint_status(d, out) : -ENODEV;
}
