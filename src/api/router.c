/* SPDX-License-Identifier: Apache-2.0 */
/* router: (method, path, body) -> typed action, with no global state (fuzzable). */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			return -EINVAL;                                                            \
	} while (0)

static const char *const method_names[] = {"GET", "PUT", "PATCH", "DELETE"};

enum api_method api_method_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum api_method)i;
	return API_M_OTHER;
}

static int snap_mem_backend(json_t *o, struct snap_load_req *s, struct api_response *r)
{
	static const char *const keys[] = {"backend_type", "backend_path", NULL};
	static const char *const types[] = {"File", "Uffd", NULL};
	int t = 0;
	CHECK(jr_object(o, "mem_backend", keys, r));
	CHECK(jr_enum(o, "mem_backend", "backend_type", true, types, &t, NULL, r));
	s->backend = t ? SNAP_MEM_UFFD : SNAP_MEM_FILE;
	return jr_str(o, "mem_backend", "backend_path", true, s->mem_path, sizeof(s->mem_path),
		      NULL, r);
}

static int snap_overrides(json_t *o, struct snap_load_req *s, struct api_response *r)
{
	static const char *const nkeys[] = {"iface_id", "host_dev_name", NULL};
	static const char *const dkeys[] = {"drive_id", "path_on_host", NULL};
	static const char *const vkeys[] = {"uds_path", NULL};
	json_t *arr, *e;
	size_t i;
	CHECK(jr_sub(o, "", "network_overrides", false, JSON_ARRAY, &arr, r));
	if (json_array_size(arr) > VM_MAX_NETS)
		return api_fail(r, 400, MSG_JSON_RANGE, "network_overrides", "at most 8 entries");
	json_array_foreach(arr, i, e)
	{
		struct snap_net_override *n = &s->net[s->n_net++];
		CHECK(jr_object(e, "network_overrides", nkeys, r));
		CHECK(jr_str(e, "network_overrides", "iface_id", true, n->iface_id,
			     sizeof(n->iface_id), NULL, r));
		CHECK(jr_str(e, "network_overrides", "host_dev_name", true, n->host_dev_name,
			     sizeof(n->host_dev_name), NULL, r));
	}
	CHECK(jr_sub(o, "", "drive_overrides", false, JSON_ARRAY, &arr, r));
	if (json_array_size(arr) > VM_MAX_DRIVES)
		return api_fail(r, 400, MSG_JSON_RANGE, "drive_overrides", "at most 16 entries");
	json_array_foreach(arr, i, e)
	{
		struct snap_drive_override *d = &s->drive[s->n_drive++];
		CHECK(jr_object(e, "drive_overrides", dkeys, r));
		CHECK(jr_str(e, "drive_overrides", "drive_id", true, d->drive_id,
			     sizeof(d->drive_id), NULL, r));
		CHECK(jr_str(e, "drive_overrides", "path_on_host", true, d->path_on_host,
			     sizeof(d->path_on_host), NULL, r));
	}
	CHECK(jr_sub(o, "", "vsock_override", false, JSON_OBJECT, &e, r));
	if (e) {
		CHECK(jr_object(e, "vsock_override", vkeys, r));
		CHECK(
		    jr_str(e, "vsock_override", "uds_path", true, s->vsock_uds_path, 108, NULL, r));
		s->has_vsock_override = true;
	}
	return 0;
}

int schema_snap_load(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"snapshot_path",
					   "mem_backend",
					   "mem_file_path",
					   "track_dirty_pages",
					   "resume_vm",
					   "enable_diff_snapshots",
					   "network_overrides",
					   "vsock_override",
					   "drive_overrides",
					   "clock_realtime",
					   NULL};
	struct snap_load_req *s = &a->u.snap_load;
	json_t *mb;
	bool has_file, has_diff, diff = false;
	char file[VM_PATH_MAX];
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_str(o, "", "snapshot_path", true, s->snapshot_path, sizeof(s->snapshot_path), NULL,
		     r));
	CHECK(jr_sub(o, "", "mem_backend", false, JSON_OBJECT, &mb, r));
	CHECK(jr_str(o, "", "mem_file_path", false, file, sizeof(file), &has_file, r));
	if (mb && has_file)
		return api_fail(r, 400, MSG_LOAD_TOO_MANY_MEM);
	if (!mb && !has_file)
		return api_fail(r, 400, MSG_LOAD_MISSING_MEM);
	if (mb) {
		CHECK(snap_mem_backend(mb, s, r));
	} else {
		memcpy(s->mem_path, file, sizeof(file));
		s->backend = SNAP_MEM_FILE;
	}
	CHECK(jr_bool(o, "", "track_dirty_pages", false, &s->track_dirty_pages, NULL, r));
	CHECK(jr_bool(o, "", "enable_diff_snapshots", false, &diff, &has_diff, r));
	s->track_dirty_pages |= diff;
	CHECK(jr_bool(o, "", "resume_vm", false, &s->resume_vm, NULL, r));
	CHECK(jr_bool(o, "", "clock_realtime", false, &s->clock_realtime, NULL, r));
	a->deprecated = has_file || has_diff;
	return snap_overrides(o, s, r);
}

