# SPDX-License-Identifier: Apache-2.0
# Tier 3: the level-2 Debian guest under the QEMU reference and under squib, in the nested lane
# (tools/lane/run.sh). One level-1 boot runs every scenario (tests/lane/scenarios.sh).
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tools" / "lane" / "run.sh"
SCENARIOS = ROOT / "tests" / "lane" / "scenarios.sh"
SQUIB_BIN = Path(os.environ.get("SQUIB_BIN", ROOT / "build" / "squib"))
NOT_YET = "not yet able to boot"
CACHE = Path(os.environ.get("SQUIB_CACHE", "/var/cache/squib"))
BLOCK = re.compile(
    r"^=== BEGIN (\S+) rc=(\d+) start=([\d.]+) end=([\d.]+) ===\n(.*?)^=== END \1 ===$",
    re.S | re.M)


class Lane:
    def __init__(self, rc, console, wall):
        self.rc, self.console, self.wall = rc, console, wall
        self.runs = {}
        for m in BLOCK.finditer(console):
            self.runs[m.group(1)] = {"rc": int(m.group(2)), "secs": float(m.group(4)) - float(m.group(3)),
                                     "out": m.group(5)}
        up = re.search(r"LANE-L1-UP uptime=([\d.]+) kvm=(\w+)", console)
        self.l1_boot = float(up.group(1)) if up else None
        self.kvm = up.group(2) if up else None

    def get(self, name):
        if self.rc != 0 or name not in self.runs:
            pytest.fail("lane run %s missing (lane rc=%d); console tail:\n%s" % (name, self.rc, self.console[-3000:]))
        if name.startswith("squib") and self.runs[name]["rc"] == 137:
            print("%s was killed at its time limit; %s" % (name, self.timing))
        return self.runs[name]


