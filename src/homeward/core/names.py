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
``parse_full_name`` (given name, surname and patronymic from a full name in any order and script), and for
record linkage ``given_root`` (a given name as compared), ``patronymic_root`` (the father's given name from
"Əli oğlu", "Али кызы" or "Алиевич", as ``given_root`` gives it) and ``phonetic_key`` (a short blocking key).
The shared reference is ``shared/reference/azerbaijani-names.md``.
"""

from __future__ import annotations

import functools
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


# Surname endings, in folded form, longest first: Russianised (-ov/-ova, -yev/-yeva), native (-li/-lu, and
# -ly, the Russian-derived Latin of -лы: Касумлы -> Kasumly), Persian-style (-zadə), and Russian patronymic
# endings (-ovich/-ovna) that some records put in the surname.
_SURNAME_ENDINGS = ("ovic", "avic", "ovna", "avna", "zada", "ova", "ava", "ov", "av", "li", "lu", "ly")
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
    return any(
        folded.endswith(e) and len(folded) - len(e) >= 3 for e in ("ova", "ava", "ov", "av", "zada", "li", "lu", "ly")
    )


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


# Record linkage: comparison forms and a blocking key. They run on every distinct name of millions of
# records, hence the caches (each about 50 MB when full, which takes 262,144 distinct names).
_CACHE_SIZE = 1 << 18
# What separates words for certain (fold makes a space of it) and the Cyrillic and Armenian letters that
# latinize leaves as they are (not their combining marks, which fold removes).
_SEPARATORS = re.compile(r"[\s!-/:-@\[-`{-~\u00a1-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u2010-\u205e]+")
_LEFT_UNREAD = re.compile(r"[\u0400-\u0482\u048a-\u052f\u0531-\u058f]")
# The oğlu/qızı word of a patronymic once folded: oğlu, oglu, ogly, оглы (ogli), qızı, gizi, kyzy, кызы (kizi)...
_MARKER = re.compile(r"o[gk]l[iuy]|[gk][iy]z[iy]")
_JOINED_MARKER = re.compile(r"([a-z]{2,}?)(?:o[gk]l[iuy]|[gk][iy]z[iy])")
# Russianised patronymic endings on a latinized word: -ович/-евич/-овна/-евна (latinized -oviç, -eviç, -ovna,
# -evna), their Latin spellings (-ovich, -evich, -ovitch, -ovič, -ovic) and -yevich/-yevna after a vowel-final
# name (Aliyevich). Russian writes -евич after a vowel (Алиевич, Мусаевич): the е is the glide, so stripping
# -евич whole gives the name (Али, Муса) back, and before folding, so that Мусаевич keeps its final a.
_RUSSIAN_PATRONYMIC_END = re.compile(r"(?:y?[eə]|o)v(?:i(?:tch|ch|ç|č|c)|n[aə])$")
# Surname endings on a latinized word, longest first: -yev/-yeva, -ov/-ova and their Russian -ev/-eva
# (Алиев -> aliev), -zadə, native -lı/-li/-lu/-lü with Russian-derived Latin -ly/-lyu (Касумлы -> Kasumly),
# and the folded -av/-ava (a surname passed through fold).
_KEY_SURNAME_ENDINGS = (
    "yeva", "zadə", "zade", "zada", "ova", "eva", "ava", "yev", "lyu", "ov", "ev", "av", "lı", "li", "lu", "lü",
    "ly",
)  # fmt: skip
_JOINED_OGLU = re.compile(r"([a-z]{3,}?)o[gk]l[iuy]")  # a surname in -oğlu (Məmmədoğlu), once folded
# The velar and glottal consonants that renderings confuse with each other (see given_root).
_VELARS = re.compile(r"([scz]?)[ghkx]+")
_KEY_CLASSES = str.maketrans({"u": "i", "e": "a", "g": "k", "h": "k", "q": "k", "x": "k", "j": "c", "w": "v"})
_KEY_DEVOICED = str.maketrans({"p": "b", "t": "d"})
_KEY_CONSONANTS = 4
_KEY_LENGTH = 12  # a bound for words that are no names (long runs of vowels)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _folded_letters(word: str) -> str:
    """The letters of a word's fold (the functions below fold the same words and stems again and again)."""
    return re.sub(r"[^a-z]+", "", fold(word))


