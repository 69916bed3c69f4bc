# SPDX-License-Identifier: Apache-2.0
# test_api_transcript: table-driven API transcript (one row per case) against a fresh squib.
import copy
import json

import pytest

from conftest import Squib, kvm_usable

D = "An error occurred when deserializing the json body of a request: "
BEFORE = "The requested operation is not supported before starting the microVM."
AFTER = "The requested operation is not supported after starting the microVM."
BAD_ROUTE = "Invalid request method and/or path: %s %s."
UNSUP = "%s %s is not supported by squib (no hot-plug, pmem or memory hot-plug)."
SNAP_FAIL = ("snapshot capture/restore failure: not available in this build",)

NET = ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0"})
BOOT = ("PUT", "/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"})
BALLOON = ("PUT", "/balloon", {"amount_mib": 16, "deflate_on_oom": True,
                               "stats_polling_interval_s": 1})
MMDS = ("PUT", "/mmds", {"latest": {"meta-data": {"ami-id": "ami-1"}}})

TYPE_WORDS = {"s": (1, "a string"), "u": ("x", "an unsigned integer"),
              "b": ("yes", "a boolean"), "o": (1, "an object"), "a": (1, "an array")}

# endpoint schemas: (method, path, valid body, required fields, field types, setup,
#                    happy status, happy fault)
SCHEMAS = [
    ("PUT", "/boot-source",
     {"kernel_image_path": "/k", "initrd_path": "/i", "boot_args": "console=ttyS0"},
     ["kernel_image_path"], {"kernel_image_path": "s", "initrd_path": "s", "boot_args": "s"},
     [], 204, None),
    ("PUT", "/machine-config",
     {"vcpu_count": 2, "mem_size_mib": 256, "smt": False, "track_dirty_pages": True,
      "huge_pages": "None"},
     ["vcpu_count", "mem_size_mib"],
     {"vcpu_count": "u", "mem_size_mib": "u", "smt": "b", "track_dirty_pages": "b",
      "huge_pages": "s"}, [], 204, None),
    ("PATCH", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 512}, [],
     {"vcpu_count": "u", "mem_size_mib": "u", "smt": "b", "track_dirty_pages": "b"}, [], 204,
     None),
    ("PUT", "/drives/rootfs",
     {"drive_id": "rootfs", "path_on_host": "/r.ext4", "is_root_device": True,
      "is_read_only": False, "partuuid": "0eaa91a0-01", "cache_type": "Unsafe",
      "io_engine": "Sync",
      "rate_limiter": {"bandwidth": {"size": 1000, "one_time_burst": 10, "refill_time": 100}}},
     ["drive_id", "is_root_device", "path_on_host"],
     {"drive_id": "s", "path_on_host": "s", "is_root_device": "b", "is_read_only": "b",
      "partuuid": "s", "cache_type": "s", "io_engine": "s", "rate_limiter": "o"}, [], 204, None),
    ("PUT", "/network-interfaces/eth0",
     {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00:02",
      "mtu": 1500, "rx_rate_limiter": {"ops": {"size": 10, "refill_time": 1000}}},
     ["iface_id", "host_dev_name"],
     {"iface_id": "s", "host_dev_name": "s", "guest_mac": "s", "mtu": "u",
      "rx_rate_limiter": "o", "tx_rate_limiter": "o"}, [], 204, None),
    ("PUT", "/vsock", {"guest_cid": 3, "uds_path": "/tmp/v.sock"}, ["guest_cid", "uds_path"],
     {"guest_cid": "u", "uds_path": "s"}, [], 204, None),
    ("PUT", "/entropy", {"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}}, [],
     {"rate_limiter": "o"}, [], 204, None),
    ("PUT", "/balloon",
     {"amount_mib": 16, "deflate_on_oom": True, "stats_polling_interval_s": 1,
      "free_page_hinting": False, "free_page_reporting": False},
     ["amount_mib", "deflate_on_oom"],
     {"amount_mib": "u", "deflate_on_oom": "b", "stats_polling_interval_s": "u",
      "free_page_hinting": "b", "free_page_reporting": "b"}, [], 204, None),
    ("PUT", "/logger",
     {"log_path": "{tmp}/fc.log", "level": "Debug", "show_level": True, "show_log_origin": True},
     [], {"log_path": "s", "level": "s", "show_level": "b", "show_log_origin": "b",
          "module": "s"}, [], 204, None),
    ("PUT", "/metrics", {"metrics_path": "{tmp}/metrics.json"}, ["metrics_path"],
     {"metrics_path": "s"}, [], 204, None),
    ("PUT", "/mmds/config",
     {"network_interfaces": ["eth0"], "version": "V2", "ipv4_address": "169.254.170.2",
      "imds_compat": True},
     ["network_interfaces"],
     {"network_interfaces": "a", "version": "s", "ipv4_address": "s", "imds_compat": "b"},
     [NET], 204, None),
    ("PUT", "/serial", {"serial_out_path": "{tmp}/serial.out"}, [], {"serial_out_path": "s"}, [],
     204, None),
    ("PUT", "/cpu-config",
     {"kvm_capabilities": ["!56"],
      "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
          {"register": "ecx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0x"}]}],
      "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b" + "x" * 63 + "0"}]},
     [], {"kvm_capabilities": "a", "cpuid_modifiers": "a", "msr_modifiers": "a"}, [], 204, None),
    ("PUT", "/actions", {"action_type": "InstanceStart"}, ["action_type"],
     {"action_type": "s"}, [], 400, "Cannot start microvm without kernel configuration."),
    ("PATCH", "/vm", {"state": "Paused"}, ["state"], {"state": "s"}, [], 400, BEFORE),
    ("PUT", "/snapshot/create",
     {"snapshot_path": "{tmp}/snap", "mem_file_path": "{tmp}/mem", "snapshot_type": "Full"},
     ["snapshot_path", "mem_file_path"],
     {"snapshot_path": "s", "mem_file_path": "s", "snapshot_type": "s"}, [], 400, BEFORE),
    ("PUT", "/snapshot/load",
     {"snapshot_path": "{tmp}/nosnap", "mem_backend": {"backend_type": "File",
                                                      "backend_path": "{tmp}/nomem"},
      "track_dirty_pages": False, "resume_vm": False},
     ["snapshot_path"],
     {"snapshot_path": "s", "mem_backend": "o", "track_dirty_pages": "b", "resume_vm": "b",
      "network_overrides": "a", "vsock_override": "o", "drive_overrides": "a"},
     [], None, None),
    ("PATCH", "/balloon", {"amount_mib": 1}, ["amount_mib"], {"amount_mib": "u"}, [], 400,
     BEFORE),
    ("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1},
     ["stats_polling_interval_s"], {"stats_polling_interval_s": "u"}, [], 400, BEFORE),
    ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/x"}, ["drive_id"],
     {"drive_id": "s", "path_on_host": "s", "rate_limiter": "o"}, [], 400, BEFORE),
    ("PATCH", "/network-interfaces/eth0",
     {"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}},
     ["iface_id"], {"iface_id": "s", "rx_rate_limiter": "o", "tx_rate_limiter": "o"}, [], 400,
     BEFORE),
]


