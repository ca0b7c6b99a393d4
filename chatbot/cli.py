"""The `chatbot` command: each command parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chatbot.cli_admin import conversations, texts, users
from chatbot.cli_common import handle_errors, registry_for
from chatbot.config import Settings

if TYPE_CHECKING:
    from knowledge_base.ingest import IngestReport


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (database, index, model cache). Default: $CHATBOT_HOME or ~/.local/share/chatbot.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (model loading, index snapshots...).")
@click.version_option(package_name="chatbot")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, verbose: bool) -> None:
    """A self-hosted customer-service chatbot that answers from your knowledge base.

    \b
    Quick start:
        chatbot kb ingest --demo
        chatbot ask "How long do refunds take?"
        chatbot serve
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # per-file weight-loading bars hide the command's own output
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    settings = Settings.from_env()
    ctx.obj = settings.with_home(home) if home else settings


@cli.group()
def kb() -> None:
    """Manage the knowledge base: ingest documents, show what is indexed."""


def _echo_ingest(settings: Settings, report: IngestReport) -> None:
    click.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed; {report.chunks_embedded} chunks embedded; index: "
        f"{report.documents_total} documents, {report.chunks_total} chunks in {settings.index_dir}"
    )
    for source, reason in report.failures.items():
        click.echo(f"skipped {source}: {reason}", err=True)
    for note in report.repeat_notes():
        click.echo(f"note: {note} (`chatbot kb remove SOURCE`)", err=True)
    if report.failures and not (report.added or report.updated or report.unchanged):
        raise click.ClickException("no document could be ingested")


@kb.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--demo", is_flag=True, help="Ingest the demo help center shipped with the package.")
@click.option("--rebuild", is_flag=True, help="Start from an empty index (after changing embedder or chunk size).")
@click.pass_obj
@handle_errors
def kb_ingest(settings: Settings, paths: tuple[Path, ...], demo: bool, rebuild: bool) -> None:
    """Add or update documents: Markdown, text, saved web pages (HTML), PDF and Word (.docx) documents, FAQ files
    (CSV/JSONL with question and answer columns) and JSONL documents (one {"id", "title", "text"} per line).

    Folders are read recursively. Unchanged documents are not embedded again; documents deleted from an
    ingested folder are removed from the index.

    \b
    Examples:
        chatbot kb ingest ./help-center
        chatbot kb ingest faq.csv policies/returns.md
        chatbot kb ingest --demo
    """
    from chatbot.kb_admin import ingest_paths
    from knowledge_base import DEMO_KB_DIR
    from knowledge_base.embedder import SentenceTransformerEmbedder

    targets = list(paths) + ([DEMO_KB_DIR] if demo else [])
    if not targets:
        raise click.UsageError("give at least one file or folder to ingest, or --demo")
    report = ingest_paths(
        settings,
        targets,
        embedder=SentenceTransformerEmbedder(settings.embedder_model, device=settings.device),
        rebuild=rebuild,
    )
    _echo_ingest(settings, report)


@kb.command("crawl")
@click.argument("url")
@click.option("--max-pages", default=500, show_default=True, help="Stop after this many pages.")
@click.option("--delay", default=0.5, show_default=True, help="Seconds between requests (robots.txt may ask more).")
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Never fetch addresses whose path matches, e.g. '/help/community/*' or '*/login*' (repeatable).",
)
@click.pass_obj
@handle_errors
def kb_crawl(settings: Settings, url: str, max_pages: int, delay: float, exclude: tuple[str, ...]) -> None:
    """Fetch your help center's pages from its website and ingest them; citations link to the pages.

    Give its sitemap (every page it lists) or a start page (its links are followed within the same section
    of the site). robots.txt is obeyed. The pages are kept in the data directory under sites/<host>; crawling
    again updates the knowledge base, and pages gone from the site leave it.

    \b
    Examples:
        chatbot kb crawl https://help.example.com/sitemap.xml
        chatbot kb crawl https://example.com/help/ --max-pages 200
        chatbot kb crawl https://example.com/help/ --exclude '/help/community/*' --exclude '*/fr/*'
    """
    from chatbot.kb_admin import ingest_paths
    from knowledge_base.crawl import crawl_site, site_folder
    from knowledge_base.embedder import SentenceTransformerEmbedder

    folder = site_folder(settings.home / "sites", url)
    crawl = crawl_site(url, folder, max_pages=max_pages, delay_s=delay, exclude=exclude)
    click.echo(f"{len(crawl.saved)} pages fetched into {folder}, {len(crawl.skipped)} skipped")
    for address, why in list(crawl.skipped.items())[:10]:
        click.echo(f"  skipped {address}: {why}")
    report = ingest_paths(
        settings, [folder], embedder=SentenceTransformerEmbedder(settings.embedder_model, device=settings.device)
    )
    _echo_ingest(settings, report)


