"""The city and its data, declared once: the portal, the victims dataset, the map's frame,
and the registry of boundary levels.

Everything else derives from this module: the sync's sources and `--beats`-style
flags, the store's `victim_areas` columns (`geo_<area>`), the count tables'
levels, the CLI's `--by` choices and area flags, the page's level picker. A
new boundary level (ZIP codes, neighbourhoods) is one `Level` entry plus its
GeoJSON: no new table, no edits across the tree.

A typed module rather than a TOML file: the entries are checked by mypy and
read by every process without a parser, and a second city is a second `City`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Level:
    """One boundary layer and how records are placed in it."""

    area: str  # singular, for people and columns: 'district' (CLI --by, URL level)
    layer: str  # plural, the store's boundaries.layer and the sync flag: 'districts'
    title: str  # 'District'
    dataset: str  # portal dataset id of the boundaries
    key_property: str  # feature property holding the area's key
    label_property: str  # feature property holding its label for people
    key_width: int = 0  # zero-pad numeric keys to this width (beats: 4)
    numeric_key: bool = False  # strip leading zeros ('08' -> '8')
    #: Victims column holding the code CPD recorded at the time, if records carry one.
    recorded_column: str | None = None
    #: Placed through a finer level instead of by its own polygons: the area named by
    #: `parent_property` of the finer level's feature holding the point (a record's
    #: district is the district of its beat, so beats always sum to their district).
    derived_from: str | None = None
    parent_property: str | None = None
    #: Several features may share a key (a ZIP code in two pieces): join them into one
    #: area instead of refusing the layer.
    merge_pieces: bool = False
    #: What residents call it, for pickers: 'Police district'.
    people_title: str = ""

    @property
    def place_column(self) -> str:
        """Column of `victim_areas` with each record's area by geometry."""
        return f"geo_{self.area}"

    @property
    def flag(self) -> str:
        return self.area.replace("_", "-")


@dataclass(frozen=True)
class City:
    """A city's portal, its victims dataset and its boundary levels."""

    name: str
    domain: str
    victims_dataset: str
    victims_dataset_title: str
    #: The dataset's first date: earlier ones are typos (quarantined).
    victims_earliest_date: date
    #: Rough box around the city, (min lon, min lat, max lon, max lat) in WGS84 degrees;
    #: points outside it are typos or placeholders such as (0, 0).
    bbox: tuple[float, float, float, float]
    #: A projected CRS in metres for distances (UTM zone 16N for Chicago).
    projected_crs: str
    #: Map view: centre (lat, lon) and zoom of the city as a whole.
    map_center: tuple[float, float]
    map_zoom: float
    #: The area offered first to a meeting (level, key).
    featured_area: tuple[str, str]
    levels: tuple[Level, ...] = field(default_factory=tuple)

    def level(self, area: str) -> Level:
        for level in self.levels:
            if level.area == area:
                return level
        raise ValueError(f"level was {area!r} but is expected to be one of {list(self.areas)}")

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(level.area for level in self.levels)


CHICAGO = City(
    name="Chicago",
    domain="data.cityofchicago.org",
    victims_dataset="gumc-mgzr",
    victims_dataset_title="Violence Reduction - Victims of Homicides and Non-Fatal Shootings",
    # Homicides from 1991, non-fatal shootings from 2010.
    victims_earliest_date=date(1991, 1, 1),
    # O'Hare (about -87.94) must stay inside.
    bbox=(-87.95, 41.63, -87.50, 42.03),
    projected_crs="EPSG:26916",
    map_center=(41.835, -87.68),
    map_zoom=9.6,
    featured_area=("district", "17"),
    levels=(
        Level(
            area="district",
            layer="districts",
            title="District",
            dataset="fthy-xz3r",  # Boundaries - Police Districts (current)
            key_property="dist_num",
            label_property="dist_label",
            numeric_key=True,
            recorded_column="district",
            derived_from="beat",
            parent_property="district",
            people_title="Police district",
        ),
        Level(
            area="beat",
            layer="beats",
            title="Beat",
            dataset="aerh-rz74",  # Boundaries - Police Beats (current), PoliceBeatDec2012
            key_property="beat_num",
            label_property="beat_num",
            key_width=4,
            recorded_column="beat",
            people_title="Police beat",
        ),
        Level(
            area="community_area",
            layer="community_areas",
            title="Community area",
            dataset="cauq-8yn6",  # Boundaries - Community Areas (current)
            key_property="community",
            label_property="community",
            recorded_column="community_area",
            people_title="Community area",
        ),
        # Records carry no code for the two below: they are placed by geometry only.
        Level(
            area="zip_code",
            layer="zip_codes",
            title="ZIP code",
            dataset="gdcf-axmw",  # Boundaries - ZIP Codes: 61 polygons for 59 ZIPs
            key_property="zip",
            label_property="zip",
            merge_pieces=True,  # 60643 and 60707 come in two pieces each
            people_title="ZIP code",
        ),
        Level(
            area="neighborhood",
            layer="neighborhoods",
            title="Neighborhood",
            dataset="bbvz-uum9",  # Boundaries - Neighborhoods (98 informal neighbourhoods)
            key_property="pri_neigh",
            label_property="pri_neigh",
            people_title="Neighborhood",
        ),
    ),
)

#: The city this installation serves.
CITY = CHICAGO
#: Levels by area name, in registry order.
LEVELS: dict[str, Level] = {level.area: level for level in CITY.levels}
#: Levels by their store layer name.
LAYERS: dict[str, Level] = {level.layer: level for level in CITY.levels}

#: What each `--kind` counts, as required values of the victims' boolean columns
#: (`fatal` is victimization HOMICIDE). Declared here, free of pandas, so the CLI's
#: parser knows the choices without importing what computes them; `pipeline.aggregate`
#: derives its pandas and SQL filters from it.
KIND_RULES: dict[str, dict[str, bool]] = {
    "shootings": {"gunshot": True},  # gunshot victims, fatal or not
    "fatal-shootings": {"gunshot": True, "fatal": True},
    "nonfatal-shootings": {"gunshot": True, "fatal": False},
    "homicides": {"fatal": True},  # every homicide victim, any weapon
}
#: victims: one per person shot/killed; incidents: distinct case numbers.
MEASURES = ("victims", "incidents")
#: geometry: current boundaries by point-in-polygon (comparable across years);
#: recorded: the codes CPD wrote on each record at the time.
BASES = ("geometry", "recorded")
