"""The one charge service: everything that charges a card goes through here (DESIGN.md).

Two steps with a commit between them: `start` writes a pending payment (unique on customer and
idempotency key) in the caller's transaction and marks its invoices as being paid by it; after
commit, `run` takes a short lease on the payment, asks the gateway with that key — outside any
transaction of ours — and `record` writes the outcome. A crash between the steps is resolved
by running again with the same key: the gateway answers with the first result and charges
nothing more. While a charge is in flight every other payer of the same invoices is pointed at
it (ChargeInProgress), so racing requests end on one payment.

Who started a payment decides how one left pending is settled. The engine's own charges
(ENGINE_PURPOSES) are sent again by the tick with the same key. A payment a person started is
never charged again in the background: `resolve` asks the gateway what became of *that*
attempt and records the answer. It is marked failed only when the gateway reports a final
failure or has no record of the attempt, never while it says the attempt is in progress. That
happens at once when the gateway answered a charge with a network error (`charge_now`), on
the customer's next attempt at the same invoices, in the schedule's sweep once the lease has
run out (`to_resolve`), and from the admin's view of the invoice. A success that arrives after
the payment was marked failed is still recorded: what its invoices no longer need becomes
unused credit and the admins are told (`record`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from webapp.models import Customer, Invoice, Organization, Payment, PaymentMethod
from webapp.services.billing import ledger, payment_effects, settlements
from webapp.services.billing.gateway import (
    UNKNOWN,
    Attempt,
    AwaitingCustomer,
    ChargeResult,
    GatewayNetworkError,
    PaymentGateway,
)
from webapp.services.core import bulk, events, numbering
from webapp.services.core.dates import say, today_in
from webapp.services.core.errors import DomainError
from webapp.services.core.i18n import N_, _

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
LEASE = timedelta(seconds=60)
# The engine's own charges: retried by the tick with the same key. Every other purpose
# (manual, activation, reactivation, change) is a payment a person started.
ENGINE_PURPOSES = ("start", "trial_end", "renewal", "resume", "dunning_retry")
# A person's payment still pending this long, with no lease held, is resolved by the sweep.
RESOLVE_AFTER = timedelta(minutes=2)
# On a customer's next attempt, an earlier pending one younger than this is left to the request
# that made it (it commits the row, then charges it a moment later).
NEXT_ATTEMPT_GRACE = timedelta(seconds=15)
# Stored as the payment's failure reason in English (a msgid), translated where it is shown
# (`Outcome.message`, `translated_reason`).
NO_ANSWER = N_("The payment processor did not answer.")
NO_RECORD = N_("The payment processor has no record of this payment.")


class ChargeInProgress(DomainError):
    """Another payment for these invoices is being charged right now."""

    def __init__(self, payment_id: int) -> None:
        super().__init__(_("A payment for this invoice is already in progress."))
        self.payment_id = payment_id


class InvoicesSettled(DomainError):
    """The invoices were paid (or voided) by someone else while this payment was being made."""


def start(session: Session, *, customer_id: int, amount: int, currency: str,
          payment_method_id: int, idempotency_key: str, invoice_ids: list[int], now: datetime,
          purpose: str = "manual", subscription_id: int | None = None, attempt: int = 0,
          intent: dict | None = None) -> Payment:
    """The pending payment for this key: made now, or the one an earlier request made."""
    existing = by_key(session, customer_id=customer_id, idempotency_key=idempotency_key)
    if existing is not None:
        return existing
    payment = Payment(customer_id=customer_id, status=PENDING, method="card",
                      payment_method_id=payment_method_id, amount=amount, currency=currency,
                      idempotency_key=idempotency_key, purpose=purpose,
                      subscription_id=subscription_id, attempt=attempt,
                      intent={"invoice_ids": invoice_ids, **(intent or {})},
                      created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # A racing request with the same key inserted first (PostgreSQL waited for it to
        # commit before refusing ours): theirs is the one payment.
        return by_key(session, customer_id=customer_id, idempotency_key=idempotency_key)
    _hold_invoices(session, payment, invoice_ids)
    return payment


def _hold_invoices(session: Session, payment: Payment, invoice_ids: list[int]) -> None:
    """Mark the invoices as being paid by `payment`; if one already is, point at that charge.
    Only open invoices are held: one that another payment settled between the payer's read and
    this update is never charged again (InvoicesSettled)."""
    if not invoice_ids:
        return
    held = session.execute(
        update(Invoice).where(Invoice.id.in_(invoice_ids), Invoice.pending_payment_id.is_(None),
                              Invoice.status == "open")
        .values(pending_payment_id=payment.id).execution_options(synchronize_session=False))
    if held.rowcount != len(invoice_ids):
        other = session.exec(select(Invoice.pending_payment_id).where(
            Invoice.id.in_(invoice_ids), Invoice.pending_payment_id.is_not(None),
            Invoice.pending_payment_id != payment.id)).first()
        if other is None:
            raise InvoicesSettled(_("These invoices are already paid: another payment settled "
                                    "them a moment ago. Nothing more was charged."))
        raise ChargeInProgress(other)


def _release_invoices(session: Session, payment: Payment) -> None:
    session.execute(update(Invoice).where(Invoice.pending_payment_id == payment.id)
                    .values(pending_payment_id=None).execution_options(synchronize_session=False))


def claim(session: Session, *, payment_id: int, now: datetime) -> bool:
    """Take the right to ask the gateway for this payment for a short lease; one runner wins."""
    result = session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status == PENDING,
                              or_(Payment.lease_until.is_(None), Payment.lease_until < now))
        .values(lease_until=now + LEASE).execution_options(synchronize_session=False))
    return result.rowcount == 1


def release(session: Session, *, payment_id: int) -> None:
    """Give the lease back (the gateway did not answer), so a retry may run at once."""
    session.execute(update(Payment).where(Payment.id == payment_id, Payment.status == PENDING)
                    .values(lease_until=None).execution_options(synchronize_session=False))


def by_key(session: Session, *, customer_id: int, idempotency_key: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.customer_id == customer_id,
                                              Payment.idempotency_key == idempotency_key)).first()


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: int
    token: str
    amount: int
    currency: str
    idempotency_key: str
    reference: str | None = None  # a processor's charge or intent id, once stored
    customer: str | None = None  # the customer's id at the processor, if it has one


def request_for(session: Session, *, payment_id: int) -> ChargeRequest | None:
    """What to ask the gateway for a pending payment; None once it has an outcome."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != PENDING:
        return None
    method = session.get(PaymentMethod, payment.payment_method_id)
    customer = session.get(Customer, payment.customer_id)
    return ChargeRequest(payment.id, method.gateway_token, payment.amount, payment.currency,
                         f"{payment.customer_id}:{payment.idempotency_key}",
                         payment.gateway_reference, customer.gateway_customer_id)


