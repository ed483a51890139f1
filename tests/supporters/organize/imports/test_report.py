"""The error report: one line per problem, by row and field, readable by spreadsheets."""

import csv
import io

from supporters.organize.imports.report import error_report_csv
from supporters.organize.models import Import


def test_the_report_lists_problems_by_row_then_field_after_a_bom():
    job = Import(
        errors=[
            {"row": 12, "field": "phone", "reason": "not a valid phone number"},
            {"row": 4, "field": "email", "reason": "not a valid email address"},
            {"row": 12, "field": "joined_at", "reason": "not a date, (YYYY-MM-DD)"},
        ]
    )
    text = error_report_csv(job)
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["row", "field", "reason"],
        ["4", "email", "not a valid email address"],
        ["12", "joined_at", "not a date, (YYYY-MM-DD)"],
        ["12", "phone", "not a valid phone number"],
    ]
