#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Minimal vhost-user vsock backend for QEMU's vhost-user-vsock-device: tests the guest's driver.
"""Serve one vhost-user vsock device on a Unix socket, speaking for host CID 2.

--mode echo          accept guest-initiated connections and echo stream data back
--mode connect=PORT  connect to the guest's PORT, send a line, expect it echoed, shut down

QEMU side: -object memory-backend-memfd,id=mem,size=128M,share=on -M microvm,memory-backend=mem
           -chardev socket,id=vs,path=SOCK -device vhost-user-vsock-device,chardev=vs
Test tool only: one device, one connection at a time, no error recovery.
"""
import argparse
import mmap
import os
import select
import socket
import struct
import sys

HDR = struct.Struct("<QQIIIHHIII")  # virtio_vsock_hdr, 44 bytes
OP_REQUEST, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST = range(1, 8)
HOST_CID = 2
F_VERSION_1 = 1 << 32
F_PROTOCOL_FEATURES = 1 << 30
PROTO_F_CONFIG = 1 << 9


def log(*a):
    print("vsock-backend:", *a, file=sys.stderr, flush=True)


class Ring:
    def __init__(self):
        self.num = 0
        self.desc = self.avail = self.used = 0
        self.last_avail = 0
        self.kick = self.call = None


