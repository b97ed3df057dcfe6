"""`where`: shootings near an address, in a ZIP code or neighbourhood, or at lat,lon."""

from __future__ import annotations

import argparse
import json

from pipeline import where
from pipeline.geocode import Geocoder, GeocoderSettings
from pipeline.settings import Settings
from pipeline.store import Store


def cmd_where(args: argparse.Namespace, settings: Settings) -> int:
    geocoder = Geocoder(
        GeocoderSettings(
            url=settings.geocoder_url,
            user_agent=settings.geocoder_user_agent,
            cache=settings.data_dir / "geocode_cache.json",
        )
    )
    with Store(settings.store_path).reader() as q:
        found = where.answer(q, args.query, geocoder, args.as_of, args.radius_m)
    if args.format == "json":
        print(json.dumps(found, default=str))
    else:
        print("\n".join(where.describe(found)))
    return 0
