"""The label sets the model predicts; the words match the domain's, as plain strings."""

KINDS = ("complaint", "service_request", "enquiry", "compliment", "feedback")
THEMES = ("repairs", "damp_mould", "asb", "tenancy", "rent", "allocations", "communal", "leasehold",
          "staff_conduct", "complaint_handling", "other")
HAZARDS = ("none", "significant", "emergency")
