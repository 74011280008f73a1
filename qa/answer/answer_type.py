"""What kind of answer a question asks for (a number, a date, a person, ...) and whether a text holds one.

Plain regular expressions, no model: "how many" wants a number, "when did" a date, "who" a name,
"contact" an e-mail address, a URL or a phone number. Names (person, place, organisation) are
capitalised words that do not start a sentence. Used by the verdict to notice passages that talk
about the question's subject without giving what it asks for.
"""

from __future__ import annotations

import re

#: A question that asks for a way to do something ("how do I ...", "how can I ...", "how to ...", "is there a
#: way to ...", "what is the best way to ..."): its answer is a method, whatever else it says ("how do I
#: measure how long my code takes", "how do I find out how often an item occurs"), so it asks for no
#: particular kind of answer. Tried after the contact types: "how can I contact them" still wants a contact.
_METHOD = (r"^\W*(how (do|does|can|could|should|would|might|must|may) (i|we|you|one|people|someone|my|our)\b"
           r"|how to\b|is there (a|any) (way|function|method|module|option|setting)\b"
           r"|(what|which) (is|are|'s) (the|a) (best|easiest|simplest|right|proper|recommended|correct|fastest|quickest) "
           r"(way|method|function|module|option)\b|what'?s the (best|easiest|simplest|right|proper) way\b)")

#: Answer types, in the order they are tried: the first whose question pattern matches wins ("method" stands
#: for no particular kind: `asked_type` gives None for it). "What is the default X" asks for a value of any
#: kind (a clock, a mode, a string, a number), so "default" is not among the number words.
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
    # The address itself ("what is the e-mail of ...", "an e-mail address for ..."), not an e-mail as the
    # subject ("how do I build an email header", "a date from an email"): that asks for a method or a value.
    ("e-mail address", r"\be-?mail address(es)?\b|\be-?mail (of|for)\b"
                       r"|\b(what|which)( is|'s| are)? (the |their |his |her |its |an? )?e-?mail\b(?! (header|message|body"
                       r"|subject|client|server|format|file|attachment|library|module|package)s?\b)"),
    ("web address", r"\b(website|web site|web address|homepage|url|link) (of|for)\b|\bwhich (website|site)\b"),
    ("contact", r"\b(contact|phone|telephone|get in touch)\b"),
    ("method", _METHOD),
    ("date", r"^\W*when (did|was|were|will|had|has|have)\b|\b(what|which|in what|in which) (year|date|month|day)\b"
             r"|\bon what (date|day)\b|\bsince when\b|\bhow long ago\b"),
    ("number", r"\bhow (many|much|long|large|big|old|far|fast|often|tall|high|heavy|deep|wide)\b"
               r"|\b(what|which) (is|was|were|are|will be)( the)? (value|number|amount|size|total|percentage|share|rate"
               r"|cost|price|population|volume|figure|count|length|limit|period|maximum|minimum|speed)\b"
               r"|\bwhat percentage\b|\bhow much\b"),
    ("person", r"^\W*who(m|se)?\b|\b(which|what) (person|people|minister|president|official|author|director|chair"
               r"|maintainer|inventor|founder)\b"),
    # "Where does Python look for modules?", "where is the file stored": a location in a system (a path, a
    # folder, a setting), not the name of a place.
    ("place", r"^\W*where\b(?!.*\b(rank|look|looks|search|searches|store|stores|stored|saved?|saves|kept|keep|keeps"
              r"|put|puts|install|installed|installs|written|write|writes|cached?|caches|defined|find|finds|found)\b)|\b(which|what|in which|in what) (city|country|countries|place|town|region|province|state)\b"),
    ("organisation", r"\b(which|what) (company|companies|organi[sz]ation|firm|university|institution|agency|bank)\b"),
))

_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|twenty|thirty|forty"
                 r"|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens"
                 r"|half|twice|double|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|percent")
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
#: A number standing alone (not the 19 of COVID-19 or the 5 of 5G), a number word, a currency or percent sign.
_NUMBER = re.compile(rf"(?<![\w-])[-+]?\d[\d,.]*(?![\w-])|\b({_NUMBER_WORDS})\b|[$€£¥%]", re.IGNORECASE)
_DATE = re.compile(rf"\b(1[5-9]\d\d|20\d\d)s?\b|\b({_MONTHS})\.?\s+\d|\b\d{{1,2}}\s+({_MONTHS})\b"
                   r"|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow)\b"
                   r"|\b(last|next|this|earlier this|later this) (year|month|week|decade)\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(com|org|net|gov|edu|int|io)\b(/\S*)?", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])(\+\d{1,3}([ .-]?\d{2,4}){2,5}|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w-])")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’&-]*")
_TWO_CAPITALISED = re.compile(r"\b[A-Z][\w'’&-]*\s+[A-Z][\w'’&-]*")


def has_name(text: str, known: frozenset[str] = frozenset()) -> bool:
    """A capitalised word that does not start a sentence, or two capitalised words in a row; words in
    `known` (lower-cased: the question's own) do not count, so a passage naming only the question's
    subject does not give the name it asks for."""
    for match in _TWO_CAPITALISED.finditer(text):
        if not _words(match.group()) <= known:
            return True
    for match in _CAPITALISED.finditer(text):
        before = text[: match.start()].rstrip()
        if before and before[-1] not in ".!?:\"“‘'(\n" and not _words(match.group()) <= known:
            return True
    return False


