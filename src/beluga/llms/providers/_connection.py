"""Provider connection settings, moved down to :mod:`beluga.config.endpoints` so that every
capability (LLMs, embeddings, ...) shares them without importing a sibling; re-exported here
for the LLM adapters (explicit ``name as name`` re-exports, no ``__all__`` of its own)."""

from beluga.config.endpoints import (
    Endpoint as Endpoint,
)
from beluga.config.endpoints import (
    endpoint as endpoint,
)
from beluga.config.endpoints import (
    env_key as env_key,
)
from beluga.config.endpoints import (
    guard_sdk_logs as guard_sdk_logs,
)
from beluga.config.endpoints import (
    reject_userinfo as reject_userinfo,
)
