/* SPDX-License-Identifier: Apache-2.0 */
/* vmm/vcpu: one thread per vCPU ("fc_vcpu N"): setup, run loop, exits, pause/park, jobs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vmm_int.h"

#define CPUID_CAP 256
#define MSR_CAP 1024
#define PAUSE_TIMEOUT_NS 1000000000LL

static void cpuid_apply_mods(const struct cpu_config_cfg *cc, struct hv_cpuid_entry *e, uint32_t n)
{
	for (uint32_t m = 0; cc->set && m < cc->n_cpuid && m < VM_MAX_CPUID_MODS; m++) {
		const struct cpuid_modifier *md = &cc->cpuid[m];
		for (uint32_t i = 0; i < n; i++) {
			if (e[i].function != md->leaf)
				continue;
			if ((e[i].flags & HV_CPUID_SIGNIFICANT_INDEX) && e[i].index != md->subleaf)
				continue;
			uint32_t *reg[4] = {&e[i].eax, &e[i].ebx, &e[i].ecx, &e[i].edx};
			if (md->reg < 4)
				*reg[md->reg] = (*reg[md->reg] & ~md->clear_mask) | md->set_mask;
		}
	}
}

static int vcpu_setup_cpuid(struct vmm_vcpu *c)
{
	struct vmm *v = c->vmm;
	struct hv_cpuid_entry e[CPUID_CAP];
	uint32_t n = CPUID_CAP;
	int r = hv_vm_supported_cpuid(v->vm, e, &n);
	if (r < 0)
		return r;
	r = arch_x86_cpuid_normalize(e, &n, CPUID_CAP, c->id, v->n_vcpus, v->cfg.machine.smt);
	if (r < 0)
		return r;
	cpuid_apply_mods(&v->cfg.cpu_config, e, n);
	return hv_vcpu_set_cpuid(c->hv, e, n);
}

static bool msr_supported(const uint32_t *idx, uint32_t n, uint32_t msr)
{
	for (uint32_t i = 0; i < n; i++)
		if (idx[i] == msr)
			return true;
	return false;
}

static int vcpu_setup_msrs(struct vmm_vcpu *c)
{
	struct vmm *v = c->vmm;
	static __thread uint32_t idx[MSR_CAP];
	static __thread struct hv_msr m[MSR_CAP];
	uint32_t n_idx = MSR_CAP;
	int r = hv_vm_msr_index_list(v->vm, idx, &n_idx);
	if (r < 0)
		return r;
	uint32_t n = arch_x86_boot_msrs(idx, n_idx, m, MSR_CAP);
	const struct cpu_config_cfg *cc = &v->cfg.cpu_config;
	for (uint32_t k = 0; cc->set && k < cc->n_msr && k < VM_MAX_MSR_MODS; k++) {
		const struct msr_modifier *md = &cc->msr[k];
		if (!msr_supported(idx, n_idx, md->addr))
			continue;
		uint32_t i = 0;
		while (i < n && m[i].index != md->addr)
			i++;
		if (i == n && n < MSR_CAP)
			m[n++] = (struct hv_msr){.index = md->addr, .data = 0};
		if (i < n)
			m[i].data = (m[i].data & ~md->clear_mask) | md->set_mask;
	}
	/* Policy: an MSR the host refuses is skipped with a warning, the rest are still set. */
	uint32_t done = 0;
	while (done < n) {
		r = hv_vcpu_set_msrs(c->hv, m + done, n - done);
		if (r < 0)
			return r;
		done += (uint32_t)r;
		if (done < n) {
			LOG_WARNING("vcpu %u: host refused boot MSR %#x, skipped", c->id,
				    m[done].index);
			done++;
		}
	}
	return 0;
}

