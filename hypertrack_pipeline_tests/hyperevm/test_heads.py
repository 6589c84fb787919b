"""newHeads over a WebSocket JSON-RPC subscription (a local websockets server)."""

from __future__ import annotations

import json
import threading
import time

from websockets.sync.server import serve

from hypertrack_pipeline.recorder.evm import HeadWatcher


def test_head_watcher_follows_new_heads_and_falls_back_when_closed() -> None:
    requests: list[dict] = []
    release = threading.Event()

    def handler(ws) -> None:  # noqa: ANN001
        requests.append(json.loads(ws.recv()))
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0xabc"}))
        ws.send("not json")  # ignored
        for n in (10, 11, 12):
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                                "params": {"subscription": "0xabc", "result": {"number": hex(n)}}}))
        release.wait(5)

    with serve(handler, "127.0.0.1", 0, close_timeout=0.5) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        wake, stop = threading.Event(), threading.Event()
        watcher = HeadWatcher(f"ws://127.0.0.1:{port}", wake, stop)
        watcher.start()
        assert wake.wait(5)
        deadline = time.monotonic() + 5
        while watcher.head != 12 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.head == 12
        release.set()  # the server closes: no head known, the follower polls meanwhile
        deadline = time.monotonic() + 5
        while watcher.head is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.head is None
        stop.set()
        watcher.join(5)
        server.shutdown()
    assert not watcher.is_alive()
    assert requests[0]["method"] == "eth_subscribe" and requests[0]["params"] == ["newHeads"]
