/* SPDX-License-Identifier: Apache-2.0 */
/* sbuf/sreader: little-endian section writer with sticky errors, bounds-checked reader. */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void sbuf_free(struct sbuf *b)
{
	free(b->data);
	sbuf_init(b);
}

static int sbuf_fail(struct sbuf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

uint8_t *sbuf_reserve(struct sbuf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > SIZE_MAX - b->len) {
		sbuf_fail(b, -E2BIG);
		return NULL;
	}
	size_t need = b->len + n;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			sbuf_fail(b, -ENOMEM);
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len = need;
	return p;
}

static int sbuf_put_le(struct sbuf *b, uint64_t v, unsigned n)
{
	uint8_t *p = sbuf_reserve(b, n);
	if (!p)
		return b->err;
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return 0;
}

int sbuf_put_u8(struct sbuf *b, uint8_t v)
{
	return sbuf_put_le(b, v, 1);
}

int sbuf_put_u16(struct sbuf *b, uint16_t v)
{
	return sbuf_put_le(b, v, 2);
}

int sbuf_put_u32(struct sbuf *b, uint32_t v)
{
	return sbuf_put_le(b, v, 4);
}

int sbuf_put_u64(struct sbuf *b, uint64_t v)
{
	return sbuf_put_le(b, v, 8);
}

int sbuf_put_bool(struct sbuf *b, bool v)
{
	return sbuf_put_le(b, v ? 1 : 0, 1);
}

int sbuf_put_bytes(struct sbuf *b, const void *p, size_t n)
{
	if (n == 0)
		return b->err;
	uint8_t *d = sbuf_reserve(b, n);
	if (!d)
		return b->err;
	memcpy(d, p, n);
	return 0;
}

int sbuf_put_strn(struct sbuf *b, const char *s, size_t n, size_t max)
{
	if (b->err)
		return b->err;
	if (n > max || n > UINT32_MAX)
		return sbuf_fail(b, -E2BIG);
	sbuf_put_u32(b, (uint32_t)n);
	return sbuf_put_bytes(b, s, n);
}

int sbuf_put_str(struct sbuf *b, const char *s, size_t max)
{
	if (!s)
		return sbuf_fail(b, -EINVAL);
	size_t n = strnlen(s, max + 1);
	return sbuf_put_strn(b, s, n, max);
}

size_t sbuf_len_begin(struct sbuf *b)
{
	size_t mark = b->len;
	sbuf_put_u32(b, 0);
	return mark;
}

int sbuf_len_end(struct sbuf *b, size_t mark)
{
	if (b->err)
		return b->err;
	if (mark > b->len || b->len - mark < 4)
		return sbuf_fail(b, -EINVAL);
	size_t n = b->len - mark - 4;
	if (n > UINT32_MAX)
		return sbuf_fail(b, -E2BIG);
	for (unsigned i = 0; i < 4; i++)
		b->data[mark + i] = (uint8_t)(n >> (8 * i));
	return 0;
}

size_t sbuf_section_begin(struct sbuf *b, uint32_t tag)
{
	sbuf_put_u32(b, tag);
	return sbuf_len_begin(b);
}

int sbuf_section_end(struct sbuf *b, size_t mark)
{
	return sbuf_len_end(b, mark);
}

/* ---- reader ---- */

void sreader_init(struct sreader *r, const void *buf, size_t len)
{
	static const uint8_t empty[1];
	r->p = buf ? buf : empty;
	r->len = buf ? len : 0;
	r->off = 0;
	r->err = false;
}

size_t sreader_remaining(const struct sreader *r)
{
	return r->err ? 0 : r->len - r->off;
}

bool sreader_ok(const struct sreader *r)
{
	return !r->err;
}

const uint8_t *sreader_bytes(struct sreader *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t sreader_le(struct sreader *r, unsigned n)
{
	const uint8_t *p = sreader_bytes(r, n);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t sreader_u8(struct sreader *r)
{
	return (uint8_t)sreader_le(r, 1);
}

uint16_t sreader_u16(struct sreader *r)
{
	return (uint16_t)sreader_le(r, 2);
}

uint32_t sreader_u32(struct sreader *r)
{
	return (uint32_t)sreader_le(r, 4);
}

uint64_t sreader_u64(struct sreader *r)
{
	return sreader_le(r, 8);
}

bool sreader_bool(struct sreader *r)
{
	uint8_t v = sreader_u8(r);
	if (v > 1) {
		r->err = true;
		return false;
	}
	return v == 1;
}

const uint8_t *sreader_blob(struct sreader *r, size_t max, uint32_t *n)
{
	uint32_t len = sreader_u32(r);
	*n = 0;
	if (r->err)
		return NULL;
	if (len > max) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = sreader_bytes(r, len);
	if (p)
		*n = len;
	return p;
}

int sreader_str(struct sreader *r, char *dst, size_t cap)
{
	uint32_t n;
	if (cap == 0) {
		r->err = true;
		return -EINVAL;
	}
	dst[0] = '\0';
	const uint8_t *p = sreader_blob(r, cap - 1, &n);
	if (!p)
		return -EINVAL;
	if (memchr(p, 0, n)) {
		r->err = true;
		return -EINVAL;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}
