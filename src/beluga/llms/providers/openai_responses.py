"""OpenAI Responses API (``POST /responses``) on the official ``openai`` SDK.

The connection -- client, auth, base URL, secrets, SDK error mapping -- is
:class:`~beluga.llms.providers.openai.OpenAIClientModel`'s, shared with the Chat Completions
adapter; this module adds the Responses wire format (``_responses_wire`` for requests,
``_responses_reply`` for answers). As there, bodies go through ``client.post(...,
cast_to=object)``: the SDK's typed event models would cost tens of microseconds per streamed
event, more than everything else on the path.

The adapter is stateless: each call sends the whole conversation with ``store: false``. Server-side
state (``previous_response_id``, conversations, background mode, compaction) and built-in tools
(web search, file search, code interpreter, MCP, image generation) are not modelled; options the
adapter does not model can still be sent through ``ModelSettings.extra`` (e.g.
``{"reasoning": {"effort": "low", "summary": "auto"}}``), and their output items that are not
text, reasoning or function calls are ignored.

Usage::

    model = OpenAIResponsesModel("gpt-5-mini")                    # OPENAI_API_KEY from env
    local = OpenAIResponsesModel("openai/gpt-oss-20b", base_url="http://localhost:8000/v1")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from beluga.llms.base import ModelSettings
from beluga.llms.providers._errors import our_code
from beluga.llms.providers._preflight import check_sendable
from beluga.llms.providers._responses_reply import parse_response, stream_events
from beluga.llms.providers._responses_wire import build_request
from beluga.llms.providers.openai import OpenAIClientModel
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIResponsesModel"]


class OpenAIResponsesModel(OpenAIClientModel):
    """A model behind the OpenAI Responses API (OpenAI, Azure, or a compatible server).

    Takes the keywords of :class:`~beluga.llms.providers.openai.OpenAIChatModel`: ``api_key``
    (default ``OPENAI_API_KEY``), ``base_url`` (default ``OPENAI_BASE_URL``), ``timeout``,
    ``organization``, ``default_headers``, ``settings`` and ``client``. ``seed`` and ``stop``
    settings are rejected: the Responses API has neither.
    """

    def __init__(
        self,
        model: str = "gpt-5-mini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        organization: str | None = None,
        default_headers: dict[str, str] | None = None,
        settings: ModelSettings | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(
            model,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            organization=organization,
            default_headers=default_headers,
            settings=settings,
            client=client,
        )

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.openai.responses.generate"
        check_sendable(messages, tools, settings, op)
        body, extra = build_request(
            self._model, messages, tools, settings, op, stream=False, provider=self.provider
        )
        data = await self._post("/responses", body, extra, op)
        with our_code(op):
            return parse_response(data, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.openai.responses.stream"
        check_sendable(messages, tools, settings, op)
        body, extra = build_request(
            self._model, messages, tools, settings, op, stream=True, provider=self.provider
        )
        async for event in self._stream_from("/responses", body, extra, op, stream_events):
            yield event
