"""The ``beluga`` command (exit codes: see ``beluga.cli._errors``)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga import __version__
from beluga.cli._errors import EXIT_FAILED, err, friendly
from beluga.cli.bench import bench_app
from beluga.cli.graph import graph_app
from beluga.cli.mcp import mcp_app
from beluga.cli.memory import memory_app
from beluga.cli.metrics import metrics_app
from beluga.cli.prompts import prompts_app
from beluga.cli.run import run_command
from beluga.cli.vectorstores import vectorstores_app
from beluga.cli.voice import voice_command

if TYPE_CHECKING:
    from beluga.config import BelugaConfig
    from beluga.llms import ModelSettings
    from beluga.schema import Message

# Commands import the framework inside their bodies: `beluga --help` stays fast.

__all__ = ["app", "load_cli_config", "main"]

app = typer.Typer(
    name="beluga",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Beluga AI: build, serve and operate production AI agents, text and voice.",
)
_providers_app = typer.Typer(no_args_is_help=True, help="Model providers.")
_config_app = typer.Typer(no_args_is_help=True, help="Configuration files.")
app.add_typer(_providers_app, name="providers")
app.add_typer(_config_app, name="config")
app.add_typer(metrics_app, name="metrics")
app.add_typer(mcp_app, name="mcp")
app.command("run")(run_command)
app.command("voice")(voice_command)
app.add_typer(prompts_app, name="prompts")
app.add_typer(memory_app, name="memory")
app.add_typer(vectorstores_app, name="vectorstores")
app.add_typer(bench_app, name="bench")
app.add_typer(graph_app, name="graph")


_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml to use (default: $BELUGA_CONFIG or ./beluga.yaml).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"beluga {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Beluga AI command line."""


def load_cli_config(path: Path | None) -> BelugaConfig:
    """The configuration a command uses, with logging set up as it says."""
    from beluga.config import ObservabilityConfig, load_config
    from beluga.observability import configure_logging

    config = load_config(path)
    obs = ObservabilityConfig.of(config)
    configure_logging(obs.log_level, json_format=obs.log_format == "json")
    return config


@app.command("chat")
@friendly
def _chat(
    question: Annotated[str, typer.Argument(help="What to ask.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "A provider entry or role of the config, or an id such as 'local' or "
                "'openai:gpt-4o-mini' (default: llm.default)."
            ),
        ),
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            "-r",
            help="A role of llm.roles: its chain answers, with fallback (not with --model).",
        ),
    ] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="A system prompt.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens to generate.")] = None,
    config: _ConfigOption = None,
) -> None:
    """Stream the configured model's answer to QUESTION."""
    from beluga.llms import ModelSettings
    from beluga.schema import Message

    if role is not None and model is not None:
        raise typer.BadParameter("give --model or --role, not both", param_hint="--role")
    settings = _options(ModelSettings, temperature=temperature, max_tokens=max_tokens)
    cfg = load_cli_config(config)
    if role is not None:
        _check_role(cfg, role)
    messages = ([Message.system(system)] if system else []) + [Message.user(question)]
    asyncio.run(_stream_answer(cfg, role or model, messages, settings))


def _options(settings: type[ModelSettings], **values: Any) -> ModelSettings:
    """The settings the options ask for; a bad value is bad input (exit 3, one line), not a
    failed call."""
    from beluga.core.errors import BelugaError, ErrorCode

    try:
        return settings(**values)
    except BelugaError as exc:
        given = ", ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in values.items() if v is not None
        )
        raise BelugaError("cli.chat", ErrorCode.INVALID_CONFIG, f"{given}: {exc.message}") from None


def _check_role(cfg: BelugaConfig, role: str) -> None:
    from beluga.config import ConfigError
    from beluga.llms.config import LLMConfig

    roles = LLMConfig.of(cfg).roles
    if role not in roles:
        raise ConfigError(
            cfg.source,
            "llm.roles",
            f"there is no role {role!r}",
            f"use one of {', '.join(sorted(roles))}"
            if roles
            else "define it under llm.roles, or use --model",
        )


async def _stream_answer(
    cfg: BelugaConfig, name: str | None, messages: list[Message], settings: ModelSettings
) -> None:
    from beluga.llms import from_config
    from beluga.llms.metered import metered, prices_from, recorder_from
    from beluga.llms.router import RoleModel
    from beluga.schema import FinishEvent, TextDelta

    out = sys.stdout
    model = from_config(cfg, name)
    # A role answers through a router, which records its own metrics (with the role).
    recorder = None if isinstance(model, RoleModel) else recorder_from(cfg)
    if recorder is not None:
        model = metered(recorder, prices=prices_from(cfg))(model)
    try:
        async for event in model.stream(messages, settings=settings):
            if type(event) is TextDelta:
                out.write(event.text)
                out.flush()
            elif isinstance(event, FinishEvent) and event.reason == "length":
                err.print("\n[yellow](answer cut at the token limit)[/]")
        out.write("\n")
    finally:
        await model.aclose()
        if recorder is not None:
            await recorder.aclose()


