"""QA F1 / EM: the official MLQA (Spanish) and SQuAD v1.1 (English) normalisations, by hand-computed cases."""

from __future__ import annotations

import string

import pytest

from glues_bench.metrics.qa import (
    MLQA_PUNCT,
    SQUAD_PUNCT,
    exact_match_score,
    f1_score,
    normalize_answer,
    qa_scores,
)

# text -> (MLQA es, SQuAD en)
NORMALISATION_TABLE = [
    ("¿La Casa Blanca?", "casa blanca", "¿la casa blanca"),
    ("«el Quijote»", "quijote", "«el quijote»"),
    ("a Madrid", "a madrid", "madrid"),
    ("Los Ángeles", "ángeles", "los ángeles"),
    ("unas 300 personas — aprox.", "300 personas aprox", "unas 300 personas — aprox"),
    ("del río", "del río", "del río"),
    ("al norte", "al norte", "al norte"),
    ("lo mejor", "lo mejor", "lo mejor"),
    ("él mismo", "él mismo", "él mismo"),
    # string.punctuation symbols go in both; Unicode symbols (category S, not P) stay in both.
    ("$100 (aprox.)", "100 aprox", "100 aprox"),
    ("30 € y 5°", "30 € y 5°", "30 € y 5°"),
    # Articles are whole words only; "ella"/"unido"/"lasaña" keep their letters.
    ("Ella, unido a la lasaña", "ella unido a lasaña", "ella unido la lasaña"),
    ("  EL   Niño\t\n", "niño", "el niño"),
    ("una", "", "una"),
]


@pytest.mark.parametrize("text,spanish,english", NORMALISATION_TABLE)
def test_normalisation_table(text: str, spanish: str, english: str) -> None:
    assert normalize_answer(text, "es") == spanish
    assert normalize_answer(text, "squad-en") == english


def test_punctuation_sets() -> None:
    assert set(string.punctuation) <= MLQA_PUNCT
    assert frozenset(string.punctuation) == SQUAD_PUNCT
    for char in "¿¡«»—–…“”‘’·§":
        assert char in MLQA_PUNCT, char
        assert char not in SQUAD_PUNCT, char
    for char in "€°©™":  # currency/other symbols are category S, not P
        assert char not in MLQA_PUNCT, char


def test_articles_removed_after_punctuation() -> None:
    # "l'a" loses its apostrophe first and becomes "la", which is then an article (script order).
    assert normalize_answer("l'a casa", "es") == "casa"


def test_f1_is_bag_of_tokens_with_counts() -> None:
    # es: "perro perro negro" vs "perro negro": shared = min(2,1) + 1 = 2, P = 2/3, R = 1 -> F1 = 0.8.
    assert f1_score("el perro, el perro negro", "perro negro", "es") == pytest.approx(0.8)
    # A set-based overlap would call these identical; the Counter intersection does not.
    assert f1_score("sí sí", "sí", "es") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_f1_differs_between_scorings() -> None:
    # es: "casa blanca de eeuu" (4) vs "casa blanca" (2): P = 2/4, R = 1 -> 2/3.
    assert f1_score("la Casa Blanca de EE.UU.", "Casa Blanca", "es") == pytest.approx(2 / 3)
    # squad-en keeps "la": P = 2/5, R = 1 -> 0.8 / 1.4.
    assert f1_score("la Casa Blanca de EE.UU.", "Casa Blanca", "squad-en") == pytest.approx(0.8 / 1.4)
    assert exact_match_score("¿La Casa Blanca?", "casa blanca", "es") == 1.0
    assert exact_match_score("¿La Casa Blanca?", "casa blanca", "squad-en") == 0.0


def test_empty_after_normalisation_follows_the_official_script() -> None:
    # MLQA gold "una" normalises to nothing: F1 has no shared token -> 0; EM compares "" == "" -> 1.
    assert f1_score("una", "una", "es") == 0.0
    assert exact_match_score("una", "una", "es") == 1.0
    assert exact_match_score("", "una", "es") == 1.0
    assert f1_score("una", "una", "squad-en") == 1.0


def test_no_overlap_scores_zero() -> None:
    assert f1_score("Madrid", "Barcelona", "es") == 0.0
    assert exact_match_score("Madrid", "Barcelona", "es") == 0.0


def test_corpus_scores_take_max_over_golds_and_zero_for_missing() -> None:
    golds = [
        ["Madrid", "la ciudad de Madrid"],  # pred matches the 2nd gold exactly: F1 1, EM 1
        ["Casa Blanca"],  # 2/3, EM 0 (see above)
        ["1990"],  # missing prediction: 0, 0
        ["", "dos"],  # empty gold gives 0; "dos" gives F1 1 and EM 1
    ]
    predictions = ["ciudad de Madrid", "la Casa Blanca de EE.UU.", None, "Dos."]
    scores = qa_scores(golds, predictions, "es")
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 0 + 1) / 4)
    assert scores["exact_match"] == pytest.approx(50.0)


def test_unknown_scoring_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown QA scoring"):
        normalize_answer("x", "fr")  # type: ignore[arg-type]
