"""The name normaliser on the variant sets of shared/reference/azerbaijani-names.md and more."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeward.core.names import (
    ParsedName,
    detect_script,
    fold,
    latinize,
    parse_full_name,
    skeleton,
    surname_root,
    turkic_lower,
)

# Each set: one name as Azerbaijani Latin, Russian Cyrillic, Russian-derived Latin, English-style Latin, ASCII.
VARIANTS = [
    ["Məmmədov", "Мамедов", "Mamedov", "Mammadov", "Memmedov"],
    ["Əliyev", "Алиев", "Aliyev", "Aliev", "Eliyev"],
    ["Hüseynov", "Гусейнов", "Guseynov", "Guseinov", "Huseynov", "Huseynov"],
    ["Quliyev", "Кулиев", "Гулиев", "Kuliyev", "Kuliev", "Guliyev"],
    ["Cəfərov", "Джафаров", "Dzhafarov", "Djafarov", "Jafarov", "Cafarov"],
    ["Həsənov", "Гасанов", "Gasanov", "Hasanov", "Hesenov"],
    ["Hacıyev", "Гаджиев", "Gadzhiyev", "Gadzhiev", "Hajiyev", "Haciyev"],
    ["İsmayılov", "Исмаилов", "Ismailov", "Ismayilov"],
    ["Xəlilov", "Халилов", "Khalilov", "Xalilov"],
    ["Qasımov", "Касумов", "Гасымов", "Kasumov", "Gasimov", "Qasimov"],
    ["Şükürov", "Шукюров", "Shukyurov", "Shukurov", "Sukurov"],
    ["Gülnarə", "Гюльнара", "Gyulnara", "Gulnara", "Gulnare"],
    ["İlham", "Ильхам", "Ilkham", "Ilham", "ILHAM"],
    ["Zəngəzur", "Зангезур", "Zangezur", "Zangazur", "Зәнҝәзур"],
    ["Cəbrayıl", "Ҹәбрајыл", "Джебраил", "Jabrayil", "Dzhebrail"],
    ["Laçın", "Лачын", "Лачин", "Lachin", "Lacin"],
    ["Şuşa", "Шуша", "Shusha", "Susa"],
    ["Ağdam", "Агдам", "Aghdam", "Agdam"],
    ["Füzuli", "Физули", "Fuzuli", "Fizuli"],
]


@pytest.mark.parametrize("variants", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_every_rendering_of_a_name_has_the_same_skeleton(variants: list[str]) -> None:
    keys = {skeleton(v) for v in variants}
    assert len(keys) == 1, {v: skeleton(v) for v in variants}


def test_folds_keep_different_names_apart_where_skeletons_may_meet() -> None:
    folds = [fold(v[0]) for v in VARIANTS]
    assert len(set(folds)) == len(folds)
    # The skeleton is a coarse blocking key: Hüseynov and Həsənov share one, and the fold tells them apart.
    assert skeleton("Hüseynov") == skeleton("Həsənov")
    assert fold("Hüseynov") != fold("Həsənov")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Zəngəzur", "Zangazur"), ("Zəngəzur", "Zangezur"), ("Cəfərov", "Jafarov"), ("Şükürov", "Shukurov"),
     ("Xəlilov", "Khalilov"), ("Məmmədov", "Mammadov"), ("Əliyev", "Aliev"), ("İsmayılov", "Ismailov")],
)  # fmt: skip
def test_fold_meets_latin_renderings(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_azerbaijani_cyrillic_converts_letter_for_letter() -> None:
    assert latinize("Ҹәбрајыл Һәсәнов Ғоја Ҝүлнарә Өмәр Шүкүр Чинар Хан") == (
        "cəbrayıl həsənov ğoya gülnarə ömər şükür çinar xan"
    )
    # Г is q in Azerbaijani Cyrillic, but g/h/q in Russian renderings: the skeleton puts them together.
    assert latinize("Гасым", cyrillic="az") == "qasım"


def test_turkic_lower_case() -> None:
    assert turkic_lower("İLHAM") == "ilham"
    assert turkic_lower("ISMAYILOV") == "ısmayılov"
    assert len(turkic_lower("İ")) == 1


@pytest.mark.parametrize(
    ("text", "script"),
    [("Zəngəzur", "Latn"), ("Зангезур", "Cyrl"), ("Զանգեզուր", "Armn"), ("123", "Zyyy"), ("Zəngə Зан", "mixed")],
)
def test_detect_script(text: str, script: str) -> None:
    assert detect_script(text) == script


@given(st.text(max_size=40))
def test_forms_never_fail_and_are_ascii(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert skeleton(text).isascii()
    assert fold(folded) == folded


@pytest.mark.parametrize(
    ("variants", "root"),
    [
        (["Məmmədov", "Məmmədova", "Мамедов", "Мамедова", "Mammadov", "Mamedova"], "mamad"),
        (["Əliyev", "Əliyeva", "Алиев", "Aliev", "Aliyeva", "Əlizadə", "Alizade"], "ali"),
        (["Qarabağlı", "Qarabağlı", "Karabagli"], None),
        (["İsmayılov", "Исмаилова", "Ismailov"], "ismail"),
    ],
)
def test_surnames_meet_on_their_root(variants: list[str], root: str | None) -> None:
    roots = {surname_root(v) for v in variants}
    skeletons = {skeleton(r) for r in roots}
    assert len(skeletons) == 1, roots
    if root:
        assert roots == {root}


def test_a_root_keeps_at_least_three_letters() -> None:
    assert surname_root("Ovov") == "ovov"
    assert surname_root("Lili") == "lili"


@pytest.mark.parametrize(
    ("text", "given", "surname", "patronymic", "sex"),
    [
        ("Məmmədov Əli Həsən oğlu", "Əli", "Məmmədov", "Həsən", "M"),
        ("Əli Həsən oğlu Məmmədov", "Əli", "Məmmədov", "Həsən", "M"),
        ("Gülnarə Əli qızı Hüseynova", "Gülnarə", "Hüseynova", "Əli", "F"),
        ("Алиев Ильхам Гейдар оглы", "Ильхам", "Алиев", "Гейдар", "M"),
        ("Гусейнова Гюльнара Алиевна", "Гюльнара", "Гусейнова", "Али", "F"),
        ("Мамедов Али Гасанович", "Али", "Мамедов", "Гасан", "M"),
        ("Mamedov Ali Gasanovich", "Ali", "Mamedov", "Gasan", "M"),
        ("Huseynova Leyla Rauf kyzy", "Leyla", "Huseynova", "Rauf", "F"),
        ("Aliyev Ilham", "Ilham", "Aliyev", "", ""),
        ("Leyla", "Leyla", "", "", ""),
    ],
)
def test_full_names_are_split_in_any_order_and_script(
    text: str, given: str, surname: str, patronymic: str, sex: str
) -> None:
    assert parse_full_name(text) == ParsedName(given=given, surname=surname, patronymic=patronymic, sex_hint=sex)
