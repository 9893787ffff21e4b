from django.urls import path

from homeward.audit import views

urlpatterns = [
    path("", views.event_list, name="audit_events"),
    path("<int:seq>/", views.event_detail, name="audit_event"),
    path("verify/", views.verify_start, name="audit_verify"),
]
