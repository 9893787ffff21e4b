from django.urls import path

from homeward.linkage import views

urlpatterns = [
    path("", views.queue_page, name="linkage_queue"),
    path("next/", views.next_page, name="linkage_next"),
    path("run/", views.run_start, name="linkage_run"),
    path("candidates/<int:candidate_id>/", views.candidate_page, name="linkage_candidate"),
    path("candidates/<int:candidate_id>/decide/", views.candidate_decide_view, name="linkage_decide"),
    path("candidates/<int:candidate_id>/revoke/", views.candidate_revoke, name="linkage_revoke"),
    path("persons/<int:person_id>/", views.person_identity, name="linkage_person"),
    path("persons/<int:person_id>/split/", views.person_split_view, name="linkage_split"),
    path("changes/<int:change_id>/undo/", views.change_undo_view, name="linkage_undo"),
]
