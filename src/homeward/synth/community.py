"""A fictional displaced community and the registry extracts that would hold it: deterministic for a seed.

People over four generations. Generation 0 are couples displaced from origin settlements of the synthetic
gazetteer in one of two waves (``wave-1``, 1948-1953; ``wave-2``, 1988-1989), together with their
children born before and after the displacement, grandchildren and great-grandchildren (generations 1-3).
Descendants marry within the extended family (another lineage from the same or a nearby settlement) or
outsiders (spouses of no displaced ancestry, who have no generation); women sometimes take the husband's
surname; the old die; families move from Azerbaijan to Russia, Turkey, Georgia, Ukraine, Kazakhstan,
Germany or the United States. Everybody, names included, is made up: any likeness to a real person is
chance.

Each person then appears in one to three sources, each writing names its own way:

- ``az-registry``: Azerbaijani Latin, the official form since 1991 (Məmmədov, Əli oğlu);
- ``az-archive``: Azerbaijani Cyrillic documents of 1958-1991 (Мәммәдов, Әли оғлу), surname first now and then;
- ``ru-registry``: Russian Cyrillic (Мамедов, Гусейнова; "Али оглы" or "Алиевич");
- ``ru-passport``: the Latin of Russian documents (Mamedov, Guseynova, Dzhafarov);
- ``intl-registry``: English-style Latin for people in TR, GE, UA, KZ, DE, US (Mammadov, Huseynova, Jafarov);
- ``portal``: what people type on the web: plain ASCII, careless case.

Every record carries noise: typos, wrong or partial dates, missing fields, a maiden surname in a source
older than the marriage, given name and surname swapped in some Soviet documents. Family links and
households point to records of the same source only.

Output: ``records.csv`` (the ``RECORD_FIELDS`` columns), ``truth.csv`` (record -> true person) and
``persons.csv`` (the true people, for counting against; outsiders have an empty generation and origin).
Generation streams extended family by extended family, so memory holds one family and a bounded shuffle
buffer, whatever the number of records; the last family is cut so that exactly the records asked for come out.
"""

from __future__ import annotations

import csv
import random
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeward.core.names import turkic_lower
from homeward.synth.gazetteer import az_cyrillic, english, generate, russian, russian_latin

if TYPE_CHECKING:
    from homeward.gazetteer.formats import Gazetteer

RECORD_FIELDS: tuple[str, ...] = (
    "record_id", "source", "given_name", "surname", "patronymic", "sex", "birth_date", "birth_place",
    "origin_settlement", "current_country", "household_id", "relation_to_head", "father_record_id",
    "mother_record_id", "spouse_record_id", "death_date", "displacement_date", "displacement_event",
    "current_city",
)  # fmt: skip
TRUTH_FIELDS: tuple[str, ...] = ("record_id", "person_id")
PERSON_FIELDS: tuple[str, ...] = (
    "person_id", "sex", "birth_year", "generation", "origin_settlement", "displaced", "father_id", "mother_id",
    "current_country", "alive",
)  # fmt: skip
SOURCES: tuple[str, ...] = ("az-registry", "az-archive", "ru-registry", "ru-passport", "intl-registry", "portal")
PREFIXES: tuple[str, ...] = ("azr", "aza", "rur", "rup", "int", "web")
RELATIONS: tuple[str, ...] = ("head", "spouse", "child", "parent", "grandchild", "other")
COUNTRIES: tuple[str, ...] = ("AZ", "RU", "TR", "GE", "UA", "KZ", "DE", "US")
WAVES: dict[str, tuple[int, int]] = {"wave-1": (1948, 1953), "wave-2": (1988, 1989)}
TODAY = 2024

AZR, AZA, RUR, RUP, INT, WEB = range(6)
# The language tag of the gazetteer name each source writes a settlement with.
PLACE_LANGS: tuple[str, ...] = ("az-Latn", "az-Cyrl", "ru-Cyrl", "ru-Latn", "en", "en")

# Given names, the commonest first: choice weights fall with the rank, so that names collide as they do.
MALE: list[str] = ["Əli", "Məmməd", "Hüseyn", "Həsən", "Elçin", "Rəşid", "Vüqar", "Rauf", "Tofiq", "Vaqif", "İlham",
                   "Elxan", "Kamran", "Rövşən", "Nazim", "Ramiz", "Sabir", "Cəfər", "Qasım", "İsmayıl", "Xəlil",
                   "Famil", "Natiq", "Zaur", "Orxan", "Tural", "Murad", "Nihad", "Anar", "Emil", "Ceyhun", "Fuad",
                   "Elnur", "Elşən", "Vüsal", "Ramil", "Rasim", "Şahin", "Yaşar", "Əkbər", "Əhməd", "Mehdi", "Kərim",
                   "Səməd", "Səlim", "Nadir", "Rza", "Abbas", "Bəhram", "Fərhad", "Nəriman", "Sərdar", "Teymur",
                   "Tahir", "Zakir", "Ziya", "Məhəmməd", "Vəli", "Sadıq", "Şükür", "Cabbar", "Qafar", "Bəşir",
                   "Ələsgər", "Allahverdi", "Heydər", "İbrahim", "İsa", "Musa", "Yusif", "Yaqub", "Davud",
                   "Süleyman", "Nurəddin", "Camal", "Kamal", "Cəlal", "Cavid", "Cavad", "Eldar", "Elman", "Elmar",
                   "Elvin", "Emin", "Ənvər", "Etibar", "Fazil", "Fikrət", "Habil", "Hafiz", "Hikmət", "İlqar",
                   "İlyas", "İmran", "İsgəndər", "Kamil", "Kazım", "Mahir", "Malik", "Mansur", "Mübariz", "Müşfiq",
                   "Namiq", "Nəsib", "Nizami", "Nurlan", "Oqtay", "Oruc", "Pərviz", "Qabil", "Qüdrət", "Rafiq",
                   "Ramin", "Rəhim", "Rüstəm", "Sahib", "Samir", "Sənan", "Seymur", "Şamil", "Talıb", "Telman",
                   "Ülvi", "Vahid", "Valeh", "Vidadi", "Vilayət", "Yavər", "Yunis", "Zahid", "Zəfər", "Zülfüqar",
                   "Bəxtiyar", "Əziz", "Əsəd", "Ədalət", "Əmir", "Aydın", "Azər", "Bahadur", "Bayram", "Dilavər",
                   "Eyvaz", "Fərid", "Fəxrəddin", "Xaqani", "Xanlar", "Həmid", "Hümbət", "Kənan", "Lətif",
                   "Məhərrəm", "Nəcəf", "Nəbi", "Novruz", "Nüsrət", "Pənah", "Rəhman", "Rəsul", "Sabit", "Səfər",
                   "Tağı", "Tapdıq", "Vəzir", "Zeynal", "Qurban", "Mirzə", "Osman", "Mustafa", "Sultan", "Ağa",
                   "Baba", "Bağır", "Hacı", "Quli", "Qəhrəman", "Şirin", "Paşa"]  # fmt: skip
