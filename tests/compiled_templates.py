"""Templates compiled once per test process, not once per app.

Every web test makes its own app (tests/conftest.py `app`), and each app's Jinja environment
compiled every template it rendered afresh: a new app's first `/subscriptions` took 117 ms of
CPU, 27 ms with this (a sampling profile puts compiling at a few per cent of a web test's
time; cProfile, which weighs Jinja's many small calls, overstated it). `COMPILED` is a Jinja
bytecode cache shared by the suite's apps, keyed by the catalog whose literal words a template
is compiled with (services/core/i18n.py `CatalogEnvironment`), its name and its source's
checksum: a test's own catalog, or an edited template, compiles anew. A running portal makes
one app and keeps its compiled templates in it, so the product has no use for this."""

from __future__ import annotations

from jinja2.bccache import Bucket, BytecodeCache


class CompiledTemplates(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict = {}

    def get_bucket(self, environment, name, filename, source) -> Bucket:
        key = (getattr(environment, "catalog", None), name, filename)
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


COMPILED = CompiledTemplates()
