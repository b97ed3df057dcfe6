"""Alerts after each sync: per subscription, one message with what is new in its area.

A subscription is a team's area (a district, some beats or a community area, as
CPD recorded them on each record), the kinds it wants and one channel, an
apprise URL (email, SMS gateways, Slack, Teams, webhooks...). After each sync,
and on `python -m pipeline alerts`, each subscription gets one message listing

- new shootings: records the sync added (gunshot victims; with `homicides`, any
  new homicide victim),
- reclassified as homicide: stored records whose victim has since died
  (`fatal: false -> true` in the sync's changes),
- retaliation-risk windows newly open (`pipeline.outreach.windows_table` on the
  latest date in the store, the `windows` command's defaults).

Messages hold block-level locations, case numbers and times only; the store has
no names. URLs may carry `${ENV_VAR}`: expanded at send time, never logged or
printed (a channel is shown as its scheme, `json://…`).

The parts: `subscriptions` (the file), `message` (composing, pure), `delivery`
(apprise, secrets scrubbed), `state` (what was sent) and `dispatch` (one run).
"""

from pipeline.alerts.delivery import expand, redact, scrub, send, unset
from pipeline.alerts.dispatch import Outcome, pending, run
from pipeline.alerts.message import Alert, compose
from pipeline.alerts.state import mark_sent, read_state, write_state
from pipeline.alerts.subscriptions import KINDS, Subscription, load_subscriptions

__all__ = [
    "KINDS",
    "Alert",
    "Outcome",
    "Subscription",
    "compose",
    "expand",
    "load_subscriptions",
    "mark_sent",
    "pending",
    "read_state",
    "redact",
    "run",
    "scrub",
    "send",
    "unset",
    "write_state",
]
