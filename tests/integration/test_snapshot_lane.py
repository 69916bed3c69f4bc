# SPDX-License-Identifier: Apache-2.0
# Snapshots of real microVMs in the nested lane (one level-1 boot, tests/lane/snapshot.sh): the
# test guest's digest workload paused mid-way, snapshotted through the API and restored in new
# squib processes (Full/File, Uffd, three clones at once, Full + two Diffs rebased), create-side
# errors with exact bodies (golden/snapshot_create_errors.txt), and a Debian Linux guest.
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tools" / "lane" / "run.sh"
SCRIPT = ROOT / "tests" / "lane" / "snapshot.sh"
GOLDEN = ROOT / "tests" / "integration" / "golden" / "snapshot_create_errors.txt"
SQUIB_BIN = Path(os.environ.get("SQUIB_BIN", ROOT / "build" / "squib"))
BUILD = SQUIB_BIN.parent
GUEST_BIN = BUILD / "tests" / "guest" / "squib-test-guest"
UFFD_BIN = BUILD / "tools" / "uffd-handler" / "uffd-handler"
CACHE = Path(os.environ.get("SQUIB_CACHE", "/var/cache/squib"))
FIXTURE = ROOT / "tests" / "fixtures" / "snapshot-1.0"
README_DIGEST_4_2 = "663d008a20a891fa"  # tests/guest/README.md: mib=4 rounds=2
ROUNDS = 20  # DARGS in tests/lane/snapshot.sh
HEX16 = re.compile(r"^[0-9a-f]{16}$")


class Facts:
    def __init__(self, rc, console, wall):
        self.rc, self.console, self.wall = rc, console, wall
        self.f, self.err = {}, {}
        for line in console.splitlines():
            if not line.startswith("SNAP "):
                continue
            parts = line.split(" ", 3)
            if len(parts) < 3:
                continue
            if parts[1] == "err":
                rest = line.split(" ", 2)[2]
                name, _, resp = rest.partition(" ")
                code, _, body = resp.partition(" ")
                self.err[name] = (code, body)
            else:
                self.f[(parts[1], parts[2])] = parts[3] if len(parts) > 3 else ""

    def get(self, sub, key):
        if (sub, key) not in self.f:
            pytest.fail("lane fact SNAP %s %s missing (lane rc=%d); console tail:\n%s"
                        % (sub, key, self.rc, self.console[-4000:]))
        return self.f[(sub, key)]

    def resp(self, sub, key):
        v = self.get(sub, key).split(" ", 1)
        return v[0], (v[1] if len(v) > 1 else "")


