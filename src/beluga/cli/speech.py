"""``beluga speech``: list the STT/TTS engines, transcribe a WAV file, speak a text to a WAV file.

Mounted by ``beluga.cli.main`` as ``app.add_typer(speech_app, name="speech")``. Engines are
named as in the registries (``local``, ``deepgram:nova-3``, ``google``, ``azure:...``); their
keys come from the environment (``DEEPGRAM_API_KEY``, ``AZURE_SPEECH_KEY``, ...), so nothing
secret is typed on a command line. Exit codes are those of ``beluga`` (0 ok, 1 failed: a
provider error; 2 bad usage; 130 interrupted). The framework is imported inside the commands.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import friendly

__all__ = ["speech_app"]

speech_app = typer.Typer(
    no_args_is_help=True, help="Speech engines: list them, transcribe a WAV, speak a text."
)
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@speech_app.command("list")
@friendly
def _list(as_json: _JsonOption = False) -> None:
    """List the speech-to-text and text-to-speech engines, and whether each is installed."""
    from beluga.voice.stt.registry import registry as stt
    from beluga.voice.tts.registry import registry as tts

    rows = [
        {
            "kind": kind,
            "name": e.name,
            "installed": e.available,
            "extra": e.extra,
            "source": e.source,
        }
        for kind, registry in (("stt", stt), ("tts", tts))
        for e in registry.entries()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("kind", "engine", "installed", "install with", "source", title="Speech engines")
    for row in rows:
        hint = escape(f"pip install 'beluga-ai[{row['extra']}]'") if row["extra"] else "-"
        installed = "yes" if row["installed"] else "[red]no[/]"
        table.add_row(str(row["kind"]), str(row["name"]), installed, hint, str(row["source"]))
    Console().print(table)


@speech_app.command("transcribe")
@friendly
def _transcribe(
    wav: Annotated[Path, typer.Argument(help="A PCM16 WAV file (mono, or the first channel).")],
    engine: Annotated[str, typer.Option("--engine", "-e", help="STT engine.")] = "local",
    language: Annotated[str | None, typer.Option(help="Language code.")] = None,
    as_json: _JsonOption = False,
) -> None:
    """Print what the engine hears in a WAV file."""
    from beluga.voice import stt
    from beluga.voice.audio import read_wav

    audio = read_wav(wav)
    pcm = audio.pcm
    if audio.channels > 1:  # keep the first channel of interleaved PCM16
        step = 2 * audio.channels
        pcm = b"".join(pcm[i : i + 2] for i in range(0, len(pcm), step))

    async def run() -> tuple[str, float | None, list[dict[str, object]]]:
        listener = stt.create(engine)
        try:
            heard = await listener.transcribe(pcm, audio.sample_rate, language=language)
        finally:
            await listener.aclose()
        words = [{"word": w.word, "start": w.start, "end": w.end} for w in heard.words]
        return heard.text, heard.confidence, words

    text, confidence, words = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"text": text, "confidence": confidence, "words": words}))
    else:
        typer.echo(text)


@speech_app.command("say")
@friendly
def _say(
    text: Annotated[str, typer.Argument(help="What to say.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The WAV file to write.")] = Path(
        "speech.wav"
    ),
    engine: Annotated[str, typer.Option("--engine", "-e", help="TTS engine.")] = "local",
) -> None:
    """Speak a text into a WAV file (at the engine's sample rate)."""
    from beluga.voice import tts
    from beluga.voice.audio import write_wav

    async def run() -> tuple[bytes, int]:
        speaker = tts.create(engine)
        try:
            chunks = [frame.pcm async for frame in speaker.synthesize(text)]
        finally:
            await speaker.aclose()
        return b"".join(chunks), speaker.sample_rate

    pcm, rate = asyncio.run(run())
    write_wav(out, pcm, rate)
    typer.echo(f"wrote {out} ({len(pcm) / 2 / rate:.2f} s at {rate} Hz)")
