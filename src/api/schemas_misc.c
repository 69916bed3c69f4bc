/* SPDX-License-Identifier: Apache-2.0 */
/* schemas_misc: logger, metrics, MMDS config, serial, actions, vm state, cpu-config bodies. */
#include "api/api_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			return -EINVAL;                                                            \
	} while (0)

int schema_logger(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"log_path",	      "level",	"show_level",
					   "show_log_origin", "module", NULL};
	struct api_logger_cfg *l = &a->u.logger;
	char lvl[32];
	bool has_lvl;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "log_path", false, l->log_path, sizeof(l->log_path), NULL, r));
	CHECK(jr_str(o, "", "level", false, lvl, sizeof(lvl), &has_lvl, r));
	l->level = LOG_INFO;
	if (has_lvl && log_level_parse(lvl, &l->level) < 0)
		return api_fail(r, 400, MSG_JSON_VARIANT, lvl, "level",
				"`Error`, `Warning`, `Info`, `Debug`, `Trace`, `Off`");
	CHECK(jr_bool(o, "", "show_level", false, &l->show_level, NULL, r));
	CHECK(jr_bool(o, "", "show_log_origin", false, &l->show_origin, NULL, r));
	return jr_str(o, "", "module", false, l->module, sizeof(l->module), NULL, r);
}

int schema_metrics(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"metrics_path", NULL};
	CHECK(jr_object(o, "", keys, r));
	return jr_str(o, "", "metrics_path", true, a->u.metrics.metrics_path,
		      sizeof(a->u.metrics.metrics_path), NULL, r);
}

int schema_mmds_config(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"network_interfaces", "version", "ipv4_address",
					   "imds_compat", NULL};
	static const char *const versions[] = {"V1", "V2", NULL};
	struct api_mmds_cfg *m = &a->u.mmds_cfg;
	json_t *arr, *v;
	size_t i;
	int ver = 0;
	char ip[64];
	bool has_ip;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_sub(o, "", "network_interfaces", true, JSON_ARRAY, &arr, r));
	if (json_array_size(arr) > VM_MAX_NETS)
		return api_fail(r, 400, MSG_JSON_RANGE, "network_interfaces",
				"at most 8 interface IDs");
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) >= VM_ID_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return api_fail(r, 400, MSG_JSON_TYPE, "network_interfaces",
					"an array of interface IDs");
		snprintf(m->ifaces[i], VM_ID_MAX, "%s", json_string_value(v));
	}
	m->n_ifaces = (uint32_t)json_array_size(arr);
	if (m->n_ifaces == 0)
		return api_fail(r, 400, MSG_MMDS_IFACE_EMPTY);
	CHECK(jr_enum(o, "", "version", false, versions, &ver, NULL, r));
	m->version = ver + 1;
	CHECK(jr_str(o, "", "ipv4_address", false, ip, sizeof(ip), &has_ip, r));
	m->ipv4 = 0xa9fea9feu; /* 169.254.169.254 */
	if (has_ip) {
		struct in_addr in;
		if (inet_pton(AF_INET, ip, &in) != 1)
			return api_fail(r, 400, MSG_JSON_RANGE, "ipv4_address", "an IPv4 address");
		m->ipv4 = ntohl(in.s_addr);
		if ((m->ipv4 >> 16) != 0xa9fe)
			return api_fail(r, 400, MSG_MMDS_IPV4);
	}
	return jr_bool(o, "", "imds_compat", false, &m->imds_compat, NULL, r);
}

int schema_serial(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"serial_out_path", "rate_limiter", NULL};
	struct tbucket_cfg tb;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "serial_out_path", false, a->u.serial_out_path,
		     sizeof(a->u.serial_out_path), NULL, r));
	return jr_tbucket(o, "", "rate_limiter", &tb, r);
}

int schema_actions(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"action_type", NULL};
	static const char *const types[] = {"FlushMetrics", "InstanceStart", "SendCtrlAltDel",
					    NULL};
	int t = 0;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_enum(o, "", "action_type", true, types, &t, NULL, r));
	a->kind = t == 0 ? API_FLUSH_METRICS : t == 1 ? API_START : API_SEND_CAD;
	return 0;
}

int schema_vm(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"state", NULL};
	static const char *const states[] = {"Paused", "Resumed", NULL};
	int s = 0;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_enum(o, "", "state", true, states, &s, NULL, r));
	a->u.pause = s == 0;
	return 0;
}

/* A u32/u64 given as a JSON integer or a "0x.."/decimal string. */
static int cpu_num(json_t *o, const char *ctx, const char *key, bool req, uint64_t max,
		   uint64_t *out, struct api_response *r)
{
	char nm[256];
	json_t *v = json_object_get(o, key);
	if (v && json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		unsigned long long x = strtoull(s, &end, 0);
		if (!*s || *end || errno || x > max || s[0] == '-' ||
		    strlen(s) != json_string_length(v))
			return api_fail(r, 400, MSG_JSON_RANGE, jr_name(nm, sizeof(nm), ctx, key),
					"a number (decimal or 0x hex)");
		*out = x;
		return 0;
	}
	*out = 0;
	return jr_u64(o, ctx, key, req, 0, max, out, NULL, r);
}

