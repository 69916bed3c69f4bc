/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm: vCPU state save/restore as a little-endian, tagged-section blob (docs/vmm.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/base.h"
#include "hv/kvm/kvm_int.h"

#define VCPU_BLOB_MAGIC 0x43565153u /* "SQVC" */
#define VCPU_BLOB_VERSION 1u
#define MSR_IA32_TSC 0x10u
#define MSR_IA32_TSC_DEADLINE 0x6e0u

enum vcpu_tag {
	VT_MPSTATE = 1,
	VT_REGS,
	VT_SREGS,
	VT_XSAVE,
	VT_XCRS,
	VT_DEBUGREGS,
	VT_LAPIC,
	VT_TSC_KHZ,
	VT_CPUID,
	VT_MSRS,
	VT_EVENTS,
	VT_COUNT
};

static void seg_put(struct blob_w *w, const struct kvm_segment *s)
{
	blob_u64(w, s->base);
	blob_u32(w, s->limit);
	blob_u16(w, s->selector);
	uint8_t f[8] = {s->type, s->present, s->dpl, s->db, s->s, s->l, s->g, s->avl};
	blob_put(w, f, 8);
	blob_u8(w, s->unusable);
}

static void seg_get(struct blob_r *r, struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->base = blob_r64(r);
	s->limit = blob_r32(r);
	s->selector = blob_r16(r);
	uint8_t f[8];
	blob_get(r, f, 8);
	s->type = f[0], s->present = f[1], s->dpl = f[2], s->db = f[3];
	s->s = f[4], s->l = f[5], s->g = f[6], s->avl = f[7];
	s->unusable = blob_r8(r);
}

static int save_regs(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	const uint64_t f[18] = {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8,
				r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags};
	for (int i = 0; i < 18; i++)
		blob_u64(w, f[i]);
	return 0;
}

static int load_regs(struct hv_vcpu *v, struct blob_r *b)
{
	uint64_t f[18];
	for (int i = 0; i < 18; i++)
		f[i] = blob_r64(b);
	struct kvm_regs r = {.rax = f[0],
			     .rbx = f[1],
			     .rcx = f[2],
			     .rdx = f[3],
			     .rsi = f[4],
			     .rdi = f[5],
			     .rsp = f[6],
			     .rbp = f[7],
			     .r8 = f[8],
			     .r9 = f[9],
			     .r10 = f[10],
			     .r11 = f[11],
			     .r12 = f[12],
			     .r13 = f[13],
			     .r14 = f[14],
			     .r15 = f[15],
			     .rip = f[16],
			     .rflags = f[17]};
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

static int save_sregs(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	const struct kvm_segment *segs[8] = {&s.cs, &s.ds, &s.es, &s.fs,
					     &s.gs, &s.ss, &s.tr, &s.ldt};
	for (int i = 0; i < 8; i++)
		seg_put(w, segs[i]);
	blob_u64(w, s.gdt.base);
	blob_u16(w, s.gdt.limit);
	blob_u64(w, s.idt.base);
	blob_u16(w, s.idt.limit);
	const uint64_t f[7] = {s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base};
	for (int i = 0; i < 7; i++)
		blob_u64(w, f[i]);
	blob_u32(w, (uint32_t)ARRAY_SIZE(s.interrupt_bitmap));
	for (size_t i = 0; i < ARRAY_SIZE(s.interrupt_bitmap); i++)
		blob_u64(w, s.interrupt_bitmap[i]);
	return 0;
}

static int load_sregs(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	struct kvm_segment *segs[8] = {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt};
	for (int i = 0; i < 8; i++)
		seg_get(b, segs[i]);
	s.gdt.base = blob_r64(b);
	s.gdt.limit = blob_r16(b);
	s.idt.base = blob_r64(b);
	s.idt.limit = blob_r16(b);
	__u64 *f[7] = {&s.cr0, &s.cr2, &s.cr3, &s.cr4, &s.cr8, &s.efer, &s.apic_base};
	for (int i = 0; i < 7; i++)
		*f[i] = blob_r64(b);
	if (blob_r32(b) != ARRAY_SIZE(s.interrupt_bitmap))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(s.interrupt_bitmap); i++)
		s.interrupt_bitmap[i] = blob_r64(b);
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

static size_t xsave_size(const struct hv_vcpu *v)
{
	return v->vm->xsave_size ? (size_t)v->vm->xsave_size : sizeof(struct kvm_xsave);
}

static int save_xsave(struct hv_vcpu *v, struct blob_w *w)
{
	size_t n = xsave_size(v);
	struct kvm_xsave *x = calloc(1, n);
	if (!x)
		return -ENOMEM;
	unsigned long req = v->vm->xsave_size ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	int r = ioctl(v->fd, req, x) < 0 ? -errno : 0;
	if (r == 0) {
		/* The XSAVE area is an architectural little-endian byte image. */
		blob_u32(w, (uint32_t)n);
		blob_put(w, x, n);
	}
	free(x);
	return r;
}

static int load_xsave(struct hv_vcpu *v, struct blob_r *b)
{
	uint32_t n = blob_r32(b);
	size_t cap = xsave_size(v);
	if (b->bad || n > b->len - b->pos || n > cap)
		return -EINVAL;
	struct kvm_xsave *x = calloc(1, cap);
	if (!x)
		return -ENOMEM;
	blob_get(b, x, n);
	int r = ioctl(v->fd, KVM_SET_XSAVE, x) < 0 ? -errno : 0;
	free(x);
	return r;
}

static int save_xcrs(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_xcrs x;
	memset(&x, 0, sizeof(x));
	if (ioctl(v->fd, KVM_GET_XCRS, &x) < 0)
		return -errno;
	uint32_t n = x.nr_xcrs > KVM_MAX_XCRS ? KVM_MAX_XCRS : x.nr_xcrs;
	blob_u32(w, n);
	blob_u32(w, x.flags);
	for (uint32_t i = 0; i < n; i++) {
		blob_u32(w, x.xcrs[i].xcr);
		blob_u64(w, x.xcrs[i].value);
	}
	return 0;
}

static int load_xcrs(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_xcrs x;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = blob_r32(b);
	x.flags = blob_r32(b);
	if (x.nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;
	for (uint32_t i = 0; i < x.nr_xcrs; i++) {
		x.xcrs[i].xcr = blob_r32(b);
		x.xcrs[i].value = blob_r64(b);
	}
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_XCRS, &x) < 0 ? -errno : 0;
}

static int save_debugregs(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_debugregs d;
	if (ioctl(v->fd, KVM_GET_DEBUGREGS, &d) < 0)
		return -errno;
	for (int i = 0; i < 4; i++)
		blob_u64(w, d.db[i]);
	blob_u64(w, d.dr6);
	blob_u64(w, d.dr7);
	blob_u64(w, d.flags);
	return 0;
}

static int load_debugregs(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_debugregs d;
	memset(&d, 0, sizeof(d));
	for (int i = 0; i < 4; i++)
		d.db[i] = blob_r64(b);
	d.dr6 = blob_r64(b);
	d.dr7 = blob_r64(b);
	d.flags = blob_r64(b);
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_DEBUGREGS, &d) < 0 ? -errno : 0;
}

static int save_lapic(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	/* The APIC register page is little-endian 32-bit registers at 16-byte strides. */
	blob_u32(w, KVM_APIC_REG_SIZE);
	blob_put(w, l.regs, KVM_APIC_REG_SIZE);
	return 0;
}

static int load_lapic(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_lapic_state l;
	if (blob_r32(b) != KVM_APIC_REG_SIZE)
		return -EINVAL;
	blob_get(b, l.regs, KVM_APIC_REG_SIZE);
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static int save_cpuid(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + KVM_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = KVM_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, c) < 0) {
		int e = -errno;
		free(c);
		return e;
	}
	blob_u32(w, c->nent);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		const uint32_t f[7] = {e->function, e->index, e->flags, e->eax,
				       e->ebx,	    e->ecx,   e->edx};
		for (int j = 0; j < 7; j++)
			blob_u32(w, f[j]);
	}
	free(c);
	return 0;
}