FEMALE: list[str] = ["Gülnarə", "Leyla", "Aygün", "Səbinə", "Nərmin", "Günay", "Aysel", "Sevinc", "Könül", "Lalə",
                     "Nigar", "Şəbnəm", "Afaq", "Aynur", "Xədicə", "Fatimə", "Zəhra", "Ülviyyə", "Zərifə", "Zeynəb",
                     "Məryəm", "Səkinə", "Tükəzban", "Gülbəniz", "Gülşən", "Gülarə", "Gültəkin", "Dilarə", "Dilbər",
                     "Elnarə", "Elmira", "Esmira", "Fəridə", "Firuzə", "Gövhər", "Hicran", "İradə", "Jalə", "Kəmalə",
                     "Lamiyə", "Mehriban", "Minayə", "Nailə", "Nazilə", "Nərgiz", "Pərvanə", "Rəna", "Röya", "Sara",
                     "Sevda", "Sevil", "Solmaz", "Südabə", "Şəlalə", "Şəhla", "Təranə", "Tərlan", "Türkan", "Ulduz",
                     "Vəfa", "Validə", "Yeganə", "Zümrüd", "Əminə", "Aidə", "Arzu", "Aytən", "Bənövşə", "Billurə",
                     "Cəmilə", "Dürdanə", "Fəxriyyə", "Gülxar", "Həcər", "Hökumə", "İlahə", "İnci", "Kifayət",
                     "Kübra", "Mələk", "Məlahət", "Mətanət", "Nazlı", "Nəzakət", "Nuranə", "Pəri", "Qönçə", "Rəhilə",
                     "Rəfiqə", "Reyhan", "Roza", "Sədaqət", "Səadət", "Səidə", "Simuzər", "Şəfiqə", "Şükufə",
                     "Təhminə", "Tutu", "Ülkər", "Vüsalə", "Xanım", "Xatirə", "Xuraman", "Yasəmən", "Zöhrə",
                     "Zülfiyyə", "Aybəniz", "Aysu", "Aylin", "Ayan", "Fidan", "Günel", "Kamilə", "Lətafət", "Mahirə",
                     "Mədinə", "Nübar", "Rəsmiyyə", "Sona", "Tahirə", "Ülfət", "Zibeydə", "Gülnaz", "Gülyaz",
                     "Nurlanə", "Səma", "Samirə", "Sevgi", "Şahnaz", "Ayşən", "Aynişan", "Dünya", "Elza", "Fərqanə",
                     "Fərizə", "Gülay", "Gülçin", "Güllü", "Həqiqət", "Hüriyyə", "İlhamə", "Kəklik", "Ləman",
                     "Mənsurə", "Münəvvər", "Nərgilə", "Nəsrin", "Pakizə", "Raziyə", "Sənubər", "Səriyyə",
                     "Şərqiyyə", "Tamilla", "Turan", "Vəsilə", "Yaqut"]  # fmt: skip
# Surname roots: the commonest given names of old (Məmməd -> Məmmədov), then titles and older names.
_ROOT_HEAD: list[str] = ["Məmməd", "Əli", "Hüseyn", "Həsən", "Quli", "Qasım", "İsmayıl", "Cəfər", "Hacı", "Abbas",
                         "Rza", "Bağır", "Kərim", "Baba", "Ağa", "Musa", "Xəlil", "Vəli", "Nəcəf", "Əhməd", "Rəsul",
                         "Mustafa", "Novruz", "Bayram", "Süleyman", "Tağı", "Zeynal", "Səfər", "Paşa", "Sultan",
                         "Osman", "Qurban", "Şirin", "Qəhrəman", "Heydər"]  # fmt: skip
_ROOT_EXTRA: list[str] = ["Abdulla", "Nəsrulla", "Həbib", "Ələkbər", "Əsgər", "Allahyar", "İmaməli", "Mirzəli",
                          "Cahangir", "Qənbər", "Qədir", "Xudaverdi", "Kərbəlayı", "Molla", "Seyid", "Usta",
                          "Dəmirçi", "Bəy", "Xan", "Nəsir", "Şəfi", "Hümmət", "Əhəd", "Məcid", "Cəmil", "Nağı",
                          "Şıxəli", "Həmzə", "Əmiraslan", "Yəhya", "Əbdül", "Qara", "Ağabəy", "Xəlifə", "Sarı",
                          "Sofu", "Rəcəb", "Şaban", "Ramazan", "Bayramalı", "Dadaş", "Əlyar", "Əmrah", "Əsədulla",
                          "Hidayət", "İsrafil", "Mikayıl", "Cəbrayıl", "Səttar", "Bədəl", "Binnət", "Firudin",
                          "Fərəc", "Göyüş", "Hətəm", "Mehrəli", "Pirverdi", "Salman", "Tanrıverdi", "Veysəl",
                          "Yadigar", "Zamin", "Ələddin", "Əbülfəz", "Aslan", "Arif", "Atakişi", "Ağasəf", "Babək",
                          "Cümşüd", "Dəmir", "Eyyub", "Fətəli", "Güləli", "Mahmud", "Məşədi", "Muxtar", "Nəzər",
                          "Qurbanəli", "Şahbaz", "Şahmar", "Umud", "Vahab", "Zeynalabdin", "Mehralı", "Qafur",
                          "Əlmərdan", "Əliağa", "Əbil", "Xankişi", "Nəbiağa", "Məhəmmədəli", "Şükürəli", "Hacıağa",
                          "Kazımağa", "Allahqulu", "Nəcəfqulu", "Ağakişi", "Hacıbaba", "Cavanşir", "Fərman",
                          "Fətulla", "Həşim", "İbiş", "Kamandar", "Qiyas", "Mürsəl", "Nurməmməd", "Rüfət", "Şəmsi",
                          "Tahmaz", "Tarverdi", "Yolçu", "Zülfəli", "Əmiralı", "Bəylər", "Mehdiqulu", "Əlişir",
                          "Qulam", "Qaçay", "Həsənağa", "İsfəndiyar", "Qaraş", "Ağalar", "Bünyad", "Dursun",
                          "Eynulla", "Fərzəli", "Gülməmməd", "Hüseynqulu", "İldırım", "Mehbalı", "Nemət",
                          "Pirməmməd", "Səməndər", "Teyyub", "Vəkil", "Yunus"]  # fmt: skip
ROOTS: list[str] = list(dict.fromkeys([*_ROOT_HEAD, *MALE, *_ROOT_EXTRA]))

