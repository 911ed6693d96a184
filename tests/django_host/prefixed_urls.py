from django.urls import include, path

urlpatterns = [path("dashboard/", include("neariq_sms.contrib.django.urls"))]
