/* SPDX-License-Identifier: Apache-2.0 */
/* test_router: routes and JSON schemas (missing, wrong type, out of range, unknown fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#define D "An error occurred when deserializing the json body of a request: "

struct rcase {
	const char *method, *path, *body;
	int kind;	 /* expected kind when accepted, -1 when rejected */
	const char *msg; /* expected fault_message when rejected */
};

static const struct rcase cases[] = {
    /* routes */
    {"GET", "/", "", API_GET_ROOT, NULL},
    {"GET", "/version", "", API_GET_VERSION, NULL},
    {"GET", "/vm/config", "", API_GET_VM_CONFIG, NULL},
    {"GET", "/machine-config", "", API_GET_MACHINE, NULL},
    {"GET", "/mmds", "", API_GET_MMDS, NULL},
    {"GET", "/balloon/statistics", "", API_GET_BALLOON_STATS, NULL},
    {"GET", "/nope", "", -1, "Invalid request method and/or path: GET /nope."},
    {"DELETE", "/boot-source", "", -1, "Invalid request method and/or path: DELETE /boot-source."},
    {"GET", "/", "{}", -1, "GET request cannot have a body."},
    {"PUT", "/boot-source", "", -1, "Empty PUT request."},
    {"PATCH", "/machine-config", "", -1, "Empty PATCH request."},
    {"PATCH", "/machine-config", "{}", -1, "Empty PATCH request."},
    {"DELETE", "/drives/a", "", -1,
     "DELETE /drives/a is not supported by squib (no hot-plug, pmem or memory hot-plug)."},
    {"PUT", "/hotplug/memory", "{}", -1,
     "PUT /hotplug/memory is not supported by squib (no hot-plug, pmem or memory hot-plug)."},
    {"PUT", "/boot-source", "{", -1,
     D "string or '}' expected near end of file at line 1 column 1."},
    {"PUT", "/boot-source", "[]", -1, D "invalid type: expected a JSON object."},
    {"PUT", "/boot-source", "{\"kernel_image_path\":\"a\",\"kernel_image_path\":\"b\"}", -1,
     D "duplicate object key near '\"kernel_image_path\"' at line 1 column 44."},
    /* actions */
    {"PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", API_START, NULL},
    {"PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", API_FLUSH_METRICS, NULL},
    {"PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", API_SEND_CAD, NULL},
    {"PUT", "/actions", "{}", -1, D "missing field `action_type`."},
    {"PUT", "/actions", "{\"action_type\":1}", -1,
     D "invalid type for field `action_type`: expected a string."},
    {"PUT", "/actions", "{\"action_type\":\"Reboot\"}", -1,
     D "unknown variant `Reboot` for field `action_type`, expected one of `FlushMetrics`, "
       "`InstanceStart`, `SendCtrlAltDel`."},
    {"PUT", "/actions", "{\"action_type\":\"InstanceStart\",\"x\":1}", -1, D "unknown field `x`."},
    /* boot-source */
    {"PUT", "/boot-source", "{\"kernel_image_path\":\"/k\",\"boot_args\":\"a\"}", API_PUT_BOOT,
     NULL},
    {"PUT", "/boot-source", "{\"boot_args\":\"a\"}", -1, D "missing field `kernel_image_path`."},
    {"PUT", "/boot-source", "{\"kernel_image_path\":5}", -1,
     D "invalid type for field `kernel_image_path`: expected a string."},
    {"PUT", "/boot-source", "{\"kernel_image_path\":\"a\\u0000b\"}", -1,
     D "invalid value for field `kernel_image_path`: expected a string of at most 4095 bytes "
       "without NUL."},
    {"PUT", "/snapshot/create", "{\"snapshot_path\":\"/a\\u0000b\",\"mem_file_path\":\"/m\"}", -1,
     "invalid snapshot path: path contains a NUL byte"},
    /* machine-config */
    {"PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}", API_PUT_MACHINE, NULL},
    {"PUT", "/machine-config", "{\"mem_size_mib\":256}", -1, D "missing field `vcpu_count`."},
    {"PUT", "/machine-config", "{\"vcpu_count\":2}", -1, D "missing field `mem_size_mib`."},
    {"PUT", "/machine-config", "{\"vcpu_count\":-1,\"mem_size_mib\":1}", -1,
     D "invalid value for field `vcpu_count`: expected an integer between 0 and 255."},
    {"PUT", "/machine-config", "{\"vcpu_count\":1.5,\"mem_size_mib\":1}", -1,
     D "invalid type for field `vcpu_count`: expected an unsigned integer."},
    {"PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":1,\"smt\":1}", -1,
     D "invalid type for field `smt`: expected a boolean."},
    {"PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":1,\"huge_pages\":\"1G\"}", -1,
     D "unknown variant `1G` for field `huge_pages`, expected one of `None`, `2M`."},
    {"PATCH", "/machine-config", "{\"vcpu_count\":4}", API_PATCH_MACHINE, NULL},
    /* drives */
    {"PUT", "/drives/rootfs",
     "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r\",\"is_root_device\":true}", API_PUT_DRIVE,
     NULL},
    {"PUT", "/drives/other",
     "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r\",\"is_root_device\":true}", -1,
     "The id from the path does not match the id from the body!"},
    {"PUT", "/drives/bad-id", "{}", -1,
     "Invalid ID `bad-id`: must be 1 to 64 characters of [A-Za-z0-9_]."},
    {"PUT", "/drives/r", "{\"drive_id\":\"r\",\"path_on_host\":\"/r\"}", -1,
     D "missing field `is_root_device`."},
    {"PUT", "/drives/r", "{\"drive_id\":\"r\",\"is_root_device\":false}", -1,
     D "missing field `path_on_host`."},
    {"PUT", "/drives/r",
     "{\"drive_id\":\"r\",\"path_on_host\":\"/"
     "r\",\"is_root_device\":false,\"io_engine\":\"Uring\"}",
     -1, D "unknown variant `Uring` for field `io_engine`, expected one of `Sync`, `Async`."},
    {"PUT", "/drives/r",
     "{\"drive_id\":\"r\",\"path_on_host\":\"/r\",\"is_root_device\":false,\"rate_limiter\":{"
     "\"bandwidth\":{\"size\":1}}}",
     -1, D "missing field `rate_limiter.bandwidth.refill_time`."},
    {"PUT", "/drives/r",
     "{\"drive_id\":\"r\",\"path_on_host\":\"/r\",\"is_root_device\":false,\"rate_limiter\":{"
     "\"bw\":{}}}",
     -1, D "unknown field `rate_limiter.bw`."},
    {"PATCH", "/drives/r", "{\"drive_id\":\"r\",\"path_on_host\":\"/x\"}", API_PATCH_DRIVE, NULL},
    {"PATCH", "/drives/r", "{\"drive_id\":\"r\",\"is_read_only\":true}", -1,
     D "unknown field `is_read_only`."},
    /* network */
    {"PUT", "/network-interfaces/eth0",
     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"06:00:AC:10:00:02\"}",
     API_PUT_NET, NULL},
    {"PUT", "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}", -1,
     D "missing field `host_dev_name`."},
    {"PUT", "/network-interfaces/eth0",
     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"zz\"}", -1,
     D "invalid value for field `guest_mac`: expected a MAC address of the form "
       "xx:xx:xx:xx:xx:xx."},
    {"PUT", "/network-interfaces/eth0",
     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"mtu\":67}", -1,
     D "invalid value for field `mtu`: expected an integer between 68 and 65535."},
    {"PUT", "/network-interfaces/eth0",
     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"0123456789abcdef\"}", -1,
     D "invalid value for field `host_dev_name`: expected a string of at most 15 bytes "
       "without NUL."},
    /* vsock, entropy, balloon, serial */
    {"PUT", "/vsock", "{\"guest_cid\":3,\"uds_path\":\"/v.sock\"}", API_PUT_VSOCK, NULL},
    {"PUT", "/vsock", "{\"guest_cid\":2,\"uds_path\":\"/v.sock\"}", -1,
     D "invalid value for field `guest_cid`: expected an integer between 3 and 4294967295."},
    {"PUT", "/entropy", "{}", API_PUT_ENTROPY, NULL},
    {"PUT", "/balloon", "{\"amount_mib\":0,\"deflate_on_oom\":true}", API_PUT_BALLOON, NULL},
    {"PUT", "/balloon", "{\"amount_mib\":0}", -1, D "missing field `deflate_on_oom`."},
    {"PATCH", "/balloon", "{\"amount_mib\":10}", API_PATCH_BALLOON, NULL},
    {"PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\":1}", API_PATCH_BALLOON_STATS,
     NULL},
    {"PATCH", "/balloon/hinting/start", "{}", API_BALLOON_HINTING, NULL},
    {"PUT", "/serial", "{\"serial_out_path\":\"/tmp/s\"}", API_PUT_SERIAL, NULL},
    /* logger, metrics, mmds */
    {"PUT", "/logger", "{\"log_path\":\"/l\",\"level\":\"debug\"}", API_PUT_LOGGER, NULL},
    {"PUT", "/logger", "{\"level\":\"Loud\"}", -1,
     D "unknown variant `Loud` for field `level`, expected one of `Error`, `Warning`, `Info`, "
       "`Debug`, `Trace`, `Off`."},
    {"PUT", "/metrics", "{}", -1, D "missing field `metrics_path`."},
    {"PUT", "/mmds", "{\"a\":1}", API_PUT_MMDS, NULL},
    {"PUT", "/mmds", "[1]", -1, "The MMDS data store accepts only a JSON object."},
    {"PUT", "/mmds/config", "{\"network_interfaces\":[\"eth0\"],\"version\":\"V2\"}",
     API_PUT_MMDS_CONFIG, NULL},
    {"PUT", "/mmds/config", "{\"network_interfaces\":[]}", -1,
     "The list of network interface IDs that allow forwarding MMDS requests is empty."},
    {"PUT", "/mmds/config", "{\"network_interfaces\":[\"a\"],\"ipv4_address\":\"10.0.0.1\"}", -1,
     "The MMDS IPv4 address is not link local."},
    /* vm, snapshots, cpu-config */
    {"PATCH", "/vm", "{\"state\":\"Paused\"}", API_PATCH_VM, NULL},
    {"PATCH", "/vm", "{\"state\":\"Stopped\"}", -1,
     D "unknown variant `Stopped` for field `state`, expected one of `Paused`, `Resumed`."},
    {"PUT", "/snapshot/create", "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\"}",
     API_SNAP_CREATE, NULL},
    {"PUT", "/snapshot/create", "{\"snapshot_path\":\"s\"}", -1,
     D "missing field `mem_file_path`."},
    {"PUT", "/snapshot/create",
     "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"snapshot_type\":\"Half\"}", -1,
     D "unknown variant `Half` for field `snapshot_type`, expected one of `Full`, `Diff`."},
    {"PUT", "/snapshot/load", "{\"snapshot_path\":\"s\"}", -1,
     "missing field: either `mem_backend` or `mem_file_path` is required"},
    {"PUT", "/snapshot/load",
     "{\"snapshot_path\":\"s\",\"mem_file_path\":\"m\",\"mem_backend\":{\"backend_type\":"
     "\"File\",\"backend_path\":\"m\"}}",
     -1, "too many fields: either `mem_backend` or `mem_file_path` exclusively is required"},
    {"PUT", "/snapshot/load",
     "{\"snapshot_path\":\"s\",\"mem_backend\":{\"backend_type\":\"Disk\",\"backend_path\":\"m\"}}",
     -1,
     D "unknown variant `Disk` for field `mem_backend.backend_type`, expected one of `File`, "
       "`Uffd`."},
    {"PUT", "/cpu-config", "{\"msr_modifiers\":[{\"addr\":\"0x10a\",\"bitmap\":\"0b1\"}]}", -1,
     D "invalid value for field `msr_modifiers.bitmap`: expected \"0b\" followed by 64 of 0, 1 "
       "or x."},
    {"PUT", "/cpu-config", "{\"reg_modifiers\":[]}", -1, D "unknown field `reg_modifiers`."},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rcase *c = &cases[i];
		struct api_action *a = calloc(1, sizeof(*a));
		struct api_response r = {0};
		int rc = api_route(api_method_parse(c->method), c->path, c->body, strlen(c->body),
				   a, &r);
		if (c->kind >= 0) {
			if (rc != 0)
				fail_msg("case %zu %s %s: %s", i, c->method, c->path, r.body);
			assert_int_equal(a->kind, c->kind);
		} else {
			if (rc == 0)
				fail_msg("case %zu %s %s: accepted", i, c->method, c->path);
			assert_int_equal(r.status, 400);
			json_t *j = json_loads(r.body, 0, NULL);
			assert_non_null(j);
			assert_int_equal(json_object_size(j), 1);
			const char *m = json_string_value(json_object_get(j, "fault_message"));
			if (!m || strcmp(m, c->msg) != 0)
				fail_msg("case %zu %s %s:\n got  %s\n want %s", i, c->method,
					 c->path, m, c->msg);
			json_decref(j);
		}
		api_action_clear(a);
		api_response_free(&r);
		free(a);
	}
}

