"""A hand-labelled retrieval set over this repository's own documentation.

Each question is asked in other words than the page uses; the answer is the chunk of ``source``
(a file of ``docs/readme/`` or ``README.md``) that contains ``phrase``, words copied from the
page. A retrieved chunk is a hit when it comes from that file and contains the phrase, so the
labels hold whatever the chunk size. Written by reading the pages, not by running a retriever.
"""

from __future__ import annotations

__all__ = ["QUESTIONS"]

QUESTIONS: list[tuple[str, str, str]] = [
    # (question, source file, phrase the answering chunk contains)
    ("How many commands does setting up a fresh machine take?", "README.md", "make demo"),
    ("How long does the first build of the llama.cpp bindings take?", "README.md", "7 minutes"),
    (
        "Which services do the tests start on the loopback address?",
        "README.md",
        "Redis on 127.0.0.1",
    ),
    ("What exit code means the configuration is wrong?", "README.md", "3 invalid configuration"),
    (
        "How do I override a configuration key from the environment?",
        "README.md",
        "BELUGA_LLM__DEFAULT",
    ),
    (
        "How can a plugin add its own section to the yaml file?",
        "README.md",
        "entry-point group `beluga.config`",
    ),
    ("In which order do settings layers merge?", "README.md", "the role's `settings`"),
    (
        "How do I send an option to only one vendor in a fallback chain?",
        "README.md",
        "Provider-keyed `extra`",
    ),
    ("In what order do breaker, retry and timeout nest?", "README.md", "breaker > retry > timeout"),
    ("Which model does the offline local provider run?", "README.md", "SmolLM2-135M-Instruct"),
    ("Where do model prices come from for cost accounting?", "README.md", "prices.json"),
    (
        "What happens when a stream fails after some output was delivered?",
        "README.md",
        "StreamInterruptedError",
    ),
    (
        "How do I check every provider credential from the shell?",
        "README.md",
        "beluga providers check",
    ),
    (
        "Where is the provider metrics database stored by default?",
        "README.md",
        "~/.beluga/metrics.db",
    ),
    ("What span name does every chat call get?", "README.md", "chat {model}"),
    (
        "How are thinking tokens given back to the provider on the next turn?",
        "README.md",
        "ReasoningPart",
    ),
    ("What does an agent return after a run?", "agents.md", "RunResult"),
    (
        "How do I cap the number of steps an agent may take?",
        "agents.md",
        "UsageLimits(max_steps=25",
    ),
    ("How do I resume a run that paused waiting for approval?", "agents.md", "agent.resume(state"),
    (
        "How can one agent pass the conversation to another agent?",
        "agents.md",
        "transfer_to_billing",
    ),
    ("What stops a run when the user input is unacceptable?", "agents.md", "GuardrailTripped"),
    ("Which parsers come with the documents extra?", "documents.md", "pypdf, selectolax"),
    ("How are chunk identifiers built?", "documents.md", "{document id}:{index}"),
    ("How many dimensions do the offline embedding vectors have?", "embeddings.md", "384"),
    (
        "How do I keep embeddings on disk so the same text is not embedded twice?",
        "embeddings.md",
        "SqliteEmbeddingCache",
    ),
    ("How many inputs fit in one OpenAI embeddings request?", "embeddings.md", "2,048 inputs"),
    (
        "Which embedder puts an image and a text in the same vector space?",
        "embeddings.md",
        "titan-embed-image-v1",
    ),
    ("How do I start an MCP server as a subprocess?", "mcp.md", "MCPServer.stdio"),
    ("What happens to a tool name with a dot when offered to the model?", "mcp.md", "files_read"),
    ("What happens when an MCP server crashes in the middle of a call?", "mcp.md", "crashes"),
    ("Which memory keeps only the most recent turns?", "memory.md", "WindowMemory(turns=20)"),
    ("What happens if the summarizer model fails?", "memory.md", "nothing is\nlost"),
    ("Does vector recall ever return turns of other sessions?", "memory.md", "*the same session*"),
    ("What are the span names of memory operations?", "memory.md", "memory.{load,save,clear}"),
    (
        "Which template engine renders prompts, and is it sandboxed?",
        "prompts.md",
        "Jinja2 in a sandbox",
    ),
    ("How is the latest version of a prompt file chosen?", "prompts.md", "numeric-aware"),
    ("How can a model without native tool calling still use tools?", "react.md", "ReActModel"),
    (
        "Which stop sequence is added so the model stops before the tool result?",
        "react.md",
        '"\\nObservation"',
    ),
    ("Do synchronous tool functions block the event loop?", "tools.md", "worker thread"),
    ("How does the calculator avoid evaluating huge powers?", "tools.md", "9**9**9"),
    ("Which hosts may the HTTP fetch tool reach?", "tools.md", "allowed_hosts"),
    ("How fast is the agent loop per step compared with pydantic-ai?", "bench-agents.md", "50.8x"),
]
