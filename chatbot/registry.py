"""Model versions: register fine-tuned models, promote one to serve, roll back to the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chatbot.config import DEFAULT_MODEL
from chatbot.errors import InputError
from chatbot.schema import ModelVersionRow
from chatbot.storage import SqlStore

KINDS = ("sentiment", "answers")
# The score each kind is compared on at promotion, measured for the new and the serving model on the same data.
PROMOTION_METRIC = {"sentiment": "macro_f1", "answers": "rouge_l"}


@dataclass(frozen=True)
class ModelVersion:
    """A registered model."""

    name: str
    kind: str
    path: Path
    base: str
    status: str
    created_at: datetime
    promoted_at: datetime | None
    report: dict[str, Any]


class ModelRegistry:
    """The model versions of one deployment, in its database.

    Usage example:
    ```python
    registry = ModelRegistry(SqlStore(settings.database_url))
    registry.register("sentiment", "sentiment-v2", path, base="default", report=report)
    registry.promote("sentiment-v2")
    registry.serving("sentiment").path
    ```
    """

    def __init__(self, store: SqlStore) -> None:
        self.engine = store.engine

    def register(self, kind: str, name: str, path: Path, *, base: str, report: dict[str, Any]) -> ModelVersion:
        """Record a trained model as a candidate."""
        if kind not in KINDS:
            raise InputError(f"unknown model kind {kind!r}; expected one of {KINDS}")
        with Session(self.engine) as session, session.begin():
            if session.get(ModelVersionRow, name) is not None:
                raise InputError(f"a model version named {name!r} exists already")
            session.add(ModelVersionRow(name=name, kind=kind, path=str(path), base=base, report=report))
        return self.get(name)

    def get(self, name: str) -> ModelVersion:
        """One version by name."""
        with Session(self.engine) as session:
            row = session.get(ModelVersionRow, name)
            if row is None:
                raise InputError(f"no model version named {name!r}; see `chatbot models list`")
            return _version(row)

    def list(self, kind: str | None = None) -> list[ModelVersion]:
        """All versions, newest first."""
        query = select(ModelVersionRow).order_by(ModelVersionRow.created_at.desc())
        if kind is not None:
            query = query.where(ModelVersionRow.kind == kind)
        with Session(self.engine) as session:
            return [_version(row) for row in session.scalars(query)]

    def serving(self, kind: str) -> ModelVersion | None:
        """The promoted version of `kind`, or None when the shipped default serves."""
        return next((v for v in self.list(kind) if v.status == "serving"), None)

    def resolve(self, kind: str, setting: str) -> str:
        """The model to load for `kind`: an explicit setting wins, then the promoted version, then the default."""
        if setting != DEFAULT_MODEL:
            return setting
        serving = self.serving(kind)
        return str(serving.path) if serving else DEFAULT_MODEL

    def promote(self, name: str, *, force: bool = False) -> ModelVersion:
        """Make `name` serve. Refused when it scored worse than the serving model on the same data, unless forced."""
        version = self.get(name)
        metric = PROMOTION_METRIC[version.kind]
        new, baseline = version.report.get("eval", {}).get(metric), version.report.get("baseline", {}).get(metric)
        if not force and new is not None and baseline is not None and new < baseline:
            raise InputError(
                f"{name} scores {metric} {new:.4f}, below the serving model's {baseline:.4f} on the same evaluation "
                "data; use --force to promote it anyway"
            )
        with Session(self.engine) as session, session.begin():
            for row in session.scalars(select(ModelVersionRow).where(ModelVersionRow.kind == version.kind)):
                if row.name == name:
                    row.status, row.promoted_at = "serving", datetime.now(timezone.utc)
                elif row.status == "serving":
                    row.status = "retired"
        return self.get(name)

    def rollback(self, kind: str) -> ModelVersion | None:
        """Stop serving the current version of `kind`; the previously promoted one serves again (None: the default)."""
        current = self.serving(kind)
        if current is None:
            raise InputError(f"no promoted {kind} model to roll back; the shipped default is serving")
        # Walk back through the promotion history; a rolled-back version is never chosen again by a rollback.
        earlier = [
            v
            for v in self.list(kind)
            if v.promoted_at is not None and v.name != current.name and v.status != "rolled_back"
        ]
        earlier.sort(key=lambda v: v.promoted_at or v.created_at)
        with Session(self.engine) as session, session.begin():
            session.get(ModelVersionRow, current.name).status = "rolled_back"  # type: ignore[union-attr]
            if earlier:
                session.get(ModelVersionRow, earlier[-1].name).status = "serving"  # type: ignore[union-attr]
        return self.serving(kind)


def _version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        kind=row.kind,
        path=Path(row.path),
        base=row.base,
        status=row.status,
        created_at=row.created_at,
        promoted_at=row.promoted_at,
        report=dict(row.report or {}),
    )
