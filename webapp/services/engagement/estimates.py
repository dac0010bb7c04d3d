"""Estimates as the customer sees them: lists, details, accept or decline, comments, the PDF.

Drafts are the organization's own: customers never see them. "Expired" is derived (sent and
past its expiry date), so it needs no job. Accepting and declining are guarded updates
(`... WHERE status = 'sent' AND expiry_date >= today`), so two racing clicks cannot both win.
The admin side (creating, editing, sending, replying) is in services/estimate_admin.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, update
from sqlmodel import Session, col, select

from webapp.models import Customer, Estimate, EstimateLine, Organization
from webapp.services.billing import tax
from webapp.services.core import brand, events, notifications, outbox, pdf
from webapp.services.core.dates import Moment
from webapp.services.core.errors import IllegalTransition, NotFound
from webapp.services.core.i18n import N_, _
from webapp.services.core.listing import PAGE_SIZE, FilterReader, Page
from webapp.services.engagement import comments
from webapp.services.engagement.comments import CommentView

DRAFT, SENT, ACCEPTED, DECLINED, EXPIRED = "draft", "sent", "accepted", "declined", "expired"
STATUS_FILTERS = (SENT, ACCEPTED, DECLINED, EXPIRED)
STATUS_LABELS = {DRAFT: _("Draft"), SENT: _("Sent"), ACCEPTED: _("Accepted"),
                 DECLINED: _("Declined"), EXPIRED: _("Expired")}
MAX_REASON = 2000


class NotDecidable(IllegalTransition):
    """The estimate is no longer open for a decision (decided already, or expired)."""


def derived_status(estimate: Estimate, today: date) -> str:
    """draft | sent | accepted | declined | expired (sent and past its expiry date)."""
    if estimate.status == SENT and estimate.expiry_date < today:
        return EXPIRED
    return estimate.status


@dataclass(frozen=True)
class EstimateRow:
    id: int
    number: str
    subject: str
    issue_date: date
    expiry_date: date
    currency: str
    total: int
    status: str
    status_label: str

    @property
    def decidable(self) -> bool:
        """Accept and Decline are offered (sent and not expired)."""
        return self.status == SENT

    @property
    def decided(self) -> bool:
        """Accepted or declined (as opposed to still open, or expired undecided)."""
        return self.status in (ACCEPTED, DECLINED)

    @classmethod
    def of(cls, estimate: Estimate, today: date) -> EstimateRow:
        status = derived_status(estimate, today)
        return cls(estimate.id, estimate.number, estimate.subject, estimate.issue_date,
                   estimate.expiry_date, estimate.currency, estimate.total, status,
                   STATUS_LABELS[status])


@dataclass(frozen=True)
class EstimateFilters:
    status: str | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"status": self.status, "page": self.page if self.page > 1 else None} | overrides
        return {k: v for k, v in args.items() if v is not None}


def read_filters(params: Mapping[str, str]) -> tuple[EstimateFilters, list[str]]:
    reader = FilterReader(params)
    filters = EstimateFilters(status=reader.choice("status", STATUS_FILTERS, "status"),
                              page=reader.page())
    return filters, reader.messages


def status_condition(status: str, today: date):
    """The SQL condition for a derived status."""
    if status == SENT:
        return and_(Estimate.status == SENT, Estimate.expiry_date >= today)
    if status == EXPIRED:
        return and_(Estimate.status == SENT, Estimate.expiry_date < today)
    return Estimate.status == status


def list_estimates(session: Session, *, customer_id: int, filters: EstimateFilters,
                   at: Moment, page_size: int = PAGE_SIZE) -> Page[EstimateRow]:
    """One page of the customer's estimates (never drafts), newest first; two queries."""
    conditions = [Estimate.customer_id == customer_id, Estimate.status != DRAFT]
    if filters.status:
        conditions.append(status_condition(filters.status, at.today))
    total = session.exec(select(func.count()).select_from(Estimate).where(*conditions)).one()
    rows = session.exec(select(Estimate).where(*conditions)
                        .order_by(col(Estimate.issue_date).desc(), col(Estimate.id).desc())
                        .offset((filters.page - 1) * page_size).limit(page_size)).all()
    return Page(tuple(EstimateRow.of(e, at.today) for e in rows), filters.page, page_size, total)


def owned_estimate(session: Session, customer_id: int, estimate_id: int) -> Estimate:
    """The customer's estimate (drafts are not theirs yet), or NotFound."""
    estimate = session.get(Estimate, estimate_id)
    if estimate is None or estimate.customer_id != customer_id or estimate.status == DRAFT:
        raise NotFound(_("No such estimate."))
    return estimate


@dataclass(frozen=True)
class EstimateDetail:
    row: EstimateRow
    estimate: Estimate
    lines: tuple[EstimateLine, ...]
    comments: tuple[CommentView, ...]

    @property
    def tax_rate_bp(self) -> int | None:
        """The rate each line was taxed at (None: the estimate carries no tax)."""
        return self.estimate.tax_rate_bp

    @property
    def tax_summary(self) -> tuple[tax.TaxBand, ...]:
        return tax.summary(self.lines, self.estimate.tax_rate_bp)