static int vcpu_setup(struct vmm_vcpu *c)
{
	struct vmm *v = c->vmm;
	const char *step = "create";
	int r = hv_vcpu_create(v->vm, c->id, &c->hv);
	if (r == 0 && v->restore_vcpu) {
		step = "restore";
		r = v->restore_vcpu(c->hv, c->id, v->restore_arg);
		goto out;
	}
	if (r == 0 && (step = "cpuid"))
		r = vcpu_setup_cpuid(c);
	if (r == 0 && (step = "msrs"))
		r = vcpu_setup_msrs(c);
	if (r == 0 && c->id == 0 && (step = "regs"))
		r = hv_vcpu_set_regs(c->hv, &v->boot.regs);
	if (r == 0 && (step = "fpu"))
		r = hv_vcpu_set_fpu_defaults(c->hv, 0x37f, 0x1f80);
	if (r == 0 && c->id == 0 && (step = "sregs"))
		r = hv_vcpu_set_sregs(c->hv, &v->boot.sregs);
	if (r == 0 && (step = "lapic"))
		r = hv_vcpu_init_lapic(c->hv);
out:
	if (r < 0)
		LOG_ERR("vcpu %u: setup failed at %s: %s", c->id, step, strerror(-r));
	return r;
}

void vmm_request_exit(struct vmm *v, int code, const char *why)
{
	bool expect = false;
	if (!atomic_compare_exchange_strong(&v->exited, &expect, true))
		return;
	atomic_store(&v->exit_code, code);
	if (code == 0)
		LOG_INF("Vmm is stopping: %s", why);
	else
		LOG_ERR("Vmm is stopping (exit code %d): %s", code, why);
	pthread_mutex_lock(&v->lock);
	v->stop = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	for (uint32_t i = 0; i < v->n_vcpus; i++)
		if (v->vcpus[i].hv && !pthread_equal(v->vcpus[i].thread, pthread_self()))
			hv_vcpu_kick(v->vcpus[i].hv);
	uint64_t one = 1;
	ssize_t n = write(v->exit_efd, &one, sizeof(one));
	(void)n;
}

/* Park while a pause is requested; run jobs in id order. Returns true if the VM stops. */
static bool vcpu_park(struct vmm_vcpu *c)
{
	struct vmm *v = c->vmm;
	pthread_mutex_lock(&v->lock);
	bool want = v->pause_req && !v->stop, stopping = v->stop;
	pthread_mutex_unlock(&v->lock);
	if (!want)
		return stopping;
	int r = hv_vcpu_kvmclock_ctrl(c->hv);
	if (r < 0)
		LOG_WARNING("vcpu %u: KVM_KVMCLOCK_CTRL failed: %s", c->id, strerror(-r));
	pthread_mutex_lock(&v->lock);
	v->n_parked++;
	pthread_cond_broadcast(&v->cond);
	while (v->pause_req && !v->stop) {
		if (v->job_gen != c->job_seen && v->job_next == c->id) {
			c->job_seen = v->job_gen;
			int (*fn)(struct hv_vcpu *, uint32_t, void *) = v->job_fn;
			void *arg = v->job_arg;
			pthread_mutex_unlock(&v->lock);
			int jr = fn(c->hv, c->id, arg);
			pthread_mutex_lock(&v->lock);
			if (jr < 0) {
				v->job_rc = jr;
				v->job_next = v->n_vcpus;
			} else {
				v->job_next++;
			}
			pthread_cond_broadcast(&v->cond);
			continue;
		}
		pthread_cond_wait(&v->cond, &v->lock);
	}
	v->n_parked--;
	bool stop = v->stop;
	pthread_mutex_unlock(&v->lock);
	return stop;
}

static void vcpu_io(struct vmm *v, struct hv_exit *x)
{
	if (x->kind == HV_EXIT_PIO) {
		uint32_t sz = x->u.pio.size;
		for (uint32_t i = 0; i < x->u.pio.count; i++) {
			uint8_t *d = x->u.pio.data + (size_t)i * sz;
			if (x->u.pio.write)
				bus_write(v->bus, BUS_PIO, x->u.pio.port, d, sz);
			else if (!bus_read(v->bus, BUS_PIO, x->u.pio.port, d, sz))
				memset(d, 0, sz); /* see "Unhandled port reads" in docs/vmm.md */
		}
	} else if (x->u.mmio.write) {
		bus_write(v->bus, BUS_MMIO, x->u.mmio.addr, x->u.mmio.data, x->u.mmio.len);
	} else {
		bus_read(v->bus, BUS_MMIO, x->u.mmio.addr, x->u.mmio.data, x->u.mmio.len);
	}
}

