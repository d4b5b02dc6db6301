"""Read recorded provider traffic and turn it into test cases.

Cassettes are VCR-style YAML files (``interactions[]`` of ``request``/``response``, see
``shared/fixtures/README.md``), one folder per provider under the directory named by the
environment variable ``BELUGA_CASSETTES`` (default: ``shared/fixtures/provider-cassettes`` next to
the repository). This module loads them, makes replay cases (skipping, with a reason, what the
harness cannot express) and checks results against them; :mod:`tests.support.replay_server`
serves the recorded responses from a real HTTP/1.1 server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import pytest
import yaml

__all__ = [
    "Cassette",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "Unexpressible",
    "Unreplayable",
    "assert_accounted_for",
    "assert_recorded_error",
    "assert_same_calls",
    "assert_usage_total",
    "cassette_root",
    "cassettes",
    "error_expectation",
    "expressible",
    "first_replayable",
    "in_use",
    "is_reference_set",
    "load_cassette",
    "provider_message",
    "replay_cases",
    "replayable",
    "safe_select",
    "skip_reasons",
    "unreadable",
    "with_request_body",
    "without_nulls",
]

# tests/support/cassettes.py -> parents[3] is the folder holding both the repo and shared/.
DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "provider-cassettes"

# Headers that describe the recorded connection, not the payload; the replay sets its own.


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster


def cassette_root() -> Path:
    """Folder holding one sub-folder of cassettes per provider."""
    env = os.environ.get("BELUGA_CASSETTES")
    return Path(env).expanduser() if env else DEFAULT_ROOT


# --------------------------------------------------------------------------- cassettes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    uri: str
    headers: Mapping[str, list[str]]
    body: Any  # ``parsed_body`` (JSON) or None
    raw_body: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    headers: Mapping[str, list[str]]
    parsed_body: Any = None  # JSON bodies
    body: str | bytes | None = None  # everything else (event streams, text, binary)

    @property
    def content_type(self) -> str:
        values = self.headers.get("content-type") or [""]
        return values[0].lower()

    @property
    def is_json(self) -> bool:
        return self.body is None and "json" in self.content_type

    @property
    def unparsable_json(self) -> bool:
        """A JSON answer whose recorded text does not parse (a cut or hand-edited recording)."""
        return "json" in self.content_type and self.body is not None and self.parsed_body is None

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.startswith("text/event-stream")


@dataclass(frozen=True, slots=True)
class Interaction:
    index: int
    request: RecordedRequest
    response: RecordedResponse


@dataclass(frozen=True, slots=True)
class Cassette:
    path: Path
    provider: str
    interactions: tuple[Interaction, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"


def _headers(raw: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, value in raw.items():
        out[str(key).lower()] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def _status(raw: Any) -> int:
    """VCR writes ``status: {code: 200, message: OK}``; a bare number is accepted too."""
    if isinstance(raw, Mapping):
        raw = raw.get("code", 200)
    return 200 if raw is None else int(raw)


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str | bytes) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def load_cassette(path: Path, provider: str | None = None) -> Cassette:
    """Read one cassette. ``parsed_body`` is used when recorded; a plain VCR ``body`` that is
    JSON is parsed the same way, so both spellings of the format replay alike."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)
    if not isinstance(data, Mapping):
        raise ValueError("not a cassette: the file holds no mapping with `interactions`")
    interactions = []
    for i, item in enumerate(data.get("interactions") or ()):
        req, resp = item["request"], item["response"]
        raw_req_body = req.get("body")
        if isinstance(raw_req_body, Mapping):
            raw_req_body = raw_req_body.get("string")
        req_body = req.get("parsed_body")
        if req_body is None:
            req_body = _json_or_none(raw_req_body)
        request = RecordedRequest(
            method=str(req.get("method", "GET")).upper(),
            uri=str(req.get("uri", "")),
            headers=_headers(req.get("headers")),
            body=req_body,
            raw_body=raw_req_body if isinstance(raw_req_body, str) else None,
        )
        headers = _headers(resp.get("headers"))
        body = resp.get("body")
        body = body.get("string") if isinstance(body, Mapping) else body
        parsed = resp.get("parsed_body")
        content_type = (headers.get("content-type") or [""])[0].lower()
        if parsed is None and "json" in content_type and (decoded := _json_or_none(body)):
            parsed, body = decoded, None
        response = RecordedResponse(_status(resp.get("status")), headers, parsed, body or None)
        interactions.append(Interaction(i, request, response))
    return Cassette(path, provider or path.parent.name, tuple(interactions))


