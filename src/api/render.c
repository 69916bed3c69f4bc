/* SPDX-License-Identifier: Apache-2.0 */
/* render: JSON documents of the state (InstanceInfo, MachineConfiguration, FullVmConfiguration). */
#include "api/api_int.h"
#include "squib_version.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const tmpl_names[] = {"None", "C3", "T2", "T2S", "T2CL", "T2A"};

const char *api_state_name(enum api_vm_state s)
{
	switch (s) {
	case API_VM_RUNNING:
		return "Running";
	case API_VM_PAUSED:
		return "Paused";
	default:
		return "Not started";
	}
}

json_t *api_render_root(const struct api_vm *vm);
json_t *api_render_root(const struct api_vm *vm)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "app_name", "Firecracker", "id", vm->id, "state",
			 api_state_name(vm->state), "vmm_version", "squib " SQUIB_VERSION);
}

json_t *api_render_machine(const struct api_vm *vm);
json_t *api_render_machine(const struct api_vm *vm)
{
	const struct machine_cfg *m = &vm->cfg.machine;
	json_t *j = json_pack("{s:I,s:I,s:b,s:b,s:s}", "vcpu_count", (json_int_t)m->vcpu_count,
			      "mem_size_mib", (json_int_t)m->mem_size_mib, "smt", m->smt,
			      "track_dirty_pages", m->track_dirty_pages, "huge_pages",
			      m->huge_pages == HUGE_PAGES_2M ? "2M" : "None");
	if (j && m->cpu_template != CPU_TEMPLATE_NONE &&
	    (unsigned)m->cpu_template < ARRAY_SIZE(tmpl_names))
		json_object_set_new(j, "cpu_template", json_string(tmpl_names[m->cpu_template]));
	return j;
}

static json_t *render_tbucket(const struct tbucket_cfg *b)
{
	if (!b->set)
		return json_null();
	json_t *j = json_pack("{s:I,s:I}", "size", (json_int_t)b->size, "refill_time",
			      (json_int_t)b->refill_time_ms);
	if (j && b->one_time_burst)
		json_object_set_new(j, "one_time_burst",
				    json_integer((json_int_t)b->one_time_burst));
	return j;
}

static json_t *render_rl(const struct rate_limiter_cfg *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return json_null();
	return json_pack("{s:o,s:o}", "bandwidth", render_tbucket(&rl->bandwidth), "ops",
			 render_tbucket(&rl->ops));
}

static json_t *render_drives(const struct vm_config *c)
{
	json_t *arr = json_array();
	for (uint32_t i = 0; i < c->n_drives && i < VM_MAX_DRIVES; i++) {
		const struct drive_cfg *d = &c->drives[i];
		json_t *j =
		    json_pack("{s:s,s:s,s:b,s:b,s:s,s:s,s:o}", "drive_id", d->drive_id,
			      "path_on_host", d->path_on_host, "is_root_device", d->is_root_device,
			      "is_read_only", d->is_read_only, "cache_type",
			      d->cache_type == CACHE_WRITEBACK ? "Writeback" : "Unsafe",
			      "io_engine", d->io_engine == IO_ENGINE_ASYNC ? "Async" : "Sync",
			      "rate_limiter", render_rl(&d->rate_limiter));
		if (j && d->partuuid[0])
			json_object_set_new(j, "partuuid", json_string(d->partuuid));
		json_array_append_new(arr, j);
	}
	return arr;
}

static json_t *render_nets(const struct vm_config *c)
{
	json_t *arr = json_array();
	for (uint32_t i = 0; i < c->n_nets && i < VM_MAX_NETS; i++) {
		const struct net_cfg *n = &c->nets[i];
		json_t *j =
		    json_pack("{s:s,s:s,s:o,s:o}", "iface_id", n->iface_id, "host_dev_name",
			      n->host_dev_name, "rx_rate_limiter", render_rl(&n->rx_rate_limiter),
			      "tx_rate_limiter", render_rl(&n->tx_rate_limiter));
		if (j && n->has_mac) {
			char mac[18];
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
				 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
				 n->guest_mac[5]);
			json_object_set_new(j, "guest_mac", json_string(mac));
		}
		if (j && n->mtu)
			json_object_set_new(j, "mtu", json_integer(n->mtu));
		json_array_append_new(arr, j);
	}
	return arr;
}

json_t *api_render_balloon(const struct api_vm *vm);
json_t *api_render_balloon(const struct api_vm *vm)
{
	const struct balloon_cfg *b = &vm->cfg.balloon;
	if (!b->set)
		return json_null();
	return json_pack("{s:I,s:b,s:I,s:b,s:b}", "amount_mib", (json_int_t)b->amount_mib,
			 "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)b->stats_polling_interval_s, "free_page_hinting",
			 b->free_page_hinting, "free_page_reporting", b->free_page_reporting);
}

static json_t *render_boot(const struct boot_source_cfg *b)
{
	if (!b->set)
		return json_null();
	json_t *j = json_pack("{s:s}", "kernel_image_path", b->kernel_image_path);
	if (j && b->initrd_path[0])
		json_object_set_new(j, "initrd_path", json_string(b->initrd_path));
	if (j && b->has_boot_args)
		json_object_set_new(j, "boot_args", json_string(b->boot_args));
	return j;
}