def row(name, m, path, body, status, fault=None, setup=(), json_subset=None, header=None,
        fake=False):
    return pytest.param(dict(m=m, path=path, body=body, status=status, fault=fault,
                             setup=list(setup), subset=json_subset, header=header, fake=fake),
                        id=name)


def generated_rows():
    rows = []
    for m, path, body, req, types, setup, st, fault in SCHEMAS:
        tag = "%s %s" % (m, path)
        if st is not None:
            rows.append(row(tag + " happy", m, path, body, st, fault, setup))
        for f in req:
            b = copy.deepcopy(body)
            b.pop(f, None)
            want = D + "missing field `%s`." % f
            if path == "/snapshot/load" and f == "snapshot_path":
                want = D + "missing field `snapshot_path`."
            rows.append(row(tag + " missing " + f, m, path, b, 400, want, setup))
        for f, t in types.items():
            b = copy.deepcopy(body)
            b[f] = TYPE_WORDS[t][0]
            want = D + "invalid type for field `%s`: expected %s." % (f, TYPE_WORDS[t][1])
            rows.append(row(tag + " type " + f, m, path, b, 400, want, setup))
        b = copy.deepcopy(body)
        b["bogus_field"] = 1
        rows.append(row(tag + " unknown field", m, path, b, 400,
                        D + "unknown field `bogus_field`.", setup))
        rows.append(row(tag + " malformed json", m, path, '{"a": ', 400,
                        D + "unexpected token near end of file at line 1 column 6.", setup))
    return rows


