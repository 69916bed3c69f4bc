/* SPDX-License-Identifier: Apache-2.0 */
/* exec_runtime: GETs, InstanceStart, pause/resume, post-boot updates, MMDS and snapshots. */
#include "api/api_int.h"
#include "api/exec_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int exec_start(struct api_vm *vm, struct api_response *r)
{
	char err[512] = "";
	if (!vm->cfg.boot.set)
		return api_fail(r, 400, MSG_NO_KERNEL);
	uint64_t t0 = time_mono_us();
	int rc = vm->ops->boot(&vm->cfg, vm->loop, vm->on_exit, vm->exit_ctx, &vm->vmm, err,
			       sizeof(err));
	if (rc < 0) {
		vm->vmm = NULL;
		LOG_ERR("InstanceStart failed: %s", err[0] ? err : strerror(-rc));
		if (err[0])
			return api_fail_text(r, 400, err);
		return api_fail(r, 400, MSG_START_FAILED, strerror(-rc));
	}
	vm->state = API_VM_RUNNING;
	LOG_INF("microVM started in %llu us", (unsigned long long)(time_mono_us() - t0));
	if (api_metrics_is_open())
		api_metrics_flush();
	return 0;
}

static int exec_vm_state(struct api_vm *vm, bool pause, struct api_response *r)
{
	uint64_t t0 = time_mono_us();
	int rc = 0;
	if (pause && vm->state == API_VM_RUNNING) {
		rc = vm->ops->pause(vm->vmm);
		if (rc == -ETIMEDOUT)
			return api_fail(r, 503, MSG_PAUSE_TIMEOUT);
		if (rc < 0)
			return api_fail(r, 400, MSG_VM_STATE_FAILED, "pause", strerror(-rc));
		vm->state = API_VM_PAUSED;
		api_metrics_latency("pause_vm", time_mono_us() - t0);
	} else if (!pause && vm->state == API_VM_PAUSED) {
		rc = vm->ops->resume(vm->vmm);
		if (rc < 0)
			return api_fail(r, 400, MSG_VM_STATE_FAILED, "resume", strerror(-rc));
		vm->state = API_VM_RUNNING;
		api_metrics_latency("resume_vm", time_mono_us() - t0);
	}
	return 0;
}

static int snap_fail(struct api_response *r, const struct snap_error *e)
{
	return api_fail_text(r, e->http_status ? e->http_status : 500, e->msg);
}

static int exec_snap_create(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	struct snap_error e = {0};
	if (vm->state != API_VM_PAUSED)
		return api_fail(r, 400, MSG_CREATE_NOT_PAUSED);
	uint64_t t0 = time_mono_us();
	char *mmds = api_mmds_snapshot_text(vm);
	a->u.snap_create.mmds_json = mmds;
	int rc = vm->ops->snap_create(vm->vmm, &vm->cfg, &a->u.snap_create, &e);
	a->u.snap_create.mmds_json = NULL;
	free(mmds);
	if (rc < 0)
		return snap_fail(r, &e);
	api_metrics_latency(a->u.snap_create.type == SNAP_DIFF ? "diff_create_snapshot"
							       : "full_create_snapshot",
			    time_mono_us() - t0);
	return 0;
}

static int exec_snap_load(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	struct snap_error e = {0};
	struct vm_config *out = malloc(sizeof(*out));
	struct vmm *v = NULL;
	if (!out)
		return api_fail(r, 500, MSG_OUT_OF_MEMORY);
	if (vm->boot_specific_set) {
		free(out);
		return api_fail(r, 400, MSG_LOAD_AFTER_CONFIG);
	}
	*out = vm->cfg;
	uint64_t t0 = time_mono_us();
	char *mmds = NULL;
	a->u.snap_load.mmds_json_out = &mmds;
	int rc =
	    vm->ops->snap_load(&a->u.snap_load, vm->loop, vm->on_exit, vm->exit_ctx, &v, out, &e);
	a->u.snap_load.mmds_json_out = NULL;
	if (rc < 0) {
		free(out);
		return snap_fail(r, &e);
	}
	api_metrics_latency("load_snapshot", time_mono_us() - t0);
	vm->cfg = *out;
	free(out);
	if (mmds)
		api_mmds_snapshot_restore(vm, mmds); /* after cfg: its interfaces must exist */
	free(mmds);
	vm->vmm = v;
	vm->restored = true;
	vm->state = a->u.snap_load.resume_vm ? API_VM_RUNNING : API_VM_PAUSED;
	return 0;
}

static int exec_mmds(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	json_t *next;
	if (a->kind == API_PUT_MMDS) {
		next = json_incref(a->json);
	} else {
		if (!vm->mmds)
			return api_fail(r, 400, MSG_MMDS_NOT_INIT);
		next = api_merge_patch(json_deep_copy(vm->mmds), a->json);
	}
	if (!next)
		return api_fail(r, 500, MSG_OUT_OF_MEMORY);
	if (api_json_size(next) > vm->mmds_limit) {
		json_decref(next);
		return api_fail(r, 413, MSG_MMDS_LIMIT, vm->mmds_limit);
	}
	json_decref(vm->mmds);
	vm->mmds = next;
	return 0;
}

