/* SPDX-License-Identifier: Apache-2.0 */
/* devices_wire: post-boot device updates (PATCH drives/nets/balloon) on the virtio devices. */
#include "api/api.h"
#include "virtio/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int dev_err(int rc, char *err, size_t n)
{
	if (rc == -ENODEV)
		snprintf(err, n, "the device does not exist");
	else if (rc == -ENOENT)
		snprintf(err, n, "no device with that id");
	else if (rc == -ENOTSUP)
		snprintf(err, n, "the feature was not enabled before boot");
	else if (rc < 0)
		snprintf(err, n, "%s", strerror(-rc));
	return rc;
}

int api_dev_drive_update(struct vmm *v, const struct api_drive_patch *p, char *err, size_t n)
{
	int rc =
	    virtio_drive_update(vmm_virtio(v), p->drive_id, p->has_path ? p->path_on_host : NULL,
				p->has_rl ? &p->rl : NULL);
	return dev_err(rc, err, n);
}

int api_dev_net_update(struct vmm *v, const struct api_net_patch *p, char *err, size_t n)
{
	int rc = virtio_net_update(vmm_virtio(v), p->iface_id, p->has_rx ? &p->rx : NULL,
				   p->has_tx ? &p->tx : NULL);
	return dev_err(rc, err, n);
}

int api_dev_balloon_update(struct vmm *v, uint32_t amount_mib, char *err, size_t n)
{
	return dev_err(virtio_balloon_set_target(vmm_virtio(v), amount_mib), err, n);
}

int api_dev_balloon_stats_update(struct vmm *v, uint32_t interval_s, char *err, size_t n)
{
	return dev_err(virtio_balloon_set_stats_interval(vmm_virtio(v), interval_s), err, n);
}

int api_dev_balloon_stats(struct vmm *v, json_t **out, char *err, size_t n)
{
	struct virtio_balloon_stats st;
	int rc = virtio_balloon_get_stats(vmm_virtio(v), &st);
	if (rc < 0)
		return dev_err(rc, err, n);
	json_t *o = json_object();
	json_object_set_new(o, "target_pages", json_integer(st.target_pages));
	json_object_set_new(o, "actual_pages", json_integer(st.actual_pages));
	json_object_set_new(o, "target_mib", json_integer(st.target_mib));
	json_object_set_new(o, "actual_mib", json_integer(st.actual_mib));
	for (unsigned t = 0; t < VIRTIO_BALLOON_NSTATS; t++) {
		const char *name = virtio_balloon_stat_name(t);
		if (st.has[t] && name)
			json_object_set_new(o, name, json_integer((json_int_t)st.val[t]));
	}
	*out = o;
	return 0;
}

int api_dev_balloon_hinting(struct vmm *v, enum api_hint_op op, json_t **out, char *err, size_t n)
{
	struct virtio_set *s = vmm_virtio(v);
	struct virtio_balloon_hinting h;
	int rc;
	switch (op) {
	case API_HINT_START:
		return dev_err(virtio_balloon_hinting_start(s, true), err, n);
	case API_HINT_STOP:
		return dev_err(virtio_balloon_hinting_stop(s), err, n);
	default:
		rc = virtio_balloon_hinting_status(s, &h);
		if (rc < 0)
			return dev_err(rc, err, n);
		*out = json_object();
		json_object_set_new(*out, "host_cmd", json_integer(h.host_cmd));
		if (h.has_guest_cmd)
			json_object_set_new(*out, "guest_cmd", json_integer(h.guest_cmd));
		return 0;
	}
}
