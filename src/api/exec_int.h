/* SPDX-License-Identifier: Apache-2.0 */
/* exec_int: split of the action executor between exec.c and exec_runtime.c. */
#ifndef SQUIB_API_EXEC_INT_H
#define SQUIB_API_EXEC_INT_H

#include "api/api.h"

/* GETs, lifecycle, post-boot updates, MMDS and snapshots. VMM thread. */
int exec_runtime(struct api_vm *vm, struct api_action *a, struct api_response *r);
/* JSON renderers (render.c). */
json_t *api_render_root(const struct api_vm *vm);
json_t *api_render_machine(const struct api_vm *vm);
json_t *api_render_balloon(const struct api_vm *vm);

#endif