@kb.command("remove")
@click.argument("sources", nargs=-1, required=True)
@click.pass_obj
@handle_errors
def kb_remove(settings: Settings, sources: tuple[str, ...]) -> None:
    """Remove documents by the source shown in `kb stats` and in citations: a file or a whole folder.

    \b
    Examples:
        chatbot kb remove help-center/old-returns-policy.md
        chatbot kb remove help-center/faq.csv
    """
    from chatbot.kb_admin import remove_sources

    removed = remove_sources(settings, list(sources))
    click.echo(f"{len(removed)} documents removed: {', '.join(removed)}")


@kb.command("stats")
@click.pass_obj
@handle_errors
def kb_stats(settings: Settings) -> None:
    """Show what the knowledge base holds.

    \b
    Example:
        chatbot kb stats
    """
    from chatbot.kb_admin import sync_documents
    from chatbot.service import handoff_threshold
    from knowledge_base.index import KnowledgeIndex

    index = KnowledgeIndex.load(settings.index_dir)
    sync_documents(settings)  # repairs the database's document list if a crash left it behind the index
    sources = {c.source for c in index.chunks}
    faq = sum(1 for s in sources if "#" in s)
    click.echo(f"index:      {settings.index_dir}")
    click.echo(f"embedder:   {index.manifest.embedder} ({index.manifest.dimension} dimensions)")
    click.echo(f"documents:  {len(sources) - faq} articles, {faq} FAQ entries")
    click.echo(f"chunks:     {len(index)} (about {index.manifest.chunk_words} words each)")
    click.echo(f"vectors:    FAISS {index.dense_type} (requested: {index.manifest.dense_index})")
    ceiling = index.manifest.offtopic_ceiling
    threshold = handoff_threshold(settings, ceiling)
    measured = "not measured yet: ingest again" if ceiling is None else f"off-topic requests reach {ceiling:.2f}"
    click.echo(f"hand-off:   below confidence {threshold:.2f} ({measured}; setting {settings.handoff_confidence})")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer, decision and sources as JSON.")
@click.option("--conversation", help="Continue this conversation id instead of starting a new one.")
@click.pass_obj
@handle_errors
def ask(settings: Settings, question: str, as_json: bool, conversation: str | None) -> None:
    """Ask one question and print the answer with its numbered sources.

    \b
    Examples:
        chatbot ask "How long do refunds take?"
        chatbot ask --json "Can I change my delivery address?"
    """
    from chatbot.grounding import cited_in
    from chatbot.service import create_service

    service = create_service(settings)
    # A customer whose question cannot be searched is handed to staff; the operator asking here gets the reason.
    service.retriever.check()
    stream = service.reply(conversation, question)
    if as_json:
        click.echo(json.dumps(stream.result().to_json(), ensure_ascii=False, indent=2))
        return
    answer = stream.result()
    click.echo(answer.text)
    if answer.handed_off:
        click.echo(f"\n(handed to a person: {answer.decision.value}; confidence {answer.confidence:.2f})")
    if answer.sources:
        click.echo("\nSources:")
        for number in cited_in(answer.text, len(answer.sources)):
            passage = answer.sources[number - 1]
            click.echo(f"  [{number}] {passage.chunk.title} ({passage.chunk.url or passage.chunk.source})")
    click.echo(f"\nconversation: {answer.conversation_id}", err=True)


@cli.group("eval")
def eval_group() -> None:
    """Measure the assistant on your own question sets."""


