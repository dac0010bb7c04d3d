"""The organization, its people and its customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from webapp.models.types import UTCDateTime

__all__ = ["Organization", "BrandAsset", "User", "UserSession", "RecoveryCode", "TrustedDevice",
           "Customer", "ContactPerson", "Counter", "TaxRate"]


class Organization(SQLModel, table=True):
    """The one business this installation serves."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=50)
    email: str = Field(max_length=254)  # the primary contact's address
    timezone: str = Field(default="UTC", max_length=64)
    locale: str = Field(default="en_US", max_length=16)
    base_currency: str = Field(default="USD", max_length=3)
    tax_name: str | None = Field(default=None, max_length=50)
    tax_rate_bp: int | None = Field(default=None)  # basis points: 2000 is 20.00 %
    portal_name: str = Field(default="Customer Portal", max_length=200)
    banner_text: str = Field(default="", max_length=500)
    # What its documents carry: the seller's legal name (the name when empty), its tax
    # number, and how to pay by bank transfer (free text, printed on invoices).
    legal_name: str = Field(default="", max_length=200)
    tax_id: str = Field(default="", max_length=50)
    payment_instructions: str = Field(default="", max_length=1000)
    # Tax (services/billing/tax.py): where the seller is (ISO 3166-1 alpha-2, "" unknown),
    # which decides the EU reverse charge with `tax_id` as its VAT number; and whether its
    # prices include the tax (the tax is then taken out of each line's price).
    country: str = Field(default="", max_length=2)
    tax_inclusive: bool = Field(default=False)
    # The brand: a colour ("#1f4e79") white text passes WCAG AA on, or None for the built-in
    # one; brand_version goes up whenever the colour or the logo changes (/brand.css?v=...).
    brand_colour: str | None = Field(default=None, max_length=7)
    brand_version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)


class BrandAsset(SQLModel, table=True):
    """The organization's logo and the icons made from it (re-encoded images), kept in the
    database so every web node and worker serves the same ones; out of the organization's
    row, which every request reads."""

    __tablename__ = "brand_asset"

    kind: str = Field(primary_key=True, max_length=16)  # logo | favicon | touch_icon
    content_type: str = Field(max_length=32)  # image/png | image/jpeg
    data: bytes = Field(sa_type=LargeBinary)
    width: int
    height: int
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Customer(SQLModel, table=True):
    """Someone who buys from the organization."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(max_length=200)
    company: str = Field(default="", max_length=200)
    email: str = Field(max_length=254, index=True)
    phone: str = Field(default="", max_length=50)
    # indexed: the admin lists' currency filter finds the few in use a probe each
    currency: str = Field(max_length=3, index=True)
    billing_address: str = Field(default="", max_length=1000)
    shipping_address: str = Field(default="", max_length=1000)
    tax_id: str = Field(default="", max_length=50)  # a business's VAT number, in the EU
    # The billing address's place, for its tax rate (services/billing/tax.py): ISO 3166-1
    # alpha-2 ("" unknown) and a region (a state, a province) as the rate table names it.
    country: str = Field(default="", max_length=2)
    region: str = Field(default="", max_length=50)
    # Tax-exempt (no tax on its invoices), with the reason the invoices show.
    tax_exempt: bool = Field(default=False)
    tax_exempt_reason: str = Field(default="", max_length=200)
    # How dates and amounts are written for this customer (pages, PDFs, mail); None is the
    # organization's locale.
    locale: str | None = Field(default=None, max_length=16)
    portal_enabled: bool = Field(default=False)
    # The customer's id at the payment processor (Stripe's cus_...), made on first need.
    gateway_customer_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A login: a customer's portal user or an admin of the organization."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # stored lower-case
    password_hash: str | None = Field(default=None, max_length=256)
    role: str = Field(default="customer", max_length=16)  # customer | admin
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    # Part of the login id: bumping it ends every session of this user.
    session_version: int = Field(default=1)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Two-factor sign-in (services/accounts/two_factor.py): the TOTP secret (base32), set
    # when set-up starts and switched on once a code confirms it; the last time step a code
    # was accepted at, so each code signs in once.
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_last_step: int | None = Field(default=None)
    # The language this user reads the portal in (an admin's back office; a customer's portal
    # follows customer.locale). None: the organization's.
    locale: str | None = Field(default=None, max_length=16)


class UserSession(SQLModel, table=True):
    """One sign-in of a user on one browser: listed on Account & security, ended one by one.

    The browser holds a random id in the signed login cookie; only its SHA-256 is stored, so
    a copy of this table opens no session. A row ends (ended_at) at logout, when the user or
    an admin signs it out, when the password changes, when access is revoked, or on the first
    request after it expired (the preferences' lifetime and idle timeout).
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    method: str = Field(max_length=16)  # password | invitation | reset
    ip: str = Field(default="", max_length=45)
    device: str = Field(default="", max_length=100)  # "Chrome on macOS"
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # logout | signed_out | others_signed_out | password_changed | password_reset |
    # password_invitation | revoked | admin | expired
    end_reason: str | None = Field(default=None, max_length=24)


class RecoveryCode(SQLModel, table=True):
    """One of a user's ten single-use two-factor recovery codes; only its SHA-256 is kept."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TrustedDevice(SQLModel, table=True):
    """A browser where the user ticked "Remember this device": it skips the code step until
    it expires (30 days) or is revoked ("Sign out everywhere else", a password change, a
    two-factor reset). It outlives logout and idle expiry. Only the token's SHA-256 is kept."""

    __tablename__ = "trusted_device"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    device: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ContactPerson(SQLModel, table=True):
    """A person at the customer who may receive forwarded documents."""

    __tablename__ = "contact_person"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    role: str = Field(default="billing", max_length=16)  # billing | technical | other
    created_at: datetime = Field(sa_type=UTCDateTime)


class Counter(SQLModel, table=True):
    """Gap-free document numbers: taken by one atomic UPDATE ... RETURNING."""

    name: str = Field(primary_key=True, max_length=32)
    next_value: int = Field(default=1)


class TaxRate(SQLModel, table=True):
    """A rate by place the admin keeps: a region's beats its country's, which beats the
    organization's default rate (services/billing/tax.py)."""

    __tablename__ = "tax_rate"
    __table_args__ = (UniqueConstraint("country", "region"),)

    id: int | None = Field(default=None, primary_key=True)
    country: str = Field(max_length=2)  # ISO 3166-1 alpha-2
    region: str = Field(default="", max_length=50)  # "" for the whole country
    rate_bp: int  # basis points: 2000 is 20.00 %
    label: str = Field(max_length=50)  # "VAT", "Sales tax"
