"""Tests for search.cleanup: the leftovers of scraped pages go, the prose and its paragraphs
stay. The samples have the shapes met in the shared corpus (RT and НГ articles), with prose of
their own."""

from __future__ import annotations

import difflib
import gzip
import json
import re
from pathlib import Path

import pytest

from search.cleanup import clean_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

BEFORE = "Сборная России обыграла соперника со счётом 2:1 в отборочном матче чемпионата мира."
AFTER = "Следующую игру команда проведёт в октябре на своём поле, сообщили в федерации."


def around(*lines: str) -> str:
    """``lines`` between two paragraphs of prose, as scraped: one line each."""
    return "\n".join([BEFORE, *lines, AFTER])


def test_text_without_leftovers_is_left_exactly_as_it_is():
    text = f"{BEFORE}\n\n\n{AFTER}\n  Цитата: «Мы готовы (к переговорам)»; — сказал он.  "
    assert clean_text(text) is text


def test_embedded_tweet_loses_its_picture_link_byline_and_date():
    text = around(
        "Great header by Hummels for Germany, assisted by Kroos ",
        "pic.twitter.com/DR0qTN0P6X",
        "— N • E • M • O (@TafadzwaMunemo) ",
        "1 сентября 2017 г.",
    )
    expected = around("Great header by Hummels for Germany, assisted by Kroos ")
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    "byline",
    [
        ["— Donald J. Trump (@realDonaldTrump) ", "October 10, 2017"],
        ["— MFA Russia 🇷🇺 (@mfa_russia) March 3, 2018"],
        ["Публикация от Maria Sharapova (@mariasharapova) ", "Окт 12 2017 в 10:08 PDT"],
        ["Публикация от ", " FC Lokomotiv Moscow", " (@fclokomotiv) ", "Фев 15, 2018 в 11:56 PST"],
        ["A photo posted by March For Life (@marchforlife) on ", "Jan 21, 2017 at 4:39pm PST"],
    ],
    ids=["tweet", "date on the line", "instagram", "instagram on lines", "instagram, English"],
)
def test_bylines_of_embedded_posts_go(byline):
    text = around("#StanleyCup", "https://t.co/qyT4bcHVuR", *byline)
    assert clean_text(text) == around("#StanleyCup")


def test_vk_widget_code_goes():
    code = (
        "  (function(d, s, id) { var js, fjs = d.getElementsByTagName(s)[0]; if (d.getElementById"
        '(id)) return; js = d.createElement(s); js.id = id; js.src = "//vk.com/js/api/openapi.js'
        "?145\"; fjs.parentNode.insertBefore(js, fjs); }(document, 'script', 'vk_openapi_js'));"
        "  (function() {    if (!window.VK || !VK.Widgets || !VK.Widgets.Post || !VK.Widgets.Post"
        "(\"vk_post_-8722610_22324728\", -8722610, 22324728, 'kgxymVRPQ6WNFW_cq9riHEoJ-w')) "
        "setTimeout(arguments.callee, 50);  }());"
    )
    assert clean_text(around(code)) == around()


def test_video_player_code_goes_but_its_caption_stays():
    player = [
        ' jwplayer.key="kESrsgULvYO7r2MfUelqj3vs+2i8JdQBqjGNmA==";',
        ' jwplayer("js-mediaplayer-58e7efcf_2").setup({ advertising: (function() {',
        " if(window.location.pathname.indexOf('/preview/Article/') + 1 > 0) { return {}; }",
        ' // title:       "\\u041F\\u0440\\u043E", aspectratio: "16:9", skin: { name: "five",'
        ' active: "#77bd1e", background: "rgba(0, 0, 0, 0.5)", inactive: "#FFFFFF"',
        ' }, width: "100%", sharing: { heading : "Поделиться Видео", code: encodeURI(\'<div '
        'style="position: relative;"><iframe src="\' + location.host + \'"></iframe></div>\')',
        " for (var i = 0, max = players.length; i < max; i++) { var id = players[i].id; }",
    ]
    text = around("", *player, "", " Простая логика: у Асада не было причин ", "")
    assert clean_text(text) == around("", " Простая логика: у Асада не было причин ", "")


def test_related_article_block_goes():
    text = around(
        " Также по теме ",
        " «Круг сужается»: глава федерации рассказал о ходе расследования ",
        " Мельдоний попал в организм спортсмена во время тренировочного сбора в Японии или... ",
    )
    assert clean_text(text) == around()


def test_related_article_with_a_whole_teaser_goes():
    text = around(
        " Также по теме ",
        " Мэй заявила о намерении защитить права граждан ЕС в Британии ",
        " Премьер-министр Великобритании заявила о намерении защитить права граждан. ",
    )
    assert clean_text(text) == around()


