"""Shared fixtures: real indexes built on disk, and a real server process over one.

``web_corpus`` is a small news collection (the seed article plus hand-written JSONL
articles) with several sources, topics and years, one article with HTML/script in its
title and text, and enough articles on "переговоры" for pagination, the keyboard-layout
correction ("gthtujdjhs") and the did-you-mean offer (the typo "перговоры" appears
once, the right form in over fifty articles).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.newsgen import write_jsonl
from search import indexer
from web import server as web_server

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

# --- the web test corpus -----------------------------------------------------------------

XSS_TITLE = "<script>alert(1)</script> Опасный заголовок"
XSS_ARTICLE = {
    "id": "xss-1",
    "title": XSS_TITLE,
    "summary": "Редакция сообщает о попытке <b>взлома</b> сайта.",
    "text": "Злоумышленники пытались вставить в новость код <img src=x onerror=alert(2)> "
    "и скрипт <script>alert(1)</script>. Редакция сообщает, что сайт работает штатно, "
    "а данные читателей не пострадали. Опасный код удалён специалистами.",
    "date": "2023-05-05",
    "url": "javascript:alert(3)",
    "source": "Интерфакс",
    "topic": "Общество",
    "tags": ["кибербезопасность"],
}

LONG_TITLE = (
    "Правительство утвердило масштабную программу модернизации региональных аэропортов, "
    "железнодорожных вокзалов и автомобильных дорог федерального значения до 2030 года "
    "с общим объёмом финансирования более трёх триллионов рублей"
)

HAND_WRITTEN = [
    ("lavrov-wang-2024", "ТАСС", "Политика", "2024-03-15",
     "Лавров и Ван И обсудили подготовку к саммиту ШОС",
     "Министр иностранных дел России Сергей Лавров провёл переговоры с китайским коллегой "
     "Ван И. Стороны обсудили подготовку к саммиту Шанхайской организации сотрудничества "
     "и ситуацию на Ближнем Востоке.", ["шос", "дипломатия"]),
    ("cbr-rate-2023", "РИА Новости", "Экономика", "2023-10-27",
     "Центробанк сохранил ключевую ставку на уровне 15 процентов",
     "Совет директоров Банка России принял решение сохранить ключевую ставку. Регулятор "
     "отметил, что инфляция замедляется, но остаётся выше цели.", ["ставка", "цб"]),
    ("brent-2022", "Интерфакс", "Экономика", "2022-02-14",
     "Цены на нефть марки Brent превысили 90 долларов за баррель",
     "Стоимость нефти на бирже ICE выросла на фоне опасений о перебоях поставок. Аналитики "
     "ожидают, что нефть продолжит дорожать до конца квартала.", ["нефть"]),
    ("gazprom-china-2021", "Коммерсантъ", "Экономика", "2021-12-01",
     "Газпром увеличил экспорт газа в Китай по «Силе Сибири»",
     "Поставки газа по газопроводу выросли почти вдвое. Компания рассчитывает выйти на "
     "проектную мощность раньше срока.", ["газ", "нефть"]),
    ("football-2018", "RT", "Спорт", "2018-07-01",
     "Сборная России вышла в четвертьфинал чемпионата мира по футболу",
     "Российские футболисты обыграли сборную Испании в серии пенальти. Героем матча стал "
     "вратарь Игорь Акинфеев, отразивший два удара.", ["футбол"]),
    ("cska-2022", "ТАСС", "Спорт", "2022-04-30",
     "Хоккеисты ЦСКА выиграли Кубок Гагарина",
     "Армейцы победили в решающем седьмом матче финальной серии. Болельщики встретили "
     "команду у дворца спорта.", ["хоккей"]),
    ("vaccine-2020", "РИА Новости", "Наука", "2020-08-11",
     "Российские учёные зарегистрировали вакцину от коронавируса",
     "Вакцина разработана в центре имени Гамалеи. Испытания показали выработку устойчивого "
     "иммунитета у добровольцев.", ["медицина"]),
    ("spektr-2019", "Интерфакс", "Наука", "2019-12-20",
     "Телескоп «Спектр-РГ» получил первую карту неба",
     "Обсерватория завершила первый обзор всего неба в рентгеновском диапазоне. Учёные "
     "обнаружили тысячи новых источников излучения.", ["космос"]),
    ("metro-2023", "Коммерсантъ", "Общество", "2023-03-01",
     "В Москве открылись три новые станции метро",
     "Станции Большой кольцевой линии приняли первых пассажиров. Мэрия сообщает, что "
     "строительство кольца завершено.", ["москва", "транспорт"]),
    ("snow-2024", "RT", "Общество", "2024-01-18",
     "Снегопад парализовал движение на трассах Подмосковья",
     "Коммунальные службы работают в усиленном режиме. Водителей просят без необходимости "
     "не выезжать на личном транспорте.", ["погода", "транспорт"]),
    ("putin-erdogan-2019", "ТАСС", "Политика", "2019-10-22",
     "Путин и Эрдоган провели переговоры в Сочи",
     "Президенты России и Турции обсудили ситуацию в Сирии. Переговоры продолжались более "
     "шести часов и завершились подписанием меморандума.", ["турция", "дипломатия"]),
    ("constitution-2020", "РИА Новости", "Политика", "2020-03-10",
     "Госдума приняла закон о поправках в Конституцию",
     "Депутаты одобрили законопроект во втором и третьем чтении. Поправки вынесут на "
     "общероссийское голосование.", ["конституция"]),
    ("elections-2021", "Интерфакс", "Политика", "2021-09-24",
     "ЦИК подвёл итоги выборов в Госдуму",
     "Центральная избирательная комиссия утвердила результаты голосования. Явка на выборах "
     "составила около пятидесяти двух процентов.", ["выборы"]),
    ("ruble-2024", "Коммерсантъ", "Экономика", "2024-06-14",
     "Рубль укрепился к доллару после решения ЦБ",
     "Курс рубля вырос на Московской бирже. Аналитики связывают укрепление с высокими "
     "ставками и продажей валютной выручки экспортёрами.", ["рубль", "цб"]),
    ("typo-2022", "RT", "Политика", "2022-03-29",
     "Делегации обсудили обмен пленными в Стамбуле",
     "Очередные перговоры делегаций прошли во дворце Долмабахче. Стороны обсудили "
     "гуманитарные вопросы и обмен пленными.", ["дипломатия"]),
    ("meteor-2024", "ТАСС", "Наука", "2024-02-29",
     "Роскосмос вывел на орбиту спутник «Метеор-М»",
     "Ракета-носитель «Союз-2.1б» стартовала с космодрома Восточный. Спутник будет "
     "следить за погодой и состоянием ледового покрова.", ["космос"]),
    ("medvedev-2024", "РИА Новости", "Спорт", "2024-03-16",
     "Даниил Медведев вышел в финал турнира в Индиан-Уэллсе",
     "Российский теннисист обыграл американца в двух сетах. В финале он сыграет с "
     "победителем второго полуфинала.", ["теннис"]),
    ("flu-2018", "Интерфакс", "Общество", "2018-09-03",
     "В России стартовала вакцинация от гриппа",
     "Прививку можно сделать бесплатно в поликлинике по месту жительства. Врачи советуют "
     "не откладывать вакцинацию до начала эпидемии.", ["медицина"]),
    ("brexit-2018", "Коммерсантъ", "Политика", "2018-11-15",
     "Переговоры по Брекзиту зашли в тупик",
     "Британское правительство не смогло договориться с Евросоюзом о границе с Ирландией. "
     "Переговоры могут продолжиться в декабре.", ["брекзит", "дипломатия"]),
    ("ofz-2019", "RT", "Экономика", "2019-05-22",
     "Минфин разместил облигации федерального займа на 50 млрд рублей",
     "Спрос инвесторов превысил предложение почти в два раза. Доходность выпуска составила "
     "восемь процентов годовых.", ["облигации"]),
    ("yakutia-2021", "ТАСС", "Общество", "2021-07-20",
     "Лесные пожары в Якутии охватили более миллиона гектаров",
     "В регионе действует режим чрезвычайной ситуации. К тушению привлекли авиацию и "
     "добровольцев из соседних районов.", ["пожары"]),
    ("msu-2022", "РИА Новости", "Наука", "2022-11-09",
     "Физики МГУ предложили новый способ хранения энергии",
     "Исследователи создали накопитель на основе графена. По словам учёных, устройство "
     "заряжается в десять раз быстрее литиевых аккумуляторов.", ["физика"]),
    ("roads-2023", "Интерфакс", "Экономика", "2023-08-08", LONG_TITLE,
     "Программа предусматривает реконструкцию сорока аэропортов и строительство новых "
     "трасс. Финансирование поступит из федерального бюджета и от частных инвесторов.",
     ["транспорт", "бюджет"]),
    ("undated-1", "Лента.ру", "Общество", None,
     "Волонтёры высадили тысячу деревьев в городском парке",
     "Акция прошла в выходные. Организаторы планируют провести её снова весной.", []),
]  # fmt: skip

# Talks between two parties in a city, on a subject of a topic: over fifty short articles
# that hold the word form "переговоры".
PARTIES = [
    ("России и Китая", "Пекине"),
    ("Москвы и Анкары", "Анкаре"),
    ("Армении и Азербайджана", "Брюсселе"),
    ("Сербии и Косово", "Брюсселе"),
    ("Казахстана и Узбекистана", "Ташкенте"),
    ("Индии и Пакистана", "Дели"),
    ("Египта и Эфиопии", "Каире"),
    ("США и Ирана", "Маскате"),
    ("Японии и Южной Кореи", "Токио"),
    ("Франции и Германии", "Париже"),
    ("Белоруссии и Литвы", "Минске"),
    ("Грузии и Абхазии", "Женеве"),
    ("Бразилии и Аргентины", "Буэнос-Айресе"),
]
SUBJECTS = [
    ("о поставках газа", "Экономика"),
    ("о торговых пошлинах", "Экономика"),
    ("о прекращении огня", "Политика"),
    ("о научном сотрудничестве", "Наука"),
]
SOURCES = ["ТАСС", "РИА Новости", "Интерфакс", "Коммерсантъ", "RT"]


def talks_articles() -> list[dict]:
    articles = []
    for number, ((parties, city), (subject, topic)) in enumerate(
        (p, s) for p in PARTIES for s in SUBJECTS
    ):
        articles.append(
            {
                "id": f"talks-{number:02d}",
                "title": f"Делегации {parties} провели раунд переговоров {subject}",
                "text": f"Переговоры {parties} {subject} прошли в {city}. Как сообщил "
                "источник, знакомый с ходом обсуждения, переговоры проходили в "
                "конструктивной атмосфере, однако по ряду вопросов разногласия сохраняются. "
                "Следующую встречу стороны планируют провести через месяц.",
                "date": f"{2018 + number % 7}-{1 + number % 12:02d}-{1 + number % 27:02d}",
                "url": f"https://news.example.ru/talks/{number}",
                "source": SOURCES[number % len(SOURCES)],
                "topic": topic,
                "tags": ["дипломатия", "переговоры"],
            }
        )
    return articles


def hand_written_articles() -> list[dict]:
    articles = []
    for article_id, source, topic, date, title, text, tags in HAND_WRITTEN:
        article = {
            "id": article_id,
            "title": title,
            "text": text,
            "url": f"https://www.example.ru/news/{article_id}",
            "source": source,
            "topic": topic,
            "tags": tags,
        }
        if date:
            article["date"] = date
        articles.append(article)
    return articles


@dataclass(frozen=True)
class WebCorpus:
    """An index folder, and the articles in it (besides the seed article)."""

    root: Path
    articles: list[dict]

    def article(self, article_id: str) -> dict:
        return next(a for a in self.articles if a["id"] == article_id)


@pytest.fixture(scope="session")
def web_corpus(tmp_path_factory: pytest.TempPathFactory) -> WebCorpus:
    """A real index on disk: the seed article, the hand-written and the talks articles."""
    articles = [XSS_ARTICLE, *hand_written_articles(), *talks_articles()]
    root = build_index(tmp_path_factory.mktemp("web-corpus"), articles, SEEDS)
    return WebCorpus(root, articles)


def build_index(folder: Path, articles: list[dict], *more_sources: Path) -> Path:
    """A real index of ``articles`` (and of ``more_sources``) in ``folder``/index."""
    folder.mkdir(parents=True, exist_ok=True)
    jsonl = write_jsonl(folder / "articles.jsonl", articles)
    root = folder / "index"
    report = indexer.build(root, [*more_sources, jsonl])
    assert report.skipped == 0, report.problems
    return root


# --- a real server process -----------------------------------------------------------------


@contextmanager
def running_server(index_dir: Path, log: Path, *options: str) -> Iterator[str]:
    """``news-search serve --index DIR`` on a free port until the block ends; its URL.

    The output goes to ``log``, which a startup failure quotes.
    """
    with web_server.background_server(index_dir, log, *options) as server:
        yield server.url


@pytest.fixture(scope="session")
def server_process():
    """The ``running_server`` context manager, for tests that need a server of their own."""
    return running_server


@pytest.fixture(scope="session")
def live_server(web_corpus: WebCorpus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over ``web_corpus`` on a free port, for the whole session; its base URL."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(web_corpus.root, log) as base_url:
        yield base_url


SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
JUDGEMENTS = SHARED / "eval" / "known-item.jsonl"

#: Fixtures whose tests belong to a marked tier, so that no test has to say it twice.
FIXTURE_MARKS = {
    "corpus_engine": ("corpus", "slow"),
    "live_server": ("slow",),
    "server_process": ("slow",),
    "cli": ("slow",),
    "browser": ("browser", "slow"),
    "chrome": ("browser", "slow"),
}
IMPLIED_MARKS = {"browser": "slow", "postgres": "slow", "corpus": "slow"}


def require_corpus() -> None:
    """Skip without ../shared/corpus, except in CI (``CI=true``), where its absence fails:
    a CI run must not pass by skipping the tests that matter most."""
    if CORPUS.is_dir():
        return
    message = f"the shared corpus is not here ({CORPUS}); a fresh clone has no ../shared"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marks in FIXTURE_MARKS.items():
            if fixture in names:
                for mark in marks:
                    item.add_marker(mark)
        for mark, implied in IMPLIED_MARKS.items():
            if item.get_closest_marker(mark) is not None:
                item.add_marker(implied)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("corpus") is not None:
        require_corpus()


@pytest.fixture(scope="session")
def corpus_engine(tmp_path_factory: pytest.TempPathFactory):
    """The whole shared corpus indexed once (skipped when ../shared/corpus is absent).

    ``NEWS_SEARCH_TEST_CORPUS_INDEX`` may name an index of the corpus built before, to
    save the build while working on the tests.
    """
    require_corpus()
    from search.indexer import build
    from search.searching import SearchEngine

    prebuilt = os.environ.get("NEWS_SEARCH_TEST_CORPUS_INDEX")
    if prebuilt:
        return SearchEngine(Path(prebuilt))

    root = tmp_path_factory.mktemp("corpus-index")
    report = build(root, [CORPUS], procs=os.cpu_count() or 1)
    assert report.indexed == 8934
    return SearchEngine(root)


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory: pytest.TempPathFactory):
    """An index of the seed article alone."""
    from search.indexer import build
    from search.searching import SearchEngine

    root = tmp_path_factory.mktemp("seed-index")
    build(root, [SEEDS])
    return SearchEngine(root)


# --- the command line as a process of its own --------------------------------------------


def run_cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m search ARGS`` as a separate process, as people run it; output as text."""
    return subprocess.run(
        [sys.executable, "-m", "search", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def cli():
    """``run_cli``: runs the command line in a process of its own."""
    return run_cli