static bool cpuid_entry_eq(const struct kvm_cpuid_entry2 *a, const struct kvm_cpuid_entry2 *b)
{
	return a->function == b->function && a->index == b->index && a->flags == b->flags &&
	       a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx && a->edx == b->edx;
}

/* true when the vCPU already has exactly these entries (KVM refuses a different CPUID once
 * a vCPU has run; an identical one needs no call at all). */
static bool cpuid_same(struct hv_vcpu *v, const struct kvm_cpuid2 *want)
{
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + KVM_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return false;
	c->nent = KVM_MAX_CPUID;
	bool same = ioctl(v->fd, KVM_GET_CPUID2, c) == 0 && c->nent == want->nent;
	for (uint32_t i = 0; same && i < c->nent; i++) {
		if (!cpuid_entry_eq(&c->entries[i], &want->entries[i])) {
			same = false;
			LOG_DBG("vcpu %u: CPUID %#x.%u differs from the saved one", v->id,
				c->entries[i].function, c->entries[i].index);
		}
	}
	free(c);
	return same;
}

static int load_cpuid(struct hv_vcpu *v, struct blob_r *b)
{
	uint32_t n = blob_r32(b);
	if (b->bad || n > KVM_MAX_CPUID)
		return -EINVAL;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = n;
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		e->function = blob_r32(b), e->index = blob_r32(b), e->flags = blob_r32(b);
		e->eax = blob_r32(b), e->ebx = blob_r32(b), e->ecx = blob_r32(b);
		e->edx = blob_r32(b);
	}
	int r = b->bad ? -EINVAL : 0;
	if (r == 0 && !cpuid_same(v, c) && ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		r = -errno;
	free(c);
	return r;
}