# Cities of today's countries as (az-Latn, az-Cyrl, ru-Cyrl, ru-Latn, en), the first ones more populous.
CITIES: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "AZ": (
        ("Bakı", "Бакы", "Баку", "Baku", "Baku"),
        ("Sumqayıt", "Сумгајыт", "Сумгаит", "Sumgait", "Sumgayit"),
        ("Gəncə", "Ҝәнҹә", "Гянджа", "Gyandzha", "Ganja"),
        ("Mingəçevir", "Минҝәчевир", "Мингечевир", "Mingechevir", "Mingachevir"),
        ("Şirvan", "Ширван", "Ширван", "Shirvan", "Shirvan"),
        ("Yevlax", "Јевлах", "Евлах", "Yevlakh", "Yevlakh"),
        ("Bərdə", "Бәрдә", "Барда", "Barda", "Barda"),
        ("Ağcabədi", "Ағҹабәди", "Агджабеди", "Agdzhabedi", "Aghjabadi"),
    ),
    "RU": (
        ("Moskva", "Москва", "Москва", "Moskva", "Moscow"),
        ("Sankt-Peterburq", "Санкт-Петербург", "Санкт-Петербург", "Sankt-Peterburg", "Saint Petersburg"),
        ("Yekaterinburq", "Јекатеринбург", "Екатеринбург", "Yekaterinburg", "Yekaterinburg"),
        ("Novosibirsk", "Новосибирск", "Новосибирск", "Novosibirsk", "Novosibirsk"),
        ("Rostov-na-Donu", "Ростов-на-Дону", "Ростов-на-Дону", "Rostov-na-Donu", "Rostov-on-Don"),
        ("Krasnodar", "Краснодар", "Краснодар", "Krasnodar", "Krasnodar"),
        ("Saratov", "Саратов", "Саратов", "Saratov", "Saratov"),
        ("Dərbənd", "Дәрбәнд", "Дербент", "Derbent", "Derbent"),
    ),
    "TR": (
        ("İstanbul", "Истанбул", "Стамбул", "Stambul", "Istanbul"),
        ("Ankara", "Анкара", "Анкара", "Ankara", "Ankara"),
        ("İzmir", "Измир", "Измир", "Izmir", "Izmir"),
        ("Bursa", "Бурса", "Бурса", "Bursa", "Bursa"),
        ("Iğdır", "Ығдыр", "Игдыр", "Igdyr", "Igdir"),
        ("Kars", "Карс", "Карс", "Kars", "Kars"),
    ),
    "GE": (
        ("Tiflis", "Тифлис", "Тбилиси", "Tbilisi", "Tbilisi"),
        ("Rustavi", "Рустави", "Рустави", "Rustavi", "Rustavi"),
        ("Marneuli", "Марнеули", "Марнеули", "Marneuli", "Marneuli"),
        ("Qardabani", "Гардабани", "Гардабани", "Gardabani", "Gardabani"),
        ("Batumi", "Батуми", "Батуми", "Batumi", "Batumi"),
    ),
    "UA": (
        ("Kiyev", "Кијев", "Киев", "Kiyev", "Kyiv"),
        ("Xarkov", "Харков", "Харьков", "Kharkov", "Kharkiv"),
        ("Odessa", "Одесса", "Одесса", "Odessa", "Odesa"),
        ("Dnepr", "Днепр", "Днепр", "Dnepr", "Dnipro"),
    ),
    "KZ": (
        ("Almatı", "Алматы", "Алматы", "Almaty", "Almaty"),
        ("Astana", "Астана", "Астана", "Astana", "Astana"),
        ("Şımkənd", "Шымкәнд", "Шымкент", "Shymkent", "Shymkent"),
        ("Taraz", "Тараз", "Тараз", "Taraz", "Taraz"),
    ),
    "DE": (
        ("Berlin", "Берлин", "Берлин", "Berlin", "Berlin"),
        ("Hamburq", "Һамбург", "Гамбург", "Gamburg", "Hamburg"),
        ("Köln", "Көлн", "Кёльн", "Kyoln", "Cologne"),
        ("Münhen", "Мүнһен", "Мюнхен", "Myunkhen", "Munich"),
        ("Frankfurt", "Франкфурт", "Франкфурт-на-Майне", "Frankfurt-na-Mayne", "Frankfurt am Main"),
    ),
    "US": (
        ("Nyu-York", "Нју-Јорк", "Нью-Йорк", "Nyu-York", "New York"),
        ("Hyuston", "Һјустон", "Хьюстон", "Khyuston", "Houston"),
        ("Los-Anceles", "Лос-Анҹелес", "Лос-Анджелес", "Los-Andzheles", "Los Angeles"),
        ("Çikaqo", "Чикаго", "Чикаго", "Chikago", "Chicago"),
    ),
}
# Where the families live today: mostly Azerbaijan and Russia.
COUNTRY_WEIGHTS: tuple[int, ...] = (62, 22, 4, 3, 3, 3, 2, 1)
# Republics of the Soviet Union: a family could move there before 1991.
SOVIET = frozenset({"AZ", "RU", "GE", "UA", "KZ"})

_VOWELS = frozenset("aıoueəiöüAIOUEƏİÖÜ")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_OV, _LI, _ZADE = 0, 1, 2
# Children per couple by the couple's generation: larger families in the older generations.
_CHILDREN: tuple[tuple[int, ...], ...] = (
    (2, 5, 12, 20, 22, 18, 12, 9),
    (5, 10, 25, 30, 18, 8, 4),
    (10, 25, 35, 20, 10),
)
# The share of people in only one registry (else two, where two could hold them); the portal comes on top.
_SOURCE_COUNT = 0.2
_SHUFFLE = 8192
_SCRAMBLE = 7_368_787  # coprime with any power of ten: record numbers map one-to-one onto ids


@dataclass(frozen=True)
class Origin:
    """A settlement the community was displaced from: its gazetteer id and its name per language tag."""

    gid: str
    names: dict[str, str]


def origins_from_gazetteer(gaz: Gazetteer) -> list[Origin]:
    """Every settlement of a gazetteer with, per language, its current (or last) official name or transliteration."""
    out = []
    for place in gaz.places:
        names: dict[str, str] = {}
        ended: dict[str, str] = {}
        for name in place.names:
            if name.kind not in ("official", "transliteration"):
                continue
            if name.end_earliest is None:
                names.setdefault(name.lang, name.toponym)
            else:
                ended[name.lang] = name.toponym
        for lang, toponym in ended.items():
            names.setdefault(lang, toponym)
        names.setdefault("az-Latn", place.title)
        out.append(Origin(gid=place.gid, names=names))
    return out


def _place_names(origin: Origin) -> tuple[str, ...]:
    """The settlement's name in each source's language, transliterated from Azerbaijani Latin where missing."""
    az = origin.names.get("az-Latn") or next(iter(origin.names.values()), origin.gid)
    ru = origin.names.get("ru-Cyrl") or russian(az)
    made = {"az-Latn": az, "az-Cyrl": az_cyrillic(az), "ru-Cyrl": ru, "ru-Latn": russian_latin(ru), "en": english(az)}
    return tuple(origin.names.get(lang) or made[lang] for lang in PLACE_LANGS)


# ---------------------------------------------------------------------------------------------- renderings

