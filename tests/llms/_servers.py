"""OpenAI-compatible answers for tests that need real providers failing in real ways."""

from __future__ import annotations

from typing import Any

from tests.support.replay_server import Reply


def completion(
    text: str, *, model: str = "gpt-4o-mini", tokens: tuple[int, int] = (10, 5)
) -> Reply:
    return Reply.json(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "total_tokens": sum(tokens),
            },
        }
    )


def chunk(
    delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        out["usage"] = usage
    return out


def stream(words: list[str], *, cut_after: int | None = None, done: bool = True) -> Reply:
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": w}) for w in words]
    events.append(
        chunk(
            {},
            "stop",
            {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)},
        )
    )
    return Reply.sse(events, cut_after=cut_after, done=done)


def error(status: int, message: str = "boom", headers: dict[str, str] | None = None) -> Reply:
    return Reply.json(
        {"error": {"message": message, "type": "server_error"}}, status=status, headers=headers
    )


def anthropic_message(text: str, model: str = "claude-sonnet-4-5") -> Reply:
    """An Anthropic Messages API answer."""
    return Reply.json(
        {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 4},
        }
    )


def gemini_content(text: str, model: str = "gemini-2.5-flash") -> Reply:
    """A Gemini generateContent answer."""
    return Reply.json(
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 9,
                "candidatesTokenCount": 3,
                "totalTokenCount": 12,
            },
            "modelVersion": model,
            "responseId": "resp-1",
        }
    )