def test_related_poll_goes_but_the_prose_after_it_stays():
    """A poll has a question and no teaser; an interview's next line is indented too."""
    text = around(
        " Также по теме ",
        " Как вы думаете, как поступит Ассанж? ",
        " — Сейчас ментальность изменилась? ",
        " — Да, и очень сильно. ",
    )
    expected = around(" — Сейчас ментальность изменилась? ", " — Да, и очень сильно. ")
    assert clean_text(text) == expected


def test_bare_read_also_goes():
    assert clean_text(f"{BEFORE} \r\n  \nЧитайте также:".replace("\r\n", "\n")) == f"{BEFORE} "


def test_photo_credits_go_but_captions_stay():
    text = around(
        " Президент Казахстана Нурсултан Назарбаев  ",
        " РИА Новости ",
        " © Рамиль Ситдиков ",
        "Очередной абзац статьи о визите.",
        " Reuters ",
        " © Sergei Karpukhin ",
        " © Фото: страница Елены Мисюриной в Facebook ",
        "Фото: NASA",
    )
    expected = around(
        " Президент Казахстана Нурсултан Назарбаев  ", "Очередной абзац статьи о визите."
    )
    assert clean_text(text) == expected


def test_closing_photo_credit_inside_a_paragraph_goes():
    text = "В результате перестрелки с полицейскими оба преступника погибли. Фото: (c) Reuters."
    assert clean_text(text) == "В результате перестрелки с полицейскими оба преступника погибли."


PROSE_THAT_LOOKS_LIKE_LEFTOVERS = [
    "Злоумышленники вставили в новость код <img src=x onerror=alert(2)> и скрипт "
    "<script>alert(1)</script>; редакция удалила его (var x = 1).",
    "Позднее эксперт удалил свой аккаунт в Twitter (@Elleman_IISS).",
    "Комментарий пользователя, опубликовавшего фото: «Отличная футболка!»",
    "Газета сделала коллаж из двух фото: радующихся хоккеистов и информатора WADA.",
    "В пункте 1 статьи 2 есть ещё подпункты (b) и (c), в которых это раскрыто.",
    "— Вы были удивлены его словами? Ведь он играл за «Искру» с 2007 года (см. выше).",
    "Reuters",
    "Также по теме переговоров министры не сказали ничего нового.",
    "Президент сообщил, что функция window.open в браузере {Chrome} работает иначе.",
]


@pytest.mark.parametrize("line", PROSE_THAT_LOOKS_LIKE_LEFTOVERS)
def test_prose_that_looks_like_a_leftover_stays(line):
    text = around(line)
    assert clean_text(text) == text


def test_paragraphs_stay_and_a_removed_block_leaves_one_blank_line():
    text = "\n".join(
        [BEFORE, "", " Также по теме ", " Заголовок ", " Анонс... ", "", "", AFTER, "", AFTER]
    )
    assert clean_text(text) == f"{BEFORE}\n\n{AFTER}\n\n{AFTER}"


def test_cleaning_twice_changes_nothing_more():
    text = around(" Также по теме ", " Заголовок ", " Анонс... ", "pic.twitter.com/x1", " © AFP ")
    once = clean_text(text)
    assert clean_text(once) == once == around()


CYRILLIC_WORD = re.compile(r"[а-яё]{2,}", re.IGNORECASE)
BYLINE = re.compile(r"\(@[\w.]+\)(?:\s+on)?\s*$")


@pytest.mark.corpus
def test_on_the_corpus_only_leftovers_go():
    """Every line removed from the corpus articles is a leftover: a line with six Russian
    words or more goes only as a related article's headline or teaser, or as code."""
    changed = 0
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        with gzip.open(path) as lines:
            for line in lines:
                text = (json.loads(line)["text"] or "").replace("\r\n", "\n").strip()
                removed = removed_lines(text, clean_text(text))
                changed += bool(removed)
                for number in removed:
                    assert is_leftover(text.split("\n"), number), (path, number)
    assert changed > 5_000


def removed_lines(before: str, after: str) -> list[int]:
    """The numbers of the lines of ``before`` that are not in ``after``, whole or in part (a
    picture link or a closing photo credit cut from a line leaves the rest of it)."""
    old, new = before.split("\n"), after.split("\n")
    removed = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, start, end, new_start, new_end in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            parts = [line.strip() for line in new[new_start:new_end] if line.strip()]
            removed += [
                number
                for number in range(start, end)
                if old[number].strip() and not any(part in old[number] for part in parts)
            ]
    return removed


def is_leftover(lines: list[str], number: int) -> bool:
    line = lines[number]
    words = CYRILLIC_WORD.findall(line)
    if len(words) < 6 or line.strip().startswith(("©", "Фото")) or BYLINE.search(line):
        return True
    related = any(lines[n].strip() == "Также по теме" for n in range(max(0, number - 2), number))
    letters = re.findall(r"[^\W\d_]", line)
    return related or len("".join(words)) < 0.2 * len(letters)
