from django.urls import path

from homeward.portal import views

urlpatterns = [
    path("", views.start, name="portal_start"),
    path("consent/", views.consent, name="portal_consent"),
    path("you/", views.you, name="portal_you"),
    path("origin/", views.origin, name="portal_origin"),
    path("family/", views.family, name="portal_family"),
    path("family/add/", views.family_add, name="portal_family_add"),
    path("contact/", views.contact, name="portal_contact"),
    path("intention/", views.intention, name="portal_intention"),
    path("intention/<int:member>/", views.intention, name="portal_intention_of"),
    path("check/", views.check, name="portal_check"),
    path("done/", views.done, name="portal_done"),
    path("return/", views.sign_in, name="portal_sign_in"),
    path("mine/", views.mine, name="portal_mine"),
    path("mine/intention/<int:member>/", views.mine_intention, name="portal_mine_intention"),
    path("mine/intention/<int:member>/withdraw/", views.mine_withdraw, name="portal_mine_withdraw"),
    path("mine/consent/<slug:purpose>/withdraw/", views.mine_consent, name="portal_mine_consent"),
    path("sign-out/", views.sign_out, name="portal_sign_out"),
    path("staff/", views.staff, name="portal_staff"),
]
