"""One planted-secret test across every surface a user or an operator sees (issue 7, §2).

Distinct secrets are planted in configurations: a password in the base URL of every HTTP adapter
(OpenAI, Responses, an OpenAI-compatible server, Anthropic, Gemini, Ollama), custom auth header
values (``X-Custom-Auth``), API keys, the metrics PostgreSQL DSN's password, a key on a YAML line
with a syntax error and a header value in an environment override that is not valid YAML. Then:

- the CLI, as subprocesses: ``beluga chat`` (a role with fallback, a single provider, a store that
  is down, a broken file under ``BELUGA_DEBUG=1``), ``providers check`` as a table and as JSON,
  ``config check``, ``metrics summary`` and ``metrics export`` with ``-c``;
- an app, as a subprocess, with ``logging.basicConfig(level=DEBUG)`` (every dependency's log) and
  an OpenTelemetry SDK ``ConsoleSpanExporter``, that prints ``repr``/``str``/``model_dump``/
  ``model_dump_json`` of the configuration objects, the router and its models, calls through the
  router with fallback (a server answering 500, then a port that refuses connections), each
  adapter directly, and prints every exception with its traceback;
- every file they leave behind: the SQLite metrics store (its ``error`` column too), anything in
  ``$HOME``.

Nothing may show a secret, nor any 6-character piece of one (a truncated key is still a leak).
The secrets are random mixed-case letters and digits, so a piece cannot match ordinary text.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import random
import socket
import sqlite3
import string
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import beluga

pytest.importorskip("opentelemetry.sdk.trace", reason="the app prints spans with the SDK")
pytest.importorskip("openai", reason="the openai extra drives the OpenAI adapters")
pytest.importorskip("anthropic", reason="the anthropic extra drives the Anthropic adapter")

PIECE = 6
_ALPHABET = string.ascii_letters + string.digits


def _secret(name: str) -> str:
    """A fixed random-looking value per name in which every 6-character piece mixes upper
    case, lower case and digits: no word, number or hex id of normal output can match it."""
    rng = random.Random(f"beluga-planted-{name}")
    while True:
        value = "".join(rng.choice(_ALPHABET) for _ in range(18))
        windows = [value[i : i + PIECE] for i in range(len(value) - PIECE + 1)]
        kinds = (str.isupper, str.islower, str.isdigit)
        if all(any(kind(c) for c in w) for w in windows for kind in kinds):
            return value


URL_ADAPTERS = (
    "anthropic",
    "openai",
    "openai_responses",
    "vllm",
    "mistral",
    "gemini",
    "ollama",
    "azure",
    "bedrock",
    "xai",
)
KEYED = ("anthropic", "openai", "mistral", "gemini", "ollama", "azure", "bedrock", "xai")
SECRETS: dict[str, str] = {
    **{f"{kind} base_url password": _secret(f"url-{kind}") for kind in URL_ADAPTERS},
    **{f"{kind} api key": _secret(f"key-{kind}") for kind in KEYED},
    "anthropic X-Custom-Auth": _secret("header-anthropic"),
    "openai X-Custom-Auth": _secret("header-openai"),
    "azure X-Custom-Auth": _secret("header-azure"),
    "metrics DSN password": _secret("dsn"),
    "metrics DSN password in the query": _secret("dsn-query"),
    "metrics DSN password on the command line": _secret("dsn-cli"),
    "key on a broken YAML line": _secret("yaml"),
    "header in a broken environment override": _secret("env"),
    "header given as a string": _secret("header-string"),
    "base_url from ${VAR}": _secret("url-env"),
    "embedder base_url password": _secret("url-embedder"),
    "embedder api key": _secret("key-embedder"),
    "memory DSN password": _secret("dsn-memory"),
    "redis memory URL password": _secret("url-redis-memory"),
    "pgvector DSN password": _secret("dsn-pgvector"),
    "pinecone api key": _secret("key-pinecone"),
    "qdrant api key": _secret("key-qdrant"),
    "qdrant URL password": _secret("url-qdrant"),
    "deepgram api key": _secret("key-deepgram"),
    "azure speech key": _secret("key-azure-speech"),
    "graph checkpoints DSN password": _secret("dsn-graphs"),
    "graph checkpoints Redis password": _secret("url-redis-graphs"),
}
S = SECRETS
USER = "beluga"


def _basic(kind: str) -> str:
    """The ``Authorization: Basic`` token the user info of ``kind``'s base URL stands for."""
    return base64.b64encode(f"{USER}:{S[f'{kind} base_url password']}".encode()).decode()