static int save_msrs(struct hv_vcpu *v, struct blob_w *w);
static int load_msrs(struct hv_vcpu *v, struct blob_r *b);

static void events_put(struct blob_w *w, const struct kvm_vcpu_events *e)
{
	uint8_t a[4] = {e->exception.injected, e->exception.nr, e->exception.has_error_code,
			e->exception.pending};
	blob_put(w, a, 4);
	blob_u32(w, e->exception.error_code);
	uint8_t i[4] = {e->interrupt.injected, e->interrupt.nr, e->interrupt.soft,
			e->interrupt.shadow};
	blob_put(w, i, 4);
	uint8_t n[3] = {e->nmi.injected, e->nmi.pending, e->nmi.masked};
	blob_put(w, n, 3);
	blob_u32(w, e->sipi_vector);
	blob_u32(w, e->flags);
	uint8_t s[4] = {e->smi.smm, e->smi.pending, e->smi.smm_inside_nmi, e->smi.latched_init};
	blob_put(w, s, 4);
	blob_u8(w, e->triple_fault.pending);
	blob_u8(w, e->exception_has_payload);
	blob_u64(w, e->exception_payload);
}

static int save_events(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_vcpu_events e;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e) < 0)
		return -errno;
	events_put(w, &e);
	return 0;
}

static int load_events(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_vcpu_events e;
	memset(&e, 0, sizeof(e));
	uint8_t a[4], i[4], n[3], s[4];
	blob_get(b, a, 4);
	e.exception.injected = a[0], e.exception.nr = a[1];
	e.exception.has_error_code = a[2], e.exception.pending = a[3];
	e.exception.error_code = blob_r32(b);
	blob_get(b, i, 4);
	e.interrupt.injected = i[0], e.interrupt.nr = i[1];
	e.interrupt.soft = i[2], e.interrupt.shadow = i[3];
	blob_get(b, n, 3);
	e.nmi.injected = n[0], e.nmi.pending = n[1], e.nmi.masked = n[2];
	e.sipi_vector = blob_r32(b);
	e.flags = blob_r32(b);
	blob_get(b, s, 4);
	e.smi.smm = s[0], e.smi.pending = s[1], e.smi.smm_inside_nmi = s[2];
	e.smi.latched_init = s[3];
	e.triple_fault.pending = blob_r8(b);
	e.exception_has_payload = blob_r8(b);
	e.exception_payload = blob_r64(b);
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &e) < 0 ? -errno : 0;
}

