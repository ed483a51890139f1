from django.urls import path

from geo import views

app_name = "geo"

urlpatterns = [
    path("api/places/", views.places, name="places"),
    path("api/locate/", views.locate, name="locate"),
]
