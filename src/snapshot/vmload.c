/* SPDX-License-Identifier: Apache-2.0 */
/* vmload: PUT /snapshot/load — rebuild a microVM from a state file and its memory file. */
#include "snapshot/snapshot.h"
#include "snapshot/uffd.h"
#include "base/base.h"
#include "devices/devices.h"
#include "hv/hv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The configuration the snapshot was taken with, plus the request's overrides. */
static int load_config(const struct snap_load_req *r, const struct snap_state_view *view,
		       struct vm_config *cfg, struct snap_error *e)
{
	char why[256];
	*cfg = view->info.dev;
	cfg->machine = view->info.machine;
	cfg->machine.track_dirty_pages = r->track_dirty_pages;
	cfg->boot = view->info.boot;
	memset(&cfg->cpu_config, 0, sizeof(cfg->cpu_config));
	for (uint32_t i = 0; i < r->n_net; i++) {
		uint32_t j = 0;
		while (j < cfg->n_nets && strcmp(cfg->nets[j].iface_id, r->net[i].iface_id))
			j++;
		if (j == cfg->n_nets) {
			snprintf(why, sizeof(why),
				 "network override names unknown iface_id \"%.64s\"",
				 r->net[i].iface_id);
			return snap_error_set(e, SNAP_E_CAPTURE, why);
		}
		snprintf(cfg->nets[j].host_dev_name, sizeof(cfg->nets[j].host_dev_name), "%s",
			 r->net[i].host_dev_name);
	}
	for (uint32_t i = 0; i < r->n_drive; i++) {
		uint32_t j = 0;
		while (j < cfg->n_drives && strcmp(cfg->drives[j].drive_id, r->drive[i].drive_id))
			j++;
		if (j == cfg->n_drives) {
			snprintf(why, sizeof(why),
				 "drive override names unknown drive_id \"%.64s\"",
				 r->drive[i].drive_id);
			return snap_error_set(e, SNAP_E_CAPTURE, why);
		}
		snprintf(cfg->drives[j].path_on_host, sizeof(cfg->drives[j].path_on_host), "%s",
			 r->drive[i].path_on_host);
	}
	if (r->has_vsock_override) {
		if (!cfg->vsock.set)
			return snap_error_set(
			    e, SNAP_E_CAPTURE,
			    "vsock override given but the snapshot has no vsock device");
		snprintf(cfg->vsock.uds_path, sizeof(cfg->vsock.uds_path), "%s", r->vsock_uds_path);
	}
	return 0;
}

/* Guest RAM: MAP_PRIVATE over the memory file (lazy), or anonymous memory served by a
 * userfaultfd handler. */
static int load_memory(const struct snap_load_req *r, const struct snap_state_view *view,
		       int mem_fd, struct gmem *m, struct snap_error *e)
{
	if (r->backend == SNAP_MEM_FILE)
		return snap_mem_map(mem_fd, &view->mem, m, e);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	for (uint32_t i = 0; i < view->mem.nr; i++) {
		m->r[i].gpa = view->mem.r[i].gpa;
		m->r[i].size = view->mem.r[i].size;
		m->r[i].file_offset = view->mem.r[i].file_offset;
		m->total += view->mem.r[i].size;
	}
	m->nr = view->mem.nr;
	int rc = snap_uffd_alloc_guest_mem(m);
	if (rc < 0)
		return snap_error_set(e, SNAP_E_MEMORY_IO, -rc);
	int uffd = -1;
	rc = snap_uffd_setup(r->mem_path, m, view->mem.page_size, &uffd, e);
	if (rc < 0) {
		gmem_free(m);
		return rc;
	}
	close(uffd); /* the handler holds its own copy; the registration stays */
	return 0;
}

static int restore_vcpu(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	const struct snap_state_view *view = arg;
	if (id >= view->n_vcpus)
		return -EINVAL;
	return hv_vcpu_state_restore(vcpu, view->vcpu[id].data, view->vcpu[id].len);
}

