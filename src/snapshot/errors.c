/* SPDX-License-Identifier: Apache-2.0 */
/* errors: the one table of snapshot error variants, HTTP statuses and wire messages. */
#include "snapshot/snap_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Placeholders: {name:#x} uint64_t as lowercase hex with 0x; {name:?} a string quoted and
 * escaped like a Rust Debug path; {io} an int errno; {limit} a uint64_t in decimal; any other
 * {name} a plain string. Arguments are consumed in placeholder order. */
struct snap_err_def {
	enum snap_err v;
	const char *name;
	int http;
	const char *fmt;
};

static const struct snap_err_def snap_err_table[] = {
    {SNAP_E_QUIESCE_TIMEOUT, "QuiesceTimeout", 503,
     "a vCPU did not ack quiesce within the timeout"},
    {SNAP_E_MAGIC_MISMATCH, "MagicMismatch", 400,
     "snapshot magic mismatch (file: {found:#x}, expected: {expected:#x})"},
    {SNAP_E_VERSION_MISMATCH, "VersionMismatch", 400,
     "snapshot version {found} is incompatible with squib's {expected}"},
    {SNAP_E_CRC_MISMATCH, "CrcMismatch", 400, "snapshot CRC64 mismatch"},
    {SNAP_E_TOO_SHORT, "TooShort", 400, "snapshot file is too short to contain a CRC trailer"},
    {SNAP_E_INCOMPATIBLE, "Incompatible", 400,
     "snapshot is from a different VMM (sysreg or GIC blob shape mismatch)"},
    {SNAP_E_ATOMIC_COMMIT_FAILED, "AtomicCommitFailed", 500, "atomic commit (rename) failed: {io}"},
    {SNAP_E_ATOMIC_COMMIT_CROSS_FS, "AtomicCommitCrossFs", 400,
     "snapshot temp-file path is on a different filesystem from the destination "
     "(dest={dest:?}, temp_dir={temp_dir:?}); rename(2) cannot be atomic across mounts"},
    {SNAP_E_INVALID_PATH, "InvalidPath", 400, "invalid snapshot path: {reason}"},
    {SNAP_E_BITCODE, "Bitcode", 400, "snapshot encoding error: {reason}"},
    {SNAP_E_SIZE_LIMIT, "SizeLimitExceeded", 400,
     "snapshot exceeds {limit} byte deserialization limit"},
    {SNAP_E_MEMORY_IO, "MemoryIo", 500, "memory file I/O error: {io}"},
    {SNAP_E_IO, "Io", 500, "snapshot I/O error: {io}"},
    {SNAP_E_CAPTURE, "Capture", 500, "snapshot capture/restore failure: {reason}"},
    {SNAP_E_PAIR_MISMATCH, "PairMismatch", 400,
     "memory file {path:?} is not the pair of this snapshot (pair id mismatch)"},
};

_Static_assert(ARRAY_SIZE(snap_err_table) == SNAP_E__COUNT - 1, "one table row per variant");

static const struct snap_err_def *snap_err_def_get(enum snap_err v)
{
	if (v <= SNAP_OK || v >= SNAP_E__COUNT)
		return NULL;
	return &snap_err_table[v - 1];
}

const char *snap_error_name(enum snap_err v)
{
	const struct snap_err_def *d = snap_err_def_get(v);
	if (v == SNAP_OK)
		return "Ok";
	return d ? d->name : "Unknown";
}

int snap_error_http_status(enum snap_err v)
{
	const struct snap_err_def *d = snap_err_def_get(v);
	return d ? d->http : 0;
}

void snap_error_clear(struct snap_error *e)
{
	if (!e)
		return;
	e->variant = SNAP_OK;
	e->http_status = 0;
	e->msg[0] = '\0';
}

