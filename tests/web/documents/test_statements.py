"""The statement of accounts page: ranges, htmx swaps, print and PDF."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, post_form
from webapp import demo
from webapp.db import db
from webapp.models import Invoice
from webapp.services.documents import jobs as document_jobs
from webapp.services.documents import statements
from worker.documents import render_document_job


def janes_first_invoice(app, seeded) -> Invoice:
    with app.app_context():
        return db.session.exec(select(Invoice).where(
            Invoice.customer_id == seeded.jane_customer_id).order_by(Invoice.id)).first()


def test_the_statement_shows_this_month_with_its_summary(client, auth, seeded):
    auth.login()
    page = client.get("/statements").get_data(as_text=True)
    assert "This month: 1 Nov 2026 – 30 Nov 2026" in page
    for label in ("Opening Balance", "Invoiced", "Payments", "Credits", "Refunds",
                  "Balance Due", "Over 90 days"):
        assert label in page
    assert '<a href="/statements"' in page  # the sidebar entry


def test_a_custom_range_works_without_javascript(app, client, auth, seeded):
    invoice = janes_first_invoice(app, seeded)
    auth.login()
    response = client.get(f"/statements?preset=custom&from={invoice.issue_date}"
                          f"&to={invoice.issue_date}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert f'href="/invoices/{invoice.id}">{invoice.number}</a>' in page


def test_changing_the_range_with_htmx_swaps_only_the_statement(client, auth, seeded):
    auth.login()
    response = client.get("/statements?preset=last_quarter", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="statement"')
    assert "Last quarter: 1 Jul 2026 – 30 Sept 2026" in body
    assert "HX-Request" in response.headers["Vary"]


def test_a_bad_range_shows_this_month_and_says_why(client, auth, seeded):
    auth.login()
    page = client.get("/statements?preset=custom&from=2026-05-01&to=2026-04-01",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "ends before it starts" in page and "This month" in page


def test_the_statement_offers_a_pdf_of_the_same_range_and_print(client, auth, seeded):
    auth.login()
    page = client.get("/statements?preset=last_quarter").get_data(as_text=True)
    assert 'href="/statements.pdf?preset=last_quarter"' in page and "data-print" in page


def test_the_statement_downloads_as_a_pdf(client, auth, seeded):
    auth.login()
    response = client.get("/statements.pdf?preset=last_quarter")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=statement-2026-07-01-to-2026-09-30.pdf"


def test_a_long_statement_pdf_is_not_rendered_in_the_request(app, client, auth, seeded):
    app.config["STATEMENT_SYNC_ROWS"] = 1
    auth.login()
    response = client.get("/statements.pdf?preset=this_year")
    assert response.status_code == 303
    assert response.headers["Location"] == "/statements?preset=this_year"


def test_omar_sees_none_of_janes_transactions(app, client, auth, seeded):
    invoice = janes_first_invoice(app, seeded)
    auth.login(*demo.OMAR)
    page = client.get("/statements?preset=this_year").get_data(as_text=True)
    assert invoice.number not in page and "Haddad Trading" in page


def test_statements_need_a_login(client, seeded):
    for path in ("/statements", "/statements.pdf"):
        assert client.get(path).status_code == 302


# --- Long statements: the PDF is prepared in a job ---------------------------------------------

@pytest.fixture
def long_statements(app):
    app.config["STATEMENT_SYNC_ROWS"] = 1
    return app


def queued_job(app, customer_id: int) -> int:
    """A job as the page leaves it before any worker has run it."""
    with app.app_context():
        period = statements.preset_period("this_year", FIXED_NOW.date())
        job, _created = document_jobs.start(
            db.session, customer_id=customer_id, kind="statement",
            params=statements.job_params(period, FIXED_NOW.date()), now=FIXED_NOW)
        db.session.commit()
        return job.id


def test_a_long_statement_offers_to_prepare_its_pdf(long_statements, client, auth, seeded):
    auth.login()
    page = client.get("/statements?preset=this_year").get_data(as_text=True)
    assert 'action="/statements/pdf-jobs"' in page and "Prepare PDF" in page
    assert "/statements.pdf?" not in page


def test_preparing_the_pdf_with_htmx_swaps_in_its_download_link(long_statements, client, auth,
                                                                seeded):
    auth.login()
    response = post_form(client, "/statements/pdf-jobs", {"preset": "this_year"}, htmx=True,
                         token_from="/statements?preset=this_year")
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="statement-pdf"')
    (download,) = re.findall(r'href="(/statements/jobs/\d+/download)"', body)
    pdf = client.get(download)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_preparing_the_pdf_without_javascript_redirects_to_the_job_page(long_statements, client,
                                                                        auth, seeded):
    auth.login()
    response = post_form(client, "/statements/pdf-jobs", {"preset": "this_year"},
                         token_from="/statements?preset=this_year")
    assert response.status_code == 303
    assert re.fullmatch(r"/statements/jobs/\d+", response.headers["Location"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Download PDF" in page and "<html" in page


def test_a_waiting_job_shows_a_progress_bar_that_htmx_polls(app, client, auth, seeded):
    job_id = queued_job(app, seeded.jane_customer_id)
    auth.login()
    body = client.get(f"/statements/jobs/{job_id}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<div id="statement-pdf"')
    assert 'hx-trigger="every 1s"' in body and f'hx-get="/statements/jobs/{job_id}"' in body
    assert '<progress id="statement-pdf-progress" value="0" max="100">' in body


def test_a_waiting_job_page_refreshes_itself_without_javascript(app, client, auth, seeded):
    job_id = queued_job(app, seeded.jane_customer_id)
    auth.login()
    page = client.get(f"/statements/jobs/{job_id}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "<progress" in page


def test_polling_stops_with_a_download_link_once_the_job_is_done(app, client, auth, seeded):
    job_id = queued_job(app, seeded.jane_customer_id)
    with app.app_context():
        render_document_job(job_id)
    auth.login()
    body = client.get(f"/statements/jobs/{job_id}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in body and "<progress" not in body
    assert f'href="/statements/jobs/{job_id}/download"' in body
    page = client.get(f"/statements/jobs/{job_id}").get_data(as_text=True)
    assert "http-equiv" not in page


def test_omar_cannot_see_or_download_janes_statement_pdf(app, client, auth, seeded):
    job_id = queued_job(app, seeded.jane_customer_id)
    with app.app_context():
        render_document_job(job_id)
    auth.login(*demo.OMAR)
    assert client.get(f"/statements/jobs/{job_id}").status_code == 404
    assert client.get(f"/statements/jobs/{job_id}/download").status_code == 404


# --- The accountant pack ---------------------------------------------------------------------

def test_the_accountant_pack_is_built_in_a_job_and_downloads_as_a_zip(client, auth, seeded):
    auth.login()
    response = post_form(client, "/statements/pack-jobs", {"preset": "last_quarter"},
                         token_from="/statements?preset=last_quarter")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>Accountant pack</h1>" in page
    (download,) = re.findall(r'href="(/statements/jobs/\d+/download)"', page)
    archive = client.get(download)
    assert archive.mimetype == "application/zip"
    assert archive.headers["Content-Disposition"] == \
        "attachment; filename=accountant-pack-2026-07-01-to-2026-09-30.zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert "transactions.csv" in names and any(n.startswith("invoices/") for n in names)


def test_building_the_pack_with_htmx_swaps_in_its_download_link(client, auth, seeded):
    auth.login()
    body = post_form(client, "/statements/pack-jobs", {"preset": "last_quarter"}, htmx=True,
                     token_from="/statements?preset=last_quarter").get_data(as_text=True)
    assert body.lstrip().startswith('<div id="statement-pack"')
    assert "Download accountant pack (ZIP)" in body


def test_the_statement_page_offers_the_accountant_pack(client, auth, seeded):
    auth.login()
    page = client.get("/statements").get_data(as_text=True)
    assert 'action="/statements/pack-jobs"' in page
