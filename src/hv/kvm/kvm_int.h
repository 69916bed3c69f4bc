/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm internals shared by the KVM backend's files (never included outside src/hv/kvm). */
#ifndef SQUIB_HV_KVM_INT_H
#define SQUIB_HV_KVM_INT_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hv/hv.h"

#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_MAX_MSR_IDX 1024
#define KVM_MAX_CPUID 256

struct hv_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	int xsave_size; /* bytes for KVM_GET_XSAVE2, 0 = legacy 4096-byte KVM_GET_XSAVE */
	struct hv_caps caps;
	pthread_mutex_t lock; /* guards the lazily filled cache below (vCPU threads race) */
	uint32_t *msr_idx;    /* KVM_GET_MSR_INDEX_LIST, cached */
	uint32_t n_msr_idx;
};

struct hv_vcpu {
	struct hv_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool kicked;
};

/* ---- little-endian blob writer/reader used by the state save/restore code ---- */
struct blob_w {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};
struct blob_r {
	const uint8_t *buf;
	size_t len, pos;
	bool bad;
};

void blob_put(struct blob_w *w, const void *p, size_t n);
void blob_u8(struct blob_w *w, uint8_t v);
void blob_u16(struct blob_w *w, uint16_t v);
void blob_u32(struct blob_w *w, uint32_t v);
void blob_u64(struct blob_w *w, uint64_t v);
/* Begin a section: writes tag and a length placeholder; returns the placeholder offset. */
size_t blob_section_begin(struct blob_w *w, uint32_t tag);
void blob_section_end(struct blob_w *w, size_t at);

void blob_get(struct blob_r *r, void *p, size_t n);
uint8_t blob_r8(struct blob_r *r);
uint16_t blob_r16(struct blob_r *r);
uint32_t blob_r32(struct blob_r *r);
uint64_t blob_r64(struct blob_r *r);
/* Open the next section, which must carry `tag`. Sets *sub to its body; marks r bad on
 * mismatch or truncation. */
void blob_section(struct blob_r *r, uint32_t tag, struct blob_r *sub);

/* Fetch MSR index list into vm->msr_idx (once). Returns 0 or -errno. */
int kvm_msr_index_load(struct hv_vm *vm);

#endif
