"""A real HTTP server for the follower's tests and benchmark, and the feeds and pages it serves.

:class:`FeedServer` is ``http.server`` in a thread on a free loopback port. A test puts what
each path serves (:meth:`FeedServer.put`): a body with its content type, and how to serve it
(ETag and Last-Modified answered with 304, a status, a delay before the headers, a slow drip
of the body, a redirect). It counts the requests to each path and the 304s it sent.

The generators make what news sites serve: articles (:func:`make_articles`, each with a
marker word of its own that finds exactly it), their pages with the usual boilerplate
around the text (:func:`article_page`: menus, a banner, teasers of other news, share
buttons, comments, a footer; :data:`BOILERPLATE` lists phrases of it that must never reach
the index), and the feeds: RSS 2.0 with teasers or ``content:encoded``, the Yandex.News RSS
with ``yandex:full-text`` (in cp1251 by default), Atom, and a news sitemap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MSK = dt.timezone(dt.timedelta(hours=3), "MSK")

# -- articles -----------------------------------------------------------------------------

SUBJECTS = [
    "Правительство", "Министерство финансов", "Центральный банк", "Мэрия столицы",
    "Госдума", "Губернатор области", "Компания «Газпром»", "Российские учёные",
    "Роскосмос", "Минздрав", "Совет директоров", "Следственный комитет",
]  # fmt: skip
ACTIONS = [
    "объявило о программе модернизации дорог", "утвердило повышение пенсий",
    "обсудило строительство новой линии метро", "сообщило о снижении ключевой ставки",
    "подготовило запуск научного спутника", "представило реформу школьного образования",
    "договорилось о поставках газа в Китай", "начало переговоры о торговом соглашении",
    "продлило вакцинацию от гриппа", "выделило средства на ремонт больниц",
]  # fmt: skip
PLACES = [
    "в Москве", "в Санкт-Петербурге", "в Казани", "в Новосибирске", "в Алматы",
    "в Екатеринбурге", "во Владивостоке", "в Калининграде", "в Астане", "в Сочи",
]  # fmt: skip
SENTENCES = [
    "Эксперты считают, что решение поможет экономике региона уже в ближайшие месяцы.",
    "По словам источника, знакомого с ходом обсуждения, работы начнутся весной.",
    "Финансирование будет выделено из федерального бюджета и средств инвесторов.",
    "Жители города встретили новость с интересом, но задают много вопросов.",
    "Аналитики ожидают заметного роста спроса в следующем году.",
    "Подробности планируется объявить на пресс-конференции в четверг.",
    "Ранее власти обещали завершить проект до конца текущего года.",
    "Специалисты продолжают внимательно следить за развитием ситуации.",
    "В ведомстве подчеркнули, что все обязательства перед гражданами будут выполнены.",
    "Депутаты намерены вернуться к обсуждению вопроса после летних каникул.",
    "Представители бизнеса в целом поддержали инициативу, предложив ряд поправок.",
    "Независимые наблюдатели указывают на риски, связанные с ростом цен.",
    "Глава ведомства заявил, что результаты станут заметны к осени.",
    "Официальные данные будут опубликованы после проверки всех сведений.",
]  # fmt: skip
TOPICS = ["Политика", "Экономика", "Общество", "Наука", "Происшествия"]
AUTHORS = ["Елена Беляева", "Иван Петров", "Асель Нурланова", "Дмитрий Соколов"]

#: Phrases of the page around the article; none may be in an extracted text.
BOILERPLATE = [
    "Главная", "Подписаться на рассылку", "Реклама на сайте", "Самое читаемое",
    "Читайте также", "Комментарии читателей", "Все права защищены",
    "Поделиться в соцсетях", "Мы используем файлы cookie", "Курс валют",
]  # fmt: skip


def marker(slug: str) -> str:
    """The word only the article ``slug`` holds."""
    return "mark" + "".join(ch for ch in slug.lower() if ch.isalnum())


@dataclass
class FixtureArticle:
    slug: str
    title: str
    paragraphs: list[str]
    date: dt.datetime  # aware
    author: str
    topic: str
    tags: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def lead(self) -> str:
        return self.paragraphs[0]


def make_articles(count: int, prefix: str = "a", seed: int = 0) -> list[FixtureArticle]:
    """``count`` articles with slugs ``<prefix>-<n>``, the same for the same arguments."""
    rng = random.Random(f"{prefix}/{seed}")
    start = dt.datetime(2026, 3, 2, 23, 42, tzinfo=MSK)
    return [
        _article(f"{prefix}-{n}", n, rng, start - dt.timedelta(minutes=7 * n)) for n in range(count)
    ]


def _article(slug: str, number: int, rng: random.Random, when: dt.datetime) -> FixtureArticle:
    subject, action, place = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(PLACES)
    paragraphs = [f"{subject} {action} {place}. Об этом стало известно во второй половине дня."]
    sentences = rng.sample(SENTENCES, k=len(SENTENCES))  # no paragraph said twice
    for number in range(rng.randint(4, 6)):
        paragraphs.append(" ".join(sentences[2 * number : 2 * number + 2]))
    paragraphs.append(f"Служебная отметка {marker(slug)} для проверки поиска по этой новости.")
    return FixtureArticle(
        slug=slug,
        title=f"{subject} {action} {place}",
        paragraphs=paragraphs,
        date=when,
        author=rng.choice(AUTHORS),
        topic=TOPICS[number % len(TOPICS)],
        tags=[action.split()[-1]],
    )


# -- pages --------------------------------------------------------------------------------


def article_page(
    article: FixtureArticle, canonical: str = "", encoding: str = "utf-8", meta: bool = True
) -> bytes:
    """The article's page as a news site has it: the text amid menus, teasers and the rest.

    ``meta``: with the Open Graph and ``article:*`` tags (title, author, rubric, time);
    without them only the visible page says the date (``02.03.2026 23:42``) and author.
    """
    esc = html.escape
    head = [f'<meta charset="{encoding}">', f"<title>{esc(article.title)} | Новости</title>"]
    if canonical:
        head.append(f'<link rel="canonical" href="{esc(canonical)}">')
    if meta:
        head += [
            f'<meta property="og:title" content="{esc(article.title)}">',
            f'<meta name="author" content="{esc(article.author)}">',
            f'<meta property="article:section" content="{esc(article.topic)}">',
            f'<meta property="article:published_time" content="{article.date.isoformat()}">',
        ]
    body = "\n".join(f"<p>{esc(p)}</p>" for p in article.paragraphs)
    local = article.date.strftime("%d.%m.%Y %H:%M")
    page = f"""<!DOCTYPE html>
