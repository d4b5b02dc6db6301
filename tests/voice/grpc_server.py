"""A loopback gRPC server for the Google speech tests, built from the SDK's own message types.

The SDK ships no ``*_pb2_grpc`` servicers (its proto-plus types carry ``serialize`` and
``deserialize``), so each test registers handlers under the real service and method names
(``google.cloud.speech.v1.Speech/StreamingRecognize``) with those types as the codec, and scripts
the server's side with ``grpc.aio`` handlers that read requests and answer or abort with a
status code, as Google's servers do.

A ``grpc.aio`` server handler that ends with an error status while the client is still
writing makes the client read ``INTERNAL: Internal error from Core`` most of the time (seen
here in 42 of 60 calls), whatever status was set; so scripted errors read the request stream to
its end before they abort.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

__all__ = ["grpc_server"]


@asynccontextmanager
async def grpc_server(
    service: str, methods: dict[str, tuple[str, Callable[..., Any], Any, Any]]
) -> AsyncIterator[tuple[str, grpc.aio.Server]]:
    """Serve ``service`` on 127.0.0.1 (a free port); yields ``("127.0.0.1:port", server)``.

    ``methods`` maps a method name to ``(kind, handler, request_type, response_type)`` where
    ``kind`` is ``"unary"`` or ``"stream"`` (bidirectional).
    """
    handlers = {}
    for name, (kind, handler, request, response) in methods.items():
        make = (
            grpc.unary_unary_rpc_method_handler
            if kind == "unary"
            else grpc.stream_stream_rpc_method_handler
        )
        handlers[name] = make(
            handler,
            request_deserializer=request.deserialize,
            response_serializer=response.serialize,
        )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", server
    finally:
        await server.stop(None)
