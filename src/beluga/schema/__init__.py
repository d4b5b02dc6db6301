"""Data shapes every area shares: messages, content parts, tools, documents, usage, events.

Their one JSON form is :mod:`beluga.schema.wire`.
"""

from beluga.schema._strict import strict_json_schema
from beluga.schema.content import (
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    MediaPart,
    ProviderPart,
    ReasoningPart,
    TextPart,
    VideoPart,
)
from beluga.schema.documents import Document
from beluga.schema.events import (
    ChatResponse,
    FinishEvent,
    FinishReason,
    ItemEvent,
    ReasoningDelta,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from beluga.schema.messages import Message, Prompt, Role, ToolCall, as_messages
from beluga.schema.tools import OutputSchema, ToolDefinition
from beluga.schema.usage import Usage

__all__ = [
    "AudioPart",
    "ChatResponse",
    "ContentPart",
    "Document",
    "FilePart",
    "FinishEvent",
    "FinishReason",
    "ImagePart",
    "ItemEvent",
    "MediaPart",
    "Message",
    "OutputSchema",
    "Prompt",
    "ProviderPart",
    "ReasoningDelta",
    "ReasoningPart",
    "ResponseBuilder",
    "Role",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "Usage",
    "UsageEvent",
    "VideoPart",
    "as_messages",
    "strict_json_schema",
]
