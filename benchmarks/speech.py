"""Google streaming STT: Beluga's adapter against the raw ``google-cloud-speech`` SDK.

Both talk to the same loopback gRPC server (``Speech/StreamingRecognize`` with the SDK's own
message types) that answers one interim and one final result per call as soon as the request
stream is closed, so the time measured is the client's own: config, 5 audio chunks of 100 ms,
half-close, the final result. The raw contender is what a user would write with the SDK alone
(an async generator of requests, ``retry=None``); Beluga's goes through ``GoogleSTT.stream``
(push, flush, iterate, with its span and error mapping). Run: ``python -m benchmarks.speech``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from benchmarks._harness import interleaved, ratio_median

CHUNK = b"\x00\x00" * 1600  # 100 ms at 16 kHz
CHUNKS = 5


async def _serve() -> tuple[Any, str]:
    import grpc
    from google.cloud import speech_v1

    async def recognize(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        async for _ in requests:
            pass
        alt = speech_v1.SpeechRecognitionAlternative
        result = speech_v1.StreamingRecognitionResult
        yield speech_v1.StreamingRecognizeResponse(
            results=[result(alternatives=[alt(transcript="hello")], stability=0.9)]
        )
        yield speech_v1.StreamingRecognizeResponse(
            results=[
                result(alternatives=[alt(transcript="hello world", confidence=0.9)], is_final=True)
            ]
        )

    handler = grpc.stream_stream_rpc_method_handler(
        recognize,
        request_deserializer=speech_v1.StreamingRecognizeRequest.deserialize,
        response_serializer=speech_v1.StreamingRecognizeResponse.serialize,
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "google.cloud.speech.v1.Speech", {"StreamingRecognize": handler}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


async def run(*, calls: int, rounds: int) -> dict[str, Any]:
    """Median seconds per utterance for each contender, and Beluga's ratio to the raw SDK."""
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import speech_v1
    from google.cloud.speech_v1.services.speech.transports import SpeechGrpcAsyncIOTransport

    from beluga.voice.stt.providers.google import GoogleSTT

    server, target = await _serve()
    try:
        channel = grpc.aio.insecure_channel(target)
        transport = SpeechGrpcAsyncIOTransport(
            host=target, credentials=AnonymousCredentials(), channel=channel
        )
        client = speech_v1.SpeechAsyncClient(transport=transport)
        config = speech_v1.StreamingRecognitionConfig(
            config=speech_v1.RecognitionConfig(
                encoding=speech_v1.RecognitionConfig.AudioEncoding.LINEAR16,
                sample_rate_hertz=16000,
                language_code="en-US",
            ),
            interim_results=True,
        )

        async def raw() -> str:
            async def requests() -> AsyncIterator[Any]:
                yield speech_v1.StreamingRecognizeRequest(streaming_config=config)
                for _ in range(CHUNKS):
                    yield speech_v1.StreamingRecognizeRequest(audio_content=CHUNK)

            call = await client.streaming_recognize(requests=requests(), retry=None)
            async for response in call:
                for result in response.results:
                    if result.is_final:
                        return str(result.alternatives[0].transcript)
            raise RuntimeError("no final")

        stt = GoogleSTT(api_endpoint=target, insecure=True)

        async def beluga() -> str:
            async with stt.stream(sample_rate=16000) as session:
                for _ in range(CHUNKS):
                    await session.push(CHUNK)
                await session.finish()
                async for event in session:
                    if event.final:
                        return event.text
            raise RuntimeError("no final")

        timings = await interleaved(
            {"raw_sdk": raw, "beluga": beluga}, calls=calls, rounds=rounds, warmup=20
        )
        await stt.aclose()
        await channel.close()
    finally:
        await server.stop(None)
    raw_s, ours_s = timings["raw_sdk"].median, timings["beluga"].median
    return {
        "google_stt": {
            "raw_sdk_ms": raw_s * 1e3,
            "beluga_ms": ours_s * 1e3,
            "ratio": ratio_median(timings["beluga"], timings["raw_sdk"]),
            "own_us": (ours_s - raw_s) * 1e6,
        }
    }


def report(results: dict[str, Any]) -> None:
    g = results["google_stt"]
    print("Google streaming STT, one loopback gRPC server, per utterance (medians)")
    print(
        f"  raw google-cloud-speech {g['raw_sdk_ms']:.3f} ms, beluga {g['beluga_ms']:.3f} ms: "
        f"ratio {g['ratio']:.3f}; Beluga's own cost {g['own_us']:+.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(calls=args.calls, rounds=args.rounds))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
