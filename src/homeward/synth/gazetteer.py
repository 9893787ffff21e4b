"""A fictional gazetteer for the demo, the tests and the benchmarks: deterministic for a seed.

Settlements with Azerbaijani-style names (made up from common words; any likeness to a real place is
chance), rendered as official names in Azerbaijani Latin, Azerbaijani Cyrillic and Russian, with an
English transliteration; about a third were renamed in the 1930s and got their old name back in 1991.
Historical districts (to 1991) and today's units, population series from fictional censuses.
"""

from __future__ import annotations

import random

from homeward.core.partialdate import PartialDate
from homeward.gazetteer.formats import Gazetteer, NameRec, PlaceRec, PopRec, UnitRec

FIRST = ["Qara", "Ağ", "Yuxarı", "Aşağı", "Böyük", "Kiçik", "Yeni", "Köhnə", "Qızıl", "Daş", "Göy", "Sarı", "Dəmir",
         "Alma", "Ərik", "Güney", "Quzey", "Orta", "Çal", "Boz", "Xan", "Şah", "Gül", "Ceyran"]  # fmt: skip
SECOND = ["bulaq", "dərə", "kənd", "yurd", "təpə", "qaya", "düz", "arx", "oba", "çinar", "söyüd", "qala", "körpü",
          "meşə", "dağ", "göl", "su", "yal", "bağ", "çəmən", "qışlaq", "pəyə", "daş", "ova"]  # fmt: skip
ENDINGS = ["", "", "", "lı", "lar", "çı"]
FRONT_VOWELS = set("eəiöü")
FRONT = {"lı": "li", "lar": "lər", "çı": "çi"}
SOVIET = ["Kommunar", "Birlik", "Zəhmətkeş", "Pambıqçı", "Yeni Həyat", "Qızıl Bayraq", "Oktyabr", "Sovxoz",
          "Kolxozçu", "Maarif", "Qələbə", "Bərəkət", "Sülh", "Əmək"]  # fmt: skip
DISTRICTS = ["Çaylı", "Dağlıq", "Yaşıl Vadi", "Qayalı", "Göyərçin", "Sünbül"]
CENSUS_YEARS = [1897, 1926, 1939, 1959, 1970, 1979, 1989]

_AZ_CYRL = {
    "a": "а", "b": "б", "c": "ҹ", "ç": "ч", "d": "д", "e": "е", "ə": "ә", "f": "ф", "g": "ҝ", "ğ": "ғ", "h": "һ",
    "x": "х", "ı": "ы", "i": "и", "j": "ж", "k": "к", "q": "г", "l": "л", "m": "м", "n": "н", "o": "о", "ö": "ө",
    "p": "п", "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у", "ü": "ү", "v": "в", "y": "ј", "z": "з",
}  # fmt: skip
_RU = {
    "a": "а", "b": "б", "c": "дж", "ç": "ч", "d": "д", "e": "е", "ə": "а", "f": "ф", "g": "г", "ğ": "г", "h": "г",
    "x": "х", "ı": "ы", "i": "и", "j": "ж", "k": "к", "q": "г", "l": "л", "m": "м", "n": "н", "o": "о", "ö": "ё",
    "p": "п", "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у", "ü": "ю", "v": "в", "y": "й", "z": "з",
}  # fmt: skip
_HY = {
    "a": "ա", "b": "բ", "c": "ջ", "ç": "չ", "d": "դ", "e": "ե", "ə": "ա", "f": "ֆ", "g": "գ", "ğ": "ղ", "h": "հ",
    "x": "խ", "ı": "ը", "i": "ի", "j": "ժ", "k": "կ", "q": "ղ", "l": "լ", "m": "մ", "n": "ն", "o": "ո", "ö": "ո",
    "p": "պ", "r": "ր", "s": "ս", "ş": "շ", "t": "տ", "u": "ու", "ü": "ու", "v": "վ", "y": "յ", "z": "զ",
}  # fmt: skip
_EN = {"ə": "a", "ş": "sh", "ç": "ch", "c": "j", "x": "kh", "ğ": "gh", "ı": "i", "ö": "o", "ü": "u", "q": "g"}


def _case(word: str, converted: str) -> str:
    return converted[:1].upper() + converted[1:] if word[:1].isupper() else converted


def _convert(text: str, table: dict[str, str], *, russian: bool = False) -> str:
    words = []
    for word in text.split(" "):
        low = word.replace("İ", "i").replace("I", "ı").lower()
        out = []
        for i, ch in enumerate(low):
            if russian and ch == "q" and i == 0:
                out.append("к")
            elif russian and ch == "y" and i + 1 < len(low) and low[i + 1] in "aəu":
                continue
            elif russian and i > 0 and low[i - 1] == "y" and ch in "aəu":
                out.append({"a": "я", "ə": "я", "u": "ю"}[ch])
            elif russian and ch == "l" and i + 1 < len(low) and low[i + 1] in "ıi" and i + 2 == len(low):
                out.append("л")
            else:
                out.append(table.get(ch, ch))
        words.append(_case(word, "".join(out)))
    return " ".join(words)


def az_cyrillic(text: str) -> str:
    return _convert(text, _AZ_CYRL)


def russian(text: str) -> str:
    return _convert(text, _RU, russian=True)


def armenian(text: str) -> str:
    """The name in Armenian script, letter by letter (as Armenian-language maps wrote such names)."""
    return " ".join(
        _case(w, "".join(_HY.get(ch, ch) for ch in w.replace("İ", "i").replace("I", "ı").lower()))
        for w in text.split(" ")
    )


def english(text: str) -> str:
    return _convert(text, _EN)


