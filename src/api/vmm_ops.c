/* SPDX-License-Identifier: Apache-2.0 */
/* vmm_ops: the real VMM entry points, and a KVM-less stand-in for the API's own tests. */
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct api_vmm_ops api_vmm_ops_real = {
    .boot = vmm_boot,
    .pause = vmm_pause,
    .resume = vmm_resume,
    .ctrl_alt_del = vmm_send_ctrl_alt_del,
    .destroy = vmm_destroy,
    .snap_create = snapshot_create,
    .snap_load = snapshot_load,
};

/* The fake "vmm" only remembers how to end the guest. */
struct fake_vmm {
	vmm_exit_fn on_exit;
	void *ctx;
};

static int fake_boot(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit,
		     void *ctx, struct vmm **out, char *err, size_t errlen)
{
	struct fake_vmm *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->on_exit = on_exit;
	f->ctx = ctx;
	*out = (struct vmm *)f;
	return 0;
}

static int fake_ok(struct vmm *v)
{
	return 0;
}

static int fake_cad(struct vmm *v)
{
	struct fake_vmm *f = (struct fake_vmm *)v;
	if (f->on_exit)
		f->on_exit(f->ctx, 0); /* the guest "rebooted": Firecracker exits 0 */
	return 0;
}

static void fake_destroy(struct vmm *v)
{
	free(v);
}

static int fake_snap_create(struct vmm *v, const struct vm_config *cfg,
			    const struct snap_create_req *r, struct snap_error *e)
{
	return 0;
}

static int fake_snap_load(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
			  void *ctx, struct vmm **out, struct vm_config *cfg_out,
			  struct snap_error *e)
{
	cfg_out->machine.track_dirty_pages = r->track_dirty_pages;
	return fake_boot(cfg_out, loop, on_exit, ctx, out, NULL, 0);
}

const struct api_vmm_ops api_vmm_ops_fake = {
    .boot = fake_boot,
    .pause = fake_ok,
    .resume = fake_ok,
    .ctrl_alt_del = fake_cad,
    .destroy = fake_destroy,
    .snap_create = fake_snap_create,
    .snap_load = fake_snap_load,
};
