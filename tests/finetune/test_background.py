import threading

import pytest

from chatbot.errors import InputError
from finetune.background import JobRunner


def test_a_job_runs_in_the_background_records_its_losses_and_only_one_runs_at_a_time():
    release = threading.Event()
    runner = JobRunner()

    def work(on_step):
        on_step(1, 2.5)
        release.wait(5)
        on_step(2, 1.5)
        return None

    job = runner.start("answers", "demo", work)
    with pytest.raises(InputError, match="still running"):
        runner.start("sentiment", "other", work)
    release.set()
    for _ in range(100):
        if job.state != "running":
            break
        threading.Event().wait(0.05)
    assert job.state == "done" and job.losses == [(1, 2.5), (2, 1.5)]


def test_a_failing_job_keeps_its_error_for_the_page():
    runner = JobRunner()

    def work(on_step):
        raise ValueError("bad column 'reply'")

    job = runner.start("answers", "demo", work)
    for _ in range(100):
        if job.state != "running":
            break
        threading.Event().wait(0.05)
    assert job.state == "failed" and "bad column" in job.error


def test_the_accelerate_entry_point_reads_a_yaml_run_file(tmp_path):
    from finetune.train import make_parser

    run_file = tmp_path / "run.yaml"
    run_file.write_text("transcripts: data.csv\nmax_steps: 3\nlora_r: 4\noutput_version: v1\n")
    run, config = make_parser().parse_yaml_file(str(run_file))
    assert run.transcripts == "data.csv" and run.output_version == "v1"
    assert config.max_steps == 3 and config.lora_r == 4
