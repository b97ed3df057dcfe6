"""Every setting in one place, each with a documented default.

Values come from (highest first): explicit overrides (CLI flags), the
environment, the defaults below. Paths are resolved from the project root, not
the working directory. Secrets (the app token) come only from the environment
and are never printed: `Settings.__repr__` hides them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.config import CITY

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The city's facts live in `pipeline.config`; these names are kept for the modules
#: that read one of them.
CHICAGO_BBOX = CITY.bbox  # (min lon, min lat, max lon, max lat), WGS84 degrees
#: An earlier incident date is a typo and is quarantined, as is one after tomorrow.
VICTIMS_EARLIEST_DATE = CITY.victims_earliest_date

#: Values of an on/off environment variable that mean off.
OFF_WORDS = ("0", "off", "false", "no")

#: Source columns a victims FILE may lack without it being schema drift. Exports
#: made by other tools (such as the reconstructed 2015-2022 file) often leave out
#: the demographic columns and the update stamp; no count depends on them. The
#: portal must serve every column the schema knows.
OPTIONAL_FILE_COLUMNS = ("age", "sex", "race", "location_description", "updated")


@dataclass(frozen=True)
class Settings:
    """Run-time settings. Construct with `Settings.from_env()`."""

    #: Where the store lives (env DATA_DIR). Relative paths are taken from the project root.
    data_dir: Path = PROJECT_ROOT / "data"
    #: Socrata host (env SOCRATA_DOMAIN); may carry a scheme, e.g. http://127.0.0.1:8080.
    domain: str = CITY.domain
    #: Socrata app token (env SOCRATA_APP_TOKEN); without one requests share a throttled pool.
    app_token: str | None = field(default=None, repr=False)
    #: The victims dataset's id; boundary datasets are in the level registry.
    victims_dataset: str = CITY.victims_dataset
    #: Rows per request; Socrata allows at most 50,000.
    page_size: int = 50_000
    #: Seconds before one request is abandoned (env SOCRATA_TIMEOUT).
    timeout_s: float = 60.0
    #: Attempts per request before giving up (429, 5xx, connection errors, timeouts).
    max_attempts: int = 6
    #: First backoff delay in seconds; doubles each attempt, capped by `backoff_max_s`.
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    #: An incremental sync turns into a full one when the last full sync is older
    #: than this, because deletions upstream never show up incrementally.
    full_refresh_days: int = 7
    #: The address service of `where` (env GEOCODER_URL): a Nominatim server. An
    #: address typed is sent there; it is never stored or logged here.
    geocoder_url: str = "https://nominatim.openstreetmap.org"
    #: How requests to it identify this application (env GEOCODER_USER_AGENT).
    geocoder_user_agent: str = "chicago-shooting-trends/1.0 (civic-tech dashboard)"
    #: Whole reads of the portal per sync that may fail to reconcile with its row
    #: count (a short page, rows changing under the read) before the sync gives up.
    read_attempts: int = 3
    #: Largest share of the stored victims one sync may remove or quarantine
    #: (`--allow-shrink` accepts more). An empty read never empties the store.
    max_shrink: float = 0.05
    allow_shrink: bool = False
    #: Known source columns that may be absent from a whole read from the portal, or
    #: from a whole file (`--optional-column` adds to both); any other known column
    #: missing is schema drift, never a silently empty column.
    optional_portal_columns: tuple[str, ...] = ()
    optional_file_columns: tuple[str, ...] = OPTIONAL_FILE_COLUMNS
    #: Who is alerted after each sync (env ALERT_SUBSCRIPTIONS): a TOML file of team
    #: areas, kinds and apprise URLs (README, "Alerts"). None: `subscriptions.toml` in
    #: `data_dir`, kept out of git with the store since it names the teams' channels.
    #: No file, no alerts. Relative paths are taken from the project root.
    subscriptions_file: Path | None = None
    #: Street base map under the page's maps (env MAP_TILES=0 turns it off): CARTO's
    #: light tiles, no API key. Offline the maps draw as before, without streets.
    map_tiles: bool = True
    #: Residents per community area behind rates per 100,000 (env POPULATION_FILE): a CSV
    #: with GEOID (area number) and TOT_POP. None: the 2020 census file shipped in
    #: pipeline/data. Relative paths are taken from the project root.
    population_file: Path | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from `env` (default `os.environ`) and non-None `overrides`."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if env.get("DATA_DIR"):
            values["data_dir"] = Path(env["DATA_DIR"])
        if env.get("SOCRATA_DOMAIN"):
            values["domain"] = env["SOCRATA_DOMAIN"]
        if env.get("SOCRATA_APP_TOKEN"):
            values["app_token"] = env["SOCRATA_APP_TOKEN"]
        if env.get("GEOCODER_URL"):
            values["geocoder_url"] = env["GEOCODER_URL"]
        if env.get("GEOCODER_USER_AGENT"):
            values["geocoder_user_agent"] = env["GEOCODER_USER_AGENT"]
        if env.get("ALERT_SUBSCRIPTIONS"):
            values["subscriptions_file"] = Path(env["ALERT_SUBSCRIPTIONS"])
        if env.get("POPULATION_FILE"):
            values["population_file"] = Path(env["POPULATION_FILE"])
        if env.get("MAP_TILES"):
            values["map_tiles"] = env["MAP_TILES"].strip().lower() not in OFF_WORDS
        if env.get("SOCRATA_TIMEOUT"):
            values["timeout_s"] = float(env["SOCRATA_TIMEOUT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)  # type: ignore[arg-type]
        data_dir = Path(settings.data_dir).expanduser()
        if not data_dir.is_absolute():
            data_dir = PROJECT_ROOT / data_dir
        return replace(settings, data_dir=data_dir)

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.duckdb"

    @property
    def subscriptions_path(self) -> Path:
        if self.subscriptions_file is None:
            return self.data_dir / "subscriptions.toml"
        path = Path(self.subscriptions_file).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def population_path(self) -> Path | None:
        """The population file asked for, from the project root; None: the shipped one."""
        if self.population_file is None:
            return None
        path = Path(self.population_file).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def alerts_state_path(self) -> Path:
        """What each subscription was sent (pipeline/alerts.py), next to the store."""
        return self.data_dir / "alerts_state.json"
