/* SPDX-License-Identifier: Apache-2.0 */
/* sections: typed encode/decode of payload sections and the payload walk (Incompatible). */
#include "snapshot/snapshot.h"
#include "snap_int.h"
#include "squib_version.h"

#include <errno.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define MIB (1ULL << 20)
#define BOOT_ARGS_MAX (sizeof(((struct boot_source_cfg *)0)->boot_args) - 1)

void snap_identity_host(struct snap_identity *id)
{
	memset(id, 0, sizeof(*id));
	strcpy(id->vmm, SNAP_VMM_NAME);
	strncpy(id->vmm_version, SQUIB_VERSION, sizeof(id->vmm_version) - 1);
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d, max;
	struct snap_cpu_features *f = &id->cpu;
	if (!__get_cpuid(0, &max, &b, &c, &d))
		return;
	memcpy(f->vendor, &b, 4);
	memcpy(f->vendor + 4, &d, 4);
	memcpy(f->vendor + 8, &c, 4);
	if (__get_cpuid(1, &a, &b, &c, &d)) {
		f->signature = a;
		f->leaf1_ecx = c;
		f->leaf1_edx = d;
	}
	if (max >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		f->leaf7_ebx = b;
		f->leaf7_ecx = c;
		f->leaf7_edx = d;
	}
	if (max >= 0xd && __get_cpuid_count(0xd, 0, &a, &b, &c, &d))
		f->xcr0_mask = ((uint64_t)d << 32) | a;
#endif
}

/* ---- writers ---- */

int snap_sec_identity_put(struct sbuf *b, const struct snap_identity *id)
{
	const struct snap_cpu_features *f = &id->cpu;
	size_t mk = sbuf_section_begin(b, SNAP_TAG_IDENTITY);
	sbuf_put_str(b, id->vmm, sizeof(id->vmm) - 1);
	sbuf_put_str(b, id->vmm_version, sizeof(id->vmm_version) - 1);
	sbuf_put_str(b, f->vendor, sizeof(f->vendor) - 1);
	sbuf_put_u32(b, f->signature);
	sbuf_put_u32(b, f->leaf1_ecx);
	sbuf_put_u32(b, f->leaf1_edx);
	sbuf_put_u32(b, f->leaf7_ebx);
	sbuf_put_u32(b, f->leaf7_ecx);
	sbuf_put_u32(b, f->leaf7_edx);
	sbuf_put_u64(b, f->xcr0_mask);
	sbuf_put_u32(b, f->tsc_khz);
	return sbuf_section_end(b, mk);
}

int snap_sec_vm_info_put(struct sbuf *b, const struct snap_vm_info *vi)
{
	const struct machine_cfg *m = &vi->machine;
	const struct boot_source_cfg *bs = &vi->boot;
	size_t mk = sbuf_section_begin(b, SNAP_TAG_VM_INFO);
	sbuf_put_u32(b, m->vcpu_count);
	sbuf_put_u64(b, m->mem_size_mib);
	sbuf_put_bool(b, m->smt);
	sbuf_put_bool(b, m->track_dirty_pages);
	sbuf_put_u32(b, (uint32_t)m->cpu_template);
	sbuf_put_u32(b, (uint32_t)m->huge_pages);
	sbuf_put_bool(b, bs->set);
	sbuf_put_str(b, bs->kernel_image_path, VM_PATH_MAX - 1);
	sbuf_put_str(b, bs->initrd_path, VM_PATH_MAX - 1);
	sbuf_put_bool(b, bs->has_boot_args);
	sbuf_put_str(b, bs->boot_args, BOOT_ARGS_MAX);
	snap_devcfg_put(b, &vi->dev);
	return sbuf_section_end(b, mk);
}

int snap_sec_vcpu_put(struct sbuf *b, uint32_t index, const uint8_t *blob, size_t len)
{
	size_t mk = sbuf_section_begin(b, SNAP_TAG_VCPU);
	sbuf_put_u32(b, index);
	sbuf_put_strn(b, (const char *)blob, len, UINT32_MAX);
	return sbuf_section_end(b, mk);
}

int snap_sec_vm_state_put(struct sbuf *b, const uint8_t *blob, size_t len)
{
	size_t mk = sbuf_section_begin(b, SNAP_TAG_VM_STATE);
	sbuf_put_strn(b, (const char *)blob, len, UINT32_MAX);
	return sbuf_section_end(b, mk);
}

