/* SPDX-License-Identifier: Apache-2.0 */
/* meta: per-action labels and deadlines (squib's 504 classes). */
#include "api/api.h"

#include <stdlib.h>

const char *api_action_what(enum api_kind k)
{
	switch (k) {
	case API_START:
		return "InstanceStart";
	case API_SNAP_CREATE:
		return "PUT /snapshot/create";
	case API_SNAP_LOAD:
		return "PUT /snapshot/load";
	case API_PATCH_VM:
		return "PATCH /vm";
	case API_PATCH_BALLOON:
		return "PATCH /balloon";
	case API_PUT_BOOT:
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
	case API_PUT_DRIVE:
	case API_PUT_NET:
	case API_PUT_VSOCK:
	case API_PUT_ENTROPY:
	case API_PUT_BALLOON:
	case API_PUT_LOGGER:
	case API_PUT_METRICS:
	case API_PUT_MMDS_CONFIG:
	case API_PUT_SERIAL:
	case API_PUT_CPU_CONFIG:
		return "pre-boot config";
	default:
		return "VMM action";
	}
}

int api_action_deadline_ms(enum api_kind k)
{
	const char *over = getenv("SQUIB_TEST_DEADLINE_MS"); /* test hook */
	if (over && atoi(over) > 0)
		return atoi(over);
	switch (k) {
	case API_START:
	case API_PATCH_BALLOON:
		return 30000;
	case API_SNAP_CREATE:
	case API_SNAP_LOAD:
		return 300000;
	default:
		return 5000;
	}
}
