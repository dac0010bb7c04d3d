"""The bench on a fresh clone: its cache folder is made before gunicorn logs into it."""

from bench import server


def test_the_gunicorn_log_folder_is_made_when_a_fresh_clone_has_none(tmp_path, monkeypatch):
    cache = tmp_path / "bench" / ".cache"
    monkeypatch.setattr(server, "CACHE", cache)
    log = server.log_file("gunicorn-postgresql")
    assert log == cache / "gunicorn-postgresql.log" and cache.is_dir()