/* Bounded output into e->msg; on overflow stops and remembers it. */
struct msg_out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void out_bytes(struct msg_out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (n > o->cap - 1 - o->len) {
		n = o->cap - 1 - o->len;
		o->full = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct msg_out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* "path" with \" \\ \n \t \r escaped, other controls as \u{x}, invalid UTF-8 as \xNN. */
static void out_debug_str(struct msg_out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	char tmp[16];
	out_bytes(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l = utf8_seq_len(s + i, n - i);
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			out_bytes(o, tmp, 2);
		} else if (c == '\n') {
			out_str(o, "\\n");
		} else if (c == '\t') {
			out_str(o, "\\t");
		} else if (c == '\r') {
			out_str(o, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u{%x}", c);
			out_str(o, tmp);
		} else if (l == 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02X", c);
			out_str(o, tmp);
			l = 1;
		} else {
			out_bytes(o, (const char *)s + i, l);
		}
		i += l ? l : 1;
	}
	out_bytes(o, "\"", 1);
}

static void out_io(struct msg_out *o, int errnum)
{
	char sbuf[256], tmp[48];
	const char *m = strerror_r(errnum, sbuf, sizeof(sbuf));
	out_str(o, m);
	snprintf(tmp, sizeof(tmp), " (os error %d)", errnum);
	out_str(o, tmp);
}

/* Drop a trailing UTF-8 sequence cut by truncation. */
static void out_trim_utf8(struct msg_out *o)
{
	size_t i = o->len;
	while (i > 0 && ((unsigned char)o->buf[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)o->buf[i - 1] >= 0xc0) {
		size_t l = utf8_seq_len((const unsigned char *)o->buf + i - 1, o->len - (i - 1));
		if (l == 0)
			o->len = i - 1;
	}
}

/* Format one placeholder body (between the braces); returns errnum if it was {io}. */
static int out_placeholder(struct msg_out *o, const char *ph, size_t n, va_list *ap)
{
	char tmp[32];
	if (n >= 3 && memcmp(ph + n - 3, ":#x", 3) == 0) {
		snprintf(tmp, sizeof(tmp), "0x%" PRIx64, va_arg(*ap, uint64_t));
		out_str(o, tmp);
	} else if (n >= 2 && memcmp(ph + n - 2, ":?", 2) == 0) {
		const char *s = va_arg(*ap, const char *);
		out_debug_str(o, s ? s : "");
	} else if (n == 2 && memcmp(ph, "io", 2) == 0) {
		int errnum = va_arg(*ap, int);
		out_io(o, errnum);
		return errnum;
	} else if (n == 5 && memcmp(ph, "limit", 5) == 0) {
		snprintf(tmp, sizeof(tmp), "%" PRIu64, va_arg(*ap, uint64_t));
		out_str(o, tmp);
	} else {
		const char *s = va_arg(*ap, const char *);
		out_str(o, s ? s : "");
	}
	return 0;
}

size_t snap_debug_quote(char *out, size_t cap, const char *s)
{
	if (cap == 0)
		return 0;
	struct msg_out o = {.buf = out, .cap = cap};
	out_debug_str(&o, s);
	if (o.full)
		out_trim_utf8(&o);
	o.buf[o.len] = '\0';
	return o.len;
}

static int snap_err_default_errno(enum snap_err v)
{
	switch (v) {
	case SNAP_E_QUIESCE_TIMEOUT:
		return -ETIMEDOUT;
	case SNAP_E_ATOMIC_COMMIT_CROSS_FS:
		return -EXDEV;
	case SNAP_E_ATOMIC_COMMIT_FAILED:
	case SNAP_E_MEMORY_IO:
	case SNAP_E_IO:
	case SNAP_E_CAPTURE:
		return -EIO;
	default:
		return -EINVAL;
	}
}

int snap_error_set(struct snap_error *e, enum snap_err v, ...)
{
	const struct snap_err_def *d = snap_err_def_get(v);
	int errnum = 0;
	if (!d)
		return -EINVAL;
	if (!e)
		return snap_err_default_errno(v);
	struct msg_out o = {.buf = e->msg, .cap = sizeof(e->msg)};
	va_list ap;
	va_start(ap, v);
	for (const char *f = d->fmt; *f;) {
		const char *close = *f == '{' ? strchr(f, '}') : NULL;
		if (close) {
			int r = out_placeholder(&o, f + 1, (size_t)(close - f - 1), &ap);
			errnum = r ? r : errnum;
			f = close + 1;
			continue;
		}
		size_t n = strcspn(f, "{");
		out_bytes(&o, f, n ? n : 1);
		f += n ? n : 1;
	}
	va_end(ap);
	if (o.full)
		out_trim_utf8(&o);
	o.buf[o.len] = '\0';
	e->variant = v;
	e->http_status = d->http;
	return errnum > 0 ? -errnum : snap_err_default_errno(v);
}