_SUFFIXES = (".yaml", ".yml", ".json")


@functools.lru_cache(maxsize=64)
def _load_folder(folder: Path) -> tuple[tuple[Cassette, ...], tuple[tuple[Path, str], ...]]:
    loaded: list[Cassette] = []
    broken: list[tuple[Path, str]] = []
    if not folder.is_dir():
        return (), ()
    paths = sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    for path in paths:
        try:
            loaded.append(load_cassette(path, folder.name))
        except Exception as exc:  # a broken recording must not break collection
            broken.append((path, _describe(exc)))
    return tuple(loaded), tuple(broken)


def _readable(provider: str, root: Path | None) -> tuple[list[Cassette], dict[Path, str]]:
    loaded, broken = _load_folder(((root or cassette_root()) / provider).resolve())
    return list(loaded), dict(broken)


def cassettes(provider: str, root: Path | None = None) -> list[Cassette]:
    """Every readable cassette of ``provider``, sorted by file name; empty if the folder is missing.

    A file that is not valid YAML/JSON or not a cassette is left out here and reported by
    :func:`unreadable` (and by :func:`replay_cases` as a skipped case), so one broken recording
    never stops collection of a provider's tests.
    """
    return _readable(provider, root)[0]


def unreadable(provider: str, root: Path | None = None) -> dict[Path, str]:
    """Cassette files of ``provider`` that cannot be loaded, with why."""
    return _readable(provider, root)[1]


def is_reference_set(root: Path | None = None) -> bool:
    """Whether ``root`` is the shared reference recordings (``fixtures/README.md`` beside it says
    where they come from). Only there is "every recording skipped" a failure: on any other set
    of recordings it is a reported skip."""
    readme = (root or cassette_root()) / ".." / "README.md"
    try:
        return "provider-cassettes" in readme.read_text(encoding="utf-8")
    except OSError:
        return False


def in_use(value: Any) -> bool:
    """Whether a recorded field actually uses a feature: ``null``, ``[]``, ``{}``, ``""`` and
    ``false`` are recorded defaults, not features in use."""
    return value is not None and value is not False and value != [] and value != {} and value != ""


T = TypeVar("T")
C = TypeVar("C", bound="_HasReason")


class _HasReason(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def skip_reason(self) -> str | None: ...


class Unexpressible(Exception):
    """A recorded shape the harness cannot turn into beluga inputs; the message says which."""


@dataclass(frozen=True, slots=True)
class Unreplayable:
    """A test case standing for recordings that cannot be replayed at all: an unreadable file, a
    cassette with no interactions, or a provider folder that is missing. Its test skips with
    :attr:`skip_reason`, so pytest reports it and a run never ends with "no tests ran"."""

    provider: str
    path: Path | None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.path.stem if self.path else '(no folder)'}"

    @property
    def skip_reason(self) -> str:
        return self.reason


def replay_cases(
    providers: Iterable[str],
    make: Callable[[Cassette, Interaction], C],
    root: Path | None = None,
) -> list[C | Unreplayable]:
    """One case per recorded interaction of each provider folder, in file order.

    Only file loading happens here (guarded); turning a recording into inputs is left to the test
    body (see :func:`replayable` and :func:`expressible`). Unreadable files, empty cassettes and
    missing folders become :class:`Unreplayable` cases.
    """
    base = root or cassette_root()
    out: list[C | Unreplayable] = []
    for provider in providers:
        folder = base / provider
        if not folder.is_dir():
            out.append(
                Unreplayable(
                    provider, None, f"no {provider}/ folder under {base} (BELUGA_CASSETTES)"
                )
            )
            continue
        loaded, broken = _readable(provider, base)
        for path, why in broken.items():
            out.append(Unreplayable(provider, path, f"{provider}/{path.name}: unreadable ({why})"))
        for cassette in loaded:
            if not cassette.interactions:
                reason = f"{cassette.id}: the cassette records no interactions"
                out.append(Unreplayable(provider, cassette.path, reason))
            for interaction in cassette.interactions:
                try:
                    out.append(make(cassette, interaction))
                except Exception as exc:
                    reason = f"{cassette.id}#{interaction.index}: {_describe(exc)}"
                    out.append(Unreplayable(provider, cassette.path, reason))
    if not out:
        out.append(Unreplayable("+".join(providers), None, f"no cassettes under {base}"))
    return _unique(out)