# The Basic tokens are the passwords in another form: they must not show either.
SECRETS.update({f"{kind} Basic token": _basic(kind) for kind in URL_ADAPTERS})


def pieces(secret: str) -> set[str]:
    return {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}


class _Failing(http.server.BaseHTTPRequestHandler):
    """Every request gets a 500 with an error body every provider's SDK can read."""

    def _fail(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(
            {
                "error": {
                    "message": "internal error",
                    "type": "api_error",
                    "code": 500,
                    "status": "INTERNAL",
                }
            }
        ).encode()
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET = _fail

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def failing_host() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def refusing_host() -> str:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def _url(kind: str, host: str, path: str = "") -> str:
    return f"http://{USER}:{S[f'{kind} base_url password']}@{host}{path}"


def _providers(host: str, suffix: str) -> str:
    """Entries of every HTTP adapter at ``host``, each with its own planted secrets."""
    entries = f"""\
        claude{suffix}:
          type: anthropic
          model: claude-sonnet-4-5
          api_key: sk-ant-api03-{S["anthropic api key"]}
          base_url: {_url("anthropic", host)}
          default_headers: {{X-Custom-Auth: {S["anthropic X-Custom-Auth"]}}}
          timeout: 5
        gpt{suffix}:
          type: openai
          model: gpt-4o-mini
          api_key: sk-proj-{S["openai api key"]}
          base_url: {_url("openai", host, "/v1")}
          default_headers: {{X-Custom-Auth: {S["openai X-Custom-Auth"]}}}
          timeout: 5
        responses{suffix}:
          type: openai_responses
          model: gpt-4o-mini
          api_key: sk-proj-{S["openai api key"]}
          base_url: {_url("openai_responses", host, "/v1")}
          timeout: 5
        vllm{suffix}:
          type: vllm
          model: served
          base_url: {_url("vllm", host, "/v1")}
          timeout: 5
        mistral{suffix}:
          type: mistral
          model: mistral-small-latest
          api_key: {S["mistral api key"]}
          base_url: {_url("mistral", host, "/v1")}
          timeout: 5
        gemini{suffix}:
          type: gemini
          model: gemini-2.5-flash
          api_key: AIza{S["gemini api key"]}
          base_url: {_url("gemini", host)}
          timeout: 5
        ollama{suffix}:
          type: ollama
          model: llama3.2
          api_key: {S["ollama api key"]}
          base_url: {_url("ollama", host)}
          timeout: 5
        azure{suffix}:
          type: azure
          model: gpt-4o-mini
          api_key: {S["azure api key"]}
          endpoint: {_url("azure", host)}
          api_version: '2024-10-21'
          default_headers: {{X-Custom-Auth: {S["azure X-Custom-Auth"]}}}
          timeout: 5
        bedrock{suffix}:
          type: bedrock
          region: us-east-1
          api_key: {S["bedrock api key"]}
          base_url: http://{host}
          timeout: 5
        """
    return textwrap.indent(textwrap.dedent(entries), "    ")


ADAPTERS = ("claude", "gpt", "responses", "vllm", "mistral", "gemini", "ollama", "azure", "bedrock")


def _rejected(host: str) -> str:
    """Entries refused at creation (user info where it cannot be sent), and one whose base URL
    comes from ``$PLANTED_BASE_URL``."""
    entries = f"""\
        bedrock_userinfo:
          type: bedrock
          region: us-east-1
          base_url: {_url("bedrock", host)}
        xai_userinfo:
          type: xai
          api_key: xai-{S["xai api key"]}
          base_url: {_url("xai", host.replace("127.0.0.1", "localhost"))}
        from_env:
          type: openai
          api_key: sk-proj-{S["openai api key"]}
          base_url: ${{PLANTED_BASE_URL}}
        """
    return textwrap.indent(textwrap.dedent(entries), "    ")


def write_configs(tmp_path: Path, failing: str, refusing: str) -> dict[str, Path]:
    """The files the commands read (see each one's comment)."""
    names = ("main", "pg", "pg_query", "broken", "typo", "areas", "redis", "later", "later_redis")
    files = {name: tmp_path / f"{name}.yaml" for name in names}
    # Every adapter at the failing server and at the refused port, one role through all of them;
    # entries that are refused at creation, and a base URL from the environment, outside it.
    chain = [f"{name}{suffix}" for suffix in ("", "_down") for name in ADAPTERS]
    files["main"].write_text(
        "llm:\n"
        "  default: claude\n"
        "  routing: {cooldown: 1, check_timeout: 5}\n"
        "  providers:\n"
        f"{_providers(failing, '')}{_providers(refusing, '_down')}{_rejected(failing)}"
        "  roles:\n"
        f"    main: {{provider: {chain[0]}, fallbacks: [{', '.join(chain[1:])}]}}\n"
        f"  metrics: {{store: 'sqlite:///{tmp_path / 'metrics.db'}'}}\n"
        "observability: {log_level: DEBUG}\n"
    )
    # Metrics stores on a PostgreSQL that is down: the password in the user info, in the query.
    dsn = f"postgresql://{USER}:{S['metrics DSN password']}@{refusing}/db"
    query = S["metrics DSN password in the query"]
    query_dsn = f"postgresql://{USER}@{refusing}/db?password={query}"
    for name, store in (("pg", dsn), ("pg_query", query_dsn)):
        files[name].write_text(
            f"llm:\n  default: test\n  metrics: {{store: '{store}'}}\n"
            "observability: {log_level: DEBUG}\n"
        )
    # A syntax error on the line that holds a key.
    files["broken"].write_text(
        "llm:\n  providers:\n"
        f"    p: {{type: openai, api_key: sk-{S['key on a broken YAML line']}: [}}\n"
    )
    # Headers given as a string instead of a mapping: the value is refused, never quoted.
    files["typo"].write_text(
        "llm:\n  default: gpt\n  providers:\n"
        f"    gpt: {{type: openai, api_key: sk-proj-{S['openai api key']}, base_url: http://{failing},"
        f" default_headers: 'X-Custom-Auth: {S['header given as a string']}'}}\n"
    )
    # The areas above the LLM layer: an embedder at the failing server, memory on a PostgreSQL
    # (and a Redis) that is down.
    files["areas"].write_text(
        "llm: {default: test}\n"
        "embeddings:\n  default: docs\n  embedders:\n"
        "    docs: {provider: openai, model: text-embedding-3-small, retries: 1,"
        f" api_key: sk-proj-{S['embedder api key']},"
        f" base_url: 'http://{USER}:{S['embedder base_url password']}@{failing}/v1'}}\n"
        f"memory: {{store: postgres, url: 'postgresql://{USER}:{S['memory DSN password']}"
        f"@{refusing}/db'}}\n"
    )
    files["redis"].write_text(
        "llm: {default: test}\n"
        f"memory: {{store: redis, url: 'redis://:{S['redis memory URL password']}@{refusing}/0'}}\n"
    )
    # Vector stores, voice engines and graph checkpoints: every credential they take.
    files["later"].write_text(
        "llm: {default: test}\n"
        "vectorstores:\n  default: pg\n  stores:\n"
        f"    pg: {{provider: pgvector, dimensions: 8,"
        f" dsn: 'postgresql://{USER}:{S['pgvector DSN password']}@{refusing}/db'}}\n"
        f"    pine: {{provider: pinecone, index: docs, dimensions: 8, retries: 1,"
        f" host: 'http://{failing}', api_key: '{S['pinecone api key']}'}}\n"
        f"    qd: {{provider: qdrant, dimensions: 8, retries: 1, api_key: '{S['qdrant api key']}',"
        f" url: 'http://{USER}:{S['qdrant URL password']}@{failing}'}}\n"
        "voice:\n"
        f"  stt: {{provider: deepgram, api_key: '{S['deepgram api key']}'}}\n"
        f"  tts: {{provider: azure, region: westeurope, api_key: '{S['azure speech key']}'}}\n"
        "graphs:\n  checkpoints: {store: postgres,"
        f" url: 'postgresql://{USER}:{S['graph checkpoints DSN password']}@{refusing}/db'}}\n"
    )
    files["later_redis"].write_text(
        "llm: {default: test}\n"
        "graphs:\n  checkpoints: {store: redis,"
        f" url: 'redis://:{S['graph checkpoints Redis password']}@{refusing}/0'}}\n"
    )
    return files


LATER_APP = """
import asyncio, logging, sys, traceback
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

from beluga.config import load_config
from beluga.graphs.config import build_checkpointer
from beluga.vectorstores.config import VectorStoresConfig, build_vector_store
from beluga.voice.config import VoiceConfig, build_session


def failed(exc):
    print(repr(exc), str(exc), sep="\\n")
    traceback.print_exception(exc, file=sys.stdout)


async def main(path):
    config = load_config(path)
    print(repr(config), config.model_dump(), config.model_dump_json(), sep="\\n")
    for name in VectorStoresConfig.of(config).stores:
        try:
            store = build_vector_store(config, name)
            print(repr(store))
            await store.count()
        except Exception as exc:
            failed(exc)
    if VoiceConfig.of(config).stt is not None:
        try:
            session = build_session(config, responder=None)
            print(repr(session), vars(session))
        except Exception as exc:
            failed(exc)
    try:
        checkpoints = build_checkpointer(config)
        print(repr(checkpoints))
        await checkpoints.history("r1")
    except Exception as exc:
        failed(exc)


for path in sys.argv[1:]:
    try:
        asyncio.run(main(path))
    except Exception as exc:
        failed(exc)
"""


AREAS_APP = """
import asyncio, logging, sys, traceback
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

from beluga.config import load_config
from beluga.embeddings.config import EmbeddingsConfig, build_embedder
from beluga.memory.config import MemoryConfig, build_memory


def failed(exc):
    print(repr(exc), str(exc), sep="\\n")
    traceback.print_exception(exc, file=sys.stdout)


async def main(path):
    config = load_config(path)
    print(repr(config), config.model_dump(), config.model_dump_json(), sep="\\n")
    if EmbeddingsConfig.of(config).embedders:
        embedder = build_embedder(config)
        print(repr(embedder))
        try:
            await embedder.embed(["hello"])
        except Exception as exc:
            failed(exc)
    memory = build_memory(MemoryConfig.of(config))
    print(repr(memory))
    try:
        await memory.load("s1")
    except Exception as exc:
        failed(exc)


for path in sys.argv[1:]:
    try:
        asyncio.run(main(path))
    except Exception as exc:
        failed(exc)
"""


APP = """
import asyncio, logging, sys, traceback
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
trace.set_tracer_provider(tracer_provider)

from beluga.config import load_config
from beluga.llms import from_config
from beluga.llms.config import LLMConfig
from beluga.llms.router import Router


def show(obj):
    print(type(obj).__name__, repr(obj), str(obj), sep="\\n")
    if hasattr(obj, "model_dump"):
        print(obj.model_dump(), obj.model_dump(mode="json"), obj.model_dump_json(), sep="\\n")


def failed(exc):
    print(repr(exc), str(exc), sep="\\n")
    traceback.print_exception(exc, file=sys.stdout)


async def call(model, **options):
    try:
        print(await model.generate("hello", **options))
    except Exception as exc:
        failed(exc)
    try:
        async for event in model.stream("hello", **options):
            print(event)
    except Exception as exc:
        failed(exc)


async def main(path):
    config = load_config(path)
    llm = LLMConfig.of(config)
    for obj in (config, llm, *llm.providers.values(), *llm.roles.values(), llm.metrics):
        show(obj)
    async with Router.from_config(config) as router:
        show(router)
        for model in router.providers.values():
            show(model)
        for check in await router.check():
            print(check)
        await call(router, role="main")
        await call(router.for_role("main"))
    for name in llm.providers:
        try:
            model = from_config(config, name)
        except Exception as exc:
            failed(exc)
            continue
        show(model)
        async with model:
            await call(model)


for path in sys.argv[1:]:
    try:
        asyncio.run(main(path))
    except Exception as exc:
        failed(exc)
"""


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=180, check=False
    )
    command = " ".join(args[1:])
    for secret in SECRETS.values():  # what the test itself typed is not a leak
        command = command.replace(secret, "<planted>")
    return f"$ {command} -> exit {done.returncode}\n{done.stdout}\n{done.stderr}\n"


