"""``beluga voice FILE.wav``: one spoken question through the configured voice stack.

The WAV is fed as 20 ms frames (in real time, or as fast as the pipeline takes them with
``--fast``) through the ``voice:`` section's stack (offline by default: Silero VAD, Whisper
tiny.en, hibari or espeak-ng) with the default model (``llm.default``, or ``--model``) as the
responder; its reply is written as a WAV, and the transcript and the latency breakdown printed.
A file at another rate is resampled; stereo is downmixed; a format voice cannot read is one
line saying what it is and how to convert it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import err, friendly

if TYPE_CHECKING:
    from beluga.schema import Message, StreamEvent
    from beluga.voice.frames import OutputAudioFrame
    from beluga.voice.session import VoiceSession

__all__ = ["voice_command"]

_SYSTEM = (
    "You are a voice assistant. Answer in one or two short spoken sentences, with no lists, "
    "markup or emoji."
)
_TAIL_SECS = 1.5  # silence after the file, so the VAD and turn detector hear its end


class _Capped:
    """The model as a responder: a voice system prompt and a cap on reply tokens."""

    def __init__(self, model: Any, max_tokens: int) -> None:
        from beluga.llms import ModelSettings

        self.model = model
        self.settings = ModelSettings(max_tokens=max_tokens)

    def stream(self, messages: Sequence[Message], /) -> AsyncIterator[StreamEvent]:
        from beluga.schema import Message

        prompt = [Message.system(_SYSTEM), *messages]
        stream: AsyncIterator[StreamEvent] = self.model.stream(prompt, settings=self.settings)
        return stream


@friendly
def voice_command(
    file: Annotated[Path, typer.Argument(help="A WAV file with the spoken question.")],
    fast: Annotated[
        bool, typer.Option("--fast", help="Feed the audio as fast as possible, not in real time.")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the spoken reply.")
    ] = Path("reply.wav"),
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="A provider entry, role or id (default: llm.default)."),
    ] = None,
    max_tokens: Annotated[
        int, typer.Option(help="Most tokens in the reply (the local model is slow).")
    ] = 48,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="beluga.yaml to use.", show_default=False),
    ] = None,
) -> None:
    """Answer the question spoken in FILE.wav with the voice stack; write the reply as a WAV."""
    from beluga.cli.main import load_cli_config

    pcm = _read(file)
    cfg = load_cli_config(config)
    result = asyncio.run(_converse(cfg, pcm, fast=fast, model=model, max_tokens=max_tokens))
    session, frames = result
    rate = _write(out, frames)
    if as_json:
        data = {
            "transcript": [{"role": m.role, "text": m.text} for m in session.messages],
            "latency": session.report.as_dict(),
            "reply_wav": str(out) if frames else None,
            "reply_seconds": round(sum(f.duration for f in frames), 3),
            "sample_rate": rate,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    _show(session, frames, out)


def _read(file: Path) -> bytes:
    """The file's audio as 16 kHz mono PCM16, or one line saying what is wrong."""
    from beluga.core.errors import BelugaError, ErrorCode
    from beluga.voice.audio import read_wav, resample

    if not file.is_file():
        raise BelugaError(
            "cli.voice", ErrorCode.INVALID_REQUEST, f"{file}: no such file; give a WAV recording"
        )
    try:
        wav = read_wav(file)
    except BelugaError as exc:
        raise BelugaError(
            "cli.voice",
            ErrorCode.INVALID_REQUEST,
            f"{file}: {exc.message}. Convert it to 16-bit PCM WAV, e.g. "
            "ffmpeg -i in -ac 1 -ar 16000 -sample_fmt s16 out.wav",
        ) from None
    if not wav.pcm:
        raise BelugaError("cli.voice", ErrorCode.INVALID_REQUEST, f"{file}: the WAV has no audio")
    pcm = wav.mono()
    return pcm if wav.sample_rate == 16000 else resample(pcm, wav.sample_rate, 16000)


async def _converse(
    cfg: Any, pcm: bytes, *, fast: bool, model: str | None, max_tokens: int
) -> tuple[VoiceSession, list[OutputAudioFrame]]:
    from beluga.llms import from_config
    from beluga.voice.config import build_session

    frames: list[OutputAudioFrame] = []

    async def collect(frame: OutputAudioFrame) -> None:
        frames.append(frame)

    chat = from_config(cfg, model)
    try:
        session = build_session(
            cfg,
            _Capped(chat, max_tokens),
            output=collect,
            realtime=not fast,
            sample_rate=16000,
            session_id="cli-voice",
        )
        async with session:
            await session.feed(pcm + bytes(int(16000 * _TAIL_SECS) * 2), realtime=not fast)
            await session.end()
    finally:
        await chat.aclose()
    return session, frames


def _write(out: Path, frames: list[OutputAudioFrame]) -> int | None:
    from beluga.voice.audio import resample, write_wav

    if not frames:
        return None
    rate = frames[0].sample_rate
    pcm = b"".join(
        f.pcm if f.sample_rate == rate else resample(f.pcm, f.sample_rate, rate) for f in frames
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_wav(out, pcm, rate)
    return rate


def _show(session: VoiceSession, frames: list[OutputAudioFrame], out: Path) -> None:
    console = Console()
    for message in session.messages:
        who = "you" if message.role == "user" else "bot"
        console.print(f"[bold]{who}:[/] {escape(message.text)}", soft_wrap=True)
    if not session.messages:
        err.print("[yellow]no speech was heard in the file[/]")
    if frames:
        seconds = sum(f.duration for f in frames)
        console.print(f"reply: {escape(str(out))} ({seconds:.1f} s)")
    table = Table("stage (ms after end of speech)", "per turn", "median", title="Latency")
    median = session.report.median()
    rows = [t.as_dict() for t in session.report.turns]
    for key, value in median.items():
        cells = ", ".join("-" if r[key] is None else f"{r[key]:.0f}" for r in rows)
        table.add_row(
            key.removesuffix("_ms"), cells or "-", "-" if value is None else f"{value:.0f}"
        )
    console.print(table)
    sys.stdout.flush()
