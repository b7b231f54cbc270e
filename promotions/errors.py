"""Pricing and voucher errors, each with a stable `code` the API returns."""

from rest_framework import status

from omni.errors import DomainError


class PricingError(DomainError):
    code = "pricing_error"
    status_code = status.HTTP_400_BAD_REQUEST


class VariantNotListed(PricingError):
    code = "variant_not_listed"
    default_message = "A line's product is not sold in this channel."


class VoucherError(PricingError):
    """Base of the voucher refusals; each names the field `voucher_code`."""

    def __init__(self, message: str | None = None, **extra):
        extra.setdefault("field", "voucher_code")
        super().__init__(message, **extra)


class VoucherUnknown(VoucherError):
    code = "voucher_unknown"
    default_message = "No such voucher code."


class VoucherNotStarted(VoucherError):
    code = "voucher_not_started"
    default_message = "This voucher code is not valid yet."


class VoucherExpired(VoucherError):
    code = "voucher_expired"
    default_message = "This voucher code has expired."


class VoucherExhausted(VoucherError):
    code = "voucher_exhausted"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This voucher code has been used up."


class VoucherOutOfScope(VoucherError):
    code = "voucher_out_of_scope"
    default_message = "This voucher code does not apply to this basket."


class VoucherMinSpend(VoucherError):
    code = "voucher_min_spend"
    default_message = "The basket does not reach this voucher's minimum spend."
