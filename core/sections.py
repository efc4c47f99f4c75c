"""The one cross-site section vocabulary.

Every profile maps its native sections onto these slugs (``sections:`` in the profile); the native
section path is kept beside it in ``section_native``. The Japan News's top-level sections are part of
the vocabulary, so its rows keep the section values they always had.
"""

from __future__ import annotations

import re

#: Partition values (sections, sites) must match this before they can name a path. Here, not in
#: ``core.schema``, so that the crawler checks a slug without importing pyarrow.
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_slug(value: object) -> bool:
    return isinstance(value, str) and bool(SLUG_RE.match(value))


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
