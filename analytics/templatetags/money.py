"""Dollar amounts as a reader wants them: cents for dollars, four decimals for fractions of a cent."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def usd(value):
    """Format a USD amount: $1,234.56; $0.0042 below a dollar; $0.000012 below a hundredth of a cent; $0."""
    try:
        amount = Decimal(str(value or 0))
    except InvalidOperation:
        return ""
    if amount == 0:
        return "$0"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    if amount >= Decimal("0.0001"):
        return f"{sign}${amount:.4f}"
    # A single cheap request costs micro-dollars: show them rather than a row of zeros.
    return f"{sign}${amount:.6f}"
