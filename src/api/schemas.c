/* SPDX-License-Identifier: Apache-2.0 */
/* schemas: Firecracker v1.16.1 request bodies (boot, machine, devices) -> typed actions. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			return -EINVAL;                                                            \
	} while (0)

int schema_boot_source(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	struct boot_source_cfg *b = &a->u.boot;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "kernel_image_path", true, b->kernel_image_path,
		     sizeof(b->kernel_image_path), NULL, r));
	CHECK(jr_str(o, "", "initrd_path", false, b->initrd_path, sizeof(b->initrd_path), NULL, r));
	CHECK(jr_str(o, "", "boot_args", false, b->boot_args, sizeof(b->boot_args),
		     &b->has_boot_args, r));
	b->set = true;
	return 0;
}

static const char *const cpu_templates[] = {"None", "C3", "T2", "T2S", "T2CL", "T2A", NULL};
static const char *const huge_names[] = {"None", "2M", NULL};

int schema_machine(json_t *o, bool patch, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {
	    "vcpu_count",	 "mem_size_mib", "smt", "cpu_template",
	    "track_dirty_pages", "huge_pages",	 NULL};
	struct api_machine_patch *p = &a->u.mpatch;
	uint64_t v;
	int e;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_u64(o, "", "vcpu_count", !patch, 0, 255, &v, &p->has_vcpu, r));
	p->v.vcpu_count = (uint32_t)v;
	CHECK(jr_u64(o, "", "mem_size_mib", !patch, 0, UINT32_MAX, &v, &p->has_mem, r));
	p->v.mem_size_mib = v;
	CHECK(jr_bool(o, "", "smt", false, &p->v.smt, &p->has_smt, r));
	CHECK(
	    jr_bool(o, "", "track_dirty_pages", false, &p->v.track_dirty_pages, &p->has_track, r));
	e = 0;
	CHECK(jr_enum(o, "", "cpu_template", false, cpu_templates, &e, &p->has_tmpl, r));
	p->v.cpu_template = (enum cpu_template)e;
	e = 0;
	CHECK(jr_enum(o, "", "huge_pages", false, huge_names, &e, &p->has_huge, r));
	p->v.huge_pages = (enum huge_pages)e;
	if (p->has_tmpl)
		a->deprecated = true; /* static CPU templates are deprecated */
	if (patch && !(p->has_vcpu || p->has_mem || p->has_smt || p->has_track || p->has_tmpl ||
		       p->has_huge))
		return api_fail(r, 400, MSG_EMPTY_PATCH);
	return 0;
}

static int drive_full(json_t *o, struct drive_cfg *d, struct api_response *r)
{
	static const char *const caches[] = {"Unsafe", "Writeback", NULL};
	static const char *const engines[] = {"Sync", "Async", NULL};
	bool has_path, has_sock;
	char sock[VM_PATH_MAX];
	int e = 0;
	CHECK(jr_bool(o, "", "is_root_device", true, &d->is_root_device, NULL, r));
	CHECK(jr_bool(o, "", "is_read_only", false, &d->is_read_only, NULL, r));
	CHECK(jr_str(o, "", "partuuid", false, d->partuuid, sizeof(d->partuuid), NULL, r));
	CHECK(jr_enum(o, "", "cache_type", false, caches, &e, NULL, r));
	d->cache_type = (enum cache_type)e;
	e = 0;
	CHECK(jr_enum(o, "", "io_engine", false, engines, &e, NULL, r));
	d->io_engine = (enum io_engine)e;
	CHECK(jr_str(o, "", "path_on_host", false, d->path_on_host, sizeof(d->path_on_host),
		     &has_path, r));
	CHECK(jr_str(o, "", "socket", false, sock, sizeof(sock), &has_sock, r));
	CHECK(jr_rate_limiter(o, "", "rate_limiter", &d->rate_limiter, r));
	if (has_sock)
		return api_fail(r, 400, MSG_UNSUPPORTED, "vhost-user", "block devices (`socket`)");
	if (!has_path)
		return api_fail(r, 400, MSG_JSON_MISSING_FIELD, "path_on_host");
	return 0;
}

int schema_drive(json_t *o, bool patch, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {
	    "drive_id",	 "is_root_device", "is_read_only", "partuuid", "cache_type",
	    "io_engine", "path_on_host",   "rate_limiter", "socket",   NULL};
	static const char *const pkeys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	if (patch) {
		struct api_drive_patch *p = &a->u.dpatch;
		CHECK(jr_object(o, "", pkeys, r));
		CHECK(jr_str(o, "", "drive_id", true, p->drive_id, sizeof(p->drive_id), NULL, r));
		CHECK(jr_str(o, "", "path_on_host", false, p->path_on_host, sizeof(p->path_on_host),
			     &p->has_path, r));
		p->has_rl = json_object_get(o, "rate_limiter") != NULL;
		return jr_rate_limiter(o, "", "rate_limiter", &p->rl, r);
	}
	struct drive_cfg *d = &a->u.drive;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "drive_id", true, d->drive_id, sizeof(d->drive_id), NULL, r));
	return drive_full(o, d, r);
}

