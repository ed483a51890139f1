from django.urls import path

from supporters.sms import hooks

app_name = "sms"

urlpatterns = [
    path("sms/hooks/<str:name>/", hooks.hook, name="hook"),
]
