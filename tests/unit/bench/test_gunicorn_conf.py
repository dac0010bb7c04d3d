"""The gunicorn settings every run reads from the working directory."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[3] / "gunicorn.conf.py"


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_reach():
    hooks = runpy.run_path(str(CONF))
    gc.unfreeze()
    try:
        hooks["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_gunicorn_reads_the_file_from_the_working_directory():
    from gunicorn.config import Config

    assert Config().settings["config"].default == "./gunicorn.conf.py"
