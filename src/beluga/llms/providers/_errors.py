"""The provider error mapping, moved down to :mod:`beluga.core.provider_errors` so that every
capability (LLMs, embeddings, ...) shares it without importing a sibling; re-exported here
for the LLM adapters (explicit ``name as name`` re-exports, no ``__all__`` of its own)."""

from beluga.core.provider_errors import (
    error_for_status as error_for_status,
)
from beluga.core.provider_errors import (
    is_decode_error as is_decode_error,
)
from beluga.core.provider_errors import (
    is_transport_error as is_transport_error,
)
from beluga.core.provider_errors import (
    not_json as not_json,
)
from beluga.core.provider_errors import (
    our_code as our_code,
)
from beluga.core.provider_errors import (
    own_failure as own_failure,
)
from beluga.core.provider_errors import (
    retry_after_from as retry_after_from,
)
from beluga.core.provider_errors import (
    scrub as scrub,
)
from beluga.core.provider_errors import (
    stainless_error as stainless_error,
)
from beluga.core.provider_errors import (
    status_code as status_code,
)
from beluga.core.provider_errors import (
    stream_cut as stream_cut,
)
from beluga.core.provider_errors import (
    timed_out as timed_out,
)
from beluga.core.provider_errors import (
    unreachable as unreachable,
)