@eval_group.command("answers")
@click.option(
    "--questions",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL: {"id", "question", "history": [{"role", "content"}...], "reference", "answerable"} per line.',
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL of the results.")
@click.option("--no-generate", is_flag=True, help="Skip the answer model: retrieval, decision, extractive answers.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.pass_obj
@handle_errors
def eval_answers(settings: Settings, questions: Path, out: Path, no_generate: bool, limit: int | None) -> None:
    """Run the whole answer path (retrieval, decision, generation) for each question on the current knowledge
    base and models; write one JSON line per question with the top 10 passages, and print retrieval recall@1/5/10,
    recall within 600 words, MRR@10, nDCG@10, answer token F1 and the hand-off rates. Conversations are not kept.
    Beside the results: a report (OUT's name .report.md, with a plot) of what each hand-off threshold would have
    done on these questions, the decisions taken and the lowest-scoring answers.

    \b
    Examples:
        chatbot eval answers --questions dev.jsonl --out results.jsonl
        chatbot eval answers --questions dev.jsonl --out retrieval.jsonl --no-generate --limit 200
    """
    from chatbot.eval_report import report_paths
    from chatbot.evaluation import evaluate_answers, read_questions
    from chatbot.service import create_service

    summary = evaluate_answers(
        create_service, settings, read_questions(questions, limit), out, generate=not no_generate, title=questions.name
    )
    click.echo(json.dumps(summary, indent=1))
    click.echo(f"report: {report_paths(out)[0]}", err=True)


@eval_group.command("sentiment")
@click.option(
    "--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV, TSV or JSONL."
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--label-map", help="How raw labels map to sentiment labels, e.g. '0=negative,1=neutral,2=positive'.")
@click.option("--model", help="A sentiment model folder to measure instead of the serving model.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="JSONL: text, gold label, label, score.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N texts.")
@click.pass_obj
@handle_errors
def eval_sentiment(
    settings: Settings,
    data: Path,
    text_column: str,
    label_column: str,
    label_map: str | None,
    model: str | None,
    out: Path | None,
    limit: int | None,
) -> None:
    """Label every text of a labelled file with the serving sentiment model (or --model) and print accuracy,
    macro-recall and macro-F1 (over the labels the data has), per-label recall / precision / F1, the confusion
    counts, and for data without neutral texts the accuracy of telling negative from not negative.

    \b
    Examples:
        chatbot eval sentiment --data feedback.csv --label-column stars \\
            --label-map "1=negative,2=negative,3=neutral,4=positive,5=positive"
        chatbot eval sentiment --data sst2.tsv --text-column sentence --label-map 0=negative,1=positive
    """
    import time

    from chatbot.sentiment import serving_classifier
    from finetune.data import labelled_texts, parse_label_map
    from finetune.metrics import sentiment_report

    pairs = labelled_texts(
        data, text_column=text_column, label_column=label_column, label_map=parse_label_map(label_map)
    )
    pairs = pairs[:limit] if limit else pairs
    chosen = replace(settings, sentiment_model=model) if model else settings
    registry = registry_for(settings)
    classifier = serving_classifier(chosen, registry)
    classifier.warm_up()
    started = time.perf_counter()
    results = classifier.classify([text for text, _ in pairs])
    seconds = time.perf_counter() - started
    report = sentiment_report([gold for _, gold in pairs], [r.label for r in results])
    report["model"] = registry.resolve("sentiment", chosen.sentiment_model)
    report["runtime"] = chosen.sentiment_runtime
    report["messages_per_s"] = round(len(pairs) / seconds, 1) if seconds else None
    if out is not None:
        with out.open("w", encoding="utf-8") as fh:
            for (text, gold), result in zip(pairs, results, strict=True):
                row = {"text": text, "gold": gold, "label": result.label, "score": round(result.score, 4)}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    click.echo(json.dumps(report, indent=1))


@cli.command("sentiment")
@click.argument("texts", nargs=-1)
@click.option("--input", "input_file", type=click.File(encoding="utf-8"), help="Read texts from a file, one per line.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096), help="Texts per batch.")
@click.pass_obj
@handle_errors
def sentiment_command(settings: Settings, texts: tuple[str, ...], input_file: Any, batch_size: int) -> None:
    """Label texts negative / neutral / positive; prints one JSON line per text.

    \b
    Examples:
        chatbot sentiment "My parcel is late again" "Thanks, that helped!"
        chatbot sentiment --input messages.txt --batch-size 128
    """
    from chatbot.sentiment import serving_classifier

    lines = list(texts) + ([line.rstrip("\n") for line in input_file if line.strip()] if input_file else [])
    if not lines:
        raise click.UsageError("give texts as arguments or --input FILE")
    classifier = serving_classifier(settings, registry_for(settings), batch_size=batch_size)
    for text, result in zip(lines, classifier.classify(lines), strict=True):
        click.echo(
            json.dumps({"text": text, "label": result.label, "score": round(result.score, 4)}, ensure_ascii=False)
        )


@cli.group()
def finetune() -> None:
    """Fine-tune models on your own data; each run registers a new model version."""


@finetune.command("sentiment")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV, TSV or JSONL with a text and a label column.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--label-map", help="How raw labels map to sentiment labels, e.g. '0=negative,1=neutral,2=positive'.")
@click.option(
    "--eval-fraction",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.01, 0.5),
    help="Share held out for evaluation (split by content hash: repeatable).",
)
@click.option("--epochs", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--max-steps", default=0, show_default=True, type=click.IntRange(min=0), help="0: no limit.")
@click.option(
    "--base-model",
    default="default",
    show_default=True,
    help="Encoder to adapt: 'default' (MiniLM from its wheel) or a local folder / hub id, e.g. a "
    "multilingual encoder for non-English customers.",
)
@click.option(
    "--lora/--full",
    default=True,
    show_default=True,
    help="Train a LoRA adapter, or every encoder weight (saved as a rank-64 adapter of 5.7 MB).",
)
@click.option("--name", help="Version name (default: sentiment-YYYYmmdd-HHMMSS).")
@click.option("--promote", is_flag=True, help="Serve the new version at once if it beats the serving one.")
@click.option("--force", is_flag=True, help="With --promote: promote even if it scores worse.")
@click.pass_obj
@handle_errors
def finetune_sentiment(
    settings: Settings,
    data_file: Path,
    text_column: str,
    label_column: str,
    label_map: str | None,
    eval_fraction: float,
    epochs: float,
    max_steps: int,
    base_model: str,
    lora: bool,
    name: str | None,
    promote: bool,
    force: bool,
) -> None:
    """Train a sentiment model on your labelled messages or feedback, evaluate it against the serving one on
    held-out data, and register it as a new version.

    \b
    Examples:
        chatbot finetune sentiment --data feedback.csv --label-column stars \\
            --label-map "1=negative,2=negative,3=neutral,4=positive,5=positive"
        chatbot finetune sentiment --data labelled.jsonl --promote
    """
    from finetune.sentiment import run_sentiment_finetune

    version = run_sentiment_finetune(
        settings,
        data_file,
        text_column=text_column,
        label_column=label_column,
        label_map=label_map,
        eval_fraction=eval_fraction,
        epochs=epochs,
        max_steps=max_steps,
        base_model=base_model,
        full_finetune=not lora,
        name=name,
        promote=promote,
        force=force,
    )
    new, baseline = version.report["eval"], version.report["baseline"]
    click.echo(f"registered {version.name} ({version.status}) at {version.path}")
    for metric in ("accuracy", "macro_recall", "macro_f1"):
        click.echo(f"  {metric:13s} new {new[metric]:.4f}   serving {baseline[metric]:.4f}")


def _transcript_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where answer-model examples come from (shared by `finetune answers|evaluate`)."""
    options = [
        click.option(
            "--transcripts",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="CSV, TSV, JSONL or Parquet: question/answer columns, or a column of whole conversations.",
        ),
        click.option("--question-col", default="instruction", show_default=True, help="Column of customer messages."),
        click.option("--answer-col", default="response", show_default=True, help="Column of support replies."),
        click.option(
            "--messages-col",
            default="messages",
            show_default=True,
            help="Column of whole conversations (lists of {role, content}); used instead of the two above if present.",
        ),
        click.option(
            "--staff-replies",
            is_flag=True,
            help="Also use the replies staff sent in this deployment (since the last answer model version).",
        ),
        click.option(
            "--eval-fraction",
            default=0.1,
            show_default=True,
            type=click.FloatRange(0.01, 0.5),
            help="Share held out for evaluation (split by a hash of the customer message: repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@finetune.command("answers")
@_transcript_options
@click.option("--epochs", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--max-steps", default=0, show_default=True, type=click.IntRange(min=0), help="0: use --epochs.")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1, 1024), help="Examples per pass.")
@click.option("--grad-accum", default=1, show_default=True, type=click.IntRange(1, 1024), help="Passes per step.")
@click.option("--learning-rate", default=0.0, show_default=True, type=float, help="0: 2e-4 (LoRA), 2e-5 (full).")
@click.option("--max-length", default=512, show_default=True, type=click.IntRange(16), help="Tokens per example.")
@click.option("--lora/--full", default=True, show_default=True, help="Train a LoRA adapter or every weight.")
@click.option("--lora-r", default=16, show_default=True, type=click.IntRange(1, 512), help="LoRA rank.")
@click.option("--base-model", default="default", show_default=True, help="'default' (SmolLM2-135M) or folder/id.")
@click.option(
    "--eval-limit",
    default=100,
    show_default=True,
    type=click.IntRange(1),
    help="Held-out examples scored and answered.",
)
@click.option("--output-version", "name", help="Version name (default: answers-YYYYmmdd-HHMMSS); reuse to resume.")
@click.option("--promote", is_flag=True, help="Serve the new version at once if it beats the serving one.")
@click.option("--force", is_flag=True, help="With --promote: promote even if it scores worse.")
@click.pass_obj
@handle_errors
def finetune_answers(
    settings: Settings,
    transcripts: Path | None,
    question_col: str,
    answer_col: str,
    messages_col: str,
    staff_replies: bool,
    eval_fraction: float,
    epochs: float,
    max_steps: int,
    batch_size: int,
    grad_accum: int,
    learning_rate: float,
    max_length: int,
    lora: bool,
    lora_r: int,
    base_model: str,
    eval_limit: int,
    name: str | None,
    promote: bool,
    force: bool,
) -> None:
    """Fine-tune the answer model on support transcripts, compare it with the serving model on held-out
    replies (loss, perplexity, ROUGE-L, token F1), write report.md/report.json/loss.png beside it and register
    it as a new version. An interrupted run resumes when rerun with the same --output-version.

    \b
    Examples:
        chatbot finetune answers --transcripts bitext.csv --max-steps 300 --output-version bitext-v1
        chatbot finetune answers --transcripts chats.jsonl --messages-col turns --promote
        chatbot finetune answers --staff-replies --epochs 2
    \b
    Several GPUs (see finetune/train.py):
        accelerate launch --config_file finetune/accelerate/multi_gpu.yaml \\
            -m finetune.train --config run.yaml
    """
    from finetune.answers import AnswerTrainConfig
    from finetune.jobs import TranscriptSource, run_answers_finetune

    source = TranscriptSource(transcripts, question_col, answer_col, messages_col, staff_replies, eval_fraction)
    config = AnswerTrainConfig(
        base_model=base_model,
        full=not lora,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        grad_accum=grad_accum,
        learning_rate=learning_rate,
        max_length=max_length,
        lora_r=lora_r,
        lora_alpha=2 * lora_r,
    )
    version = run_answers_finetune(
        settings, source, config, name=name, eval_limit=eval_limit, promote=promote, force=force
    )
    if version is None:  # not the main process of a distributed launch
        return
    new, baseline = version.report["eval"], version.report["baseline"]
    click.echo(f"registered {version.name} ({version.status}) at {version.path}")
    for metric in ("loss", "perplexity", "rouge_l", "token_f1"):
        click.echo(f"  {metric:11s} new {new[metric]:.4f}   serving {baseline[metric]:.4f}")
    click.echo(f"report: {version.path / 'report.md'}")


@finetune.command("evaluate")
@_transcript_options
@click.option("--version", help="A registered answer model version, or 'base' for the default; default: serving.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1), help="Held-out examples to answer.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL of the replies.")
@click.pass_obj
@handle_errors
def finetune_evaluate(
    settings: Settings,
    transcripts: Path | None,
    question_col: str,
    answer_col: str,
    messages_col: str,
    staff_replies: bool,
    eval_fraction: float,
    version: str | None,
    limit: int,
    out: Path,
) -> None:
    """Answer the held-out examples of a transcripts file with an answer model; write one JSON line per example
    ({"id", "question", "reference", "answer"}) and print loss, perplexity, ROUGE-L and token F1.

    \b
    Examples:
        chatbot finetune evaluate --transcripts bitext.csv --version base --limit 50 --out base.jsonl
        chatbot finetune evaluate --transcripts bitext.csv --version bitext-v1 --out tuned.jsonl
    """
    from finetune.jobs import TranscriptSource, run_answers_evaluate

    source = TranscriptSource(transcripts, question_col, answer_col, messages_col, staff_replies, eval_fraction)
    summary = run_answers_evaluate(settings, source, out, version=version, limit=limit)
    click.echo(json.dumps(summary, indent=1))


@cli.group()
def models() -> None:
    """List model versions, promote one to serve, roll back."""


@models.command("list")
@click.option("--kind", type=click.Choice(["sentiment", "answers"]), help="Only this kind of model.")
@click.pass_obj
@handle_errors
def models_list(settings: Settings, kind: str | None) -> None:
    """Show registered versions, newest first, with their evaluation scores.

    \b
    Example:
        chatbot models list --kind sentiment
    """
    versions = registry_for(settings).list(kind)
    if not versions:
        click.echo("no registered versions: the shipped defaults serve")
    for v in versions:
        scores = ", ".join(f"{k} {val:.4f}" for k, val in v.report.get("eval", {}).items() if isinstance(val, float))
        click.echo(f"{v.name:32s} {v.kind:10s} {v.status:12s} {v.created_at:%Y-%m-%d %H:%M}  {scores}")


@models.command("promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Promote even if it scored worse than the serving model.")
@click.pass_obj
@handle_errors
def models_promote(settings: Settings, version: str, force: bool) -> None:
    """Serve VERSION from now on. A running server follows within seconds for the answer model; restart it for
    a sentiment model.

    \b
    Example:
        chatbot models promote sentiment-20261122-101500
    """
    promoted = registry_for(settings).promote(version, force=force)
    click.echo(f"{promoted.name} now serves as the {promoted.kind} model")


@models.command("rollback")
@click.argument("kind", type=click.Choice(["sentiment", "answers"]))
@click.pass_obj
@handle_errors
def models_rollback(settings: Settings, kind: str) -> None:
    """Take the serving KIND model out of service; the one promoted before it serves again.

    \b
    Example:
        chatbot models rollback sentiment
    """
    now = registry_for(settings).rollback(kind)
    click.echo(f"{now.name} serves again" if now else f"the shipped default {kind} model serves again")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for all).")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Reverse proxies (comma-separated addresses) whose X-Forwarded-For names the customer's address, which "
    "the per-client rate limit counts by. Default: a proxy on this host (127.0.0.1, ::1), or $FORWARDED_ALLOW_IPS.",
)
@click.pass_obj
@handle_errors
def serve(settings: Settings, host: str, port: int, forwarded_allow_ips: str | None) -> None:
    """Start the web interface: the customer chat at `/`, the review console at `/review` (sign in with an
    account from `chatbot users add`).

    \b
    Example:
        chatbot serve --host 0.0.0.0 --port 8080
    """
    from chatbot.auth import Accounts
    from chatbot.service import create_service
    from chatbot.storage import SqlStore
    from knowledge_base.index import KnowledgeIndex
    from ui.app import build_app
    from ui.server import serve as run_server

    if not KnowledgeIndex.exists(settings.index_dir):
        click.echo(f"warning: no knowledge base in {settings.index_dir} yet; run `chatbot kb ingest`", err=True)
    service = create_service(settings)
    click.echo("loading models...", err=True)
    service.warm_up()
    store = SqlStore(settings.database_url)
    if not store.users():
        click.echo("no staff accounts yet: add one with `chatbot users add NAME --role staff`", err=True)
    click.echo(f"chat page: http://{host}:{port}/   review console: http://{host}:{port}/review", err=True)
    app = build_app(service, Accounts(store))
    run_server(app, host=host, port=port, forwarded_allow_ips=forwarded_allow_ips)


cli.add_command(users)
cli.add_command(texts)
cli.add_command(conversations)
