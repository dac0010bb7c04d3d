"""The worker class the Procfile runs loads the app once, not in every job's fork."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_the_portal_worker_class_preloads_the_jobs_and_the_app():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, worker.rqworker; "
         "print(sorted(m for m in ('worker.jobs', 'webapp', 'webapp.services.billing.charges', "
         "'sqlalchemy', 'flask') if m in sys.modules))"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\n")[0]
    assert loaded == str(sorted(["worker.jobs", "webapp", "webapp.services.billing.charges",
                                 "sqlalchemy", "flask"]))


def test_the_procfile_runs_the_portal_worker_class():
    procfile = dict(line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines()
                    if line.strip())
    assert "--worker-class worker.rqworker.PortalWorker" in procfile["worker"]


def test_the_procfile_names_the_venvs_programs_so_honcho_needs_no_activated_venv():
    procfile = dict(line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines()
                    if line.strip())
    programs = {name: command.split()[0] for name, command in procfile.items()}
    assert programs == {"web": ".venv/bin/gunicorn", "worker": ".venv/bin/rq",
                        "cron": ".venv/bin/rq"}
    assert all((REPO / program).exists() for program in programs.values())