@_providers_app.command("list")
@friendly
def _providers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the chat-model providers that are registered, and whether each is installed."""
    from beluga.llms import registry

    rows = [
        {"name": e.name, "installed": e.available, "extra": e.extra, "source": e.source}
        for e in registry.entries()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("provider", "installed", "install with", "source", title="LLM providers")
    for entry in registry.entries():
        hint = escape(f"pip install 'beluga-ai[{entry.extra}]'") if entry.extra else "-"
        table.add_row(entry.name, "yes" if entry.available else "[red]no[/]", hint, entry.source)
    Console().print(table)


@_providers_app.command("check")
@friendly
def _providers_check(
    config: _ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Prove every configured provider's credentials, in parallel, each within
    llm.routing.check_timeout. Exits 1 if any provider fails."""
    from beluga.core.errors import BelugaError as _Error
    from beluga.llms import from_config
    from beluga.llms.config import LLMConfig
    from beluga.llms.router import ProviderCheck, check_providers

    cfg = load_cli_config(config)
    llm = LLMConfig.of(cfg)
    names = sorted(llm.providers) or [llm.default]
    models, report = {}, []
    for name in names:
        try:
            models[name] = from_config(cfg, name)
        except _Error as exc:  # a provider that cannot even be created is a failed check
            report.append(ProviderCheck(name, False, 0.0, f"[{exc.code.value}] {exc.message}"))

    async def run() -> list[ProviderCheck]:
        try:
            return await check_providers(models, timeout=llm.routing.check_timeout)
        finally:
            for model in models.values():
                await model.aclose()

    report = sorted(report + asyncio.run(run()), key=lambda c: c.name)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(c) for c in report], indent=2))
    else:
        table = Table("provider", "ok", "seconds", "error", title="Provider check")
        for c in report:
            table.add_row(
                c.name, "yes" if c.ok else "[red]no[/]", f"{c.seconds:.2f}", escape(c.error or "")
            )
        Console().print(table)
    if not all(c.ok for c in report):
        raise typer.Exit(EXIT_FAILED)


@_config_app.command("check")
@friendly
def _config_check(
    file: Annotated[
        Path | None,
        typer.Argument(help="The file to check (default: $BELUGA_CONFIG or ./beluga.yaml)."),
    ] = None,
) -> None:
    """Validate a beluga.yaml: syntax, keys, environment variables and provider options."""
    from beluga.agents.config import validate_agents
    from beluga.config import load_config
    from beluga.embeddings import EmbeddingsConfig, validate_embeddings
    from beluga.graphs.config import validate_graphs
    from beluga.llms import validate_config
    from beluga.llms.config import LLMConfig
    from beluga.llms.router import check_roles
    from beluga.memory import validate_memory
    from beluga.vectorstores.config import VectorStoresConfig, validate_vectorstores
    from beluga.voice.config import validate_voice

    cfg = load_config(file)
    names = validate_config(cfg)
    chains = check_roles(cfg)
    agents = validate_agents(cfg)
    memory = validate_memory(cfg)
    embedders = validate_embeddings(cfg)
    vector_stores = validate_vectorstores(cfg)
    voice = validate_voice(cfg)
    graphs = validate_graphs(cfg)
    listed = ", ".join(names) or "none (offline defaults)"
    typer.echo(
        f"{cfg.source}: OK — default model {LLMConfig.of(cfg).default!r}; providers: {listed}"
    )
    for role, chain in chains.items():
        if role != "(default)":
            typer.echo(f"  role {role}: {' -> '.join(chain)}")
    if agents:
        typer.echo(f"  agents: {', '.join(agents)}")
    if graphs:
        typer.echo(f"  graphs: {', '.join(graphs)}")
    typer.echo(f"  memory: {memory}")
    named = f"; embedders: {', '.join(embedders)}" if embedders else ""
    typer.echo(f"  embeddings: default {EmbeddingsConfig.of(cfg).default!r}{named}")
    stores = f"; stores: {', '.join(vector_stores)}" if vector_stores else ""
    typer.echo(f"  vectorstores: default {VectorStoresConfig.of(cfg).default!r}{stores}")
    typer.echo(f"  voice: {voice}")
    typer.echo(f"  metrics: {_metrics_store(cfg)}")


def _metrics_store(cfg: BelugaConfig) -> str:
    """Where ``llm.metrics`` records, safe to print (no password, no query)."""
    from urllib.parse import urlsplit

    from beluga.core.redaction import display_url
    from beluga.llms.config import LLMConfig
    from beluga.llms.metrics import default_store_url

    metrics = LLMConfig.of(cfg).metrics
    if not metrics.enabled:
        return "off"
    store = metrics.store or default_store_url()
    try:
        remote = bool(urlsplit(store).netloc)
    except ValueError:
        remote = True
    return display_url(store) if remote else store  # a local path holds no credential


def main() -> None:
    """Entry point of the ``beluga`` script."""
    app()
