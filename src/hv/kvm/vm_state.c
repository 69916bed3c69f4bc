/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm: VM-wide state (PIT, kvmclock, PIC master/slave, IOAPIC) as an LE section blob. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/base.h"
#include "hv/kvm/kvm_int.h"

#define VM_BLOB_MAGIC 0x4d565153u /* "SQVM" */
#define VM_BLOB_VERSION 1u

enum vm_tag { VMT_PIT = 1, VMT_CLOCK, VMT_PIC_MASTER, VMT_PIC_SLAVE, VMT_IOAPIC };

static void pit_put(struct blob_w *w, const struct kvm_pit_state2 *p)
{
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];
		blob_u32(w, c->count);
		blob_u16(w, c->latched_count);
		uint8_t f[10] = {
		    c->count_latched, c->status_latched, c->status, c->read_state, c->write_state,
		    c->write_latch,   c->rw_mode,	 c->mode,   c->bcd,	   c->gate};
		blob_put(w, f, 10);
		blob_u64(w, (uint64_t)c->count_load_time);
	}
	blob_u32(w, p->flags);
}

static void pit_get(struct blob_r *r, struct kvm_pit_state2 *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &p->channels[i];
		c->count = blob_r32(r);
		c->latched_count = blob_r16(r);
		uint8_t f[10];
		blob_get(r, f, 10);
		c->count_latched = f[0], c->status_latched = f[1], c->status = f[2];
		c->read_state = f[3], c->write_state = f[4], c->write_latch = f[5];
		c->rw_mode = f[6], c->mode = f[7], c->bcd = f[8], c->gate = f[9];
		c->count_load_time = (int64_t)blob_r64(r);
	}
	p->flags = blob_r32(r);
}

static void pic_put(struct blob_w *w, const struct kvm_pic_state *p)
{
	uint8_t f[16] = {p->last_irr,
			 p->irr,
			 p->imr,
			 p->isr,
			 p->priority_add,
			 p->irq_base,
			 p->read_reg_select,
			 p->poll,
			 p->special_mask,
			 p->init_state,
			 p->auto_eoi,
			 p->rotate_on_auto_eoi,
			 p->special_fully_nested_mode,
			 p->init4,
			 p->elcr,
			 p->elcr_mask};
	blob_put(w, f, 16);
}

static void pic_get(struct blob_r *r, struct kvm_pic_state *p)
{
	uint8_t f[16];
	blob_get(r, f, 16);
	p->last_irr = f[0], p->irr = f[1], p->imr = f[2], p->isr = f[3];
	p->priority_add = f[4], p->irq_base = f[5], p->read_reg_select = f[6], p->poll = f[7];
	p->special_mask = f[8], p->init_state = f[9], p->auto_eoi = f[10];
	p->rotate_on_auto_eoi = f[11], p->special_fully_nested_mode = f[12], p->init4 = f[13];
	p->elcr = f[14], p->elcr_mask = f[15];
}

static void ioapic_put(struct blob_w *w, const struct kvm_ioapic_state *s)
{
	blob_u64(w, s->base_address);
	blob_u32(w, s->ioregsel);
	blob_u32(w, s->id);
	blob_u32(w, s->irr);
	blob_u32(w, KVM_IOAPIC_NUM_PINS);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		blob_u64(w, s->redirtbl[i].bits);
}

static int ioapic_get(struct blob_r *r, struct kvm_ioapic_state *s)
{
	memset(s, 0, sizeof(*s));
	s->base_address = blob_r64(r);
	s->ioregsel = blob_r32(r);
	s->id = blob_r32(r);
	s->irr = blob_r32(r);
	if (blob_r32(r) != KVM_IOAPIC_NUM_PINS)
		return -EINVAL;
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		s->redirtbl[i].bits = blob_r64(r);
	return r->bad ? -EINVAL : 0;
}

static int chip_get(struct hv_vm *vm, uint32_t id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return ioctl(vm->vm_fd, KVM_GET_IRQCHIP, c) < 0 ? -errno : 0;
}

