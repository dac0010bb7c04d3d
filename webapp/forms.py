"""Form pieces shared by several blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from webapp.services.errors import InvalidInput
from webapp.services.gateway import CardDetails


class CardFields(FlaskForm):
    """A new card: validated for shape here, for Luhn and expiry by the gateway service."""

    card_number = StringField("Card number", validators=[Optional(), Length(max=23)],
                              render_kw={"inputmode": "numeric", "autocomplete": "cc-number"})
    exp_month = IntegerField("Expiry month", validators=[Optional(), NumberRange(1, 12)],
                             render_kw={"autocomplete": "cc-exp-month", "placeholder": "MM"})
    exp_year = IntegerField("Expiry year", validators=[Optional(), NumberRange(2000, 2100)],
                            render_kw={"autocomplete": "cc-exp-year", "placeholder": "YYYY"})
    cvc = StringField("Security code (CVC)", validators=[Optional(), Length(max=4)],
                      render_kw={"inputmode": "numeric", "autocomplete": "cc-csc"})

    def card(self) -> CardDetails:
        """The typed card; a missing part is reported next to its field."""
        for name in ("card_number", "exp_month", "exp_year", "cvc"):
            if getattr(self, name).data in (None, ""):
                raise InvalidInput("Required for a new card.", field=name)
        return CardDetails(self.card_number.data, self.exp_month.data, self.exp_year.data,
                           self.cvc.data.strip())

    def add_error(self, error: InvalidInput) -> None:
        """Show a service's InvalidInput next to its field (or the form's first field)."""
        field = getattr(self, error.field or "", None) or self.card_number
        field.errors = [*field.errors, error.message]

    def scrub(self) -> None:
        """Never send a typed card number or CVC back to the browser."""
        self.card_number.data = self.card_number.raw_data = None
        self.cvc.data = self.cvc.raw_data = None
