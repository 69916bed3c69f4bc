# SPDX-License-Identifier: Apache-2.0
# test_snapshot_errors: every load-side snapshot error through the real API (PUT /snapshot/load
# on a fresh squib), status and body pinned byte for byte in golden/snapshot_errors.txt.
import json
import os
import struct

import pytest

from conftest import Squib

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "snapshot_errors.txt")

MAGIC_X86 = 0x0710198486640000
MAGIC_ARM = 0x07101984AAAA0000
LIMIT = 10_000_000


def _crc_table():
    poly = 0x95AC9329AC4BC9B5  # CRC-64/Jones, reflected
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc_table()


def crc64_jones(data, crc=0):
    t = _T
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def envelope(payload, magic=MAGIC_X86, version=b"1.0.0", vlen=None):
    head = struct.pack("<QQ", magic, len(version) if vlen is None else vlen) + version
    body = head + payload
    return body + struct.pack("<Q", crc64_jones(body))


def sstr(s):
    return struct.pack("<I", len(s)) + s


def section(tag, body):
    return struct.pack("<II", tag, len(body)) + body


def identity(vmm):
    """Identity section (tag 1) as docs/snapshot-format.md lays it out."""
    body = sstr(vmm) + sstr(b"1.16.1") + sstr(b"AuthenticAMD")
    body += struct.pack("<6IQI", 0x00A00F11, 0x7ED8320B, 0x178BFBFF, 0x219C91A9, 0x0040069C,
                        0, 0x7, 2_000_000)
    return section(1, body)


# A payload that frames correctly but was written by another VMM: the identity section
# names "firecracker", then a bincode-looking blob.
OTHER_VMM = identity(b"firecracker") + section(2, b"\x01\x00\x00\x00" + b"\x00" * 60)
GOOD_FRAME = envelope(OTHER_VMM)


