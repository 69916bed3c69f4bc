# SPDX-License-Identifier: Apache-2.0
# test_snapshot_fixture: the golden snapshot written by squib 1.0 (tests/fixtures/snapshot-1.0)
# must keep being read by every 1.x squib. Here (no KVM needed): its envelope, CRC and whole
# payload parse, its memory file pairs with it, and its contents are what was recorded. The
# lane (test_snapshot_lane.py) loads and runs it to the recorded digest.
import gzip
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "snapshot-1.0"
SQUIB_BIN = Path(os.environ.get("SQUIB_BIN", ROOT / "build" / "squib"))

# Recorded when the fixture was made (tests/fixtures/snapshot-1.0/README.md).
STATE_SHA256 = "245e1af47861904e616f5cf03b2f764fe972e4902ca59801b512214e9e7824c0"
EXPECT = """version: 1.0.0
vmm: squib 0.1.0
vcpu_count: 1
mem_size_mib: 34
track_dirty_pages: false
snapshot_type: Full
devices: 4
  - serial: serial0 (mmio 0x3f8, irq 4, 15 bytes)
  - i8042: i8042 (mmio 0x60, irq 1, 9 bytes)
  - virtio-mmio: scratch (mmio 0xc0001000, irq 5, 215 bytes)
  - virtio-mmio: rng (mmio 0xc0002000, irq 6, 168 bytes)
mmds_present: yes
pair_id: ab7d8ed927d30bb59aa17bddcfb1f810"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    if not SQUIB_BIN.exists():
        pytest.fail("%s not built" % SQUIB_BIN)
    d = tmp_path_factory.mktemp("fixture")
    shutil.copy(FIXTURE / "tg.state", d / "tg.state")
    shutil.copy(FIXTURE / "tg.mem.pairid", d / "tg.mem.pairid")
    with gzip.open(FIXTURE / "tg.mem.gz") as src, open(d / "tg.mem", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return d


def describe(path):
    p = subprocess.run([str(SQUIB_BIN), "--describe-snapshot", str(path)],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_fixture_files_unchanged():
    # the fixture is frozen: regenerating it would defeat its purpose
    assert hashlib.sha256((FIXTURE / "tg.state").read_bytes()).hexdigest() == STATE_SHA256


def test_fixture_describes_with_its_pair(unpacked):
    rc, out = describe(unpacked / "tg.state")
    assert rc == 0, out
    assert EXPECT in out, out
    assert "memory file: %s (35651584 bytes, pair ok)" % (unpacked / "tg.mem") in out
    assert "crc_ok: yes" in out


def test_fixture_state_with_a_flipped_byte_is_refused(unpacked, tmp_path):
    data = bytearray((unpacked / "tg.state").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "tg.state").write_bytes(bytes(data))
    rc, out = describe(tmp_path / "tg.state")
    assert rc != 0 and "CRC" in out.upper(), out
