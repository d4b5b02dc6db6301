"""The provider error mapping, moved down to :mod:`beluga.core.provider_errors` so that every
capability (LLMs, embeddings, ...) shares it without importing a sibling; re-exported here
for the LLM adapters."""

from beluga.core.provider_errors import (
    error_for_status,
    is_decode_error,
    is_transport_error,
    not_json,
    our_code,
    own_failure,
    retry_after_from,
    scrub,
    stainless_error,
    status_code,
    stream_cut,
    timed_out,
    unreachable,
)

__all__ = [
    "error_for_status",
    "is_decode_error",
    "is_transport_error",
    "not_json",
    "our_code",
    "own_failure",
    "retry_after_from",
    "scrub",
    "stainless_error",
    "status_code",
    "stream_cut",
    "timed_out",
    "unreachable",
]
