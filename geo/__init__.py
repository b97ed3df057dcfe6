"""Geography: boundary layers from the store, point-in-polygon assignment, web-map geometry.

Everything here is in EPSG:4326 (lon, lat degrees), the CRS the store keeps.
Assignment needs no distances; code that measures distances must project first
(EPSG:26916, UTM 16N, metres) and say so.
"""
