/* SPDX-License-Identifier: Apache-2.0 */
/* api_int: helpers shared by the api module's files (strict JSON readers, schema parsers). */
#ifndef SQUIB_API_INT_H
#define SQUIB_API_INT_H

#include "api/api.h"

/* Strict readers. `ctx` is the dotted path of the enclosing object ("" at top level). A null
 * value counts as absent. Each returns 0, or -EINVAL with a 400 answer in r naming the field. */
int jr_object(json_t *o, const char *ctx, const char *const *allowed, struct api_response *r);
int jr_str(json_t *o, const char *ctx, const char *key, bool req, char *dst, size_t cap,
	   bool *present, struct api_response *r);
int jr_bool(json_t *o, const char *ctx, const char *key, bool req, bool *dst, bool *present,
	    struct api_response *r);
int jr_u64(json_t *o, const char *ctx, const char *key, bool req, uint64_t min, uint64_t max,
	   uint64_t *dst, bool *present, struct api_response *r);
/* String restricted to names[]; *dst is the index. */
int jr_enum(json_t *o, const char *ctx, const char *key, bool req, const char *const *names,
	    int *dst, bool *present, struct api_response *r);
/* Sub-value of the given JSON type (JSON_OBJECT / JSON_ARRAY), or NULL when absent. */
int jr_sub(json_t *o, const char *ctx, const char *key, bool req, json_type t, json_t **dst,
	   struct api_response *r);
/* RateLimiter object at key (absent = unlimited). */
int jr_rate_limiter(json_t *o, const char *ctx, const char *key, struct rate_limiter_cfg *rl,
		    struct api_response *r);
/* TokenBucket object at key (SerialDevice.rate_limiter). */
int jr_tbucket(json_t *o, const char *ctx, const char *key, struct tbucket_cfg *b,
	       struct api_response *r);
/* Build "ctx.key" into buf. */
const char *jr_name(char *buf, size_t cap, const char *ctx, const char *key);
/* 1..64 of [A-Za-z0-9_] */
bool api_id_valid(const char *id);

/* Schema parsers (schemas*.c): body object -> action fields. */
int schema_boot_source(json_t *o, struct api_action *a, struct api_response *r);
int schema_machine(json_t *o, bool patch, struct api_action *a, struct api_response *r);
int schema_drive(json_t *o, bool patch, struct api_action *a, struct api_response *r);
int schema_net(json_t *o, bool patch, struct api_action *a, struct api_response *r);
int schema_vsock(json_t *o, struct api_action *a, struct api_response *r);
int schema_entropy(json_t *o, struct api_action *a, struct api_response *r);
int schema_balloon(json_t *o, struct api_action *a, struct api_response *r);
int schema_balloon_update(json_t *o, struct api_action *a, struct api_response *r);
int schema_balloon_stats_update(json_t *o, struct api_action *a, struct api_response *r);
int schema_logger(json_t *o, struct api_action *a, struct api_response *r);
int schema_metrics(json_t *o, struct api_action *a, struct api_response *r);
int schema_mmds_config(json_t *o, struct api_action *a, struct api_response *r);
/* PUT /mmds/config's effect (interfaces must exist), also used when a snapshot is loaded. */
int api_mmds_cfg_apply(struct api_vm *vm, struct api_action *a, struct api_response *r);
/* GET /vm/config's "mmds-config" (null when not configured). */
json_t *api_render_mmds_cfg(const struct api_vm *vm);
/* MMDS in snapshots (snapshot_mmds.c): the data store and its configuration as one JSON text
 * {"data": <store or null>, "config": <mmds-config or null>}; NULL when neither is set (or
 * out of memory: the snapshot then has no MMDS section). Free with free(). */
char *api_mmds_snapshot_text(const struct api_vm *vm);
/* Take that text back after a load. 0, or -EINVAL (logged; MMDS left as it was). */
int api_mmds_snapshot_restore(struct api_vm *vm, const char *text);
int schema_serial(json_t *o, struct api_action *a, struct api_response *r);
int schema_actions(json_t *o, struct api_action *a, struct api_response *r);
int schema_vm(json_t *o, struct api_action *a, struct api_response *r);
int schema_cpu_config(json_t *o, struct api_action *a, struct api_response *r);
int schema_snap_create(json_t *o, struct api_action *a, struct api_response *r);
int schema_snap_load(json_t *o, struct api_action *a, struct api_response *r);

/* Pointer to the drive/net with that id in cfg, or NULL. */
struct drive_cfg *api_cfg_drive(struct vm_config *cfg, const char *id);
struct net_cfg *api_cfg_net(struct vm_config *cfg, const char *id);

#endif
