"""``beluga graph``: list, draw, run and resume the graphs of ``beluga.yaml``'s ``graphs:``.

``list`` names the declared graphs; ``draw NAME`` prints a Mermaid flowchart; ``run NAME
--input '{...}'`` runs one (``--stream`` prints each node as it finishes) and prints the final
state as JSON, or the questions it waits on; ``resume ID --answer '...'`` answers them (the run's
graph is read from its checkpoint); ``runs`` and ``history ID`` list what the checkpoint store
holds. Exit codes are those of ``beluga`` (0 ok, 1 failed, 3 configuration); a run that stops
at an interrupt succeeded and exits 0. The framework is imported inside the commands.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import EXIT_FAILED, err, friendly

if TYPE_CHECKING:
    from beluga.config import BelugaConfig
    from beluga.graphs import GraphResult

__all__ = ["graph_app"]

graph_app = typer.Typer(no_args_is_help=True, help="Graphs: list, draw, run and resume.")

_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml with the graphs: section (default: $BELUGA_CONFIG or ./beluga.yaml).",
        show_default=False,
    ),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_NameArgument = Annotated[str, typer.Argument(help="The graph's name in graphs:.")]


def _config(path: Path | None) -> BelugaConfig:
    from beluga.cli.main import load_cli_config

    return load_cli_config(path)


def _json_arg(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        err.print(
            f"[bold red]error:[/] {option} is not JSON ({escape(exc.msg)}): quote it, "
            "e.g. '{\"x\": 1}'"
        )
        raise typer.Exit(2) from None


@graph_app.command("list")
@friendly
def _list(as_json: _JsonOption = False, config: _ConfigOption = None) -> None:
    """The graphs declared in beluga.yaml, with their nodes."""
    from beluga.graphs.config import GraphsConfig, build_graph

    cfg = _config(config)
    names = sorted(GraphsConfig.of(cfg).graphs)
    rows: list[dict[str, Any]] = []
    for name in names:
        graph = build_graph(cfg, name)
        rows.append({"name": name, "nodes": list(graph.nodes)})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        err.print("no graphs declared: add a graphs: section to beluga.yaml")
        return
    table = Table("graph", "nodes", title="Graphs")
    for row in rows:
        table.add_row(escape(row["name"]), escape(", ".join(row["nodes"])))
    Console(highlight=False).print(table)


@graph_app.command("draw")
@friendly
def _draw(name: _NameArgument, config: _ConfigOption = None) -> None:
    """Print the graph as a Mermaid flowchart."""
    from beluga.graphs.config import build_graph

    typer.echo(build_graph(_config(config), name).draw_mermaid(), nl=False)


@graph_app.command("run")
@friendly
def _run(
    name: _NameArgument,
    input: Annotated[
        str | None, typer.Option("--input", "-i", help="The first state, as JSON.")
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="An id for the run.")] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print nodes as they finish.")] = False,
    config: _ConfigOption = None,
) -> None:
    """Run a graph to its end, or to the first question for a human."""
    from beluga.graphs.config import build_graph

    cfg = _config(config)
    first = _json_arg(input, "--input") or {}
    graph = build_graph(cfg, name)
    if stream:
        result = asyncio.run(_streamed(graph.stream(first, run_id=run_id)))
    else:
        result = asyncio.run(_closing(graph, graph.run(first, run_id=run_id)))
    _print_result(result)


@graph_app.command("resume")
@friendly
def _resume(
    run_id: Annotated[str, typer.Argument(help="The run's id (from `beluga graph run`).")],
    answer: Annotated[
        str | None, typer.Option("--answer", "-a", help="The answer, as JSON.")
    ] = None,
    answers: Annotated[
        str | None, typer.Option("--answers", help="Answers by interrupt id, as a JSON object.")
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print nodes as they finish.")] = False,
    config: _ConfigOption = None,
) -> None:
    """Go on with a run: answer its questions, or resume it after a crash."""
    from beluga.graphs.config import build_checkpointer, build_graph

    cfg = _config(config)
    store = build_checkpointer(cfg)
    found = asyncio.run(_using(store, store.get(run_id)))
    if found is None:
        err.print(f"[bold red]error:[/] run {escape(run_id)!r} is not in the checkpoint store")
        raise typer.Exit(EXIT_FAILED)
    graph = build_graph(cfg, found.graph, checkpointer=store)
    options: dict[str, Any] = {}
    if answer is not None:
        options["answer"] = _json_arg(answer, "--answer")
    if answers is not None:
        options["answers"] = _json_arg(answers, "--answers")
    if stream:
        result = asyncio.run(_streamed(graph.resume_stream(run_id, **options)))
    else:
        result = asyncio.run(_closing(graph, graph.resume(run_id, **options)))
    _print_result(result)


@graph_app.command("runs")
@friendly
def _runs(as_json: _JsonOption = False, config: _ConfigOption = None) -> None:
    """The runs in the checkpoint store, with their last step and status."""
    from beluga.graphs.config import build_checkpointer

    store: Any = build_checkpointer(_config(config))
    metas = asyncio.run(_using(store, store.runs()))
    _print_metas(metas, as_json, "Runs")


@graph_app.command("history")
@friendly
def _history(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    as_json: _JsonOption = False,
    config: _ConfigOption = None,
) -> None:
    """A run's checkpoints, oldest first (fork any of them from Python)."""
    from beluga.graphs.config import build_checkpointer

    store = build_checkpointer(_config(config))
    metas = asyncio.run(_using(store, store.history(run_id)))
    if not metas:
        err.print(f"[bold red]error:[/] run {escape(run_id)!r} has no checkpoints")
        raise typer.Exit(EXIT_FAILED)
    _print_metas(list(metas), as_json, f"Run {run_id}")


