/* SPDX-License-Identifier: Apache-2.0 */
/* vmm-smoke: boot a kernel through vmm_boot() without the API/CLI, for bring-up tests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "devices/devices.h"
#include "snapshot/snapshot.h"
#include "hv/hv.h"
#include "vmm/vmm.h"

struct smoke {
	bool done;
	int code;
};

static void smoke_on_exit(void *ctx, int code)
{
	struct smoke *s = ctx;
	s->done = true;
	s->code = code;
}

static uint64_t pause_at_ms; /* 0 = no pause/state round trip */
/* 0: pause/resume only, 1: + save, 2: + save/restore in place, 3: move to a new VM */
static int pause_mode = 2;
static struct smoke *smoke_ctx;

#define STATE_CAP (1u << 20)

/* On each paused vCPU's thread: save its state, restore it, save again, compare. */
static int smoke_vcpu_roundtrip(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	static uint8_t a[STATE_CAP], b[STATE_CAP];
	size_t la = sizeof(a), lb = sizeof(b);
	uint64_t t0 = time_mono_us();
	int r = hv_vcpu_state_save(vcpu, a, &la);
	uint64_t t1 = time_mono_us();
	if (r == 0 && pause_mode == 2)
		r = hv_vcpu_state_restore(vcpu, a, la);
	uint64_t t2 = time_mono_us();
	if (r == 0)
		r = hv_vcpu_state_save(vcpu, b, &lb);
	if (r < 0)
		return r;
	fprintf(stderr,
		"vmm-smoke: vcpu %u state %zu bytes, save %llu us, restore %llu us, "
		"re-save %s\n",
		id, la, (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
		la == lb ? "same size" : "DIFFERENT SIZE");
	(*(int *)arg)++;
	return la == lb ? 0 : -EPROTO;
}

struct mig {
	uint8_t *blob[VM_MAX_VCPUS];
	size_t len[VM_MAX_VCPUS];
};

static int mig_save_vcpu(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	struct mig *m = arg;
	m->len[id] = STATE_CAP;
	m->blob[id] = malloc(STATE_CAP);
	if (!m->blob[id])
		return -ENOMEM;
	return hv_vcpu_state_save(vcpu, m->blob[id], &m->len[id]);
}

static int mig_restore_vcpu(struct hv_vcpu *vcpu, uint32_t id, void *arg)
{
	struct mig *m = arg;
	return hv_vcpu_state_restore(vcpu, m->blob[id], m->len[id]);
}

static int mig_devices(struct vmm *from, struct vmm *to)
{
	struct dev *const *a, *const *b;
	uint32_t na = vmm_devices(from, &a), nb = vmm_devices(to, &b);
	if (na != nb)
		return -EPROTO;
	for (uint32_t i = 0; i < na; i++) {
		if (!a[i]->ops->save || !b[i]->ops->restore)
			continue;
		struct sbuf sb;
		sbuf_init(&sb);
		int r = a[i]->ops->save(a[i], &sb);
		if (r == 0)
			r = b[i]->ops->restore(b[i], sb.data, sb.len);
		sbuf_free(&sb);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mig_memory(struct vmm *from, struct gmem *mem)
{
	const struct vm_config *cfg = vmm_config(from);
	int r = gmem_layout_x86(mem, cfg->machine.mem_size_mib << 20);
	if (r == 0)
		r = gmem_alloc(mem);
	const struct gmem *src = vmm_gmem(from);
	for (unsigned i = 0; r == 0 && i < src->nr; i++)
		memcpy(mem->r[i].host, src->r[i].host, src->r[i].size);
	return r;
}

/* Snapshot-like move of a paused VM into a brand new one (vmm_restore), in process. */
static int smoke_migrate(struct vmm **vmp, struct evloop *loop)
{
	struct vmm *old = *vmp, *nv = NULL;
	static struct mig m;
	static uint8_t st[65536];
	size_t len = sizeof(st);
	uint64_t t0 = time_mono_us();
	int r = vmm_for_each_vcpu_paused(old, mig_save_vcpu, &m);
	if (r == 0)
		r = hv_vm_state_save(vmm_hv_vm(old), st, &len);
	uint64_t t1 = time_mono_us();
	struct gmem mem = {.fd = -1};
	if (r == 0)
		r = mig_memory(old, &mem);
	char err[256] = "";
	uint64_t t2 = time_mono_us();
	if (r == 0)
		r = vmm_restore(vmm_config(old), &mem, loop, smoke_on_exit, smoke_ctx,
				mig_restore_vcpu, &m, &nv, err, sizeof(err));
	if (r == 0)
		r = hv_vm_state_restore(vmm_hv_vm(nv), st, len);
	if (r == 0)
		r = mig_devices(old, nv);
	uint64_t t3 = time_mono_us();
	fprintf(stderr,
		"vmm-smoke: migrate -> %d %s(save %llu us, memory copy %llu us, restore %llu us)\n",
		r, err, (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
		(unsigned long long)(t3 - t2));
	for (uint32_t i = 0; i < VM_MAX_VCPUS; i++)
		free(m.blob[i]);
	if (r < 0) {
		vmm_destroy(nv);
		return r;
	}
	vmm_destroy(old);
	*vmp = nv;
	return 0;
}

static int smoke_pause_cycle(struct vmm **vmp, struct evloop *loop)
{
	struct vmm *vm = *vmp;
	uint64_t t0 = time_mono_us();
	int r = vmm_pause(vm);
	uint64_t t1 = time_mono_us();
	fprintf(stderr, "vmm-smoke: pause -> %d in %llu us\n", r, (unsigned long long)(t1 - t0));
	if (r < 0)
		return r;
	if (pause_mode == 3) {
		r = smoke_migrate(vmp, loop);
		vm = *vmp;
	}
	int n = 0;
	static uint8_t st[65536];
	size_t len = 0;
	if (pause_mode == 1 || pause_mode == 2) {
		r = vmm_for_each_vcpu_paused(vm, smoke_vcpu_roundtrip, &n);
		len = sizeof(st);
		if (r == 0)
			r = hv_vm_state_save(vmm_hv_vm(vm), st, &len);
		if (r == 0 && pause_mode == 2)
			r = hv_vm_state_restore(vmm_hv_vm(vm), st, len);
	}
	fprintf(stderr, "vmm-smoke: %d vCPU round trips, VM state %zu bytes -> %d\n", n, len, r);
	t0 = time_mono_us();
	int r2 = vmm_resume(vm);
	fprintf(stderr, "vmm-smoke: resume -> %d in %llu us\n", r2,
		(unsigned long long)(time_mono_us() - t0));
	return r < 0 ? r : r2;
}

static void usage(void)
{
	fprintf(stderr, "usage: vmm-smoke KERNEL [--initrd F] [--mem MiB] [--vcpus N] "
			"[--cmdline S] [--boot-timer] [--serial-out F] [--log-level L] [--smt]\n"
			"       [--pause-at MS [--pause-mode 0|1|2]]\n");
	exit(2);
}

static bool copy_str(char *dst, size_t cap, const char *src)
{
	if (strlen(src) >= cap)
		return false;
	strcpy(dst, src);
	return true;
}

static void parse(int argc, char **argv, struct vm_config *cfg, enum log_level *lvl)
{
	static const struct option opts[] = {
	    {"initrd", required_argument, NULL, 'i'},
	    {"mem", required_argument, NULL, 'm'},
	    {"vcpus", required_argument, NULL, 'c'},
	    {"cmdline", required_argument, NULL, 'a'},
	    {"boot-timer", no_argument, NULL, 't'},
	    {"serial-out", required_argument, NULL, 's'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"smt", no_argument, NULL, 'S'},
	    {"pause-at", required_argument, NULL, 'p'},
	    {"pause-mode", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	int o;
	bool ok = true;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			ok &=
			    copy_str(cfg->boot.initrd_path, sizeof(cfg->boot.initrd_path), optarg);
			break;
		case 'm':
			cfg->machine.mem_size_mib = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			cfg->machine.vcpu_count = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'a':
			ok &= copy_str(cfg->boot.boot_args, sizeof(cfg->boot.boot_args), optarg);
			cfg->boot.has_boot_args = true;
			break;
		case 't':
			cfg->boot_timer = true;
			break;
		case 's':
			ok &= copy_str(cfg->serial_out_path, sizeof(cfg->serial_out_path), optarg);
			break;
		case 'l':
			ok &= log_level_parse(optarg, lvl) == 0;
			break;
		case 'S':
			cfg->machine.smt = true;
			break;
		case 'p':
			pause_at_ms = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			pause_mode = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!ok || optind != argc - 1)
		usage();
	if (!copy_str(cfg->boot.kernel_image_path, sizeof(cfg->boot.kernel_image_path),
		      argv[optind]))
		usage();
	cfg->boot.set = true;
}

int main(int argc, char **argv)
{
	static struct vm_config cfg;
	enum log_level lvl = LOG_INFO;
	vm_config_init(&cfg);
	parse(argc, argv, &cfg, &lvl);
	log_configure(NULL, lvl, true, false);
	cfg.start_time_us = time_mono_us();
	cfg.start_time_cpu_us = time_cpu_us();

	struct evloop *loop;
	if (evloop_create(&loop) < 0)
		return 1;
	struct smoke s = {0};
	smoke_ctx = &s;
	struct vmm *vm;
	char err[512] = "";
	uint64_t t0 = time_mono_us();
	int r = vmm_boot(&cfg, loop, smoke_on_exit, &s, &vm, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vmm-smoke: boot failed: %s (%s)\n", err, strerror(-r));
		evloop_destroy(loop);
		return r == -ENODEV ? 77 : 1;
	}
	fprintf(stderr, "vmm-smoke: vmm_boot took %llu us\n",
		(unsigned long long)(time_mono_us() - t0));
	int rc_pause = 0;
	bool paused_once = false;
	while (!s.done) {
		int timeout = -1;
		if (pause_at_ms && !paused_once) {
			uint64_t el = (time_mono_us() - t0) / 1000;
			if (el >= pause_at_ms) {
				paused_once = true;
				rc_pause = smoke_pause_cycle(&vm, loop);
				continue;
			}
			timeout = (int)(pause_at_ms - el);
		}
		if (evloop_run_once(loop, timeout) < 0)
			break;
	}
	if (rc_pause < 0) {
		fprintf(stderr, "vmm-smoke: pause cycle failed: %s\n", strerror(-rc_pause));
		s.code = s.code ? s.code : 1;
	}
	fprintf(stderr, "vmm-smoke: guest stopped after %llu ms, exit code %d\n",
		(unsigned long long)((time_mono_us() - t0) / 1000), s.code);
	vmm_destroy(vm);
	evloop_destroy(loop);
	return s.code;
}
