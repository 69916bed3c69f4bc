# SPDX-License-Identifier: Apache-2.0
# test_api_server: transport behaviour: socket mode, stale socket, keep-alive, slow and
# half-open clients, payload limit, per-action deadlines (504), metrics sink.
import json
import os
import socket
import stat
import time

from conftest import UnixHTTPConnection


def test_socket_mode_0600(squib):
    st = os.stat(squib.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_stale_socket_is_replaced(squib_factory, tmp_path):
    d = tmp_path / "stale"
    d.mkdir()
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "api.sock"))
    s.close()  # leaves a dead socket file behind
    sq = squib_factory(sub="stale")
    assert sq.json("GET", "/")[0] == 200


def test_keep_alive_many_requests_one_connection(squib):
    c = UnixHTTPConnection(squib.sock)
    for i in range(20):
        st, hdrs, raw = squib.request("PUT", "/machine-config",
                                      json.dumps({"vcpu_count": 1 + i % 2,
                                                  "mem_size_mib": 128 + i}), conn=c)
        assert st == 204
        assert hdrs.get("Connection", "").lower() != "close"
    st, _, raw = squib.request("GET", "/machine-config", conn=c)
    assert json.loads(raw)["mem_size_mib"] == 147
    # an error answer keeps the connection usable too
    assert squib.request("PUT", "/machine-config", "{bad", conn=c)[0] == 400
    assert squib.request("GET", "/nope", conn=c)[0] == 400
    assert squib.request("GET", "/version", conn=c)[0] == 200
    c.close()


def test_slow_and_half_open_clients_do_not_block(squib):
    idle = socket.socket(socket.AF_UNIX)
    idle.connect(squib.sock)  # half-open: never sends anything
    slow = socket.socket(socket.AF_UNIX)
    slow.connect(squib.sock)
    slow.sendall(b"PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ker")
    partial = socket.socket(socket.AF_UNIX)
    partial.connect(squib.sock)
    partial.sendall(b"GET /vers")  # headers never finished
    t0 = time.time()
    for _ in range(5):
        assert squib.json("GET", "/")[0] == 200
        assert squib.json("PUT", "/boot-source", {"kernel_image_path": "/k"})[0] == 204
    assert time.time() - t0 < 2.0
    for s in (idle, slow, partial):
        s.close()


def test_payload_limit_flag(squib_factory):
    sq = squib_factory(args=["--http-api-max-payload-size", "1024"])
    body = json.dumps({"kernel_image_path": "/k" * 600})
    st, hdrs, raw = sq.request("PUT", "/boot-source", body)
    assert st == 413
    assert hdrs["Server"] == "Firecracker API"
    assert json.loads(raw) == {"fault_message": "Request payload with size %d is larger than "
                               "the limit of 1024 allowed by server." % len(body)}
    assert sq.json("GET", "/vm/config")[1]["boot-source"] is None
    # chunked upload (no Content-Length) is limited too
    c = UnixHTTPConnection(sq.sock)
    c.putrequest("PUT", "/boot-source")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    chunk = body.encode()
    c.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
    r = c.getresponse()
    assert r.status == 413
    c.close()


def test_action_deadline_504_and_published_gets(squib_factory):
    sq = squib_factory(env={"SQUIB_TEST_ACTION_DELAY_MS": "1500",
                            "SQUIB_TEST_DEADLINE_MS": "300"})
    t0 = time.time()
    st, doc = sq.json("PUT", "/boot-source", {"kernel_image_path": "/k"})
    assert st == 504
    assert doc == {"fault_message": "VMM action timed out: pre-boot config"}
    assert time.time() - t0 < 1.2
    # the VMM thread is still busy: GETs come from the published copy, fast
    t1 = time.time()
    assert sq.json("GET", "/")[1]["state"] == "Not started"
    assert sq.json("GET", "/version")[0] == 200
    assert time.time() - t1 < 0.2
    # the action was not cancelled: it lands once the VMM thread gets to it
    end = time.time() + 5
    while time.time() < end:
        cfg = sq.json("GET", "/vm/config")[1]
        if cfg["boot-source"]:
            break
        time.sleep(0.05)
    assert cfg["boot-source"] == {"kernel_image_path": "/k"}
    st, doc = sq.json("PATCH", "/vm", {"state": "Paused"})
    assert (st, doc) == (504, {"fault_message": "VMM action timed out: PATCH /vm"})


