from django.urls import path

from homeward.registry import views

urlpatterns = [
    path("", views.person_list, name="person_list"),
    path("persons/<int:person_id>/", views.person_page, name="person_detail"),
    path("persons/<int:person_id>/tree/", views.person_tree, name="person_tree"),
    path("persons/<int:person_id>/choose/", views.person_choose, name="person_choose"),
    path("persons/<int:person_id>/links/", views.person_link, name="person_link"),
    path("persons/<int:person_id>/links/<int:link_id>/remove/", views.person_unlink, name="person_unlink"),
    path("persons/<int:person_id>/consents/", views.person_consent, name="person_consent"),
    path("persons/<int:person_id>/intentions/", views.person_intention, name="person_intention"),
    path(
        "persons/<int:person_id>/intentions/withdraw/",
        views.person_intention_withdraw,
        name="person_intention_withdraw",
    ),
    path(
        "persons/<int:person_id>/consents/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="person_consent_withdraw",
    ),
    path("persons/<int:person_id>/requests/", views.request_open, name="subject_request_open"),
    path("persons/<int:person_id>/export/", views.person_export_page, name="person_export"),
    path("persons/<int:person_id>/export.json", views.person_export_json, name="person_export_json"),
    path("households/<int:household_id>/", views.household_page, name="household_detail"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:batch_id>/", views.import_page, name="import_detail"),
    path("imports/<int:batch_id>/problems.csv", views.import_report, name="import_report"),
    path("imports/<int:batch_id>/retry/", views.import_retry, name="import_retry"),
    path("settings/", views.settings_page, name="registry_settings"),
    path("sheets/", views.information_sheets, name="information_sheets"),
    path("sheets/<int:sheet_id>/", views.information_sheet, name="information_sheet"),
    path("requests/", views.request_list, name="subject_request_list"),
    path("requests/<int:request_id>/", views.request_page, name="subject_request_detail"),
    path("requests/<int:request_id>/close/", views.request_close, name="subject_request_close"),
]