static void vcpu_fatal(struct vmm_vcpu *c, const struct hv_exit *x)
{
	char why[160], bytes[16 * 3 + 1] = "";
	switch (x->kind) {
	case HV_EXIT_INTERNAL_ERROR:
		for (uint32_t i = 0; i < x->u.err.insn_len && i < 16; i++)
			snprintf(bytes + 3 * i, 4, "%02x ", x->u.err.insn[i]);
		snprintf(why, sizeof(why),
			 "vcpu %u: KVM internal error (suberror %u) at rip %#llx, insn [%s]", c->id,
			 x->u.err.suberror, (unsigned long long)x->u.err.rip, bytes);
		break;
	case HV_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "vcpu %u: VM entry failed, hardware reason %#llx", c->id,
			 (unsigned long long)x->u.reason);
		break;
	default:
		snprintf(why, sizeof(why), "vcpu %u: unexpected exit (reason %llu)", c->id,
			 (unsigned long long)x->u.reason);
		break;
	}
	vmm_request_exit(c->vmm, 1, why);
}

/* Handle one exit. Returns false when the vCPU thread must end. */
static bool vcpu_handle(struct vmm_vcpu *c, struct hv_exit *x)
{
	struct vmm *v = c->vmm;
	char why[96];
	switch (x->kind) {
	case HV_EXIT_PIO:
	case HV_EXIT_MMIO:
		vcpu_io(v, x);
		return !atomic_load(&v->exited);
	case HV_EXIT_CANCELLED:
		return !vcpu_park(c);
	case HV_EXIT_HLT:
		snprintf(why, sizeof(why), "vcpu %u halted", c->id);
		vmm_request_exit(v, 0, why);
		return false;
	case HV_EXIT_SHUTDOWN:
		snprintf(why, sizeof(why), "vcpu %u: guest shutdown (triple fault)", c->id);
		vmm_request_exit(v, 0, why);
		return false;
	case HV_EXIT_SYSTEM_EVENT:
		if (x->u.reason == 1 || x->u.reason == 2) { /* SHUTDOWN, RESET */
			snprintf(why, sizeof(why), "vcpu %u: guest %s", c->id,
				 x->u.reason == 1 ? "power-off" : "reset");
			vmm_request_exit(v, 0, why);
		} else {
			snprintf(why, sizeof(why), "vcpu %u: unexpected system event %llu", c->id,
				 (unsigned long long)x->u.reason);
			vmm_request_exit(v, 1, why);
		}
		return false;
	default:
		vcpu_fatal(c, x);
		return false;
	}
}

static void vcpu_loop(struct vmm_vcpu *c)
{
	struct vmm *v = c->vmm;
	for (;;) {
		struct hv_exit x;
		int r = hv_vcpu_run(c->hv, &x);
		if (r < 0) {
			char why[96];
			snprintf(why, sizeof(why), "vcpu %u: KVM_RUN failed: %s", c->id,
				 strerror(-r));
			vmm_request_exit(v, 1, why);
			return;
		}
		if (!vcpu_handle(c, &x))
			return;
	}
}

