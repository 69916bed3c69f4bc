/* SPDX-License-Identifier: Apache-2.0 */
/* devices_glue: post-boot device updates (PATCH drives/nets/balloon); weak until wired. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>

#define WEAK __attribute__((weak))
#define NOT_WIRED "not wired to the device model in this build"

WEAK int api_dev_drive_update(struct vmm *v, const struct api_drive_patch *p, char *err, size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}

WEAK int api_dev_net_update(struct vmm *v, const struct api_net_patch *p, char *err, size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}

WEAK int api_dev_balloon_update(struct vmm *v, uint32_t amount_mib, char *err, size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}

WEAK int api_dev_balloon_stats_update(struct vmm *v, uint32_t interval_s, char *err, size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}

WEAK int api_dev_balloon_stats(struct vmm *v, json_t **out, char *err, size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}

WEAK int api_dev_balloon_hinting(struct vmm *v, enum api_hint_op op, json_t **out, char *err,
				 size_t n)
{
	snprintf(err, n, NOT_WIRED);
	return -ENOSYS;
}
