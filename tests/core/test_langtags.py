import pytest

from homeward.core.langtags import script_of, tag_problem


@pytest.mark.parametrize(
    "tag", ["az", "az-Latn", "az-Cyrl", "ru-Cyrl", "hy-Armn", "en", "ru-Latn", "az-Arab-IR", "und"]
)
def test_valid_tags(tag: str) -> None:
    assert tag_problem(tag) is None


@pytest.mark.parametrize(
    ("tag", "why"),
    [("azz-Latn", "not a known language"), ("az-Latin", "not a language tag"), ("xx", "not a known language"),
     ("az-Qaaa", "not a known script"), ("", "not a language tag"), ("AZ", "not a language tag")],
)  # fmt: skip
def test_invalid_tags_say_why(tag: str, why: str) -> None:
    assert why in (tag_problem(tag) or "")


def test_script_of() -> None:
    assert script_of("az-Cyrl") == "Cyrl"
    assert script_of("en") is None