<html lang="ru"><head>{"".join(head)}</head><body>
<header><nav><a href="/">Главная</a> | <a href="/politics">Политика</a> |
<a href="/economy">Экономика</a> | <a href="/subscribe">Подписаться на рассылку</a></nav>
<div class="banner"><a href="/ads">Реклама на сайте</a>: скидки до 70% на всё</div>
<div class="rates">Курс валют: доллар 90,12 · евро 98,40</div></header>
<div class="layout"><main><article>
<h1>{esc(article.title)}</h1>
<div class="byline"><time>{local}</time> · <span class="author">{esc(article.author)}</span></div>
{body}
<div class="share">Поделиться в соцсетях: ВКонтакте · Телеграм · Одноклассники</div>
</article>
<section class="related"><h3>Читайте также</h3><ul>
<li><a href="/n/1">Синоптики пообещали тёплые выходные в столице</a></li>
<li><a href="/n/2">В центре города ограничат движение транспорта</a></li></ul></section>
<section class="comments"><h3>Комментарии читателей</h3>
<div class="comment"><b>Гость</b>: Наконец-то, давно пора было этим заняться!</div>
<div class="comment"><b>Пётр</b>: Посмотрим, что из этого выйдет на самом деле.</div>
</section></main>
<aside class="sidebar"><h3>Самое читаемое</h3><ol>
<li><a href="/n/3">Учёные назвали самый полезный завтрак</a></li>
<li><a href="/n/4">Названы самые популярные имена года</a></li></ol></aside></div>
<div class="cookies">Мы используем файлы cookie, чтобы сайт работал лучше.</div>
<footer><p>© 2026 Новости. Все права защищены. При цитировании ссылка обязательна.</p></footer>
</body></html>"""
    return page.encode(encoding, "xmlcharrefreplace")


# -- feeds --------------------------------------------------------------------------------


def rss(
    entries: list[tuple[FixtureArticle, str]],
    full_text: bool = False,
    title: str = "Новости",
    guid_is_url: bool = True,
) -> bytes:
    """RSS 2.0 of ``(article, url)``: a teaser each, or the text in ``content:encoded``."""
    items = []
    for article, url in entries:
        guid = url if guid_is_url else f"id-{article.slug}"
        parts = [
            f"<title>{_x(article.title)}</title><link>{_x(url)}</link>",
            f'<guid isPermaLink="{str(guid_is_url).lower()}">{_x(guid)}</guid>',
            f"<pubDate>{format_datetime(article.date)}</pubDate>",
            f"<category>{_x(article.topic)}</category><author>{_x(article.author)}</author>",
            f"<description>{_x(article.lead[:120])}</description>",
        ]
        if full_text:
            content = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
            parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
        items.append(f"<item>{''.join(parts)}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{_x(title)}</title><link>http://example.ru/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def yandex_rss(
    entries: list[tuple[FixtureArticle, str]],
    encoding: str = "windows-1251",
    ru_dates: bool = False,
) -> bytes:
    """The Yandex.News dialect: ``yandex:full-text`` with the whole text, ``yandex:genre``.

    ``ru_dates``: dates written ``02.03.2026 23:42`` (in the feed's zone), as some sites do.
    """
    items = []
    for article, url in entries:
        when = (
            article.date.strftime("%d.%m.%Y %H:%M") if ru_dates else format_datetime(article.date)
        )
        items.append(
            f"<item><title>{_x(article.title)}</title><link>{_x(url)}</link>"
            f"<pdalink>{_x(url)}</pdalink><pubDate>{when}</pubDate>"
            f"<category>{_x(article.topic)}</category><author>{_x(article.author)}</author>"
            f"<yandex:genre>message</yandex:genre>"
            f"<description>{_x(article.lead[:120])}</description>"
            f"<yandex:full-text>{_x(article.text)}</yandex:full-text></item>"
        )
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" '
        'xmlns="http://backend.userland.com/rss2" xmlns:yandex="http://news.yandex.ru">'
        f"<channel><title>Новости</title><link>http://example.ru/</link>"
        f"<yandex:logo>http://example.ru/logo.png</yandex:logo>{''.join(items)}</channel></rss>"
    )
    return document.encode(encoding, "xmlcharrefreplace")


def atom(entries: list[tuple[FixtureArticle, str]], full_text: bool = True) -> bytes:
    """Atom 1.0, the text in ``<content type="html">`` (or a summary only)."""
    items = []
    for article, url in entries:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
        content = f'<content type="html">{_x(body)}</content>' if full_text else ""
        items.append(
            f'<entry><title>{_x(article.title)}</title><link rel="alternate" href="{_x(url)}"/>'
            f"<id>urn:uuid:{hashlib.md5(article.slug.encode()).hexdigest()}</id>"
            f"<updated>{article.date.isoformat()}</updated>"
            f"<author><name>{_x(article.author)}</name></author>"
            f'<category term="{_x(article.topic)}"/>'
            f"<summary>{_x(article.lead[:120])}</summary>{content}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Новости</title><id>urn:feed</id><updated>2026-03-02T20:42:00Z</updated>"
        f"{''.join(items)}</feed>"
    ).encode()


def news_sitemap(entries: list[tuple[FixtureArticle, str]]) -> bytes:
    """A Google news sitemap: each URL with its publication, date, title and keywords."""
    urls = []
    for article, url in entries:
        urls.append(
            f"<url><loc>{_x(url)}</loc><news:news><news:publication><news:name>Новости"
            "</news:name><news:language>ru</news:language></news:publication>"
            f"<news:publication_date>{article.date.isoformat()}</news:publication_date>"
            f"<news:title>{_x(article.title)}</news:title>"
            f"<news:keywords>{_x(', '.join(article.tags))}</news:keywords></news:news></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{''.join(urls)}</urlset>"
    ).encode()


def _x(text: str) -> str:
    return html.escape(text, quote=True)


# -- the server ---------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0  # seconds before the headers
    drip: float = 0.0  # seconds between 16-byte pieces of the body
    validators: bool = True  # send ETag and Last-Modified, answer 304 to them
    location: str = ""  # a redirect to here (with status 301/302)
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class FeedServer:
    """A threaded HTTP/1.1 server on ``host`` (a loopback address) and a free port."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.hits: Counter = Counter()
        self.not_modified: Counter = Counter()
        self._guard = threading.Lock()
        self._server = _QuietServer((host, 0), _Handler)
        self._server.feeds = self
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def put(
        self, path: str, body: bytes | str = b"", content_type: str | None = None, **how
    ) -> None:
        """Serve ``body`` at ``path`` (see :class:`Route` for ``how``); replaces what was there."""
        if isinstance(body, str):
            body = body.encode()
        kind = content_type or "text/html; charset=utf-8"
        with self._guard:
            self.routes[path] = Route(body, kind, **how)

    def put_feed(self, path: str, body: bytes, **how) -> None:
        self.put(path, body, "application/rss+xml", **how)

    def put_pages(
        self, articles: list[FixtureArticle], prefix: str = "/news/", **how
    ) -> list[tuple[FixtureArticle, str]]:
        """Serve each article's page at ``<prefix><slug>.html``; the (article, URL) pairs."""
        entries = []
        for article in articles:
            path = f"{prefix}{article.slug}.html"
            self.put(path, article_page(article, canonical=self.url(path)), **how)
            entries.append((article, self.url(path)))
        return entries

    def route(self, path: str) -> Route | None:
        with self._guard:
            return self.routes.get(path)

    def count(self, path: str, not_modified: bool = False) -> None:
        with self._guard:
            (self.not_modified if not_modified else self.hits)[path] += 1


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    feeds: FeedServer  # what it serves

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hung up (a timeout under test, the follower stopping)


class _Handler(BaseHTTPRequestHandler):
    """Serves the routes of the :class:`FeedServer` that owns the server."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK, 40 ms a response, as no real server does.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        feeds: FeedServer = self.server.feeds
        path = self.path.split("?", 1)[0]
        route = feeds.route(path)
        feeds.count(path)
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        time.sleep(route.delay)
        if route.location:
            self._send(route.status, b"", "text/plain", {"Location": route.location})
        elif route.validators and self._fresh(route):
            feeds.count(path, not_modified=True)
            self._send(304, b"", None, self._validators(route))
        else:
            headers = self._validators(route) if route.validators else {}
            self._send(route.status, route.body, route.content_type, headers, route.drip)

    def _fresh(self, route: Route) -> bool:
        if tag := self.headers.get("If-None-Match"):
            return tag == route.etag
        since = self.headers.get("If-Modified-Since")
        return since == self._validators(route)["Last-Modified"]

    @staticmethod
    def _validators(route: Route) -> dict[str, str]:
        modified = dt.datetime.fromtimestamp(int(route.modified), dt.timezone.utc)
        return {"ETag": route.etag, "Last-Modified": format_datetime(modified, usegmt=True)}

    def _send(self, status, body, content_type, headers=None, drip=0.0) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not drip:
                self.wfile.write(body)
                return
            for start in range(0, len(body), 16):
                self.wfile.write(body[start : start + 16])
                self.wfile.flush()
                time.sleep(drip)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout under test)

    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's name
        pass


# -- the feeds file -----------------------------------------------------------------------


def feeds_toml(path: Path, feeds: list[dict], **settings) -> Path:
    """Write a feeds file of ``feeds`` (the keys of a ``[[feed]]`` table each) and the
    ``[follow]`` ``settings`` to ``path``; returns ``path``."""
    lines = []
    if settings:
        lines.append("[follow]")
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
    for feed in feeds:
        lines.append("\n[[feed]]")
        lines += [f"{key} = {_toml(value)}" for key, value in feed.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# -- what the index holds -------------------------------------------------------------------


def found(root: Path, word: str) -> list[str]:
    """The ids of the articles that a search for ``word`` finds."""
    from search.searching import SearchEngine, SearchRequest

    result = SearchEngine(root).search(SearchRequest(q=word, per_page=50, facets=False))
    return [hit.id for hit in result.hits]


def stored(root: Path) -> dict[str, dict]:
    """Every article of the index by id: its stored fields (the date as stored, in UTC)."""
    from search.layout import open_live
    from search.searching import SearchEngine

    engine = SearchEngine(root)
    with open_live(root).searcher() as searcher:
        fields = {doc["id"]: doc for doc in searcher.all_stored_fields()}
    for article_id, doc in fields.items():
        doc["text"] = engine.document(article_id).text
    return fields