static int save_mpstate(struct hv_vcpu *v, struct blob_w *w)
{
	struct kvm_mp_state m;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &m) < 0)
		return -errno;
	blob_u32(w, m.mp_state);
	return 0;
}

static int load_mpstate(struct hv_vcpu *v, struct blob_r *b)
{
	struct kvm_mp_state m = {.mp_state = blob_r32(b)};
	if (b->bad)
		return -EINVAL;
	return ioctl(v->fd, KVM_SET_MP_STATE, &m) < 0 ? -errno : 0;
}

static int save_tsc(struct hv_vcpu *v, struct blob_w *w)
{
	int k = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	blob_u32(w, k > 0 ? (uint32_t)k : 0); /* 0 = unknown */
	return 0;
}

static int load_tsc(struct hv_vcpu *v, struct blob_r *b)
{
	uint32_t want = blob_r32(b);
	if (b->bad)
		return -EINVAL;
	int have = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (want == 0 || have <= 0)
		return 0;
	/* Scale only beyond 250 ppm, as Firecracker (after QEMU) does. */
	uint64_t diff = want > (uint32_t)have ? want - (uint32_t)have : (uint32_t)have - want;
	if (diff * 1000000ULL <= (uint64_t)want * 250ULL)
		return 0;
	if (!v->vm->caps.tsc_control) {
		LOG_WARNING("vcpu %u: saved TSC %u kHz differs from host %d kHz and TSC scaling "
			    "is unavailable",
			    v->id, want, have);
		return 0;
	}
	return ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)want) < 0 ? -errno : 0;
}

typedef int (*save_fn)(struct hv_vcpu *, struct blob_w *);
typedef int (*load_fn)(struct hv_vcpu *, struct blob_r *);

/* Save order: MP state first (it may accept pending LAPIC events), events last. */
static const struct {
	uint32_t tag;
	save_fn save;
} save_order[] = {
    {VT_MPSTATE, save_mpstate}, {VT_REGS, save_regs},	  {VT_SREGS, save_sregs},
    {VT_XSAVE, save_xsave},	{VT_XCRS, save_xcrs},	  {VT_DEBUGREGS, save_debugregs},
    {VT_LAPIC, save_lapic},	{VT_TSC_KHZ, save_tsc},	  {VT_CPUID, save_cpuid},
    {VT_MSRS, save_msrs},	{VT_EVENTS, save_events},
};

/* Restore order: TSC and CPUID first, MP state, regs before events, LAPIC after sregs and
 * before MSRs (TSC deadline), events last. */
static const struct {
	uint32_t tag;
	load_fn load;
} load_order[] = {
    {VT_TSC_KHZ, load_tsc}, {VT_CPUID, load_cpuid},	    {VT_MPSTATE, load_mpstate},
    {VT_REGS, load_regs},   {VT_SREGS, load_sregs},	    {VT_XSAVE, load_xsave},
    {VT_XCRS, load_xcrs},   {VT_DEBUGREGS, load_debugregs}, {VT_LAPIC, load_lapic},
    {VT_MSRS, load_msrs},   {VT_EVENTS, load_events},
};

int hv_vcpu_state_save(struct hv_vcpu *v, uint8_t *buf, size_t *len)
{
	struct blob_w w = {.buf = buf, .cap = *len};
	blob_u32(&w, VCPU_BLOB_MAGIC);
	blob_u32(&w, VCPU_BLOB_VERSION);
	for (size_t i = 0; i < ARRAY_SIZE(save_order); i++) {
		size_t at = blob_section_begin(&w, save_order[i].tag);
		int r = save_order[i].save(v, &w);
		if (r < 0) {
			LOG_ERR("vcpu %u: saving state section %u failed: %d", v->id,
				save_order[i].tag, r);
			return r;
		}
		blob_section_end(&w, at);
	}
	*len = w.len;
	return w.overflow ? -ENOSPC : 0;
}

