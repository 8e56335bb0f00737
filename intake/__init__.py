"""Channels: turn the outside world into InboundMessage and send OutboundMessage.

Knows nothing of cases or models (DESIGN.md import rule).
"""
