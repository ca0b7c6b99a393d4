import json
import math
from dataclasses import asdict

import pytest

from chatbot.errors import InputError
from chatbot.evaluation import covers, evaluate_answers, read_questions, summarise, within_budget
from chatbot.service import handoff_threshold
from chatbot.textmetrics import rouge_l, token_f1


def test_token_f1_and_rouge_l_follow_their_definitions():
    assert token_f1("The refund takes 5 days.", "refund takes 5 days") == 1.0  # articles, case, punctuation
    assert token_f1("five days", "ten days") == pytest.approx(0.5)
    assert token_f1("", "x") == 0.0 and token_f1("", "") == 1.0
    assert rouge_l("w x y z", "w y z q") == pytest.approx(0.75)  # LCS "w y z": P = R = 3/4
    assert rouge_l("x y z", "x y z") == 1.0 and rouge_l("x", "y") == 0.0


def test_a_passage_covers_a_reference_holding_half_of_it_in_one_piece():
    reference = "Refunds reach credit cards within 5 to 10 business days."
    assert covers("We check returns first. REFUNDS reach credit   cards within 5 to 10 days.", reference)
    assert not covers("Refunds go back to the original payment method.", reference)


def test_the_word_budget_cuts_retrieved_text_at_600_words():
    texts = ["w " * 400, "x " * 400, "y " * 10]
    kept = within_budget(texts)
    assert [len(t.split()) for t in kept] == [400, 200]


def write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_bad_question_lines_are_named(tmp_path):
    with pytest.raises(InputError, match="q.jsonl:2"):
        read_questions(write(tmp_path / "q.jsonl", [{"id": 1, "question": "hi"}, {"id": 2}]))
    with pytest.raises(InputError, match="'robot'"):
        read_questions(
            write(tmp_path / "r.jsonl", [{"question": "x", "history": [{"role": "robot", "content": "y"}]}])
        )


