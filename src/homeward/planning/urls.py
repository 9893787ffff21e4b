from django.urls import path

from homeward.planning import views

urlpatterns = [
    path("", views.index_page, name="planning_index"),
    path("new/", views.scenario_create, name="planning_create"),
    path("import/", views.scenario_import, name="planning_import"),
    path("compare/", views.compare_page, name="planning_compare"),
    path("<int:scenario_id>/", views.scenario_page, name="planning_scenario"),
    path("<int:scenario_id>/solve/", views.scenario_solve, name="planning_solve"),
    path("<int:scenario_id>/change/", views.scenario_change, name="planning_change"),
    path("<int:scenario_id>/copy/", views.scenario_copy, name="planning_copy"),
    path("<int:scenario_id>/delete/", views.scenario_delete, name="planning_delete"),
    path("<int:scenario_id>/print/", views.scenario_print, name="planning_print"),
    path("<int:scenario_id>/download/<slug:kind>/<str:fmt>/", views.scenario_download, name="planning_download"),
]