static int exec_balloon(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	char err[256] = "";
	json_t *out = NULL;
	int rc = 0;
	struct balloon_cfg *b = &vm->cfg.balloon;
	if (!b->set)
		return api_fail(r, 400, MSG_BALLOON_NONE);
	switch (a->kind) {
	case API_PATCH_BALLOON:
		if (a->u.amount_mib > vm->cfg.machine.mem_size_mib)
			return api_fail(r, 400, MSG_BALLOON_TOO_LARGE);
		rc = api_dev_balloon_update(vm->vmm, a->u.amount_mib, err, sizeof(err));
		if (rc == 0)
			b->amount_mib = a->u.amount_mib;
		break;
	case API_PATCH_BALLOON_STATS:
		if (b->stats_polling_interval_s == 0 && a->u.stats_interval_s != 0)
			return api_fail(r, 400, MSG_BALLOON_STATS_DISABLED);
		rc = api_dev_balloon_stats_update(vm->vmm, a->u.stats_interval_s, err, sizeof(err));
		if (rc == 0)
			b->stats_polling_interval_s = a->u.stats_interval_s;
		break;
	case API_GET_BALLOON_STATS:
		if (b->stats_polling_interval_s == 0)
			return api_fail(r, 400, MSG_BALLOON_STATS_DISABLED);
		rc = api_dev_balloon_stats(vm->vmm, &out, err, sizeof(err));
		break;
	default:
		rc = api_dev_balloon_hinting(vm->vmm, a->u.hint_op, &out, err, sizeof(err));
		break;
	}
	if (rc < 0) {
		json_decref(out);
		return api_fail(r, 400, MSG_DEVICE_UPDATE, "balloon", err[0] ? err : strerror(-rc));
	}
	if (out)
		api_ok_json(r, out);
	return 0;
}

static int exec_patch_dev(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	char err[256] = "";
	int rc;
	if (a->kind == API_PATCH_DRIVE) {
		struct drive_cfg *d = api_cfg_drive(&vm->cfg, a->u.dpatch.drive_id);
		if (!d)
			return api_fail(r, 400, MSG_DRIVE_NOT_FOUND, a->u.dpatch.drive_id);
		rc = api_dev_drive_update(vm->vmm, &a->u.dpatch, err, sizeof(err));
		if (rc < 0)
			return api_fail(r, 400, MSG_DEVICE_UPDATE, "block",
					err[0] ? err : strerror(-rc));
		if (a->u.dpatch.has_path)
			memcpy(d->path_on_host, a->u.dpatch.path_on_host, sizeof(d->path_on_host));
		if (a->u.dpatch.has_rl)
			d->rate_limiter = a->u.dpatch.rl;
		return 0;
	}
	struct net_cfg *n = api_cfg_net(&vm->cfg, a->u.npatch.iface_id);
	if (!n)
		return api_fail(r, 400, MSG_NET_NOT_FOUND, a->u.npatch.iface_id);
	rc = api_dev_net_update(vm->vmm, &a->u.npatch, err, sizeof(err));
	if (rc < 0)
		return api_fail(r, 400, MSG_DEVICE_UPDATE, "network", err[0] ? err : strerror(-rc));
	if (a->u.npatch.has_rx)
		n->rx_rate_limiter = a->u.npatch.rx;
	if (a->u.npatch.has_tx)
		n->tx_rate_limiter = a->u.npatch.tx;
	return 0;
}

static int exec_get(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	switch (a->kind) {
	case API_GET_ROOT:
		api_ok_json(r, api_render_root(vm));
		return 0;
	case API_GET_VERSION:
		api_ok_json(r, json_pack("{s:s}", "firecracker_version", API_FC_VERSION));
		return 0;
	case API_GET_MACHINE:
		api_ok_json(r, api_render_machine(vm));
		return 0;
	case API_GET_VM_CONFIG:
		api_ok_json(r, api_vm_config_json(vm));
		return 0;
	case API_GET_BALLOON:
		if (!vm->cfg.balloon.set)
			return api_fail(r, 400, MSG_BALLOON_NONE);
		api_ok_json(r, api_render_balloon(vm));
		return 0;
	default: /* API_GET_MMDS */
		if (!vm->mmds)
			return api_fail(r, 404, MSG_MMDS_NOT_INIT);
		api_ok_json(r, json_incref(vm->mmds));
		return 0;
	}
}

int exec_runtime(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	int rc;
	switch (a->kind) {
	case API_START:
		return exec_start(vm, r);
	case API_SEND_CAD:
		rc = vm->ops->ctrl_alt_del(vm->vmm);
		return rc < 0 ? api_fail(r, 400, MSG_DEVICE_UPDATE, "i8042", strerror(-rc)) : 0;
	case API_FLUSH_METRICS:
		if (!api_metrics_is_open())
			return api_fail(r, 400, MSG_METRICS_NONE);
		api_metrics_flush();
		return 0;
	case API_PATCH_DRIVE:
	case API_PATCH_NET:
		return exec_patch_dev(vm, a, r);
	case API_PATCH_BALLOON:
	case API_PATCH_BALLOON_STATS:
	case API_GET_BALLOON_STATS:
	case API_BALLOON_HINTING:
		return exec_balloon(vm, a, r);
	case API_PUT_MMDS:
	case API_PATCH_MMDS:
		return exec_mmds(vm, a, r);
	case API_PATCH_VM:
		return exec_vm_state(vm, a->u.pause, r);
	case API_SNAP_CREATE:
		return exec_snap_create(vm, a, r);
	case API_SNAP_LOAD:
		return exec_snap_load(vm, a, r);
	default:
		return exec_get(vm, a, r);
	}
}
