"""The daily Airflow crawl DAGs, one per site profile in ``sites/`` (``japannews_daily``, ``news_<key>_daily``).

Adding a site is adding a profile file: this module builds its DAG from the profile
(``newsline.dagfactory``). Nothing heavy is imported at parse time and nothing touches a database,
Variable or Connection while the file is parsed.
"""

from __future__ import annotations

from newsline.dagfactory import site_dags

globals().update(site_dags())
