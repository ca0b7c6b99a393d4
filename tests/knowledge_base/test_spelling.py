import pytest

pytest.importorskip("spellchecker", reason="needs the [faiss] extra (pyspellchecker)")

from knowledge_base.spelling import Speller, word_counts  # noqa: E402

KB = [
    "Your refund reaches your card within 5 to 10 business days.",
    "Standard delivery takes 3 to 5 business days; express delivery arrives the next day.",
    "Change your delivery address under My account. Your order number starts with LK-.",
]


def test_a_typo_of_a_knowledge_base_word_is_corrected_to_it():
    speller = Speller(word_counts(KB))
    assert speller.correct("when do I get my refnd?") == "when do I get my refund?"  # a letter left out
    assert speller.correct("how long does delivry take") == "how long does delivery take"
    assert speller.correct("change my adress") == "change my address"
    assert speller.correct("Exrpess delivery") == "express delivery"  # two letters swapped


def test_real_words_short_words_and_codes_stay_as_written():
    speller = Speller(word_counts([*KB, "Our wife team"]))
    # "weather" is English though the knowledge base never says it; "wifi" is too short to tell from "wife".
    assert speller.correct("What's the weather like? Is there wifi?") == "What's the weather like? Is there wifi?"
    assert speller.correct("order LK-12345678, deliverd") == "order LK-12345678, delivery"
    assert speller.correct("Is Pariss open") == "Is Pariss open"  # nothing in the knowledge base one edit away


def test_of_several_words_one_edit_away_the_most_frequent_in_the_knowledge_base_wins():
    speller = Speller(word_counts(["parcel parcel parcel", "parcels", "carcel"]))
    assert speller.correct("my parcell") == "my parcel"
    assert speller.correct("my arcel") == "my parcel"


def test_words_of_other_languages_are_corrected_toward_the_knowledge_base_too():
    speller = Speller(word_counts(["Die Rücksendung ist kostenlos.", "La devolución es gratuita."]))
    assert speller.correct("Ist die Rücksednung kostenlos?") == "Ist die rücksendung kostenlos?"
    assert speller.correct("¿La devolucion es gratis?") == "¿La devolución es gratis?"  # the accent counts as one edit


def test_two_words_typed_without_the_space_between_them_are_split_into_the_knowledge_bases_words():
    speller = Speller(word_counts([*KB, "Close a freemium account under Settings."]))
    assert speller.correct("close my freemiumaccount") == "close my freemium account"
    assert speller.correct("when do I get my refundto my card") == "when do I get my refund to my card"
    assert speller.correct("Expressdelivery?") == "express delivery?"


def test_a_word_is_split_only_into_words_of_the_knowledge_base_and_never_into_fragments():
    speller = Speller(word_counts([*KB, "Wal, greens and albert: our sons", "ar lug"]))
    # Names and brands that an English dictionary would split: "albert sons" are both words of this knowledge base,
    # so "albertsons" is split ...
    assert speller.correct("is albertsons open") == "is albert sons open"
    # ... but "wal" and "ar" are short and no stopwords: too likely a fragment of a name to be half of a word.
    assert speller.correct("walgreens near me") == "walgreens near me"
    assert speller.correct("un lugar") == "un lugar"
    # "paymet" is no word, and neither "pay" nor "met" is the knowledge base's: left as written.
    assert speller.correct("paymet failed") == "paymet failed"