# Russian renderings that letter rules do not reach (Məmməd -> Мамед, Hüseyn -> Гусейн).
_RU_WORDS = {
    "məmməd": "мамед", "məhəmməd": "магомед", "hüseyn": "гусейн", "ilham": "ильхам", "əhməd": "ахмед",
    "mehdi": "мехти", "qasım": "касум", "ismayıl": "исмаил", "şükür": "шукюр", "gülnarə": "гюльнара",
    "hacı": "гаджи", "ələsgər": "алескер", "əkbər": "акпер", "heydər": "гейдар", "yusif": "юсиф", "rza": "рза",
    "fatimə": "фатима", "zeynəb": "зейнаб", "yaqub": "якуб", "süleyman": "сулейман", "xədicə": "хадиджа",
    "ağa": "ага", "tağı": "таги", "quli": "кули", "həsən": "гасан", "cəfər": "джафар", "ələkbər": "алекпер",
}  # fmt: skip
_RU_CONSONANTS = "бвгджзклмнпрстфхцчш"
_ASCII_E = str.maketrans({"ə": "e", "Ə": "E", "ş": "s", "Ş": "S", "ç": "c", "Ç": "C", "ğ": "g", "Ğ": "G",
                          "ı": "i", "İ": "I", "ö": "o", "Ö": "O", "ü": "u", "Ü": "U"})  # fmt: skip
_ASCII_A = str.maketrans({"ə": "a", "Ə": "A", "ş": "sh", "Ş": "Sh", "ç": "ch", "Ç": "Ch", "ğ": "g", "Ğ": "G",
                          "ı": "i", "İ": "I", "ö": "o", "Ö": "O", "ü": "u", "Ü": "U"})  # fmt: skip


@cache
def russian_word(word: str) -> str:
    """An Azerbaijani name as Russian documents write it: Hüseyn -> Гусейн, Gülnarə -> Гюльнара, Elçin -> Эльчин."""
    low = turkic_lower(word)
    out = _RU_WORDS.get(low)
    if out is None:
        text = {"ü": "u", "ö": "o"}.get(low[:1], low[:1]) + low[1:]
        text = text.replace("yy", "y").replace("yı", "i")
        if text.endswith("ı"):
            text = text[:-1] + "i"
        # Russian writes an initial h as г but a medial one as х (Həmid -> Гамид, Tahir -> Тахир).
        text = text[:1] + text[1:].replace("h", "x")
        if text.endswith("ət"):
            text = text[:-2] + "et"
        out = russian(text)
        if low.startswith("e"):
            out = "э" + out[1:]
        out = out.replace("йе", "е")
        out = "".join(
            "ль" if ch == "л" and i + 1 < len(out) and out[i + 1] in _RU_CONSONANTS else ch for i, ch in enumerate(out)
        )
        for hard in "шчж":
            out = out.replace(hard + "ю", hard + "у").replace(hard + "ё", hard + "о")
    return out[:1].upper() + out[1:]


def _surname_az(root: str, kind: int, female: bool) -> str:
    if kind == _ZADE:
        return root + "zadə"
    if kind == _LI:
        last = next((ch for ch in reversed(turkic_lower(root)) if ch in _VOWELS), "a")
        return root + {"a": "lı", "ı": "lı", "o": "lu", "u": "lu", "ö": "lü", "ü": "lü"}.get(last, "li")
    return root + ("yev" if root[-1] in _VOWELS else "ov") + ("a" if female else "")


def _surname_ru(root: str, kind: int, female: bool) -> str:
    base = russian_word(root)
    if kind == _ZADE:
        return base + "заде"
    if kind == _LI:
        last = next((ch for ch in reversed(turkic_lower(root)) if ch in _VOWELS), "a")
        return base + {"a": "лы", "ı": "лы", "o": "лу", "u": "лу", "ö": "лю", "ü": "лю"}.get(last, "ли")
    return base + ("ев" if root[-1] in _VOWELS else "ов") + ("а" if female else "")


def _passport_variant(text: str, variant: int) -> str:
    if variant == 1:
        return text.replace("iev", "iyev")
    if variant == 2:
        return text.replace("Dzh", "Dj").replace("dzh", "dj")
    return text


@cache
def render_given(style: int, name: str, variant: int = 0) -> str:
    """A given name (Azerbaijani Latin) as source ``style`` (an index into ``SOURCES``) writes it."""
    if style == AZR:
        return name
    if style == AZA:
        return az_cyrillic(name)
    if style == RUR:
        return russian_word(name)
    if style == RUP:
        return _passport_variant(russian_latin(russian_word(name)), variant)
    if style == INT:
        return english(name)
    return name.translate(_ASCII_A if variant else _ASCII_E)


@cache
def render_surname(style: int, root: str, kind: int, female: bool, variant: int = 0) -> str:
    """A surname from its root and kind (-ov/-yev, -li, -zadə) as source ``style`` writes it."""
    if style in (RUR, RUP):
        text = _surname_ru(root, kind, female)
        return text if style == RUR else _passport_variant(russian_latin(text), variant)
    return render_given(style, _surname_az(root, kind, female), variant)


@cache
def render_patronymic(style: int, father: str, female: bool, variant: int = 0) -> str:
    """The patronymic (Əli oğlu, Əli qızı) as each source writes it; Russian ones also write Алиевич, Алиевна."""
    if style in (RUR, RUP):
        base = russian_word(father)
        if variant == 1:
            text = base + ("ев" if base[-1] in "аеиоуыэюя" else "ов") + ("на" if female else "ич")
        else:
            text = base + (" кызы" if female else " оглы")
        return text if style == RUR else russian_latin(text)
    if style == INT:
        return english(father) + (" gizi" if female else " oglu")
    return render_given(style, father + (" qızı" if female else " oğlu"), variant)


# ---------------------------------------------------------------------------------------------- people


class _Person:
    __slots__ = (
        "age", "az_born", "az_city", "az_to", "bd", "bm", "bplace", "by", "city", "country", "couple", "death",
        "disp", "dyear", "father", "fgiven", "gen", "given", "hh", "home", "kids", "kind", "mkind", "mother",
        "mroot", "myear", "origin", "pid", "recs", "rel", "root", "roots", "sex", "spouse", "srcs", "wave",
    )  # fmt: skip

    def __init__(self, sex: str, given: str, fgiven: str, root: str, kind: int, by: int, bm: int, bd: int) -> None:
        self.sex = sex
        self.given = given
        self.fgiven = fgiven
        self.root = root
        self.kind = kind
        self.mroot: str | None = None
        self.mkind = _OV
        self.myear = 0
        self.by, self.bm, self.bd = by, bm, bd
        self.death: tuple[int, int, int] | None = None
        self.gen = -1
        self.origin = -1
        self.dyear = 0
        self.disp: tuple[int, int, int] | None = None
        self.wave = ""
        self.bplace = 0
        self.father: _Person | None = None
        self.mother: _Person | None = None
        self.spouse: _Person | None = None
        self.couple: _Couple | None = None
        self.home: _Couple | None = None
        self.az_born = True
        self.az_to: int | None = None
        self.country = "AZ"
        self.city = 0
        self.az_city = 0
        self.hh = -1
        self.rel = ""
        self.kids = 0
        self.roots = 0
        self.age = 0
        self.pid = ""
        self.srcs: list[tuple[int, int, bool]] = []
        self.recs: list[str] = ["", "", "", "", "", ""]


