"""URLs built once per worker.

Werkzeug builds a URL from its rule on every `url_for` call (about 4 µs each here), and a
list page asks for the same few dozen (the sidebar's, a detail link per row, the pager's) on
every request. Inside a request, a URL without an anchor, method or scheme depends only on the
script root, the endpoint and its values, so `PortalFlask.url_for` remembers it. Anything
else (external URLs, values that are not plain ints or strings, an app with URL defaults or
host matching) goes through Flask unchanged.
"""

from __future__ import annotations

from flask import Flask
from flask.globals import _cv_request

MEMO_SIZE = 50_000  # URLs kept per worker before the memo starts again


class PortalFlask(Flask):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.url_memo: dict[tuple, str] = {}

    def url_for(self, endpoint: str, /, *, _anchor: str | None = None,
                _method: str | None = None, _scheme: str | None = None,
                _external: bool | None = None, **values) -> str:
        req_ctx = _cv_request.get(None)
        if (req_ctx is None or _anchor is not None or _method is not None
                or _scheme is not None or _external or not self._urls_are_plain()
                or any(type(v) is not int and type(v) is not str for v in values.values())):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method,
                                   _scheme=_scheme, _external=_external, **values)
        request = req_ctx.request
        key = (request.script_root, request.blueprint if endpoint[:1] == "." else None,
               endpoint, *values.items())
        url = self.url_memo.get(key)
        if url is None:
            url = super().url_for(endpoint, **values)
            if len(self.url_memo) >= MEMO_SIZE:
                self.url_memo.clear()
            self.url_memo[key] = url
        return url

    def _urls_are_plain(self) -> bool:
        """No URL defaults and no host or subdomain matching: a URL is then the same in every
        request with the same script root."""
        return not (self.url_map.host_matching or self.subdomain_matching
                    or any(self.url_default_functions.values()))