def _environment(tmp_path: Path) -> dict[str, str]:
    """A clean environment: this checkout's ``beluga`` first, no provider key or Beluga
    setting of the caller's, a home of its own (whatever lands there is read back)."""
    source = str(Path(beluga.__file__).resolve().parents[1])
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BELUGA_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OLLAMA_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    env["HOME"] = str(tmp_path / "home")
    env["COLUMNS"] = "400"  # tables are not cut, so nothing hides in an ellipsis
    return env


def _drive(tmp_path: Path, files: dict[str, Path], refusing: str) -> list[str]:
    """Every command and the app; calls first (in parallel), then what reads their metrics."""
    env = _environment(tmp_path)
    env["PLANTED_BASE_URL"] = _env_url(refusing)
    debug = {**env, "BELUGA_DEBUG": "1"}
    bad_override = {
        **debug,
        "BELUGA_LLM__PROVIDERS__GPT__DEFAULT_HEADERS": (
            f"{{X-Custom-Auth: {S['header in a broken environment override']}"
        ),
    }
    cli = [sys.executable, "-m", "beluga"]
    main, pg, pg_query, broken, typo, areas, redis, later, later_redis = (
        str(files[k])
        for k in (
            "main",
            "pg",
            "pg_query",
            "broken",
            "typo",
            "areas",
            "redis",
            "later",
            "later_redis",
        )
    )
    cli_dsn = f"postgresql://{USER}:{S['metrics DSN password on the command line']}@{refusing}/db"
    calls = [
        # Calls that fail: the default (Anthropic), a role through every adapter, one with
        # BELUGA_DEBUG's traceback, an entry refused at creation, one from ${VAR}.
        ([*cli, "chat", "-c", main, "hello"], env),
        ([*cli, "chat", "-c", main, "--role", "main", "hello"], debug),
        ([*cli, "chat", "-c", main, "--model", "gpt", "hello"], debug),
        ([*cli, "chat", "-c", main, "--model", "claude_down", "hello"], debug),
        ([*cli, "chat", "-c", main, "--model", "xai_userinfo", "hello"], debug),
        ([*cli, "chat", "-c", main, "--model", "from_env", "hello"], debug),
        ([*cli, "providers", "check", "-c", main], env),
        ([*cli, "providers", "check", "-c", main, "--json"], env),
        ([*cli, "config", "check", main], env),
        # Metrics stores that are down: the answer comes, the DSN's password never shows.
        *(([*cli, "config", "check", f], env) for f in (pg, pg_query)),
        *(([*cli, "chat", "-c", f, "hello"], debug) for f in (pg, pg_query)),
        *(([*cli, "metrics", "summary", "-c", f], env) for f in (pg, pg_query)),
        *(([*cli, "metrics", "export", "-c", f], debug) for f in (pg, pg_query)),
        ([*cli, "metrics", "summary", "--store", cli_dsn], debug),
        # Files and overrides that do not parse or validate.
        ([*cli, "config", "check", broken], debug),
        ([*cli, "chat", "-c", broken, "hello"], debug),
        ([*cli, "config", "check", main], bad_override),
        ([*cli, "config", "check", typo], debug),
        ([*cli, "chat", "-c", typo, "hello"], debug),
        # The app: reprs and dumps, dependency logs at DEBUG, spans, router and direct calls.
        ([sys.executable, "-c", APP, main, pg, pg_query], env),
        # Embeddings and memory: their config, CLI and errors.
        *(([*cli, "config", "check", f], debug) for f in (areas, redis)),
        *(([*cli, "memory", "sessions", "-c", f], debug) for f in (areas, redis)),
        ([*cli, "memory", "show", "-c", areas, "s1"], env),
        ([sys.executable, "-c", AREAS_APP, areas, redis], env),
        # Vector stores, voice and graph checkpoints: config, CLI, reprs and failed calls.
        *(([*cli, "config", "check", f], debug) for f in (later, later_redis)),
        ([*cli, "vectorstores", "list", "-c", later], env),
        *(
            ([*cli, "vectorstores", "count", "-c", later, "-s", n], debug)
            for n in ("pg", "pine", "qd")
        ),
        *(([*cli, "graph", "runs", "-c", f], debug) for f in (later, later_redis)),
        ([sys.executable, "-c", LATER_APP, later, later_redis], env),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda c: _run(c[0], c[1], tmp_path), calls))
    readers = [
        [*cli, "metrics", "summary", "-c", main],
        [*cli, "metrics", "export", "-c", main, "--format", "json"],
        [*cli, "metrics", "export", "-c", main, "-o", str(tmp_path / "export.csv")],
    ]
    return outputs + [_run(args, env, tmp_path) for args in readers]