/* "0b" + width chars of 0/1/x -> set (1) and clear (0) masks. */
static int cpu_bitmap(json_t *o, const char *ctx, unsigned width, uint64_t *set, uint64_t *clr,
		      struct api_response *r)
{
	char buf[80], nm[256], want[64];
	*set = *clr = 0;
	CHECK(jr_str(o, ctx, "bitmap", true, buf, sizeof(buf), NULL, r));
	snprintf(want, sizeof(want), "\"0b\" followed by %u of 0, 1 or x", width);
	if (strncmp(buf, "0b", 2) != 0 || strlen(buf) != width + 2)
		return api_fail(r, 400, MSG_JSON_RANGE, jr_name(nm, sizeof(nm), ctx, "bitmap"),
				want);
	for (unsigned i = 0; i < width; i++) {
		char c = buf[2 + i];
		uint64_t bit = 1ULL << (width - 1 - i);
		if (c == '1')
			*set |= bit;
		else if (c == '0')
			*clr |= bit;
		else if (c != 'x')
			return api_fail(r, 400, MSG_JSON_RANGE,
					jr_name(nm, sizeof(nm), ctx, "bitmap"), want);
	}
	return 0;
}

static int cpu_cpuid(json_t *arr, struct cpu_config_cfg *c, struct api_response *r)
{
	static const char *const keys[] = {"leaf", "subleaf", "flags", "modifiers", NULL};
	static const char *const mkeys[] = {"register", "bitmap", NULL};
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx", NULL};
	size_t i, j;
	json_t *e, *mods, *m;
	json_array_foreach(arr, i, e)
	{
		uint64_t leaf, sub, flags, set, clr;
		CHECK(jr_object(e, "cpuid_modifiers", keys, r));
		CHECK(cpu_num(e, "cpuid_modifiers", "leaf", true, UINT32_MAX, &leaf, r));
		CHECK(cpu_num(e, "cpuid_modifiers", "subleaf", true, UINT32_MAX, &sub, r));
		CHECK(cpu_num(e, "cpuid_modifiers", "flags", false, UINT32_MAX, &flags, r));
		CHECK(jr_sub(e, "cpuid_modifiers", "modifiers", true, JSON_ARRAY, &mods, r));
		json_array_foreach(mods, j, m)
		{
			int reg = 0;
			if (c->n_cpuid >= VM_MAX_CPUID_MODS)
				return api_fail(r, 400, MSG_JSON_RANGE, "cpuid_modifiers",
						"at most 128 register modifiers");
			CHECK(jr_object(m, "cpuid_modifiers.modifiers", mkeys, r));
			CHECK(jr_enum(m, "cpuid_modifiers.modifiers", "register", true, regs, &reg,
				      NULL, r));
			CHECK(cpu_bitmap(m, "cpuid_modifiers.modifiers", 32, &set, &clr, r));
			struct cpuid_modifier *cm = &c->cpuid[c->n_cpuid++];
			*cm =
			    (struct cpuid_modifier){(uint32_t)leaf, (uint32_t)sub, (uint32_t)flags,
						    (uint8_t)reg,   (uint32_t)set, (uint32_t)clr};
		}
	}
	return 0;
}

int schema_cpu_config(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"kvm_capabilities", "cpuid_modifiers", "msr_modifiers",
					   NULL};
	static const char *const mkeys[] = {"addr", "bitmap", NULL};
	struct cpu_config_cfg *c = &a->u.cpu;
	json_t *caps, *cpuid, *msrs, *e;
	size_t i;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_sub(o, "", "kvm_capabilities", false, JSON_ARRAY, &caps, r));
	json_array_foreach(caps, i, e)
	{
		if (!json_is_string(e))
			return api_fail(r, 400, MSG_JSON_TYPE, "kvm_capabilities",
					"an array of strings");
	}
	CHECK(jr_sub(o, "", "cpuid_modifiers", false, JSON_ARRAY, &cpuid, r));
	if (cpuid)
		CHECK(cpu_cpuid(cpuid, c, r));
	CHECK(jr_sub(o, "", "msr_modifiers", false, JSON_ARRAY, &msrs, r));
	json_array_foreach(msrs, i, e)
	{
		uint64_t addr, set, clr;
		if (c->n_msr >= VM_MAX_MSR_MODS)
			return api_fail(r, 400, MSG_JSON_RANGE, "msr_modifiers",
					"at most 64 modifiers");
		CHECK(jr_object(e, "msr_modifiers", mkeys, r));
		CHECK(cpu_num(e, "msr_modifiers", "addr", true, UINT32_MAX, &addr, r));
		CHECK(cpu_bitmap(e, "msr_modifiers", 64, &set, &clr, r));
		c->msr[c->n_msr++] = (struct msr_modifier){(uint32_t)addr, set, clr};
	}
	c->set = true;
	return 0;
}
