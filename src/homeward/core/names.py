"""Names across scripts: detection, transliteration, folding and matching keys. Pure Python, no Django.

One place or person is written in Azerbaijani Latin, Azerbaijani Cyrillic (1958-1991), Russian Cyrillic,
Russian-derived Latin (Mamedov, Dzhafarov), English-style Latin (Mammadov, Jafarov), Armenian script, and
typed in plain ASCII. Three forms serve search and matching:

- ``latinize``: the text in Azerbaijani Latin letters (Azerbaijani Cyrillic exactly; Russian and
  Armenian by rules), Turkic lower-case;
- ``fold``: an ASCII form where the usual renderings of one letter meet (ə/a/e, ş/sh, c/j/dzh, x/kh...);
- ``skeleton``: a consonant key where confusable consonants share a class (g/h/q/k/x, c/ç/j, s/ş/z-less),
  vowels and ``y`` dropped and doubled letters merged, for blocking and fuzzy look-ups.

For people's names it also gives ``surname_root`` (Məmmədova, Мамедов, Mammadov -> ``mamad``) and
``parse_full_name`` (given name, surname and patronymic from a full name in any order and script).
The shared reference is ``shared/reference/azerbaijani-names.md``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Azerbaijani Cyrillic (1958-1991) to Azerbaijani Latin: exact, letter for letter.
_AZ_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "q", "ғ": "ğ", "д": "d", "е": "e", "ә": "ə", "ж": "j", "з": "z",
    "и": "i", "ы": "ı", "ј": "y", "к": "k", "ҝ": "g", "л": "l", "м": "m", "н": "n", "о": "o", "ө": "ö",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "ü", "ф": "f", "х": "x", "һ": "h", "ч": "ç",
    "ҹ": "c", "ш": "ş", "ь": "", "ъ": "", "'": "",
}  # fmt: skip
# Letters that only Azerbaijani Cyrillic has: their presence decides between the two Cyrillic readings.
_AZ_ONLY_CYRILLIC = set("әғҝөүһҹј")

# Russian Cyrillic to Latin, the way Azerbaijani names were rendered in Russian: г stands for q, g and h,
# so it becomes q (the skeleton puts q, g, h in one class); дж is c.
_RUSSIAN = {
    "а": "a", "б": "b", "в": "v", "г": "q", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "x", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şç", "ъ": "", "ы": "ı", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i",
}  # fmt: skip

# Armenian script to Latin (a reading close to the Azerbaijani rendering of the same places).
_ARMENIAN = {
    "ա": "a", "բ": "b", "գ": "q", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "ı", "թ": "t", "ժ": "j",
    "ի": "i", "լ": "l", "խ": "x", "ծ": "ts", "կ": "k", "հ": "h", "ձ": "dz", "ղ": "ğ", "ճ": "ç", "մ": "m",
    "յ": "y", "ն": "n", "շ": "ş", "ո": "o", "չ": "ç", "պ": "p", "ջ": "c", "ռ": "r", "ս": "s", "վ": "v",
    "տ": "t", "ր": "r", "ց": "ts", "ւ": "v", "փ": "p", "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
}  # fmt: skip

_SCRIPT_RANGES = (
    ("Cyrl", 0x0400, 0x052F),
    ("Armn", 0x0530, 0x058F),
    ("Arab", 0x0600, 0x06FF),
    ("Geor", 0x10A0, 0x10FF),
    ("Grek", 0x0370, 0x03FF),
)


def turkic_lower(text: str) -> str:
    """Lower-case with the Turkic rules for I: İ -> i, I -> ı (Python's lower() gives i + combining dot)."""
    return text.replace("İ", "i").replace("I", "ı").lower()


def detect_script(text: str) -> str:
    """The ISO 15924 code of the text's letters: Latn, Cyrl, Armn, ..., ``Zyyy`` for none, ``mixed``."""
    found: set[str] = set()
    for ch in text:
        if not ch.isalpha():
            continue
        code = ord(ch)
        for name, low, high in _SCRIPT_RANGES:
            if low <= code <= high:
                found.add(name)
                break
        else:
            found.add("Latn")
    if not found:
        return "Zyyy"
    return found.pop() if len(found) == 1 else "mixed"


def is_azerbaijani_cyrillic(text: str) -> bool:
    return any(ch in _AZ_ONLY_CYRILLIC for ch in text.lower())


def latinize(text: str, *, cyrillic: str | None = None) -> str:
    """Azerbaijani Latin letters, lower-case. ``cyrillic`` is ``az`` or ``ru``; by default it is guessed."""
    lowered = text.lower() if detect_script(text) in ("Cyrl", "Armn") else turkic_lower(text)
    lowered = unicodedata.normalize("NFC", lowered)
    if cyrillic is None:
        cyrillic = "az" if is_azerbaijani_cyrillic(lowered) else "ru"
    if cyrillic == "ru":
        lowered = lowered.replace("дж", "c")
    # Armenian writes u with two letters (ո + ւ); each alone is o and v.
    lowered = lowered.replace("ու", "u")
    table = _AZ_CYRILLIC if cyrillic == "az" else _RUSSIAN
    out = []
    for ch in lowered:
        if ch in table:
            out.append(table[ch])
        elif ch in _ARMENIAN:
            out.append(_ARMENIAN[ch])
        else:
            out.append(ch)
    return "".join(out)


# Multi-letter renderings first, then single letters, to the fold's ASCII alphabet.
_FOLD_MULTI = (
    ("dzh", "c"), ("dj", "c"), ("zh", "j"), ("kh", "x"), ("gh", "ğ"), ("sh", "ş"), ("ch", "ç"),
    ("yu", "ü"), ("yo", "ö"), ("ts", "s"),
)  # fmt: skip
_FOLD_SINGLE = str.maketrans(
    {"ə": "a", "e": "a", "ı": "i", "ö": "o", "ü": "u", "ğ": "g", "ş": "s", "ç": "c", "j": "c", "w": "v", "q": "g"}
)


def fold(text: str) -> str:
    """A lower-case ASCII form in which the common renderings of one name meet.

    ``Zəngəzur``, ``Зангезур`` and ``Zangazur`` all fold to ``zangazur``. Letters that Azerbaijani
    distinguishes but other renderings confuse (ə/a/e, ş/s, c/ç/j, q/ğ/g, ı/i, ö/o, ü/u) are merged;
    ``y`` between vowels is dropped (Aliyev/Aliev, Ismayilov/Ismailov).
    """
    text = latinize(text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or ch == "\u0307")
    text = text.replace("i\u0307", "i").replace("\u0307", "")
    # Repeated until nothing changes, so that folding a folded name gives it back ("chh" -> "ch" -> "c").
    while True:
        before = text
        for many, one in _FOLD_MULTI:
            text = text.replace(many, one)
        text = text.translate(_FOLD_SINGLE)
        text = re.sub(r"(?<=[aiou])y(?=[aiou])", "", text)
        text = re.sub(r"[^a-z0-9]+", " ", text)
        text = re.sub(r"(.)\1+", r"\1", text)
        if text == before:
            return text.strip()


_SKELETON_CLASSES = str.maketrans({"q": "k", "g": "k", "h": "k", "x": "k", "c": "j", "z": "z", "w": "v"})


def skeleton(text: str) -> str:
    """A consonant key: confusable consonants share a class, vowels and ``y`` are dropped, runs merged.

    Every word keeps its own key, joined by spaces; ``Həsənov`` and ``Gasanov`` both give ``ksnv``.
    """
    words = []
    for word in fold(text).split():
        key = word.translate(_SKELETON_CLASSES)
        key = re.sub(r"[aeiouy]", "", key)
        key = re.sub(r"(.)\1+", r"\1", key)
        if key:
            words.append(key)
    return " ".join(words)


def word_keys(text: str) -> list[tuple[str, str]]:
    """(fold, skeleton) from each word of the name to its end: every word can begin a search."""
    words = fold(text).split()
    keys = []
    for i in range(len(words)):
        rest = " ".join(words[i:])
        keys.append((rest, skeleton(rest)))
    return keys


def search_forms(text: str) -> tuple[str, str]:
    """The (fold, skeleton) pair that an index stores for a name and a query is compared with."""
    return fold(text), skeleton(text)


# Surname endings, in folded form, longest first: Russianised (-ov/-ova, -yev/-yeva), native (-li/-lu),
# Persian-style (-zadə), and Russian patronymic endings (-ovich/-ovna) that some records put in the surname.
_SURNAME_ENDINGS = ("ovic", "avic", "ovna", "avna", "zada", "ova", "ava", "ov", "av", "li", "lu")
# Words that mark a patronymic ("Əli oğlu": son of Əli), as they appear once folded.
_PATRONYMIC_MARKERS = {"oglu", "ogli", "ogly", "oqlu", "gizi", "kizi", "kyzy", "gyzy", "kyzi", "qizi"}
_RUSSIAN_PATRONYMIC = ("ovic", "avic", "ovna", "avna")  # -ович/-евич/-овна/-евна, folded
_RUSSIAN_PATRONYMIC_WRITTEN = ("ovich", "evich", "ovna", "evna", "ович", "евич", "овна", "евна")


def surname_root(text: str) -> str:
    """The folded surname without its ending: Məmmədova, Мамедов, Mammadov -> ``mamad``.

    After 1991 many families dropped -ov or switched to -li or -zadə, so surnames compare on their root.
    The ending is removed only if at least three letters remain.
    """
    words = fold(text).split()
    if not words:
        return ""
    word = words[-1]
    for ending in _SURNAME_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return " ".join([*words[:-1], word])


@dataclass(frozen=True)
class ParsedName:
    """A full name split into its parts, each as written (not folded); empty when not found."""

    given: str = ""
    surname: str = ""
    patronymic: str = ""  # the father's given name
    sex_hint: str = ""  # "M" or "F" when the patronymic says son or daughter


def _is_surname(word: str) -> bool:
    folded = fold(word)
    return any(folded.endswith(e) and len(folded) - len(e) >= 3 for e in ("ova", "ava", "ov", "av", "zada", "li", "lu"))


def parse_full_name(text: str) -> ParsedName:
    """Split "Məmmədov Əli Həsən oğlu", "Əli Həsən oğlu Məmmədov" or "Мамедов Али Гасанович".

    The patronymic is the word before a marker (oğlu/qızı, оглы/кызы, ogly/kyzy) or a word with a Russian
    patronymic ending; of the remaining words, the one with a surname ending is the surname; when neither
    or both have one, the given name is taken to come first.
    """
    words = text.split()
    folded = [fold(w) for w in words]
    patronymic, sex, rest = "", "", list(words)
    for i, f in enumerate(folded):
        if f in _PATRONYMIC_MARKERS and i > 0:
            patronymic = words[i - 1]
            sex = "M" if f.startswith(("og", "oq")) else "F"
            rest = words[: i - 1] + words[i + 1 :]
            break
    else:
        for i, f in enumerate(folded):
            if i > 0 and len(words) >= 3 and any(f.endswith(e) for e in _RUSSIAN_PATRONYMIC):
                stem = words[i]
                for ending in _RUSSIAN_PATRONYMIC_WRITTEN:
                    if stem.lower().endswith(ending):
                        stem = stem[: -len(ending)]
                        break
                patronymic = stem
                sex = "F" if f.endswith("na") else "M"
                rest = words[:i] + words[i + 1 :]
                break
    if len(rest) == 1:
        return ParsedName(given=rest[0], patronymic=patronymic, sex_hint=sex)
    if len(rest) >= 2:
        first, last = rest[0], " ".join(rest[1:])
        if _is_surname(first) and not _is_surname(last):
            return ParsedName(given=last, surname=first, patronymic=patronymic, sex_hint=sex)
        # Otherwise the given name is taken to come first; the order stays uncertain, which is why a swap
        # of given name and surname is never evidence of a match on its own.
        return ParsedName(given=first, surname=last, patronymic=patronymic, sex_hint=sex)
    return ParsedName(patronymic=patronymic, sex_hint=sex)