_RU_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ы": "y", "ь": "", "ъ": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip


def russian_latin(text: str) -> str:
    """Russian Cyrillic in the Latin of Russian passports (Гасанов -> Gasanov)."""
    return " ".join(_case(w, "".join(_RU_LATIN.get(ch, ch) for ch in w.lower())) for w in text.split(" "))


def _names(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        stem = rng.choice(FIRST) + rng.choice(SECOND)
        ending = rng.choice(ENDINGS)
        last_vowel = next((ch for ch in reversed(stem.lower()) if ch in "aıoueəiöü"), "a")
        name = stem + (FRONT.get(ending, ending) if last_vowel in FRONT_VOWELS else ending)
        if len(out) > len(FIRST) * len(SECOND) * 2:
            name += f" {len(out)}"
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _p(text: str) -> PartialDate:
    return PartialDate.parse(text)


def generate(*, settlements: int = 300, seed: int = 7) -> Gazetteer:
    rng = random.Random(seed)
    units = [UnitRec(code="hw:unit:old", name="Köhnə Diyar", level="region", valid_to=_p("1991"),
                     names={"az-Latn": "Köhnə Diyar", "ru-Cyrl": russian("Köhnə Diyar")})]  # fmt: skip
    for i, district_name in enumerate(DISTRICTS, start=1):
        units.append(
            UnitRec(
                code=f"hw:unit:d{i}",
                name=f"{district_name} rayonu",
                level="district",
                parent="hw:unit:old",
                names={
                    "az-Latn": f"{district_name} rayonu",
                    "az-Cyrl": az_cyrillic(f"{district_name} rayonu"),
                    "ru-Cyrl": f"{russian(district_name)}ский район",
                },
                valid_from=_p("1930"),
                valid_to=_p("1991"),
            )
        )
    for i, name in enumerate(["Şimal", "Cənub", "Mərkəz"], start=1):
        units.append(UnitRec(code=f"hw:unit:c{i}", name=f"{name} bölgəsi", level="district",
                             names={"az-Latn": f"{name} bölgəsi"}, valid_from=_p("1992")))  # fmt: skip
    places: list[PlaceRec] = []
    for n, base in enumerate(_names(rng, settlements), start=1):
        district = rng.randrange(1, len(DISTRICTS) + 1)
        place = PlaceRec(
            gid=f"hw:settlement:{n:05d}",
            title=base,
            kind=rng.choices(["village", "town", "quarter"], weights=[88, 9, 3])[0],
            status=rng.choices(["inhabited", "abandoned", "destroyed", "merged"], weights=[55, 20, 22, 3])[0],
            latitude=round(39.2 + district * 0.09 + rng.random() * 0.08, 6),
            longitude=round(46.0 + rng.random() * 0.9, 6),
            historical_admin_unit=f"hw:unit:d{district}",
            admin_unit=f"hw:unit:c{1 + (district - 1) // 2}",
        )
        census = {"label": "Fictional village registers (synthetic)", "@id": f"urn:homeward:synth:register:{n}"}
        if rng.random() < 0.35:
            soviet = rng.choice(SOVIET) + ("" if rng.random() < 0.5 else f" {rng.choice(SECOND).capitalize()}")
            renamed = f"19{rng.randint(30, 39)}"
            place.names += [
                # The old name's start is unknown: it was in use by the renaming at the latest (as LPF says it).
                NameRec(base, "az-Latn", "official", None, _p(renamed), _p(renamed), _p(renamed)),
                NameRec(soviet, "az-Latn", "official", _p(renamed), _p(renamed), _p("1991"), _p("1991")),
                NameRec(az_cyrillic(soviet), "az-Cyrl", "official", _p("1939"), _p("1939"), _p("1991"), _p("1991")),
                NameRec(russian(soviet), "ru-Cyrl", "official", _p(renamed), _p(renamed), _p("1991"), _p("1991")),
                NameRec(base, "az-Latn", "official", _p("1991"), _p("1992"), citations=[census]),
            ]
        else:
            place.names += [
                NameRec(base, "az-Latn", "official", citations=[census]),
                NameRec(az_cyrillic(base), "az-Cyrl", "official", _p("1939"), _p("1939"), _p("1991"), _p("1991")),
                NameRec(russian(base), "ru-Cyrl", "official", None, _p("1926"), _p("1991"), _p("1991")),
            ]
        place.names.append(NameRec(english(base), "en", "transliteration"))
        if rng.random() < 0.5:
            place.names.append(NameRec(armenian(base), "hy-Armn", "transliteration"))
        place.names.append(NameRec(russian_latin(russian(base)), "ru-Latn", "transliteration"))
        if rng.random() < 0.25:
            place.names.append(NameRec(base.split()[0] + rng.choice(["çik", "cə", ""]), "az-Latn", "colloquial"))
        people = rng.randint(150, 2500)
        share = rng.uniform(0.75, 1.0)
        for year in CENSUS_YEARS:
            if rng.random() < 0.85:
                place.population.append(
                    PopRec(year, people, int(people * share), f"Fictional census of {year} (synthetic)")
                )
            people = max(20, int(people * rng.uniform(0.92, 1.18)))
        if len(place.names) > 5 and any(n.toponym != base for n in place.names if n.lang == "az-Latn"):
            place.status = rng.choices([place.status, "renamed"], weights=[7, 3])[0]
        if place.status == "merged":
            earlier = [p for p in places if p.historical_admin_unit == place.historical_admin_unit]
            if earlier:
                place.merged_into = rng.choice(earlier).gid
            else:
                place.status = "abandoned"
        places.append(place)
    return Gazetteer(units=units, places=places)
