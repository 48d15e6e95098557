"""schemathesis hooks for scripts/api-contract.sh (loaded through scripts/schemathesis.toml).

A client sends a fresh `Idempotency-Key` with every new request and reuses it only to retry
the same one; schemathesis draws keys from the header's schema and repeats short ones across
different bodies, which the API rightly answers with 422 `idempotency_key_reused`. So every
request generated as valid gets a key of its own; requests generated to be invalid keep the
key schemathesis chose, so that bad keys are still tried.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    positive = meta is None or meta.generation.mode.is_positive
    headers = case.headers if case.headers is not None else {}
    if positive and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
