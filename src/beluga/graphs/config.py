"""The ``graphs:`` section of ``beluga.yaml``: the checkpoint store and graphs by name.

::

    graphs:
      checkpoints:                 # where runs are kept (default: SQLite)
        store: sqlite              # sqlite, postgres, redis, memory
        path: ~/.beluga/graphs.db  # sqlite (default $BELUGA_GRAPHS_DB or that file)
        # url: ${BELUGA_PG_DSN}    # postgres DSN or redis URL (a secret)
        # prefix: beluga_graph     # table prefix (sqlite, postgres) or key prefix (redis)
      durability: sync             # sync, async, exit (see docs/readme/graphs.md)
      step_limit: 25
      support:                     # a graph written in Python: a StateGraph, a compiled
        graph: myapp.flows:support #   graph, or a function returning one
      triage:                      # a graph declared here
        state: myapp.flows:Ticket  # TypedDict, dataclass or pydantic model
        nodes:
          classify: {fn: myapp.flows:classify, role: planner}
          answer: myapp.flows:answer
        edges: [[START, classify], [answer, END]]
        routes:                    # conditional edges: a function of the state
          classify: {fn: myapp.flows:route, targets: [answer, END]}

``checkpoints``, ``durability`` and ``step_limit`` are settings; every other key is a graph.
Nodes that name a role get their model from the ``llm:`` section's router. Import paths are
resolved by :func:`build_graph` (what ``beluga graph run`` and ``beluga config check`` call),
not when the file is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt, SecretStr, model_validator

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError
from beluga.graphs.checkpoints import Checkpointer, checkpointers
from beluga.graphs.engine import CompiledGraph
from beluga.graphs.graph import StateGraph
from beluga.graphs.types import END, START

__all__ = [
    "CheckpointsConfig",
    "GraphConfig",
    "GraphsConfig",
    "NodeConfig",
    "RouteConfig",
    "build_checkpointer",
    "build_graph",
    "validate_graphs",
]

_SETTINGS = ("checkpoints", "durability", "step_limit")


class CheckpointsConfig(ConfigModel):
    store: Literal["sqlite", "postgres", "redis", "memory"] = "sqlite"
    path: str | None = None
    url: SecretStr | None = None
    prefix: str | None = None

    @model_validator(mode="after")
    def _check(self) -> CheckpointsConfig:
        if self.store in ("postgres", "redis") and self.url is None:
            raise ValueError(f"the {self.store} checkpoint store needs url")
        if self.store not in ("postgres", "redis") and self.url is not None:
            raise ValueError(f"url is for the postgres and redis stores, not {self.store}")
        if self.store != "sqlite" and self.path is not None:
            raise ValueError(f"path is for the sqlite store, not {self.store}")
        return self


class NodeConfig(ConfigModel):
    fn: str
    role: str | None = None


class RouteConfig(ConfigModel):
    fn: str
    targets: list[str] | dict[str, str] | None = None


class GraphConfig(ConfigModel):
    """One graph: ``graph`` (import path) or ``state``/``nodes``/``edges``/``routes``."""

    graph: str | None = None
    state: str | None = None
    nodes: dict[str, str | NodeConfig] = Field(default_factory=dict)
    edges: list[tuple[str, str]] = Field(default_factory=list)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    step_limit: PositiveInt | None = None
    durability: Literal["sync", "async", "exit"] | None = None

    @model_validator(mode="after")
    def _check(self) -> GraphConfig:
        if self.graph is not None and (self.nodes or self.edges or self.routes or self.state):
            raise ValueError("give either graph: (an import path) or nodes/edges, not both")
        if self.graph is None and not self.nodes:
            raise ValueError("a graph needs graph: (an import path) or nodes:")
        return self


class GraphsConfig(Section):
    """Checkpoint store, durability, and graphs by name."""

    key: ClassVar[str] = "graphs"

    checkpoints: CheckpointsConfig = Field(default_factory=CheckpointsConfig)
    durability: Literal["sync", "async", "exit"] = "sync"
    step_limit: PositiveInt = 25
    graphs: dict[str, GraphConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, data: Any) -> Any:
        """Keys other than the settings name graphs (``graphs: {triage: {...}}``)."""
        if isinstance(data, Mapping) and "graphs" not in data:
            settings = {k: v for k, v in data.items() if k in _SETTINGS}
            settings["graphs"] = {k: v for k, v in data.items() if k not in _SETTINGS}
            return settings
        return data


def build_checkpointer(config: BelugaConfig) -> Checkpointer:
    """The checkpoint store of the ``graphs:`` section (SQLite by default)."""
    section = GraphsConfig.of(config).checkpoints
    factory: Any = checkpointers.get(section.store)
    options: dict[str, Any] = {}
    if section.prefix is not None:
        options["prefix"] = section.prefix
    if section.store == "sqlite":
        return factory(section.path, **options)  # type: ignore[no-any-return]
    if section.store == "memory":
        return factory()  # type: ignore[no-any-return]
    assert section.url is not None
    return factory(section.url.get_secret_value(), **options)  # type: ignore[no-any-return]


def build_graph(
    config: BelugaConfig,
    name: str,
    *,
    checkpointer: Checkpointer | None = None,
    router: Any = None,
) -> CompiledGraph[Any]:
    """Graph ``name`` of ``config``, compiled with the section's checkpoint store (or
    ``checkpointer``) and, when a node names a role, ``router`` (else one from ``llm:``)."""
    section = GraphsConfig.of(config)
    entry = section.graphs.get(name)
    if entry is None:
        known = ", ".join(sorted(section.graphs)) or "none are declared"
        raise ConfigError(config.source, "graphs", f"there is no graph {name!r}", f"use: {known}")
    key = f"graphs.{name}"
    graph = (
        _declared(config, name, entry) if entry.graph is None else _imported(config, name, entry)
    )
    if router is None and any(n.role for n in graph.nodes.values()):
        from beluga.llms.router import Router

        router = Router.from_config(config)
    try:
        return graph.compile(
            checkpointer=checkpointer or build_checkpointer(config),
            router=router,
            step_limit=entry.step_limit or section.step_limit,
            durability=entry.durability or section.durability,
        )
    except ConfigError:
        raise
    except BelugaError as exc:
        raise ConfigError(config.source, key, exc.message, "fix the graph's entry") from exc


def validate_graphs(config: BelugaConfig) -> list[str]:
    """Import and check every declared graph (nothing is connected or run)."""
    section = GraphsConfig.of(config)
    for name, entry in section.graphs.items():
        graph = (
            _declared(config, name, entry)
            if entry.graph is None
            else _imported(config, name, entry)
        )
        try:
            graph._check()
        except BelugaError as exc:
            raise ConfigError(
                config.source, f"graphs.{name}", exc.message, "fix the graph's nodes and edges"
            ) from exc
    return sorted(section.graphs)


def _graph_of(config: BelugaConfig, name: str, entry: GraphConfig) -> StateGraph[Any]:
    if entry.graph is None:
        return _declared(config, name, entry)
    return _imported(config, name, entry)


def _imported(config: BelugaConfig, name: str, entry: GraphConfig) -> StateGraph[Any]:
    assert entry.graph is not None
    key = f"graphs.{name}.graph"
    target = _import(config, entry.graph, key)
    if callable(target) and not isinstance(target, StateGraph | CompiledGraph):
        target = target()
    if isinstance(target, CompiledGraph):
        return _uncompiled(target)
    if not isinstance(target, StateGraph):
        raise ConfigError(
            config.source,
            key,
            f"{entry.graph} is a {type(target).__name__}",
            "point at a StateGraph, a compiled graph or a function returning one",
        )
    return target


def _uncompiled(graph: CompiledGraph[Any]) -> StateGraph[Any]:
    """A compiled graph's definition, to compile again with the section's settings."""
    out: StateGraph[Any] = StateGraph(None, name=graph.name)
    out.spec, out.nodes = graph.spec, dict(graph.nodes)
    out.edges = {k: list(v) for k, v in graph.edges.items()}
    out.branches = {k: list(v) for k, v in graph.branches.items()}
    out.joins = list(graph.joins)
    return out


def _declared(config: BelugaConfig, name: str, entry: GraphConfig) -> StateGraph[Any]:
    key = f"graphs.{name}"
    state = _import(config, entry.state, f"{key}.state") if entry.state else None
    try:
        graph: StateGraph[Any] = StateGraph(state, name=name)
        for node_name, node in entry.nodes.items():
            spec = node if isinstance(node, NodeConfig) else NodeConfig(fn=node)
            fn = _import(config, spec.fn, f"{key}.nodes.{node_name}")
            graph.add_node(node_name, fn, role=spec.role)
        for source, target in entry.edges:
            graph.add_edge(_special(source), _special(target))
        for source, route in entry.routes.items():
            fn = _import(config, route.fn, f"{key}.routes.{source}")
            targets = route.targets
            if isinstance(targets, list):
                targets = {t: _special(t) for t in targets}
            elif isinstance(targets, dict):
                targets = {k: _special(v) for k, v in targets.items()}
            graph.add_conditional_edges(_special(source), fn, targets)
    except ConfigError:
        raise
    except BelugaError as exc:
        raise ConfigError(config.source, key, exc.message, "fix the graph's entry") from exc
    return graph


def _special(name: str) -> str:
    return {"START": START, "END": END}.get(name, name)


def _import(config: BelugaConfig, path: str, key: str) -> Any:
    from beluga.core.registry import import_path

    if ":" not in path:
        raise ConfigError(config.source, key, f"{path!r} is not an import path", "give 'pkg:name'")
    try:
        return import_path(path)
    except BelugaError as exc:
        raise ConfigError(config.source, key, exc.message, "give 'package.module:name'") from exc
