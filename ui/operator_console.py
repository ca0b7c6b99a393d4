"""The operator console (`/operator`, operators only): knowledge-base documents, fine-tuning jobs with a live loss
plot, model versions with their reports (promote, roll back), the bot's texts, evaluation on the operator's own
questions, and quality over time."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from chatbot.auth import Accounts
from chatbot.bot_texts import SPECS, check_key
from chatbot.config import Settings
from chatbot.errors import ChatbotError
from chatbot.eval_report import plot_link, report_paths
from chatbot.evaluation import evaluate_answers, read_questions
from chatbot.kb_admin import ingest_paths, remove_sources, sync_documents
from chatbot.registry import ModelRegistry
from chatbot.service import ChatService, handoff_threshold
from chatbot.storage import SqlStore
from finetune.background import JobRunner
from knowledge_base.crawl import crawl_site, site_folder
from knowledge_base.embedder import Embedder
from knowledge_base.index import KnowledgeIndex
from knowledge_base.ingest import IngestReport
from knowledge_base.loaders import SUPPORTED_SUFFIXES
from ui.review_console import require_user

KB_TYPES = sorted(SUPPORTED_SUFFIXES)  # what `kb ingest` reads
TRANSCRIPT_TYPES = [".csv", ".tsv", ".jsonl", ".parquet"]
MAX_UPLOAD_BYTES = 20 * 2**20
# Gradio shows a progress bar for a handler with a gr.Progress default; track_tqdm mirrors the ingest's bars.
TRACK_TQDM = gr.Progress(track_tqdm=True)


def checked_uploads(files: list[Any] | None, allowed: list[str]) -> list[Path]:
    """The uploaded files as paths, refused with the file's name when its type or size is not acceptable."""
    paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
    for path in paths:
        if path.suffix.lower() not in allowed:
            raise gr.Error(f"{path.name}: files of type {path.suffix or '(none)'} cannot be used here; use {allowed}")
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise gr.Error(f"{path.name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    if not paths:
        raise gr.Error("Choose at least one file first.")
    return paths


class OperatorConsole:
    """The operator's handlers (plain methods of the deployment's collaborators; the page wires them up).

    `service` is the serving assistant: evaluations run its models (already loaded) on a throw-away database.
    """

    def __init__(
        self,
        settings: Settings,
        store: SqlStore,
        accounts: Accounts,
        embedder: Embedder,
        jobs: JobRunner,
        *,
        service: ChatService,
    ) -> None:
        self.settings, self.store, self.accounts, self.embedder, self.jobs = settings, store, accounts, embedder, jobs
        self.service = service
        self.registry = ModelRegistry(store)

    def documents(self, request: gr.Request) -> pd.DataFrame:
        """The knowledge-base documents table."""
        require_user(self.accounts, request, "operator")
        if KnowledgeIndex.exists(self.settings.index_dir):
            sync_documents(self.settings)  # the index is the truth (e.g. ingested before the table existed)
        rows = [(r.source, r.title, r.kind, r.chunks, f"{when:%Y-%m-%d %H:%M}") for r, when in self.store.documents()]
        return pd.DataFrame(rows, columns=["Source", "Title", "Kind", "Chunks", "Changed"])

    def ingest(self, files: list[Any] | None, request: gr.Request) -> str:
        """Copy uploaded documents into the deployment's upload folder and ingest that folder."""
        require_user(self.accounts, request, "operator")
        paths = checked_uploads(files, KB_TYPES)
        folder = self.settings.home / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            name = Path(path.name).name.replace(" ", "_")
            shutil.copyfile(path, folder / name)
        try:
            report = ingest_paths(self.settings, [folder], embedder=self.embedder, progress=True)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        failures = "".join(f"\n- skipped {source}: {reason}" for source, reason in report.failures.items())
        threshold = handoff_threshold(self.settings, report.offtopic_ceiling)
        return (
            f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged; "
            f"{report.chunks_embedded} chunks embedded; {report.documents_total} documents in the knowledge base. "
            f"The bot hands over below retrieval confidence {threshold:.2f}." + failures + _notes(report)
        )

    def crawl(self, url: str, request: gr.Request, exclude: str = "") -> str:
        """Fetch the help center's pages from its website (sitemap or start page) and ingest them; `exclude` holds
        address patterns never fetched, separated by spaces or commas."""
        require_user(self.accounts, request, "operator")
        try:
            folder = site_folder(self.settings.home / "sites", url)
            crawl = crawl_site(url, folder, exclude=exclude.replace(",", " ").split(), progress=True)
            report = ingest_paths(self.settings, [folder], embedder=self.embedder, progress=True)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        skipped = "".join(f"\n- skipped {address}: {why}" for address, why in list(crawl.skipped.items())[:10])
        return (
            f"{len(crawl.saved)} pages fetched, {len(crawl.skipped)} skipped; {len(report.added)} added, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.removed)} removed; "
            f"{report.documents_total} documents in the knowledge base." + skipped + _notes(report)
        )

    def remove(self, source: str, request: gr.Request) -> str:
        """Remove documents by source (file or folder)."""
        require_user(self.accounts, request, "operator")
        try:
            removed = remove_sources(self.settings, [source.strip()])
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return f"{len(removed)} documents removed."

    def versions(self, request: gr.Request) -> pd.DataFrame:
        """Registered model versions with their scores against the model serving before them."""
        require_user(self.accounts, request, "operator")
        rows = []
        for v in self.registry.list():
            new, old = v.report.get("eval", {}), v.report.get("baseline", {})
            metric = "rouge_l" if v.kind == "answers" else "macro_f1"
            score = f"{new.get(metric, float('nan')):.4f} (was {old.get(metric, float('nan')):.4f})"
            rows.append((v.name, v.kind, v.status, f"{v.created_at:%Y-%m-%d %H:%M}", f"{metric} {score}"))
        return pd.DataFrame(rows, columns=["Version", "Kind", "Status", "Created", "Score (serving before)"])

    def report(self, name: str, request: gr.Request) -> str:
        """The Markdown report of a version (answers) or its scores (sentiment)."""
        require_user(self.accounts, request, "operator")
        try:
            version = self.registry.get(name.strip())
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        report_md = version.path / "report.md"
        if report_md.exists():
            return report_md.read_text(encoding="utf-8").replace("![loss](loss.png)", "")
        return f"```json\n{version.report.get('eval', {})}\n```"

    def loss_image(self, name: str, request: gr.Request) -> str | None:
        """The loss curve PNG of a version, if it has one."""
        require_user(self.accounts, request, "operator")
        try:
            path = self.registry.get(name.strip()).path / "loss.png"
        except ChatbotError:
            return None
        return str(path) if path.exists() else None

    def promote(self, name: str, force: bool, request: gr.Request) -> str:
        """Serve a version (a worse one only with force)."""
        require_user(self.accounts, request, "operator")
        try:
            version = self.registry.promote(name.strip(), force=force)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return f"{version.name} now serves as the {version.kind} model."

    def rollback(self, kind: str, request: gr.Request) -> str:
        """Go back to the version promoted before (or the shipped default)."""
        require_user(self.accounts, request, "operator")
        try:
            now = self.registry.rollback(kind)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return f"{now.name} serves again." if now else f"The shipped default {kind} model serves again."

    def start_job(
        self, kind: str, files: list[Any] | None, staff_replies: bool, steps: float, request: gr.Request
    ) -> str:
        """Start fine-tuning in the background from an uploaded file and/or the staff replies."""
        require_user(self.accounts, request, "operator")
        upload = checked_uploads(files, TRANSCRIPT_TYPES)[0] if files else None
        if kind == "sentiment" and upload is None:
            raise gr.Error("Sentiment fine-tuning needs a labelled file (text and label columns).")
        if upload is None and not staff_replies:
            raise gr.Error("Upload transcripts or tick 'use staff replies'.")
        kept = None
        if upload is not None:
            folder = self.settings.home / "training-data"
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / Path(upload.name).name
            shutil.copyfile(upload, kept)
        settings, max_steps = self.settings, int(steps)

        def work(on_step: Any) -> Any:
            if kind == "answers":
                from finetune.answers import AnswerTrainConfig
                from finetune.jobs import TranscriptSource, run_answers_finetune

                source = TranscriptSource(kept, staff_replies=staff_replies)
                config = AnswerTrainConfig(max_steps=max_steps)
                return run_answers_finetune(settings, source, config, progress=False, on_step=on_step)
            from finetune.sentiment import run_sentiment_finetune

            if kept is None:  # checked above; kept for the type checker's sake
                raise ChatbotError("sentiment fine-tuning needs a labelled file")
            return run_sentiment_finetune(settings, kept, max_steps=max_steps, progress=False, on_step=on_step)

        try:
            self.jobs.start(kind, f"{kept.name if kept else 'staff replies'}, {max_steps} steps", work)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return f"Started {kind} fine-tuning; the loss appears below as it trains."

    def job_status(self, request: gr.Request) -> tuple[str, pd.DataFrame]:
        """The current job's state and loss curve."""
        require_user(self.accounts, request, "operator")
        job = self.jobs.current
        empty = pd.DataFrame({"step": [], "loss": []})
        if job is None:
            return "No fine-tuning job has run since the server started.", empty
        line = f"**{job.kind}** ({job.description}): {job.state}"
        if job.version is not None:
            line += f" → registered **{job.version.name}** (see Models)"
        if job.error:
            line += f" → {job.error}"
        return line, pd.DataFrame(job.losses, columns=["step", "loss"]) if job.losses else empty

    def quality(self, request: gr.Request) -> pd.DataFrame:
        """Daily hand-off rate, positive feedback rate and share of negative customer messages (long format)."""
        require_user(self.accounts, request, "operator")
        rows = []
        for day in self.store.daily_quality():
            for name, key in (("hand-off rate", "handoff_rate"), ("positive feedback", "positive_feedback_rate"),
                              ("negative messages", "negative_rate")):  # fmt: skip
                if day[key] is not None:
                    rows.append((day["day"], name, day[key]))
        return pd.DataFrame(rows, columns=["day", "measure", "rate"])

    def texts(self, request: gr.Request) -> pd.DataFrame:
        """Every text of the bot and the chat page: name, whether reworded, purpose, words in force."""
        require_user(self.accounts, request, "operator")
        current = self.store.bot_texts()
        rows = [
            (key, "default" if current.is_default(key) else "reworded", current[key], spec.help)
            for key, spec in SPECS.items()
        ]
        return pd.DataFrame(rows, columns=["Text", "State", "Words in force", "What it is"])

    def text(self, key: str, request: gr.Request) -> str:
        """The words in force for one text, to edit."""
        require_user(self.accounts, request, "operator")
        try:
            check_key(key)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return self.store.bot_texts()[key]

    def save_text(self, key: str, text: str, request: gr.Request) -> str:
        """Store the operator's wording of one text; the next customer message uses it."""
        user = require_user(self.accounts, request, "operator")
        try:
            self.store.set_bot_text(key, text, user=user.name)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        return f"Saved **{key}**: customers see it from their next message (the chat page when it is opened)."

    def reset_text(self, key: str, request: gr.Request) -> tuple[str, str]:
        """Go back to the default wording of one text; returns the message and the default words."""
        require_user(self.accounts, request, "operator")
        try:
            changed = self.store.reset_bot_text(key)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        message = f"**{key}** is back to the default." if changed else f"**{key}** already had the default wording."
        return message, SPECS[key].default

    def evaluate(self, file: Any, generate: bool, limit: float, request: gr.Request) -> tuple[str, str | None]:
        """Answer the uploaded questions (`chatbot eval answers` format) with the serving models and knowledge base;
        returns the report (Markdown) and its plot. Results are kept under the data directory's evaluations/."""
        require_user(self.accounts, request, "operator")
        (upload,) = checked_uploads([file] if file else [], [".jsonl"])
        folder = self.settings.home / "evaluations"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{upload.stem}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.jsonl"
        serving = self.service

        def evaluation_service(settings: Settings) -> ChatService:
            # The loaded models, with the evaluation's settings and its throw-away database.
            store = SqlStore(settings.database_url)
            return ChatService(
                serving.retriever, serving.generator, serving.embedder, store, settings, sentiment=serving.sentiment
            )

        try:
            questions = read_questions(upload, int(limit) if limit else None)
            evaluate_answers(evaluation_service, self.settings, questions, out, generate=generate, title=upload.name)
        except ChatbotError as err:
            raise gr.Error(str(err)) from err
        report_md, plot = report_paths(out)
        report = report_md.read_text(encoding="utf-8").replace(plot_link(plot.name), "")  # shown beside instead
        return report + f"\nResults, one line per question: `{out}`", str(plot) if plot.exists() else None


def _notes(report: IngestReport) -> str:
    return "".join(f"\n- note: {note}" for note in report.repeat_notes())


def build_operator_page(console: OperatorConsole) -> gr.Blocks:
    """The operator console as its own `gr.Blocks`."""
    with gr.Blocks(title="Operator console") as page:
        gr.Markdown("## Operator console")
        who = gr.Markdown()
        with gr.Tab("Knowledge base"):
            documents = gr.Dataframe(label="Documents", interactive=False, wrap=True)
            uploads = gr.File(label=f"Add or update documents ({', '.join(KB_TYPES)})", file_count="multiple",
                              file_types=KB_TYPES)  # fmt: skip
            ingest = gr.Button("Ingest", variant="primary")
            with gr.Row():
                site_url = gr.Textbox(
                    label="Or fetch your help center from its website: its sitemap or a start page", scale=4,
                    placeholder="https://help.example.com/sitemap.xml",
                )  # fmt: skip
                site_exclude = gr.Textbox(
                    label="Leave out addresses like (optional)", scale=2, placeholder="/help/community/* */login*"
                )
                fetch = gr.Button("Fetch website", scale=1)
            kb_result = gr.Markdown()
            with gr.Row():
                source = gr.Textbox(label="Remove by source (file or folder, as listed above)", scale=4)
                remove = gr.Button("Remove", scale=1)
        with gr.Tab("Fine-tuning"):
            with gr.Row():
                kind = gr.Radio(["answers", "sentiment"], value="answers", label="Model")
                steps = gr.Number(value=200, minimum=1, maximum=100000, precision=0, label="Optimizer steps")
                staff = gr.Checkbox(label="Use staff replies since the last version (answers)")
            transcripts = gr.File(label=f"Transcripts or labelled data ({', '.join(TRANSCRIPT_TYPES)})",
                                  file_types=TRANSCRIPT_TYPES)  # fmt: skip
            start = gr.Button("Start fine-tuning", variant="primary")
            job_line = gr.Markdown()
            loss = gr.LinePlot(x="step", y="loss", title="Training loss", height=260)
        with gr.Tab("Models"):
            versions = gr.Dataframe(label="Versions", interactive=False, wrap=True)
            with gr.Row():
                version = gr.Textbox(label="Version", scale=3)
                force = gr.Checkbox(label="Promote even if it scored worse", scale=1)
            with gr.Row():
                show = gr.Button("Show report")
                promote = gr.Button("Promote", variant="primary")
                rollback_kind = gr.Radio(["answers", "sentiment"], value="answers", label="Roll back")
                rollback = gr.Button("Roll back")
            models_result = gr.Markdown()
            report = gr.Markdown()
            curve = gr.Image(label="Loss curve", height=300)
        with gr.Tab("Bot texts"):
            gr.Markdown(
                "The bot's fixed replies and the chat page's wording: reword them in your company's voice or "
                "language. Example questions: one per line; left empty, the first questions of your FAQ are shown."
            )
            texts = gr.Dataframe(
                label="Texts", interactive=False, wrap=True, column_widths=["14%", "9%", "47%", "30%"]
            )
            text_key = gr.Dropdown(list(SPECS), value="handoff", label="Text to reword")
            text_words = gr.Textbox(label="Words", lines=4, max_length=2000)
            with gr.Row():
                save_text = gr.Button("Save", variant="primary")
                reset_text = gr.Button("Restore the default")
            text_result = gr.Markdown()
        with gr.Tab("Evaluation"):
            gr.Markdown(
                "Put your own questions to the bot, with the answers you expect, to see how it does on your "
                "knowledge base and where to set the hand-off threshold. One JSON line per question: "
                '`{"id": "q1", "question": "...", "reference": "the answer you expect"}`; for a question the '
                'knowledge base cannot answer, `"answerable": false`; an optional `"history"` of earlier '
                '`{"role": "user"/"assistant", "content"}` turns. Nothing is added to the conversations.'
            )
            with gr.Row():
                questions = gr.File(label="Questions (.jsonl)", file_types=[".jsonl"], scale=3)
                with gr.Column(scale=1):
                    limit = gr.Number(value=200, minimum=0, precision=0, label="At most this many (0: all)")
                    generate = gr.Checkbox(
                        label="Let the answer model write (slow on a CPU; off: the passages' sentences)"
                    )
            run_eval = gr.Button("Evaluate", variant="primary")
            eval_report = gr.Markdown()
            eval_plot = gr.Image(label="Retrieval confidence of the questions", height=320)
        with gr.Tab("Quality over time"):
            quality = gr.LinePlot(x="day", y="rate", color="measure", title="Per day", height=320)

        # Named wrappers: Gradio injects gr.Request by annotation, which bound methods through partial would hide.
        def signed_in(request: gr.Request) -> str:
            user = require_user(console.accounts, request, "operator")
            return f"Signed in as **{user.name}** (operator) · [Review queue](/review/) · [Sign out](/logout)"

        def list_documents(request: gr.Request) -> pd.DataFrame:
            return console.documents(request)

        def run_ingest(files: list[Any] | None, request: gr.Request, progress: gr.Progress = TRACK_TQDM) -> str:
            return console.ingest(files, request)

        def run_crawl(url: str, exclude: str, request: gr.Request, progress: gr.Progress = TRACK_TQDM) -> str:
            return console.crawl(url, request, exclude)

        def run_remove(text: str, request: gr.Request) -> str:
            return console.remove(text, request)

        def list_versions(request: gr.Request) -> pd.DataFrame:
            return console.versions(request)

        def show_report(name: str, request: gr.Request) -> tuple[str, str | None]:
            return console.report(name, request), console.loss_image(name, request)

        def run_promote(name: str, forced: bool, request: gr.Request) -> str:
            return console.promote(name, forced, request)

        def run_rollback(which: str, request: gr.Request) -> str:
            return console.rollback(which, request)

        def run_start(which: str, files: Any, use_staff: bool, count: float, request: gr.Request) -> str:
            return console.start_job(which, files, use_staff, count, request)

        def poll_job(request: gr.Request) -> tuple[str, pd.DataFrame]:
            return console.job_status(request)

        def run_evaluation(
            file: Any, writes: bool, count: float, request: gr.Request, progress: gr.Progress = TRACK_TQDM
        ) -> tuple[str, str | None]:
            return console.evaluate(file, writes, count, request)

        def show_quality(request: gr.Request) -> pd.DataFrame:
            return console.quality(request)

        def list_texts(request: gr.Request) -> pd.DataFrame:
            return console.texts(request)

        def edit_text(key: str, request: gr.Request) -> str:
            return console.text(key, request)

        def run_save_text(key: str, words: str, request: gr.Request) -> str:
            return console.save_text(key, words, request)

        def run_reset_text(key: str, request: gr.Request) -> tuple[str, str]:
            return console.reset_text(key, request)

        page.load(signed_in, None, who)
        page.load(list_documents, None, documents)
        page.load(list_versions, None, versions)
        page.load(show_quality, None, quality)
        page.load(poll_job, None, [job_line, loss])
        page.load(list_texts, None, texts)
        page.load(edit_text, text_key, text_words)
        text_key.change(edit_text, text_key, text_words)
        save_text.click(run_save_text, [text_key, text_words], text_result).then(list_texts, None, texts)
        reset_text.click(run_reset_text, text_key, [text_result, text_words]).then(list_texts, None, texts)
        ingest.click(run_ingest, uploads, kb_result).then(list_documents, None, documents)
        fetch.click(run_crawl, [site_url, site_exclude], kb_result).then(list_documents, None, documents)
        remove.click(run_remove, source, kb_result).then(list_documents, None, documents)
        show.click(show_report, version, [report, curve])
        promote.click(run_promote, [version, force], models_result).then(list_versions, None, versions)
        rollback.click(run_rollback, rollback_kind, models_result).then(list_versions, None, versions)
        start.click(run_start, [kind, transcripts, staff, steps], job_line)
        run_eval.click(run_evaluation, [questions, generate, limit], [eval_report, eval_plot])
        timer = gr.Timer(3.0)
        timer.tick(poll_job, None, [job_line, loss], show_progress="hidden")
        timer.tick(list_versions, None, versions, show_progress="hidden")
    return page