/* A snapshot path field: a string; a NUL byte or more than 4095 bytes is snapshot.md's
 * InvalidPath (checked here, before any I/O, with the JSON length so a NUL is seen). */
static int jr_snap_path(json_t *o, const char *key, bool req, char *dst, size_t cap, bool *present,
			struct api_response *r)
{
	json_t *v = json_object_get(o, key);
	if (v && json_is_string(v)) {
		struct snap_error e = {0};
		if (snap_path_validate_chars(json_string_value(v), json_string_length(v), &e) < 0)
			return api_fail_text(r, e.http_status, e.msg);
	}
	return jr_str(o, "", key, req, dst, cap, present, r);
}

int schema_snap_create(json_t *o, struct api_action *a, struct api_response *r)
{
	static const char *const keys[] = {"snapshot_path", "mem_file_path", "snapshot_type", NULL};
	static const char *const types[] = {"Full", "Diff", NULL};
	struct snap_create_req *s = &a->u.snap_create;
	int t = 0;
	CHECK(jr_object(o, "", keys, r));
	CHECK(jr_snap_path(o, "snapshot_path", true, s->snapshot_path, sizeof(s->snapshot_path),
			   NULL, r));
	CHECK(jr_snap_path(o, "mem_file_path", true, s->mem_file_path, sizeof(s->mem_file_path),
			   NULL, r));
	CHECK(jr_enum(o, "", "snapshot_type", false, types, &t, NULL, r));
	s->type = t ? SNAP_DIFF : SNAP_FULL;
	return 0;
}

typedef int (*schema_fn)(json_t *o, struct api_action *a, struct api_response *r);

/* One routing rule: exact path (or prefix + id when has_id). */
struct route {
	enum api_method m;
	const char *path;
	bool has_id;
	enum api_kind kind;
	schema_fn parse;
};

static int p_machine_put(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_machine(o, false, a, r);
}
static int p_machine_patch(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_machine(o, true, a, r);
}
static int p_drive_put(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_drive(o, false, a, r);
}
static int p_drive_patch(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_drive(o, true, a, r);
}
static int p_net_put(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_net(o, false, a, r);
}
static int p_net_patch(json_t *o, struct api_action *a, struct api_response *r)
{
	return schema_net(o, true, a, r);
}
static int p_mmds(json_t *o, struct api_action *a, struct api_response *r)
{
	if (!json_is_object(o))
		return api_fail(r, 400, MSG_MMDS_NOT_OBJECT);
	a->json = json_incref(o);
	return 0;
}

static const struct route routes[] = {
    {API_M_GET, "/", false, API_GET_ROOT, NULL},
    {API_M_GET, "/version", false, API_GET_VERSION, NULL},
    {API_M_GET, "/machine-config", false, API_GET_MACHINE, NULL},
    {API_M_GET, "/vm/config", false, API_GET_VM_CONFIG, NULL},
    {API_M_GET, "/balloon", false, API_GET_BALLOON, NULL},
    {API_M_GET, "/balloon/statistics", false, API_GET_BALLOON_STATS, NULL},
    {API_M_GET, "/mmds", false, API_GET_MMDS, NULL},
    {API_M_PUT, "/actions", false, API_START, schema_actions},
    {API_M_PUT, "/boot-source", false, API_PUT_BOOT, schema_boot_source},
    {API_M_PUT, "/machine-config", false, API_PUT_MACHINE, p_machine_put},
    {API_M_PATCH, "/machine-config", false, API_PATCH_MACHINE, p_machine_patch},
    {API_M_PUT, "/drives/", true, API_PUT_DRIVE, p_drive_put},
    {API_M_PATCH, "/drives/", true, API_PATCH_DRIVE, p_drive_patch},
    {API_M_PUT, "/network-interfaces/", true, API_PUT_NET, p_net_put},
    {API_M_PATCH, "/network-interfaces/", true, API_PATCH_NET, p_net_patch},
    {API_M_PUT, "/vsock", false, API_PUT_VSOCK, schema_vsock},
    {API_M_PUT, "/entropy", false, API_PUT_ENTROPY, schema_entropy},
    {API_M_PUT, "/balloon", false, API_PUT_BALLOON, schema_balloon},
    {API_M_PATCH, "/balloon", false, API_PATCH_BALLOON, schema_balloon_update},
    {API_M_PATCH, "/balloon/statistics", false, API_PATCH_BALLOON_STATS,
     schema_balloon_stats_update},
    {API_M_PUT, "/logger", false, API_PUT_LOGGER, schema_logger},
    {API_M_PUT, "/metrics", false, API_PUT_METRICS, schema_metrics},
    {API_M_PUT, "/mmds", false, API_PUT_MMDS, p_mmds},
    {API_M_PATCH, "/mmds", false, API_PATCH_MMDS, p_mmds},
    {API_M_PUT, "/mmds/config", false, API_PUT_MMDS_CONFIG, schema_mmds_config},
    {API_M_PUT, "/serial", false, API_PUT_SERIAL, schema_serial},
    {API_M_PUT, "/cpu-config", false, API_PUT_CPU_CONFIG, schema_cpu_config},
    {API_M_PATCH, "/vm", false, API_PATCH_VM, schema_vm},
    {API_M_PUT, "/snapshot/create", false, API_SNAP_CREATE, schema_snap_create},
    {API_M_PUT, "/snapshot/load", false, API_SNAP_LOAD, schema_snap_load},
};