def flipped():
    b = bytearray(GOOD_FRAME)
    b[len(b) // 2] ^= 0x01
    return bytes(b)


# (case name, file contents or None for "no file"/special, load body extras)
CASES = [
    ("crc_flipped_byte", flipped),
    ("crc_truncated", lambda: GOOD_FRAME[:-1]),
    ("crc_truncated_half", lambda: GOOD_FRAME[: len(GOOD_FRAME) // 2]),
    ("too_short_empty", lambda: b""),
    ("too_short_7_bytes", lambda: GOOD_FRAME[:7]),
    # 8 zero bytes: CRC of zeros with init 0 is 0, so it passes the CRC and fails the decode
    ("bitcode_8_zero_bytes", lambda: b"\x00" * 8),
    ("bitcode_version_not_semver", lambda: envelope(OTHER_VMM, version=b"1.0")),
    ("bitcode_version_leading_zero", lambda: envelope(OTHER_VMM, version=b"1.00.0")),
    ("bitcode_version_len_33", lambda: envelope(b"x" * 40, version=b"1.0.0", vlen=33)),
    ("size_limit_plus_one", lambda: b"\xa5" * (LIMIT + 1)),
    ("size_limit_exact_bad_crc", lambda: b"\xa5" * LIMIT),
    ("magic_aarch64", lambda: envelope(OTHER_VMM, magic=MAGIC_ARM)),
    ("magic_zero", lambda: envelope(OTHER_VMM, magic=0)),
    ("magic_bad_crc_reports_crc", lambda: envelope(OTHER_VMM, magic=MAGIC_ARM)[:-1] + b"\x00"),
    ("version_newer_minor", lambda: envelope(OTHER_VMM, version=b"1.1.0")),
    ("version_other_major", lambda: envelope(OTHER_VMM, version=b"2.0.0")),
    ("version_older_major", lambda: envelope(OTHER_VMM, version=b"0.9.0")),
    # patch is free: 1.0.7 passes the version check and reaches the payload
    ("version_newer_patch_reaches_payload", lambda: envelope(OTHER_VMM, version=b"1.0.7")),
    ("incompatible_other_vmm", lambda: GOOD_FRAME),
    ("incompatible_empty_payload", lambda: envelope(b"")),
    ("incompatible_bincode_blob", lambda: envelope(bytes(range(256)) * 4)),
    ("incompatible_unknown_tag", lambda: envelope(identity(b"squib") + section(99, b""))),
    ("incompatible_section_len_past_end",
     lambda: envelope(identity(b"squib") + struct.pack("<II", 2, 1000) + b"\x00" * 8)),
    ("incompatible_identity_only", lambda: envelope(identity(b"squib"))),
    ("io_missing_state_file", None),
    ("io_state_path_is_directory", "dir"),
]

_cache = {}


def contents(case):
    if case not in _cache:
        gen = dict(CASES)[case]
        _cache[case] = gen() if callable(gen) else gen
    return _cache[case]


def state_path(tmp_path, case):
    c = contents(case)
    if c is None:
        return str(tmp_path / "no-such-dir-entry.snap")
    if c == "dir":
        d = tmp_path / "a-directory.snap"
        d.mkdir(exist_ok=True)
        return str(d)
    p = tmp_path / ("%s.snap" % case)
    p.write_bytes(c)
    return str(p)


def load(s, snap, mem, backend="File", extra=None):
    body = {"snapshot_path": snap, "mem_backend": {"backend_type": backend, "backend_path": mem}}
    body.update(extra or {})
    return s.request("PUT", "/snapshot/load", json.dumps(body))


def vm_state(s):
    st, _, raw = s.request("GET", "/")
    assert st == 200, raw
    return json.loads(raw)["state"]


def read_golden():
    out = {}
    with open(GOLDEN, encoding="utf-8") as f:
        for line in f:
            name, status, body = line.rstrip("\n").split("\t", 2)
            out[name] = (int(status), body)
    return out


def test_golden_covers_every_case():
    assert sorted(read_golden()) == sorted(c for c, _ in CASES)


def test_crc_helper_check_value():
    # the contract's check value; and a framed file is intact iff the CRC over it all is 0
    assert crc64_jones(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64_jones(GOOD_FRAME) == 0


def test_load_errors_golden(tmp_path, squib_factory):
    """One fresh squib per case; all answers compared with the golden file at once."""
    mem = tmp_path / "mem"
    mem.write_bytes(b"\x00" * 4096)
    got = {}
    for case, _ in CASES:
        snap = state_path(tmp_path, case)
        s = squib_factory(sub="vm-" + case)
        st, _, raw = load(s, snap, str(mem))
        got[case] = (st, raw.decode("utf-8"))
        assert vm_state(s) == "Not started", case
        s.stop()
    if os.environ.get("SQUIB_UPDATE_GOLDEN") == "1":
        with open(GOLDEN, "w", encoding="utf-8") as f:
            for case, _ in CASES:
                f.write("%s\t%d\t%s\n" % (case, got[case][0], got[case][1]))
    want = read_golden()
    bad = ["%s: got %r, want %r" % (c, got[c], want.get(c)) for c, _ in CASES
           if got[c] != want.get(c)]
    assert not bad, "\n".join(bad)


def test_golden_messages_follow_contract():
    """The golden file itself says what the contract says (so regenerating it cannot hide a
    wrong message)."""
    g = read_golden()

    def msg(case):
        st, body = g[case]
        return st, json.loads(body)["fault_message"]

    crc = (400, "snapshot CRC64 mismatch")
    for c in ("crc_flipped_byte", "crc_truncated", "crc_truncated_half",
              "magic_bad_crc_reports_crc", "size_limit_exact_bad_crc"):
        assert msg(c) == crc, c
    short = (400, "snapshot file is too short to contain a CRC trailer")
    assert msg("too_short_empty") == short and msg("too_short_7_bytes") == short
    assert msg("size_limit_plus_one") == (
        400, "snapshot exceeds 10000000 byte deserialization limit")
    assert msg("magic_aarch64") == (
        400, "snapshot magic mismatch (file: 0x7101984aaaa0000, expected: 0x710198486640000)")
    assert msg("magic_zero") == (
        400, "snapshot magic mismatch (file: 0x0, expected: 0x710198486640000)")
    for c, v in (("version_newer_minor", "1.1.0"), ("version_other_major", "2.0.0"),
                 ("version_older_major", "0.9.0")):
        assert msg(c) == (400, "snapshot version %s is incompatible with squib's 1.0.0" % v)
    inc = (400, "snapshot is from a different VMM (sysreg or GIC blob shape mismatch)")
    for c in [c for c, _ in CASES if c.startswith("incompatible")] + [
            "version_newer_patch_reaches_payload"]:
        assert msg(c) == inc, c
    assert msg("bitcode_8_zero_bytes") == (
        400, "snapshot encoding error: unexpected end of input in the snapshot header")
    assert msg("bitcode_version_not_semver") == (
        400, "snapshot encoding error: version string is not MAJOR.MINOR.PATCH")
    assert msg("bitcode_version_len_33") == (
        400, "snapshot encoding error: version string length 33 is out of bounds")
    assert msg("io_missing_state_file") == (
        500, "snapshot I/O error: No such file or directory (os error 2)")
    assert msg("io_state_path_is_directory") == (
        500, "snapshot I/O error: Is a directory (os error 21)")
    # bodies are compact Firecracker JSON
    for c, (st, body) in g.items():
        assert body == json.dumps({"fault_message": json.loads(body)["fault_message"]},
                                  separators=(",", ":"), ensure_ascii=False), c


@pytest.mark.parametrize("backend", ["File", "Uffd", "mem_file_path"])
def test_failed_load_leaves_not_started_and_second_load_is_processed(tmp_path, squib, backend):
    flip = tmp_path / "flip.snap"
    flip.write_bytes(flipped())
    short = tmp_path / "short.snap"
    short.write_bytes(b"\x00" * 3)
    mem = str(tmp_path / "mem")  # never opened: the state file fails first
    extra = None
    if backend == "mem_file_path":
        def req(snap):
            return squib.request("PUT", "/snapshot/load", json.dumps(
                {"snapshot_path": snap, "mem_file_path": mem, "resume_vm": True}))
    else:
        def req(snap):
            return load(squib, snap, mem, backend, extra)
    assert vm_state(squib) == "Not started"
    st, _, raw = req(str(flip))
    assert (st, json.loads(raw)) == (400, {"fault_message": "snapshot CRC64 mismatch"})
    assert vm_state(squib) == "Not started"
    # the second attempt is processed (its own, different error), not refused as "already
    # loaded/configured"
    st, _, raw = req(str(short))
    assert (st, json.loads(raw)) == (
        400, {"fault_message": "snapshot file is too short to contain a CRC trailer"})
    assert vm_state(squib) == "Not started"
    # and pre-boot configuration is still accepted afterwards
    st, _, raw = squib.request("PUT", "/machine-config",
                               json.dumps({"vcpu_count": 1, "mem_size_mib": 128}))
    assert st == 204, raw
    # ... after which a load is refused because the VM has been configured
    st, _, raw = req(str(short))
    assert st == 400 and b"too short" not in raw, raw


def test_load_error_is_logged(tmp_path, squib):
    snap = tmp_path / "x.snap"
    snap.write_bytes(envelope(OTHER_VMM, version=b"2.0.0"))
    st, _, raw = load(squib, str(snap), str(tmp_path / "m"))
    assert st == 400
    out = squib.output()
    assert "snapshot version 2.0.0 is incompatible with squib's 1.0.0" in out, out
