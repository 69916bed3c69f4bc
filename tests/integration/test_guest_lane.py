# SPDX-License-Identifier: Apache-2.0
# Tier 2 in the nested lane: squib boots the freestanding test guest (tests/guest) with
# --config-file or the API, scenario by scenario (tests/lane/guest.sh, one level-1 boot), and
# the tests check the guest's serial lines, squib's exit status and log, and the host-side
# effects (drive files, tap, vsock Unix sockets, API answers).
import hashlib
import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tools" / "lane" / "run.sh"
SCRIPT = ROOT / "tests" / "lane" / "guest.sh"
SQUIB_BIN = Path(os.environ.get("SQUIB_BIN", ROOT / "build" / "squib"))
TEST_GUEST = Path(os.environ.get("SQUIB_TEST_GUEST", SQUIB_BIN.parent / "tests" / "guest" / "squib-test-guest"))
CACHE = Path(os.environ.get("SQUIB_CACHE", "/var/cache/squib"))
BLOCK = re.compile(
    r"^=== BEGIN (\S+) rc=(\d+) start=([\d.]+) end=([\d.]+) ===\n(.*?)^=== END \1 ===$",
    re.S | re.M)
RAM_TOP = "0x8000000"  # every run gives the guest 128 MiB
BAD_CONFIG = 152  # Firecracker's FcExitCode::BadConfiguration


class Lane:
    def __init__(self, rc, console, wall):
        self.rc, self.console, self.wall = rc, console, wall
        self.runs = {}
        for m in BLOCK.finditer(console):
            self.runs[m.group(1)] = {"rc": int(m.group(2)), "secs": float(m.group(4)) - float(m.group(3)),
                                     "out": m.group(5)}
        up = re.search(r"LANE-L1-UP uptime=([\d.]+) kvm=(\w+)", console)
        self.kvm = up.group(2) if up else None

    def get(self, name):
        if self.rc != 0 or name not in self.runs:
            pytest.fail("lane run %s missing (lane rc=%d); console tail:\n%s" % (name, self.rc, self.console[-3000:]))
        return self.runs[name]


def hardware_kvm():
    """/dev/kvm usable and backed by VMX/SVM (not kvm_pvm)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.path.isdir("/sys/module/kvm_pvm"):
        return False
    with open("/proc/cpuinfo") as f:
        return re.search(r"\b(vmx|svm)\b", f.read()) is not None


@pytest.fixture(scope="module")
def lane(tmp_path_factory):
    for f, what in ((SQUIB_BIN, "squib binary (set SQUIB_BIN)"), (TEST_GUEST, "test guest (set SQUIB_TEST_GUEST)")):
        if not f.exists():
            pytest.fail("%s %s not built" % (what, f))
    env = dict(os.environ, SQUIB_BIN=str(SQUIB_BIN))
    extra = ["--env", "GUEST_RUNS=" + os.environ["GUEST_RUNS"]] if os.environ.get("GUEST_RUNS") else []
    t0 = time.monotonic()
    if hardware_kvm():  # same script directly on this host (needs root, socat, curl)
        tmp = tmp_path_factory.mktemp("guest-lane")
        env.update(SQUIB=str(SQUIB_BIN), TEST_GUEST=str(TEST_GUEST), LANE_TMP=str(tmp),
                   PATH="%s:%s" % (CACHE / "guest", env.get("PATH", "/usr/bin:/bin")))
        p = subprocess.run(["sh", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600)
        rc, console = 0, "LANE-L1-UP uptime=0 kvm=host\n" + p.stdout.decode(errors="replace")
    else:
        if shutil.which("qemu-system-x86_64") is None:
            pytest.skip("the lane cannot start: qemu-system-x86_64 is not installed")
        build = subprocess.run([str(ROOT / "tools" / "guest-image" / "build.sh")], capture_output=True, text=True)
        if build.returncode != 0:
            pytest.skip("the lane cannot start: tools/guest-image/build.sh failed:\n" + build.stderr[-2000:])
        adds = []
        for tool in ("socat", "curl"):
            path = shutil.which(tool)
            if path is None:
                pytest.fail("%s is needed on this host (it is copied into the lane)" % tool)
            adds += ["--add", "%s:/usr/bin/%s" % (path, tool)]
        p = subprocess.run([str(RUN), "--timeout", "400", "--add", str(TEST_GUEST)] + adds + extra + [str(SCRIPT)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=460)
        rc, console = p.returncode, p.stdout.decode(errors="replace")
    lane = Lane(rc, console.replace("\r", ""), time.monotonic() - t0)
    log = CACHE / "lane" / "test_guest_lane-console.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(lane.console)
    print("\nguest lane: total %.1fs; %s (console: %s)" % (
        lane.wall, ", ".join("%s %.1fs" % (k, v["secs"]) for k, v in lane.runs.items()), log))
    return lane


def guest_run(lane, name, rc=0):
    """A run that must boot the guest: PVH entry, 128 MiB, no error lines, squib exit status rc."""
    r = lane.get(name)
    out = r["out"]
    assert re.search(r"^BOOT proto=pvh ram_top=%s$" % RAM_TOP, out, re.M), out[-3000:]
    bad = re.findall(r"^(?:ERROR|PANIC|IRQ-UNEXPECTED|SMP-ERROR|\S+-FAIL).*$", out, re.M)
    assert not bad, out[-3000:]
    assert r["rc"] == rc, "rc %d (want %d):\n%s" % (r["rc"], rc, out[-3000:])
    return out


def api_line(out, method, path, nth=0):
    """The nth 'METHOD PATH: <body> HTTP <code>' line printed by guest.sh's api()."""
    found = re.findall(r"^%s %s: (.*) HTTP (\d+)$" % (method, re.escape(path)), out, re.M)
    assert len(found) > nth, out[-3000:]
    return found[nth][0], int(found[nth][1])


