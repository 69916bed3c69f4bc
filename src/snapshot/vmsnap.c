/* SPDX-License-Identifier: Apache-2.0 */
/* vmsnap: PUT /snapshot/create and /snapshot/load over a running (paused) microVM. */
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

#define VCPU_BLOB_MAX (512u * 1024u)
#define VM_BLOB_MAX (64u * 1024u)

struct vcpu_blobs {
	uint8_t *buf[VM_MAX_VCPUS];
	size_t len[VM_MAX_VCPUS];
};

static int capture_vcpu(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	struct vcpu_blobs *vb = arg;
	if (id >= VM_MAX_VCPUS)
		return -EINVAL;
	vb->buf[id] = malloc(VCPU_BLOB_MAX);
	if (!vb->buf[id])
		return -ENOMEM;
	vb->len[id] = VCPU_BLOB_MAX;
	return hv_vcpu_state_save(vcpu, vb->buf[id], &vb->len[id]);
}

static void vcpu_blobs_free(struct vcpu_blobs *vb)
{
	for (uint32_t i = 0; i < VM_MAX_VCPUS; i++)
		free(vb->buf[i]);
}

/* Devices first (Firecracker: a device may raise an interrupt while saving). */
static int capture_devices(struct vmm *v, struct sbuf *out)
{
	struct dev *const *devs;
	uint32_t n = vmm_devices(v, &devs);
	for (uint32_t i = 0; i < n; i++) {
		struct dev *d = devs[i];
		if (!d->ops->save)
			continue;
		size_t mk = snap_sec_device_begin(out, d->ops->kind, d->id, d->base, d->irq);
		int r = d->ops->save(d, out);
		if (r < 0)
			return r;
		snap_sec_device_end(out, mk);
	}
	return out->err;
}

static int capture_vm_state(struct vmm *v, struct sbuf *out)
{
	uint8_t *buf = malloc(VM_BLOB_MAX);
	size_t len = VM_BLOB_MAX;
	if (!buf)
		return -ENOMEM;
	int r = hv_vm_state_save(vmm_hv_vm(v), buf, &len);
	if (r == 0)
		r = snap_sec_vm_state_put(out, buf, len);
	free(buf);
	return r;
}

/* KVM dirty log of every RAM slot OR'ed with the VMM-side bitmap, indexed by file offset. */
static uint64_t *collect_dirty(struct vmm *v)
{
	struct gmem *m = vmm_gmem(v);
	uint64_t words = (m->total / PAGE_SIZE + 63) / 64;
	uint64_t *bm = calloc(words ? words : 1, sizeof(uint64_t));
	if (!bm)
		return NULL;
	for (unsigned i = 0; i < m->nr; i++) {
		uint64_t npages = m->r[i].size / PAGE_SIZE;
		uint64_t *slot = calloc((npages + 63) / 64, sizeof(uint64_t));
		if (!slot || hv_vm_dirty_log(vmm_hv_vm(v), i, npages, slot) < 0) {
			free(slot);
			free(bm);
			return NULL;
		}
		uint64_t first = m->r[i].file_offset / PAGE_SIZE; /* multiple of 64 pages */
		for (uint64_t w = 0; w < (npages + 63) / 64; w++)
			bm[first / 64 + w] |= slot[w];
		free(slot);
	}
	if (m->dirty)
		for (uint64_t w = 0; w < words; w++)
			bm[w] |= __atomic_exchange_n(&m->dirty[w], 0, __ATOMIC_RELAXED);
	return bm;
}

/* Put pages collected but not written back into the VMM bitmap so the next Diff has them. */
static void dirty_giveback(struct gmem *m, const uint64_t *bm)
{
	if (!m->dirty || !bm)
		return;
	for (uint64_t w = 0; w < (m->total / PAGE_SIZE + 63) / 64; w++)
		__atomic_or_fetch(&m->dirty[w], bm[w], __ATOMIC_RELAXED);
}

static int build_payload(struct vmm *v, const struct vm_config *cfg, const char *mmds,
			 struct sbuf *p, struct snap_error *e)
{
	struct snap_identity id;
	struct vcpu_blobs vb = {0};
	struct sbuf devs;
	sbuf_init(&devs);
	int r = capture_devices(v, &devs);
	if (r == 0)
		r = vmm_for_each_vcpu_paused(v, capture_vcpu, &vb);
	if (r < 0) {
		snap_error_set(e, SNAP_E_CAPTURE,
			       r == -EAGAIN ? "the microVM is not paused"
					    : "saving vCPU or device state failed");
		goto out;
	}
	snap_identity_host(&id);
	id.cpu.tsc_khz = hv_vm_tsc_khz(vmm_hv_vm(v));
	snap_sec_identity_put(p, &id);
	struct snap_vm_info *vi = calloc(1, sizeof(*vi));
	if (!vi) {
		r = snap_error_set(e, SNAP_E_CAPTURE, "out of memory");
		goto out;
	}
	vi->machine = cfg->machine;
	vi->boot = cfg->boot;
	vi->dev = *cfg;
	snap_sec_vm_info_put(p, vi);
	free(vi);
	for (uint32_t i = 0; i < vmm_vcpu_count(v); i++)
		snap_sec_vcpu_put(p, i, vb.buf[i], vb.len[i]);
	r = capture_vm_state(v, p);
	if (r == 0)
		r = sbuf_put_bytes(p, devs.data, devs.len);
	if (r == 0 && mmds)
		r = snap_sec_mmds_put(p, mmds, strlen(mmds));
	if (r == 0 && p->err)
		r = p->err;
	if (r < 0)
		snap_error_set(e, SNAP_E_CAPTURE, "saving VM state failed");
out:
	vcpu_blobs_free(&vb);
	sbuf_free(&devs);
	return r;
}

int snapshot_create(struct vmm *v, const struct vm_config *cfg, const struct snap_create_req *r,
		    struct snap_error *e)
{
	snap_error_clear(e);
	if (snap_path_validate(r->snapshot_path, e) < 0 ||
	    snap_path_validate(r->mem_file_path, e) < 0)
		return -EINVAL;
	if (r->type == SNAP_DIFF && !cfg->machine.track_dirty_pages)
		return snap_error_set(e, SNAP_E_INVALID_PATH,
				      "Diff snapshot requested but track_dirty_pages is false");
	if (!vmm_is_paused(v))
		return snap_error_set(e, SNAP_E_CAPTURE, "the microVM is not paused");
	struct sbuf p;
	sbuf_init(&p);
	int rc = build_payload(v, cfg, r->mmds_json, &p, e);
	uint64_t *dirty = NULL;
	if (rc == 0 && cfg->machine.track_dirty_pages) {
		dirty = collect_dirty(v);
		if (!dirty)
			rc = snap_error_set(e, SNAP_E_CAPTURE, "reading the dirty page log failed");
	}
	if (rc == 0) {
		uint64_t t0 = time_mono_us();
		rc = snap_write_pair(r, cfg->machine.track_dirty_pages, &p, vmm_gmem(v),
				     r->type == SNAP_DIFF ? dirty : NULL, e);
		LOG_INF("snapshot %s: %s (%llu us)", r->type == SNAP_DIFF ? "Diff" : "Full",
			rc == 0 ? "written" : e->msg, (unsigned long long)(time_mono_us() - t0));
	}
	if (rc < 0)
		dirty_giveback(vmm_gmem(v), dirty);
	free(dirty);
	sbuf_free(&p);
	return rc;
}
