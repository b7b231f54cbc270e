"""Domain errors of the customers app, each with a stable `code`."""

from rest_framework import status

from omni.errors import DomainError


class CustomerError(DomainError):
    code = "customer_error"
    status_code = status.HTTP_409_CONFLICT


class InsufficientPoints(CustomerError):
    code = "insufficient_points"
    default_message = "The customer does not have enough loyalty points."


class MergeRefused(CustomerError):
    """Merging into itself, into or from an erased or already merged profile."""

    code = "merge_refused"
    default_message = "These profiles cannot be merged."


class UnmergeRefused(CustomerError):
    code = "unmerge_refused"
    default_message = "This merge cannot be undone."


class CustomerErased(CustomerError):
    code = "customer_erased"
    default_message = "The customer's personal data was erased."


class CaseTransitionRefused(CustomerError):
    code = "case_transition_refused"
    default_message = "The case cannot move to that status."


class ReversalRefused(CustomerError):
    code = "reversal_refused"
    default_message = "Nothing to reverse."
