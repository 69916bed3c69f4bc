/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot_mmds: the MMDS data store and its configuration travel in the snapshot's MMDS
 * section as one JSON text (snapshot.md, "Payload"). */
#include "api/api_int.h"

#include <errno.h>
#include <stdlib.h>

#include "base/base.h"

char *api_mmds_snapshot_text(const struct api_vm *vm)
{
	if (!vm->mmds && !vm->mmds_cfg_set)
		return NULL;
	json_t *j = json_pack("{s:O?,s:o}", "data", vm->mmds, "config", api_render_mmds_cfg(vm));
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

int api_mmds_snapshot_restore(struct api_vm *vm, const char *text)
{
	json_error_t jerr;
	struct api_action *a = calloc(1, sizeof(*a)); /* ~80 KiB: not on the stack */
	struct api_response r = {0};
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	json_t *data = json_object_get(j, "data"), *cfg = json_object_get(j, "config");
	int rc = json_is_object(j) && a ? 0 : -EINVAL;
	if (rc == 0 && cfg && !json_is_null(cfg)) {
		a->kind = API_PUT_MMDS_CONFIG;
		rc = schema_mmds_config(cfg, a, &r);
		if (rc == 0)
			rc = api_mmds_cfg_apply(vm, a, &r);
	}
	if (rc == 0 && data && !json_is_null(data)) {
		json_decref(vm->mmds);
		vm->mmds = json_incref(data);
	}
	if (rc < 0)
		LOG_WARNING("snapshot: MMDS section not restored (%s)",
			    r.body ? r.body : "not a JSON object");
	api_response_free(&r);
	json_decref(j);
	free(a);
	return rc < 0 ? -EINVAL : 0;
}
