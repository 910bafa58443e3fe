"""Snippets and marks on real-looking news text (no index): phrases are marked only where
they stand whole, and passages are whole sentences where they fit, without «.…»."""

from __future__ import annotations

import re
from html import unescape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from search.morphology import word_terms
from search.results import Marked
from search.snippets import ELLIPSIS, SNIPPET_CHARS, Highlighter, MarkedPhrase
from web.render import marked_html


def terms(*words: str) -> frozenset[str]:
    return frozenset(t for w in words for t in word_terms(w))


def phrase(text: str, slop: int = 1) -> MarkedPhrase:
    return MarkedPhrase(tuple(terms(w) for w in text.split()), slop)


def html(marked: Marked) -> str:
    """The snippet as the page shows it (escaped, matches in <mark>)."""
    return str(marked_html(marked.text, marked.marks))


def marks(rendered: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", rendered)


def plain(html: str) -> str:
    return unescape(re.sub(r"</?mark>", "", html))


RUSSIA = Highlighter(terms("россия", "рф"), phrases=(phrase("российская федерация"),))
FEDERATION = (
    "Глава Совета Федерации Валентина Матвиенко провела встречу с президентом Федерации "
    "хоккея. Конституция Российской Федерации гарантирует свободу слова, заявила она. "
    "Россия и Белоруссия подписали соглашение; в РФ оно вступит в силу весной."
)


# -- phrases -----------------------------------------------------------------------------


def test_a_synonym_phrase_is_marked_only_where_it_stands_whole():
    assert marks(html(RUSSIA.mark(FEDERATION))) == ["Российской", "Федерации", "Россия", "РФ"]


def test_a_quoted_phrase_is_marked_where_its_words_stand_together():
    talks = Highlighter(frozenset(), phrases=(phrase("переговоры министров"),))
    text = (
        "Министров иностранных дел ждут в Женеве. Переговоры министров продолжатся завтра, "
        "а переговоры экспертов идут весь день. Министров попросили не опаздывать."
    )
    assert marks(html(talks.mark(text))) == ["Переговоры", "министров"]
    assert marks(html(talks.mark("Министров переговоры не интересуют."))) == []  # order counts


def test_a_phrase_with_slop_takes_words_within_it():
    near = Highlighter(frozenset(), phrases=(phrase("переговоры министров", slop=3),))
    assert marks(html(near.mark("Переговоры двух министров завершились."))) == [
        "Переговоры",
        "министров",
    ]
    assert marks(html(near.mark("Переговоры двух глав и министров завершились."))) == []


def test_a_phrase_is_found_across_a_hyphen_and_punctuation_as_the_index_finds_it():
    usa = Highlighter(frozenset(), phrases=(phrase("соединенные штаты"),))
    assert marks(html(usa.mark("Власти «Соединённых» Штатов ответили."))) == [
        "Соединённых",
        "Штатов",
    ]
    city = Highlighter(frozenset(), phrases=(phrase("санкт петербург"),))
    assert marks(html(city.mark("В Санкт-Петербурге прошёл форум."))) == ["Санкт", "Петербурге"]


def test_a_word_both_alone_and_in_a_phrase_is_marked_everywhere():
    both = Highlighter(terms("федерация"), phrases=(phrase("российская федерация"),))
    assert marks(html(both.mark(FEDERATION)))[:2] == ["Федерации", "Федерации"]


def test_a_snippet_prefers_the_passage_where_the_phrase_stands():
    text = "Совет Федерации собрался. " * 20 + "Конституция Российской Федерации изменена."
    snippet = html(RUSSIA.snippet(text))
    assert marks(snippet) == ["Российской", "Федерации"]


# -- sentences ---------------------------------------------------------------------------

ARTICLE = (
    "Министр иностранных дел России Сергей Лавров провёл переговоры с китайским коллегой "
    "Ван И в Пекине. Стороны обсудили подготовку к саммиту ШОС, который пройдёт в г. Астане "
    "летом, и ситуацию на Ближнем Востоке. По словам В. Лаврова, переговоры были "
    "конструктивными, хотя по ряду вопросов, касающихся торговли, энергетики и безопасности "
    "в регионе, позиции сторон пока расходятся... Следующая встреча министров назначена на "
    "осень. «Мы договорились продолжить диалог», — сказал он журналистам.\n"
    "Также по теме\n"
    "Эксперты считают, что сближение Москвы и Пекина продолжится. Торговый оборот двух стран "
    "в прошлом году вырос на 30 тыс. контейнеров, или на 12%, и достиг рекорда."
)
ARTIFACTS = re.compile(r"[.!?…]…|…[.…]|\.\.\.…")


def passages(snippet: str) -> list[str]:
    return [p.strip() for p in plain(snippet).split(ELLIPSIS) if p.strip()]


def test_a_snippet_starts_and_ends_with_its_sentences():
    snippet = html(Highlighter(terms("саммит")).snippet(ARTICLE))
    text = plain(snippet)
    assert text.startswith("Стороны обсудили подготовку к саммиту ШОС, который пройдёт в г. Астане")
    assert text.endswith("Ближнем Востоке.") and not ARTIFACTS.search(snippet)


def test_initials_and_abbreviations_do_not_end_sentences():
    snippet = plain(html(Highlighter(terms("конструктивный")).snippet(ARTICLE)))
    assert snippet.startswith("По словам В. Лаврова, переговоры были конструктивными")


def test_a_sentence_too_long_for_the_snippet_is_cut_at_a_word_with_one_ellipsis():
    long = "Президент заявил, что " + ", ".join(f"пункт номер {i} важен" for i in range(40))
    snippet = html(Highlighter(terms("президент")).snippet(long + ". Конец."))
    assert snippet.endswith(ELLIPSIS) and not snippet.startswith(ELLIPSIS)
    assert not ARTIFACTS.search(snippet) and not snippet.endswith("," + ELLIPSIS)
    assert len(plain(snippet)) <= SNIPPET_CHARS + 1


def test_a_match_deep_in_a_long_sentence_starts_the_snippet_inside_it():
    long = "Президент заявил, что " + ", ".join(f"пункт номер {i} важен" for i in range(40))
    snippet = html(Highlighter(terms("санкция")).snippet(long + ", и санкции будут сняты."))
    assert snippet.startswith(ELLIPSIS) and plain(snippet).endswith("санкции будут сняты.")


def test_a_text_ellipsis_is_not_doubled():
    """A passage that ends with the «расходятся...» of the text must not get «...…»."""
    sentence = "Переговоры министров шли долго, " + "и позиции сторон " * 12 + "расходятся..."
    text = sentence + " Следующая встреча назначена на осень, " + "сказал он, " * 30
    snippet = html(Highlighter(terms("переговоры")).snippet(text))
    assert plain(snippet) == sentence and not ARTIFACTS.search(snippet)
    for word in ("расходиться", "позиция", "торговля", "встреча"):
        snippet = html(Highlighter(terms(word)).snippet(ARTICLE))
        assert not ARTIFACTS.search(snippet), snippet


def test_two_passages_are_whole_sentences_with_an_ellipsis_for_the_text_between():
    snippet = html(Highlighter(terms("лавров", "эксперт")).snippet(ARTICLE))
    first, second = passages(snippet)
    assert first.startswith("Министр иностранных дел России") and first.endswith("Востоке.")
    assert second == "Эксперты считают, что сближение Москвы и Пекина продолжится."
    assert f"Востоке. {ELLIPSIS} <mark>Эксперты" in snippet


def test_an_ellipsis_of_the_text_does_not_stand_for_the_text_left_out():
    first = "Лавров прилетел в Пекин, где переговоры о торговле и энергетике снова затянулись..."
    text = f"{first} Стороны спорили, " + "и спорили, " * 30 + "а эксперты ждали итогов."
    snippet = html(Highlighter(terms("лавров", "эксперт")).snippet(text))
    assert f"затянулись... {ELLIPSIS}" in snippet and not ARTIFACTS.search(snippet)


def test_a_second_passage_cut_at_its_head_carries_the_ellipsis_there():
    snippet = html(Highlighter(terms("лавров", "рекорд")).snippet(ARTICLE))
    assert f"Востоке. {ELLIPSIS}тыс. контейнеров" in snippet and snippet.endswith("</mark>.")


def test_without_a_match_the_snippet_is_the_first_sentences():
    snippet = html(Highlighter(terms("футбол")).snippet(ARTICLE))
    assert plain(snippet).startswith("Министр иностранных дел") and snippet.endswith("Востоке.")
    assert html(Highlighter(terms("футбол")).snippet("", fallback="Краткое описание.")) == (
        "Краткое описание."
    )


def test_paragraph_breaks_are_sentence_ends():
    text = "Также по теме\n" + "Эксперты считают, что сближение продолжится. " * 10
    snippet = html(Highlighter(terms("тема")).snippet(text))
    assert plain(snippet).startswith("Также по теме") and not ARTIFACTS.search(snippet)


# -- any text ----------------------------------------------------------------------------

SENTENCES = [
    "Переговоры министров прошли в Женеве.",
    "Стороны обсудили санкции, пошлины и поставки газа...",
    "«Мы готовы к диалогу», — заявил В. Путин.",
    "Что дальше?",
    "Торговля выросла на 5 тыс. т, а переговоры продолжатся…",
    "Эксперты считают, что " + "экономика растёт, " * 20 + "и переговоры помогут.",
    "Также по теме\n",
    "Министров ждут в г. Москве!",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=30))
