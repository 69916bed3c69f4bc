/* SPDX-License-Identifier: Apache-2.0 */
/* mmds: MMDS data-store helpers: RFC 7396 JSON merge patch and serialized size. */
#include "api/api.h"

#include <stdlib.h>

json_t *api_merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *val;
	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach(patch, key, val)
	{
		if (json_is_null(val)) {
			json_object_del(target, key);
			continue;
		}
		json_t *cur = json_object_get(target, key);
		json_t *next = api_merge_patch(json_incref(cur), val);
		if (!next) {
			json_decref(target);
			return NULL;
		}
		json_object_set_new(target, key, next);
	}
	return target;
}

static int count_cb(const char *buffer, size_t size, void *data)
{
	(void)buffer;
	*(size_t *)data += size;
	return 0;
}

size_t api_json_size(const json_t *j)
{
	size_t n = 0;
	json_dump_callback(j, count_cb, &n, JSON_COMPACT | JSON_ENCODE_ANY);
	return n;
}
