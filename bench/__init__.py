"""The portal at scale, measured beside a bare Flask floor (`make bench`, `python -m bench`).

It seeds 10k customers once per backend and caches them (database.py), starts gunicorn with
the bare floor routes (server.py), logs in as the long-history customer and checks each page
answers for real, loads every page with wrk (wrk.py) and prints one table per backend
(report.py). It prints figures and never asserts times; see bench/README.md.
"""
