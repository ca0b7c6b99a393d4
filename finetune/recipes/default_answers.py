"""How the shipped answer-model adapter (chatbot/assets/answers/bitext-lora) is made, from ../shared/data.

It is `chatbot finetune answers` on the Bitext customer-support transcripts (instruction -> response), with the
settings below, followed by a copy of the adapter into the package in float16 (half the size; it is cast back
to the base model's precision when loaded). Data licence: CDLA-Sharing-1.0 (see TRAINING.md).

Run: CHATBOT_HOME=/tmp/answers-home python -m finetune.recipes.default_answers --out chatbot/assets/answers/bitext-lora
"""

import argparse
import json
import shutil
from pathlib import Path

from chatbot.config import Settings
from finetune.answers import AnswerTrainConfig
from finetune.jobs import TranscriptSource, run_answers_finetune

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CONFIG = AnswerTrainConfig(max_steps=200, batch_size=8, lora_r=8, lora_alpha=16, learning_rate=3e-4)


def export(version_dir: Path, out: Path) -> None:
    """Copy adapter + base.json + reports into `out`, the adapter weights in float16."""
    import torch
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    weights = load_file(version_dir / "adapter_model.safetensors")
    save_file({k: v.to(torch.float16) for k, v in weights.items()}, out / "adapter_model.safetensors")
    for name in ("adapter_config.json", "base.json", "report.md", "loss.png"):
        shutil.copyfile(version_dir / name, out / name)
    report = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))
    report["training"].pop("losses", None)  # in loss.png; keeps the committed file small
    (out / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default="bitext-lora")
    parser.add_argument("--from-version", type=Path, help="export an already trained version folder instead")
    args = parser.parse_args()
    if args.from_version is None:
        version = run_answers_finetune(
            Settings.from_env(), TranscriptSource(DATA / "bitext" / "train.csv"), CONFIG, name=args.name, eval_limit=96
        )
        if version is None:
            return
        args.from_version = version.path
    export(args.from_version, args.out)
    print(f"exported {args.from_version} to {args.out}")


if __name__ == "__main__":
    main()