def set_reference(session: Session, *, payment_id: int, reference: str) -> None:
    """Store the processor's intent id on the pending payment, before it is confirmed."""
    session.execute(update(Payment).where(Payment.id == payment_id, Payment.status == PENDING)
                    .values(gateway_reference=reference)
                    .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Outcome:
    payment: Payment
    succeeded: bool
    reason: str | None  # why it failed, as stored (English)
    newly_settled: bool  # False when another runner recorded it first

    @property
    def message(self) -> str | None:
        """Why it failed, in the reader's language (a lazy text)."""
        return translated_reason(self.reason)


def translated_reason(reason: str | None) -> str | None:
    """A stored failure reason as the reader reads it: the portal's own reasons are msgids
    (N_), translated when shown; a processor's own text is shown as it is."""
    return _(reason) if reason else reason


def record(session: Session, *, payment_id: int, result: ChargeResult,
           now: datetime) -> Outcome:
    """Write the gateway's answer once; allocate a success to its invoices oldest first."""
    status = SUCCEEDED if result.succeeded else FAILED
    values = {"status": status, "failure_reason": result.decline_message, "updated_at": now}
    if result.reference:  # an answer without one keeps the intent id stored before it
        values["gateway_reference"] = result.reference
    if result.succeeded:
        org = session.get(Organization, 1)
        values |= {"number": numbering.take_one(session, "payment"),
                   "paid_on": today_in(org.timezone, now)}
    changed = session.execute(update(Payment).where(Payment.id == payment_id,
                                                    Payment.status == PENDING)
                              .values(**values).execution_options(synchronize_session=False))
    if changed.rowcount != 1 and result.succeeded:
        # The portal had given up on it (no record at the time): the money was taken after all.
        late = session.execute(update(Payment).where(Payment.id == payment_id,
                                                     Payment.status == FAILED)
                               .values(**values).execution_options(synchronize_session=False))
        if late.rowcount == 1:
            return _late_success(session, session.get(Payment, payment_id), now)
    payment = session.get(Payment, payment_id)
    session.refresh(payment)
    if changed.rowcount != 1:
        return Outcome(payment, payment.status == SUCCEEDED, payment.failure_reason, False)
    _release_invoices(session, payment)
    events.emit(session, "payment.succeeded" if result.succeeded else "payment.failed",
                events.public("payment", payment), now=now, previous={"status": PENDING})
    if result.succeeded:
        invoices = list(session.exec(select(Invoice).where(
            Invoice.id.in_(payment.intent.get("invoice_ids", [])),
            Invoice.customer_id == payment.customer_id)))
        ledger.allocate(session, payment=payment, invoices=invoices, on=payment.paid_on,
                        now=now)
    payment_effects.apply(session, payment=payment, now=now)
    return Outcome(payment, result.succeeded, result.decline_message, True)


def _late_success(session: Session, payment: Payment, now: datetime) -> Outcome:
    """Record a success that came after the payment was marked failed: it goes on those of its
    invoices still open and not being paid by another charge; the rest becomes unused credit."""
    session.refresh(payment)
    invoices = list(session.exec(select(Invoice).where(
        Invoice.id.in_(payment.intent.get("invoice_ids", [])),
        Invoice.customer_id == payment.customer_id, Invoice.status == "open",
        Invoice.pending_payment_id.is_(None))))
    events.emit(session, "payment.succeeded", events.public("payment", payment), now=now,
                previous={"status": FAILED})
    allocated = ledger.allocate(session, payment=payment, invoices=invoices,
                                on=payment.paid_on, now=now)
    payment_effects.late_success(session, payment=payment,
                                 unused=payment.amount - sum(a.amount for a in allocated),
                                 now=now)
    return Outcome(payment, True, None, True)


SessionScope = Callable[[], AbstractContextManager[Session]]


def run(open_session: SessionScope, gateway: PaymentGateway, *, payment_id: int,
        now: datetime) -> Outcome | None:
    """Charge a pending payment: claim it, ask the gateway, record the outcome.

    Each step has its own transaction (`open_session` commits on exit), so no transaction is
    open while the gateway works. GatewayNetworkError propagates after the lease is given back:
    nothing is recorded and running again with the same key is safe. Returns None when another
    runner holds the payment (its outcome will come from there) or the attempt waits for the
    customer (3-D Secure: `follow` reads its outcome later); an Outcome otherwise.

    On a gateway with intents (Stripe) the intent is made first, unconfirmed, and its id
    stored on the payment in a transaction of its own; only then is it confirmed. So a
    payment without a stored intent id was never confirmed.
    """
    with open_session() as session:
        request = request_for(session, payment_id=payment_id)
        claimed = request is not None and claim(session, payment_id=payment_id, now=now)
    if request is None:
        return _outcome_of(open_session, payment_id)
    if not claimed:
        return None
    refusal = gateway.refusal(request.amount, request.currency)
    if refusal:  # never sent to fail: the payment ends here, its invoices stay open
        reason = say(refusal)  # stored: written now
        with open_session() as session:
            return record(session, payment_id=payment_id, now=now,
                          result=ChargeResult(False, "", "amount_refused", reason))
    try:
        reference = request.reference
        if reference is None and gateway.uses_intents:
            reference = gateway.prepare(token=request.token, amount=request.amount,
                                        currency=request.currency,
                                        idempotency_key=request.idempotency_key,
                                        customer=request.customer, now=now)
            with open_session() as session:
                set_reference(session, payment_id=payment_id, reference=reference)
        result = gateway.charge(token=request.token, amount=request.amount,
                                currency=request.currency,
                                idempotency_key=request.idempotency_key, now=now,
                                reference=reference, customer=request.customer)
    except AwaitingCustomer:
        with open_session() as session:
            release(session, payment_id=payment_id)
        return None
    except GatewayNetworkError:
        with open_session() as session:
            release(session, payment_id=payment_id)
        raise
    with open_session() as session:
        return record(session, payment_id=payment_id, result=result, now=now)


def follow(open_session: SessionScope, gateway: PaymentGateway, *, payment_id: int,
           now: datetime) -> Outcome | Attempt:
    """A pending payment as the gateway sees it now, for the page the payer watches: its
    Outcome once final (recorded here if it was not yet), else the gateway's Attempt (in
    progress, with the client secret when it waits for the customer's 3-D Secure). Never
    charges and never gives up on a payment: an attempt the gateway has no answer for stays
    pending (the sweep resolves it)."""
    with open_session() as session:
        request = request_for(session, payment_id=payment_id)
    if request is None:
        return _outcome_of(open_session, payment_id)
    if request.reference is None:
        return Attempt(UNKNOWN)
    try:
        attempt = gateway.lookup(idempotency_key=request.idempotency_key,
                                 reference=request.reference, now=now)
    except GatewayNetworkError:
        return Attempt(UNKNOWN)
    if not attempt.final:
        return attempt
    with open_session() as session:
        return record(session, payment_id=payment_id, result=attempt.result, now=now)


def settle_authenticated(open_session: SessionScope, gateway: PaymentGateway, *,
                         payment_id: int, now: datetime) -> Outcome | None:
    """An engine charge that failed for 3-D Secure, completed since by the customer on the
    fix link's page: read its intent and, if it succeeded, record the success (`record`'s
    late-success path: its invoice is paid, dunning ends, the rest is unused credit). None
    while the intent has not succeeded."""
    with open_session() as session:
        payment = session.get(Payment, payment_id)
        reference = payment.gateway_reference if payment else None
        key = f"{payment.customer_id}:{payment.idempotency_key}" if payment else ""
    if reference is None:
        return None
    try:
        attempt = gateway.lookup(idempotency_key=key, reference=reference, now=now)
    except GatewayNetworkError:
        return None
    if attempt.status != SUCCEEDED:
        return None
    with open_session() as session:
        return record(session, payment_id=payment_id, result=attempt.result, now=now)


def reconcile(session: Session, *, reference: str, attempt: Attempt,
              now: datetime) -> Outcome | None:
    """A processor's own account of an intent (its webhook) recorded on the payment that
    stored that intent id, through `record`: once, whoever answers first. None when no
    payment has that reference or the attempt is not final."""
    payment_id = session.exec(select(Payment.id).where(
        Payment.gateway_reference == reference, Payment.kind == "payment")).first()
    if payment_id is None or not attempt.final:
        return None
    return record(session, payment_id=payment_id, result=attempt.result, now=now)


def _outcome_of(open_session: SessionScope, payment_id: int) -> Outcome | None:
    with open_session() as session:
        payment = session.get(Payment, payment_id)
        return Outcome(payment, payment.status == SUCCEEDED, payment.failure_reason, False) \
            if payment else None


def resolve(open_session: SessionScope, gateway: PaymentGateway, *, payment_id: int,
            now: datetime, no_record: str = NO_RECORD,
            min_age: timedelta = timedelta(0), abandon_waiting: bool = False) -> Outcome | None:
    """Settle a pending payment by asking the gateway about that attempt; never charges.

    Recorded as the gateway answers when it has a final answer, and as failed (`no_record`
    is the reason the customer reads) when it has no record of the attempt. Returns None
    while the payment stays pending: the gateway says it is in progress or did not answer,
    another runner holds its lease, or it is younger than `min_age`. A payment already
    settled returns its outcome. With `abandon_waiting` (the customer is paying again), an
    attempt still waiting for their 3-D Secure is cancelled at the gateway first, so it can
    never succeed later.
    """
    with open_session() as session:
        request = request_for(session, payment_id=payment_id)
        claimed = request is not None and _old_enough(session, payment_id, now - min_age) \
            and claim(session, payment_id=payment_id, now=now)
    if request is None:
        return _outcome_of(open_session, payment_id)
    if not claimed:
        return None
    try:
        attempt = gateway.lookup(idempotency_key=request.idempotency_key,
                                 reference=request.reference, now=now)
        if abandon_waiting and attempt.client_secret and request.reference:
            attempt = gateway.abandon(request.reference)
    except GatewayNetworkError:
        attempt = None
    if attempt is None or not (attempt.final or attempt.status == UNKNOWN):
        with open_session() as session:
            release(session, payment_id=payment_id)
        return None
    result = attempt.result if attempt.final else \
        ChargeResult(False, "", "no_record", no_record)
    with open_session() as session:
        return record(session, payment_id=payment_id, result=result, now=now)


def _old_enough(session: Session, payment_id: int, made_by: datetime) -> bool:
    return session.get(Payment, payment_id).created_at <= made_by


def resolve_for_next_attempt(open_session: SessionScope, gateway: PaymentGateway, *,
                             payment_id: int, now: datetime) -> bool:
    """A customer is paying again while an earlier attempt still holds the invoices: resolve
    that attempt unless it is a moment old (its own request is about to charge it). True
    when it failed, so the new attempt may go ahead."""
    outcome = resolve(open_session, gateway, payment_id=payment_id, now=now,
                      min_age=NEXT_ATTEMPT_GRACE, abandon_waiting=True)
    return outcome is not None and not outcome.succeeded


def charge_now(open_session: SessionScope, gateway: PaymentGateway, *, payment_id: int,
               now: datetime) -> Outcome | None:
    """Charge a payment a person is waiting for. If the gateway does not answer, the attempt
    is resolved at once (`resolve`), so the payer can try again straight away; None while
    the payment is still pending (another runner has it, or the gateway is still silent)."""
    try:
        return run(open_session, gateway, payment_id=payment_id, now=now)
    except GatewayNetworkError:
        return resolve(open_session, gateway, payment_id=payment_id, now=now,
                       no_record=NO_ANSWER)


def to_resolve(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Payments a person started that are still pending with no runner: older than
    RESOLVE_AFTER and their lease, if any, run out. The sweep resolves each."""
    return list(session.exec(
        select(Payment.id).where(
            Payment.status == PENDING, Payment.purpose.not_in(ENGINE_PURPOSES),
            Payment.created_at < now - RESOLVE_AFTER,
            or_(Payment.lease_until.is_(None), Payment.lease_until < now))
        .order_by(Payment.id).limit(limit)))


def pending_of_invoice(session: Session, *, invoice_id: int) -> int | None:
    """The payment a person started that is holding this invoice, if any."""
    return session.exec(select(Payment.id).join(
        Invoice, Invoice.pending_payment_id == Payment.id).where(
        Invoice.id == invoice_id, Payment.status == PENDING,
        Payment.purpose.not_in(ENGINE_PURPOSES))).first()


# -- many at once: the engine's batches (one job charges a chunk of payments) -------------

# Purposes whose success only settles the invoice and tells the customer (the subscription
# stays live): these are recorded set-based; every other outcome goes through `record`.
PLAIN_PURPOSES = ("renewal", "resume", "start")


def run_many(open_session: SessionScope, gateway: PaymentGateway, *, payment_ids: list[int],
             now: datetime) -> int:
    """`run` for many payments: one claim, one gateway batch, one recording transaction.

    Returns how many outcomes were recorded. A network error on some payments gives their
    leases back and is raised after the others are recorded, so a retry charges only them.
    """
    with open_session() as session:
        requests = _requests_for(session, payment_ids)
        claimed = set(_claim_many(session, [r.payment_id for r in requests], now=now))
    mine = [r for r in requests if r.payment_id in claimed]
    answers = gateway.charge_many([
        {"token": r.token, "amount": r.amount, "currency": r.currency,
         "idempotency_key": r.idempotency_key, **({"customer": r.customer} if r.customer else {})}
        for r in mine], now=now) if mine else {}
    results = {r.payment_id: answers[r.idempotency_key] for r in mine
               if r.idempotency_key in answers}
    unanswered = [r.payment_id for r in mine if r.idempotency_key not in answers]
    with open_session() as session:
        for payment_id in unanswered:
            release(session, payment_id=payment_id)
        recorded = record_many(session, results, now=now)
    if unanswered:
        raise GatewayNetworkError(f"no answer for {len(unanswered)} payment(s)")
    return recorded


def _requests_for(session: Session, payment_ids: list[int]) -> list[ChargeRequest]:
    rows = session.exec(
        select(Payment.id, Payment.customer_id, Payment.idempotency_key, Payment.amount,
               Payment.currency, PaymentMethod.gateway_token, Customer.gateway_customer_id)
        .join(PaymentMethod, PaymentMethod.id == Payment.payment_method_id)
        .join(Customer, Customer.id == Payment.customer_id)
        .where(bulk.among(session, Payment.id, payment_ids), Payment.status == PENDING)
        .order_by(Payment.id)).all()
    return [ChargeRequest(pid, token, amount, currency, f"{customer_id}:{key}", None, ref)
            for pid, customer_id, key, amount, currency, token, ref in rows]


def _claim_many(session: Session, payment_ids: list[int], *, now: datetime) -> list[int]:
    if not payment_ids:
        return []
    table = Payment.__table__
    return list(session.execute(
        update(table).where(bulk.among(session, table.c.id, payment_ids),
                            table.c.status == PENDING,
                            or_(table.c.lease_until.is_(None), table.c.lease_until < now))
        .values(lease_until=now + LEASE).returning(table.c.id)).scalars())


def record_many(session: Session, results: dict[int, ChargeResult], *, now: datetime) -> int:
    """Record many outcomes: plain successes set-based, every other one through `record`."""
    plain = settlements.plain(session, [pid for pid, r in results.items() if r.succeeded],
                              purposes=PLAIN_PURPOSES)
    if plain:
        try:
            with session.begin_nested():
                settlements.settle(session, plain, references={
                    pid: results[pid].reference for pid in plain}, now=now)
        except settlements.StaleBatch:
            session.expire_all()
            plain = {}
    for payment_id, result in results.items():
        if payment_id not in plain:
            record(session, payment_id=payment_id, result=result, now=now)
    return len(results)


__all__ = ["start", "by_key", "request_for", "claim", "release", "record", "run", "run_many",
           "follow", "reconcile", "set_reference", "settle_authenticated",
           "record_many", "resolve", "resolve_for_next_attempt", "charge_now", "to_resolve", "pending_of_invoice",
           "Outcome", "ChargeRequest", "ChargeInProgress", "InvoicesSettled",
           "GatewayNetworkError",
           "ENGINE_PURPOSES"]
