"""The delay relay of the S3 round-trip benchmark adds latency, not a bandwidth limit, and relays
bytes unchanged."""

from __future__ import annotations

import socket
import socketserver
import threading
import time

from bench.s3_latency import DelayProxy


class _Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while chunk := self.request.recv(1 << 16):
            self.request.sendall(chunk)


def _echo_server() -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _exchange(port: int, payload: bytes) -> tuple[bytes, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        t0 = time.perf_counter()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = bytearray()
        while len(got) < len(payload):
            chunk = sock.recv(1 << 16)
            assert chunk, "the relay closed the connection early"
            got += chunk
        sender.join()
        return bytes(got), time.perf_counter() - t0


def test_the_relay_adds_one_round_trip_of_latency_and_keeps_the_bytes() -> None:
    server = _echo_server()
    try:
        direct_reply, _ = _exchange(server.server_address[1], b"ping")
        assert direct_reply == b"ping"
        with DelayProxy(server.server_address[1], one_way=0.1) as proxy:
            reply, took = _exchange(proxy.port, b"ping")
            assert reply == b"ping"
            assert 0.2 <= took < 0.2 + 0.5, took  # there and back: two one-way delays
            big = bytes(range(256)) * (16 * 1024)  # 4 MiB, many chunks in flight at once
            reply, took = _exchange(proxy.port, big)
            assert reply == big
            assert took < 0.2 + 2.0, took  # its chunks are delayed side by side: 64+ chunks each way, 0.1 s apiece if in turn
    finally:
        server.shutdown()
        server.server_close()
