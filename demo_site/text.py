"""Generated placeholder text and the shared text normalisation rule.

All text comes from small word lists combined by a seeded ``random.Random``: no real article text
lives in this package (the one real article is read at runtime from the seed capture).
"""

from __future__ import annotations

import random
import re
import unicodedata

_WS_RE = re.compile(r"\s+")

SUBJECTS = (
    "Regional Council",
    "Harbor Authority",
    "Rail Operator",
    "Farm Cooperative",
    "City Assembly",
    "Research Team",
    "Trade Ministry",
    "Coastal Towns",
    "Tech Startups",
    "Local Schools",
    "Museum Board",
    "National Team",
    "Health Panel",
    "Energy Utility",
    "Fishing Union",
    "Film Studio",
    "Prefectural Office",
    "Weather Agency",
    "Shipping Firms",
    "Tourism Bureau",
    "Space Agency",
    "Ruling Coalition",
    "Opposition Bloc",
)
VERBS = (
    "Weighs",
    "Unveils",
    "Delays",
    "Expands",
    "Reviews",
    "Backs",
    "Questions",
    "Launches",
    "Revises",
    "Tests",
    "Pledges",
    "Debates",
    "Approves",
    "Studies",
    "Rejects",
    "Plans",
)
OBJECTS = (
    "New Rules for Night Trains",
    "Budget for Bridge Repairs",
    "Plan to Cut Paper Forms",
    "Rice Price Support",
    "Disaster Drills in Hill Towns",
    "Summer Festival Safety Steps",
    "Port Upgrade Proposal",
    "Subsidies for Small Workshops",
    "Exchange Program With Partners",
    "Tariff Talks Timetable",
    "Heat Wave Guidance",
    "Data Center Siting",
    "Hydrogen Bus Trial",
    "Library Opening Hours",
    "Wage Talks Framework",
    "Stadium Renovation",
    "Snow Season Outlook",
    "Coral Reef Survey",
)
TAILS = (
    "; Officials Expect Broad Support",
    "; Critics Call for More Time",
    "; Decision Due Next Month",
    "; Residents Ask for Details",
    "; First Step in Multiyear Effort",
    "",
    "",
    "",
    "; Analysts See Limited Impact on Households",
)
WORDS = (
    "officials",
    "said",
    "the",
    "plan",
    "would",
    "residents",
    "new",
    "measures",
    "committee",
    "on",
    "and",
    "in",
    "of",
    "to",
    "a",
    "for",
    "local",
    "government",
    "expected",
    "project",
    "next",
    "year",
    "data",
    "survey",
    "showed",
    "increase",
    "decline",
    "budget",
    "council",
    "members",
    "agreed",
    "review",
    "proposal",
    "region",
    "companies",
    "workers",
    "support",
    "schedule",
    "meeting",
    "statement",
    "program",
    "public",
    "report",
    "national",
    "costs",
    "system",
    "talks",
    "further",
    "announced",
    "earlier",
    "month",
    "week",
    "about",
    "percent",
    "experts",
    "long-term",
    "cooperation",
    "visitors",
)
FIRST_NAMES = ("Aki", "Ren", "Yuna", "Sota", "Mio", "Haru", "Kaito", "Rina", "Daiki", "Emi", "Taro", "Nao")
LAST_NAMES = ("Tanabe", "Morino", "Kurata", "Hoshi", "Sakuma", "Iwase", "Nakaji", "Odaka", "Fujimura", "Kiyose")
DATELINES = (
    "SEOUL",
    "NEW YORK",
    "WASHINGTON",
    "BEIJING",
    "LONDON",
    "OSAKA",
    "WASHINGTON, D.C.",
    "ST. LOUIS",
    "BANGKOK",
    "SAPPORO",
)
CREDITS = ("The Yomiuri Shimbun", "Reuters", "AP", "AFP-Jiji", "Courtesy of the organizers")
CMS_USERS = ("編集部", "読売 太郎", "読売 花子")


def normalize_text(value: str | None) -> str | None:
    """The shared rule: NFC, every whitespace run -> one space, stripped, empty -> None."""
    if value is None:
        return None
    text = _WS_RE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    return text or None


def headline(rng: random.Random) -> str:
    """A generated headline; some are long enough to be truncated in related lists."""
    words = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{rng.choice(TAILS)}"
    if rng.random() < 0.15:
        words = words.replace("Plan", "Plan’s", 1) if "Plan " in words else words + " & More"
    return words


