/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_http: raw HTTP request bytes -> router -> typed action -> (config-only) executor. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool safe_to_exec(enum api_kind k)
{
	/* no host side effects: no boot, no snapshot files, no log/metrics files */
	return k != API_START && k != API_SNAP_CREATE && k != API_SNAP_LOAD &&
	       k != API_PUT_LOGGER && k != API_PUT_METRICS && k != API_FLUSH_METRICS &&
	       k != API_PATCH_VM && k != API_SEND_CAD;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_vm *vm;
	struct api_action *a = calloc(1, sizeof(*a));
	struct api_response r = {0};
	if (!a)
		return 0;
	if (!vm) {
		vm = calloc(1, sizeof(*vm));
		api_vm_init(vm, "fuzz", NULL, NULL, NULL, 4096);
	}
	if (api_route_raw(data, size, a, &r) == 0 && safe_to_exec(a->kind)) {
		api_exec(vm, a, &r);
		json_t *cfg = api_vm_config_json(vm);
		free(json_dumps(cfg, 0));
		json_decref(cfg);
	}
	api_action_clear(a);
	api_response_free(&r);
	free(a);
	return 0;
}