static void test_snapshot_load_fields(void **state)
{
	struct api_action a;
	struct api_response r = {0};
	const char *b =
	    "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\","
	    "\"enable_diff_snapshots\":true,\"resume_vm\":true,"
	    "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap9\"}],"
	    "\"drive_overrides\":[{\"drive_id\":\"root\",\"path_on_host\":\"/d2\"}],"
	    "\"vsock_override\":{\"uds_path\":\"/v2\"},\"clock_realtime\":true}";
	assert_int_equal(api_route(API_M_PUT, "/snapshot/load", b, strlen(b), &a, &r), 0);
	const struct snap_load_req *s = &a.u.snap_load;
	assert_true(a.deprecated);
	assert_string_equal(s->snapshot_path, "/s");
	assert_string_equal(s->mem_path, "/m");
	assert_int_equal(s->backend, SNAP_MEM_FILE);
	assert_true(s->track_dirty_pages && s->resume_vm && s->clock_realtime);
	assert_int_equal(s->n_net, 1);
	assert_string_equal(s->net[0].host_dev_name, "tap9");
	assert_int_equal(s->n_drive, 1);
	assert_string_equal(s->drive[0].path_on_host, "/d2");
	assert_true(s->has_vsock_override);
	assert_string_equal(s->vsock_uds_path, "/v2");
	b = "{\"snapshot_path\":\"/s\",\"mem_backend\":{\"backend_type\":\"Uffd\","
	    "\"backend_path\":\"/u.sock\"},\"track_dirty_pages\":true}";
	assert_int_equal(api_route(API_M_PUT, "/snapshot/load", b, strlen(b), &a, &r), 0);
	assert_false(a.deprecated);
	assert_int_equal(a.u.snap_load.backend, SNAP_MEM_UFFD);
	assert_string_equal(a.u.snap_load.mem_path, "/u.sock");
}