static int mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != ':' && i < 5)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

int schema_net(json_t *o, bool patch, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {
	    "iface_id",	       "host_dev_name", "guest_mac", "rx_rate_limiter",
	    "tx_rate_limiter", "mtu",		NULL};
	static const char *const pkeys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	if (patch) {
		struct api_net_patch *p = &a->u.npatch;
		CHECK(jr_object(o, "", pkeys, r));
		CHECK(jr_str(o, "", "iface_id", true, p->iface_id, sizeof(p->iface_id), NULL, r));
		p->has_rx = json_object_get(o, "rx_rate_limiter") != NULL;
		p->has_tx = json_object_get(o, "tx_rate_limiter") != NULL;
		CHECK(jr_rate_limiter(o, "", "rx_rate_limiter", &p->rx, r));
		return jr_rate_limiter(o, "", "tx_rate_limiter", &p->tx, r);
	}
	struct net_cfg *n = &a->u.net;
	char mac[32];
	uint64_t mtu = 0;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "iface_id", true, n->iface_id, sizeof(n->iface_id), NULL, r));
	CHECK(jr_str(o, "", "host_dev_name", true, n->host_dev_name, sizeof(n->host_dev_name), NULL,
		     r));
	CHECK(jr_str(o, "", "guest_mac", false, mac, sizeof(mac), &n->has_mac, r));
	if (n->has_mac && mac_parse(mac, n->guest_mac) < 0)
		return api_fail(r, 400, MSG_JSON_RANGE, "guest_mac",
				"a MAC address of the form xx:xx:xx:xx:xx:xx");
	CHECK(jr_u64(o, "", "mtu", false, 68, 65535, &mtu, NULL, r));
	n->mtu = (uint16_t)mtu;
	CHECK(jr_rate_limiter(o, "", "rx_rate_limiter", &n->rx_rate_limiter, r));
	return jr_rate_limiter(o, "", "tx_rate_limiter", &n->tx_rate_limiter, r);
}

int schema_vsock(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	struct vsock_cfg *v = &a->u.vsock;
	uint64_t cid;
	char id[VM_ID_MAX];
	bool has_id;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_u64(o, "", "guest_cid", true, 3, UINT32_MAX, &cid, NULL, r));
	v->guest_cid = (uint32_t)cid;
	/* sun_path is 108 bytes including the NUL */
	CHECK(jr_str(o, "", "uds_path", true, v->uds_path, 108, NULL, r));
	CHECK(jr_str(o, "", "vsock_id", false, id, sizeof(id), &has_id, r));
	if (has_id)
		a->deprecated = true;
	v->set = true;
	return 0;
}

int schema_entropy(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	CHECK(jr_object(o, "", keys, r));
	a->u.entropy.set = true;
	return jr_rate_limiter(o, "", "rate_limiter", &a->u.entropy.rate_limiter, r);
}

int schema_balloon(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {
	    "amount_mib",	 "deflate_on_oom",	"stats_polling_interval_s",
	    "free_page_hinting", "free_page_reporting", NULL};
	struct balloon_cfg *b = &a->u.balloon;
	uint64_t v;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_u64(o, "", "amount_mib", true, 0, UINT32_MAX, &v, NULL, r));
	b->amount_mib = (uint32_t)v;
	CHECK(jr_bool(o, "", "deflate_on_oom", true, &b->deflate_on_oom, NULL, r));
	v = 0;
	CHECK(jr_u64(o, "", "stats_polling_interval_s", false, 0, UINT16_MAX, &v, NULL, r));
	b->stats_polling_interval_s = (uint32_t)v;
	CHECK(jr_bool(o, "", "free_page_hinting", false, &b->free_page_hinting, NULL, r));
	CHECK(jr_bool(o, "", "free_page_reporting", false, &b->free_page_reporting, NULL, r));
	b->set = true;
	return 0;
}

int schema_balloon_update(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"amount_mib", NULL};
	uint64_t v;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_u64(o, "", "amount_mib", true, 0, UINT32_MAX, &v, NULL, r));
	a->u.amount_mib = (uint32_t)v;
	return 0;
}

int schema_balloon_stats_update(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"stats_polling_interval_s", NULL};
	uint64_t v;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_u64(o, "", "stats_polling_interval_s", true, 0, UINT16_MAX, &v, NULL, r));
	a->u.stats_interval_s = (uint32_t)v;
	return 0;
}