def sentence(rng: random.Random) -> str:
    text = " ".join(rng.choices(WORDS, k=rng.randint(8, 20)))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    """Plain paragraph text; a few carry typographic quotes that normalisation must keep."""
    sentences = [sentence(rng) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.2:
        sentences.append(f"“{sentence(rng)[:-1]},” a spokesperson said.")
    return " ".join(sentences)


def subheading(rng: random.Random) -> str:
    return f"{rng.choice(('Background', 'Next steps', 'Reaction', 'Costs', 'Outlook'))} — {rng.choice(WORDS)}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def caption(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} members {rng.choice(('gather', 'speak', 'walk', 'meet'))} in {rng.choice(('Tokyo', 'Osaka', 'Sendai', 'Fukuoka'))} on {rng.choice(('Monday', 'Tuesday', 'Friday'))}."


# --- the other demo sites ----------------------------------------------------------------------
# Appended only: the Japan News generator above draws from its own lists in the same order as before.

US_FIRST_NAMES = ("Dana", "Marcus", "Priya", "Owen", "Lucia", "Terrence", "Hannah", "Jamal", "Nora", "Wes", "Ines")
US_LAST_NAMES = ("Whitfield", "Okafor", "Brennan", "Castillo", "Lindqvist", "Parrish", "Yates", "Delgado", "Moreau")
US_DATELINES = ("ALBANY, N.Y.", "TRENTON, N.J.", "HARTFORD, Conn.", "NEW YORK", "WASHINGTON", "BOSTON", "PHILADELPHIA")
US_CREDITS = ("Staff photo", "AP Photo", "Courtesy of the city", "Reuters", "File photo")
US_PLACES = ("Midtown", "the Bronx", "Queens", "Newark", "Yonkers", "Hoboken", "Jersey City")

#: German word lists: every character is in ISO-8859-1 (no typographic quotes or dashes).
DE_SUBJECTS = (
    "Stadtrat",
    "Landesregierung",
    "Bürgerinitiative",
    "Hafenverwaltung",
    "Verkehrsverbund",
    "Handwerkskammer",
    "Kulturausschuss",
    "Sportverein",
    "Universität",
    "Bezirksamt",
    "Stadtwerke",
    "Gewerkschaft",
    "Ärztekammer",
    "Jugendorchester",
)
DE_VERBS = ("prüft", "beschließt", "verschiebt", "erweitert", "kritisiert", "plant", "fördert", "stoppt", "begrüßt")
DE_OBJECTS = (
    "neue Radwege am Rheinufer",
    "höhere Gebühren für Parkplätze",
    "Sanierung der Brücke",
    "Zuschüsse für kleine Läden",
    "längere Öffnungszeiten der Bäder",
    "Ausbau der Straßenbahn",
    "Pläne für das Museumsquartier",
    "Hilfen für Obstbauern",
    "Umbau des Stadions",
    "Förderung der Musikschulen",
    "Lärmschutz an der Autobahn",
)
DE_TAILS = ("", "", " - Entscheidung im Mai", " - Kritik aus der Opposition", " - Anwohner fordern Klarheit")
DE_WORDS = (
    "der",
    "die",
    "das",
    "und",
    "für",
    "über",
    "mit",
    "nach",
    "Stadt",
    "Bürger",
    "Pläne",
    "Millionen",
    "Euro",
    "Jahr",
    "Woche",
    "sagte",
    "erklärte",
    "müssen",
    "könnte",
    "Gespräche",
    "Ausschuss",
    "Verwaltung",
    "Öffentlichkeit",
    "Grüße",
    "größer",
    "Änderungen",
    "Maßnahmen",
    "Zukunft",
    "schnell",
    "weiter",
    "Region",
    "Kosten",
    "Haushalt",
    "Unternehmen",
    "Beschäftigte",
    "Vorschlag",
    "Sitzung",
    "zunächst",
    "später",
    "außerdem",
)
DE_FIRST_NAMES = ("Jürgen", "Anna", "Björn", "Käthe", "Lukas", "Sören", "Marie", "Özlem", "Jörg", "Hanna", "Günter")
DE_LAST_NAMES = ("Müller", "Weiß", "Schäfer", "Köhler", "Bäcker", "Groß", "Hoffmann", "Krüger", "Schröder", "Vogt")
DE_DATELINES = ("Köln", "Düsseldorf", "Bonn", "Mainz", "Koblenz", "Berlin", "München", "Brüssel")
DE_CREDITS = ("Foto: dpa", "Foto: Rheinkurier", "Foto: Stadt Köln", "Foto: privat", "Foto: Jörg Schäfer")
DE_SUBHEADS = ("Wie es weitergeht", "Kritik der Anwohner", "Die Kosten", "Reaktionen", "Zeitplan für März")


def us_person(rng: random.Random) -> str:
    return f"{rng.choice(US_FIRST_NAMES)} {rng.choice(US_LAST_NAMES)}"


def us_caption(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} members {rng.choice(('gather', 'speak', 'meet'))} in {rng.choice(US_PLACES)}."


def de_headline(rng: random.Random) -> str:
    return f"{rng.choice(DE_SUBJECTS)} {rng.choice(DE_VERBS)} {rng.choice(DE_OBJECTS)}{rng.choice(DE_TAILS)}"


def de_sentence(rng: random.Random) -> str:
    text = " ".join(rng.choices(DE_WORDS, k=rng.randint(7, 16)))
    return text[0].upper() + text[1:] + "."


def de_person(rng: random.Random) -> str:
    return f"{rng.choice(DE_FIRST_NAMES)} {rng.choice(DE_LAST_NAMES)}"


def de_caption(rng: random.Random) -> str:
    return f"{rng.choice(DE_SUBJECTS)} tagt in {rng.choice(DE_DATELINES)}. Blick in den Saal."