def _env_url(host: str) -> str:
    return f"http://{USER}:{S['base_url from ${VAR}']}@{host}/v1"


def _left_behind(tmp_path: Path, inputs: set[Path]) -> list[str]:
    """Every file the runs wrote (the store's pages as bytes), and the store's error column."""
    texts = [
        f"--- {path}\n{path.read_bytes().decode('latin-1')}"
        for path in sorted(tmp_path.rglob("*"))
        if path.is_file() and path not in inputs
    ]
    return [*texts, "--- beluga_metrics_calls.error", *_recorded_errors(tmp_path / "metrics.db")]


def _recorded_errors(path: Path) -> list[str]:
    try:
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT error FROM beluga_metrics_calls").fetchall()
    except sqlite3.Error:
        return []
    return [row[0] for row in rows if row[0]]


@pytest.mark.timeout(600)
def test_no_surface_shows_a_planted_secret(
    tmp_path: Path, failing_host: str, refusing_host: str
) -> None:
    files = write_configs(tmp_path, failing_host, refusing_host)
    outputs = _drive(tmp_path, files, refusing_host)
    text = "\n".join(outputs + _left_behind(tmp_path, set(files.values())))

    leaks = {}
    for name, secret in SECRETS.items():
        found = sorted(piece for piece in pieces(secret) if piece in text)
        if found:
            leaks[name] = _context(text, found[0])
    assert not leaks, "\n\n".join(f"{name} leaked:\n{where}" for name, where in leaks.items())
    # The surfaces were reached: the failures, the spans and the store are all there.
    assert "internal error" in text, "the 500s are reported"
    assert "ConnectError" in text, "the refused port is reported"
    assert "memory store PostgreSQL" in text and "Redis" in text, "memory reached its stores"
    assert "embeddings.openai.embed" in text, "the embedder reached the failing server"
    assert '"trace_id"' in text, "the spans were printed"
    assert _recorded_errors(tmp_path / "metrics.db"), "the failed calls were recorded"


def _context(text: str, piece: str) -> str:
    at = text.find(piece)
    start = text.rfind("\n$ ", 0, at)
    command = text[start : text.find("\n", start + 1)] if start >= 0 else ""
    return f"{command}\n...{text[max(at - 400, 0) : at + 120]}..."
