from django.urls import path

from homeward.census import views

urlpatterns = [
    path("", views.index_page, name="census_index"),
    path("run/", views.run_start, name="census_run"),
    path("releases/<int:release_id>/", views.release_page, name="census_release"),
    path("releases/<int:release_id>/download/<str:fmt>/", views.release_download, name="census_release_download"),
    path("releases/<int:release_id>/charts/<slug:chart>.svg", views.release_chart, {"fmt": "svg"},
         name="census_release_chart_svg"),
    path("releases/<int:release_id>/charts/<slug:chart>.png", views.release_chart, {"fmt": "png"},
         name="census_release_chart_png"),
    path("snapshots/<int:snapshot_id>/", views.snapshot_page, name="census_snapshot"),
    path("snapshots/<int:snapshot_id>/download/<str:fmt>/", views.snapshot_download, name="census_snapshot_download"),
    path("snapshots/<int:snapshot_id>/charts/<slug:chart>.svg", views.snapshot_chart, {"fmt": "svg"},
         name="census_snapshot_chart_svg"),
    path("snapshots/<int:snapshot_id>/charts/<slug:chart>.png", views.snapshot_chart, {"fmt": "png"},
         name="census_snapshot_chart_png"),
]  # fmt: skip
