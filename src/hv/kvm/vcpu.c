/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm: vCPU creation, the run/exit decoding, kick, and boot-time register setup. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/base.h"
#include "hv/kvm/kvm_int.h"

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

static void kick_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must return EINTR */
	sigaction(SIGRTMIN, &sa, NULL);
}

int hv_vcpu_create(struct hv_vm *vm, uint32_t id, struct hv_vcpu **out)
{
	pthread_once(&kick_once, kick_install);
	struct hv_vcpu *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->thread = pthread_self();
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		int e = -errno;
		free(v);
		return e;
	}
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = -errno;
		close(v->fd);
		free(v);
		return e;
	}
	/* Make sure the kick signal is deliverable on this thread. */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	*out = v;
	return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, (size_t)v->vm->run_size);
	close(v->fd);
	free(v);
}

static void exit_decode_err(struct hv_vcpu *v, struct hv_exit *x)
{
	struct kvm_run *run = v->run;
	x->kind = HV_EXIT_INTERNAL_ERROR;
	x->u.err.suberror = run->internal.suberror;
	struct kvm_regs r;
	x->u.err.rip = ioctl(v->fd, KVM_GET_REGS, &r) == 0 ? r.rip : 0;
	x->u.err.insn_len = 0;
	/* Emulation failures carry the instruction bytes when KVM provides them. */
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		uint32_t n = run->emulation_failure.insn_size;
		if (n > sizeof(x->u.err.insn))
			n = sizeof(x->u.err.insn);
		memcpy(x->u.err.insn, run->emulation_failure.insn_bytes, n);
		x->u.err.insn_len = n;
	}
}

static void exit_decode(struct hv_vcpu *v, struct hv_exit *x)
{
	struct kvm_run *run = v->run;
	memset(x, 0, sizeof(*x));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		x->kind = HV_EXIT_PIO;
		x->u.pio.port = run->io.port;
		x->u.pio.size = run->io.size;
		x->u.pio.write = run->io.direction == KVM_EXIT_IO_OUT;
		x->u.pio.count = run->io.count;
		x->u.pio.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		x->kind = HV_EXIT_MMIO;
		x->u.mmio.addr = run->mmio.phys_addr;
		x->u.mmio.data = run->mmio.data;
		x->u.mmio.len = run->mmio.len > 8 ? 8 : run->mmio.len;
		x->u.mmio.write = run->mmio.is_write;
		break;
	case KVM_EXIT_HLT:
		x->kind = HV_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		x->kind = HV_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		x->kind = HV_EXIT_SYSTEM_EVENT;
		x->u.reason = run->system_event.type;
		break;
	case KVM_EXIT_INTR:
		x->kind = HV_EXIT_CANCELLED;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		exit_decode_err(v, x);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		x->kind = HV_EXIT_FAIL_ENTRY;
		x->u.reason = run->fail_entry.hardware_entry_failure_reason;
		break;
	default:
		x->kind = HV_EXIT_UNKNOWN;
		x->u.reason = run->exit_reason;
		break;
	}
}

int hv_vcpu_run(struct hv_vcpu *v, struct hv_exit *x)
{
	if (atomic_load(&v->kicked))
		v->run->immediate_exit = 1;
	int r = ioctl(v->fd, KVM_RUN, 0);
	if (r < 0) {
		int e = errno;
		if (e == EINTR || e == EAGAIN) {
			v->run->immediate_exit = 0;
			atomic_store(&v->kicked, false);
			memset(x, 0, sizeof(*x));
			x->kind = HV_EXIT_CANCELLED;
			return 0;
		}
		return -e;
	}
	exit_decode(v, x);
	return 0;
}

void hv_vcpu_kick(struct hv_vcpu *v)
{
	atomic_store(&v->kicked, true);
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, SIGRTMIN);
}

int hv_vcpu_set_cpuid(struct hv_vcpu *v, const struct hv_cpuid_entry *e, uint32_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = n;
	for (uint32_t i = 0; i < n; i++) {
		c->entries[i] = (struct kvm_cpuid_entry2){
		    .function = e[i].function,
		    .index = e[i].index,
		    .flags = (e[i].flags & HV_CPUID_SIGNIFICANT_INDEX)
				 ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX
				 : 0,
		    .eax = e[i].eax,
		    .ebx = e[i].ebx,
		    .ecx = e[i].ecx,
		    .edx = e[i].edx,
		};
	}
	int r = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return r;
}

int hv_vcpu_set_msrs(struct hv_vcpu *v, const struct hv_msr *m, uint32_t n)
{
	struct kvm_msrs *k = calloc(1, sizeof(*k) + n * sizeof(struct kvm_msr_entry));
	if (!k)
		return -ENOMEM;
	k->nmsrs = n;
	for (uint32_t i = 0; i < n; i++) {
		k->entries[i].index = m[i].index;
		k->entries[i].data = m[i].data;
	}
	int r = ioctl(v->fd, KVM_SET_MSRS, k);
	if (r < 0)
		r = -errno;
	free(k);
	return r;
}

int hv_vcpu_get_regs(struct hv_vcpu *v, struct hv_x86_regs *o)
{
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	*o = (struct hv_x86_regs){r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8,
				  r.r9,	 r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags};
	return 0;
}

