"""Tests of the replay harness itself: broken or unknown recordings never break collection."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from tests.support.cassettes import (
    Cassette,
    Interaction,
    RecordedResponse,
    Unreplayable,
    assert_recorded_error,
    cassette_root,
    cassettes,
    expressible,
    in_use,
    is_reference_set,
    load_cassette,
    provider_message,
    replay_cases,
    replayable,
    safe_select,
    skip_reasons,
    unreadable,
)

PROVIDERS = ("anthropic", "bedrock", "google", "groq", "mistral", "ollama", "openai")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", [None, [], {}, "", False])
def test_recorded_defaults_are_not_features_in_use(value: object) -> None:
    assert not in_use(value)


@pytest.mark.parametrize("value", [{"include_usage": True}, ["x"], "auto", 0, True])
def test_recorded_values_are_features_in_use(value: object) -> None:
    assert in_use(value)


def test_a_file_that_is_not_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    folder = tmp_path / "openai"
    folder.mkdir()
    (folder / "broken.yaml").write_text("interactions: [ {request: \n", encoding="utf-8")
    (folder / "empty.yaml").write_text("interactions: []\n", encoding="utf-8")
    assert [c.name for c in cassettes("openai", tmp_path)] == ["empty"]
    broken = unreadable("openai", tmp_path)
    assert list(broken) == [folder / "broken.yaml"]
    assert "Error" in broken[folder / "broken.yaml"]


def test_a_missing_folder_gives_no_cassettes(tmp_path: Path) -> None:
    assert cassettes("openai", tmp_path / "nowhere") == []
    assert unreadable("openai", tmp_path / "nowhere") == {}


@dataclass
class _Case:
    id: str
    body: dict[str, object]

    @property
    def skip_reason(self) -> str | None:
        return None if self.body["messages"] else "no messages"


def test_an_unknown_shape_becomes_a_skip_naming_the_cassette() -> None:
    cases = [_Case("openai/a#0", {"messages": [1]}), _Case("openai/b#0", {})]
    reasons = skip_reasons(cases)
    assert list(reasons) == ["openai/b#0"]
    assert "openai/b#0" in reasons["openai/b#0"] and "messages" in reasons["openai/b#0"]


def test_a_predicate_that_cannot_read_a_case_leaves_it_out() -> None:
    cases = [_Case("a", {"messages": [1]}), _Case("b", {})]
    assert [c.id for c in safe_select(cases, lambda c: bool(c.body["messages"]))] == ["a"]


def test_every_shared_cassette_is_readable() -> None:
    """A shared recording that is not valid YAML is broken: fail, naming it and why. In any
    other folder the replay tests report each unreadable file as a skip instead."""
    if not cassette_root().is_dir():
        pytest.skip(f"no cassettes at {cassette_root()} (set BELUGA_CASSETTES)")
    broken = {str(p): why for name in PROVIDERS for p, why in unreadable(name).items()}
    if broken and not is_reference_set():
        pytest.skip(f"unreadable cassettes (each is a skipped replay case): {broken}")
    assert not broken, f"unreadable cassettes: {broken}"


@dataclass(frozen=True)
class _Real:
    cassette: Cassette
    interaction: Interaction

    @property
    def id(self) -> str:
        return f"{self.cassette.id}#{self.interaction.index}"

    @property
    def skip_reason(self) -> str | None:
        body = self.interaction.request.body
        return None if body["messages"][0]["role"] == "user" else "not a user turn"


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


CHAT = {
    "interactions": [
        {
            "request": {
                "method": "POST",
                "uri": "https://x/v1/chat/completions",
                "body": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            },
            "response": {
                "status": 503,
                "headers": {"content-type": ["application/json"]},
                "body": {"string": json.dumps({"error": {"message": "overloaded now"}})},
            },
        }
    ]
}


def test_unreadable_empty_and_missing_recordings_become_cases_that_skip(tmp_path: Path) -> None:
    _write(tmp_path / "openai", "bad.yaml", "interactions: [ {request: \n")
    _write(tmp_path / "openai", "empty.yaml", "interactions: []\n")
    _write(tmp_path / "openai", "good.json", json.dumps(CHAT))
    cases = replay_cases(["openai", "groq"], _Real, tmp_path)
    ids = [c.id for c in cases]
    assert ids == ["openai/bad", "openai/empty", "openai/good#0", "groq/(no folder)"]
    for case in cases[:2] + cases[3:]:
        assert isinstance(case, Unreplayable)
        with pytest.raises(pytest.skip.Exception, match=r"unreadable|no interactions|no groq/"):
            replayable(case)
    assert replayable(cases[2]) is cases[2]  # a JSON cassette with a plain VCR body replays
    assert replay_cases(["nothing"], _Real, tmp_path)[0].id == "nothing/(no folder)"


def test_a_plain_vcr_body_and_a_bare_status_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "openai", "c.json", json.dumps(CHAT))
    (interaction,) = load_cassette(path).interactions
    assert interaction.request.body == {"messages": [{"role": "user", "content": "hi"}]}
    assert interaction.response.status == 503
    assert interaction.response.parsed_body == {"error": {"message": "overloaded now"}}


def test_a_skip_rule_that_cannot_read_the_shape_skips_naming_it(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CHAT))
    data["interactions"][0]["request"]["body"] = json.dumps({"messages": []})
    _write(tmp_path / "openai", "odd.json", json.dumps(data))
    (case,) = replay_cases(["openai"], _Real, tmp_path)
    with pytest.raises(pytest.skip.Exception, match=r"openai/odd#0: a recorded shape .*IndexError"):
        replayable(case)


def test_a_truncated_json_body_is_a_skip_not_a_parse_failure(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CHAT))
    data["interactions"][0]["response"]["body"]["string"] = '{"error": {"mess'
    _write(tmp_path / "openai", "cut.json", json.dumps(data))
    (case,) = replay_cases(["openai"], _Real, tmp_path)
    with pytest.raises(pytest.skip.Exception, match="not valid JSON"):
        replayable(case)


def test_expressible_turns_unknown_shapes_into_skips_but_keeps_failures() -> None:
    skip = pytest.raises(pytest.skip.Exception, match=r"c#0: cannot rebuild .*missing key 'x'")
    with skip, expressible("c#0"):
        _ = {}["x"]
    with pytest.raises(AssertionError), expressible("c#0"):
        raise AssertionError("a real mismatch")


def _json_answer(status: int, body: object) -> RecordedResponse:
    return RecordedResponse(status, {"content-type": ["application/json"]}, body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "bad model", "type": "x"}}, "bad model"),
        ({"message": "The security token is invalid"}, "The security token is invalid"),
        ({"Message": "Throttled"}, "Throttled"),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ([{"error": {"code": 400, "message": "API key not valid"}}], "API key not valid"),
        ({"detail": "nope"}, "nope"),
    ],
)
def test_the_providers_message_is_found_in_every_documented_shape(
    body: object, message: str
) -> None:
    assert provider_message(_json_answer(400, body)) == message


def test_a_recorded_error_is_checked_for_code_retry_and_message() -> None:
    answer = _json_answer(503, {"error": {"message": "overloaded now"}})
    good = BelugaError(
        "op", ErrorCode.PROVIDER_UNAVAILABLE, "x answered 503: overloaded now", retryable=True
    )
    assert_recorded_error(good, answer, {}, "c#0", ["sk-secret"])
    not_retryable = BelugaError(
        "op", ErrorCode.PROVIDER_UNAVAILABLE, "overloaded now", retryable=False
    )
    with pytest.raises(AssertionError, match="retryable"):
        assert_recorded_error(not_retryable, answer, {}, "c#0")
    no_text = BelugaError("op", ErrorCode.PROVIDER_UNAVAILABLE, "failed", retryable=True)
    with pytest.raises(AssertionError, match="overloaded now"):
        assert_recorded_error(no_text, answer, {}, "c#0")
    leaky = BelugaError(
        "op", ErrorCode.PROVIDER_UNAVAILABLE, "overloaded now sk-secret", retryable=True
    )
    with pytest.raises(AssertionError, match="secret"):
        assert_recorded_error(leaky, answer, {}, "c#0", ["sk-secret"])


def _foreign_folder(tmp_path: Path) -> Path:
    """Some shared recordings, plus the shapes a foreign set may hold."""
    shared = cassette_root()
    root = tmp_path / "cassettes"
    (root / "openai").mkdir(parents=True)
    for name in ("test_text_response.yaml", "test_multiple_agent_tool_calls.yaml"):
        shutil.copy(shared / "openai" / name, root / "openai" / name)
    (root / "anthropic").mkdir()
    shutil.copy(shared / "anthropic" / "test_anthropic_tool_output.yaml", root / "anthropic")
    base = next(
        i
        for c in cassettes("openai", shared)
        for i in c.interactions
        if i.request.path.endswith("/chat/completions")
        and i.response.is_json
        and i.response.status == 200
        and not i.request.body.get("stream")
        and not i.request.body.get("tools")
        and isinstance(i.request.body["messages"][-1]["content"], str)
    )
    body = json.loads(json.dumps(base.request.body))
    odd = dict(body, messages=[{"role": "user", "content": [{"type": "hologram", "x": 1}]}])
    nulls = dict(body, tools=None, stream_options=None, response_format=None)
    for name, request_body in (("unknown_part", odd), ("null_keys", nulls)):
        item = {
            "request": {"method": "POST", "uri": base.request.uri, "parsed_body": request_body},
            "response": {
                "status": {"code": 200},
                "headers": {"content-type": ["application/json"]},
                "parsed_body": base.response.parsed_body,
            },
        }
        _write(root / "openai", f"{name}.yaml", json.dumps({"interactions": [item]}))
    text = (shared / "openai" / "test_text_response.yaml").read_text(encoding="utf-8")
    _write(root / "openai", "truncated.yaml", text[: len(text) // 2] + "\n  - {request: [\n")
    return root  # no bedrock/, google/, groq/ ... folders at all


def test_a_foreign_folder_collects_replays_and_reports_skips(tmp_path: Path) -> None:
    if not (cassette_root() / "openai" / "test_text_response.yaml").is_file():
        pytest.skip(f"the shared recordings this test copies are not under {cassette_root()}")
    root = _foreign_folder(tmp_path)
    env = {**os.environ, "BELUGA_CASSETTES": str(root)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/llms/providers",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-k",
        "replay_cassette or accounted",
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    summary = out.strip().splitlines()[-1]
    assert "failed" not in summary and "error" not in summary, out[-2000:]
    assert re.search(r"\d+ passed", out), out[-2000:]
    assert "unknown content part 'hologram'" in out
    assert "truncated.yaml: unreadable" in out
    assert "no bedrock/ folder" in out and "no google/ folder" in out
    skipped = "\n".join(line for line in out.splitlines() if line.startswith("SKIPPED"))
    assert "null_keys" not in skipped  # null-valued keys are not features in use: it replays


def test_a_folder_with_nothing_to_replay_still_reports_a_skip(tmp_path: Path) -> None:
    env = {**os.environ, "BELUGA_CASSETTES": str(tmp_path / "none")}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/llms/providers/test_openai.py",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-k",
        "replay_cassette",
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" in done.stdout and "no openai/ folder" in done.stdout
