"""The follower's state on the web: /api/feeds, /healthz and «обновлено N минут назад».

A real follower polls a real local feed server once into a real index; the Flask app
over that index then shows what it did.
"""

from __future__ import annotations

from pathlib import Path

from test_follow import FAST, follow_once

from search.follow.state import status
from tests.feedserver import FeedServer, feeds_toml, make_articles, rss
from web import create_app


def test_the_web_shows_what_the_follower_did(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.put_feed("/rss.xml", rss(server.put_pages(make_articles(2, "web"))))
        toml = feeds_toml(
            tmp_path / "f.toml", [{"url": server.url("/rss.xml"), "source": "S"}], **FAST
        )
        index = tmp_path / "index"
        follow_once(toml, index)
    client = create_app(index).test_client()
    feeds = client.get("/api/feeds").get_json()
    assert feeds["feeds"][0]["items"]["indexed"] == 2
    assert feeds["follower"]["last_seen"] == status(index)["follower"]["last_seen"]
    health = client.get("/healthz").get_json()
    assert health["documents"] == 2 and health["follower_last_seen"] is not None
    page = client.get("/").get_data(as_text=True)
    assert "обновлено только что" in page


def test_without_a_follower_the_web_says_nothing_of_feeds(web_corpus) -> None:
    client = create_app(web_corpus.root).test_client()
    assert client.get("/api/feeds").get_json()["feeds"] == []
    assert client.get("/healthz").get_json()["follower_last_seen"] is None
    assert "обновлено" not in client.get("/").get_data(as_text=True)