def splitmix_sector(sector, seed):
    """The 512 bytes the guest's blk scenario writes (tests/guest/vdevices.c fill_pattern)."""
    m = (1 << 64) - 1
    s, out = sector ^ seed, b""
    for _ in range(64):
        s = (s + 0x9E3779B97F4A7C15) & m
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        out += struct.pack("<Q", z ^ (z >> 31))
    return out


def test_level1_has_kvm(lane):
    if lane.kvm == "host":
        pytest.skip("hardware KVM: the scenarios ran directly on this host")
    assert lane.kvm == "yes", lane.console[-2000:]


# --- boot ---------------------------------------------------------------------------------

def test_hello_config_file_exits_0_with_cmdline(lane):
    out = guest_run(lane, "hello")
    guest = [l for l in out.splitlines() if not re.match(r"\d{4}-\d\d-\d\dT", l)]  # drop squib log lines
    assert guest[:2] == ["BOOT proto=pvh ram_top=%s" % RAM_TOP, "SQUIB-TEST-GUEST hello"], out
    cmd = re.search(r"^CMDLINE (.*)$", out, re.M)
    assert cmd and cmd.group(1).startswith("console=ttyS0 squib.scenario=hello"), out
    assert " pci=off" in cmd.group(1) and "virtio_mmio.device" not in cmd.group(1), cmd.group(1)
    assert guest[-1] == "RESET", out
    # squib's log (--level Info): PVH entry taken, stop reason i8042 reset, exit code 0.
    assert re.search(r"\] kernel loaded \(PVH boot\), cmdline: console=ttyS0 squib.scenario=hello", out), out
    assert re.search(r"\] Vmm is stopping: guest reset through the i8042 controller$", out, re.M), out
    assert re.search(r"\] microVM exited with code 0$", out, re.M), out


def test_boot_timer_logs_guest_boot_time(lane):
    out = guest_run(lane, "boottimer")
    assert "BOOTTIMER written" in out, out
    m = re.search(r"Guest-boot-time = (\d+) us (\d+) ms, (\d+) CPU us (\d+) CPU ms", out)
    assert m, out
    us, ms = int(m.group(1)), int(m.group(2))
    assert 0 < us < 30_000_000 and ms == us // 1000, m.group(0)


def test_digest_reference(lane):
    out = guest_run(lane, "digest")
    assert re.findall(r"^PROGRESS (\d+)$", out, re.M) == [str(i) for i in range(1, 9)], out
    assert re.search(r"^DIGEST 5161bda2368a6cbd$", out, re.M), out


@pytest.mark.parametrize("cpus,digest", [(2, "abb56df399270a3f"), (4, "5384378dbfc52d68")])
def test_smp_reference(lane, cpus, digest):
    out = guest_run(lane, "smp%d" % cpus)
    assert re.search(r"^SMP-FOUND cpus=%d source=madt$" % cpus, out, re.M), out
    apics = re.findall(r"^SMP-CPU (\d+) apic=(\d+) hash=[0-9a-f]{16}$", out, re.M)
    assert sorted(apics) == [(str(i), str(i)) for i in range(cpus)], out
    assert re.search(r"^SMP cpus=%d DIGEST %s$" % (cpus, digest), out, re.M), out


