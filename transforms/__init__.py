"""Pure cleaning of raw parser items into rows of the articles table (no IO, no storage).

``transforms.articles`` turns ArticleItem dicts into the articles frame and its quarantine;
``transforms.text`` and ``transforms.timestamps`` hold the normalisation rules field by field;
``transforms.fingerprint`` computes SimHash fingerprints and near-duplicate clusters.
"""
