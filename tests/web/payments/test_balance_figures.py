"""One balance figure everywhere (issue 24): Home, Pay all, Invoices and the Statement agree
for every demo customer, on a figure worked out by hand from the demo's invoices and credits."""

import re

import pytest

from tests.i18n.german import german
from webapp import demo

# Jane (USD), her open invoices as seeded by webapp/demo:
#   INV-000011 Enterprise  238.80 − 100.00 paid − 5.00 goodwill credit (CN-000002) = 133.80
#   INV-000023 Pro yearly  118.80 −  50.00 paid (cheque)                             =  68.80
#   INV-000024             144.00, nothing paid                                       = 144.00
#   INV-000025              22.80, nothing paid                                       =  22.80
#   (CN-000001, 11.40, went on the paid INV-000010 long ago)                 total US$369.40
# Omar (EUR): INV-000021, 20.40, nothing paid; no credit          total 20,40 € (his de_DE)
EXPECTED = [(demo.JANE, "US$369.40", 36940), (demo.OMAR, "20,40\xa0€", 2040)]
# The words each reader reads around the figure: Jane the organization's English, Omar German.
WORDS = {demo.JANE: lambda msgid, **params: msgid % params if params else msgid,
         demo.OMAR: german}

_ROW = re.compile(r'<tr id="invoice-row-\d+">(.*?)</tr>', re.S)
_AMOUNT = re.compile(r'<td class="amount"[^>]*>([^<]+)</td>')


def _minor(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def figures(client, headers, words=WORDS[demo.JANE]) -> dict[str, str]:
    """The outstanding figure each page shows (its labels in `words`' language)."""
    home = client.get("/", headers=headers).get_data(as_text=True)
    pay_all = client.get("/pay?all=1", headers=headers).get_data(as_text=True)
    statement = client.get("/statements", headers=headers).get_data(as_text=True)
    invoices = client.get("/invoices", headers=headers).get_data(as_text=True)
    open_rows = [row for row in _ROW.findall(invoices) if 'name="invoice"' in row]
    return {
        "home": re.search(rf'<header>{re.escape(words("Outstanding"))}</header>\s*<p class="big">([^<]+)<',
                          home).group(1),
        "pay all": re.search(rf'{re.escape(words("Total to pay"))}</th><td class="amount"><strong>([^<]+)<',
                             pay_all).group(1),
        "statement": re.search(rf'{re.escape(words("Balance Due"))}</th><td class="amount"><strong>([^<]+)<',
                               statement).group(1),
        "invoices": sum(_minor(_AMOUNT.findall(row)[-1]) for row in open_rows),
    }


@pytest.mark.parametrize(("who", "shown", "minor"), EXPECTED, ids=["jane", "omar"])
def test_home_pay_all_invoices_and_statement_show_one_outstanding_figure(
        client, auth, seeded, who, shown, minor):
    auth.login(*who)
    found = figures(client, {}, WORDS[who])
    assert found == {"home": shown, "pay all": shown, "statement": shown, "invoices": minor}


@pytest.mark.parametrize(("who", "shown"), [(w, s) for w, s, _ in EXPECTED], ids=["jane", "omar"])
def test_the_pay_button_names_the_same_figure(client, auth, seeded, who, shown):
    auth.login(*who)
    html = client.get("/pay?all=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert WORDS[who]("Pay %(amount)s with this new card", amount=shown) + "</button>" in html