def test_ticks_lapic_timer(lane):
    out = guest_run(lane, "ticks")
    assert re.findall(r"^TICK (\d+)$", out, re.M) == [str(i) for i in range(1, 21)], out
    assert re.search(r"^TICK 20\nRESET$", out, re.M), out


@pytest.mark.parametrize("name,message", [
    ("bad-kernel", "Cannot open kernel image: No such file or directory (os error 2)"),
    ("bad-vcpus", "The number of vCPUs must be greater than 0"),
])
def test_bad_config_file_exits_152(lane, name, message):
    r = lane.get(name)
    assert r["rc"] == BAD_CONFIG, r
    assert re.search(r"^\S+ \[anonymous-instance:main\] .*" + re.escape(message), r["out"], re.M), r["out"]
    assert "BOOT proto" not in r["out"], r["out"]


# --- devices ------------------------------------------------------------------------------

def test_rng(lane):
    out = guest_run(lane, "rng")
    m = re.search(r"^RNG-OK 256 bytes nonzero=(\d+)$", out, re.M)
    assert m and int(m.group(1)) >= 200, out  # ~255 expected from random bytes
    assert "virtio_mmio.device=4K@0xc0001000:5" in out, out


def test_blk_pattern_lands_in_the_file(lane):
    out = guest_run(lane, "blk")
    assert re.search(r"^BLK capacity=2048 ro=0 flush=1$", out, re.M), out  # 1 MiB, Writeback
    assert re.search(r"^BLK-OK sector=5$", out, re.M), out
    pattern = splitmix_sector(5, 0x77)
    data = bytes.fromhex(re.search(r"^FILE-SECTORS-4-6 ([0-9a-f]*)$", out, re.M).group(1))
    assert data[:512] == bytes(512) and data[1024:] == bytes(512), "neighbour sectors changed"
    assert data[512:1024] == pattern, "sector 5 does not hold the guest's pattern"
    image = bytearray(1 << 20)
    image[5 * 512:6 * 512] = pattern
    assert re.search(r"^FILE-SIZE 1048576$", out, re.M), out
    assert re.search(r"^FILE-MD5 %s$" % hashlib.md5(image).hexdigest(), out, re.M), "other bytes changed"


def test_blk_read_only_refuses_writes(lane):
    out = guest_run(lane, "blk-ro")
    assert re.search(r"^BLK capacity=512 ro=1 flush=0$", out, re.M), out
    assert re.search(r"^BLK-RO-OK ro=1$", out, re.M), out
    before = re.search(r"^SUM-BEFORE ([0-9a-f]{32})$", out, re.M).group(1)
    assert re.search(r"^SUM-AFTER %s$" % before, out, re.M), out


def test_net_arp_through_tap(lane):
    out = guest_run(lane, "net")
    assert "TAP-FAILED" not in out, out
    assert re.search(r"^NET mac=06:00:ac:10:00:02$", out, re.M), out  # guest_mac in config space
    assert re.search(r"^NET-TX-OK arp who-has 172.16.0.1$", out, re.M), out
    tap_mac = re.search(r"^TAP-MAC ([0-9a-f:]{17})$", out, re.M).group(1)
    assert re.search(r"^NET-RX len=\d+ ethertype=0806$", out, re.M), out
    assert re.search(r"^NET-OK arp-reply from 172.16.0.1 is %s$" % tap_mac, out, re.M), out
    before = int(re.search(r"^TAP-RX-BEFORE (\d+)$", out, re.M).group(1))
    after = int(re.search(r"^TAP-RX-AFTER (\d+)$", out, re.M).group(1))
    assert after > before, "level 1 did not receive the guest's frame on tap0"


def test_vsock_guest_to_host(lane):
    out = guest_run(lane, "vsock")
    for line in ("VSOCK guest_cid=3 connecting to 2:52", "VSOCK-CONNECTED",
                 "VSOCK-RX 17 bytes: squib-vsock-ping", "VSOCK-OK"):
        assert re.search("^%s$" % line, out, re.M), out
    assert re.search(r"^ECHO-SERVER rc=0$", out, re.M), out  # the Unix listener at uds_path_52 served it


