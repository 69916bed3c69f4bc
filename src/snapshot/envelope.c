/* SPDX-License-Identifier: Apache-2.0 */
/* envelope: state-file framing (magic, version, payload, CRC trailer) and its load checks. */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SNAP_VERSION_STR_MAX 32 /* longest version string accepted on load */

int snap_envelope_encode_ex(uint64_t magic, const char *version, const uint8_t *payload, size_t len,
			    struct sbuf *out)
{
	size_t start = out->len;
	size_t vlen = strlen(version);
	sbuf_put_u64(out, magic);
	sbuf_put_u64(out, vlen);
	sbuf_put_bytes(out, version, vlen);
	sbuf_put_bytes(out, payload, len);
	if (out->err)
		return out->err;
	uint64_t crc = crc64_jones(0, out->data + start, out->len - start);
	return sbuf_put_u64(out, crc);
}

int snap_envelope_encode(const uint8_t *payload, size_t len, struct sbuf *out)
{
	return snap_envelope_encode_ex(SNAP_MAGIC, SNAP_FORMAT_VERSION, payload, len, out);
}

/* Parse up to 9 decimal digits without a leading zero (except "0"). */
static const char *parse_num(const char *s, const char *end, uint32_t *out)
{
	uint32_t v = 0;
	const char *p = s;
	while (p < end && *p >= '0' && *p <= '9' && p - s < 9)
		v = v * 10 + (uint32_t)(*p++ - '0');
	if (p == s || (*s == '0' && p - s > 1))
		return NULL;
	*out = v;
	return p;
}

/* "MAJOR.MINOR.PATCH", ASCII, nothing else. */
static int parse_version(const uint8_t *s, size_t n, struct snap_envelope *env)
{
	const char *p = (const char *)s, *end = p + n;
	p = parse_num(p, end, &env->major);
	if (!p || p >= end || *p++ != '.')
		return -EINVAL;
	p = parse_num(p, end, &env->minor);
	if (!p || p >= end || *p++ != '.')
		return -EINVAL;
	p = parse_num(p, end, &env->patch);
	if (!p || p != end)
		return -EINVAL;
	snprintf(env->version, sizeof(env->version), "%u.%u.%u", env->major, env->minor,
		 env->patch);
	return 0;
}

/* Decode magic and version (Bitcode on malformed input). */
static int envelope_header_decode(const uint8_t *buf, size_t body, struct snap_envelope *env,
				  struct snap_error *e)
{
	struct sreader r;
	char reason[96];
	sreader_init(&r, buf, body);
	env->magic = sreader_u64(&r);
	uint64_t n = sreader_u64(&r);
	if (!sreader_ok(&r))
		return snap_error_set(e, SNAP_E_BITCODE,
				      "unexpected end of input in the snapshot header");
	if (n > SNAP_VERSION_STR_MAX || n > sreader_remaining(&r)) {
		snprintf(reason, sizeof(reason), "version string length %llu is out of bounds",
			 (unsigned long long)n);
		return snap_error_set(e, SNAP_E_BITCODE, reason);
	}
	const uint8_t *v = sreader_bytes(&r, (size_t)n);
	if (parse_version(v, (size_t)n, env) < 0)
		return snap_error_set(e, SNAP_E_BITCODE, "version string is not MAJOR.MINOR.PATCH");
	env->payload = buf + r.off;
	env->payload_len = sreader_remaining(&r);
	return 0;
}

bool snap_version_loadable(uint32_t major, uint32_t minor, uint32_t our_major, uint32_t our_minor)
{
	return major == our_major && minor <= our_minor;
}

int snap_envelope_decode(const uint8_t *buf, size_t len, bool check_crc, struct snap_envelope *env,
			 struct snap_error *e)
{
	memset(env, 0, sizeof(*env));
	if (len > SNAP_SIZE_LIMIT)
		return snap_error_set(e, SNAP_E_SIZE_LIMIT, (uint64_t)SNAP_SIZE_LIMIT);
	if (len < 8)
		return snap_error_set(e, SNAP_E_TOO_SHORT);
	env->crc_ok = crc64_jones(0, buf, len) == 0;
	if (check_crc && !env->crc_ok)
		return snap_error_set(e, SNAP_E_CRC_MISMATCH);
	int rc = envelope_header_decode(buf, len - 8, env, e);
	if (rc < 0)
		return rc;
	if (env->magic != SNAP_MAGIC)
		return snap_error_set(e, SNAP_E_MAGIC_MISMATCH, env->magic, (uint64_t)SNAP_MAGIC);
	if (!snap_version_loadable(env->major, env->minor, SNAP_FORMAT_MAJOR, SNAP_FORMAT_MINOR))
		return snap_error_set(e, SNAP_E_VERSION_MISMATCH, env->version,
				      SNAP_FORMAT_VERSION);
	return 0;
}

int snap_state_decode(const uint8_t *buf, size_t len, bool check_crc, struct snap_envelope *env,
		      struct snap_state_view *v, struct snap_error *e)
{
	int rc = snap_envelope_decode(buf, len, check_crc, env, e);
	if (rc < 0)
		return rc;
	return snap_payload_parse(env->payload, env->payload_len, v, e);
}
