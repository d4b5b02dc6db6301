"""A minimal, fast OpenAI-compatible server for overhead benchmarks (loopback only).

It answers every ``POST .../chat/completions`` with the same small completion, or, when the
request asks to stream, with ``BENCH_CHUNKS`` SSE chunks. It is deliberately cheap so that the
measured differences are the clients' own.
"""

from __future__ import annotations

import argparse
import asyncio
import json

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The capital of France is Paris."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 14, "completion_tokens": 7, "total_tokens": 21},
    }
).encode()


def stream_body(chunks: int) -> bytes:
    out = []
    for i in range(chunks):
        delta = {"content": f"w{i} "} if i else {"role": "assistant", "content": "w0 "}
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        out.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    final = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 14, "completion_tokens": chunks, "total_tokens": 14 + chunks},
    }
    out.append(b"data: " + json.dumps(final).encode() + b"\n\ndata: [DONE]\n\n")
    return b"".join(out)


class _Http(asyncio.Protocol):
    def __init__(self, stream: bytes) -> None:
        self.buffer = b""
        self.stream = stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            self.respond(b'"stream":true' in body.replace(b" ", b""))

    def respond(self, stream: bool) -> None:
        body = self.stream if stream else COMPLETION
        kind = b"text/event-stream" if stream else b"application/json"
        self.transport.write(  # type: ignore[attr-defined]
            b"HTTP/1.1 200 OK\r\ncontent-type: "
            + kind
            + b"\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: keep-alive\r\n\r\n"
            + body
        )


async def serve(port: int, chunks: int) -> None:
    loop = asyncio.get_running_loop()
    body = stream_body(chunks)
    server = await loop.create_server(lambda: _Http(body), "127.0.0.1", port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.chunks))
