/* SPDX-License-Identifier: Apache-2.0 */
/* exec: run typed actions on the VMM thread: phase rules and pre-boot configuration. */
#include "api/api_int.h"
#include "api/exec_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_vm_init(struct api_vm *vm, const char *id, struct evloop *loop, vmm_exit_fn on_exit,
		 void *ctx, size_t mmds_limit)
{
	memset(vm, 0, sizeof(*vm));
	vm_config_init(&vm->cfg);
	snprintf(vm->id, sizeof(vm->id), "%s", id ? id : API_DEFAULT_ID);
	vm->loop = loop;
	vm->on_exit = on_exit;
	vm->exit_ctx = ctx;
	vm->mmds_limit = mmds_limit ? mmds_limit : API_DEFAULT_MAX_PAYLOAD;
	vm->logger.level = LOG_INFO;
	vm->mmds_cfg.version = 1;
	vm->ops = &api_vmm_ops_real;
}

void api_vm_fini(struct api_vm *vm)
{
	if (vm->vmm)
		vm->ops->destroy(vm->vmm);
	vm->vmm = NULL;
	json_decref(vm->mmds);
	vm->mmds = NULL;
}

struct drive_cfg *api_cfg_drive(struct vm_config *cfg, const char *id)
{
	for (uint32_t i = 0; i < cfg->n_drives && i < VM_MAX_DRIVES; i++)
		if (strcmp(cfg->drives[i].drive_id, id) == 0)
			return &cfg->drives[i];
	return NULL;
}

struct net_cfg *api_cfg_net(struct vm_config *cfg, const char *id)
{
	for (uint32_t i = 0; i < cfg->n_nets && i < VM_MAX_NETS; i++)
		if (strcmp(cfg->nets[i].iface_id, id) == 0)
			return &cfg->nets[i];
	return NULL;
}

enum phase { PH_ANY, PH_PRE, PH_POST };

static enum phase kind_phase(enum api_kind k)
{
	switch (k) {
	case API_GET_ROOT:
	case API_GET_VERSION:
	case API_GET_MACHINE:
	case API_GET_VM_CONFIG:
	case API_GET_BALLOON:
	case API_GET_MMDS:
	case API_PUT_MMDS:
	case API_PATCH_MMDS:
		return PH_ANY;
	case API_GET_BALLOON_STATS:
	case API_SEND_CAD:
	case API_FLUSH_METRICS:
	case API_PATCH_DRIVE:
	case API_PATCH_NET:
	case API_PATCH_BALLOON:
	case API_PATCH_BALLOON_STATS:
	case API_BALLOON_HINTING:
	case API_PATCH_VM:
	case API_SNAP_CREATE:
		return PH_POST;
	default:
		return PH_PRE;
	}
}

/* Pre-boot actions that make a later snapshot load illegal (all but logger/metrics/serial). */
static bool boot_specific(enum api_kind k)
{
	return kind_phase(k) == PH_PRE && k != API_PUT_LOGGER && k != API_PUT_METRICS &&
	       k != API_PUT_SERIAL && k != API_START && k != API_SNAP_LOAD;
}

static int validate_machine(const struct api_vm *vm, const struct machine_cfg *m,
			    struct api_response *r)
{
	if (m->vcpu_count == 0 || m->vcpu_count > VM_MAX_VCPUS ||
	    (m->smt && m->vcpu_count > 1 && m->vcpu_count % 2))
		return api_fail(r, 400, MSG_VCPU_COUNT);
	if (m->mem_size_mib == 0 || (m->huge_pages == HUGE_PAGES_2M && m->mem_size_mib % 2))
		return api_fail(r, 400, MSG_MEM_SIZE);
	if (vm->cfg.balloon.set && vm->cfg.balloon.amount_mib > m->mem_size_mib)
		return api_fail(r, 400, MSG_BALLOON_MEM);
	return 0;
}

static int exec_machine(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	const struct api_machine_patch *p = &a->u.mpatch;
	struct machine_cfg m = vm->cfg.machine;
	if (a->kind == API_PUT_MACHINE) {
		m = p->v;
		if (!p->has_tmpl)
			m.cpu_template = vm->cfg.machine.cpu_template;
	} else {
		if (p->has_vcpu)
			m.vcpu_count = p->v.vcpu_count;
		if (p->has_mem)
			m.mem_size_mib = p->v.mem_size_mib;
		if (p->has_smt)
			m.smt = p->v.smt;
		if (p->has_track)
			m.track_dirty_pages = p->v.track_dirty_pages;
		if (p->has_tmpl)
			m.cpu_template = p->v.cpu_template;
		if (p->has_huge)
			m.huge_pages = p->v.huge_pages;
	}
	if (validate_machine(vm, &m, r) < 0)
		return -EINVAL;
	vm->cfg.machine = m;
	vm->machine_put = true;
	return 0;
}

