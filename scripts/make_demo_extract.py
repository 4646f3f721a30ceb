"""Build gridplan's embedded demo extract from ../shared/data's Beijing Xueyuanlu OSM XML.

The file ships inside the package (``gridplan/data/beijing_xueyuanlu.osm.bz2``) so that ``gridplan demo`` plans a
Chinese neighbourhood on any machine. What is kept is all that gridplan reads: every node, every way, and the
relations that make areas (multipolygons, boundaries); bus and subway route relations and the editors' metadata
(user, uid, changeset, timestamp) are left out. bzip2 keeps it small; osmnx reads ``.osm.bz2`` directly.

Usage: python scripts/make_demo_extract.py [SOURCE.osm] (default ../shared/data/beijing_xueyuanlu_osm/beijing_xueyuanlu.osm)
"""

from __future__ import annotations

import bz2
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "beijing_xueyuanlu_osm" / "beijing_xueyuanlu.osm"
TARGET = Path(__file__).resolve().parents[1] / "gridplan" / "data" / "beijing_xueyuanlu.osm.bz2"
#: Attributes of the editors, not of the map.
METADATA = ("user", "uid", "changeset", "timestamp", "visible")
#: Relations gridplan does not read (transit routes).
ROUTE_TYPES = ("route", "route_master", "public_transport")


def main(source: Path = SOURCE) -> None:
    tree = ET.parse(source)
    root = tree.getroot()
    newest = max(e.get("timestamp", "") for e in root)
    for relation in root.findall("relation"):
        kind = next((t.get("v") for t in relation.findall("tag") if t.get("k") == "type"), "")
        if kind in ROUTE_TYPES:
            root.remove(relation)
    for element in root:
        for key in METADATA:
            element.attrib.pop(key, None)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with bz2.open(TARGET, "wb", compresslevel=9) as out:
        tree.write(out, encoding="UTF-8", xml_declaration=True)
    print(f"{TARGET}: {TARGET.stat().st_size:,} bytes (from {source.stat().st_size:,}); newest edit in the source {newest}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
