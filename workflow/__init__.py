"""The domain and its storage: residents, messages, cases, the Code's clocks and the audit trail.

Knows nothing of mail protocols or of the model's insides (DESIGN.md import rule).
"""
