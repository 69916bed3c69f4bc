/* SPDX-License-Identifier: Apache-2.0 */
/* devcfg: the device part of struct vm_config, field by field, inside the VM-info section. */
#include "snapshot/snapshot.h"
#include "snap_int.h"

#include <errno.h>
#include <string.h>

static void rl_put(struct sbuf *b, const struct rate_limiter_cfg *rl)
{
	const struct tbucket_cfg *tb[2] = {&rl->bandwidth, &rl->ops};
	for (int i = 0; i < 2; i++) {
		sbuf_put_bool(b, tb[i]->set);
		sbuf_put_u64(b, tb[i]->size);
		sbuf_put_u64(b, tb[i]->one_time_burst);
		sbuf_put_u64(b, tb[i]->refill_time_ms);
	}
}

static void rl_get(struct sreader *r, struct rate_limiter_cfg *rl)
{
	struct tbucket_cfg *tb[2] = {&rl->bandwidth, &rl->ops};
	for (int i = 0; i < 2; i++) {
		tb[i]->set = sreader_bool(r);
		tb[i]->size = sreader_u64(r);
		tb[i]->one_time_burst = sreader_u64(r);
		tb[i]->refill_time_ms = sreader_u64(r);
	}
}

static void drive_put(struct sbuf *b, const struct drive_cfg *d)
{
	sbuf_put_str(b, d->drive_id, VM_ID_MAX - 1);
	sbuf_put_str(b, d->path_on_host, VM_PATH_MAX - 1);
	sbuf_put_bool(b, d->is_root_device);
	sbuf_put_bool(b, d->is_read_only);
	sbuf_put_str(b, d->partuuid, sizeof(d->partuuid) - 1);
	sbuf_put_u8(b, (uint8_t)d->cache_type);
	sbuf_put_u8(b, (uint8_t)d->io_engine);
	rl_put(b, &d->rate_limiter);
}

static void drive_get(struct sreader *r, struct drive_cfg *d)
{
	sreader_str(r, d->drive_id, sizeof(d->drive_id));
	sreader_str(r, d->path_on_host, sizeof(d->path_on_host));
	d->is_root_device = sreader_bool(r);
	d->is_read_only = sreader_bool(r);
	sreader_str(r, d->partuuid, sizeof(d->partuuid));
	d->cache_type = sreader_u8(r) ? CACHE_WRITEBACK : CACHE_UNSAFE;
	d->io_engine = sreader_u8(r) ? IO_ENGINE_ASYNC : IO_ENGINE_SYNC;
	rl_get(r, &d->rate_limiter);
}

static void net_put(struct sbuf *b, const struct net_cfg *n)
{
	sbuf_put_str(b, n->iface_id, VM_ID_MAX - 1);
	sbuf_put_str(b, n->host_dev_name, sizeof(n->host_dev_name) - 1);
	sbuf_put_bool(b, n->has_mac);
	sbuf_put_bytes(b, n->guest_mac, 6);
	rl_put(b, &n->rx_rate_limiter);
	rl_put(b, &n->tx_rate_limiter);
}

static void net_get(struct sreader *r, struct net_cfg *n)
{
	sreader_str(r, n->iface_id, sizeof(n->iface_id));
	sreader_str(r, n->host_dev_name, sizeof(n->host_dev_name));
	n->has_mac = sreader_bool(r);
	const uint8_t *mac = sreader_bytes(r, 6);
	if (mac)
		memcpy(n->guest_mac, mac, 6);
	rl_get(r, &n->rx_rate_limiter);
	rl_get(r, &n->tx_rate_limiter);
}

int snap_devcfg_put(struct sbuf *b, const struct vm_config *c)
{
	sbuf_put_u32(b, c->n_drives);
	for (uint32_t i = 0; i < c->n_drives && i < VM_MAX_DRIVES; i++)
		drive_put(b, &c->drives[i]);
	sbuf_put_u32(b, c->n_nets);
	for (uint32_t i = 0; i < c->n_nets && i < VM_MAX_NETS; i++)
		net_put(b, &c->nets[i]);
	sbuf_put_bool(b, c->vsock.set);
	sbuf_put_u32(b, c->vsock.guest_cid);
	sbuf_put_str(b, c->vsock.uds_path, VM_PATH_MAX - 1);
	sbuf_put_bool(b, c->entropy.set);
	rl_put(b, &c->entropy.rate_limiter);
	sbuf_put_bool(b, c->balloon.set);
	sbuf_put_u32(b, c->balloon.amount_mib);
	sbuf_put_bool(b, c->balloon.deflate_on_oom);
	sbuf_put_u32(b, c->balloon.stats_polling_interval_s);
	sbuf_put_bool(b, c->balloon.free_page_hinting);
	sbuf_put_bool(b, c->balloon.free_page_reporting);
	sbuf_put_str(b, c->serial_out_path, VM_PATH_MAX - 1);
	sbuf_put_bool(b, c->boot_timer);
	return b->err;
}

int snap_devcfg_get(struct sreader *r, struct vm_config *c)
{
	c->n_drives = sreader_u32(r);
	if (c->n_drives > VM_MAX_DRIVES)
		return -EINVAL;
	for (uint32_t i = 0; i < c->n_drives; i++)
		drive_get(r, &c->drives[i]);
	c->n_nets = sreader_u32(r);
	if (c->n_nets > VM_MAX_NETS)
		return -EINVAL;
	for (uint32_t i = 0; i < c->n_nets; i++)
		net_get(r, &c->nets[i]);
	c->vsock.set = sreader_bool(r);
	c->vsock.guest_cid = sreader_u32(r);
	sreader_str(r, c->vsock.uds_path, sizeof(c->vsock.uds_path));
	c->entropy.set = sreader_bool(r);
	rl_get(r, &c->entropy.rate_limiter);
	c->balloon.set = sreader_bool(r);
	c->balloon.amount_mib = sreader_u32(r);
	c->balloon.deflate_on_oom = sreader_bool(r);
	c->balloon.stats_polling_interval_s = sreader_u32(r);
	c->balloon.free_page_hinting = sreader_bool(r);
	c->balloon.free_page_reporting = sreader_bool(r);
	sreader_str(r, c->serial_out_path, sizeof(c->serial_out_path));
	c->boot_timer = sreader_bool(r);
	return sreader_ok(r) ? 0 : -EINVAL;
}