class _Couple:
    __slots__ = ("az_city", "children", "city", "country", "disp", "gen", "hh", "husband", "left", "own",
                 "settlement", "wife", "year")  # fmt: skip

    def __init__(self, husband: _Person, wife: _Person, year: int, gen: int) -> None:
        self.husband = husband
        self.wife = wife
        self.year = year
        self.gen = gen
        self.country = "AZ"
        self.left: int | None = None  # the year the family left Azerbaijan (None: it lives there)
        self.city = 0
        self.az_city = 0
        self.settlement = -1
        self.disp: tuple[int, int, int] | None = None
        self.hh = -1
        self.own = True
        self.children: list[_Person] = []


def _zipf(count: int, exponent: float, offset: float) -> list[float]:
    return list(accumulate(1.0 / (rank + offset) ** exponent for rank in range(count)))


class _Community:
    """One generation run: draws extended families and turns them into source records."""

    def __init__(self, records: int, seed: int, origins: list[Origin]) -> None:
        if not origins:
            raise ValueError("at least one origin settlement is needed")
        if records < 0:
            raise ValueError("the number of records cannot be negative")
        self.rng = random.Random(seed)
        self.target = records
        self.origins = origins
        self.places = [_place_names(o) for o in origins]
        self.cities: list[tuple[str, str, str, str, str]] = []
        self.city_index: dict[str, list[int]] = {}
        for country in COUNTRIES:
            for names in CITIES[country]:
                self.city_index.setdefault(country, []).append(len(self.cities))
                self.cities.append(names)
        self.city_weights = {
            c: list(accumulate(1.0 / (i + 1) for i in range(len(v)))) for c, v in self.city_index.items()
        }
        self.male_cum = _zipf(len(MALE), 0.9, 3)
        self.female_cum = _zipf(len(FEMALE), 0.9, 3)
        self.root_cum = _zipf(len(ROOTS), 1.0, 1)
        self.country_cum = list(accumulate(COUNTRY_WEIGHTS))
        self.foreign_cum = list(accumulate(COUNTRY_WEIGHTS[1:]))
        width = max(7, len(str(records)))
        self.modulus = 10**width
        self.width = width
        self.hh_width = max(6, len(str(records)))
        self.pid_width = width
        self.offsets = [self.rng.randrange(self.modulus) for _ in SOURCES]
        self.hh_offsets = [self.rng.randrange(10**self.hh_width) for _ in SOURCES]
        self.counts = [0] * len(SOURCES)
        self.hh_counts = [0] * len(SOURCES)
        self.persons = 0
        self.households = 0

    # -- drawing names and places

    def _male(self) -> str:
        rng = self.rng
        return MALE[bisect(self.male_cum, rng.random() * self.male_cum[-1])]

    def _female(self) -> str:
        return FEMALE[bisect(self.female_cum, self.rng.random() * self.female_cum[-1])]

    def _surname(self) -> tuple[str, int]:
        rng = self.rng
        root = ROOTS[bisect(self.root_cum, rng.random() * self.root_cum[-1])]
        r = rng.random()
        if r < 0.86:
            return root, _OV
        if r < 0.95:
            return root, (_OV if root[-1] in _VOWELS else _LI)
        return root, _ZADE

    def _city(self, country: str) -> int:
        cum = self.city_weights[country]
        return self.city_index[country][bisect(cum, self.rng.random() * cum[-1])]

    def _country(self, foreign: bool = False) -> str:
        cum = self.foreign_cum if foreign else self.country_cum
        pick = bisect(cum, self.rng.random() * cum[-1])
        return COUNTRIES[pick + 1 if foreign else pick]

    def _birth(self, year: int) -> tuple[int, int, int]:
        month = self.rng.randint(1, 12)
        return year, month, self.rng.randint(1, _MONTH_DAYS[month - 1])

    def _die(self, person: _Person, not_before: int) -> None:
        """Old age: a lifespan around 75 years, at least ``not_before``; nobody younger than 45 dies here."""
        age = min(102, max(45, int(self.rng.gauss(75, 10))))
        year = max(person.by + age, not_before)
        if year <= TODAY:
            month = self.rng.randint(1, 12)
            person.death = (year, month, self.rng.randint(1, _MONTH_DAYS[month - 1]))

    # -- families

    def _clan(self) -> list[_Person]:
        """An extended family: one to three displaced households of neighbouring settlements, and descendants."""
        rng = self.rng
        wave = "wave-1" if rng.random() < 0.35 else "wave-2"
        first, last = WAVES[wave]
        base_year = rng.randint(first, last)
        base_month = rng.randint(1, 12)
        home = rng.randrange(len(self.origins))
        persons: list[_Person] = []
        couples: list[_Couple] = []
        for i in range(rng.choices((1, 2, 3), (50, 35, 15))[0]):
            settlement = home if i == 0 or rng.random() < 0.6 else self._nearby(home)
            month = min(12, max(1, base_month + rng.randint(-1, 1)))
            disp = (base_year, month, rng.randint(1, _MONTH_DAYS[month - 1]))
            couples.append(self._displaced_couple(settlement, disp, wave, i, persons))
        frontier = couples[:]
        while frontier:
            fresh: list[_Person] = []
            for couple in frontier:
                if couple.gen < len(_CHILDREN):
                    fresh.extend(self._children(couple, persons))
            frontier = self._marry(fresh, persons, couples)
        self._households(couples, persons)
        return persons

    def _nearby(self, settlement: int) -> int:
        step = self.rng.choice((-3, -2, -1, 1, 2, 3))
        return (settlement + step) % len(self.origins)

    def _displaced_couple(
        self, settlement: int, disp: tuple[int, int, int], wave: str, lineage: int, persons: list[_Person]
    ) -> _Couple:
        rng = self.rng
        year = disp[0]
        hby = rng.randint(1910 if wave == "wave-1" else 1925, year - 20)
        wby = min(hby + rng.randint(0, 8), year - 17, 1975)
        married = min(year, max(hby + rng.randint(20, 30), wby + rng.randint(17, 24)))
        husband = _Person("M", self._male(), self._male(), *self._surname(), *self._birth(hby))
        wife = _Person("F", self._female(), self._male(), *self._surname(), *self._birth(wby))
        wife_home = settlement if rng.random() < 0.7 else self._nearby(settlement)
        couple = _Couple(husband, wife, married, 0)
        couple.settlement = settlement
        couple.disp = disp
        for person, born_in in ((husband, settlement), (wife, wife_home)):
            person.gen = 0
            person.origin = settlement
            person.dyear = year
            person.disp = disp
            person.wave = wave
            person.bplace = born_in
            person.roots = 1 << lineage
            person.spouse = husband if person is wife else wife
            person.couple = couple
            person.myear = married
            self._die(person, year + 1)
            persons.append(person)
        self._take_surname(wife, husband, married)
        couple.az_city = self._city("AZ")
        country = self._country()
        left: int | None = None
        if country != "AZ":
            last_alive = max(p.death[0] if p.death else TODAY for p in (husband, wife))
            if wave == "wave-2" and country == "RU" and rng.random() < 0.3:
                left = year  # straight from the origin to Russia
            else:
                low = year + 1 if country in SOVIET else 1991
                high = min(2015, last_alive)
                if low <= high:
                    left = rng.randint(low, high)
                else:
                    country = "AZ"
        couple.country, couple.left = country, left
        couple.city = couple.az_city if country == "AZ" else self._city(country)
        for person in (husband, wife):
            person.az_to = left
            person.country, person.city, person.az_city = country, couple.city, couple.az_city
        return couple

    def _take_surname(self, wife: _Person, husband: _Person, year: int) -> None:
        share = 0.5 if year >= 1960 else 0.3
        if (wife.root, wife.kind) != (husband.root, husband.kind) and self.rng.random() < share:
            wife.mroot, wife.mkind = husband.root, husband.kind

    def _children(self, couple: _Couple, persons: list[_Person]) -> list[_Person]:
        rng = self.rng
        father, mother = couple.husband, couple.wife
        weights = _CHILDREN[couple.gen]
        count = rng.choices(range(len(weights)), weights)[0]
        upper = min(mother.by + 42, TODAY)
        if mother.death:
            upper = min(upper, mother.death[0] - 1)
        if father.death:
            upper = min(upper, father.death[0])
        community = father if father.gen >= 0 else mother
        year = couple.year + rng.randint(1, 3)
        out: list[_Person] = []
        for _ in range(count):
            if year > upper:
                break
            male = rng.random() < 0.51
            if male:
                given = father.fgiven if rng.random() < 0.12 else self._male()
            elif father.mother is not None and rng.random() < 0.08:
                given = father.mother.given
            else:
                given = self._female()
            root, kind = father.root, father.kind
            if male and year < 1950 and rng.random() < 0.1:
                root, kind = father.given, _OV  # the Soviet-era practice: a surname from the father's name
            elif year >= 1992 and couple.left is None and rng.random() < 0.05:
                kind = _ZADE if root[-1] in _VOWELS else _LI  # after 1991 some dropped the Russian -ov
            child = _Person("M" if male else "F", given, father.given, root, kind, *self._birth(year))
            child.father, child.mother, child.home = father, mother, couple
            child.gen = couple.gen + 1
            child.origin = community.origin
            child.dyear = community.dyear
            child.roots = father.roots | mother.roots
            born = (child.by, child.bm, child.bd)
            if couple.disp is not None and born < couple.disp:
                child.bplace = couple.settlement
            elif couple.left is None or year < couple.left:
                child.bplace = -1 - couple.az_city
            else:
                child.bplace = -1 - couple.city
                child.az_born = False
            child.az_to = couple.left if child.az_born else None
            child.country, child.city, child.az_city = couple.country, couple.city, couple.az_city
            self._die(child, 0)
            father.kids += 1
            mother.kids += 1
            couple.children.append(child)
            persons.append(child)
            out.append(child)
            year += rng.randint(1, 4)
        return out

    def _marry(self, fresh: list[_Person], persons: list[_Person], couples: list[_Couple]) -> list[_Couple]:
        rng = self.rng
        fresh.sort(key=lambda p: p.by)
        made: list[_Couple] = []
        for person in fresh:
            if person.spouse is not None:
                continue
            year = person.by + (rng.randint(22, 32) if person.sex == "M" else rng.randint(18, 28))
            if year > TODAY or rng.random() > 0.88 or (person.death and person.death[0] <= year):
                continue
            partner = self._partner(person, fresh, year) if rng.random() < 0.35 else None
            if partner is None:
                partner = self._outsider(person, year)
            else:
                year = max(year, partner.by + 18)
            if partner.gen < 0:
                persons.append(partner)
            husband, wife = (person, partner) if person.sex == "M" else (partner, person)
            gens = [p.gen for p in (husband, wife) if p.gen >= 0]
            couple = _Couple(husband, wife, year, min(gens))
            husband.spouse, wife.spouse = wife, husband
            husband.couple = wife.couple = couple
            husband.myear = wife.myear = year
            self._take_surname(wife, husband, year)
            self._settle(couple)
            couples.append(couple)
            made.append(couple)
        return made

    def _partner(self, person: _Person, fresh: list[_Person], year: int) -> _Person | None:
        """An unmarried member of another lineage of the family, of fitting sex and age, in the same country."""
        for other in fresh:
            if other.spouse is not None or other.sex == person.sex or other.roots & person.roots:
                continue
            if other.country != person.country or (other.death and other.death[0] <= year + 1):
                continue
            gap = (other.by - person.by) if person.sex == "M" else (person.by - other.by)
            if -2 <= gap <= 8 and max(year, other.by + 18) <= TODAY:
                return other
        return None

    def _outsider(self, person: _Person, year: int) -> _Person:
        rng = self.rng
        if person.sex == "M":
            by = min(person.by + rng.randint(0, 7), year - 17)
            outsider = _Person("F", self._female(), self._male(), *self._surname(), *self._birth(by))
        else:
            by = person.by - rng.randint(0, 7)
            outsider = _Person("M", self._male(), self._male(), *self._surname(), *self._birth(by))
        self._die(outsider, year + 1)
        return outsider

    def _settle(self, couple: _Couple) -> None:
        """Where a new couple lives: with the husband's (or the member's) family, or a move of its own."""
        rng = self.rng
        husband, wife, year = couple.husband, couple.wife, couple.year
        base = husband if husband.gen >= 0 else wife
        abroad = not base.az_born or (base.az_to is not None and base.az_to <= year)
        last_alive = min(p.death[0] if p.death else TODAY for p in (husband, wife))
        couple.az_city = base.az_city
        if abroad:
            country = base.country if rng.random() < 0.92 else self._country(foreign=True)
            left = base.az_to if base.az_born else base.by
            city = base.city if country == base.country and rng.random() < 0.8 else self._city(country)
        else:
            home = base.home
            if home is not None and rng.random() < 0.7:
                country, left = home.country, home.left
            else:
                country, left = self._country(), None
                if country != "AZ":
                    low = year if country in SOVIET else max(year, 1991)
                    left = rng.randint(low, max(low, 2022))
            if left is not None and left > last_alive:
                country, left = "AZ", None
            if country == "AZ":
                city = couple.az_city
            elif home is not None and country == home.country:
                city = home.city
            else:
                city = self._city(country)
        couple.country, couple.left, couple.city = country, left, city
        in_az = left is None or left > year
        for person in (husband, wife):
            if person.gen >= 0:
                own_abroad = not person.az_born or (person.az_to is not None and person.az_to <= year)
                if not own_abroad:
                    person.az_to = left if in_az else year
            else:
                person.az_city = couple.az_city
                if in_az:
                    person.az_born, person.az_to = True, left
                    person.bplace = -1 - (couple.az_city if rng.random() < 0.3 else self._city("AZ"))
                elif rng.random() < 0.8:
                    person.az_born, person.az_to = False, None
                    person.bplace = -1 - self._city(country)
                else:
                    person.az_born, person.az_to = True, year
                    person.bplace = -1 - self._city("AZ")
            person.country, person.city = country, city

    def _households(self, couples: list[_Couple], persons: list[_Person]) -> None:
        """Who lives with whom today: couples on their own or with the husband's parents, children, widowed parents."""
        rng = self.rng
        hosts: set[int] = set()
        for couple in couples:
            husband, wife = couple.husband, couple.wife
            home = husband.home if husband.gen >= 0 else None
            if (
                home is not None
                and home.own
                and couple.year >= 2012
                and home.country == couple.country
                and home.city == couple.city
                and (home.husband.death is None or home.wife.death is None)
                and rng.random() < 0.35
            ):
                couple.hh, couple.own = home.hh, False
                husband.rel, wife.rel = "child", "other"
                hosts.add(home.hh)
            else:
                couple.hh = self.households
                self.households += 1
                if husband.death is None or wife.death is not None:
                    husband.rel, wife.rel = "head", "spouse"
                else:
                    husband.rel, wife.rel = "spouse", "head"
            husband.hh = wife.hh = couple.hh
        for person in persons:
            if person.couple is None and person.home is not None:
                person.hh = person.home.hh
                person.rel = "child" if person.home.own else "grandchild"
        for couple in couples:
            alive = [p for p in (couple.husband, couple.wife) if p.death is None]
            if not couple.own or couple.hh in hosts or len(alive) != 1 or rng.random() >= 0.4:
                continue
            # A widowed parent moves in with a married son only once no unmarried child is left at home.
            if any(c.couple is None and c.death is None for c in couple.children):
                continue
            for son in couple.children:
                own = son.couple
                if (
                    son.sex == "M"
                    and son.death is None
                    and own is not None
                    and own.own
                    and own.country == couple.country
                ):
                    alive[0].hh, alive[0].rel = own.hh, "parent"
                    break

    # -- sources

    def _sources(self, person: _Person) -> None:
        """The sources that hold the person (one to three of those that could), with the year each looked."""
        rng = self.rng
        by = person.by
        died = person.death[0] if person.death else TODAY
        cands: list[tuple[int, int, int, float]] = []
        if person.az_born:
            until = person.az_to - 1 if person.az_to is not None else TODAY
            low, high = max(by, 1958), min(1991, died, until)
            if by < 1991 and low <= high:
                cands.append((AZA, low, high, 0.8))
            low, high = max(by, 1992), min(TODAY, died, until)
            if low <= high:
                cands.append((AZR, low, high, 1.0))
        if person.country != "AZ":
            low = max(by, person.az_to or by) if person.az_born else by
            low = min(low, died)
            if person.country == "RU":
                cands.append((RUR, low, died, 1.0))
                cands.append((RUP, low, died, 0.7))
            else:
                cands.append((INT, low, died, 1.0))
        r = rng.random()
        wanted = 1 if r < _SOURCE_COUNT else 2
        chosen: list[tuple[int, int, bool]] = []
        while cands and len(chosen) < wanted:
            total = sum(c[3] for c in cands)
            pick = rng.random() * total
            for i, (_source, _low, _high, weight) in enumerate(cands):  # noqa: B007
                pick -= weight
                if pick <= 0:
                    break
            source, low, high, _weight = cands.pop(i)
            chosen.append(self._looked(person, source, low, high))
        # The portal is where people register themselves: the living, and relatives who died not long ago.
        if died >= 2000:
            share = 0.15 if person.death is not None else 0.35 if person.by > TODAY - 16 else 0.6
            if not chosen or rng.random() < share:
                chosen.append(self._looked(person, WEB, max(by, 2010), TODAY))
        if not chosen:
            chosen.append(self._looked(person, WEB, max(by, 2010), max(by, 2010, died)))
        chosen.sort()
        person.srcs = chosen

    def _trim(self, persons: list[_Person], excess: int) -> list[_Person]:
        """Drop records, then people without children, until the family fits the records still wanted."""
        for person in reversed(persons):
            while excess > 0 and len(person.srcs) > 1:
                person.srcs.pop()
                excess -= 1
        kept = list(persons)
        while excess > 0:
            for i in range(len(kept) - 1, -1, -1):
                person = kept[i]
                if person.kids == 0:
                    break
            del kept[i]
            excess -= len(person.srcs)
            for relative in (person.father, person.mother):
                if relative is not None:
                    relative.kids -= 1
            if person.spouse is not None:
                person.spouse.spouse = None
        return kept

    def _looked(self, person: _Person, source: int, low: int, high: int) -> tuple[int, int, bool]:
        """The source, the year its record was made (between ``low`` and ``high``) and whether it knows the death."""
        known_death = person.death is not None and person.death[0] <= high
        return source, (self.rng.randint(low, high) if low < high else high), known_death

    # -- records

    def _record_id(self, source: int) -> str:
        number = self.counts[source]
        self.counts[source] += 1
        return f"{PREFIXES[source]}-{(number * _SCRAMBLE + self.offsets[source]) % self.modulus:0{self.width}d}"

    def _household_id(self, source: int) -> str:
        number = self.hh_counts[source]
        self.hh_counts[source] += 1
        modulus = 10**self.hh_width
        return f"{PREFIXES[source]}-h{(number * _SCRAMBLE + self.hh_offsets[source]) % modulus:0{self.hh_width}d}"

    def _date(self, date: tuple[int, int, int], errors: float) -> str:
        year, month, day = date
        r = self.rng.random()
        if r < errors:
            r /= errors
            if r < 0.4 and day <= 12 and day != month:
                month, day = day, month
            elif r < 0.75:
                year += 1 if self.rng.random() < 0.5 else -1
            else:
                return f"{year:04d}"
        return f"{year:04d}-{month:02d}-{day:02d}"

    def _typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        rng = self.rng
        i = rng.randrange(1, len(text) - 1)
        r = rng.random()
        if r < 0.4:
            return text[:i] + text[i + 1 :]
        if r < 0.7:
            return text[:i] + text[i] + text[i:]
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]

    def _place(self, place: int, source: int) -> str:
        lang = 4 if source == WEB else source
        return self.places[place][lang] if place >= 0 else self.cities[-1 - place][lang]

    def _row(
        self, person: _Person, source: int, year: int, known_death: bool, hh_ids: dict[tuple[int, int], str]
    ) -> list[str]:
        rng = self.rng
        rnd = rng.random
        female = person.sex == "F"
        variant = 0
        if source == RUP:
            variant = 0 if rnd() < 0.7 else 1 if rnd() < 0.6 else 2
        elif source in (WEB, RUR):
            variant = 1 if rnd() < 0.35 else 0
        if person.mroot is not None and year >= person.myear:
            surname = render_surname(source, person.mroot, person.mkind, female, variant)
        else:
            surname = render_surname(source, person.root, person.kind, female, variant)
        given = render_given(source, person.given, variant)
        patronymic = render_patronymic(source, person.fgiven, female, variant)
        if rnd() < 0.05:
            if rnd() < 0.5:
                given = self._typo(given)
            else:
                surname = self._typo(surname)
        if source == AZA and rnd() < 0.02:
            given, surname = surname, given  # Soviet order: surname first
        elif source == WEB:
            r = rnd()
            if r < 0.2:
                given, surname, patronymic = given.lower(), surname.lower(), patronymic.lower()
            elif r < 0.28:
                given, surname, patronymic = given.upper(), surname.upper(), patronymic.upper()
        missing = 0.3 if source == WEB else 0.6 if source == INT else 0.03 if source == AZA else 0.1
        if rnd() < missing:
            patronymic = ""
        sex = "" if rnd() < 0.02 else person.sex
        birth = "" if rnd() < 0.1 else self._date((person.by, person.bm, person.bd), 0.08)
        birth_place = "" if rnd() < 0.1 else self._place(person.bplace, source)
        origin = ""
        if person.gen >= 0 and rnd() < (0.9 if person.gen == 0 else 0.55):
            origin = self.origins[person.origin].gid if rnd() < 0.07 else self._place(person.origin, source)
        if source == AZA:
            lived_at_origin = person.gen >= 0 and year < person.dyear
            country = "" if lived_at_origin else "AZ"
            city = "" if lived_at_origin else self.cities[person.az_city][1]
        elif source == AZR:
            country, city = "AZ", self.cities[person.az_city][0]
        else:
            country, city = person.country, self._place(-1 - person.city, source)
        if rnd() < 0.03:
            country = ""
        if rnd() < 0.1:
            city = ""
        household = relation = ""
        if person.hh >= 0 and rnd() >= 0.1:
            key = (person.hh, source)
            household = hh_ids.get(key) or hh_ids.setdefault(key, self._household_id(source))
            relation = person.rel
        links = []
        for relative in (person.father, person.mother, person.spouse):
            links.append(relative.recs[source] if relative is not None and rnd() >= 0.05 else "")
        death = ""
        if known_death and person.death is not None and rnd() >= 0.1:
            death = self._date(person.death, 0.08)
        disp_date = event = ""
        if person.disp is not None and rnd() >= 0.2:
            event = person.wave
            r = rnd()
            y, m, d = person.disp
            if rnd() < 0.03:
                y += 1 if rnd() < 0.5 else -1
            disp_date = f"{y:04d}" if r < 0.35 else f"{y:04d}-{m:02d}" if r < 0.65 else f"{y:04d}-{m:02d}-{d:02d}"
        return [
            person.recs[source], SOURCES[source], given, surname, patronymic, sex, birth, birth_place, origin,
            country, household, relation, links[0], links[1], links[2], death, disp_date, event, city,
        ]  # fmt: skip

    def _person_row(self, person: _Person) -> list[str]:
        return [
            person.pid,
            person.sex,
            str(person.by),
            str(person.gen) if person.gen >= 0 else "",
            self.origins[person.origin].gid if person.gen >= 0 else "",
            "1" if person.gen == 0 else "0",
            person.father.pid if person.father is not None else "",
            person.mother.pid if person.mother is not None else "",
            person.country,
            "1" if person.death is None else "0",
        ]

    def rows(self, on_persons: Callable[[list[list[str]]], None] | None = None) -> Iterator[tuple[list[str], str]]:
        """Record rows with their true person id, in a shuffled order; ``on_persons`` gets each family's people."""
        rng = self.rng
        buffer: list[tuple[list[str], str]] = []
        emitted = 0
        while emitted < self.target:
            persons = self._clan()
            for person in persons:
                self._sources(person)
            total = sum(len(p.srcs) for p in persons)
            if emitted + total > self.target:
                persons = self._trim(persons, emitted + total - self.target)
                total = self.target - emitted
            emitted += total
            for person in persons:
                self.persons += 1
                person.pid = f"P{self.persons:0{self.pid_width}d}"
                for source, _year, _known in person.srcs:
                    person.recs[source] = self._record_id(source)
            if on_persons is not None:
                on_persons([self._person_row(p) for p in persons])
            hh_ids: dict[tuple[int, int], str] = {}
            for person in persons:
                for source, year, known in person.srcs:
                    buffer.append((self._row(person, source, year, known, hh_ids), person.pid))
            # A family's records would otherwise sit together in the file, a hint no real extract gives.
            while len(buffer) > _SHUFFLE:
                i = rng.randrange(len(buffer))
                buffer[i], buffer[-1] = buffer[-1], buffer[i]
                yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer


