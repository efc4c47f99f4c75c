"""The foundation every layer shares, and which imports nothing of ours: the Arrow schema (``schema``),
the raw item contract (``items``), settings (``config``), time rules (``timeutil``), site profiles
(``sites``) and the section vocabulary (``sections``)."""