def asks_method(question: str) -> bool:
    """Whether `question` asks for a way to do something ("how do I ...", "is there a way to ...")."""
    return bool(_ASKS_METHOD.search(question))


def asked_type(question: str) -> str | None:
    """The kind of answer `question` asks for, or None when it asks for no particular kind."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return None if kind == "method" else kind
    return None


def holds(kind: str, text: str, known: frozenset[str] = frozenset()) -> bool:
    """Whether `text` contains something of the answer type `kind` that is not made only of the
    words in `known` (lower-cased; the question's own words: "2022" in "trade in 2022" is no answer)."""
    if kind == "e-mail address":
        return _found(_EMAIL, text, known)
    if kind == "web address":
        return _found(_URL, text, known)
    if kind == "contact":
        return _found(_EMAIL, text, known) or _found(_URL, text, known) or _found(_PHONE, text, known)
    if kind == "date":
        return _found(_DATE, text, known)
    if kind == "number":
        return _found(_NUMBER, text, known)
    if kind in ("person", "place", "organisation"):
        return has_name(text, known)
    raise ValueError(f"unknown answer type {kind!r}")


def _found(pattern: re.Pattern[str], text: str, known: frozenset[str]) -> bool:
    """A match of `pattern` in `text` with a word outside `known` (a sign alone, such as "%", counts)."""
    for match in pattern.finditer(text):
        words = _words(match.group())
        if not words or not words <= known:
            return True
    return False


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


#: Words that shape a question but say nothing about its subject.
QUESTION_WORDS = frozenset(
    """how many much what which who whom whose when where why does do did is are was were can could
    should would will i me my we our you your there get use using make give tell find called mean
    kind type way ways like e.g eg""".split()   # "like", "e.g.": they introduce an example, not a subject
)

_AUXILIARY = r"(?:did|does|do|are|is|were|was|has|have|had|will|would|can|could|should|must|may)"
#: "how many vaccine doses did ..." counts doses (the word before the verb); "how many volunteers restored ..." volunteers.
_HOW_MANY = re.compile(rf"\bhow many ((?:[\w'’-]+ ){{0,4}}?)[\w'’-]*?(\w+)\s+{_AUXILIARY}\b|\bhow many (?:[\w'’-]+ ){{0,3}}?(\w+)\W*$"
                       r"|\bhow many (\w+)", re.IGNORECASE)
_ASKS_MONEY = re.compile(r"\bhow much (money\b|.*\b(cost|costs|invest|invested|spend|spent|pay|paid|earn|earned|worth)\b)"
                         r"|\b(value|price|cost) of\b", re.IGNORECASE)
_ASKS_PERCENT = re.compile(r"\bhow much (did|has|have|does|will) .*\b(grow|increase|rise|fall|decline|drop|expand|shrink)\b"
                           r"|\b(percentage|growth rate|per ?cent)\b", re.IGNORECASE)
_ASKS_METHOD = re.compile(_METHOD, re.IGNORECASE)
_MONEY = re.compile(r"[$€£¥]|\b(yuan|renminbi|rmb|dollars?|usd|euros?|pounds?|reais|real|pesos?)\b", re.IGNORECASE)
_PERCENT = re.compile(r"%|\bper ?cent\b", re.IGNORECASE)


def asked_unit(question: str) -> tuple[str, str | None] | None:
    """What an amount question counts: ("count", "doses") for "how many doses ...", ("money", None) for
    "how much did it cost", ("percent", None) for "how much did trade grow"; None for other questions."""
    if _ASKS_METHOD.search(question):   # "how do I count how many ..." asks for a way, not an amount
        return None
    if _ASKS_PERCENT.search(question):
        return ("percent", None)
    if _ASKS_MONEY.search(question):
        return ("money", None)
    match = _HOW_MANY.search(question)
    if match:
        counted = (match.group(2) or match.group(3) or match.group(4)).lower()
        # "how many times": how often, which an answer gives as a bare number ("number=1000000"), not "N times"
        return None if counted == "times" else ("count", counted)
    return None


def holds_unit(unit: tuple[str, str | None], text: str, forms: frozenset[str] = frozenset()) -> bool:
    """Whether `text` gives the amount `unit` asks for: a number right before the counted thing (or one
    of its `forms`), a sum of money, a percentage."""
    kind, thing = unit
    if kind == "money":
        return bool(_MONEY.search(text)) and bool(_NUMBER.search(text))
    if kind == "percent":
        return bool(_PERCENT.search(text))
    names = "|".join(re.escape(f) for f in sorted(forms | {thing or ""}) if f)
    pattern = rf"(?:(?<![\w-])\d[\d,.]*|\b(?:{_NUMBER_WORDS}|several|dozens|hundreds|thousands|millions))\W+(?:[\w'’-]+\W+){{0,3}}?(?:{names})\b"
    return bool(re.search(pattern, text, re.IGNORECASE))
