from __future__ import annotations

import time
from importlib.metadata import EntryPoint

import pytest

from beluga.core import BelugaError, ErrorCode, Registry, compose, new_id
from beluga.core.registry import import_path, require


def make() -> Registry[object]:
    reg: Registry[object] = Registry("widget", "beluga.tests.widgets")
    reg.register("alpha", "json:dumps")
    reg.register("beta", len)
    return reg


def test_lazy_path_is_imported_on_first_get() -> None:
    import json

    reg = make()
    entry = next(e for e in reg.entries() if e.name == "alpha")
    assert not entry.loaded
    assert reg.get("alpha") is json.dumps
    assert entry.loaded


def test_unknown_name_lists_what_is_registered_and_how_to_get_more() -> None:
    reg = make()
    with pytest.raises(BelugaError) as info:
        reg.get("gamma")
    err = info.value
    assert err.code is ErrorCode.NOT_FOUND
    assert "alpha, beta" in err.message
    assert "beluga.tests.widgets" in err.message
    assert "pip install 'beluga-ai[gamma]'" in err.message


def test_duplicate_needs_replace() -> None:
    reg = make()
    with pytest.raises(BelugaError, match="already registered"):
        reg.register("beta", str)
    reg.register("beta", str, replace=True)
    assert reg.get("beta") is str


def test_invalid_name_is_rejected() -> None:
    with pytest.raises(BelugaError, match="invalid widget name"):
        make().register("has space", str)


def test_entry_points_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("plugged", "os.path:join", "beluga.tests.widgets")

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        return [ep] if group == "beluga.tests.widgets" else []

    monkeypatch.setattr("beluga.core.registry.entry_points", fake_entry_points)
    reg = make()
    import os.path

    assert "plugged" in reg.names()
    assert reg.get("plugged") is os.path.join


def test_missing_dependency_names_the_extra() -> None:
    with pytest.raises(BelugaError) as info:
        import_path("beluga_no_such_module:thing", extra="voice")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "pip install 'beluga-ai[voice]'" in info.value.message
    with pytest.raises(BelugaError, match=r"beluga-ai\[gpu\]"):
        require("beluga_no_such_module", extra="gpu")


def test_availability_is_checked_without_import() -> None:
    reg: Registry[object] = Registry("widget", "beluga.tests.widgets")
    reg.register("ok", "json:dumps", requires=("json",))
    reg.register("missing", "x:y", requires=("beluga_no_such_module",), extra="x")
    available = {e.name: e.available for e in reg.entries()}
    assert available == {"missing": False, "ok": True}


def test_compose_is_outside_in() -> None:
    calls: list[str] = []

    def tag(name: str):  # type: ignore[no-untyped-def]
        def mw(inner):  # type: ignore[no-untyped-def]
            def wrapped(x: str) -> str:
                calls.append(name)
                return inner(x) + name

            return wrapped

        return mw

    fn = compose(tag("a"), tag("b"))(lambda x: x)
    assert fn("") == "ba"
    assert calls == ["a", "b"]


def test_ids_are_unique_prefixed_and_time_ordered() -> None:
    ids = [new_id("call") for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert all(i.startswith("call_") and len(i) == 31 for i in ids)
    first = new_id()
    time.sleep(0.002)
    assert first[:10] < new_id()[:10]  # the first 10 chars are the millisecond clock


@pytest.mark.parametrize(
    ("typo", "meant"), [("alpah", "alpha"), ("ALPHA", "alpha"), ("bet", "beta")]
)
def test_a_mistyped_name_suggests_the_closest_one(typo: str, meant: str) -> None:
    reg = make()
    with pytest.raises(BelugaError) as info:
        reg.get(typo)
    assert f"Did you mean {meant!r}?" in info.value.message
    assert reg.suggest(typo) == meant


def test_nothing_close_suggests_nothing() -> None:
    reg = make()
    assert reg.suggest("zzzzzz") is None
    with pytest.raises(BelugaError) as info:
        reg.get("zzzzzz")
    assert "Did you mean" not in info.value.message


def test_a_mistyped_provider_suggests_the_real_one() -> None:
    from beluga.llms import create

    with pytest.raises(BelugaError, match="Did you mean 'openai'"):
        create("opnai")


def test_a_mistyped_provider_type_in_the_config_suggests_the_real_one() -> None:
    from beluga.config import parse_config
    from beluga.llms import from_config

    config = parse_config(
        {"llm": {"default": "main", "providers": {"main": {"type": "anthropc"}}}}, env={}
    )
    with pytest.raises(BelugaError, match="did you mean 'anthropic'"):
        from_config(config)
