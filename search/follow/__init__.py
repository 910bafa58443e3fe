"""Following news feeds into the index: RSS, Atom, Yandex.News RSS and news sitemaps.

``news-search follow FEEDS.toml`` (:mod:`~search.follow.command`) polls the feeds of the feeds
file (:mod:`~search.follow.config`) politely (:mod:`~search.follow.fetch`), reads their items
(:mod:`~search.follow.parse`, :mod:`~search.follow.dates`) and, when a feed carries no full
text, the article in the item's page (:mod:`~search.follow.extract`), turns each into an
article record (:mod:`~search.follow.articles`) and indexes the records in batches through
``search.indexer.update`` (:mod:`~search.follow.batches`); :mod:`~search.follow.follower`
runs the loop. What it has seen is kept, crash-safe, in the index folder
(:mod:`~search.follow.state`), whose :func:`~search.follow.state.status` the web shows.
"""
