/* SPDX-License-Identifier: Apache-2.0 */
/* config: --config-file and --metadata, replayed through the HTTP request handlers. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Top-level keys in replay order (Firecracker's FullVmConfiguration names). */
static const struct {
	const char *key;
	const char *path; /* NULL: array of resources with an id */
	const char *id_field;
	const char *prefix;
} keys[] = {
    {"logger", "/logger", NULL, NULL},
    {"metrics", "/metrics", NULL, NULL},
    {"machine-config", "/machine-config", NULL, NULL},
    {"cpu-config", "/cpu-config", NULL, NULL},
    {"boot-source", "/boot-source", NULL, NULL},
    {"drives", NULL, "drive_id", "/drives/"},
    {"network-interfaces", NULL, "iface_id", "/network-interfaces/"},
    {"vsock", "/vsock", NULL, NULL},
    {"balloon", "/balloon", NULL, NULL},
    {"mmds-config", "/mmds/config", NULL, NULL},
    {"mmds", "/mmds", NULL, NULL},
    {"entropy", "/entropy", NULL, NULL},
    {"serial", "/serial", NULL, NULL},
    {"pmem", NULL, "id", "/pmem/"},
    {"memory-hotplug", "/hotplug/memory", NULL, NULL},
};

/* Route + execute one PUT; on failure write "--config-file: `label` rejected: msg". */
static int replay_one(struct api_vm *vm, const char *label, const char *path, json_t *body,
		      char *err, size_t n)
{
	struct api_action *a = calloc(1, sizeof(*a));
	struct api_response r = {0};
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc = -ENOMEM;
	if (!a || !text)
		goto out;
	rc = api_route(API_M_PUT, path, text, strlen(text), a, &r);
	if (rc == 0) {
		api_exec(vm, a, &r);
		api_action_clear(a);
		rc = r.status >= 300 ? -EINVAL : 0;
	}
	if (rc < 0) {
		json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
		const char *msg = json_string_value(json_object_get(j, "fault_message"));
		snprintf(err, n, api_msg_fmt(MSG_CONFIG_ACTION), label,
			 msg ? msg : api_msg_fmt(MSG_OUT_OF_MEMORY));
		json_decref(j);
	}
out:
	free(text);
	free(a);
	api_response_free(&r);
	return rc;
}

static int replay_array(struct api_vm *vm, int k, json_t *arr, char *err, size_t n)
{
	size_t i;
	json_t *e;
	char path[256], label[128];
	if (!json_is_array(arr)) {
		snprintf(err, n, api_msg_fmt(MSG_CONFIG_ACTION), keys[k].key, "expected an array");
		return -EINVAL;
	}
	json_array_foreach(arr, i, e)
	{
		const char *id = json_string_value(json_object_get(e, keys[k].id_field));
		snprintf(label, sizeof(label), "%s[%zu]", keys[k].key, i);
		if (!id) {
			char m[128];
			snprintf(m, sizeof(m), api_msg_fmt(MSG_JSON_MISSING_FIELD),
				 keys[k].id_field);
			snprintf(err, n, api_msg_fmt(MSG_CONFIG_ACTION), label, m);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s%s", keys[k].prefix, id);
		if (replay_one(vm, label, path, e, err, n) < 0)
			return -EINVAL;
	}
	return 0;
}

int api_config_replay(struct api_vm *vm, const char *text, size_t len, char *err, size_t n)
{
	json_error_t je;
	const char *key;
	json_t *v;
	int rc = 0;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, n, api_msg_fmt(MSG_JSON_SYNTAX), je.text, je.line, je.column);
		return -EINVAL;
	}
	json_object_foreach(doc, key, v)
	{
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			known |= strcmp(key, keys[k].key) == 0;
		if (!known) {
			snprintf(err, n, api_msg_fmt(MSG_CONFIG_KEY), key);
			json_decref(doc);
			return -EINVAL;
		}
	}
	if (!json_object_get(doc, "boot-source")) {
		snprintf(err, n, api_msg_fmt(MSG_JSON_MISSING_FIELD), "boot-source");
		json_decref(doc);
		return -EINVAL;
	}
	for (size_t k = 0; k < ARRAY_SIZE(keys) && rc == 0; k++) {
		v = json_object_get(doc, keys[k].key);
		if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
			continue;
		if (keys[k].path)
			rc = replay_one(vm, keys[k].key, keys[k].path, v, err, n);
		else
			rc = replay_array(vm, (int)k, v, err, n);
	}
	json_decref(doc);
	return rc;
}

int api_metadata_load(struct api_vm *vm, const char *path, char *err, size_t n)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, n, api_msg_fmt(MSG_CONFIG_READ), path, je.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, n, "%s", api_msg_fmt(MSG_MMDS_NOT_OBJECT));
		json_decref(doc);
		return -EINVAL;
	}
	if (api_json_size(doc) > vm->mmds_limit) {
		snprintf(err, n, api_msg_fmt(MSG_MMDS_LIMIT), vm->mmds_limit);
		json_decref(doc);
		return -EFBIG;
	}
	json_decref(vm->mmds);
	vm->mmds = doc;
	return 0;
}
