/* SPDX-License-Identifier: Apache-2.0 */
/* hv/kvm: little-endian, length-prefixed section writer/reader for state blobs. */
#include <string.h>

#include "hv/kvm/kvm_int.h"

void blob_put(struct blob_w *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		w->len += n; /* keep counting so callers can report the size needed */
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void blob_u8(struct blob_w *w, uint8_t v)
{
	blob_put(w, &v, 1);
}

void blob_u16(struct blob_w *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	blob_put(w, b, 2);
}

void blob_u32(struct blob_w *w, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	blob_put(w, b, 4);
}

void blob_u64(struct blob_w *w, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	blob_put(w, b, 8);
}

size_t blob_section_begin(struct blob_w *w, uint32_t tag)
{
	blob_u32(w, tag);
	size_t at = w->len;
	blob_u32(w, 0);
	return at;
}

void blob_section_end(struct blob_w *w, size_t at)
{
	if (w->overflow)
		return;
	uint32_t n = (uint32_t)(w->len - at - 4);
	for (int i = 0; i < 4; i++)
		w->buf[at + i] = (uint8_t)(n >> (8 * i));
}

void blob_get(struct blob_r *r, void *p, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->buf + r->pos, n);
	r->pos += n;
}

uint8_t blob_r8(struct blob_r *r)
{
	uint8_t v;
	blob_get(r, &v, 1);
	return v;
}

uint16_t blob_r16(struct blob_r *r)
{
	uint8_t b[2];
	blob_get(r, b, 2);
	return (uint16_t)(b[0] | (b[1] << 8));
}

uint32_t blob_r32(struct blob_r *r)
{
	uint8_t b[4];
	blob_get(r, b, 4);
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
	       ((uint32_t)b[3] << 24);
}

uint64_t blob_r64(struct blob_r *r)
{
	uint64_t lo = blob_r32(r);
	uint64_t hi = blob_r32(r);
	return lo | (hi << 32);
}

void blob_section(struct blob_r *r, uint32_t tag, struct blob_r *sub)
{
	uint32_t t = blob_r32(r);
	uint32_t n = blob_r32(r);
	*sub = (struct blob_r){.buf = NULL, .len = 0, .pos = 0, .bad = true};
	if (r->bad || t != tag || n > r->len - r->pos) {
		r->bad = true;
		return;
	}
	*sub = (struct blob_r){.buf = r->buf + r->pos, .len = n, .pos = 0, .bad = false};
	r->pos += n;
}
