"""Provider connection settings, moved down to :mod:`beluga.config.endpoints` so that every
capability (LLMs, embeddings, ...) shares them without importing a sibling; re-exported here
for the LLM adapters."""

from beluga.config.endpoints import Endpoint, endpoint, env_key, guard_sdk_logs, reject_userinfo

__all__ = ["Endpoint", "endpoint", "env_key", "guard_sdk_logs", "reject_userinfo"]