class Backend:
    def __init__(self, conn, mode, guest_cid):
        self.conn, self.mode, self.guest_cid = conn, mode, guest_cid
        self.regions = []  # (guest_phys, size, user_addr, mmap)
        self.rings = [Ring() for _ in range(3)]
        self.pending = []  # rx packets (header bytes + payload) waiting for guest buffers
        self.fwd_cnt = 0
        self.started = False
        self.done = False

    # ---- guest memory ----
    def _find(self, addr, n, user):
        for gpa, size, uva, mm in self.regions:
            base = uva if user else gpa
            if base <= addr and addr + n <= base + size:
                return mm, addr - base
        raise ValueError("address 0x%x not mapped" % addr)

    def read(self, addr, n, user=False):
        mm, off = self._find(addr, n, user)
        return mm[off:off + n]

    def write(self, addr, data, user=False):
        mm, off = self._find(addr, len(data), user)
        mm[off:off + len(data)] = data

    def u16(self, addr):
        return struct.unpack("<H", self.read(addr, 2, True))[0]

    # ---- virtqueues ----
    def pop(self, q):
        """Next available chain as a list of (addr, len, writable), with its head, or None."""
        r = self.rings[q]
        if not r.num or r.last_avail == self.u16(r.avail + 2):
            return None
        head = self.u16(r.avail + 4 + 2 * (r.last_avail % r.num))
        r.last_avail = (r.last_avail + 1) & 0xFFFF
        chain, i = [], head
        while True:
            addr, ln, flags, nxt = struct.unpack("<QIHH", self.read(r.desc + 16 * i, 16, True))
            chain.append((addr, ln, bool(flags & 2)))
            if not flags & 1:
                return head, chain
            i = nxt

    def push_used(self, q, head, ln):
        r = self.rings[q]
        idx = self.u16(r.used + 2)
        self.write(r.used + 4 + 8 * (idx % r.num), struct.pack("<II", head, ln), True)
        self.write(r.used + 2, struct.pack("<H", (idx + 1) & 0xFFFF), True)
        if r.call is not None:
            os.write(r.call, struct.pack("<Q", 1))

    # ---- vsock ----
    def send(self, op, src_port, dst_port, data=b"", flags=0):
        hdr = HDR.pack(HOST_CID, self.guest_cid, src_port, dst_port, len(data), 1, op, flags,
                       65536, self.fwd_cnt)
        self.pending.append(hdr + data)

    def deliver(self):
        while self.pending:
            got = self.pop(0)
            if got is None:
                return
            head, chain = got
            pkt, off = self.pending.pop(0), 0
            for addr, ln, wr in chain:
                if wr and off < len(pkt):
                    part = pkt[off:off + ln]
                    self.write(addr, part)
                    off += len(part)
            self.push_used(0, head, off)

    def on_tx(self):
        while True:
            got = self.pop(1)
            if got is None:
                break
            head, chain = got
            data = b"".join(self.read(a, ln) for a, ln, wr in chain if not wr)
            self.push_used(1, head, 0)
            self.handle(data)
        self.deliver()

    def handle(self, data):
        (src_cid, dst_cid, sport, dport, ln, typ, op, flags, buf_alloc,
         fwd) = HDR.unpack(data[:44])
        payload = data[44:44 + ln]
        log("guest op=%d %d:%d -> %d:%d len=%d" % (op, src_cid, sport, dst_cid, dport, ln))
        if op == OP_REQUEST:
            self.send(OP_RESPONSE, dport, sport)
        elif op == OP_RESPONSE:
            self.send(OP_RW, dport, sport, b"hello-from-host\n")
        elif op == OP_RW:
            self.fwd_cnt += ln
            if self.mode == "echo":
                self.send(OP_RW, dport, sport, payload)
            else:
                self.send(OP_SHUTDOWN, dport, sport, flags=3)
        elif op == OP_SHUTDOWN:
            self.send(OP_RST, dport, sport)
            self.done = self.mode == "echo"
        elif op == OP_RST:
            self.done = True
        elif op == OP_CREDIT_REQUEST:
            self.send(OP_CREDIT_UPDATE, dport, sport)

    def maybe_start(self):
        """In connect mode, open the connection once the guest has posted rx buffers."""
        r = self.rings[0]
        if self.mode.startswith("connect=") and not self.started and r.avail and \
                self.regions and self.u16(r.avail + 2) != 0:
            self.started = True
            self.send(OP_REQUEST, 1234, int(self.mode.split("=")[1]))
            self.deliver()

    # ---- vhost-user protocol ----
    def reply(self, req, payload):
        self.conn.sendall(struct.pack("<III", req, 0x5, len(payload)) + payload)

    def message(self):
        msg, anc, _, _ = self.conn.recvmsg(12, socket.CMSG_LEN(8 * 4))
        if len(msg) < 12:
            return False
        fds = []
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds += list(struct.unpack("%di" % (len(d) // 4), d[:len(d) - len(d) % 4]))
        req, flags, size = struct.unpack("<III", msg)
        body = b""
        while len(body) < size:
            body += self.conn.recv(size - len(body))
        self.dispatch(req, body, fds)
        return True

    def dispatch(self, req, body, fds):
        if req == 1:  # GET_FEATURES
            self.reply(req, struct.pack("<Q", F_VERSION_1 | F_PROTOCOL_FEATURES))
        elif req == 15:  # GET_PROTOCOL_FEATURES
            self.reply(req, struct.pack("<Q", PROTO_F_CONFIG))
        elif req == 24:  # GET_CONFIG: guest_cid
            off, size, flags = struct.unpack("<III", body[:12])
            cfg = struct.pack("<Q", self.guest_cid).ljust(off + size, b"\0")[off:off + size]
            self.reply(req, body[:12] + cfg)
        elif req == 5:  # SET_MEM_TABLE
            n = struct.unpack("<I", body[:4])[0]
            for i in range(n):
                gpa, size, uva, off = struct.unpack("<QQQQ", body[8 + 32 * i:40 + 32 * i])
                mm = mmap.mmap(fds[i], size + off)
                self.regions.append((gpa, size, uva, memoryview(mm)[off:]))
        elif req == 8:  # SET_VRING_NUM
            i, num = struct.unpack("<II", body[:8])
            self.rings[i].num = num
        elif req == 9:  # SET_VRING_ADDR (QEMU virtual addresses)
            i, _, desc, used, avail, _ = struct.unpack("<IIQQQQ", body[:40])
            r = self.rings[i]
            r.desc, r.used, r.avail = desc, used, avail
        elif req == 10:  # SET_VRING_BASE
            i, base = struct.unpack("<II", body[:8])
            self.rings[i].last_avail = base
        elif req == 11:  # GET_VRING_BASE
            i = struct.unpack("<I", body[:4])[0]
            self.reply(req, struct.pack("<II", i, self.rings[i].last_avail))
        elif req in (12, 13):  # SET_VRING_KICK / SET_VRING_CALL
            v = struct.unpack("<Q", body[:8])[0]
            fd = fds[0] if fds and not v & 0x100 else None
            if req == 12:
                self.rings[v & 0xFF].kick = fd
            else:
                self.rings[v & 0xFF].call = fd
        else:
            for fd in fds:
                os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("--mode", default="echo")
    ap.add_argument("--cid", type=int, default=3)
    a = ap.parse_args()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    srv.bind(a.socket)
    srv.listen(1)
    conn, _ = srv.accept()
    b = Backend(conn, a.mode, a.cid)
    while not b.done:
        kicks = {r.kick: q for q, r in enumerate(b.rings) if r.kick is not None}
        ready, _, _ = select.select([conn] + list(kicks), [], [], 1.0)
        for fd in ready:
            if fd is conn:
                if not b.message():
                    return 0
            else:
                os.read(fd, 8)
                if kicks[fd] == 1:
                    b.on_tx()
        b.maybe_start()
        if b.regions:
            b.deliver()
    log("connection finished")
    # Keep serving the protocol until QEMU goes away.
    while b.message():
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