static bool is_unsupported(const char *path)
{
	static const char *const pfx[] = {"/pmem/", "/hotplug/memory", "/drives/",
					  "/network-interfaces/"};
	for (size_t i = 0; i < ARRAY_SIZE(pfx); i++)
		if (strncmp(path, pfx[i], strlen(pfx[i])) == 0)
			return true;
	return strcmp(path, "/pmem") == 0;
}

static int route_hinting(enum api_method m, const char *op, size_t len, struct api_action *a,
			 struct api_response *r)
{
	a->kind = API_BALLOON_HINTING;
	if (m == API_M_PATCH && strcmp(op, "start") == 0)
		a->u.hint_op = API_HINT_START;
	else if (m == API_M_PATCH && strcmp(op, "stop") == 0)
		a->u.hint_op = API_HINT_STOP;
	else if (m == API_M_GET && strcmp(op, "status") == 0 && len == 0)
		a->u.hint_op = API_HINT_STATUS;
	else
		return -ENOENT;
	(void)r;
	return 0;
}

static int parse_body(const struct route *rt, const char *id, const char *body, size_t len,
		      struct api_action *a, struct api_response *r)
{
	json_error_t jerr;
	if (len == 0)
		return api_fail(r, 400, rt->m == API_M_PUT ? MSG_EMPTY_PUT : MSG_EMPTY_PATCH);
	json_t *o =
	    json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!o)
		return api_fail(r, 400, MSG_JSON_SYNTAX, jerr.text, jerr.line, jerr.column);
	int rc = rt->parse(o, a, r);
	json_decref(o);
	if (rc < 0)
		return rc;
	if (rt->has_id) {
		const char *bid = (rt->kind == API_PUT_DRIVE)	  ? a->u.drive.drive_id
				  : (rt->kind == API_PATCH_DRIVE) ? a->u.dpatch.drive_id
				  : (rt->kind == API_PUT_NET)	  ? a->u.net.iface_id
								  : a->u.npatch.iface_id;
		if (strcmp(bid, id) != 0)
			return api_fail(r, 400, MSG_ID_MISMATCH);
	}
	return 0;
}

int api_route(enum api_method m, const char *path, const char *body, size_t len,
	      struct api_action *a, struct api_response *r)
{
	const char *mname = m < API_M_OTHER ? method_names[m] : "UNKNOWN";
	memset(a, 0, sizeof(*a));
	a->kind = API_KIND_COUNT; /* stays so when no route matches */
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		const char *id = NULL;
		if (rt->m != m)
			continue;
		if (rt->has_id) {
			size_t pl = strlen(rt->path);
			if (strncmp(path, rt->path, pl) != 0)
				continue;
			id = path + pl;
			if (strchr(id, '/'))
				continue;
			if (!api_id_valid(id))
				return api_fail(r, 400, MSG_ID_INVALID, id);
		} else if (strcmp(path, rt->path) != 0) {
			continue;
		}
		a->kind = rt->kind;
		if (!rt->parse)
			return len ? api_fail(r, 400, MSG_GET_BODY) : 0;
		int rc = parse_body(rt, id, body, len, a, r);
		if (rc < 0)
			api_action_clear(a);
		return rc;
	}
	if (strncmp(path, "/balloon/hinting/", 17) == 0 &&
	    route_hinting(m, path + 17, len, a, r) == 0)
		return 0;
	if ((m == API_M_DELETE || m == API_M_PUT || m == API_M_PATCH || m == API_M_GET) &&
	    is_unsupported(path))
		return api_fail(r, 400, MSG_UNSUPPORTED, mname, path);
	return api_fail(r, 400, MSG_BAD_ROUTE, mname, path);
}

void api_action_clear(struct api_action *a)
{
	json_decref(a->json);
	a->json = NULL;
}
