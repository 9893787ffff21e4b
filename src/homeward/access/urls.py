from django.urls import path

from homeward.access import views

urlpatterns = [
    path("staff/", views.staff_index, name="staff_list"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff_detail"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