def lines_of(session: Session, estimate_id: int) -> tuple[EstimateLine, ...]:
    return tuple(session.exec(select(EstimateLine).where(EstimateLine.estimate_id == estimate_id)
                              .order_by(col(EstimateLine.position), col(EstimateLine.id))))


def subject_of(estimate: Estimate) -> comments.Subject:
    return comments.Subject(comments.ESTIMATE, estimate.id, estimate.customer_id,
                            f"estimate {estimate.number}", outbox.page("estimates.detail", estimate_id=estimate.id))


def detail_of(session: Session, estimate: Estimate, at: Moment) -> EstimateDetail:
    return EstimateDetail(
        EstimateRow.of(estimate, at.today), estimate, lines_of(session, estimate.id),
        comments.thread(session, subject_type=comments.ESTIMATE, subject_id=estimate.id,
                        customer_id=estimate.customer_id))


def estimate_detail(session: Session, *, customer_id: int, estimate_id: int,
                    at: Moment) -> EstimateDetail:
    """One of the customer's estimates with its lines, totals and comment thread."""
    return detail_of(session, owned_estimate(session, customer_id, estimate_id), at)


def _refusal(estimate: Estimate, today: date) -> str:
    status = derived_status(estimate, today)
    if status == EXPIRED:
        return _("Estimate %(number)s has expired, so it can no longer be accepted or "
                 "declined. Ask us for a new estimate.", number=estimate.number)
    if status == ACCEPTED:
        return _("Estimate %(number)s was already accepted.", number=estimate.number)
    if status == DECLINED:
        return _("Estimate %(number)s was already declined.", number=estimate.number)
    return f"Estimate {estimate.number} was already {STATUS_LABELS[status].lower()}."


def _decide(session: Session, *, customer_id: int, user_id: int | None, estimate_id: int,
            decision: str, reason: str, at: Moment) -> EstimateDetail:
    estimate = owned_estimate(session, customer_id, estimate_id)
    result = session.execute(
        update(Estimate)
        .where(Estimate.id == estimate_id, Estimate.customer_id == customer_id,
               Estimate.status == SENT, Estimate.expiry_date >= at.today)
        .values(status=decision, decided_at=at.now, decided_by_user_id=user_id,
                decision_reason=reason, updated_at=at.now)
        .execution_options(synchronize_session=False))
    session.refresh(estimate)
    if result.rowcount != 1:
        raise NotDecidable(_refusal(estimate, at.today))
    events.emit(session, f"estimate.{decision}", events.public("estimate", estimate),
                now=at.now, previous={"status": SENT})
    customer = session.get(Customer, customer_id)
    title = N_("%(customer)s accepted estimate %(number)s") if decision == ACCEPTED else \
        N_("%(customer)s declined estimate %(number)s")
    body = N_("%(number)s: %(subject)s.\n\nTheir reason: %(reason)s") if reason else \
        N_("%(number)s: %(subject)s.")
    notifications.notify_org(
        session, event=notifications.ESTIMATE_ACCEPTED if decision == ACCEPTED
        else notifications.ESTIMATE_DECLINED,
        title=title, body=body, now=at.now, customer_id=customer_id,
        params={"customer": customer.display_name, "number": estimate.number,
                "subject": estimate.subject or notifications.message(N_("estimate")),
                "reason": reason})
    return detail_of(session, estimate, at)


def accept(session: Session, *, customer_id: int, user_id: int | None, estimate_id: int,
           at: Moment) -> EstimateDetail:
    """Accept a sent estimate that has not expired; the organization is notified."""
    return _decide(session, customer_id=customer_id, user_id=user_id, estimate_id=estimate_id,
                   decision=ACCEPTED, reason="", at=at)


def decline(session: Session, *, customer_id: int, user_id: int | None, estimate_id: int,
            reason: str, at: Moment) -> EstimateDetail:
    """Decline a sent estimate that has not expired, with an optional reason."""
    return _decide(session, customer_id=customer_id, user_id=user_id, estimate_id=estimate_id,
                   decision=DECLINED, reason=(reason or "").strip()[:MAX_REASON], at=at)


def add_comment(session: Session, *, customer_id: int, user_id: int | None, estimate_id: int,
                body: str, now: datetime) -> tuple[CommentView, ...]:
    """The customer comments on their estimate; returns the thread, oldest first."""
    estimate = owned_estimate(session, customer_id, estimate_id)
    return comments.add_customer_comment(session, subject_of(estimate), user_id=user_id,
                                         body=body, now=now)


def estimate_source(session: Session, *, customer_id: int, estimate_id: int,
                    at: Moment) -> pdf.DocumentSource:
    """The customer's estimate loaded for its PDF (download, forwarding, attachment)."""
    detail = estimate_detail(session, customer_id=customer_id, estimate_id=estimate_id,
                             at=at)
    return pdf.DocumentSource(
        "print/estimate.html", {"org": session.get(Organization, 1),
                                "customer": session.get(Customer, customer_id),
                                "logo": brand.logo_data_uri(session), "detail": detail},
        pdf.filename_for(detail.estimate.number))


def estimate_pdf(session: Session, *, customer_id: int, estimate_id: int,
                 at: Moment) -> pdf.Document:
    """The customer's estimate as a PDF (NotFound if it is not theirs)."""
    return estimate_source(session, customer_id=customer_id, estimate_id=estimate_id,
                           at=at).render()