def test_metrics_file_and_lost_metrics(squib_factory, tmp_path):
    path = tmp_path / "metrics.json"
    sq = squib_factory(args=["--metrics-path", str(path)],
                       env={"SQUIB_TEST_METRICS_PERIOD_MS": "50"})
    assert sq.json("PUT", "/boot-source", {"kernel_image_path": "/k"})[0] == 204
    assert sq.json("PUT", "/boot-source", {"bad": 1})[0] == 400
    assert sq.json("GET", "/")[0] == 200
    time.sleep(0.3)
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert lines
    put = sum(l["put_api_requests"].get("boot_source_count", 0) for l in lines)
    fails = sum(l["put_api_requests"].get("boot_source_fails", 0) for l in lines)
    # the malformed PUT counts as a failed boot-source request
    assert put >= 2 and fails == 1
    assert sum(l["get_api_requests"]["instance_info_count"] for l in lines) >= 1
    for key in ("full_create_snapshot", "load_snapshot", "pause_vm", "resume_vm"):
        assert key in lines[-1]["latencies_us"]
    assert "missed_metrics_count" in lines[-1]["logger"]


def test_metrics_fifo_full_counts_lost(squib_factory, tmp_path):
    fifo = str(tmp_path / "metrics.fifo")
    os.mkfifo(fifo)
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that does not read
    sq = squib_factory(args=["--metrics-path", fifo],
                       env={"SQUIB_TEST_METRICS_PERIOD_MS": "5"})
    time.sleep(2.0)  # the 64 KiB pipe fills up; further lines are dropped, not blocking
    t0 = time.time()
    assert sq.json("GET", "/")[0] == 200
    assert time.time() - t0 < 0.5
    data = b""
    while True:
        try:
            chunk = os.read(rd, 1 << 20)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    time.sleep(0.2)
    try:
        data += os.read(rd, 1 << 20)
    except BlockingIOError:
        pass
    os.close(rd)
    lines = [l for l in data.split(b"\n") if l.startswith(b"{")]
    lost = [json.loads(l)["logger"]["missed_metrics_count"] for l in lines
            if l.endswith(b"}")]
    assert any(x > 0 for x in lost), "no lost-metrics counted"


def test_failed_snapshot_load_keeps_process_usable(squib, tmp_path):
    body = {"snapshot_path": str(tmp_path / "missing.snap"),
            "mem_backend": {"backend_type": "File", "backend_path": str(tmp_path / "m")}}
    answers = []
    for _ in range(2):
        st, doc = squib.json("PUT", "/snapshot/load", body)
        assert st in (400, 500)
        answers.append((st, doc))
        assert squib.json("GET", "/")[1]["state"] == "Not started"
    assert answers[0] == answers[1]
    assert squib.proc.poll() is None
    # still configurable afterwards
    assert squib.json("PUT", "/boot-source", {"kernel_image_path": "/k"})[0] == 204


def test_many_concurrent_clients(squib):
    import threading
    errors = []

    def worker(i):
        try:
            for j in range(10):
                st, _ = squib.json("PUT", "/machine-config",
                                   {"vcpu_count": 1, "mem_size_mib": 128 + i * 10 + j})
                assert st == 204
                assert squib.json("GET", "/vm/config")[0] == 200
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_logger_and_metrics_fifo_without_reader(squib, tmp_path):
    # launchers (Kata, firecracker-containerd) hand over FIFOs; opening must not need a reader
    for name, path in (("log", "/logger"), ("metrics", "/metrics")):
        fifo = str(tmp_path / (name + ".fifo"))
        os.mkfifo(fifo)
        key = "log_path" if name == "log" else "metrics_path"
        st, doc = squib.json("PUT", path, {key: fifo})
        assert st == 204, doc
    rd = os.open(str(tmp_path / "log.fifo"), os.O_RDONLY | os.O_NONBLOCK)
    squib.json("PUT", "/actions", {"action_type": "InstanceStart"})  # logs an error line
    time.sleep(0.1)
    data = os.read(rd, 65536)
    os.close(rd)
    assert b"anonymous-instance" in data