@pytest.fixture(scope="module")
def lane():
    for p in (SQUIB_BIN, GUEST_BIN, UFFD_BIN):
        if not p.exists():
            pytest.fail("%s not built (set SQUIB_BIN to a build dir's squib)" % p)
    build = subprocess.run([str(ROOT / "tools" / "guest-image" / "build.sh")],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, SQUIB_BIN=str(SQUIB_BIN))
    cmd = [str(RUN), "--add", "/usr/bin/curl:/usr/bin/curl", "--add", str(GUEST_BIN),
           "--add", str(UFFD_BIN), "--add", "%s:/lane/add/fixture" % FIXTURE,
           "--timeout", "420"]
    if os.environ.get("SNAP_PARTS"):
        cmd += ["--env", "SNAP_PARTS=" + os.environ["SNAP_PARTS"]]
    t0 = time.monotonic()
    p = subprocess.run(cmd + [str(SCRIPT)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=480)
    console = p.stdout.decode(errors="replace").replace("\r", "")
    wall = time.monotonic() - t0
    log = CACHE / "lane" / "test_snapshot_lane-console.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(console)
    print("snapshot lane: rc=%d wall=%.1fs (console in %s)" % (p.returncode, wall, log))
    return Facts(p.returncode, console, wall)


@pytest.fixture(scope="module")
def ref(lane):
    d = lane.get("ref", "digest")
    assert HEX16.match(d), d
    return d


def test_lane_ran(lane):
    assert lane.rc == 0, lane.console[-3000:]
    assert "SNAP end t" in lane.console


def test_reference_runs(lane, ref):
    assert lane.get("ref", "rc") == "0" and lane.get("ref4", "rc") == "0"
    # the guest itself is sane: a digest from its README
    assert lane.get("ref4", "digest") == README_DIGEST_4_2


def restored_ok(lane, sub, ref, snap_progress):
    assert lane.get(sub, "digest") == ref, sub
    # resumed where it was paused, not rebooted: the snapshotted run's output up to the pause
    # (it may stop inside a line) followed by the restored run's equals the uninterrupted run's
    assert lane.get(sub, "continues") == "yes", sub
    assert lane.get(sub, "boot_lines") == "0", sub
    first = lane.get(sub, "first_progress")
    assert first == "" or snap_progress < int(first) <= snap_progress + 2, (sub, first)
    assert lane.get(sub, "reset") == "1", sub


def test_full_snapshot_restored_in_new_process(lane, ref):
    assert lane.get("boot", "A").split() == ["204"] * 3
    assert lane.resp("a", "pause")[0] == "204"
    assert lane.resp("a", "create_full") == ("204", "")
    files = lane.get("a", "files").split()
    assert "s.state" in files and "s.mem" in files and not [f for f in files if ".tmp" in f]
    snap = int(lane.get("a", "progress_at_snapshot"))
    assert 1 <= snap < ROUNDS
    assert lane.resp("a", "load") == ("204", "")
    restored_ok(lane, "a", ref, snap)


def test_failed_creates_leave_the_vm_and_previous_pair_intact(lane, ref):
    assert lane.get("a", "pair_unchanged") == "yes"
    assert lane.get("a", "small_after").split() == lane.get("a", "files").split()
    assert lane.get("a", "tiny_after") == ""
    assert lane.get("a", "big_after") == "0"
    assert lane.get("a", "stray_tmp") == "0"
    # cross-fs: the bind-mounted destinations keep their contents, nothing else is created
    assert lane.get("a", "crossfs_after").split() == ["OLD-STATE", "OLD-MEM", "m.mem", "s.state"]
    # the paused original resumes and finishes with the right digest
    assert lane.resp("a", "resume")[0] == "204"
    assert lane.get("a", "original_digest") == ref
    assert lane.get("a", "original_reset") == "1"


def read_golden():
    out = {}
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        name, code, body = line.split("\t", 2)
        out[name] = (code, body)
    return out


def test_create_and_pair_errors_golden(lane):
    got = dict(lane.err)
    if os.environ.get("SQUIB_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text("".join("%s\t%s\t%s\n" % (k, c, b) for k, (c, b) in sorted(got.items())),
                          encoding="utf-8")
    want = read_golden()
    assert sorted(got) == sorted(want), lane.console[-3000:]
    bad = ["%s: got %r, want %r" % (k, got[k], want[k]) for k in want if got[k] != want[k]]
    assert not bad, "\n".join(bad)


def test_golden_follows_contract():
    import json
    g = {k: (int(c), json.loads(b)["fault_message"]) for k, (c, b) in read_golden().items()}
    ip = "invalid snapshot path: "
    assert g["nul"] == (400, ip + "path contains a NUL byte")
    assert g["long_4096"] == g["long_mem"] == (400, ip + "path exceeds 4095 bytes")
    assert g["dotdot"] == g["dotdot_mem"] == (400, ip + "path contains a '..' component")
    assert g["missing_parent"] == (400, ip + 'parent directory does not exist: "/tmp/sn/nodir"')
    assert g["diff_without_tracking"] == (
        400, ip + "Diff snapshot requested but track_dirty_pages is false")
    for k, dest in (("crossfs_state", "/tmp/sn/xfs/s.state"), ("crossfs_mem", "/tmp/sn/xfs/m.mem")):
        assert g[k] == (400, "snapshot temp-file path is on a different filesystem from the "
                        'destination (dest="%s", temp_dir="/tmp/sn/xfs"); rename(2) cannot be '
                        "atomic across mounts" % dest)
    assert g["enospc_mem"] == (500, "memory file I/O error: No space left on device (os error 28)")
    assert g["enospc_state"] == (500, "snapshot I/O error: No space left on device (os error 28)")
    pm = (400, 'memory file "/tmp/sn/d/base.mem" is not the pair of this snapshot (pair id mismatch)')
    assert g["pair_mismatch_before_rebase"] == g["pair_mismatch_old_diff"] == pm


def test_clones_and_uffd(lane, ref):
    snap = int(lane.get("a", "progress_at_snapshot"))
    for c in ("C1", "C2", "C3", "U"):
        assert lane.resp("clones", "load_" + c) == ("204", ""), c
    # resume_vm false: loaded Paused, nothing runs until PATCH /vm Resumed
    assert lane.get("clones", "c3_state") == "Paused"
    assert lane.get("clones", "c3_progress_while_paused") == "0"
    assert lane.resp("clones", "c3_resume")[0] == "204"
    for c in ("C1", "C2", "C3", "U"):
        restored_ok(lane, "clone_" + c, ref, snap)
    m = re.search(r"served (\d+) faults", lane.get("clones", "uffd_handler"))
    assert m and int(m.group(1)) > 0, lane.get("clones", "uffd_handler")


def test_diff_rebase(lane, ref):
    assert lane.get("boot", "B").split() == ["204"] * 3
    for k in ("pause1", "resume1", "pause2", "resume2", "pause3"):
        assert lane.resp("diff", k)[0] == "204", k
    for k in ("create_base", "create_diff1", "create_diff2"):
        assert lane.resp("diff", k) == ("204", ""), k
    p1, p2, p3 = map(int, lane.get("diff", "progress").split())
    assert 1 <= p1 < p2 < p3 < ROUNDS
    base, d1, d2 = map(int, lane.get("diff", "kib").split())
    assert lane.get("diff", "bytes").split() == [str(128 << 20)] * 3
    # Diffs hold only the pages dirtied since the previous snapshot (pct=10 per round)
    assert base >= 16 * 1024 and 0 < d1 < base * 3 // 4 and 0 < d2 < base * 3 // 4, (base, d1, d2)
    assert lane.get("diff", "rebase_rc").split() == ["0", "0"]
    assert lane.resp("diff", "load") == ("204", "")
    restored_ok(lane, "diff", ref, p3)


def test_golden_fixture_from_squib_1_0_loads_and_finishes(lane):
    """tests/fixtures/snapshot-1.0 (written by squib 1.0) must load for all of major version 1:
    the guest continues from its PROGRESS line to the digest of an uninterrupted run, with its
    MMDS data and its drive (overridden to a local file)."""
    ref = (FIXTURE / "serial-uninterrupted.txt").read_text()
    want = re.search(r"^DIGEST ([0-9a-f]{16})$", ref, re.M).group(1)
    assert lane.resp("fixture", "load") == ("204", "")
    assert lane.resp("fixture", "mmds") == (
        "200", '{"fixture":{"made_by":"squib 0.1.0","format":"1.0.0"}}')
    assert lane.get("fixture", "digest") == want
    assert lane.get("fixture", "continues") == "yes"
    assert lane.get("fixture", "boot_lines") == "0"
    at = re.findall(r"^PROGRESS (\d+)$", (FIXTURE / "serial-at-snapshot.txt").read_text(), re.M)
    assert lane.get("fixture", "first_progress") == str(int(at[-1]) + 1)


def test_linux_guest_snapshot(lane):
    if ("linux", "boot") not in lane.f:
        pytest.skip("no Linux guest artefacts in the lane ($GUEST/vmlinux)")
    assert lane.get("linux", "boot").split() == ["204"] * 3
    for k in ("pause", "create", "load"):
        assert lane.resp("linux", k) == ("204", ""), k
    before = [float(x) for x in lane.get("linux", "before").split()]
    after = [float(x) for x in lane.get("linux", "after").split()]
    assert len(before) >= 3 and len(after) >= 2, (before, after)
    assert after == sorted(after) and after[0] >= before[-1], (before, after)
    assert lane.get("linux", "after_ready_lines") == "0"  # resumed, not rebooted