async def _closing(graph: Any, call: Any) -> Any:
    return await _using(graph.checkpointer, call)


async def _using(store: Any, call: Any) -> Any:
    """Await ``call``; then close ``store`` (its threads and connections belong to this loop)."""
    try:
        return await call
    finally:
        if store is not None and hasattr(store, "aclose"):
            await store.aclose()


async def _streamed(events: Any) -> Any:
    from beluga.graphs import GraphFinished, GraphInterrupted, NodeFinished

    result = None
    async for event in events:
        if isinstance(event, NodeFinished):
            shown = ", ".join(sorted(event.update or {})) or "no change"
            via = f" via {event.providers[-1]}" if event.providers else ""
            err.print(f"[dim]step {event.step}[/] {escape(event.node)}: {escape(shown)}{via}")
        elif isinstance(event, GraphFinished | GraphInterrupted):
            result = event.result
    return result


def _print_result(result: GraphResult[Any]) -> None:
    from beluga.graphs._state import encode_value

    body: dict[str, Any] = {
        "run_id": result.run_id,
        "status": result.status,
        "steps": result.steps,
        "state": encode_value(result.values, "state"),
    }
    if result.interrupts:
        body["interrupts"] = [
            {"id": i.id, "node": i.node, "value": i.value} for i in result.interrupts
        ]
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    if result.interrupted:
        err.print(
            f"waiting for an answer: beluga graph resume {escape(result.run_id)} --answer '...'"
        )


def _print_metas(metas: list[Any], as_json: bool, title: str) -> None:
    if as_json:
        rows = [
            {
                "run_id": m.run_id,
                "checkpoint_id": m.checkpoint_id,
                "step": m.step,
                "status": m.status,
                "graph": m.graph,
                "next": list(m.next),
            }
            for m in metas
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("run", "checkpoint", "step", "status", "graph", "next", title=escape(title))
    for m in metas:
        table.add_row(
            escape(m.run_id),
            m.checkpoint_id,
            str(m.step),
            m.status,
            escape(m.graph),
            escape(", ".join(m.next)),
        )
    Console(highlight=False).print(table)