def test_eval_answers_writes_one_line_per_question_and_summarises(make_service, settings, tmp_path):
    questions = read_questions(
        write(
            tmp_path / "q.jsonl",
            [
                {
                    "id": "a",
                    "question": "How long do refunds take to reach my credit card?",
                    "reference": "Refunds reach credit cards within 5 to 10 business days.",
                },
                {
                    "id": "b",
                    "question": "and express?",
                    "history": [
                        {"role": "user", "content": "How long does standard delivery take?"},
                        {"role": "assistant", "content": "3 to 5 business days."},
                    ],
                    "reference": "Express delivery arrives the next business day",
                },
                {"id": "c", "question": "What is the capital of Peru?", "answerable": False},
            ],
        )  # fmt: skip
    )
    out = tmp_path / "results.jsonl"
    summary = evaluate_answers(lambda s: make_service(**asdict(s)), settings, questions, out, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert set(rows[0]) >= {"id", "answer", "handed_off", "confidence", "sources", "latency_ms"}
    assert 1 <= len(rows[0]["sources"]) <= 10 and set(rows[0]["sources"][0]) == {"text", "score", "source"}
    assert rows[2]["handed_off"] and rows[2]["sources"]  # passages listed even when handed off
    assert summary["questions"] == 3 and summary["with_reference"] == 2
    assert summary["recall@10"] == 1.0 and summary["handoff_rate_unanswerable"] == 1.0
    assert {"recall@1", "recall@5", "recall_within_600_words", "mrr@10", "token_f1", "latency_ms_p50"} <= set(summary)
    service = make_service(**asdict(settings))
    in_use = handoff_threshold(settings, service.retriever.offtopic_ceiling())  # the test KB's, measured at ingest
    assert summary["handoff_threshold"] == round(in_use, 4)
    report = (tmp_path / "results.report.md").read_text()
    assert report.startswith("# Answer evaluation: results.jsonl") and f"| {in_use:.2f} (in use) |" in report
    assert (tmp_path / "results.report.png").stat().st_size > 0 and "](results.report.png)" in report
    from chatbot.storage import SqlStore

    assert SqlStore(settings.database_url).count_conversations() == 0  # the deployment's database is untouched


def test_no_generate_does_not_run_the_answer_model(make_service, settings, fake_generator, tmp_path):
    questions = read_questions(write(tmp_path / "q.jsonl", [{"id": 1, "question": "How long do refunds take?"}]))
    evaluate_answers(lambda s: make_service(**asdict(s)), settings, questions, tmp_path / "o.jsonl",
                     generate=False, progress=False)  # fmt: skip
    assert fake_generator.history == []


def test_summary_counts_handoffs_on_answerable_questions():
    from chatbot.evaluation import EvalQuestion

    rows = [
        {"id": "1", "answer": "x", "decision": "handoff_low_confidence", "handed_off": True, "sources": [],
         "latency_ms": {"total": 5.0}},
        {"id": "2", "answer": "y", "decision": "extracted", "handed_off": False, "sources": [],
         "latency_ms": {"total": 7.0}},
    ]  # fmt: skip
    summary = summarise(rows, [EvalQuestion("1", "q1"), EvalQuestion("2", "q2")])
    assert summary["handoff_rate_answerable"] == 0.5 and "recall@1" not in summary


def test_token_f1_scores_the_answers_words_and_a_handoff_as_nothing():
    from chatbot.evaluation import EvalQuestion
    from chatbot.textmetrics import answer_prose

    assert (
        answer_prose("Refunds take 5 days [1]. Express is faster [2].\n…") == "Refunds take 5 days. Express is faster."
    )
    reference = "our support team will reply"
    rows = [
        {"id": "1", "answer": "Refunds take 5 days [1].", "decision": "extracted", "handed_off": False,
         "sources": [], "latency_ms": {"total": 1.0}},
        {"id": "2", "answer": "I'm passing your conversation to our support team; they will reply here.",
         "decision": "handoff_low_confidence", "handed_off": True, "sources": [], "latency_ms": {"total": 1.0}},
    ]  # fmt: skip
    questions = [
        EvalQuestion("1", "q1", reference="Refunds take 5 days"),
        EvalQuestion("2", "q2", reference=reference),
    ]
    summary = summarise(rows, questions)
    assert summary["token_f1"] == 50.0 and summary["token_f1_answered"] == 100.0


def test_a_polite_reply_to_small_talk_is_not_an_answer_from_the_knowledge_base():
    from chatbot.evaluation import EvalQuestion

    rows = [
        {"id": str(i), "answer": "", "decision": decision, "handed_off": decision.startswith("handoff"), "sources": [],
         "latency_ms": {"total": 1.0}}
        for i, decision in enumerate(["handoff_low_confidence", "small_talk", "extracted", "handoff_requested"])
    ]  # fmt: skip
    summary = summarise(rows, [EvalQuestion(str(i), "q", answerable=False) for i in range(4)])
    assert summary["handoff_rate_unanswerable"] == 0.5
    assert summary["answered_from_kb_rate_unanswerable"] == 0.25 and summary["small_talk"] == 1


def test_ranking_measures_follow_their_definitions():
    from chatbot.evaluation import EvalQuestion

    gold = "refunds take ten business days"
    other = "opening hours are nine to five"

    def row(i, texts):
        sources = [{"text": t, "score": 1.0, "source": "s"} for t in texts]
        return {"id": i, "answer": gold, "decision": "extracted", "handed_off": False, "sources": sources,
                "latency_ms": {"total": 1.0}}  # fmt: skip

    rows = [row("1", [gold, other]), row("2", [other, gold, gold]), row("3", [other])]
    summary = summarise(rows, [EvalQuestion(i, "q", reference=gold) for i in ("1", "2", "3")])
    assert summary["recall@1"] == round(1 / 3, 4) and summary["mrr@10"] == round((1 + 1 / 2) / 3, 4)
    # Question 2: relevant at ranks 2 and 3, ideally at 1 and 2.
    second = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert summary["ndcg@10"] == round((1 + second + 0) / 3, 4)


def test_the_report_shows_what_each_hand_off_threshold_would_have_done():
    from chatbot.eval_report import markdown_report, threshold_sweep
    from chatbot.evaluation import EvalQuestion

    rows = [
        {"id": "a1", "answer": "Refunds take 5 days [1].", "decision": "extracted", "handed_off": False,
         "confidence": 0.62},
        {"id": "a2", "answer": "Open the app [1].", "decision": "extracted", "handed_off": False, "confidence": 0.47},
        {"id": "a3", "answer": "I'm not sure", "decision": "handoff_low_confidence", "handed_off": True,
         "confidence": 0.38},
        {"id": "u1", "answer": "I'm not sure", "decision": "handoff_low_confidence", "handed_off": True,
         "confidence": 0.31},
        {"id": "u2", "answer": "Delivery is free [1].", "decision": "extracted", "handed_off": False,
         "confidence": 0.44},
        {"id": "u3", "answer": "Hello!", "decision": "small_talk", "handed_off": False, "confidence": 0.0},
    ]  # fmt: skip
    questions = [
        EvalQuestion("a1", "How long do refunds take?", reference="Refunds take 5 days."),
        EvalQuestion("a2", "How do I reset my password?", reference="Choose 'Forgot password' on the sign-in page."),
        EvalQuestion("a3", "Can I pay by invoice?", reference="Yes, for business accounts."),
        *(EvalQuestion(i, "q", answerable=False) for i in ("u1", "u2", "u3")),
    ]
    answerable = {q.id: q.answerable for q in questions}
    sweep = {e["threshold"]: e for e in threshold_sweep(rows, answerable, (0.30, 0.40, 0.45, 0.50))}
    assert (sweep[0.30]["handoff_answerable"], sweep[0.30]["handoff_unanswerable"]) == (0.0, 0.0)
    assert (sweep[0.40]["handoff_answerable"], sweep[0.40]["handoff_unanswerable"]) == (0.3333, 0.5)  # small talk
    assert (sweep[0.45]["handoff_answerable"], sweep[0.45]["handoff_unanswerable"]) == (0.3333, 1.0)  # not gated
    assert sweep[0.50]["handoff_answerable"] == 0.6667
    report = markdown_report("dev set", {"questions": 6, "handoff_threshold": 0.4}, rows, questions, None)
    assert "| 0.40 (in use) | 33.3% | 50.0% |" in report and "| 0.45 | 33.3% | 100.0% |" in report
    assert "| extracted | 2 | 1 |" in report and "| small_talk | 0 | 1 |" in report
    worst = report.split("## Lowest-scoring answers")[1]
    assert worst.index("| a2 |") < worst.index("| a1 |") and "| a3 |" not in worst  # handed off: not an answer
    assert "| 0.0 | a2 | How do I reset my password? |" in worst
    assert "![" not in report  # no plot given
