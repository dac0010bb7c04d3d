"""Documents prepared in jobs: one worker at a time, progress, retries, the sweep."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest

from tests.factories import make_customer, make_invoice
from tests.unit.documents.test_documents import pdf_text
from webapp import demo
from webapp.services.billing import ledger
from webapp.services.core.errors import NotFound
from webapp.services.core.pdf import Document
from webapp.services.documents import jobs as document_jobs
from webapp.services.documents import statements

PARAMS = statements.job_params(statements.StatementPeriod("custom", date(2026, 6, 1),
                                                          date(2026, 6, 30)),
                               date(2026, 11, 26))


@pytest.fixture
def customer(session, now):
    return make_customer(session, now=now)


def new_job(session, customer, now, params=PARAMS):
    job, created = document_jobs.start(session, customer_id=customer.id, kind="statement",
                                       params=params, now=now)
    assert created
    return job


def test_asking_again_for_the_same_statement_gets_the_same_job(session, customer, now):
    job = new_job(session, customer, now)
    again, created = document_jobs.start(session, customer_id=customer.id, kind="statement",
                                         params=dict(PARAMS), now=now + timedelta(minutes=5))
    assert (again.id, created) == (job.id, False)


def test_a_failed_job_is_not_reused(session, customer, now):
    job = new_job(session, customer, now)
    job.status = document_jobs.FAILED
    session.flush()
    again, created = document_jobs.start(session, customer_id=customer.id, kind="statement",
                                         params=PARAMS, now=now)
    assert created and again.id != job.id


def test_only_one_worker_claims_a_job(session, customer, now):
    job = new_job(session, customer, now)
    assert document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
    assert not document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)


def test_a_job_whose_worker_died_is_claimed_again_once_its_lease_ends(session, customer, now):
    job = new_job(session, customer, now)
    document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
    later = now + timedelta(seconds=61)
    assert document_jobs.sweep(session, now=later) == [job.id]
    assert document_jobs.claim(session, job_id=job.id, now=later, lease_seconds=60)


def test_a_job_still_queued_after_a_while_is_swept_but_a_fresh_one_is_not(session, customer,
                                                                          now):
    job = new_job(session, customer, now)
    assert document_jobs.sweep(session, now=now) == []
    assert document_jobs.sweep(session, now=now + timedelta(minutes=3)) == [job.id]


def test_progress_shows_while_the_job_runs(session, customer, now):
    job = new_job(session, customer, now)
    document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
    document_jobs.report(session, job_id=job.id, progress=40)
    view = document_jobs.view(session, customer_id=customer.id, job_id=job.id)
    assert (view.status, view.progress, view.waiting) == ("running", 40, True)


def test_a_failed_render_is_retried_then_given_up(session, customer, now):
    job = new_job(session, customer, now)
    for attempt in range(1, document_jobs.MAX_ATTEMPTS + 1):
        assert document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
        document_jobs.release(session, job_id=job.id, error="boom")
        expected = "failed" if attempt == document_jobs.MAX_ATTEMPTS else "queued"
        assert document_jobs.view(session, customer_id=customer.id,
                                  job_id=job.id).status == expected


def test_a_finished_job_downloads_its_file(session, customer, now):
    job = new_job(session, customer, now)
    with pytest.raises(NotFound):
        document_jobs.download(session, customer_id=customer.id, job_id=job.id)
    document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
    document_jobs.finish(session, job_id=job.id, document=Document("s.pdf", b"%PDF-1.4"),
                         now=now)
    assert document_jobs.download(session, customer_id=customer.id, job_id=job.id) == \
        Document("s.pdf", b"%PDF-1.4")


def test_another_customers_job_is_not_found(session, customer, now):
    job = new_job(session, customer, now)
    omar = make_customer(session, now=now, email="omar@example.com")
    with pytest.raises(NotFound):
        document_jobs.view(session, customer_id=omar.id, job_id=job.id)


def test_a_statement_job_renders_the_statement_with_no_session_open(session, customer, now):
    demo.seed_organization(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, issue=date(2026, 6, 3))
    job = new_job(session, customer, now)
    work = document_jobs.prepare(session, job_id=job.id)
    session.close()
    seen: list[int] = []
    document = work.render(seen.append)
    assert document.filename == "statement-2026-06-01-to-2026-06-30.pdf"
    assert seen and invoice.number in pdf_text(document.content)


def _pack_job(session, customer, now):
    today = now.date()
    params = statements.job_params(statements.preset_period("this_month", today), today)
    return document_jobs.start(session, customer_id=customer.id, kind="pack", params=params,
                               now=now)


def _built(session, job, now) -> str:
    """Run the job as the worker does; the pack's transactions.csv."""
    assert document_jobs.claim(session, job_id=job.id, now=now, lease_seconds=60)
    document = document_jobs.prepare(session, job_id=job.id).render(lambda _percent: None)
    assert document_jobs.finish(session, job_id=job.id, document=document, now=now)
    return zipfile.ZipFile(io.BytesIO(document.content)).read("transactions.csv").decode()


def test_this_months_pack_is_built_again_once_a_payment_is_made_after_it(session, customer, now):
    demo.seed_organization(session, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=4200)
    first, _ = _pack_job(session, customer, now)
    assert "Payment" not in _built(session, first, now)
    later = now + timedelta(minutes=14)
    payment = ledger.record_payment(session, customer_id=customer.id, amount=4200,
                                    currency="USD", invoices=[invoice], paid_on=later.date(),
                                    now=later, idempotency_key="after-the-pack")
    again, created = _pack_job(session, customer, later)
    assert created and again.id != first.id
    assert payment.number in _built(session, again, later)
    [shown] = document_jobs.latest(session, customer_id=customer.id, kinds=("pack",),
                                   params=dict(again.params), now=later)
    assert shown.id == again.id


def test_the_same_pack_is_reused_while_nothing_it_covers_has_changed(session, customer, now):
    demo.seed_organization(session, now=now)
    make_invoice(session, customer=customer, now=now, amount=4200)
    first, _ = _pack_job(session, customer, now)
    again, created = _pack_job(session, customer, now + timedelta(minutes=14))
    assert (again.id, created) == (first.id, False)
