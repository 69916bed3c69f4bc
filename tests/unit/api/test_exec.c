/* SPDX-License-Identifier: Apache-2.0 */
/* test_exec: action executor on a VM without KVM: phases, config model, MMDS, replay, CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"

/* Route + execute; returns the status and copies the fault message (if any) into msg. */
static int run(struct api_vm *vm, const char *m, const char *path, const char *body, char *msg)
{
	struct api_action *a = calloc(1, sizeof(*a));
	struct api_response r = {0};
	int status;
	if (api_route(api_method_parse(m), path, body, strlen(body), a, &r) == 0)
		api_exec(vm, a, &r);
	status = r.status;
	if (msg) {
		json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
		const char *f = json_string_value(json_object_get(j, "fault_message"));
		snprintf(msg, 1024, "%s", f ? f : (r.body ? r.body : ""));
		json_decref(j);
	}
	api_action_clear(a);
	api_response_free(&r);
	free(a);
	return status;
}

static struct api_vm *vm_new(void)
{
	struct api_vm *vm = calloc(1, sizeof(*vm));
	api_vm_init(vm, "t1", NULL, NULL, NULL, 64);
	return vm;
}

static void vm_free(struct api_vm *vm)
{
	api_vm_fini(vm);
	free(vm);
}

static void test_phases(void **state)
{
	struct api_vm *vm = vm_new();
	char msg[1024];
	assert_int_equal(run(vm, "PATCH", "/vm", "{\"state\":\"Paused\"}", msg), 400);
	assert_string_equal(
	    msg, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(run(vm, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", msg),
			 400);
	assert_string_equal(
	    msg, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(run(vm, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", msg),
			 400);
	assert_string_equal(msg, "Cannot start microvm without kernel configuration.");
	/* pretend it runs: pre-boot operations are refused with Firecracker's string */
	vm->state = API_VM_RUNNING;
	assert_int_equal(run(vm, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}", msg),
			 400);
	assert_string_equal(msg,
			    "The requested operation is not supported after starting the microVM.");
	assert_int_equal(run(vm, "PUT", "/snapshot/create",
			     "{\"snapshot_path\":\"/tmp/s\",\"mem_file_path\":\"/tmp/m\"}", msg),
			 400);
	assert_string_equal(msg, api_msg_fmt(MSG_CREATE_NOT_PAUSED));
	vm->state = API_VM_PAUSED;
	assert_int_equal(run(vm, "PATCH", "/vm", "{\"state\":\"Paused\"}", msg), 204);
	vm->state = API_VM_NOT_STARTED;
	vm_free(vm);
}

static void test_machine_and_balloon(void **state)
{
	struct api_vm *vm = vm_new();
	char msg[1024];
	assert_int_equal(vm->cfg.machine.vcpu_count, 1);
	assert_int_equal(vm->cfg.machine.mem_size_mib, 128);
	assert_int_equal(
	    run(vm, "PUT", "/machine-config", "{\"vcpu_count\":33,\"mem_size_mib\":1}", msg), 400);
	assert_string_equal(msg, api_msg_fmt(MSG_VCPU_COUNT));
	assert_int_equal(run(vm, "PUT", "/machine-config",
			     "{\"vcpu_count\":3,\"mem_size_mib\":64,\"smt\":true}", msg),
			 400);
	assert_int_equal(
	    run(vm, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":0}", msg), 400);
	assert_string_equal(msg, api_msg_fmt(MSG_MEM_SIZE));
	assert_int_equal(run(vm, "PUT", "/machine-config",
			     "{\"vcpu_count\":1,\"mem_size_mib\":3,\"huge_pages\":\"2M\"}", msg),
			 400);
	/* failed PUTs left the defaults */
	assert_int_equal(vm->cfg.machine.vcpu_count, 1);
	assert_int_equal(vm->cfg.machine.mem_size_mib, 128);
	assert_int_equal(
	    run(vm, "PUT", "/balloon", "{\"amount_mib\":200,\"deflate_on_oom\":false}", msg), 400);
	assert_string_equal(msg, "Amount of pages requested is too large.");
	assert_int_equal(
	    run(vm, "PUT", "/balloon", "{\"amount_mib\":100,\"deflate_on_oom\":false}", NULL), 204);
	assert_int_equal(run(vm, "PATCH", "/machine-config", "{\"mem_size_mib\":64}", msg), 400);
	assert_string_equal(msg, api_msg_fmt(MSG_BALLOON_MEM));
	assert_int_equal(
	    run(vm, "PATCH", "/machine-config", "{\"vcpu_count\":2,\"smt\":true}", NULL), 204);
	assert_int_equal(vm->cfg.machine.vcpu_count, 2);
	assert_true(vm->cfg.machine.smt);
	assert_int_equal(vm->cfg.machine.mem_size_mib, 128);
	assert_int_equal(run(vm, "GET", "/balloon", "", NULL), 200);
	vm_free(vm);
}

static void test_devices(void **state)
{
	struct api_vm *vm = vm_new();
	char msg[1024];
	const char *root =
	    "{\"drive_id\":\"root\",\"path_on_host\":\"/r\",\"is_root_device\":true}";
	const char *d2 = "{\"drive_id\":\"d2\",\"path_on_host\":\"/r2\",\"is_root_device\":true}";
	assert_int_equal(run(vm, "PUT", "/drives/root", root, NULL), 204);
	assert_int_equal(run(vm, "PUT", "/drives/d2", d2, msg), 400);
	assert_string_equal(msg, "A root block device already exists!");
	assert_int_equal(run(vm, "PUT", "/drives/root", root, NULL), 204); /* update in place */
	assert_int_equal(vm->cfg.n_drives, 1);
	assert_int_equal(run(vm, "PUT", "/network-interfaces/a",
			     "{\"iface_id\":\"a\",\"host_dev_name\":\"tap0\",\"guest_mac\":"
			     "\"06:00:00:00:00:01\"}",
			     NULL),
			 204);
	assert_int_equal(run(vm, "PUT", "/network-interfaces/b",
			     "{\"iface_id\":\"b\",\"host_dev_name\":\"tap0\"}", msg),
			 400);
	assert_string_equal(msg, "The host device name is already in use: tap0");
	assert_int_equal(run(vm, "PUT", "/network-interfaces/b",
			     "{\"iface_id\":\"b\",\"host_dev_name\":\"tap1\",\"guest_mac\":"
			     "\"06:00:00:00:00:01\"}",
			     msg),
			 400);
	assert_string_equal(msg, "The MAC address is already in use: 06:00:00:00:00:01");
	assert_int_equal(run(vm, "PUT", "/mmds/config", "{\"network_interfaces\":[\"zz\"]}", msg),
			 400);
	assert_string_equal(msg, api_msg_fmt(MSG_MMDS_IFACE_UNKNOWN));
	assert_int_equal(run(vm, "PUT", "/mmds/config", "{\"network_interfaces\":[\"a\"]}", NULL),
			 204);
	assert_int_equal(vm->mmds_cfg.ipv4, 0xa9fea9feu);
	vm_free(vm);
}

static void test_mmds(void **state)
{
	struct api_vm *vm = vm_new(); /* limit 64 bytes */
	char msg[1024];
	assert_int_equal(run(vm, "GET", "/mmds", "", msg), 404);
	assert_int_equal(run(vm, "PATCH", "/mmds", "{\"a\":1}", msg), 400);
	assert_string_equal(msg, "The MMDS data store is not initialized.");
	assert_int_equal(run(vm, "PUT", "/mmds", "{\"a\":{\"b\":1,\"c\":2}}", NULL), 204);
	assert_int_equal(run(vm, "PATCH", "/mmds", "{\"a\":{\"b\":null},\"d\":\"x\"}", NULL), 204);
	char *s = json_dumps(vm->mmds, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"a\":{\"c\":2},\"d\":\"x\"}");
	free(s);
	assert_int_equal(run(vm, "PATCH", "/mmds",
			     "{\"big\":\"0123456789012345678901234567890123456789012345678\"}",
			     msg),
			 413);
	assert_string_equal(msg, "The MMDS data store size limit of 64 bytes would be exceeded.");
	assert_int_equal(run(vm, "GET", "/mmds", "", msg), 200);
	assert_string_equal(msg, "{\"a\":{\"c\":2},\"d\":\"x\"}");
	vm_free(vm);
}

static void test_start_and_snapshot_errors(void **state)
{
	struct api_vm *vm = vm_new();
	char msg[1024];
	assert_int_equal(
	    run(vm, "PUT", "/boot-source", "{\"kernel_image_path\":\"/nonexistent\"}", NULL), 204);
	/* Without a working /dev/kvm (or a boot implementation) the start fails cleanly. */
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		assert_int_equal(
		    run(vm, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", msg), 400);
		assert_true(strlen(msg) > 0);
		assert_int_equal(vm->state, API_VM_NOT_STARTED);
	}
	/* configured boot resources forbid a snapshot load afterwards */
	assert_int_equal(run(vm, "PUT", "/snapshot/load",
			     "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", msg),
			 400);
	assert_string_equal(msg, "Loading a microVM snapshot not allowed after configuring "
				 "boot-specific resources.");
	vm_free(vm);
	vm = vm_new();
	assert_int_equal(run(vm, "PUT", "/logger", "{\"level\":\"Warning\"}", NULL), 204);
	int st = run(
	    vm, "PUT", "/snapshot/load",
	    "{\"snapshot_path\":\"/nonexistent/"
	    "s\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"/nonexistent/m\"}}",
	    msg);
	assert_true(st == 400 || st == 500);
	assert_int_equal(vm->state, API_VM_NOT_STARTED);
	vm_free(vm);
}

static void test_config_replay(void **state)
{
	struct api_vm *vm = vm_new();
	char err[1024];
	const char *good =
	    "{\"boot-source\":{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\"},"
	    "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":256},"
	    "\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r\",\"is_root_device\":true,"
	    "\"is_read_only\":false}],\"network-interfaces\":[],\"logger\":null}";
	assert_int_equal(api_config_replay(vm, good, strlen(good), err, sizeof(err)), 0);
	assert_int_equal(vm->cfg.machine.vcpu_count, 2);
	assert_int_equal(vm->cfg.n_drives, 1);
	assert_string_equal(vm->cfg.boot.boot_args, "console=ttyS0");
	vm_free(vm);
	vm = vm_new();
	const char *bad = "{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"machine-config\":{"
			  "\"vcpu_count\":2}}";
	assert_int_not_equal(api_config_replay(vm, bad, strlen(bad), err, sizeof(err)), 0);
	assert_string_equal(err, "--config-file: `machine-config` rejected: An error occurred when "
				 "deserializing the json body of a request: missing field "
				 "`mem_size_mib`.");
	const char *unk = "{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"bogus\":1}";
	assert_int_not_equal(api_config_replay(vm, unk, strlen(unk), err, sizeof(err)), 0);
	assert_string_equal(err, "--config-file: unknown key `bogus`");
	const char *nob = "{}";
	assert_int_not_equal(api_config_replay(vm, nob, strlen(nob), err, sizeof(err)), 0);
	vm_free(vm);
}

static void test_cli(void **state)
{
	struct api_cli c;
	char err[512];
	char *ok[] = {"squib",
		      "--api-sock",
		      "/tmp/a.sock",
		      "--id",
		      "vm1",
		      "--level=Debug",
		      "--http-api-max-payload-size",
		      "2048",
		      "--boot-timer",
		      NULL};
	assert_int_equal(api_cli_parse(9, ok, &c, err, sizeof(err)), 0);
	assert_string_equal(c.api_sock, "/tmp/a.sock");
	assert_string_equal(c.id, "vm1");
	assert_int_equal(c.max_payload, 2048);
	assert_int_equal(c.mmds_limit, 2048);
	assert_true(c.boot_timer);
	char *bad[] = {"squib", "--frobnicate", NULL};
	assert_int_not_equal(api_cli_parse(2, bad, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "--frobnicate"));
	char *noapi[] = {"squib", "--no-api", NULL};
	assert_int_not_equal(api_cli_parse(2, noapi, &c, err, sizeof(err)), 0);
	char *small[] = {"squib", "--http-api-max-payload-size", "10", NULL};
	assert_int_not_equal(api_cli_parse(3, small, &c, err, sizeof(err)), 0);
	char *novalue[] = {"squib", "--api-sock", NULL};
	assert_int_not_equal(api_cli_parse(2, novalue, &c, err, sizeof(err)), 0);
	char *both[] = {"squib", "--no-seccomp", "--seccomp-filter", "/f", NULL};
	assert_int_not_equal(api_cli_parse(4, both, &c, err, sizeof(err)), 0);
	char *lvl[] = {"squib", "--level", "loud", NULL};
	assert_int_not_equal(api_cli_parse(3, lvl, &c, err, sizeof(err)), 0);
}

static void test_metrics_doc(void **state)
{
	free(api_metrics_render()); /* reset the deltas left by the other tests */
	api_metrics_count(API_PUT_BOOT, false);
	api_metrics_count(API_PUT_BOOT, true);
	api_metrics_latency("pause_vm", 42);
	char *s = api_metrics_render();
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	json_t *put = json_object_get(j, "put_api_requests");
	assert_int_equal(json_integer_value(json_object_get(put, "boot_source_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(put, "boot_source_fails")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "latencies_us"), "pause_vm")),
	    42);
	assert_non_null(json_object_get(json_object_get(j, "logger"), "missed_log_count"));
	assert_non_null(json_object_get(j, "utc_timestamp_ms"));
	json_decref(j);
	free(s);
	/* counters are deltas since the previous flush */
	s = api_metrics_render();
	j = json_loads(s, 0, NULL);
	put = json_object_get(j, "put_api_requests");
	assert_int_equal(json_integer_value(json_object_get(put, "boot_source_count")), 0);
	json_decref(j);
	free(s);
}

static void test_cpu_config_round_trip(void **state)
{
	struct api_vm *vm = vm_new();
	const char *body =
	    "{\"cpuid_modifiers\":[{\"leaf\":\"0x7\",\"subleaf\":\"0x0\",\"flags\":0,\"modifiers\":"
	    "["
	    "{\"register\":\"ebx\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx10\"},"
	    "{\"register\":\"edx\",\"bitmap\":\"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}],"
	    "\"msr_modifiers\":[{\"addr\":\"0x10a\",\"bitmap\":\"0b"
	    "0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1\"}]}";
	assert_int_equal(run(vm, "PUT", "/cpu-config", body, NULL), 204);
	json_t *want = json_loads(body, 0, NULL);
	json_t *cfg = api_vm_config_json(vm);
	assert_true(json_equal(json_object_get(cfg, "cpu-config"), want));
	json_decref(cfg);
	json_decref(want);
	vm_free(vm);
}

static int pause_timeout(struct vmm *v)
{
	return -ETIMEDOUT;
}

static int resume_fail(struct vmm *v)
{
	return -EIO;
}

static int create_quiesce(struct vmm *v, const struct vm_config *cfg,
			  const struct snap_create_req *r, struct snap_error *e)
{
	e->variant = SNAP_E_QUIESCE_TIMEOUT;
	e->http_status = 503;
	snprintf(e->msg, sizeof(e->msg), "a vCPU did not ack quiesce within the timeout");
	return -ETIMEDOUT;
}

static int load_with_boot(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn fn,
			  void *ctx, struct vmm **out, struct vm_config *cfg_out,
			  struct snap_error *e)
{
	cfg_out->boot.set = true;
	snprintf(cfg_out->boot.kernel_image_path, sizeof(cfg_out->boot.kernel_image_path), "/k9");
	cfg_out->machine.vcpu_count = 2;
	return api_vmm_ops_fake.boot(cfg_out, loop, fn, ctx, out, NULL, 0);
}

static void test_post_boot_with_stand_in(void **state)
{
	struct api_vm *vm = vm_new();
	struct api_vmm_ops ops = api_vmm_ops_fake;
	char msg[1024];
	ops.pause = pause_timeout;
	ops.resume = resume_fail;
	ops.snap_create = create_quiesce;
	vm->ops = &ops;
	assert_int_equal(run(vm, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}", NULL),
			 204);
	assert_int_equal(run(vm, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", NULL),
			 204);
	assert_int_equal(vm->state, API_VM_RUNNING);
	assert_int_equal(run(vm, "PATCH", "/vm", "{\"state\":\"Paused\"}", msg), 503);
	assert_string_equal(msg, "a vCPU did not ack quiesce within the timeout");
	assert_int_equal(vm->state, API_VM_RUNNING);
	vm->state = API_VM_PAUSED;
	assert_int_equal(run(vm, "PATCH", "/vm", "{\"state\":\"Resumed\"}", msg), 400);
	assert_string_equal(msg, "Cannot resume the microVM: Input/output error");
	assert_int_equal(vm->state, API_VM_PAUSED);
	assert_int_equal(run(vm, "PUT", "/snapshot/create",
			     "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", msg),
			 503);
	assert_string_equal(msg, "a vCPU did not ack quiesce within the timeout");
	vm_free(vm);
	/* a restore keeps what the snapshot module reports (boot source included) */
	vm = vm_new();
	ops.snap_load = load_with_boot;
	vm->ops = &ops;
	assert_int_equal(
	    run(vm, "PUT", "/snapshot/load",
		"{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\",\"resume_vm\":true}", NULL),
	    204);
	assert_int_equal(vm->state, API_VM_RUNNING);
	assert_true(vm->restored);
	json_t *j = api_vm_config_json(vm);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "boot-source"),
							      "kernel_image_path")),
			    "/k9");
	json_decref(j);
	vm_free(vm);
}

/* MMDS travels in the snapshot: what create hands the snapshot module comes back on load. */
static char *mmds_saved;

static int create_keep_mmds(struct vmm *v, const struct vm_config *cfg,
			    const struct snap_create_req *r, struct snap_error *e)
{
	free(mmds_saved);
	mmds_saved = r->mmds_json ? strdup(r->mmds_json) : NULL;
	return 0;
}

static int load_with_mmds(const struct snap_load_req *r, struct evloop *loop, vmm_exit_fn fn,
			  void *ctx, struct vmm **out, struct vm_config *cfg_out,
			  struct snap_error *e)
{
	cfg_out->n_nets = 1;
	snprintf(cfg_out->nets[0].iface_id, sizeof(cfg_out->nets[0].iface_id), "eth0");
	assert_non_null(r->mmds_json_out);
	*r->mmds_json_out = mmds_saved ? strdup(mmds_saved) : NULL;
	return load_with_boot(r, loop, fn, ctx, out, cfg_out, e);
}

static void test_mmds_in_snapshots(void **state)
{
	struct api_vm *vm = vm_new();
	struct api_vmm_ops ops = api_vmm_ops_fake;
	char msg[1024];
	ops.snap_create = create_keep_mmds;
	ops.snap_load = load_with_mmds;
	vm->ops = &ops;
	/* no MMDS at all: no section */
	vm->state = API_VM_PAUSED;
	assert_int_equal(run(vm, "PUT", "/snapshot/create",
			     "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", NULL),
			 204);
	assert_null(mmds_saved);
	vm->state = API_VM_NOT_STARTED;
	assert_int_equal(run(vm, "PUT", "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap9\"}", msg),
			 204);
	assert_int_equal(run(vm, "PUT", "/mmds/config",
			     "{\"network_interfaces\":[\"eth0\"],\"version\":\"V2\","
			     "\"ipv4_address\":\"169.254.170.2\"}",
			     msg),
			 204);
	assert_int_equal(run(vm, "PUT", "/mmds", "{\"k\":{\"v\":[1,2]}}", msg), 204);
	vm->state = API_VM_PAUSED;
	assert_int_equal(run(vm, "PUT", "/snapshot/create",
			     "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", msg),
			 204);
	assert_non_null(mmds_saved);
	vm->state = API_VM_NOT_STARTED;
	vm_free(vm);

	vm = vm_new();
	vm->ops = &ops;
	assert_int_equal(run(vm, "PUT", "/snapshot/load",
			     "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}", msg),
			 204);
	assert_int_equal(run(vm, "GET", "/mmds", "", msg), 200);
	assert_string_equal(msg, "{\"k\":{\"v\":[1,2]}}");
	json_t *j = api_vm_config_json(vm);
	char *c = json_dumps(json_object_get(j, "mmds-config"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(c, "{\"imds_compat\":false,\"ipv4_address\":\"169.254.170.2\","
			       "\"network_interfaces\":[\"eth0\"],\"version\":\"V2\"}");
	free(c);
	json_decref(j);
	vm_free(vm);
	free(mmds_saved);
	mmds_saved = NULL;
}

/* network-interfaces mtu: stored, shown by GET /vm/config, absent when not given. */
static void test_net_mtu(void **state)
{
	struct api_vm *vm = vm_new();
	char msg[1024];
	assert_int_equal(run(vm, "PUT", "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap9\",\"mtu\":9000}",
			     msg),
			 204);
	assert_int_equal(run(vm, "PUT", "/network-interfaces/eth1",
			     "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap8\"}", msg),
			 204);
	assert_int_equal(run(vm, "PUT", "/network-interfaces/eth2",
			     "{\"iface_id\":\"eth2\",\"host_dev_name\":\"tap7\",\"mtu\":67}", msg),
			 400);
	json_t *j = api_vm_config_json(vm);
	json_t *nets = json_object_get(j, "network-interfaces");
	assert_int_equal(json_array_size(nets), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(nets, 0), "mtu")), 9000);
	assert_null(json_object_get(json_array_get(nets, 1), "mtu"));
	json_decref(j);
	vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phases),
	    cmocka_unit_test(test_machine_and_balloon),
	    cmocka_unit_test(test_devices),
	    cmocka_unit_test(test_mmds),
	    cmocka_unit_test(test_start_and_snapshot_errors),
	    cmocka_unit_test(test_config_replay),
	    cmocka_unit_test(test_cli),
	    cmocka_unit_test(test_metrics_doc),
	    cmocka_unit_test(test_post_boot_with_stand_in),
	    cmocka_unit_test(test_cpu_config_round_trip),
	    cmocka_unit_test(test_mmds_in_snapshots),
	    cmocka_unit_test(test_net_mtu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
