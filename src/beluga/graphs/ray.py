"""Scale-out on Ray (``pip install 'beluga-ai[ray]'``): a graph's function nodes run as Ray tasks.

``graph.compile(executor=RayExecutor())`` keeps the engine where it is (the driver: steps,
edges, reducers, checkpoints, interrupts and resume are unchanged and stored as usual) and
sends each call of a plain function node to the Ray cluster ``ray.init`` connected to, so the
branches of a parallel step run on as many workers as the cluster has. What travels is JSON:
the node's input in the checkpoint form of :mod:`beluga.graphs._state` and its update back; the
node function and the state type go the way Ray sends any task's code (by reference for an
importable function, cloudpickled otherwise) — never the state's data.

Nodes that need the driver run there: agents and sub-graphs (they hold models and
connections), and nodes that name a role (their model is the driver's router). ``interrupt()``
works inside a Ray task: the question comes back to the driver, and the resumed task gets the
answer. ``options`` are passed to ``.options()`` of every task (``num_cpus``, ``resources``,
``max_retries``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from beluga.core.registry import require
from beluga.graphs._state import StateSpec, decode_value, encode_value
from beluga.graphs.context import GraphInterrupt, NodeContext, reset_context, set_context
from beluga.graphs.types import Interrupt

if TYPE_CHECKING:
    from beluga.graphs.graph import NodeSpec

__all__ = ["RayExecutor"]


class RayExecutor:
    """Runs function nodes as Ray tasks on the cluster ``ray.init`` connected to."""

    def __init__(self, *, options: Mapping[str, Any] | None = None) -> None:
        self._ray: Any = require("ray", extra="ray")
        self.options = dict(options or {})
        self._remote: Any = None
        self.tasks = 0

    async def call(self, spec: NodeSpec, arg: Any, ctx: NodeContext) -> Any:
        if spec.kind != "function" or spec.role is not None:
            out = spec.fn(arg, ctx) if spec.takes_ctx else spec.fn(arg)
            return await out if hasattr(out, "__await__") else out
        if not self._ray.is_initialized():
            from beluga.core.errors import BelugaError, ErrorCode

            raise BelugaError(
                "graphs.ray",
                ErrorCode.INVALID_CONFIG,
                "RayExecutor needs a Ray cluster: call ray.init() (a local one, or "
                "ray.init(address='ray://head:10001')) before running the graph",
            )
        if self._remote is None:
            self._remote = self._ray.remote(_run_task)
        remote = self._remote.options(**self.options) if self.options else self._remote
        schema = _schema_of(arg)
        data = encode_value(_as_values(arg), f"input of node {spec.name!r}")
        context = {
            "run_id": ctx.run_id,
            "node": ctx.node,
            "task_id": ctx.task_id,
            "step": ctx.step,
            "answers": {
                k: v for k, v in ctx.answers.items() if k.startswith(ctx.interrupt_id(0)[:-1])
            },
        }
        self.tasks += 1
        reply = await remote.remote(spec.fn, spec.takes_ctx, schema, data, context)
        if "interrupt" in reply:
            raise GraphInterrupt(tuple(Interrupt(**i) for i in reply["interrupt"]))
        return decode_value(reply["update"])


def _schema_of(arg: Any) -> type[Any] | None:
    """The state type to rebuild ``arg`` as in the worker (None: send it as it is)."""
    kind = type(arg)
    if hasattr(kind, "model_fields") or hasattr(kind, "__dataclass_fields__"):
        return kind
    return None


def _as_values(arg: Any) -> Any:
    if hasattr(type(arg), "model_fields"):
        return {k: getattr(arg, k) for k in type(arg).model_fields}
    if hasattr(type(arg), "__dataclass_fields__"):
        return {k: getattr(arg, k) for k in type(arg).__dataclass_fields__}
    return arg


def _run_task(
    fn: Any, takes_ctx: bool, schema: Any, data: Any, context: dict[str, Any]
) -> dict[str, Any]:
    """In the Ray worker: rebuild the input, run the node, send back its update as JSON."""
    import asyncio
    import inspect

    if schema is not None:
        spec = StateSpec(schema)
        arg = spec.view(spec.decode(data))
    else:
        arg = decode_value(data)
    ctx = NodeContext(
        context["run_id"],
        context["node"],
        context["task_id"],
        context["step"],
        answers=context["answers"],
    )
    token = set_context(ctx)
    try:
        out = fn(arg, ctx) if takes_ctx else fn(arg)
        if inspect.isawaitable(out):
            out = asyncio.run(_awaited(out))
    except GraphInterrupt as exc:
        return {
            "interrupt": [
                {"id": i.id, "node": i.node, "value": i.value, "run_id": i.run_id}
                for i in exc.interrupts
            ]
        }
    finally:
        reset_context(token)
    if out is not None and hasattr(type(out), "model_fields"):
        out = {k: getattr(out, k) for k in type(out).model_fields}
    return {"update": encode_value(out, f"update of node {context['node']!r}")}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