def _unique(cases: list[Any]) -> list[Any]:
    """Drop repeated ids (two files with the same stem but different suffixes): pytest needs
    unique ids, and the first file wins."""
    seen: set[str] = set()
    kept = []
    for case in cases:
        if case.id not in seen:
            seen.add(case.id)
            kept.append(case)
    return kept


def replayable(case: C | Unreplayable) -> C:
    """In a replay test body: the case itself, or a skip with the reason it cannot be replayed.

    A skip rule that raises on a recorded shape it does not know skips naming that shape.
    """
    if isinstance(case, Unreplayable):
        pytest.skip(case.reason)
    interaction = getattr(case, "interaction", None)
    if isinstance(interaction, Interaction) and interaction.response.unparsable_json:
        pytest.skip(
            f"{case.id}: the recorded {interaction.response.content_type} body is not valid "
            "JSON (truncated?)"
        )
    try:
        reason = case.skip_reason
    except Exception as exc:
        reason = f"{case.id}: a recorded shape the harness does not know ({_describe(exc)})"
    if reason is not None:
        pytest.skip(reason)
    return case


@contextlib.contextmanager
def expressible(case_id: str, what: str = "rebuild the inputs") -> Iterator[None]:
    """Wraps the harness turning a recording into beluga inputs (or into expected values):
    a shape it cannot express -- an unknown part type or role, a missing or odd-typed field --
    becomes a skip naming the case and the shape. Assertion failures still fail."""
    try:
        yield
    except AssertionError:
        raise
    except Unexpressible as exc:
        pytest.skip(f"{case_id}: {exc}")
    except Exception as exc:
        pytest.skip(f"{case_id}: cannot {what} from the recording ({_describe(exc)})")


def skip_reasons(cases: Iterable[_HasReason]) -> dict[str, str]:
    """``case id -> reason`` for every case the harness cannot replay.

    A skip rule that raises on a recorded shape it does not know makes that case a skip naming the
    cassette and the shape, instead of an error at collection time.
    """
    out: dict[str, str] = {}
    for case in cases:
        try:
            reason = case.skip_reason
        except Exception as exc:
            reason = f"{case.id}: a recorded shape the harness does not know ({_describe(exc)})"
        if reason is not None:
            out[case.id] = reason
    return out


def assert_accounted_for(cases: Iterable[Any], what: str) -> None:
    """Each case is replayed or skipped with a reason, and at least one of ``what`` is replayed.

    A set where every recording is skipped proves nothing: on the shared reference recordings
    that fails; on any other folder it is a reported skip naming the reasons.
    """
    listed = list(cases)
    real = [c for c in listed if not isinstance(c, Unreplayable)]
    if not real:
        pytest.skip("; ".join(c.reason for c in listed) or f"no {what} cassettes")
    reasons = skip_reasons(real)
    assert all(reasons.values()), "a skip without a reason"
    if len(reasons) == len(real):
        summary = (
            f"every recorded {what} interaction is skipped, e.g. {next(iter(reasons.values()))}"
        )
        if is_reference_set():
            pytest.fail(summary)
        pytest.skip(summary)


def safe_select(cases: Iterable[T], predicate: Callable[[T], bool]) -> list[T]:
    """The cases ``predicate`` keeps; a case it cannot read is left out (its replay test skips)."""
    kept: list[T] = []
    for case in cases:
        if isinstance(case, Unreplayable):
            continue
        try:
            if predicate(case):
                kept.append(case)
        except Exception:
            continue
    return kept


# HTTP semantics every provider documents; an adapter's own table may refine them (e.g. 529).
_EXPECTED_STATUS: dict[int, tuple[str, bool]] = {
    400: ("invalid_request", False),
    401: ("auth_failed", False),
    403: ("auth_failed", False),
    404: ("not_found", False),
    408: ("timeout", True),
    413: ("invalid_request", False),
    422: ("invalid_request", False),
    429: ("rate_limited", True),
}


def error_expectation(status: int) -> tuple[str, bool] | None:
    """``(error code value, retryable)`` a recorded HTTP error must map to; None for a status
    whose meaning is provider-specific (the test skips it rather than guess)."""
    if status in _EXPECTED_STATUS:
        return _EXPECTED_STATUS[status]
    if status >= 500:
        return "provider_unavailable", True
    return None


