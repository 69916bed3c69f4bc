#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Extract the uncompressed ELF vmlinux from an x86 bzImage (LZ4 legacy, XZ, gzip, zstd payloads).
import os
import struct
import subprocess
import sys


def payload(bz):
    if bz[0x202:0x206] != b"HdrS":
        sys.exit("not a bzImage (no HdrS magic)")
    setup_sects = bz[0x1F1] or 4
    off, length = struct.unpack_from("<II", bz, 0x248)
    base = (setup_sects + 1) * 512
    return bz[base + off : base + off + length]


def decompress(p):
    # The kernel build appends the uncompressed size (le32) after the compressed stream.
    size = struct.unpack("<I", p[-4:])[0]
    body = p[:-4]
    if p[:4] == b"\x02\x21\x4c\x18":  # LZ4 legacy frame (lz4 -l), as the kernel uses
        cmd = ["lz4", "-dc"]
    elif p[:6] == b"\xfd7zXZ\x00":
        cmd, body = ["xz", "-dc", "--single-stream"], p
    elif p[:2] == b"\x1f\x8b":
        cmd, body = ["gzip", "-dc"], p
    elif p[:4] == b"\x28\xb5\x2f\xfd":
        cmd = ["zstd", "-dc"]
    else:
        sys.exit("unknown payload compression: %s" % p[:6].hex())
    out = subprocess.run(cmd, input=body, stdout=subprocess.PIPE, check=False).stdout
    if len(out) < size or out[:4] != b"\x7fELF":
        sys.exit("decompression failed (%d bytes, expected %d)" % (len(out), size))
    return out[:size]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-vmlinux.py BZIMAGE OUT")
    with open(sys.argv[1], "rb") as f:
        elf = decompress(payload(f.read()))
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.rename(tmp, sys.argv[2])


main()
