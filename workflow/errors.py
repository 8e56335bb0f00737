"""Errors the domain raises; the console and CLI show their message to the person as it is."""


class DomainError(Exception):
    """A request the Code or the record does not allow; nothing was changed."""


class IllegalTransition(DomainError):
    pass
