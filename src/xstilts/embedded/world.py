"""A deterministic synthetic multilingual world: concepts, lexicons, grammars, rendering.

One set of concepts (people, places, organisations, things with attributes, actions, numbers)
is rendered into twelve synthetic languages named after real ones. English uses real English
words; the others get pseudo-words from a seeded numpy RNG. Lexical closeness to English
follows the real languages loosely (German words are mildly mutated English words, Finnish,
Turkish, Swahili, Arabic, Chinese and Japanese words are unrelated), and ru/hi/ar/zh/ja are
written in their own scripts. Grammars copy cheap typological traits: word order, adjective
position, prepositions vs postpositions vs case suffixes, negation, wh-movement, spaces.
Named entities and digits are shared (transliterated across scripts): the anchors that make
zero-shot transfer possible, as in real multilingual pretraining.

Every sentence is rendered from a meaning representation (`Event`), so task generators can
derive correct labels (entailment, answer spans, tags) in any language.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

# ro (last: the others' lexicons keep their seeds) serves XTREME-R's extra sources (wikiann,
# UD 2.7, mteb tatoeba, google/xquad); a world without it is unchanged.
LANGUAGES = ("en", "de", "es", "fr", "ru", "zh", "ar", "hi", "sw", "fi", "ja", "tr", "ro")

# ---- concepts (English forms) -----------------------------------------------------------

FIRST_NAMES = (
    "Anna",
    "Boris",
    "Carlos",
    "Dmitri",
    "Elena",
    "Fatima",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mehmet",
    "Nadia",
    "Omar",
    "Priya",
    "Ravi",
    "Sofia",
    "Tomas",
    "Yuki",
    "Zara",
    "Amina",
    "Bruno",
    "Chen",
    "Daria",
    "Emil",
    "Farid",
    "Greta",
    "Hassan",
    "Irina",
    "Juan",
    "Kenji",
    "Layla",
    "Marco",
    "Nina",
    "Oskar",
    "Paula",
    "Rosa",
    "Samir",
    "Tara",
    "Viktor",
)
LAST_NAMES = (
    "Berg",
    "Costa",
    "Diallo",
    "Ekberg",
    "Ferreira",
    "Garcia",
    "Haddad",
    "Ivanov",
    "Jensen",
    "Kato",
    "Laine",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Sato",
    "Torres",
    "Usman",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhou",
)
PLACES = (
    ("Paris",),
    ("Berlin",),
    ("Lagos",),
    ("Kyoto",),
    ("Lima",),
    ("Oslo",),
    ("Cairo",),
    ("Delhi",),
    ("Quito",),
    ("Tunis",),
    ("Madrid",),
    ("Nairobi",),
    ("Helsinki",),
    ("Ankara",),
    ("Moscow",),
    ("Dakar",),
    ("Lisbon",),
    ("Hanoi",),
    ("Rome",),
    ("Vienna",),
    ("New", "Haven"),
    ("Santa", "Cruz"),
    ("Port", "Louis"),
    ("San", "Marino"),
    ("Costa", "Rica"),
    ("Buenos", "Aires"),
    ("Kuala", "Lumpur"),
    ("Tel", "Aviv"),
)
ORGS = (
    ("Acme", "Bank"),
    ("Nordic", "Rail"),
    ("Zenith", "Labs"),
    ("Orion", "Motors"),
    ("Delta", "Foods"),
    ("Blue", "River", "Press"),
    ("Atlas", "Group"),
    ("Polar", "Air"),
    ("Sunrise", "Media"),
    ("Vertex", "Systems"),
    ("Green", "Valley", "Farms"),
    ("Unilab",),
    ("Koda",),
    ("Mira", "Textiles"),
    ("Terra", "Mining"),
    ("Nova", "Energy"),
)

# noun -> (category); categories carry world knowledge for commonsense questions.
THINGS = {
    "fruit": ("apple", "pear", "mango", "lemon", "melon", "peach", "plum", "banana", "grape"),
    "tool": ("hammer", "knife", "brush", "rope", "lamp", "ladder", "bucket", "shovel"),
    "vehicle": ("bicycle", "car", "boat", "truck", "tractor", "wagon"),
    "document": ("book", "letter", "map", "poster", "ticket", "notebook"),
    "animal": ("horse", "goat", "dog", "cat", "rabbit", "duck"),
    "clothing": ("shirt", "hat", "coat", "boot", "scarf", "glove"),
}
CATEGORY_OF = {noun: cat for cat, nouns in THINGS.items() for noun in nouns}
NOUNS = tuple(CATEGORY_OF)
# Where such a thing is usually found and what people usually do with it.
TYPICAL_PLACE = {
    "fruit": "market",
    "tool": "workshop",
    "vehicle": "garage",
    "document": "library",
    "animal": "farm",
    "clothing": "store",
}
TYPICAL_USE = {
    "fruit": "eat",
    "tool": "use",
    "vehicle": "drive",
    "document": "read",
    "animal": "feed",
    "clothing": "wear",
}
PLACE_NOUNS = tuple(TYPICAL_PLACE.values()) + ("kitchen", "school")

ADJECTIVES = {
    "color": ("red", "blue", "green", "yellow", "black", "white"),
    "size": ("big", "small"),
    "age": ("old", "new"),
}
DIMENSION_OF = {adj: dim for dim, adjs in ADJECTIVES.items() for adj in adjs}

# verb -> (past, base); all events are told in the past.
VERBS = {
    "buy": "bought",
    "sell": "sold",
    "find": "found",
    "carry": "carried",
    "clean": "cleaned",
    "paint": "painted",
    "wash": "washed",
    "lose": "lost",
    "see": "saw",
    "move": "moved",
    "eat": "ate",
    "drive": "drove",
    "read": "read",
    "feed": "fed",
    "wear": "wore",
    "repair": "repaired",
    "cut": "cut",
    "cook": "cooked",
    "open": "opened",
    "close": "closed",
    "dry": "dried",
    "fold": "folded",
    "copy": "copied",
    "catch": "caught",
    "use": "used",
    "help": "helped",
    "call": "called",
    "meet": "met",
    "visit": "visited",
}
PERSON_VERBS = ("help", "call", "meet", "visit")
# Verbs that make sense with a thing of each category (the ones events use).
THING_VERBS = {
    "fruit": ("buy", "sell", "find", "carry", "wash", "eat", "cut", "cook", "lose", "see"),
    "tool": ("buy", "sell", "find", "carry", "clean", "paint", "lose", "use", "move", "repair"),
    "vehicle": ("buy", "sell", "find", "clean", "paint", "drive", "repair", "move", "see"),
    "document": ("buy", "sell", "find", "carry", "read", "open", "close", "copy", "lose"),
    "animal": ("buy", "sell", "find", "wash", "feed", "catch", "see", "move"),
    "clothing": ("buy", "sell", "find", "wash", "dry", "fold", "wear", "lose", "carry"),
}
# Scripts: ordered steps of an activity (HellaSwag / CosmosQA style continuations).
ACTIVITIES = {
    "Cooking": ("fruit", ("buy", "wash", "cut", "cook", "eat")),
    "Doing laundry": ("clothing", ("find", "wash", "dry", "fold", "wear")),
    "Fixing a vehicle": ("vehicle", ("find", "repair", "clean", "paint", "drive")),
    "Studying": ("document", ("find", "open", "read", "copy", "close")),
    "Farming": ("animal", ("find", "catch", "wash", "feed", "sell")),
    "Building": ("tool", ("buy", "carry", "clean", "use", "repair")),
}
TIMES = ("yesterday", "today", "recently", "earlier")

# Closed-class words every language has (English forms here).
FUNCTION_WORDS = (
    "the",
    "a",
    "not",
    "in",
    "and",
    "who",
    "what",
    "where",
    "how_many",
    "when",
    "did",
    "usually",
    "would",
    "you",
    "find",
    "do",
    "with",
    "people",
    "next",
    "before",
    "after",
    "then",
    "so",
    "place",
    "thing",
    "SUBJ",
    "OBJ",
)


# ---- scripts --------------------------------------------------------------------------------

_CYRILLIC = dict(zip("abvgdezijklmnoprstufhcywxq", "абвгдезийклмнопрстуфхцывкк"))
_DEVA_CONS = dict(zip("kgcjtdnpbmyrlvwshfzq", "कगचजतदनपबमयरलववसहफजक"), x="क्स")
_DEVA_VOWEL = {
    "a": ("अ", ""),
    "e": ("ए", "े"),
    "i": ("इ", "ि"),
    "o": ("ओ", "ो"),
    "u": ("उ", "ु"),
    "y": ("इ", "ि"),
}
_ARABIC = dict(zip("bdfhjklmnqrstwyzgcpvx", "بدفهجكلمنقرستويزغكبفخ"))
_ARABIC_LONG = {"a": "ا", "i": "ي", "u": "و"}
_KANA_ROWS = {
    "": "アイウエオ",
    "k": "カキクケコ",
    "s": "サシスセソ",
    "t": "タチツテト",
    "n": "ナニヌネノ",
    "h": "ハヒフヘホ",
    "m": "マミムメモ",
    "y": "ヤイユエヨ",
    "r": "ラリルレロ",
    "w": "ワイウエヲ",
    "g": "ガギグゲゴ",
    "z": "ザジズゼゾ",
    "d": "ダヂヅデド",
    "b": "バビブベボ",
    "p": "パピプペポ",
}
_KANA_SUBST = dict(zip("lvfjcxq", "rbhzkks"))
_HIRAGANA_OFFSET = ord("ぁ") - ord("ァ")
VOWELS = "aeiouy"


def _syllables(word: str) -> list[tuple[str, str]]:
    """Split a romanised word into (consonants, vowel) units; a final cluster has no vowel."""
    units, cons = [], ""
    for ch in word.lower():
        if ch in VOWELS:
            units.append((cons, ch))
            cons = ""
        elif ch.isalpha():
            cons += ch
    if cons:
        units.append((cons, ""))
    return units


def english_plural(noun: str) -> str:
    if noun.endswith(("ch", "sh", "s", "x")):
        return noun + "es"
    if noun.endswith("fe"):
        return noun[:-2] + "ves"
    if noun.endswith("f"):
        return noun[:-1] + "ves"
    return noun + "s"


def stable_index(text: str, modulo: int) -> int:
    """A deterministic string -> int map (Python's hash() is salted per process)."""
    value = 0
    for ch in text:
        value = (value * 131 + ord(ch)) % 1_000_000_007
    return value % modulo


def to_cyrillic(word: str) -> str:
    out = "".join(_CYRILLIC.get(ch.lower(), ch) for ch in word)
    return out[:1].upper() + out[1:] if word[:1].isupper() else out


def to_devanagari(word: str) -> str:
    out = []
    for cons, vowel in _syllables(word):
        letters = [_DEVA_CONS.get(c, "स") for c in cons]
        if vowel:
            independent, sign = _DEVA_VOWEL.get(vowel, ("अ", ""))
            out.append("्".join(letters) + sign if letters else independent)
        else:
            out.append("्".join(letters) + "्")
    return "".join(out)


def to_arabic(word: str) -> str:
    out = []
    for cons, vowel in _syllables(word):
        out.extend(_ARABIC.get(c, "س") for c in cons)
        if vowel in _ARABIC_LONG and (not cons or len(out) == len(cons)):
            out.append(_ARABIC_LONG[vowel])  # write a vowel word-initially, drop others
        elif vowel in ("a", "i", "u") and cons and len(cons) == 1 and vowel == "a":
            out.append("ا")
    return "".join(out) or "ا"


def to_katakana(word: str, hiragana: bool = False) -> str:
    out = []
    for cons, vowel in _syllables(word):
        cons = "".join(_KANA_SUBST.get(c, c) for c in cons)
        if not vowel:
            for i, c in enumerate(cons):
                out.append("ン" if c == "n" and i == len(cons) - 1 else _kana(c, "u"))
            continue
        for c in cons[:-1]:
            out.append(_kana(c, "u"))
        out.append(_kana(cons[-1:] if cons else "", vowel))
    text = "".join(out)
    return "".join(chr(ord(c) + _HIRAGANA_OFFSET) for c in text) if hiragana else text


def _kana(cons: str, vowel: str) -> str:
    row = _KANA_ROWS.get(cons, _KANA_ROWS["s"] if cons else _KANA_ROWS[""])
    return row["aiueo".index(vowel if vowel in "aiueo" else "i")]


def to_hanzi(word: str, offset: int) -> str:
    """One CJK ideograph per syllable, chosen deterministically from a block of 2,000."""
    return "".join(chr(0x4E00 + offset + stable_index(c + v, 2000)) for c, v in _syllables(word))


# ---- languages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """Cheap typological traits of one language."""

    script: str  # latin, cyrillic, devanagari, arabic, hanzi, japanese
    order: str  # clause order of S V O L(ocative) T(ime)
    adj_after: bool = False  # noun-adjective order
    articles: bool = False
    adposition: str = "pre"  # pre, post (separate token) or suffix (case ending)
    negation: str = "pre"  # pre, post, circum, aux, suffix
    wh_front: bool = True  # wh-movement vs wh-in-situ
    v2: bool = False  # verb-second: fronted time adverb inverts subject and verb
    object_marker: str = ""  # "", "particle" (ja/hi) or "suffix" (fi/tr)
    spaces: bool = True  # zh and ja are written without spaces
    mutation: float = 1.0  # 0: English word, 1: unrelated pseudo-word
    consonants: str = "bdfgklmnprstv"
    vowels: str = "aeiou"
    endings: tuple = ("",)
    plural: str = ""  # plural suffix ("" = no plural marking)
    period: str = "."
    qmark: str = "?"


GRAMMARS = {
    "en": Grammar("latin", "SVOLT", articles=True, mutation=0.0, plural="s"),
    "de": Grammar(
        "latin",
        "SVOLT",
        articles=True,
        negation="post",
        v2=True,
        mutation=0.25,
        consonants="bdfgklmnprstvzw",
        vowels="aeiouä",
        endings=("e", "en", ""),
        plural="en",
    ),
    "es": Grammar(
        "latin", "SVOLT", adj_after=True, articles=True, mutation=0.35, endings=("o", "a", "e"), plural="s"
    ),
    "fr": Grammar(
        "latin",
        "SVOLT",
        adj_after=True,
        articles=True,
        negation="circum",
        mutation=0.35,
        vowels="aeiouéè",
        endings=("e", "", "eau"),
        plural="s",
    ),
    "ru": Grammar(
        "cyrillic", "SVOLT", mutation=0.5, consonants="bvgdzklmnprstfh", endings=("a", "o", ""), plural="y"
    ),
    "zh": Grammar("hanzi", "STLVO", wh_front=False, spaces=False, period="。", qmark="？"),
    "ar": Grammar(
        "arabic", "VSOLT", adj_after=True, consonants="bdfhjklmnqrstwyz", vowels="aiu", plural="at", qmark="؟"
    ),
    "hi": Grammar(
        "devanagari",
        "STLOV",
        adposition="post",
        wh_front=False,
        object_marker="particle",
        mutation=0.6,
        plural="e",
        period="।",
    ),
    "sw": Grammar(
        "latin",
        "SVOLT",
        adj_after=True,
        wh_front=False,
        mutation=1.0,
        consonants="bdfghjklmnprstvwyz",
        endings=("a", "i", "u"),
        plural="ni",
    ),
    "fi": Grammar(
        "latin",
        "SVOLT",
        adposition="suffix",
        negation="aux",
        object_marker="suffix",
        consonants="hjklmnprstv",
        vowels="aeiouyäö",
        endings=("a", "i", "o"),
        plural="t",
    ),
    "ja": Grammar(
        "japanese",
        "STLOV",
        adposition="post",
        negation="suffix",
        wh_front=False,
        object_marker="particle",
        spaces=False,
        period="。",
        qmark="？",
    ),
    "ro": Grammar(
        "latin",
        "SVOLT",
        adj_after=True,
        articles=True,
        mutation=0.35,
        vowels="aeiouăâî",
        endings=("u", "a", "e"),
        plural="i",
    ),
    "tr": Grammar(
        "latin",
        "STLOV",
        adposition="suffix",
        negation="suffix",
        wh_front=False,
        object_marker="suffix",
        consonants="bcçdfghklmnprsştvyz",
        vowels="aeıioöuü",
        endings=("", "ı", "e"),
        plural="ler",
    ),
}


@dataclass(frozen=True)
class Token:
    text: str
    upos: str
    ner: str = "O"
    slot: str = ""  # which part of the meaning it renders (agent0, verb, patient0, ...)


@dataclass(frozen=True)
class Entity:
    kind: str  # PER, ORG, LOC
    name: tuple[str, ...]  # Latin spelling, one item per token


@dataclass(frozen=True)
class Thing:
    noun: str
    adj: str | None = None
    count: int | None = None  # None: singular with an article
    definite: bool = False


@dataclass(frozen=True)
class Event:
    """One clause of meaning: agents VERB patients (at place) (time), maybe negated."""

    agents: tuple[Entity, ...]
    verb: str
    patients: tuple = ()  # Things, or one PER Entity for PERSON_VERBS
    place: Entity | None = None
    time: str | None = None
    negated: bool = False


class Language:
    """Lexicon + grammar of one synthetic language, drawn from an RNG seeded by (seed, code)."""

    def __init__(self, code: str, seed: int = 0):
        self.code = code
        self.grammar = GRAMMARS[code]
        rng = np.random.default_rng([seed, LANGUAGES.index(code)])
        self.lexicon = self._build_lexicon(rng)

    # -- lexicon --
    def _build_lexicon(self, rng) -> dict[str, str]:
        g = self.grammar
        words = list(NOUNS) + list(PLACE_NOUNS) + list(DIMENSION_OF) + list(VERBS) + list(TIMES)
        lexicon, used = {}, set()
        for word in FUNCTION_WORDS:
            lexicon["_" + word] = self._unique(lambda: self._pseudo(rng, 1, 2), used)
        for word in words:
            if g.mutation == 0.0:
                lexicon[word] = VERBS.get(word, word)
                continue
            lexicon[word] = self._unique(lambda w=word: self._derive(w, rng), used)
        for suffix in ("loc", "obj", "neg"):
            lexicon["-" + suffix] = self._pseudo(rng, 1, 1).lower()
        return lexicon

    def _unique(self, make, used: set) -> str:
        for _ in range(100):
            form = make()
            if form not in used:
                used.add(form)
                return form
        raise RuntimeError(f"could not draw a unique word for {self.code}")

    def _pseudo(self, rng, low: int, high: int) -> str:
        g = self.grammar
        n = int(rng.integers(low, high + 1))
        return "".join(
            g.consonants[rng.integers(len(g.consonants))] + g.vowels[rng.integers(len(g.vowels))]
            for _ in range(n)
        )

    def _derive(self, english: str, rng) -> str:
        """A cognate (English with sound changes) or, at mutation 1, an unrelated word."""
        g = self.grammar
        if g.mutation >= 1.0:
            return self._pseudo(rng, 2, 3) + g.endings[rng.integers(len(g.endings))]
        out = []
        for ch in english:
            if rng.random() < g.mutation:
                pool = g.vowels if ch in VOWELS else g.consonants
                ch = pool[rng.integers(len(pool))]
            out.append(ch)
        return "".join(out) + g.endings[rng.integers(len(g.endings))]

    # -- script --
    def write(self, romanised: str, name: bool = False, particle: bool = False) -> str:
        """Romanised form -> this language's script (names are transliterated, not translated)."""
        script = self.grammar.script
        if script == "latin" or romanised.isdigit():
            return romanised
        if script == "cyrillic":
            return to_cyrillic(romanised)
        if script == "devanagari":
            return to_devanagari(romanised)
        if script == "arabic":
            return to_arabic(romanised)
        if script == "hanzi":
            return to_hanzi(romanised, 0)
        if name:
            return to_katakana(romanised)
        return to_katakana(romanised, hiragana=True) if particle else to_hanzi(romanised, 2000)

    def word(self, concept: str) -> str:
        return self.write(self.lexicon[concept], particle=concept.startswith("_"))

    def func(self, english: str) -> str:
        """A closed-class word: real English in English, a pseudo-word elsewhere."""
        if self.code == "en":
            return english.replace("_", " ")
        return self.write(self.lexicon["_" + english], particle=True)

    def suffix(self, kind: str) -> str:
        return self.write(self.lexicon["-" + kind], particle=True)

    # -- phrases --
    def entity(self, entity: Entity, slot: str) -> list[Token]:
        upos = "PROPN"
        return [
            Token(self.write(part, name=True), upos, ("B-" if i == 0 else "I-") + entity.kind, slot)
            for i, part in enumerate(entity.name)
        ]

    def thing(self, thing: Thing, slot: str) -> list[Token]:
        g = self.grammar
        noun = self.word(thing.noun)
        if thing.count is not None and thing.count > 1 and g.plural:
            noun = (
                english_plural(noun)
                if self.code == "en"
                else noun + (g.plural if g.script == "latin" else self.write(g.plural, particle=True))
            )
        tokens = []
        if g.articles and thing.count is None:
            article = self.func("the" if thing.definite else "a")
            if self.code == "en" and not thing.definite and (thing.adj or thing.noun)[0] in "aeiou":
                article = "an"
            tokens.append(Token(article, "DET", slot=slot))
        if thing.count is not None:
            tokens.append(Token(str(thing.count), "NUM", slot=slot + ".count"))
        adj = [Token(self.word(thing.adj), "ADJ", slot=slot + ".adj")] if thing.adj else []
        head = [Token(noun, "NOUN", slot=slot + ".noun")]
        return tokens + (head + adj if g.adj_after else adj + head)

    def noun_phrase(self, item, slot: str) -> list[Token]:
        return self.entity(item, slot) if isinstance(item, Entity) else self.thing(item, slot)

    def coordination(self, items, role: str) -> list[Token]:
        tokens = []
        for i, item in enumerate(items):
            if i:
                tokens.append(Token(self.func("and"), "CCONJ"))
            tokens.extend(self.noun_phrase(item, f"{role}{i}"))
        return tokens

    def attach(self, tokens: list[Token], kind: str) -> list[Token]:
        """Glue a case suffix onto the last token (agglutination); Turkish adds an apostrophe
        after proper names, as its orthography does."""
        last = tokens[-1]
        glue = "'" if self.code == "tr" and last.upos == "PROPN" else ""
        return tokens[:-1] + [replace(last, text=last.text + glue + self.suffix(kind))]

    def locative(self, place: Entity) -> list[Token]:
        g = self.grammar
        tokens = self.entity(place, "place")
        if g.adposition == "suffix":
            return self.attach(tokens, "loc")
        adp = Token(self.func("in"), "ADP")
        return tokens + [adp] if g.adposition == "post" else [adp] + tokens

    def object_phrase(self, patients) -> list[Token]:
        g = self.grammar
        tokens = self.coordination(patients, "patient")
        if g.object_marker == "suffix":
            return self.attach(tokens, "obj")
        if g.object_marker == "particle":
            return tokens + [Token(self.func("OBJ"), "ADP")]
        return tokens

    def verb_group(self, verb: str, negated: bool, finite: bool = True) -> list[Token]:
        g = self.grammar
        if self.code == "en":
            if negated:
                return [
                    Token("did", "AUX", slot="verb"),
                    Token("not", "PART", slot="neg"),
                    Token(verb, "VERB", slot="verb"),
                ]
            return [Token(VERBS[verb] if finite else verb, "VERB", slot="verb")]
        v = Token(self.word(verb), "VERB", slot="verb")
        if not negated:
            return [v]
        neg = Token(self.func("not"), "PART", slot="neg")
        if g.negation == "pre":
            return [neg, v]
        if g.negation == "post":
            return [v, neg]
        if g.negation == "circum":
            return [Token(self.suffix("neg"), "PART", slot="neg"), v, neg]
        if g.negation == "aux":
            return [replace(neg, upos="AUX"), v]
        return [replace(v, text=v.text + self.suffix("neg"))]

    def time(self, time: str) -> list[Token]:
        return [Token(self.word(time), "ADV", slot="time")]

    # -- clauses --
    def constituents(self, event: Event) -> dict[str, list[Token]]:
        parts = {
            "S": self.coordination(event.agents, "agent"),
            "V": self.verb_group(event.verb, event.negated),
            "O": self.object_phrase(event.patients) if event.patients else [],
            "L": self.locative(event.place) if event.place else [],
            "T": self.time(event.time) if event.time else [],
        }
        if self.code == "ja":
            parts["S"] = parts["S"] + [Token(self.func("SUBJ"), "ADP")]  # subject particle
        return parts

    def order(self, parts: dict[str, list[Token]], front: str | None = None) -> list[str]:
        g = self.grammar
        order = list(g.order)
        if g.v2 and (front or parts["T"]):
            front = front or "T"
            rest = [k for k in order if k not in (front, "V")]
            return [front, "V"] + rest
        if front:
            order.remove(front)
            order.insert(0, front)
        return order

    def clause(self, event: Event) -> list[Token]:
        parts = self.constituents(event)
        return [t for key in self.order(parts) for t in parts[key]]

    def sentence(self, event: Event) -> list[Token]:
        return self.capitalise(self.clause(event) + [Token(self.grammar.period, "PUNCT")])

    def capitalise(self, tokens: list[Token]) -> list[Token]:
        first = tokens[0]
        return [replace(first, text=first.text[:1].upper() + first.text[1:])] + tokens[1:]

    def question(self, event: Event, slot: str) -> list[Token]:
        """A wh-question about one slot of `event`: agent, patient, place, time or count."""
        g = self.grammar
        parts = self.constituents(event)
        wh_word = {"agent": "who", "patient": "what", "place": "where", "time": "when", "count": "how_many"}[
            slot
        ]
        wh = [Token(self.func(wh_word), "ADV" if slot in ("place", "time") else "PRON", slot="wh")]
        key = {"agent": "S", "patient": "O", "place": "L", "time": "T", "count": "O"}[slot]
        if slot == "count":
            head = [t for t in parts["O"] if t.slot.endswith(".noun") or t.slot.endswith(".adj")]
            wh = [replace(wh[0], upos="ADV")] + head
            if g.object_marker == "particle":
                wh = wh + [parts["O"][-1]]
        elif self.code == "ja" and slot == "agent":
            wh = wh + [parts["S"][-1]]
        if self.code == "en":
            return self._english_question(event, parts, key, wh)
        parts[key] = wh
        tokens = [t for k in self.order(parts, key if g.wh_front else None) for t in parts[k]]
        return self.capitalise(tokens + [Token(g.qmark, "PUNCT")])

    def _english_question(self, event, parts, key, wh) -> list[Token]:
        if key == "S":  # subject questions need no do-support
            parts["S"] = wh
            order = ["S", "V", "O", "L", "T"]
        else:
            parts[key] = []
            parts["V"] = self.verb_group(event.verb, event.negated, finite=False)
            if not event.negated:
                parts["V"] = [Token("did", "AUX")] + parts["V"]
            parts["V"] = parts["V"][:1] + parts["S"] + parts["V"][1:]
            parts["S"] = []
            order = ["W", "V", "O", "L", "T"]
            parts["W"] = wh
        return self.capitalise([t for k in order for t in parts[k]] + [Token("?", "PUNCT")])


def join(language: Language, tokens: list[Token]) -> tuple[str, list[tuple[int, int]]]:
    """Tokens -> text and each token's character span. zh/ja use no spaces; punctuation
    attaches to the word before it."""
    text, spans = "", []
    for token in tokens:
        sep = " " if text and language.grammar.spaces and token.upos != "PUNCT" else ""
        text += sep
        spans.append((len(text), len(text) + len(token.text)))
        text += token.text
    return text, spans


@dataclass(frozen=True)
class World:
    """The languages plus a random source of meanings."""

    languages: tuple[str, ...]
    seed: int = 0

    @cached_property
    def lang(self) -> dict[str, Language]:
        return {code: Language(code, self.seed) for code in self.languages}

    def render(self, code: str, event: Event) -> str:
        return join(self.lang[code], self.lang[code].sentence(event))[0]


class Sampler:
    """Draws entities, things and events from a numpy Generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def choice(self, items):
        return items[int(self.rng.integers(len(items)))]

    def sample(self, items, k: int):
        return [items[i] for i in self.rng.choice(len(items), size=k, replace=False)]

    def person(self) -> Entity:
        name = (self.choice(FIRST_NAMES),)
        if self.rng.random() < 0.4:
            name += (self.choice(LAST_NAMES),)
        return Entity("PER", name)

    def people(self, k: int) -> list[Entity]:
        firsts = self.sample(FIRST_NAMES, k)
        return [
            Entity("PER", (f,) + ((self.choice(LAST_NAMES),) if self.rng.random() < 0.4 else ()))
            for f in firsts
        ]

    def org(self) -> Entity:
        return Entity("ORG", self.choice(ORGS))

    def place(self) -> Entity:
        return Entity("LOC", self.choice(PLACES))

    def agent(self) -> Entity:
        return self.org() if self.rng.random() < 0.15 else self.person()

    def thing(self, category: str | None = None, count_p: float = 0.4) -> Thing:
        noun = self.choice(THINGS[category] if category else NOUNS)
        adj = self.choice(tuple(DIMENSION_OF)) if self.rng.random() < 0.6 else None
        count = int(self.rng.integers(2, 20)) if self.rng.random() < count_p else None
        return Thing(noun, adj, count, definite=bool(self.rng.random() < 0.5))

    def event(
        self,
        agent: Entity | None = None,
        verb: str | None = None,
        place_p: float = 0.5,
        time_p: float = 0.3,
        person_p: float = 0.15,
    ) -> Event:
        agent = agent or self.agent()
        if verb in PERSON_VERBS or (verb is None and self.rng.random() < person_p):
            verb = verb or self.choice(PERSON_VERBS)
            patients = (self.person(),)
        else:
            thing = self.thing()
            verb = verb or self.choice(THING_VERBS[CATEGORY_OF[thing.noun]])
            patients = (thing,)
        place = self.place() if self.rng.random() < place_p else None
        time = self.choice(TIMES) if self.rng.random() < time_p else None
        return Event((agent,), verb, patients, place, time)
