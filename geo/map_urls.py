from django.urls import path

from geo import basemap_views, map_views

app_name = "public_map"

urlpatterns = [
    path("map/", map_views.public_map, name="map"),
    path("map/embed/", map_views.public_map_embed, name="embed"),
    # The base map's vector tiles, one PMTiles archive read with range requests.
    path("map/basemap.pmtiles", basemap_views.basemap_archive, name="basemap"),
]
