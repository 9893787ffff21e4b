from django.urls import path

from homeward.gazetteer import views

urlpatterns = [
    path("", views.settlement_list, name="settlement_list"),
    path("suggest/", views.autocomplete, name="settlement_suggest"),
    path("import/", views.import_page, name="gazetteer_import"),
    path("export/<str:fmt>/", views.export, name="gazetteer_export"),
    path("<int:settlement_id>/", views.settlement_page, name="settlement_detail"),
    path("<int:settlement_id>/edit/", views.settlement_edit, name="settlement_edit"),
    path("<int:settlement_id>/names/", views.name_add, name="settlement_name_add"),
    path("<int:settlement_id>/names/<int:name_id>/remove/", views.name_remove, name="settlement_name_remove"),
    path("<int:settlement_id>/population/", views.population_add, name="settlement_population_add"),
    path("<int:settlement_id>/assessments/", views.assessment_add, name="settlement_assessment_add"),
    path("<int:settlement_id>/population.svg", views.population_chart, name="settlement_population_chart"),
]