RANGE = D + "invalid value for field `%s`: expected %s."
VCPU = ("The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even "
        "number if SMT is enabled.")
MEM = "The memory size (MiB) is either 0, or not a multiple of the configured page size."

HAND_ROWS = [
    # GETs
    row("GET / happy", "GET", "/", None, 200, json_subset={
        "app_name": "Firecracker", "id": "anonymous-instance", "state": "Not started"}),
    row("GET /version happy", "GET", "/version", None, 200,
        json_subset={"firecracker_version": "1.16.1"}),
    row("GET /machine-config happy", "GET", "/machine-config", None, 200, json_subset={
        "vcpu_count": 1, "mem_size_mib": 128, "smt": False, "track_dirty_pages": False}),
    row("GET /vm/config happy", "GET", "/vm/config", None, 200, setup=[BOOT], json_subset={
        "boot-source": {"kernel_image_path": "/nonexistent/vmlinux"}, "drives": [],
        "network-interfaces": [], "balloon": None, "vsock": None}),
    row("GET /balloon happy", "GET", "/balloon", None, 200, setup=[BALLOON],
        json_subset={"amount_mib": 16, "deflate_on_oom": True, "stats_polling_interval_s": 1}),
    row("GET /balloon none", "GET", "/balloon", None, 400, "No balloon device found."),
    row("GET /balloon/statistics before start", "GET", "/balloon/statistics", None, 400,
        BEFORE, setup=[BALLOON]),
    row("GET /mmds happy", "GET", "/mmds", None, 200, setup=[MMDS],
        json_subset={"latest": {"meta-data": {"ami-id": "ami-1"}}}),
    row("GET /mmds uninitialized", "GET", "/mmds", None, 404,
        "The MMDS data store is not initialized."),
    row("GET with body", "GET", "/", "{}", 400, "GET request cannot have a body."),
    # MMDS
    row("PUT /mmds happy", "PUT", "/mmds", {"a": {"b": 1}}, 204),
    row("PATCH /mmds happy", "PATCH", "/mmds", {"latest": {"x": 1}}, 204, setup=[MMDS]),
    row("PATCH /mmds uninitialized", "PATCH", "/mmds", {"a": 1}, 400,
        "The MMDS data store is not initialized."),
    row("PUT /mmds not object", "PUT", "/mmds", [1, 2], 400,
        "The MMDS data store accepts only a JSON object."),
    row("PATCH /mmds too large", "PATCH", "/mmds", {"k2": "v" * 30000}, 413,
        "The MMDS data store size limit of 51200 bytes would be exceeded.",
        setup=[("PUT", "/mmds", {"k1": "v" * 30000})]),
    # lifecycle
    row("InstanceStart without kernel", "PUT", "/actions", {"action_type": "InstanceStart"}, 400,
        "Cannot start microvm without kernel configuration."),
    row("FlushMetrics before start", "PUT", "/actions", {"action_type": "FlushMetrics"}, 400,
        BEFORE),
    row("SendCtrlAltDel before start", "PUT", "/actions", {"action_type": "SendCtrlAltDel"},
        400, BEFORE),
    row("action_type variant", "PUT", "/actions", {"action_type": "Reboot"}, 400,
        D + "unknown variant `Reboot` for field `action_type`, expected one of "
        "`FlushMetrics`, `InstanceStart`, `SendCtrlAltDel`."),
    row("PATCH /vm Resumed before start", "PATCH", "/vm", {"state": "Resumed"}, 400, BEFORE),
    row("PATCH /vm bad state", "PATCH", "/vm", {"state": "Stopped"}, 400,
        D + "unknown variant `Stopped` for field `state`, expected one of `Paused`, "
        "`Resumed`."),
    row("balloon hinting before start", "PATCH", "/balloon/hinting/start", {}, 400, BEFORE),
    row("snapshot load after config", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_backend": {"backend_type": "File", "backend_path": "/m"}},
        400, "Loading a microVM snapshot not allowed after configuring boot-specific resources.",
        setup=[BOOT]),
    row("snapshot load both mem", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_file_path": "/m",
         "mem_backend": {"backend_type": "File", "backend_path": "/m"}}, 400,
        "too many fields: either `mem_backend` or `mem_file_path` exclusively is required"),
    row("snapshot load no mem", "PUT", "/snapshot/load", {"snapshot_path": "/s"}, 400,
        "missing field: either `mem_backend` or `mem_file_path` is required"),
    row("snapshot load backend_type", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_backend": {"backend_type": "Disk", "backend_path": "/m"}},
        400, D + "unknown variant `Disk` for field `mem_backend.backend_type`, expected one of "
        "`File`, `Uffd`."),
    row("snapshot load missing backend_path", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_backend": {"backend_type": "File"}}, 400,
        D + "missing field `mem_backend.backend_path`."),
    row("snapshot load deprecated", "PUT", "/snapshot/load",
        {"snapshot_path": "{tmp}/nosnap", "mem_file_path": "{tmp}/nomem",
         "enable_diff_snapshots": True}, None, header=None),
    row("snapshot load override missing", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_file_path": "/m", "network_overrides": [{"iface_id": "a"}]},
        400, D + "missing field `network_overrides.host_dev_name`."),
    row("snapshot load vsock_override unknown", "PUT", "/snapshot/load",
        {"snapshot_path": "/s", "mem_file_path": "/m", "vsock_override": {"path": "/v"}}, 400,
        D + "unknown field `vsock_override.path`."),
    row("snapshot create type", "PUT", "/snapshot/create",
        {"snapshot_path": "/s", "mem_file_path": "/m", "snapshot_type": "Half"}, 400,
        D + "unknown variant `Half` for field `snapshot_type`, expected one of `Full`, `Diff`."),
    # ranges and semantics
    row("vcpu_count 0", "PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 128}, 400,
        VCPU),
    row("vcpu_count 33", "PUT", "/machine-config", {"vcpu_count": 33, "mem_size_mib": 128},
        400, VCPU),
    row("vcpu_count 256", "PUT", "/machine-config", {"vcpu_count": 256, "mem_size_mib": 128},
        400, RANGE % ("vcpu_count", "an integer between 0 and 255")),
    row("vcpu_count odd with smt", "PUT", "/machine-config",
        {"vcpu_count": 3, "mem_size_mib": 128, "smt": True}, 400, VCPU),
    row("mem_size_mib 0", "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 0}, 400,
        MEM),
    row("mem_size_mib negative", "PUT", "/machine-config",
        {"vcpu_count": 1, "mem_size_mib": -5}, 400,
        RANGE % ("mem_size_mib", "an integer between 0 and 4294967295")),
    row("huge_pages odd mem", "PUT", "/machine-config",
        {"vcpu_count": 1, "mem_size_mib": 129, "huge_pages": "2M"}, 400, MEM),
    row("cpu_template variant", "PUT", "/machine-config",
        {"vcpu_count": 1, "mem_size_mib": 128, "cpu_template": "Z9"}, 400,
        D + "unknown variant `Z9` for field `cpu_template`, expected one of `None`, `C3`, "
        "`T2`, `T2S`, `T2CL`, `T2A`."),
    row("cpu_template deprecated", "PUT", "/machine-config",
        {"vcpu_count": 1, "mem_size_mib": 128, "cpu_template": "T2"}, 204, header="Deprecation"),
    row("PATCH machine-config empty", "PATCH", "/machine-config", {}, 400, "Empty PATCH request."),
    row("guest_cid 2", "PUT", "/vsock", {"guest_cid": 2, "uds_path": "/v"}, 400,
        RANGE % ("guest_cid", "an integer between 3 and 4294967295")),
    row("vsock_id deprecated", "PUT", "/vsock",
        {"vsock_id": "v1", "guest_cid": 3, "uds_path": "/v"}, 204, header="Deprecation"),
    row("uds_path too long", "PUT", "/vsock", {"guest_cid": 3, "uds_path": "/" + "u" * 107},
        400, RANGE % ("uds_path", "a string of at most 107 bytes without NUL")),
    row("mtu 67", "PUT", "/network-interfaces/eth0",
        {"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 67}, 400,
        RANGE % ("mtu", "an integer between 68 and 65535")),
    row("guest_mac bad", "PUT", "/network-interfaces/eth0",
        {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00"}, 400,
        RANGE % ("guest_mac", "a MAC address of the form xx:xx:xx:xx:xx:xx")),
    row("host_dev_name in use", "PUT", "/network-interfaces/eth1",
        {"iface_id": "eth1", "host_dev_name": "tap0"}, 400,
        "The host device name is already in use: tap0", setup=[NET]),
    row("iface id mismatch", "PUT", "/network-interfaces/eth1",
        {"iface_id": "eth0", "host_dev_name": "tap0"}, 400,
        "The id from the path does not match the id from the body!"),
    row("drive id mismatch", "PUT", "/drives/a",
        {"drive_id": "b", "path_on_host": "/r", "is_root_device": False}, 400,
        "The id from the path does not match the id from the body!"),
    row("drive id invalid", "PUT", "/drives/a.b",
        {"drive_id": "a.b", "path_on_host": "/r", "is_root_device": False}, 400,
        "Invalid ID `a.b`: must be 1 to 64 characters of [A-Za-z0-9_]."),
    row("second root drive", "PUT", "/drives/two",
        {"drive_id": "two", "path_on_host": "/r", "is_root_device": True}, 400,
        "A root block device already exists!",
        setup=[("PUT", "/drives/one", {"drive_id": "one", "path_on_host": "/r",
                                       "is_root_device": True})]),
    row("drive vhost-user", "PUT", "/drives/a",
        {"drive_id": "a", "socket": "/s", "is_root_device": False}, 400,
        UNSUP % ("vhost-user", "block devices (`socket`)")),
    row("rate limiter missing size", "PUT", "/entropy",
        {"rate_limiter": {"bandwidth": {"refill_time": 1}}}, 400,
        D + "missing field `rate_limiter.bandwidth.size`."),
    row("rate limiter unknown", "PUT", "/entropy",
        {"rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1, "x": 1}}}, 400,
        D + "unknown field `rate_limiter.bandwidth.x`."),
    row("balloon too large", "PUT", "/balloon", {"amount_mib": 129, "deflate_on_oom": False},
        400, "Amount of pages requested is too large."),
    row("balloon stats interval range", "PUT", "/balloon",
        {"amount_mib": 1, "deflate_on_oom": False, "stats_polling_interval_s": 70000}, 400,
        RANGE % ("stats_polling_interval_s", "an integer between 0 and 65535")),
    row("mem below balloon", "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 8},
        400, "The memory size (MiB) is smaller than the previously set balloon device target "
        "size.", setup=[BALLOON]),
    row("logger level", "PUT", "/logger", {"level": "Loud"}, 400,
        D + "unknown variant `Loud` for field `level`, expected one of `Error`, `Warning`, "
        "`Info`, `Debug`, `Trace`, `Off`."),
    row("logger bad path", "PUT", "/logger", {"log_path": "/nonexistent/dir/log"}, 400,
        "Cannot open the log file /nonexistent/dir/log: No such file or directory (os error 2)"),
    row("metrics bad path", "PUT", "/metrics", {"metrics_path": "/nonexistent/dir/m"}, 400,
        "Cannot open the metrics file /nonexistent/dir/m: No such file or directory "
        "(os error 2)"),
    row("mmds config unknown iface", "PUT", "/mmds/config", {"network_interfaces": ["eth9"]},
        400, "The list of network interface IDs provided contains at least one ID that does "
        "not correspond to any existing network interface."),
    row("mmds config empty", "PUT", "/mmds/config", {"network_interfaces": []}, 400,
        "The list of network interface IDs that allow forwarding MMDS requests is empty."),
    row("mmds config ipv4", "PUT", "/mmds/config",
        {"network_interfaces": ["eth0"], "ipv4_address": "10.0.0.1"}, 400,
        "The MMDS IPv4 address is not link local.", setup=[NET]),
    row("mmds config version", "PUT", "/mmds/config",
        {"network_interfaces": ["eth0"], "version": "V3"}, 400,
        D + "unknown variant `V3` for field `version`, expected one of `V1`, `V2`.",
        setup=[NET]),
    row("cpu-config bitmap", "PUT", "/cpu-config",
        {"msr_modifiers": [{"addr": "0x10a", "bitmap": "0b12"}]}, 400,
        RANGE % ("msr_modifiers.bitmap", '"0b" followed by 64 of 0, 1 or x')),
    row("cpu-config register", "PUT", "/cpu-config",
        {"cpuid_modifiers": [{"leaf": 1, "subleaf": 0, "modifiers": [
            {"register": "rax", "bitmap": "0b" + "x" * 32}]}]}, 400,
        D + "unknown variant `rax` for field `cpuid_modifiers.modifiers.register`, expected "
        "one of `eax`, `ebx`, `ecx`, `edx`."),
    row("cpu-config aarch64 field", "PUT", "/cpu-config", {"vcpu_features": []}, 400,
        D + "unknown field `vcpu_features`."),
    # body shape
    row("empty PUT", "PUT", "/boot-source", None, 400, "Empty PUT request."),
    row("empty PATCH", "PATCH", "/machine-config", None, 400, "Empty PATCH request."),
    row("malformed json", "PUT", "/boot-source", '{"kernel_image_path": ', 400,
        D + "unexpected token near end of file at line 1 column 22."),
    row("json array body", "PUT", "/boot-source", "[]", 400,
        D + "invalid type: expected a JSON object."),
    row("duplicate key", "PUT", "/vsock", '{"guest_cid":3,"guest_cid":4,"uds_path":"/v"}', 400,
        D + "duplicate object key near '\"guest_cid\"' at line 1 column 26."),
    row("oversized body", "PUT", "/mmds", {"k": "v" * 51300}, 413,
        "Request payload with size 51309 is larger than the limit of 51200 allowed by server."),
    # routes
    row("unknown path", "GET", "/foo", None, 400, BAD_ROUTE % ("GET", "/foo")),
    row("unknown method", "POST", "/", None, 400, BAD_ROUTE % ("POST", "/")),
    row("wrong method", "PUT", "/version", "{}", 400, BAD_ROUTE % ("PUT", "/version")),
    row("trailing path", "GET", "/machine-config/x", None, 400,
        BAD_ROUTE % ("GET", "/machine-config/x")),
    row("DELETE drive", "DELETE", "/drives/rootfs", None, 400, UNSUP % ("DELETE",
                                                                        "/drives/rootfs")),
    row("DELETE net", "DELETE", "/network-interfaces/eth0", None, 400,
        UNSUP % ("DELETE", "/network-interfaces/eth0")),
    row("PUT pmem", "PUT", "/pmem/p0", {"id": "p0"}, 400, UNSUP % ("PUT", "/pmem/p0")),
    row("PUT hotplug memory", "PUT", "/hotplug/memory", {"total_size_mib": 1024}, 400,
        UNSUP % ("PUT", "/hotplug/memory")),
]

# Post-boot rows run against squib's KVM-less stand-in VMM (SQUIB_TEST_FAKE_VMM=1): the
# lifecycle, phase rules and their strings are the API's own logic, exercised without KVM.
START = ("PUT", "/actions", {"action_type": "InstanceStart"})
PAUSE = ("PATCH", "/vm", {"state": "Paused"})
METRICS = ("PUT", "/metrics", {"metrics_path": "{tmp}/m.json"})
BALLOON0 = ("PUT", "/balloon", {"amount_mib": 16, "deflate_on_oom": True})
DRIVE = ("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/r",
                                   "is_root_device": True})
RUN = [BOOT, START]


def post_rows():
    rows = [
        row("post InstanceStart happy", "PUT", "/actions", {"action_type": "InstanceStart"},
            204, setup=[BOOT], fake=True),
        row("post GET / running", "GET", "/", None, 200, setup=RUN, fake=True,
            json_subset={"state": "Running"}),
        row("post GET / paused", "GET", "/", None, 200, setup=RUN + [PAUSE], fake=True,
            json_subset={"state": "Paused"}),
        row("post GET /vm/config", "GET", "/vm/config", None, 200, setup=RUN, fake=True,
            json_subset={"boot-source": {"kernel_image_path": "/nonexistent/vmlinux"}}),
        row("post InstanceStart again", "PUT", "/actions", {"action_type": "InstanceStart"},
            400, AFTER, setup=RUN, fake=True),
        row("post PATCH /vm Paused", "PATCH", "/vm", {"state": "Paused"}, 204, setup=RUN,
            fake=True),
        row("post PATCH /vm Paused twice", "PATCH", "/vm", {"state": "Paused"}, 204,
            setup=RUN + [PAUSE], fake=True),
        row("post PATCH /vm Resumed running", "PATCH", "/vm", {"state": "Resumed"}, 204,
            setup=RUN, fake=True),
        row("post PATCH /vm Resumed paused", "PATCH", "/vm", {"state": "Resumed"}, 204,
            setup=RUN + [PAUSE], fake=True),
        row("post snapshot create running", "PUT", "/snapshot/create",
            {"snapshot_path": "{tmp}/s", "mem_file_path": "{tmp}/m"}, 400,
            "Cannot create a snapshot of a microVM that is not paused. Pause it first with "
            "PATCH /vm.", setup=RUN, fake=True),
        row("post snapshot create paused", "PUT", "/snapshot/create",
            {"snapshot_path": "{tmp}/s", "mem_file_path": "{tmp}/m", "snapshot_type": "Diff"},
            204, setup=RUN + [PAUSE], fake=True),
        row("post snapshot load", "PUT", "/snapshot/load",
            {"snapshot_path": "{tmp}/s", "mem_backend": {"backend_type": "File",
                                                        "backend_path": "{tmp}/m"}},
            400, AFTER, setup=RUN, fake=True),
        row("post FlushMetrics no sink", "PUT", "/actions", {"action_type": "FlushMetrics"},
            400, "The metrics system is not initialized.", setup=RUN, fake=True),
        row("post FlushMetrics", "PUT", "/actions", {"action_type": "FlushMetrics"}, 204,
            setup=[METRICS] + RUN, fake=True),
        row("post PATCH drive unknown", "PATCH", "/drives/nope",
            {"drive_id": "nope", "path_on_host": "/x"}, 400,
            "Invalid block device ID: nope does not exist.", setup=RUN, fake=True),
        row("post PATCH net unknown", "PATCH", "/network-interfaces/nope", {"iface_id": "nope"},
            400, "Invalid network interface ID: nope does not exist.", setup=RUN, fake=True),
        row("post PATCH balloon none", "PATCH", "/balloon", {"amount_mib": 1}, 400,
            "No balloon device found.", setup=RUN, fake=True),
        row("post PATCH balloon too large", "PATCH", "/balloon", {"amount_mib": 4096}, 400,
            "Amount of pages requested is too large.", setup=[BALLOON0] + RUN, fake=True),
        row("post PATCH balloon stats disabled", "PATCH", "/balloon/statistics",
            {"stats_polling_interval_s": 5}, 400,
            "Statistics for the balloon device are not enabled", setup=[BALLOON0] + RUN,
            fake=True),
        row("post GET balloon stats disabled", "GET", "/balloon/statistics", None, 400,
            "Statistics for the balloon device are not enabled", setup=[BALLOON0] + RUN,
            fake=True),
        row("post PUT /mmds", "PUT", "/mmds", {"a": 1}, 204, setup=RUN, fake=True),
        row("post PATCH /mmds", "PATCH", "/mmds", {"a": None}, 204, setup=RUN + [MMDS],
            fake=True),
        row("post GET /machine-config", "GET", "/machine-config", None, 200, setup=RUN,
            fake=True, json_subset={"vcpu_count": 1}),
        row("load then GET / paused", "GET", "/", None, 200, fake=True,
            setup=[("PUT", "/snapshot/load", {"snapshot_path": "/s", "mem_file_path": "/m"})],
            json_subset={"state": "Paused"}),
        row("load resume then GET / running", "GET", "/", None, 200, fake=True,
            setup=[("PUT", "/snapshot/load", {"snapshot_path": "/s", "resume_vm": True,
                                              "mem_backend": {"backend_type": "Uffd",
                                                              "backend_path": "/u.sock"}})],
            json_subset={"state": "Running"}),
        row("load deprecated fields", "PUT", "/snapshot/load",
            {"snapshot_path": "/s", "mem_file_path": "/m", "enable_diff_snapshots": True}, 204,
            header="Deprecation", fake=True),
        row("load twice", "PUT", "/snapshot/load",
            {"snapshot_path": "/s", "mem_file_path": "/m"}, 400, AFTER, fake=True,
            setup=[("PUT", "/snapshot/load", {"snapshot_path": "/s", "mem_file_path": "/m"})]),
    ]
    pre_only = [
        ("PUT", "/boot-source", {"kernel_image_path": "/k"}),
        ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}),
        ("PATCH", "/machine-config", {"vcpu_count": 1}),
        ("PUT", "/cpu-config", {"msr_modifiers": []}),
        DRIVE,
        NET,
        ("PUT", "/vsock", {"guest_cid": 3, "uds_path": "/v"}),
        ("PUT", "/entropy", {}),
        BALLOON0,
        ("PUT", "/logger", {"level": "Info"}),
        METRICS,
        ("PUT", "/mmds/config", {"network_interfaces": ["eth0"]}),
        ("PUT", "/serial", {"serial_out_path": "{tmp}/s.out"}),
    ]
    for m, p, b in pre_only:
        rows.append(row("post %s %s" % (m, p), m, p, b, 400, AFTER, setup=RUN, fake=True))
    return rows


