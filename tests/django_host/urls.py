from django.urls import include, path

urlpatterns = [path("", include("neariq_sms.contrib.django.urls"))]