@example(  # two passages that meet across a line break keep it
    ["Переговоры министров прошли в Женеве."]
    + ["«Мы готовы к диалогу», — заявил В. Путин."] * 4
    + ["Также по теме\n", "Стороны обсудили санкции, пошлины и поставки газа..."]
)
def test_snippets_never_glue_an_ellipsis_to_a_stop(chosen):
    text = " ".join(chosen)
    for highlighter in (
        Highlighter(terms("переговоры", "санкция")),
        Highlighter(frozenset(), phrases=(phrase("переговоры министров"),)),
        Highlighter(terms("футбол")),
    ):
        snippet = html(highlighter.snippet(text))
        assert not ARTIFACTS.search(snippet), snippet
        for passage in passages(snippet):
            assert passage in text
        assert len(plain(snippet)) <= SNIPPET_CHARS * 3 // 2 + 10


@pytest.mark.parametrize("text", ["", "   ", "...", "…", "Слово", "\n\n"])
def test_degenerate_texts(text):
    for highlighter in (Highlighter(terms("слово")), Highlighter(terms("нет"))):
        assert not ARTIFACTS.search(html(highlighter.snippet(text)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=80))
def test_sentences_found_near_the_matches_bound_passages_as_the_whole_texts_do(chosen):
    """Sentence bounds are looked for only within reach of the matches: every passage
    around a match is the one that the sentences of the whole text make."""
    from search.snippets import Sentences, _near, _passage, _window

    text = " ".join(chosen)
    spans = Highlighter(terms("переговоры", "санкция", "путин")).spans(text)
    whole = Sentences(text)
    near = Sentences(text, _near(text, [(start, end) for start, end, _ in spans]))
    for start, end, _ in spans:
        for budget in (SNIPPET_CHARS, SNIPPET_CHARS // 2):
            window = _window(text, whole, start, end, budget)
            assert _window(text, near, start, end, budget) == window
            assert _passage(text, near, *window) == _passage(text, whole, *window)
