# SPDX-License-Identifier: Apache-2.0
# test_api_curl: Firecracker's getting-started curl sequence, verbatim, with the real curl.
import json
import os
import subprocess
import time

import pytest

from conftest import kvm_usable

NO_KVM_START = "Cannot create the KVM VM: /dev/kvm is not available"


def curl(sock, method, path, data=None, cwd=None):
    cmd = ["curl", "-s", "-i", "-X", method, "--unix-socket", sock]
    if data is not None:
        cmd += ["--data", data]
    cmd.append("http://localhost" + path)
    out = subprocess.run(cmd, capture_output=True, cwd=cwd, check=True).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    status = int(head.split()[1])
    headers = dict(l.split(": ", 1) for l in head.split("\r\n")[1:] if ": " in l)
    return status, headers, body


def test_getting_started_sequence(squib, tmp_path):
    sock = squib.sock
    kernel = os.environ.get("SQUIB_TEST_KERNEL")  # a real vmlinux when KVM works
    kname = kernel or "./vmlinux-5.10.bin"
    if not kernel:
        (tmp_path / "vmlinux-5.10.bin").write_bytes(b"\0" * 4096)
    (tmp_path / "ubuntu-22.04.ext4").write_bytes(b"\0" * 65536)
    seq = [
        ("/logger", '{"log_path":"./firecracker.log","level":"Debug","show_level":true,'
                    '"show_log_origin":true}'),
        ("/boot-source", '{"kernel_image_path":"%s","boot_args":"console=ttyS0 reboot=k panic=1 '
                         'pci=off"}' % kname),
        ("/machine-config", '{"vcpu_count":2,"mem_size_mib":1024}'),
        ("/drives/rootfs", '{"drive_id":"rootfs","path_on_host":"./ubuntu-22.04.ext4",'
                           '"is_root_device":true,"is_read_only":false}'),
        ("/network-interfaces/net1", '{"iface_id":"net1","guest_mac":"06:00:AC:10:00:02",'
                                     '"host_dev_name":"tap0"}'),
    ]
    for path, data in seq:
        st, hdrs, body = curl(sock, "PUT", path, data, cwd=tmp_path)
        assert (st, body) == (204, ""), (path, body)
        assert hdrs["Server"] == "Firecracker API"
    assert os.path.exists(tmp_path / "firecracker.log")
    time.sleep(0.015)
    st, hdrs, body = curl(sock, "PUT", "/actions", '{"action_type":"InstanceStart"}',
                          cwd=tmp_path)
    if kvm_usable() and kernel:
        assert st == 204, body
        st, _, body = curl(sock, "GET", "/")
        assert json.loads(body)["state"] == "Running"
    elif not kvm_usable():
        # no /dev/kvm on this host: Firecracker's start-error answer, still Not started
        assert st == 400
        assert json.loads(body) == {"fault_message": NO_KVM_START}
        st, _, body = curl(sock, "GET", "/")
        assert json.loads(body)["state"] == "Not started"
        # configuration survived and is visible
        st, _, body = curl(sock, "GET", "/vm/config")
        cfg = json.loads(body)
        assert cfg["machine-config"]["vcpu_count"] == 2
        assert cfg["drives"][0]["drive_id"] == "rootfs"
        assert cfg["network-interfaces"][0]["guest_mac"] == "06:00:ac:10:00:02"
        log = (tmp_path / "firecracker.log").read_text()
        assert "InstanceStart failed: " + NO_KVM_START in log
        assert ":ERROR:" in log  # show_level
    else:
        pytest.skip("KVM present but no SQUIB_TEST_KERNEL to boot")
