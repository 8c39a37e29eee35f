"""Dates shown no more precisely than the source gave them, in good French."""

from datetime import date

from django.utils import translation

from crm.models import DatePrecision
from crm.templatetags.crm_tags import precise_span


def test_a_span_of_days_reads_du_au_in_french():
    with translation.override("fr"):
        span = precise_span(date(2023, 9, 25), date(2023, 9, 28), DatePrecision.DAY)

    assert span == "du 25 septembre 2023 au 28 septembre 2023"


def test_a_span_of_months_reads_de_a_in_french():
    with translation.override("fr"):
        span = precise_span(date(2023, 9, 1), date(2023, 10, 31), DatePrecision.MONTH)

    assert span == "de septembre 2023 à octobre 2023"


def test_a_span_of_rough_months_keeps_its_precision():
    with translation.override("en"):
        span = precise_span(date(2023, 9, 1), date(2023, 10, 31), DatePrecision.LATE_MONTH)

    assert span == "late September 2023 to late October 2023"