int snap_sec_mmds_put(struct sbuf *b, const char *json, size_t len)
{
	size_t mk = sbuf_section_begin(b, SNAP_TAG_MMDS);
	sbuf_put_strn(b, json, len, SNAP_SIZE_LIMIT);
	return sbuf_section_end(b, mk);
}

int snap_sec_mem_put(struct sbuf *b, const struct snap_mem_desc *m)
{
	if (m->nr > GMEM_MAX_REGIONS) {
		if (!b->err)
			b->err = -EINVAL;
		return b->err;
	}
	size_t mk = sbuf_section_begin(b, SNAP_TAG_MEMORY);
	sbuf_put_u32(b, m->page_size);
	sbuf_put_u8(b, m->type);
	sbuf_put_u64(b, m->file_size);
	sbuf_put_bytes(b, m->pair_id, SNAP_PAIR_ID_LEN);
	sbuf_put_u32(b, m->nr);
	for (uint32_t i = 0; i < m->nr; i++) {
		sbuf_put_u64(b, m->r[i].gpa);
		sbuf_put_u64(b, m->r[i].size);
		sbuf_put_u64(b, m->r[i].file_offset);
	}
	return sbuf_section_end(b, mk);
}

/* Device section: tag, len, kind, id, base, irq, then a u32 blob length backpatched by end
 * (the mark points at the section length; the blob length follows the fixed fields). */
size_t snap_sec_device_begin(struct sbuf *b, const char *kind, const char *id, uint64_t mmio_base,
			     uint32_t irq)
{
	size_t mk = sbuf_section_begin(b, SNAP_TAG_DEVICE);
	sbuf_put_str(b, kind, SNAP_KIND_MAX - 1);
	sbuf_put_str(b, id, VM_ID_MAX - 1);
	sbuf_put_u64(b, mmio_base);
	sbuf_put_u32(b, irq);
	sbuf_len_begin(b);
	return mk;
}

int snap_sec_device_end(struct sbuf *b, size_t mark)
{
	if (b->err)
		return b->err;
	/* Find the blob length field: skip section length, kind, id, base, irq. */
	struct sreader r;
	sreader_init(&r, b->data + mark, b->len - mark);
	sreader_u32(&r);
	uint32_t n;
	sreader_blob(&r, SNAP_KIND_MAX - 1, &n);
	sreader_blob(&r, VM_ID_MAX - 1, &n);
	sreader_u64(&r);
	sreader_u32(&r);
	if (!sreader_ok(&r) || sreader_remaining(&r) < 4) {
		b->err = -EINVAL;
		return b->err;
	}
	sbuf_len_end(b, mark + r.off);
	return sbuf_section_end(b, mark);
}

/* ---- readers ---- */

static int sec_done(const struct sreader *r)
{
	return sreader_ok(r) && sreader_remaining(r) == 0 ? 0 : -EINVAL;
}

int snap_sec_identity_get(const uint8_t *body, size_t len, struct snap_identity *out)
{
	struct sreader r;
	struct snap_cpu_features *f = &out->cpu;
	memset(out, 0, sizeof(*out));
	sreader_init(&r, body, len);
	sreader_str(&r, out->vmm, sizeof(out->vmm));
	sreader_str(&r, out->vmm_version, sizeof(out->vmm_version));
	sreader_str(&r, f->vendor, sizeof(f->vendor));
	f->signature = sreader_u32(&r);
	f->leaf1_ecx = sreader_u32(&r);
	f->leaf1_edx = sreader_u32(&r);
	f->leaf7_ebx = sreader_u32(&r);
	f->leaf7_ecx = sreader_u32(&r);
	f->leaf7_edx = sreader_u32(&r);
	f->xcr0_mask = sreader_u64(&r);
	f->tsc_khz = sreader_u32(&r);
	return sec_done(&r);
}