ALL_ROWS = generated_rows() + HAND_ROWS + post_rows()


def subst(obj, tmp):
    if isinstance(obj, str):
        return obj.replace("{tmp}", tmp)
    if isinstance(obj, list):
        return [subst(x, tmp) for x in obj]
    if isinstance(obj, dict):
        return {k: subst(v, tmp) for k, v in obj.items()}
    return obj


def is_subset(want, got):
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and is_subset(v, got[k])
                                             for k, v in want.items())
    return want == got


@pytest.mark.parametrize("case", ALL_ROWS)
def test_transcript(tmp_path, case):
    s = Squib(tmp_path, env={"SQUIB_TEST_FAKE_VMM": "1"} if case["fake"] else None)
    try:
        tmp = str(tmp_path)
        for m, p, b in case["setup"]:
            st, _, raw = s.request(m, p, json.dumps(subst(b, tmp)))
            assert st == 204, (m, p, raw)
        body = case["body"]
        if body is not None and not isinstance(body, str):
            body = json.dumps(subst(body, tmp))
        before = s.json("GET", "/vm/config")[1]
        st, hdrs, raw = s.request(case["m"], case["path"], body)
        assert hdrs["Server"] == "Firecracker API"
        if case["status"] is None:  # snapshot load: whatever the snapshot module answers
            assert st in (400, 500)
            assert list(json.loads(raw)) == ["fault_message"]
        else:
            assert st == case["status"], raw
        if st >= 400:
            doc = json.loads(raw)
            assert list(doc) == ["fault_message"]
            if case["fault"] is not None:
                assert doc["fault_message"] == case["fault"]
            if case["m"] in ("PUT", "PATCH"):
                assert s.json("GET", "/vm/config")[1] == before, "failed request changed config"
        elif st == 204:
            assert raw == b""
        else:
            assert hdrs["Content-Type"] == "application/json"
            if case["subset"] is not None:
                assert is_subset(case["subset"], json.loads(raw)), raw
        if case["header"]:
            assert case["header"] in hdrs
    finally:
        s.stop()


def test_row_count():
    # keep the transcript honest: every endpoint family is represented
    paths = {r.values[0]["path"].split("/")[1] for r in ALL_ROWS}
    for p in ("", "version", "actions", "boot-source", "machine-config", "vm", "drives",
              "network-interfaces", "vsock", "entropy", "balloon", "logger", "metrics", "mmds",
              "serial", "cpu-config", "snapshot", "pmem", "hotplug"):
        assert p in paths, p
    assert len(ALL_ROWS) >= 250
