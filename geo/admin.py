from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geo.models import Place


@admin.register(Place)
class PlaceAdmin(LeafletGeoAdmin):
    list_display = ["name", "name_ru", "region", "country_code", "population"]
    list_filter = ["country_code"]
    search_fields = ["name", "name_ru"]
    ordering = ["-population"]

    def has_add_permission(self, request):
        return False  # reference data: reload it with `manage.py load_gazetteer`

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