static int exec_drive(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	struct vm_config *c = &vm->cfg;
	const struct drive_cfg *d = &a->u.drive;
	struct drive_cfg *cur = api_cfg_drive(c, d->drive_id);
	for (uint32_t i = 0; d->is_root_device && i < c->n_drives; i++)
		if (c->drives[i].is_root_device && &c->drives[i] != cur)
			return api_fail(r, 400, MSG_ROOT_DRIVE_EXISTS);
	if (!cur) {
		if (c->n_drives >= VM_MAX_DRIVES)
			return api_fail(r, 400, MSG_TOO_MANY_DRIVES, (unsigned)VM_MAX_DRIVES);
		cur = &c->drives[c->n_drives++];
	}
	*cur = *d;
	return 0;
}

static int exec_net(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	struct vm_config *c = &vm->cfg;
	const struct net_cfg *n = &a->u.net;
	struct net_cfg *cur = api_cfg_net(c, n->iface_id);
	for (uint32_t i = 0; i < c->n_nets; i++) {
		const struct net_cfg *o = &c->nets[i];
		if (o == cur)
			continue;
		if (n->has_mac && o->has_mac && memcmp(o->guest_mac, n->guest_mac, 6) == 0) {
			char mac[18];
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
				 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
				 n->guest_mac[5]);
			return api_fail(r, 400, MSG_MAC_IN_USE, mac);
		}
		if (strcmp(o->host_dev_name, n->host_dev_name) == 0)
			return api_fail(r, 400, MSG_TAP_IN_USE, n->host_dev_name);
	}
	if (!cur) {
		if (c->n_nets >= VM_MAX_NETS)
			return api_fail(r, 400, MSG_TOO_MANY_NETS, (unsigned)VM_MAX_NETS);
		cur = &c->nets[c->n_nets++];
	}
	*cur = *n;
	return 0;
}

static int exec_logger(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	const struct api_logger_cfg *l = &a->u.logger;
	char path[VM_PATH_MAX];
	/* no log_path keeps the current sink */
	snprintf(path, sizeof(path), "%s",
		 l->log_path[0] ? l->log_path : (vm->logger_set ? vm->logger.log_path : ""));
	int rc = log_configure(path[0] ? path : NULL, l->level, l->show_level, l->show_origin);
	if (rc < 0)
		return api_fail(r, 400, MSG_LOGGER_OPEN, path, strerror(-rc), -rc);
	log_set_module(l->module);
	vm->logger = *l;
	memcpy(vm->logger.log_path, path, sizeof(path));
	vm->logger_set = true;
	return 0;
}

int api_mmds_cfg_apply(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	const struct api_mmds_cfg *m = &a->u.mmds_cfg;
	for (uint32_t i = 0; i < m->n_ifaces; i++)
		if (!api_cfg_net(&vm->cfg, m->ifaces[i]))
			return api_fail(r, 400, MSG_MMDS_IFACE_UNKNOWN);
	vm->mmds_cfg = *m;
	vm->mmds_cfg_set = true;
	return 0;
}

static int exec_pre(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	struct vm_config *c = &vm->cfg;
	switch (a->kind) {
	case API_PUT_BOOT:
		c->boot = a->u.boot;
		return 0;
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
		return exec_machine(vm, a, r);
	case API_PUT_DRIVE:
		return exec_drive(vm, a, r);
	case API_PUT_NET:
		return exec_net(vm, a, r);
	case API_PUT_VSOCK:
		c->vsock = a->u.vsock;
		return 0;
	case API_PUT_ENTROPY:
		c->entropy = a->u.entropy;
		return 0;
	case API_PUT_BALLOON:
		if (a->u.balloon.amount_mib > c->machine.mem_size_mib)
			return api_fail(r, 400, MSG_BALLOON_TOO_LARGE);
		c->balloon = a->u.balloon;
		return 0;
	case API_PUT_LOGGER:
		return exec_logger(vm, a, r);
	case API_PUT_METRICS: {
		int rc = api_metrics_open(a->u.metrics.metrics_path);
		if (rc < 0)
			return api_fail(r, 400, MSG_METRICS_OPEN, a->u.metrics.metrics_path,
					strerror(-rc), -rc);
		vm->metrics = a->u.metrics;
		vm->metrics_set = true;
		return 0;
	}
	case API_PUT_MMDS_CONFIG:
		return api_mmds_cfg_apply(vm, a, r);
	case API_PUT_SERIAL:
		memcpy(c->serial_out_path, a->u.serial_out_path, sizeof(c->serial_out_path));
		return 0;
	case API_PUT_CPU_CONFIG:
		c->cpu_config = a->u.cpu;
		return 0;
	default:
		return exec_runtime(vm, a, r);
	}
}

void api_exec(struct api_vm *vm, struct api_action *a, struct api_response *r)
{
	enum phase ph = kind_phase(a->kind);
	int rc;
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->status = 204;
	if (ph == PH_PRE && vm->state != API_VM_NOT_STARTED)
		rc = api_fail(r, 400, MSG_NOT_AFTER_START);
	else if (ph == PH_POST && vm->state == API_VM_NOT_STARTED)
		rc = api_fail(r, 400, MSG_NOT_BEFORE_START);
	else
		rc = exec_pre(vm, a, r);
	if (rc == 0 && boot_specific(a->kind))
		vm->boot_specific_set = true;
	if (rc == 0 && a->deprecated) {
		r->deprecated = true;
		api_metrics_deprecated();
	}
	api_metrics_count(a->kind, rc != 0);
}
