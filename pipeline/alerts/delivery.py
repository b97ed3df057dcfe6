"""Deliver a message through apprise without ever showing the channel's URL or secrets.

URLs may carry `${ENV_VAR}`: expanded at send time, never logged or printed (a
channel is shown as its scheme, `json://…`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from urllib.parse import quote

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def redact(url: str) -> str:
    """A channel as it may be shown: its scheme only ('json://…')."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return f"{scheme}://…" if scheme.isalnum() else "(channel)"


def expand(url: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """`url` with each `${NAME}` replaced from `env` (default `os.environ`), and the values
    put in (to scrub from any text shown). KeyError naming a variable that is not set."""
    env = os.environ if env is None else env
    if unset(url, env):
        raise KeyError(unset(url, env)[0])
    values = [env[n] for n in _ENV.findall(url)]
    return _ENV.sub(lambda m: env[m.group(1)], url), values


def unset(url: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The `${NAME}`s of `url` that are not set (or empty) in `env` (default `os.environ`)."""
    env = os.environ if env is None else env
    return [name for name in _ENV.findall(url) if not env.get(name)]


def send(url: str, title: str, body: str) -> str | None:
    """Deliver through apprise: None when delivered, else why not (nothing of the URL in it).
    apprise's own log lines (which may quote the URL) are captured, never shown as is."""
    import apprise  # loaded only when something is sent

    try:
        expanded, secrets = expand(url)
    except KeyError as exc:
        return f"environment variable {exc.args[0]} is not set"
    with _captured("apprise", "urllib3", "requests") as lines:
        try:
            bell = apprise.Apprise()
            if not bell.add(expanded):
                return "apprise does not accept this URL (check it against apprise's docs)"
            if bell.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT):
                return None
        except Exception as exc:  # a third party's network code: any failure is a retry
            lines.append(f"{type(exc).__name__}: {exc}")
    return scrub(lines[-1] if lines else "the receiver refused it", expanded, secrets)


def scrub(text: str, url: str, secrets: Sequence[str] = ()) -> str:
    """`text` without the secrets nor any part of `url` past its scheme (host, user,
    password, path and query pieces, raw or percent-encoded)."""
    rest = url.split("://", 1)[-1]
    pieces = {p for p in re.split(r"[/:@?&=#,;\s]+", rest) if len(p) >= 3} | set(secrets)
    pieces |= {rest} | {quote(p, safe="") for p in pieces}
    for piece in sorted(pieces, key=len, reverse=True):
        if piece:
            text = text.replace(piece, "***")
    return " ".join(text.split())


@contextmanager
def _captured(*names: str) -> Iterator[list[str]]:
    """The WARNING-and-above messages of the loggers `names` (and their children), kept
    from every other handler: apprise logs URLs, urllib3 the request paths."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.split(".")[0] == "apprise":
                lines.append(record.getMessage())

    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers, lg.propagate = [Keep(logging.WARNING)], False
    try:
        yield lines
    finally:
        for lg, (handlers, propagate) in zip(loggers, saved, strict=True):
            lg.handlers, lg.propagate = handlers, propagate
