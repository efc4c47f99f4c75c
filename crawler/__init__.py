"""Scrapy project: discovery and fetching of news article pages, plus pure page parsers."""