json_t *api_render_mmds_cfg(const struct api_vm *vm)
{
	if (!vm->mmds_cfg_set)
		return json_null();
	const struct api_mmds_cfg *m = &vm->mmds_cfg;
	char ip[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = htonl(m->ipv4)};
	inet_ntop(AF_INET, &in, ip, sizeof(ip));
	json_t *ifs = json_array();
	for (uint32_t i = 0; i < m->n_ifaces; i++)
		json_array_append_new(ifs, json_string(m->ifaces[i]));
	return json_pack("{s:s,s:o,s:s,s:b}", "version", m->version == 2 ? "V2" : "V1",
			 "network_interfaces", ifs, "ipv4_address", ip, "imds_compat",
			 m->imds_compat);
}

static json_t *render_misc(const struct api_vm *vm, json_t *j)
{
	const struct vm_config *c = &vm->cfg;
	static const char *const lvl[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
	json_object_set_new(j, "vsock",
			    c->vsock.set ? json_pack("{s:I,s:s}", "guest_cid",
						     (json_int_t)c->vsock.guest_cid, "uds_path",
						     c->vsock.uds_path)
					 : json_null());
	json_object_set_new(
	    j, "entropy",
	    c->entropy.set ? json_pack("{s:o}", "rate_limiter", render_rl(&c->entropy.rate_limiter))
			   : json_null());
	json_object_set_new(j, "logger",
			    vm->logger_set
				? json_pack("{s:s,s:s,s:b,s:b}", "log_path", vm->logger.log_path,
					    "level", lvl[vm->logger.level % 6], "show_level",
					    vm->logger.show_level, "show_log_origin",
					    vm->logger.show_origin)
				: json_null());
	json_object_set_new(j, "metrics",
			    vm->metrics_set
				? json_pack("{s:s}", "metrics_path", vm->metrics.metrics_path)
				: json_null());
	json_object_set_new(j, "mmds-config", api_render_mmds_cfg(vm));
	return j;
}

/* "0b" + width chars: 1 where set_mask, 0 where clear_mask, x elsewhere. */
static json_t *render_bitmap(unsigned width, uint64_t set, uint64_t clr)
{
	char b[70] = "0b";
	for (unsigned i = 0; i < width; i++) {
		uint64_t bit = 1ULL << (width - 1 - i);
		b[2 + i] = (set & bit) ? '1' : (clr & bit) ? '0' : 'x';
	}
	b[2 + width] = 0;
	return json_string(b);
}

static json_t *render_cpu(const struct cpu_config_cfg *c)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	char num[24];
	if (!c->set)
		return json_null();
	json_t *cpuid = json_array(), *msrs = json_array(), *last = NULL;
	for (uint32_t i = 0; i < c->n_cpuid && i < VM_MAX_CPUID_MODS; i++) {
		const struct cpuid_modifier *m = &c->cpuid[i];
		const struct cpuid_modifier *p = i ? &c->cpuid[i - 1] : NULL;
		if (!p || p->leaf != m->leaf || p->subleaf != m->subleaf || p->flags != m->flags) {
			char sub[24];
			snprintf(num, sizeof(num), "0x%x", m->leaf);
			snprintf(sub, sizeof(sub), "0x%x", m->subleaf);
			last = json_pack("{s:s,s:s,s:I,s:[]}", "leaf", num, "subleaf", sub, "flags",
					 (json_int_t)m->flags, "modifiers");
			if (!last)
				continue;
			json_array_append_new(cpuid, last);
		}
		if (last)
			json_array_append_new(
			    json_object_get(last, "modifiers"),
			    json_pack("{s:s,s:o}", "register", regs[m->reg & 3], "bitmap",
				      render_bitmap(32, m->set_mask, m->clear_mask)));
	}
	for (uint32_t i = 0; i < c->n_msr && i < VM_MAX_MSR_MODS; i++) {
		snprintf(num, sizeof(num), "0x%x", c->msr[i].addr);
		json_array_append_new(
		    msrs, json_pack("{s:s,s:o}", "addr", num, "bitmap",
				    render_bitmap(64, c->msr[i].set_mask, c->msr[i].clear_mask)));
	}
	return json_pack("{s:o,s:o}", "cpuid_modifiers", cpuid, "msr_modifiers", msrs);
}

json_t *api_vm_config_json(const struct api_vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	json_t *j = json_object();
	if (!j)
		return NULL;
	json_object_set_new(j, "balloon", api_render_balloon(vm));
	json_object_set_new(j, "drives", render_drives(c));
	json_object_set_new(j, "boot-source", render_boot(&c->boot));
	json_object_set_new(j, "cpu-config", render_cpu(&c->cpu_config));
	json_object_set_new(j, "machine-config", api_render_machine(vm));
	json_object_set_new(j, "network-interfaces", render_nets(c));
	json_object_set_new(j, "memory-hotplug", json_null());
	json_object_set_new(j, "pmem", json_array());
	return render_misc(vm, j);
}
