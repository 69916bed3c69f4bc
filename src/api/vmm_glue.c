/* SPDX-License-Identifier: Apache-2.0 */
/* vmm_glue: weak stand-ins for the vmm functions (linked last, see meson.build). */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WEAK __attribute__((weak))

WEAK void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
}

WEAK int vmm_boot(const struct vm_config *cfg, struct evloop *loop, vmm_exit_fn on_exit, void *ctx,
		  struct vmm **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "not yet able to boot");
	*out = NULL;
	return -ENOSYS;
}

WEAK int vmm_pause(struct vmm *v)
{
	return -ENOSYS;
}

WEAK int vmm_resume(struct vmm *v)
{
	return -ENOSYS;
}

WEAK int vmm_send_ctrl_alt_del(struct vmm *v)
{
	return -ENOSYS;
}

WEAK void vmm_destroy(struct vmm *v)
{
}