def hardware_kvm():
    """/dev/kvm usable and backed by VMX/SVM (kvm_pvm cannot run Linux guests)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or os.path.isdir("/sys/module/kvm_pvm"):
        return False
    with open("/proc/cpuinfo") as f:
        return re.search(r"\b(vmx|svm)\b", f.read()) is not None


def run_direct(env, tmp):
    """Hardware KVM: run the same scenarios on this host, no emulator."""
    guest = CACHE / "guest"
    env = dict(env, GUEST=str(guest), SQUIB=str(SQUIB_BIN), LANE_TMP=str(tmp),
               PATH="%s:%s" % (guest, env.get("PATH", "/usr/bin:/bin")))
    p = subprocess.run(["sh", str(SCENARIOS)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=900)
    out = p.stdout.decode(errors="replace")
    return 0, "LANE-L1-UP uptime=0 kvm=host\n" + out + "LANE-EXIT=%d\n" % p.returncode


@pytest.fixture(scope="module")
def lane(tmp_path_factory):
    if not SQUIB_BIN.exists():
        pytest.fail("squib binary %s not built (set SQUIB_BIN)" % SQUIB_BIN)
    build = subprocess.run([str(ROOT / "tools" / "guest-image" / "build.sh")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, SQUIB_BIN=str(SQUIB_BIN))
    t0 = time.monotonic()
    if hardware_kvm():
        rc, console = run_direct(env, tmp_path_factory.mktemp("lane"))
    else:
        extra = ["--env", "LANE_RUNS=" + os.environ["LANE_RUNS"]] if os.environ.get("LANE_RUNS") else []
        p = subprocess.run([str(RUN), "--with-qemu", "--add", "/usr/bin/curl:/usr/bin/curl", "--timeout", "900"]
                           + extra + [str(SCENARIOS)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=960)
        rc, console = p.returncode, p.stdout.decode(errors="replace")
    wall = time.monotonic() - t0
    lane = Lane(rc, console.replace("\r", ""), wall)
    log = CACHE / "lane" / "test_lane-console.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(lane.console)
    timing = ", ".join("%s %.1fs" % (k, v["secs"]) for k, v in lane.runs.items())
    lane.timing = "lane: total %.1fs, L1 boot %ss; %s (console: %s)" % (wall, lane.l1_boot, timing, log)
    print("\n" + lane.timing)
    return lane


def host_tsc_khz():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
    return int(float(m.group(1)) * 1000 + 0.5) if m else 2000000


def test_guest_image_boots_under_plain_tcg():
    """The L2 artefacts alone, no nesting: QEMU TCG boots the bzImage + initramfs to the marker
    and the rng scenario works (tells a broken image apart from a lane or squib problem)."""
    build = subprocess.run([str(ROOT / "tools" / "guest-image" / "build.sh")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    g = CACHE / "guest"
    khz = host_tsc_khz()
    args = ("console=ttyS0 reboot=k panic=-1 quiet pci=off i8042.noaux i8042.nomux i8042.nopnp "
            "i8042.dumbkbd tsc_early_khz=%d lpj=%d squib.scenario=ready,rng"
            % (khz, khz * 1000 // 250))
    p = subprocess.run(["qemu-system-x86_64", "-M", "microvm,rtc=on", "-accel", "tcg", "-cpu", "max", "-m", "256",
                        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
                        "-kernel", str(g / "bzImage"), "-initrd", str(g / "initramfs.cpio"), "-append", args,
                        "-device", "virtio-rng-device"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    out = p.stdout.decode(errors="replace")
    assert "SQUIB-GUEST-READY cpus=1" in out, out[-3000:]
    assert "SQUIB-SCENARIO-OK rng" in out, out[-3000:]
    assert "SQUIB-SCENARIOS-DONE" in out and p.returncode == 0, out[-3000:]


def test_lane_level1_has_kvm(lane):
    if lane.kvm == "host":
        pytest.skip("hardware KVM: scenarios ran directly on this host, no level 1")
    assert lane.kvm == "yes", lane.console[-2000:]


def test_reference_boots_l2_to_marker(lane):
    r = lane.get("ref")
    assert "SQUIB-GUEST-READY cpus=1" in r["out"], r["out"]
    assert "SQUIB-SCENARIO-OK ready" in r["out"], r["out"]
    assert r["rc"] == 0, r


@pytest.mark.parametrize("scenario", ["blk", "net", "rng", "vsock", "balloon"])
def test_reference_devices(lane, scenario):
    r = lane.get("ref")
    assert "SQUIB-SCENARIO-OK " + scenario in r["out"], r["out"]


def squib_run(lane, name):
    r = lane.get(name)
    if NOT_YET in r["out"]:
        pytest.skip("squib boot not implemented yet")
    return r


@pytest.mark.parametrize("kernel,vcpus", [("vmlinux", 1), ("bzImage", 1), ("vmlinux", 2)])
def test_squib_boots_linux(lane, kernel, vcpus):
    r = squib_run(lane, "squib-%s-%d" % (kernel, vcpus))
    assert "SQUIB-GUEST-READY cpus=%d " % vcpus in r["out"], r["out"][-3000:]
    assert "SQUIB-SCENARIO-OK ready" in r["out"], r["out"][-3000:]


def test_squib_exits_0_on_guest_reboot(lane):
    r = squib_run(lane, "squib-vmlinux-1")  # scenarios ready,reboot
    assert "SQUIB-SCENARIO-OK reboot" in r["out"], r["out"][-3000:]
    assert r["rc"] == 0, "squib rc %d after guest reboot -f:\n%s" % (r["rc"], r["out"][-3000:])


@pytest.mark.parametrize("scenario", ["blk", "net", "rng", "vsock", "balloon"])
def test_squib_linux_devices(lane, scenario):
    r = squib_run(lane, "squib-devices")
    assert "SQUIB-SCENARIO-OK " + scenario in r["out"], r["out"][-3000:]


def test_squib_snapshot_restore_running_linux(lane):
    """Pause a Linux guest printing its uptime every second, snapshot it, restore it in a new
    squib process: the loop must go on from where it stopped."""
    r = squib_run(lane, "squib-snapshot")
    out = r["out"]
    assert re.search(r"^pause: +HTTP 204$", out, re.M), out[-3000:]
    assert re.search(r"^create: +HTTP 204$", out, re.M), out[-3000:]
    assert re.search(r"^load: +HTTP 204$", out, re.M), out[-3000:]
    before = re.search(r"^before-last: SQUIB-UPTIME ([\d.]+)", out, re.M)
    assert before, out[-3000:]
    after = [float(x) for x in re.findall(r"SQUIB-UPTIME ([\d.]+)", out.split("--- second squib")[1])]
    assert len(after) >= 2, out[-3000:]
    assert after == sorted(after) and after[0] >= float(before.group(1)), (before.group(1), after)