def _latin_words(text: str) -> list[tuple[str, str]]:
    """The words of the latinized text that have letters, each with its folded letters.

    Words are cut where ``fold`` would cut them for certain (spaces, punctuation), never where it would join
    (combining marks), so that the first word's ``given_root`` is the text's. Cyrillic and Armenian letters
    that latinize leaves (ё in Azerbaijani Cyrillic text) become spaces, as fold makes them: latinizing a
    word a second time would read them by another table.
    """
    latin = _LEFT_UNREAD.sub(" ", latinize(text))
    words = [(w, _folded_letters(w)) for w in _SEPARATORS.split(latin)]
    return [(w, f) for w, f in words if f]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def given_root(text: str) -> str:
    """A given name as compared: the first word of its fold, with the reference's confusions merged.

    ``Gülnarə``, ``Гюльнара``, ``Gyulnara``, ``Gulnara`` and ``Gulnare`` give ``hilnara``; ``İlham``,
    ``Ильхам``, ``Ilkham`` give ``ilham``; ``Həsən``, ``Гасан``, ``Gasan`` give ``hasan``. It is a key to
    compare, not to show. Only letters count ("" when there are none). The result is its own ``fold`` and
    its own ``given_root``.
    """
    words = re.findall(r"[a-z]+", fold(text))
    if not words:
        return ""
    # A y before the first vowel is dropped or added by renderings: Russian Е and Я begin with it but latinize
    # gives e (Yeganə -> Егана -> egana), and the reference lists "y dropped or added" among the confusions.
    word = re.sub(r"^y(?=[aiou])", "", words[0])
    # ı is written y in Russian-derived Latin (Гасымов -> Gasymov) and й is written i (Guseinov/Guseynov):
    # a y that is not a glide before a vowel is taken for the vowel i (fold has already dropped y between
    # vowels), so Gusein/Guseyn/Hüseyn and Kasym/Kasim meet.
    word = re.sub(r"y(?![aiou])", "i", word)
    # ı ~ u (Qasımov -> Касумов, Kasumov in the reference's table): fold has made ı an i, so u is written i
    # too (Qasım, Касум, Kasum -> hasim). This also meets ü ~ i (Füzuli/Физули); it costs rare pairs that
    # differ only there (Rauf/Raif).
    word = word.replace("u", "i")
    # h ~ g (Russian г: Həsən -> Гасан) ~ x/kh (Russian х: İlham -> Ильхам) and q ~ k/g (Qasım -> Касум,
    # Quliyev -> Гулиев): no rendering keeps these apart, so they are one letter, written h (and a run of
    # them one h). After s, c and z it is written k: "sh", "ch" and "zh" would fold to other letters.
    word = _VELARS.sub(lambda m: m.group(1) + ("k" if m.group(1) else "h"), word)
    return re.sub(r"(.)\1+", r"\1", word)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def patronymic_root(text: str) -> str:
    """The father's given name, as ``given_root`` gives it, from a patronymic in any form and script.

    "Əli oğlu", "Əli qızı", "Али оглы", "Али кызы", "Ali ogly", "Ali kyzy", "Ali gizi", "Алиевич",
    "Алиевна", "Aliyevich" and a bare "Əli" all give ``ali``; "Gasanovich" and "Гасановна" give ``hasan``.
    The name is the word before oğlu/qızı, else a word with a Russian patronymic ending (without it), else
    the first word; "" when there is no name.
    """
    words = _latin_words(text)
    if not words:
        return ""
    markers = [i for i, (_, f) in enumerate(words) if _MARKER.fullmatch(f)]
    if markers:
        if markers[0] > 0:
            return given_root(words[markers[0] - 1][0])
        names = [w for i, (w, _) in enumerate(words) if i not in markers]
        return given_root(names[0]) if names else ""
    for word, _ in words:
        ending = _RUSSIAN_PATRONYMIC_END.search(word)
        if ending and len(_folded_letters(word[: ending.start()])) >= 2:
            return given_root(word[: ending.start()])
    joined = _JOINED_MARKER.fullmatch(words[0][1])  # "Əlioğlu" written as one word
    return given_root(joined.group(1) if joined else words[0][0])


def _key_root(word: str) -> str:
    """The folded root of one latinized word: patronymic and surname endings removed."""
    ending = _RUSSIAN_PATRONYMIC_END.search(word)
    if ending and len(_folded_letters(word[: ending.start()])) >= 2:
        return _folded_letters(word[: ending.start()])
    folded = _folded_letters(word)
    oglu = _JOINED_OGLU.fullmatch(folded)
    if oglu:
        return oglu.group(1)
    for end in _KEY_SURNAME_ENDINGS:
        if word.endswith(end):
            # At least three letters stay, counted once folded so that every rendering counts alike.
            stem = _folded_letters(word[: -len(end)])
            if len(stem) >= 3:
                return stem
            break
    return folded


def _key_classes(root: str) -> str:
    # y before a vowel is a glide that renderings drop or add (Yaqub/Якуб, Нигяр/Nigar; fold has already
    # dropped it between vowels: Aliyev/Aliev); any other y is the vowel i, as in given_root: й written i
    # (Guseynov/Guseinov, Heydər/Geidar) or ı written y (Гасымов -> Gasymov).
    root = re.sub(r"y(?=[aiou])", "", root).replace("y", "i")
    # Vowels in three classes, a (ə/a/e), i (i/ı/u/ü: Qasımov/Касумов, Füzuli/Физули) and o (o/ö), and
    # consonants in the skeleton's classes (g/h/k/q/x, c/ç/j).
    root = root.translate(_KEY_CLASSES)
    # Russian spelling devoices b and d after a velar (Əkbər -> Акпер, Mehdi -> Мехти): beyond the reference's
    # list, but common in Soviet records, and no two names differ only there.
    root = re.sub(r"k[pt]", lambda m: m.group(0).translate(_KEY_DEVOICED), root)
    root = re.sub(r"(.)\1+", r"\1", root)
    consonants = 0
    for i, ch in enumerate(root):
        if ch not in "aio":
            consonants += 1
            if consonants == _KEY_CONSONANTS:
                return root[: min(i + 1, _KEY_LENGTH)]
    return root[:_KEY_LENGTH]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def phonetic_key(text: str) -> str:
    """A short blocking key for one name: every rendering of a name shares it, different names mostly don't.

    The key of the first word (an oğlu/qızı word is skipped): its root without surname or Russian patronymic
    endings (Məmmədova, Мамедов, Mammadov, Məmmədli, Məmmədzadə -> ``mamad``; Алиевич -> ``ali``), in
    classes of confusable letters, vowels kept in three classes (so that Həsənov ``kasan`` and Hüseynov
    ``kisain``, whose skeletons meet, stay apart), cut after the fourth consonant (Gülnarə -> ``kilnar``).
    A given name and the surname made from it share a key (Məmməd, Məmmədov), as do male and female forms.
    "" when the text has no letters the normaliser reads.
    """
    words = _latin_words(text)
    names = [w for w, f in words if not _MARKER.fullmatch(f)] or [w for w, _ in words]
    for word in names:
        key = _key_classes(_key_root(word))
        if key:
            return key
    return ""
