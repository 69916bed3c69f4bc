# SPDX-License-Identifier: Apache-2.0
# conftest: start the squib binary on a temp API socket, talk HTTP/1.1 over AF_UNIX.
import http.client
import json
import os
import socket
import subprocess
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def squib_bin():
    b = os.environ.get("SQUIB_BIN", "build/squib")
    return b if os.path.isabs(b) else os.path.join(REPO, b)


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.sock_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.sock_path)
        self.sock = s


class Squib:
    """One squib process with its API socket; request() returns (status, headers, body)."""

    def __init__(self, tmp, args=(), env=None, wait_socket=True):
        self.tmp = str(tmp)
        self.sock = os.path.join(self.tmp, "api.sock")
        self.log = open(os.path.join(self.tmp, "squib.stderr"), "w+")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([squib_bin(), "--api-sock", self.sock, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=e,
                                     cwd=self.tmp)
        if wait_socket:
            self.wait_socket()

    def wait_socket(self, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            if os.path.exists(self.sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock)
                    s.close()
                    return
                except OSError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("squib exited early: %s" % self.output())
            time.sleep(0.005)
        raise RuntimeError("API socket did not appear")

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or UnixHTTPConnection(self.sock)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        try:
            c.request(method, path, body=data, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (e.g. 413) and close before the whole body is sent;
            # its response is still waiting in the socket.
            pass
        r = c.getresponse()
        raw = r.read()
        if conn is None:
            c.close()
        return r.status, r.headers, raw

    def json(self, method, path, body=None):
        st, _, raw = self.request(method, path, body)
        return st, (json.loads(raw) if raw else None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def squib(tmp_path):
    """A running squib with default flags (Not started)."""
    s = Squib(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def squib_factory(tmp_path):
    """Start squib processes with custom args/env; all are stopped at teardown."""
    started = []

    def make(args=(), env=None, sub=None, wait_socket=True):
        d = tmp_path / (sub or "vm%d" % len(started))
        d.mkdir(exist_ok=True)
        s = Squib(d, args, env, wait_socket)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
