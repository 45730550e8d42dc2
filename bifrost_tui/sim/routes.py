"""The simulated gateway's route table, and matching a raw request path against it.

Every (method, path template) Bifrost v1.5.1 serves for batches (results and the OpenAI files'
content included), health, providers and sessions.
"""

from __future__ import annotations

from urllib.parse import unquote

from bifrost_tui.sim.passthrough import PASSTHROUGH_PREFIXES

#: Every (method, path template, route name) the simulator serves.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/health", "health"),
    ("GET", "/api/version", "version"),
    ("GET", "/api/providers", "providers"),
    ("GET", "/api/providers/{provider}", "provider"),
    ("GET", "/api/providers/{provider}/keys", "keys"),
    ("POST", "/api/session/login", "login"),
    ("POST", "/api/session/logout", "logout"),
    ("GET", "/api/session/is-auth-enabled", "is_auth_enabled"),
    ("GET", "/anthropic/v1/messages/batches", "a_list"),
    ("POST", "/anthropic/v1/messages/batches", "a_create"),
    ("GET", "/anthropic/v1/messages/batches/{batch_id}", "a_retrieve"),
    ("POST", "/anthropic/v1/messages/batches/{batch_id}/cancel", "a_cancel"),
    ("GET", "/anthropic/v1/messages/batches/{batch_id}/results", "a_results"),
    ("GET", "/v1/batches", "v_list"),
    ("GET", "/v1/batches/{batch_id}", "v_retrieve"),
    ("POST", "/v1/batches/{batch_id}/cancel", "v_cancel"),
]
for _prefix in ("/openai/v1/batches", "/openai/batches", "/openai/openai/batches"):
    ROUTES += [
        ("GET", _prefix, "o_list"),
        ("GET", _prefix + "/{batch_id}", "o_retrieve"),
        ("POST", _prefix + "/{batch_id}/cancel", "o_cancel"),
    ]
ROUTES.append(("GET", "/openai/v1/files/{file_id}/content", "o_file_content"))
_COMPILED = [(m, tuple(p.strip("/").split("/")), name) for m, p, name in ROUTES]

#: Routes the dashboard auth never guards (Bifrost's whitelist).
OPEN_ROUTES = frozenset({"health", "version", "login", "logout", "is_auth_enabled"})
OPS = {
    "list": "batch_list",
    "retrieve": "batch_retrieve",
    "cancel": "batch_cancel",
    "file_content": "file_content",
}


def match(method: str, raw_path: str) -> tuple[str, dict[str, str]] | str | None:
    """Route name and percent-decoded params; ``"405"`` for a known path with another method;
    ``None`` when nothing matches. A raw ``/`` inside an id splits the segment: no match.
    Anything under a passthrough prefix is route ``"passthrough"`` (params ``provider`` and the
    raw ``rest`` of the path): the provider decides what it serves."""
    segments = tuple(raw_path.strip("/").split("/")) if raw_path.strip("/") else ()
    if segments and segments[0] in PASSTHROUGH_PREFIXES:
        return "passthrough", {
            "provider": PASSTHROUGH_PREFIXES[segments[0]],
            "rest": "/".join(segments[1:]),
        }
    if raw_path.endswith("/") and raw_path != "/":
        return None
    path_known = False
    for route_method, pattern, name in _COMPILED:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            if route_method == method:
                return name, params
            path_known = True
    return "405" if path_known else None