int hv_vcpu_state_restore(struct hv_vcpu *v, const uint8_t *buf, size_t len)
{
	struct blob_r r = {.buf = buf, .len = len};
	if (blob_r32(&r) != VCPU_BLOB_MAGIC || blob_r32(&r) != VCPU_BLOB_VERSION || r.bad)
		return -EINVAL;
	struct blob_r sec[VT_COUNT];
	for (size_t i = 0; i < ARRAY_SIZE(save_order); i++)
		blob_section(&r, save_order[i].tag, &sec[save_order[i].tag]);
	if (r.bad || r.pos != r.len)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(load_order); i++) {
		struct blob_r *s = &sec[load_order[i].tag];
		int e = load_order[i].load(v, s);
		if (e == 0 && s->pos != s->len)
			e = -EINVAL;
		if (e < 0) {
			LOG_ERR("vcpu %u: restoring state section %u failed: %d", v->id,
				load_order[i].tag, e);
			return e;
		}
	}
	return 0;
}

/* ---- MSRs ---- */

static int msrs_read(struct hv_vcpu *v, struct kvm_msrs *k, const uint32_t *idx, uint32_t n)
{
	/* KVM_GET_MSRS stops at the first unreadable MSR: skip it and carry on. */
	uint32_t got = 0;
	struct kvm_msrs *t = calloc(1, sizeof(*t) + n * sizeof(struct kvm_msr_entry));
	if (!t)
		return -ENOMEM;
	uint32_t i = 0;
	while (i < n) {
		t->nmsrs = n - i;
		for (uint32_t j = 0; j < t->nmsrs; j++)
			t->entries[j] = (struct kvm_msr_entry){.index = idx[i + j]};
		int r = ioctl(v->fd, KVM_GET_MSRS, t);
		if (r < 0) {
			int e = -errno;
			free(t);
			return e;
		}
		for (int j = 0; j < r; j++)
			k->entries[got++] = t->entries[j];
		i += (uint32_t)r + 1; /* entry r (if any) failed */
	}
	k->nmsrs = got;
	free(t);
	return 0;
}

static int save_msrs(struct hv_vcpu *v, struct blob_w *w)
{
	int r = kvm_msr_index_load(v->vm);
	if (r < 0)
		return r;
	uint32_t n = v->vm->n_msr_idx;
	struct kvm_msrs *k = calloc(1, sizeof(*k) + n * sizeof(struct kvm_msr_entry));
	if (!k)
		return -ENOMEM;
	r = msrs_read(v, k, v->vm->msr_idx, n);
	if (r == 0) {
		blob_u32(w, k->nmsrs);
		for (uint32_t i = 0; i < k->nmsrs; i++) {
			blob_u32(w, k->entries[i].index);
			blob_u64(w, k->entries[i].data);
		}
	}
	free(k);
	return r;
}

static int load_msrs(struct hv_vcpu *v, struct blob_r *b)
{
	uint32_t n = blob_r32(b);
	if (b->bad || n > KVM_MAX_MSR_IDX)
		return -EINVAL;
	struct hv_msr *m = calloc(n + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	uint32_t o = 0;
	struct hv_msr deadline = {0};
	bool has_deadline = false;
	for (uint32_t i = 0; i < n; i++) {
		struct hv_msr x = {.index = blob_r32(b)};
		x.data = blob_r64(b);
		if (x.index == MSR_IA32_TSC_DEADLINE) {
			deadline = x, has_deadline = true; /* must follow MSR_IA32_TSC */
			continue;
		}
		m[o++] = x;
	}
	if (has_deadline)
		m[o++] = deadline;
	int r = b->bad ? -EINVAL : 0;
	uint32_t i = 0, skipped = 0;
	while (r == 0 && i < o) {
		int s = hv_vcpu_set_msrs(v, m + i, o - i);
		if (s < 0) {
			r = s;
			break;
		}
		i += (uint32_t)s;
		if (i < o) {
			/* Policy: an MSR this host refuses is skipped and reported, not fatal. */
			LOG_WARNING("vcpu %u: host refused MSR %#x on restore", v->id, m[i].index);
			i++, skipped++;
		}
	}
	free(m);
	(void)skipped;
	return r;
}
