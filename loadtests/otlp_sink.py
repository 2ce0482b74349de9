#!/usr/bin/env python3
"""An OTLP/HTTP receiver that accepts spans and throws them away, for measuring what tracing
costs the server (the export itself included) without a collector's own cost on this machine.

    .venv/bin/python loadtests/otlp_sink.py --port 4318
    BOARDROOM_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \\
        loadtests/run_bench.sh --target boardroom ...

On SIGTERM or Ctrl-C it prints how many export requests and bytes it received.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    received = {"requests": 0, "bytes": 0}

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        received["requests"] += 1
        received["bytes"] += len(body)
        # An empty ExportTraceServiceResponse is zero bytes of protobuf.
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def report(app: web.Application) -> None:
        print(f"otlp_sink: {received['requests']} requests, {received['bytes']} bytes", flush=True)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", traces)
    app.on_cleanup.append(report)

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda _: None)
    sys.exit(0)


if __name__ == "__main__":
    main()