int snap_sec_vm_info_get(const uint8_t *body, size_t len, struct snap_vm_info *out)
{
	struct sreader r;
	struct machine_cfg *m = &out->machine;
	struct boot_source_cfg *bs = &out->boot;
	memset(out, 0, sizeof(*out));
	sreader_init(&r, body, len);
	m->vcpu_count = sreader_u32(&r);
	m->mem_size_mib = sreader_u64(&r);
	m->smt = sreader_bool(&r);
	m->track_dirty_pages = sreader_bool(&r);
	uint32_t tmpl = sreader_u32(&r);
	uint32_t huge = sreader_u32(&r);
	bs->set = sreader_bool(&r);
	sreader_str(&r, bs->kernel_image_path, sizeof(bs->kernel_image_path));
	sreader_str(&r, bs->initrd_path, sizeof(bs->initrd_path));
	bs->has_boot_args = sreader_bool(&r);
	sreader_str(&r, bs->boot_args, sizeof(bs->boot_args));
	if (snap_devcfg_get(&r, &out->dev) < 0)
		return -EINVAL;
	if (sec_done(&r) < 0 || tmpl > CPU_TEMPLATE_T2A || huge > HUGE_PAGES_2M)
		return -EINVAL;
	if (m->vcpu_count == 0 || m->vcpu_count > VM_MAX_VCPUS || m->mem_size_mib == 0 ||
	    m->mem_size_mib > (UINT64_MAX >> 20))
		return -EINVAL;
	m->cpu_template = (enum cpu_template)tmpl;
	m->huge_pages = (enum huge_pages)huge;
	return 0;
}

int snap_sec_mmds_get(const uint8_t *body, size_t len, struct snap_blob *json)
{
	struct sreader r;
	sreader_init(&r, body, len);
	json->data = sreader_blob(&r, SNAP_SIZE_LIMIT, &json->len);
	return sec_done(&r);
}

