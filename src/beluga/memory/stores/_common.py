"""What every message store shares: the wire encoding, session-id checks, and errors.

A stored message is exactly ``beluga.schema.wire.dumps(message)``: one JSON object per message,
tool calls and tool results included as such, so any store's data is readable by any other
and by the server. A record that does not decode is an error naming the store and the session,
never a silently shortened history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from beluga.core.errors import BelugaError, ErrorCode
from beluga.schema import Message, wire

__all__ = ["MAX_SESSION_ID", "check_session", "decode", "encode", "unavailable"]

MAX_SESSION_ID = 512


def check_session(op: str, session_id: str) -> str:
    """``session_id`` if it is a usable key; else one INVALID_REQUEST saying what to pass."""
    if (
        not isinstance(session_id, str)
        or not session_id
        or len(session_id) > MAX_SESSION_ID
        or "\x00" in session_id
    ):
        shown = type(session_id).__name__ if not isinstance(session_id, str) else "an empty id"
        if isinstance(session_id, str) and session_id:
            shown = "a NUL character" if "\x00" in session_id else f"{len(session_id)} characters"
        raise BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"a session id must be a non-empty string of at most {MAX_SESSION_ID} characters "
            "without NUL, "
            f"got {shown}: pass the conversation's id (a user or thread id)",
        )
    return session_id


def encode(op: str, messages: Sequence[Message]) -> list[str]:
    """Each message as its wire JSON text; anything but a Message is INVALID_REQUEST."""
    out: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Message):
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"messages[{i}] is a {type(message).__name__}, not a Message: memory stores "
                "keep beluga.schema.Message objects (Message.user(...), Message.tool(...))",
            )
        out.append(wire.dumps(message))
    return out


def decode(op: str, session_id: str, records: Iterable[str | bytes]) -> list[Message]:
    """The stored records of ``session_id`` as messages, in order."""
    messages: list[Message] = []
    for record in records:
        try:
            messages.append(wire.loads(record, Message))
        except BelugaError as exc:
            raise BelugaError(
                op,
                ErrorCode.INTERNAL,
                f"a stored message of session {session_id!r} is not a valid wire message "
                f"({exc.message}); it was not written by this version of beluga's memory: "
                "clear the session or restore it from a backup",
                cause=exc,
            ) from exc
    return messages


def unavailable(op: str, store: str, where: str, exc: BaseException, fix: str) -> BelugaError:
    """A store that cannot be reached: names the store (with a masked address) and the fix."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return BelugaError(
        op,
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"memory store {store} at {where} is unavailable ({detail}): {fix}",
        cause=exc,
    )