static void test_cpu_config_masks(void **state)
{
	struct api_action *a = calloc(1, sizeof(*a));
	struct api_response r = {0};
	const char *b = "{\"kvm_capabilities\":[\"!56\"],\"cpuid_modifiers\":[{\"leaf\":\"0x7\","
			"\"subleaf\":0,\"flags\":1,\"modifiers\":[{\"register\":\"ebx\",\"bitmap\":"
			"\"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0\"}]}]}";
	assert_int_equal(api_route(API_M_PUT, "/cpu-config", b, strlen(b), a, &r), 0);
	assert_int_equal(a->u.cpu.n_cpuid, 1);
	assert_int_equal(a->u.cpu.cpuid[0].leaf, 7);
	assert_int_equal(a->u.cpu.cpuid[0].reg, 1);
	assert_int_equal(a->u.cpu.cpuid[0].set_mask, 0x80000000u);
	assert_int_equal(a->u.cpu.cpuid[0].clear_mask, 1);
	free(a);
}

static void test_raw(void **state)
{
	struct api_action a;
	struct api_response r = {0};
	const char *req =
	    "PATCH /vm?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n{\"state\":\"Resumed\"}";
	assert_int_equal(api_route_raw((const uint8_t *)req, strlen(req), &a, &r), 0);
	assert_int_equal(a.kind, API_PATCH_VM);
	assert_false(a.u.pause);
	req = "GARBAGE";
	assert_int_not_equal(api_route_raw((const uint8_t *)req, strlen(req), &a, &r), 0);
	assert_int_equal(r.status, 400);
	req = "BREW /pot HTTP/1.1\r\n\r\n";
	assert_int_not_equal(api_route_raw((const uint8_t *)req, strlen(req), &a, &r), 0);
	assert_non_null(strstr(r.body, "BREW /pot"));
	api_response_free(&r);
}

static void test_merge_patch(void **state)
{
	/* RFC 7396 appendix A examples */
	static const char *const ex[][3] = {
	    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
	    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
	    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
	    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		json_t *t = json_loads(ex[i][0], JSON_DECODE_ANY, NULL);
		json_t *p = json_loads(ex[i][1], JSON_DECODE_ANY, NULL);
		json_t *want = json_loads(ex[i][2], JSON_DECODE_ANY, NULL);
		json_t *got = api_merge_patch(t, p);
		if (!json_equal(got, want))
			fail_msg("example %zu", i);
		assert_int_equal(api_json_size(want), strlen(ex[i][2]));
		json_decref(got);
		json_decref(p);
		json_decref(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_snapshot_load_fields),
	    cmocka_unit_test(test_cpu_config_masks),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_merge_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