int hv_vcpu_set_regs(struct hv_vcpu *v, const struct hv_x86_regs *i)
{
	struct kvm_regs r = {
	    .rax = i->rax,
	    .rbx = i->rbx,
	    .rcx = i->rcx,
	    .rdx = i->rdx,
	    .rsi = i->rsi,
	    .rdi = i->rdi,
	    .rsp = i->rsp,
	    .rbp = i->rbp,
	    .r8 = i->r8,
	    .r9 = i->r9,
	    .r10 = i->r10,
	    .r11 = i->r11,
	    .r12 = i->r12,
	    .r13 = i->r13,
	    .r14 = i->r14,
	    .r15 = i->r15,
	    .rip = i->rip,
	    .rflags = i->rflags,
	};
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

static void seg_from_kvm(struct hv_x86_seg *o, const struct kvm_segment *s)
{
	*o = (struct hv_x86_seg){.base = s->base,
				 .limit = s->limit,
				 .selector = s->selector,
				 .type = s->type,
				 .present = s->present,
				 .dpl = s->dpl,
				 .db = s->db,
				 .s = s->s,
				 .l = s->l,
				 .g = s->g,
				 .avl = s->avl};
}

static void seg_to_kvm(struct kvm_segment *o, const struct hv_x86_seg *s)
{
	*o = (struct kvm_segment){.base = s->base,
				  .limit = s->limit,
				  .selector = s->selector,
				  .type = s->type,
				  .present = s->present,
				  .dpl = s->dpl,
				  .db = s->db,
				  .s = s->s,
				  .l = s->l,
				  .g = s->g,
				  .avl = s->avl,
				  .unusable = s->present ? 0 : 1};
}

int hv_vcpu_get_sregs(struct hv_vcpu *v, struct hv_x86_sregs *o)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	seg_from_kvm(&o->cs, &s.cs);
	seg_from_kvm(&o->ds, &s.ds);
	seg_from_kvm(&o->es, &s.es);
	seg_from_kvm(&o->fs, &s.fs);
	seg_from_kvm(&o->gs, &s.gs);
	seg_from_kvm(&o->ss, &s.ss);
	seg_from_kvm(&o->tr, &s.tr);
	seg_from_kvm(&o->ldt, &s.ldt);
	o->gdt_base = s.gdt.base;
	o->gdt_limit = s.gdt.limit;
	o->idt_base = s.idt.base;
	o->idt_limit = s.idt.limit;
	o->cr0 = s.cr0;
	o->cr2 = s.cr2;
	o->cr3 = s.cr3;
	o->cr4 = s.cr4;
	o->cr8 = s.cr8;
	o->efer = s.efer;
	o->apic_base = s.apic_base;
	return 0;
}

int hv_vcpu_set_sregs(struct hv_vcpu *v, const struct hv_x86_sregs *i)
{
	struct kvm_sregs s;
	/* Start from the current state so interrupt_bitmap and apic_base keep KVM's values. */
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	seg_to_kvm(&s.cs, &i->cs);
	seg_to_kvm(&s.ds, &i->ds);
	seg_to_kvm(&s.es, &i->es);
	seg_to_kvm(&s.fs, &i->fs);
	seg_to_kvm(&s.gs, &i->gs);
	seg_to_kvm(&s.ss, &i->ss);
	seg_to_kvm(&s.tr, &i->tr);
	seg_to_kvm(&s.ldt, &i->ldt);
	s.gdt.base = i->gdt_base;
	s.gdt.limit = i->gdt_limit;
	s.idt.base = i->idt_base;
	s.idt.limit = i->idt_limit;
	s.cr0 = i->cr0;
	s.cr2 = i->cr2;
	s.cr3 = i->cr3;
	s.cr4 = i->cr4;
	s.cr8 = i->cr8;
	s.efer = i->efer;
	if (i->apic_base)
		s.apic_base = i->apic_base;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	return 0;
}

int hv_vcpu_set_fpu_defaults(struct hv_vcpu *v, uint16_t fcw, uint32_t mxcsr)
{
	struct kvm_fpu f;
	memset(&f, 0, sizeof(f));
	f.fcw = fcw;
	f.mxcsr = mxcsr;
	if (ioctl(v->fd, KVM_SET_FPU, &f) < 0)
		return -errno;
	return 0;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static uint32_t lapic_get(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;
	memcpy(&v, &l->regs[off], 4);
	return v;
}

static void lapic_set(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
	memcpy(&l->regs[off], &v, 4);
}

int hv_vcpu_init_lapic(struct hv_vcpu *v)
{
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	/* Delivery mode lives in bits 8..10 of each LVT entry. */
	uint32_t lvt0 = lapic_get(&l, APIC_LVT0);
	lapic_set(&l, APIC_LVT0, (lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8));
	uint32_t lvt1 = lapic_get(&l, APIC_LVT1);
	lapic_set(&l, APIC_LVT1, (lvt1 & ~0x700u) | (APIC_MODE_NMI << 8));
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return -errno;
	return 0;
}

int hv_vcpu_kvmclock_ctrl(struct hv_vcpu *v)
{
	if (!v->vm->caps.kvmclock_ctrl)
		return 0;
	if (ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0) < 0) {
		/* EINVAL: the guest has not enabled kvmclock yet; nothing to tell it. */
		return errno == EINVAL ? 0 : -errno;
	}
	return 0;
}
