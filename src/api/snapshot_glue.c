/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot_glue: weak stand-ins for snapshot_create/load/describe until src/snapshot has them. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WEAK __attribute__((weak))

static void snap_unavailable(struct snap_error *e)
{
	e->variant = SNAP_E_CAPTURE;
	e->http_status = 500;
	snprintf(e->msg, sizeof(e->msg),
		 "snapshot capture/restore failure: not available in this build");
}

WEAK int snapshot_create(struct vmm *v, const struct vm_config *cfg,
			 const struct snap_create_req *r, struct snap_error *e)
{
	snap_unavailable(e);
	return -ENOSYS;
}

WEAK int snapshot_load(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn on_exit,
		       void *ctx, struct vmm **out, struct vm_config *cfg_out, struct snap_error *e)
{
	snap_unavailable(e);
	*out = NULL;
	return -ENOSYS;
}

WEAK int snapshot_describe(const char *path, FILE *out)
{
	fprintf(stderr, "snapshot capture/restore failure: not available in this build\n");
	return -ENOSYS;
}

WEAK int snapshot_rebase_main(int argc, char **argv)
{
	fprintf(stderr, "snapshot capture/restore failure: not available in this build\n");
	return 1;
}