def test_vsock_host_to_guest(lane):
    r = lane.get("vsock-listen")
    out = r["out"]
    assert re.search(r"^SOCAT rc=0$", out, re.M) and re.search(r"^squib-rc=0$", out, re.M), out
    ok = re.search(r"^HOST-GOT OK (\d+)$", out, re.M)
    assert ok and int(ok.group(1)) >= 1 << 30, out
    assert re.search(r"^HOST-GOT hello-from-host$", out, re.M), out  # echoed by the guest
    guest = out.split("--- squib\n", 1)[1]
    for line in ("VSOCK-LISTEN guest_cid=3 port=1234", "VSOCK-ACCEPTED from 2:%s" % ok.group(1),
                 "VSOCK-RX 16 bytes: hello-from-host", "VSOCK-CLOSED echoed=16", "VSOCK-OK", "RESET"):
        assert re.search("^%s$" % line, guest, re.M), out


def test_mmio_devices_in_firecracker_attach_order(lane):
    """balloon, block (root drive first), net, vsock, entropy at 0xc0001000 + n * 0x1000, GSI 5 + n."""
    out = guest_run(lane, "mmio-probe")
    assert "TAP-FAILED" not in out, out
    # The guest prints at most 255 bytes per line (tests/guest/user.c uprintf): its CMDLINE line
    # is cut here, so the first VIRTIO-MMIO line may follow it directly; the full command line
    # is taken from squib's log.
    found = re.findall(r"VIRTIO-MMIO (\d+) magic=74726976 version=(\d+) devid=(\d+)$", out, re.M)
    assert found == [(str(i), "2", d) for i, d in enumerate(["5", "2", "2", "1", "19", "4"])], out
    assert re.search(r"^MMIO-PROBE found=6$", out, re.M), out
    cmd = re.search(r"\] kernel loaded \(PVH boot\), cmdline: (.*)$", out, re.M).group(1)
    assert re.findall(r"virtio_mmio.device=(\S+)", cmd) == ["4K@0x%x:%d" % (0xc0001000 + i * 0x1000, 5 + i)
                                                            for i in range(6)], cmd
    assert re.search(r"(^| )root=/dev/vda ro( |$)", cmd), cmd  # the read-only root drive
    # The first block device is the root drive (128 KiB, read-only), listed second in the config.
    out = guest_run(lane, "root-first")
    assert re.search(r"BLK capacity=256 ro=1 flush=0$", out, re.M), out  # may follow the cut CMDLINE
    assert re.search(r"^BLK-RO-OK ro=1$", out, re.M), out


def test_balloon_inflate_stats_and_patch(lane):
    r = lane.get("balloon")
    out = r["out"]
    guest = out.split("--- squib\n", 1)[1]
    assert re.search(r"^BALLOON target=2048 actual=2048$", guest, re.M), out  # amount_mib 8
    assert re.search(r"^BALLOON-STATS 2$", guest, re.M), out  # stats_polling_interval_s 1
    body, code = api_line(out, "GET", "/balloon/statistics")
    assert code == 200 and '"target_pages":2048' in body and '"actual_pages":2048' in body, body
    assert '"total_memory":134217728' in body, body  # filled in by the guest's stats buffer
    body, code = api_line(out, "PATCH", "/balloon")
    assert code == 204, body
    assert re.search(r"^BALLOON target=1024 actual=1024$", guest, re.M), out  # amount_mib 4
    assert "SQUIB-ALIVE" in out, out


def test_api_configure_start_pause_resume(lane):
    r = lane.get("api-digest")
    out = r["out"]
    body, code = api_line(out, "GET", "/", 0)
    assert code == 200 and '"state":"Not started"' in body, body
    for method, path in (("PUT", "/boot-source"), ("PUT", "/machine-config"), ("PUT", "/actions"),
                         ("PATCH", "/vm")):
        assert api_line(out, method, path)[1] == 204, out
    body, code = api_line(out, "GET", "/", 1)
    assert code == 200 and '"state":"Paused"' in body, body
    at_pause = int(re.search(r"^PROGRESS-AT-PAUSE (\d+)$", out, re.M).group(1))
    assert 2 <= at_pause < 12, out
    assert re.search(r"^PROGRESS-AFTER-3S %d$" % at_pause, out, re.M), "the guest ran while paused:\n" + out
    assert api_line(out, "PATCH", "/vm", 1)[1] == 204, out
    body, code = api_line(out, "GET", "/", 2)
    assert code == 200 and '"state":"Running"' in body, body
    assert re.search(r"^squib-rc=0$", out, re.M), out
    guest = out.split("--- squib\n", 1)[1]
    assert re.findall(r"^PROGRESS (\d+)$", guest, re.M) == [str(i) for i in range(1, 13)], out
    # README reference for mib=8 rounds=12 (round_ms=250; round_ms only sleeps, it is not hashed).
    assert re.search(r"^DIGEST f319b6ab79f35ada\nRESET$", guest, re.M), out
