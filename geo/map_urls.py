from django.urls import path

from geo import map_views

app_name = "public_map"

urlpatterns = [
    path("map/", map_views.public_map, name="map"),
    path("map/embed/", map_views.public_map_embed, name="embed"),
]
