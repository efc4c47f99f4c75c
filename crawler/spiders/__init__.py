"""Spiders: which URLs to fetch for one logical day of one site (extraction lives in crawler.parsers)."""