static void *vcpu_main(void *arg)
{
	struct vmm_vcpu *c = arg;
	struct vmm *v = c->vmm;
	char name[16];
	snprintf(name, sizeof(name), "fc_vcpu %u", c->id);
	pthread_setname_np(pthread_self(), name);
	int r = vcpu_setup(c);
	pthread_mutex_lock(&v->lock);
	if (r < 0 && v->setup_rc == 0)
		v->setup_rc = r;
	v->n_ready++;
	pthread_cond_broadcast(&v->cond);
	while (!v->go && !v->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	bool stop = v->stop;
	pthread_mutex_unlock(&v->lock);
	if (!stop && r == 0 && !vcpu_park(c)) /* parks only when started paused */
		vcpu_loop(c);
	return NULL;
}

int vmm_vcpus_start(struct vmm *v, bool start_paused, char *err, size_t errlen)
{
	uint32_t started = 0;
	int r = 0;
	for (uint32_t i = 0; i < v->n_vcpus; i++) {
		struct vmm_vcpu *c = &v->vcpus[i];
		c->vmm = v;
		c->id = i;
		r = -pthread_create(&c->thread, NULL, vcpu_main, c);
		if (r < 0)
			break;
		c->thread_started = true;
		started++;
	}
	pthread_mutex_lock(&v->lock);
	while (v->n_ready < started)
		pthread_cond_wait(&v->cond, &v->lock);
	if (r == 0)
		r = v->setup_rc;
	if (r == 0) {
		v->go = true;
		v->pause_req = start_paused;
	}
	pthread_cond_broadcast(&v->cond);
	while (r == 0 && start_paused && v->n_parked < v->n_vcpus && !v->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
	if (r < 0)
		snprintf(err, errlen, "Start microvm error: vCPU setup failed: %s", strerror(-r));
	return r;
}

void vmm_vcpus_stop(struct vmm *v)
{
	pthread_mutex_lock(&v->lock);
	v->stop = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	for (uint32_t i = 0; i < v->n_vcpus; i++)
		if (v->vcpus[i].hv)
			hv_vcpu_kick(v->vcpus[i].hv);
	for (uint32_t i = 0; i < v->n_vcpus; i++) {
		struct vmm_vcpu *c = &v->vcpus[i];
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		c->thread_started = false;
		hv_vcpu_destroy(c->hv);
		c->hv = NULL;
	}
}

int vmm_pause(struct vmm *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->stop) {
		pthread_mutex_unlock(&v->lock);
		return -ESRCH;
	}
	v->pause_req = true;
	pthread_mutex_unlock(&v->lock);
	for (uint32_t i = 0; i < v->n_vcpus; i++)
		hv_vcpu_kick(v->vcpus[i].hv);
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += PAUSE_TIMEOUT_NS % 1000000000LL;
	dl.tv_sec += PAUSE_TIMEOUT_NS / 1000000000LL + dl.tv_nsec / 1000000000LL;
	dl.tv_nsec %= 1000000000LL;
	int r = 0;
	pthread_mutex_lock(&v->lock);
	while (v->n_parked < v->n_vcpus && !v->stop && r == 0)
		r = pthread_cond_timedwait(&v->cond, &v->lock, &dl);
	if (v->n_parked < v->n_vcpus) {
		/* Give up: let the ones that parked run again. */
		v->pause_req = false;
		pthread_cond_broadcast(&v->cond);
		r = v->stop ? -ESRCH : -ETIMEDOUT;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&v->lock);
	if (r == 0) {
		for (uint32_t i = 0; i < v->n_legacy; i++)
			if (v->devs[i]->ops->pause)
				v->devs[i]->ops->pause(v->devs[i]);
		if (v->virtio)
			virtio_set_pause(v->virtio);
	}
	return r;
}

int vmm_resume(struct vmm *v)
{
	if (v->virtio)
		virtio_set_resume(v->virtio);
	for (uint32_t i = 0; i < v->n_legacy; i++)
		if (v->devs[i]->ops->resume)
			v->devs[i]->ops->resume(v->devs[i]);
	pthread_mutex_lock(&v->lock);
	v->pause_req = false;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

bool vmm_is_paused(const struct vmm *v)
{
	struct vmm *m = (struct vmm *)v;
	pthread_mutex_lock(&m->lock);
	bool p = m->pause_req && m->n_parked == m->n_vcpus;
	pthread_mutex_unlock(&m->lock);
	return p;
}

int vmm_for_each_vcpu_paused(struct vmm *v, int (*fn)(struct hv_vcpu *vcpu, uint32_t id, void *arg),
			     void *arg)
{
	pthread_mutex_lock(&v->lock);
	if (!v->pause_req || v->n_parked != v->n_vcpus || v->stop) {
		pthread_mutex_unlock(&v->lock);
		return -EAGAIN;
	}
	v->job_fn = fn;
	v->job_arg = arg;
	v->job_rc = 0;
	v->job_next = 0;
	v->job_gen++;
	pthread_cond_broadcast(&v->cond);
	while (v->job_next < v->n_vcpus && !v->stop)
		pthread_cond_wait(&v->cond, &v->lock);
	int r = v->job_rc;
	pthread_mutex_unlock(&v->lock);
	return r;
}