def _default_origins() -> list[Origin]:
    return origins_from_gazetteer(generate(settlements=300))


def generate_community(
    *, records: int, seed: int = 11, origins: list[Origin] | None = None
) -> Iterator[tuple[dict[str, str], str]]:
    """Exactly ``records`` source records as dicts of ``RECORD_FIELDS``, each with the true person id."""
    community = _Community(records, seed, origins if origins is not None else _default_origins())
    for values, pid in community.rows():
        yield dict(zip(RECORD_FIELDS, values, strict=True)), pid


def write_community(
    out_dir: Path, *, records: int, seed: int = 11, origins: list[Origin] | None = None, progress: Any = None
) -> dict[str, Path]:
    """Write ``records.csv``, ``truth.csv`` and ``persons.csv`` (UTF-8, with a header) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.csv" for name in ("records", "truth", "persons")}
    community = _Community(records, seed, origins if origins is not None else _default_origins())
    if progress is not None:
        progress.start(records, "Generating community records")
    with (
        paths["records"].open("w", encoding="utf-8", newline="") as records_file,
        paths["truth"].open("w", encoding="utf-8", newline="") as truth_file,
        paths["persons"].open("w", encoding="utf-8", newline="") as persons_file,
    ):
        record_writer = csv.writer(records_file, lineterminator="\n")
        truth_writer = csv.writer(truth_file, lineterminator="\n")
        persons_writer = csv.writer(persons_file, lineterminator="\n")
        record_writer.writerow(RECORD_FIELDS)
        truth_writer.writerow(TRUTH_FIELDS)
        persons_writer.writerow(PERSON_FIELDS)
        write_record, write_truth = record_writer.writerow, truth_writer.writerow
        done = 0
        for values, pid in community.rows(persons_writer.writerows):
            write_record(values)
            write_truth((values[0], pid))
            done += 1
            if progress is not None and done % 10_000 == 0:
                progress.advance(10_000)
        if progress is not None:
            progress.advance(done % 10_000)
            finish = getattr(progress, "finish", None)
            if callable(finish):
                finish()
    return paths


def write_source_extracts(out_dir: Path, *, records: int, seed: int = 11) -> dict[str, Path]:
    """One person records file per source (``<source>.csv``), as each registry would hand over its extract,
    plus ``truth.csv``; returns the extract paths by source, in the order of ``SOURCES``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {source: out_dir / f"{source}.csv" for source in SOURCES}
    handles = {source: path.open("w", encoding="utf-8", newline="") for source, path in paths.items()}
    try:
        writers = {source: csv.writer(handle, lineterminator="\n") for source, handle in handles.items()}
        for writer in writers.values():
            writer.writerow(RECORD_FIELDS)
        with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as truth_file:
            truth = csv.writer(truth_file, lineterminator="\n")
            truth.writerow(TRUTH_FIELDS)
            for row, person_id in generate_community(records=records, seed=seed):
                writers[row["source"]].writerow([row[f] for f in RECORD_FIELDS])
                truth.writerow((row["record_id"], person_id))
    finally:
        for handle in handles.values():
            handle.close()
    return paths