def provider_message(response: RecordedResponse) -> str:
    """The provider's own error text in a recorded error answer, whatever its documented shape:
    ``{"error": {"message"}}`` (OpenAI, Anthropic, Gemini, Groq, Mistral), ``{"message"}`` or
    ``{"Message"}`` (AWS), ``{"error": "..."}`` (Ollama), ``[{"error": {...}}]`` (Gemini streams),
    ``{"detail": ...}``, or the text body itself."""
    body = response.parsed_body
    if body is None:
        body = _json_or_none(response.body)
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, str):
            return error
        if isinstance(error, Mapping):
            for key in ("message", "Message", "detail", "error_description"):
                value = error.get(key)
                if isinstance(value, str) and value:
                    return value
                if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                    return str(value["message"])
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        raise Unexpressible(f"no error message in the recorded {response.status} body {body!r:.80}")
    text = (
        response.body.decode("utf-8", "replace")
        if isinstance(response.body, bytes)
        else response.body
    )
    return (text or "").strip()


def assert_recorded_error(
    error: BaseException | None,
    response: RecordedResponse,
    codes: Mapping[int, Any],
    case_id: str,
    secrets: Iterable[str] = (),
) -> None:
    """A recorded HTTP error answer became the right :class:`BelugaError`: its code (the
    adapter's table ``codes`` first, then the documented HTTP meaning), whether a retry can help,
    the provider's own message text, and no secret anywhere in it."""
    from beluga.core.errors import BelugaError

    status = response.status
    assert isinstance(error, BelugaError), (
        f"HTTP {status} was not raised as a BelugaError: {error!r}"
    )
    documented = error_expectation(status)
    expected = codes.get(status)
    if expected is None and documented is None:
        pytest.skip(f"{case_id}: HTTP {status} has no documented meaning to check against")
    if expected is not None:
        assert error.code is expected, f"HTTP {status} -> {error.code}, expected {expected}"
    else:
        assert documented is not None
        assert error.code.value == documented[0], f"HTTP {status} -> {error.code}"
    if documented is not None:
        assert error.retryable is documented[1], f"HTTP {status}: retryable={error.retryable}"
    with expressible(case_id, "read the provider's error message"):
        text = " ".join(provider_message(response).split())
    assert text[:60] in " ".join(error.message.split()), (
        f"the provider's message {text[:60]!r} is not in {error.message!r}"
    )
    for secret in secrets:
        for shown in (str(error), repr(error), error.message, str(error.__cause__ or "")):
            assert secret not in shown, "a secret shows in the error"


def assert_usage_total(usage: Any, recorded: Any, key: str = "total_tokens") -> None:
    """Our total (input + output) is the provider's recorded total, where it recorded one."""
    if isinstance(recorded, Mapping) and isinstance(recorded.get(key), int):
        assert usage.total_tokens == recorded[key], (
            f"total tokens {usage.total_tokens} != recorded {key}={recorded[key]} ({usage})"
        )


def assert_same_calls(calls: Iterable[Any], recorded: Iterable[tuple[Any, str, Any]]) -> None:
    """Our tool calls are the recorded ``(id, name, arguments)``, in order; arguments compare as
    JSON (a recorded string -- concatenated stream fragments -- is parsed; ``""`` means ``{}``)."""

    def parsed(arguments: Any) -> Any:
        if isinstance(arguments, str | bytes):
            return json.loads(arguments or "{}")
        return {} if arguments is None else arguments

    ours = [(c.id, c.name, parsed(c.arguments)) for c in calls]
    assert ours == [(i, n, parsed(a)) for i, n, a in recorded]


def without_nulls(body: Any, *nested: str) -> Any:
    """``body`` without keys recorded as ``null`` (an SDK writing unset options out), at the top
    level and inside the ``nested`` config objects: a null is not a feature in use, and no
    adapter sends it. Nulls deeper down (tool arguments, schemas) are data and stay."""
    if not isinstance(body, Mapping):
        return body
    out = {k: v for k, v in body.items() if v is not None}
    for key in nested:
        inner = out.get(key)
        if isinstance(inner, Mapping) and None in inner.values():
            kept = {k: v for k, v in inner.items() if v is not None}
            if kept:
                out[key] = kept
            else:  # an object holding only nulls is not sent at all
                del out[key]
    return out


def with_request_body(interaction: Interaction, body: Any) -> Interaction:
    """``interaction`` with another recorded request body (for tests of recorded shapes)."""
    return replace(interaction, request=replace(interaction.request, body=body))


def first_replayable(cases: Iterable[Any], predicate: Callable[[Any], bool] = bool) -> Any:
    """The first case that replays and that ``predicate`` keeps; a skip when there is none."""
    for case in safe_select(cases, lambda c: c.skip_reason is None and predicate(c)):
        return case
    pytest.skip(f"no replayable recording of that kind under {cassette_root()}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:200]}"
