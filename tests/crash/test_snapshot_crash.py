# SPDX-License-Identifier: Apache-2.0
# Crash test for PUT /snapshot/create (kill -9 at random points; tests/crash/snapshot_crash.sh
# in the nested lane, driven by tests/crash/run.sh). Not part of tests/integration: it takes
# about 4 minutes. CRASH_TRIALS (200) and CRASH_SECS (180) bound it, whichever ends first.
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_snapshot_create_survives_kill9():
    trials = os.environ.get("CRASH_TRIALS", "200")
    secs = os.environ.get("CRASH_SECS", "180")
    p = subprocess.run([str(ROOT / "tests" / "crash" / "run.sh"), trials, secs],
                       capture_output=True, text=True, timeout=int(secs) + 400)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "CRASH summary trials=" in p.stdout
