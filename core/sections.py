"""The one cross-site section vocabulary.

Every profile maps its native sections onto these slugs (``sections:`` in the profile); the native
section path is kept beside it in ``section_native``. The Japan News's top-level sections are part of
the vocabulary, so its rows keep the section values they always had.
"""

from __future__ import annotations

#: slug → what belongs there
SECTIONS: dict[str, str] = {
    "politics": "Government, elections, parties, defence and security policy",
    "society": "General and local news, crime and courts, obituaries, disasters",
    "business": "Economy, companies, markets, personal finance",
    "world": "International news",
    "news-services": "Wire copy published as is (AP, Reuters, AFP, Washington Post…)",
    "editorial": "Editorials, opinion, columns, letters",
    "sports": "Sports",
    "science-nature": "Science, technology, environment, climate, health research",
    "culture": "Arts, books, film, music, entertainment",
    "features": "Lifestyle, travel, food, health and living",
    "original": "A site's own series and specialties (columns, explainers, long reads)",
    "other": "Anything a profile does not map",
}
