/* SPDX-License-Identifier: Apache-2.0 */
/* json_util: strict jansson readers (unknown fields, types, ranges, required fields). */
#include "api/api_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *jr_name(char *buf, size_t cap, const char *ctx, const char *key)
{
	if (ctx && *ctx)
		snprintf(buf, cap, "%s.%s", ctx, key);
	else
		snprintf(buf, cap, "%s", key);
	return buf;
}

bool api_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

int jr_object(json_t *o, const char *ctx, const char *const *allowed, struct api_response *r)
{
	const char *key;
	json_t *v;
	char nm[256];
	if (!json_is_object(o)) {
		if (ctx && *ctx)
			return api_fail(r, 400, MSG_JSON_TYPE, ctx, "an object");
		return api_fail(r, 400, MSG_JSON_NOT_OBJECT);
	}
	json_object_foreach(o, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok)
			return api_fail(r, 400, MSG_JSON_UNKNOWN_FIELD,
					jr_name(nm, sizeof(nm), ctx, key));
	}
	return 0;
}

/* Fetch key: 1 present, 0 absent (fine), -EINVAL missing-but-required. */
static int jr_get(json_t *o, const char *ctx, const char *key, bool req, json_t **v,
		  struct api_response *r)
{
	char nm[256];
	*v = json_object_get(o, key);
	if (*v && json_is_null(*v))
		*v = NULL;
	if (*v)
		return 1;
	if (req)
		return api_fail(r, 400, MSG_JSON_MISSING_FIELD, jr_name(nm, sizeof(nm), ctx, key));
	return 0;
}

int jr_str(json_t *o, const char *ctx, const char *key, bool req, char *dst, size_t cap,
	   bool *present, struct api_response *r)
{
	json_t *v;
	char nm[256], want[64];
	int rc = jr_get(o, ctx, key, req, &v, r);
	if (present)
		*present = rc == 1;
	if (rc <= 0)
		return rc;
	if (!json_is_string(v))
		return api_fail(r, 400, MSG_JSON_TYPE, jr_name(nm, sizeof(nm), ctx, key),
				"a string");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n >= cap || memchr(s, 0, n)) {
		snprintf(want, sizeof(want), "a string of at most %zu bytes without NUL", cap - 1);
		return api_fail(r, 400, MSG_JSON_RANGE, jr_name(nm, sizeof(nm), ctx, key), want);
	}
	memcpy(dst, s, n + 1);
	return 0;
}

int jr_bool(json_t *o, const char *ctx, const char *key, bool req, bool *dst, bool *present,
	    struct api_response *r)
{
	json_t *v;
	char nm[256];
	int rc = jr_get(o, ctx, key, req, &v, r);
	if (present)
		*present = rc == 1;
	if (rc <= 0)
		return rc;
	if (!json_is_boolean(v))
		return api_fail(r, 400, MSG_JSON_TYPE, jr_name(nm, sizeof(nm), ctx, key),
				"a boolean");
	*dst = json_is_true(v);
	return 0;
}

int jr_u64(json_t *o, const char *ctx, const char *key, bool req, uint64_t min, uint64_t max,
	   uint64_t *dst, bool *present, struct api_response *r)
{
	json_t *v;
	char nm[256], want[96];
	int rc = jr_get(o, ctx, key, req, &v, r);
	if (present)
		*present = rc == 1;
	if (rc <= 0)
		return rc;
	if (!json_is_integer(v))
		return api_fail(r, 400, MSG_JSON_TYPE, jr_name(nm, sizeof(nm), ctx, key),
				"an unsigned integer");
	json_int_t x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
		snprintf(want, sizeof(want), "an integer between %" PRIu64 " and %" PRIu64, min,
			 max);
		return api_fail(r, 400, MSG_JSON_RANGE, jr_name(nm, sizeof(nm), ctx, key), want);
	}
	*dst = (uint64_t)x;
	return 0;
}

int jr_enum(json_t *o, const char *ctx, const char *key, bool req, const char *const *names,
	    int *dst, bool *present, struct api_response *r)
{
	char buf[64], nm[256], list[256] = "";
	bool p;
	int rc = jr_str(o, ctx, key, req, buf, sizeof(buf), &p, r);
	if (present)
		*present = p;
	if (rc < 0 || !p)
		return rc;
	for (int i = 0; names[i]; i++) {
		if (strcmp(buf, names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	for (int i = 0; names[i]; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s`%s`", i ? ", " : "", names[i]);
	}
	return api_fail(r, 400, MSG_JSON_VARIANT, buf, jr_name(nm, sizeof(nm), ctx, key), list);
}

int jr_sub(json_t *o, const char *ctx, const char *key, bool req, json_type t, json_t **dst,
	   struct api_response *r)
{
	char nm[256];
	int rc = jr_get(o, ctx, key, req, dst, r);
	if (rc <= 0) {
		*dst = NULL;
		return rc;
	}
	if (json_typeof(*dst) != t)
		return api_fail(r, 400, MSG_JSON_TYPE, jr_name(nm, sizeof(nm), ctx, key),
				t == JSON_ARRAY ? "an array" : "an object");
	return 0;
}

int jr_tbucket(json_t *o, const char *ctx, const char *key, struct tbucket_cfg *b,
	       struct api_response *r)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	json_t *s;
	char nm[256];
	memset(b, 0, sizeof(*b));
	if (jr_sub(o, ctx, key, false, JSON_OBJECT, &s, r) < 0)
		return -EINVAL;
	if (!s)
		return 0;
	jr_name(nm, sizeof(nm), ctx, key);
	if (jr_object(s, nm, keys, r) < 0 ||
	    jr_u64(s, nm, "size", true, 0, UINT64_MAX, &b->size, NULL, r) < 0 ||
	    jr_u64(s, nm, "one_time_burst", false, 0, UINT64_MAX, &b->one_time_burst, NULL, r) <
		0 ||
	    jr_u64(s, nm, "refill_time", true, 0, UINT64_MAX, &b->refill_time_ms, NULL, r) < 0)
		return -EINVAL;
	b->set = true;
	return 0;
}

int jr_rate_limiter(json_t *o, const char *ctx, const char *key, struct rate_limiter_cfg *rl,
		    struct api_response *r)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	json_t *s;
	char nm[256];
	memset(rl, 0, sizeof(*rl));
	if (jr_sub(o, ctx, key, false, JSON_OBJECT, &s, r) < 0)
		return -EINVAL;
	if (!s)
		return 0;
	jr_name(nm, sizeof(nm), ctx, key);
	if (jr_object(s, nm, keys, r) < 0 ||
	    jr_tbucket(s, nm, "bandwidth", &rl->bandwidth, r) < 0 ||
	    jr_tbucket(s, nm, "ops", &rl->ops, r) < 0)
		return -EINVAL;
	return 0;
}