int hv_vm_state_save(struct hv_vm *vm, uint8_t *buf, size_t *len)
{
	struct blob_w w = {.buf = buf, .cap = *len};
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk;
	struct kvm_irqchip m, s, io;
	memset(&clk, 0, sizeof(clk));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0 || ioctl(vm->vm_fd, KVM_GET_CLOCK, &clk) < 0)
		return -errno;
	int r = chip_get(vm, KVM_IRQCHIP_PIC_MASTER, &m);
	if (r == 0)
		r = chip_get(vm, KVM_IRQCHIP_PIC_SLAVE, &s);
	if (r == 0)
		r = chip_get(vm, KVM_IRQCHIP_IOAPIC, &io);
	if (r < 0)
		return r;
	blob_u32(&w, VM_BLOB_MAGIC);
	blob_u32(&w, VM_BLOB_VERSION);
	size_t at = blob_section_begin(&w, VMT_PIT);
	pit_put(&w, &pit);
	blob_section_end(&w, at);
	at = blob_section_begin(&w, VMT_CLOCK);
	blob_u64(&w, clk.clock);
	blob_u32(&w, clk.flags);
	blob_u64(&w, clk.realtime);
	blob_section_end(&w, at);
	at = blob_section_begin(&w, VMT_PIC_MASTER);
	pic_put(&w, &m.chip.pic);
	blob_section_end(&w, at);
	at = blob_section_begin(&w, VMT_PIC_SLAVE);
	pic_put(&w, &s.chip.pic);
	blob_section_end(&w, at);
	at = blob_section_begin(&w, VMT_IOAPIC);
	ioapic_put(&w, &io.chip.ioapic);
	blob_section_end(&w, at);
	*len = w.len;
	return w.overflow ? -ENOSPC : 0;
}

static int chip_set(struct hv_vm *vm, struct kvm_irqchip *c)
{
	return ioctl(vm->vm_fd, KVM_SET_IRQCHIP, c) < 0 ? -errno : 0;
}

int hv_vm_state_restore(struct hv_vm *vm, const uint8_t *buf, size_t len)
{
	struct blob_r r = {.buf = buf, .len = len}, sp, sc, sm, ss, si;
	if (blob_r32(&r) != VM_BLOB_MAGIC || blob_r32(&r) != VM_BLOB_VERSION)
		return -EINVAL;
	blob_section(&r, VMT_PIT, &sp);
	blob_section(&r, VMT_CLOCK, &sc);
	blob_section(&r, VMT_PIC_MASTER, &sm);
	blob_section(&r, VMT_PIC_SLAVE, &ss);
	blob_section(&r, VMT_IOAPIC, &si);
	if (r.bad || r.pos != r.len)
		return -EINVAL;
	struct kvm_pit_state2 pit;
	pit_get(&sp, &pit);
	struct kvm_clock_data clk;
	memset(&clk, 0, sizeof(clk));
	clk.clock = blob_r64(&sc);
	(void)blob_r32(&sc); /* saved flags: restored as 0 (no realtime adjust), as Firecracker */
	(void)blob_r64(&sc);
	struct kvm_irqchip m = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
	struct kvm_irqchip s = {.chip_id = KVM_IRQCHIP_PIC_SLAVE};
	struct kvm_irqchip io = {.chip_id = KVM_IRQCHIP_IOAPIC};
	pic_get(&sm, &m.chip.pic);
	pic_get(&ss, &s.chip.pic);
	int e = ioapic_get(&si, &io.chip.ioapic);
	if (e < 0 || sp.bad || sc.bad || sm.bad || ss.bad || sp.pos != sp.len || sc.pos != sc.len ||
	    sm.pos != sm.len || ss.pos != ss.len || si.pos != si.len)
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0 || ioctl(vm->vm_fd, KVM_SET_CLOCK, &clk) < 0)
		return -errno;
	e = chip_set(vm, &m);
	if (e == 0)
		e = chip_set(vm, &s);
	if (e == 0)
		e = chip_set(vm, &io);
	return e;
}