/* Regions must be page aligned, non-empty, concatenated in file order and fill the file. */
static int mem_desc_check(const struct snap_mem_desc *m)
{
	uint64_t off = 0, end;
	if (m->page_size < 4096 || (m->page_size & (m->page_size - 1)) || m->type > SNAP_DIFF)
		return -EINVAL;
	if (m->nr == 0 || m->nr > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (uint32_t i = 0; i < m->nr; i++) {
		const struct snap_mem_region *g = &m->r[i];
		if (g->size == 0 || g->size % m->page_size || g->gpa % m->page_size ||
		    g->file_offset != off || !add_u64(g->gpa, g->size, &end) ||
		    !add_u64(off, g->size, &off))
			return -EINVAL;
	}
	return off == m->file_size ? 0 : -EINVAL;
}

int snap_sec_mem_get(const uint8_t *body, size_t len, struct snap_mem_desc *out)
{
	struct sreader r;
	memset(out, 0, sizeof(*out));
	sreader_init(&r, body, len);
	out->page_size = sreader_u32(&r);
	out->type = sreader_u8(&r);
	out->file_size = sreader_u64(&r);
	const uint8_t *id = sreader_bytes(&r, SNAP_PAIR_ID_LEN);
	if (id)
		memcpy(out->pair_id, id, SNAP_PAIR_ID_LEN);
	out->nr = sreader_u32(&r);
	if (out->nr > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (uint32_t i = 0; i < out->nr; i++) {
		out->r[i].gpa = sreader_u64(&r);
		out->r[i].size = sreader_u64(&r);
		out->r[i].file_offset = sreader_u64(&r);
	}
	if (sec_done(&r) < 0)
		return -EINVAL;
	return mem_desc_check(out);
}

/* ---- payload walk ---- */

static int blob_get(const uint8_t *body, size_t len, uint32_t *index, struct snap_blob *out)
{
	struct sreader r;
	sreader_init(&r, body, len);
	if (index)
		*index = sreader_u32(&r);
	out->data = sreader_blob(&r, len, &out->len);
	return sec_done(&r);
}

static int device_get(const uint8_t *body, size_t len, struct snap_device_sec *d)
{
	struct sreader r;
	sreader_init(&r, body, len);
	sreader_str(&r, d->kind, sizeof(d->kind));
	sreader_str(&r, d->id, sizeof(d->id));
	d->mmio_base = sreader_u64(&r);
	d->irq = sreader_u32(&r);
	d->blob.data = sreader_blob(&r, len, &d->blob.len);
	return sec_done(&r);
}

/* Decode one section into v: 0, -EPROTO for another VMM, other -errno when malformed. */
static int section_apply(struct snap_state_view *v, uint32_t tag, const uint8_t *body, size_t len)
{
	uint32_t idx;
	switch (tag) {
	case SNAP_TAG_IDENTITY:
		if (snap_sec_identity_get(body, len, &v->ident) < 0)
			return -EINVAL;
		return strcmp(v->ident.vmm, SNAP_VMM_NAME) == 0 ? 0 : -EPROTO;
	case SNAP_TAG_VM_INFO:
		return snap_sec_vm_info_get(body, len, &v->info);
	case SNAP_TAG_VCPU:
		if (v->n_vcpus >= v->info.machine.vcpu_count)
			return -EINVAL;
		if (blob_get(body, len, &idx, &v->vcpu[v->n_vcpus]) < 0 || idx != v->n_vcpus)
			return -EINVAL;
		v->n_vcpus++;
		return 0;
	case SNAP_TAG_VM_STATE:
		return blob_get(body, len, NULL, &v->vm_state);
	case SNAP_TAG_DEVICE:
		if (v->n_devices >= SNAP_MAX_DEVICES)
			return -EINVAL;
		return device_get(body, len, &v->dev[v->n_devices++]);
	case SNAP_TAG_MMDS:
		v->has_mmds = true;
		return snap_sec_mmds_get(body, len, &v->mmds);
	case SNAP_TAG_MEMORY:
		if (snap_sec_mem_get(body, len, &v->mem) < 0)
			return -EINVAL;
		return v->mem.file_size == v->info.machine.mem_size_mib * MIB ? 0 : -EINVAL;
	default:
		return -ENOENT;
	}
}

static int payload_incompatible(struct snap_error *e, const char *why, uint32_t tag)
{
	LOG_DBG("snapshot payload rejected: %s (tag %u)", why, tag);
	return snap_error_set(e, SNAP_E_INCOMPATIBLE);
}

#define TAG_BIT(t) (1u << (t))
#define SINGLETONS                                                                                 \
	(TAG_BIT(SNAP_TAG_IDENTITY) | TAG_BIT(SNAP_TAG_VM_INFO) | TAG_BIT(SNAP_TAG_VM_STATE) |     \
	 TAG_BIT(SNAP_TAG_MMDS) | TAG_BIT(SNAP_TAG_MEMORY))
#define REQUIRED                                                                                   \
	(TAG_BIT(SNAP_TAG_IDENTITY) | TAG_BIT(SNAP_TAG_VM_INFO) | TAG_BIT(SNAP_TAG_VM_STATE) |     \
	 TAG_BIT(SNAP_TAG_MEMORY))

int snap_payload_parse(const uint8_t *p, size_t len, struct snap_state_view *v,
		       struct snap_error *e)
{
	struct sreader r;
	uint32_t seen = 0, last = 0;
	memset(v, 0, sizeof(*v));
	sreader_init(&r, p, len);
	while (sreader_remaining(&r) > 0) {
		uint32_t tag = sreader_u32(&r);
		uint32_t n = sreader_u32(&r);
		const uint8_t *body = sreader_bytes(&r, n);
		if (!body)
			return payload_incompatible(e, "section length exceeds the payload", tag);
		if (last == 0 && tag != SNAP_TAG_IDENTITY)
			return payload_incompatible(e, "first section is not the identity", tag);
		if (tag < SNAP_TAG_IDENTITY || tag > SNAP_TAG_MEMORY)
			return payload_incompatible(e, "unknown section tag", tag);
		if (tag < last || (tag == last && (SINGLETONS & TAG_BIT(tag))))
			return payload_incompatible(e, "section out of order or repeated", tag);
		int rc = section_apply(v, tag, body, n);
		if (rc == -EPROTO)
			return payload_incompatible(e, "state written by another VMM", tag);
		if (rc < 0)
			return payload_incompatible(e, "section content disagrees with its length",
						    tag);
		seen |= TAG_BIT(tag);
		last = tag;
	}
	if (!sreader_ok(&r) || (seen & REQUIRED) != REQUIRED)
		return payload_incompatible(e, "required section missing", last);
	if (v->n_vcpus != v->info.machine.vcpu_count)
		return payload_incompatible(e, "vCPU sections disagree with vcpu_count", last);
	return 0;
}