static int restore_devices(struct vmm *v, const struct snap_state_view *view, struct snap_error *e)
{
	struct dev *const *devs;
	uint32_t n = vmm_devices(v, &devs);
	char why[256];
	for (uint32_t s = 0; s < view->n_devices; s++) {
		const struct snap_device_sec *ds = &view->dev[s];
		struct dev *d = NULL;
		for (uint32_t i = 0; i < n && !d; i++)
			if (!strcmp(devs[i]->ops->kind, ds->kind) && !strcmp(devs[i]->id, ds->id))
				d = devs[i];
		/* where the guest found it must not move (0/0: written before squib recorded it) */
		if (d && (ds->mmio_base || ds->irq) &&
		    (ds->mmio_base != d->base || ds->irq != d->irq)) {
			snprintf(
			    why, sizeof(why),
			    "device %.31s \"%.63s\" was at %#llx irq %u, the restored VM has it at "
			    "%#llx irq %u",
			    ds->kind, ds->id, (unsigned long long)ds->mmio_base, ds->irq,
			    (unsigned long long)d->base, d->irq);
			return snap_error_set(e, SNAP_E_CAPTURE, why);
		}
		int rc = d && d->ops->restore ? d->ops->restore(d, ds->blob.data, ds->blob.len)
					      : -ENOENT;
		if (rc < 0) {
			snprintf(why, sizeof(why), "restoring device %.31s \"%.63s\" failed (%s)",
				 ds->kind, ds->id, d ? strerror(-rc) : "no such device");
			return snap_error_set(e, SNAP_E_CAPTURE, why);
		}
	}
	return 0;
}

static int load_build(const struct snap_load_req *r, struct snap_state_view *view, int mem_fd,
		      struct evloop *loop, vmm_exit_fn on_exit, void *ctx, struct vmm **out,
		      struct vm_config *cfg, struct snap_error *e)
{
	struct gmem m;
	char err[512];
	int rc = load_config(r, view, cfg, e);
	if (rc < 0) {
		if (mem_fd >= 0)
			close(mem_fd);
		return rc;
	}
	rc = load_memory(r, view, mem_fd, &m, e);
	if (rc < 0) {
		if (mem_fd >= 0 && r->backend == SNAP_MEM_FILE)
			close(mem_fd);
		return rc;
	}
	rc = vmm_restore(cfg, &m, loop, on_exit, ctx, restore_vcpu, view, out, err, sizeof(err));
	if (rc < 0)
		return snap_error_set(e, SNAP_E_CAPTURE, err);
	rc = hv_vm_state_restore(vmm_hv_vm(*out), view->vm_state.data, view->vm_state.len);
	if (rc < 0)
		rc = snap_error_set(e, SNAP_E_CAPTURE,
				    "restoring the VM state (irqchip, PIT, clock) failed");
	if (rc == 0)
		rc = restore_devices(*out, view, e);
	if (rc < 0) {
		vmm_destroy(*out);
		*out = NULL;
	}
	return rc;
}

int snapshot_load(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
		  void *ctx, struct vmm **out, struct vm_config *cfg_out, struct snap_error *e)
{
	uint8_t *payload = NULL;
	size_t len = 0;
	int mem_fd = -1;
	uint64_t t0 = time_mono_us();
	snap_error_clear(e);
	*out = NULL;
	struct snap_state_view *view = calloc(1, sizeof(*view));
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	int rc = (!view || !cfg) ? snap_error_set(e, SNAP_E_CAPTURE, "out of memory") : 0;
	if (rc == 0)
		rc = snap_load_open(r, &payload, &len, view, &mem_fd, e);
	if (rc == 0)
		rc = load_build(r, view, mem_fd, loop, on_exit, ctx, out, cfg, e);
	if (rc == 0 && r->resume_vm && vmm_resume(*out) < 0) {
		rc = snap_error_set(e, SNAP_E_CAPTURE, "resuming the restored microVM failed");
		vmm_destroy(*out);
		*out = NULL;
	}
	if (rc == 0 && r->mmds_json_out) {
		*r->mmds_json_out =
		    view->has_mmds ? strndup((const char *)view->mmds.data, view->mmds.len) : NULL;
		if (view->has_mmds && !*r->mmds_json_out)
			LOG_WARNING(
			    "snapshot: out of memory for the MMDS section; MMDS not restored");
	}
	if (rc == 0) {
		*cfg_out = *cfg;
		LOG_INF("snapshot loaded in %llu us (%s backend)",
			(unsigned long long)(time_mono_us() - t0),
			r->backend == SNAP_MEM_FILE ? "File" : "Uffd");
	}
	free(payload);
	free(view);
	free(cfg);
	return rc;
}
