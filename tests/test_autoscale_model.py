"""The model behind benchmarks/autoscale_sim.py: the day's curve, the document window, and the
autoscaler's arithmetic, on days small enough to reason about by hand."""

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from autoscale_model import DAY, Autoscaler, Day, Document, Service, Simulation, hourly_rates

STEADY = Service(page_seconds=1.6, page_cv=0.0, window=8, start_seconds=0.5)  # every page 1.6 s


def test_the_day_adds_up_with_its_peak_and_its_spike():
    rates = hourly_rates(Day())
    assert sum(rates) == pytest.approx(10_000)
    assert rates[Day().spike_hour] == 1000
    assert max(r for h, r in enumerate(rates) if h != Day().spike_hour) == pytest.approx(400)


def test_a_day_that_cannot_be_made_is_refused():
    with pytest.raises(ValueError, match="trough"):
        hourly_rates(Day(uploads=12_000))  # 23 hours at the peak make only 10,200


def wait_of_a_short_document_behind_a_long_one(window: int) -> float:
    # GIVEN 8 worker processes, a 16-page document, and a 1-page one 0.1 s later
    documents = [Document(0, 0.0, 16, bulk=False), Document(1, 0.1, 1, bulk=False)]
    service = Service(page_seconds=1.6, page_cv=0.0, window=window, start_seconds=0.5)
    # WHEN the day runs through the fixed fleet
    result = Simulation(documents, service, random.Random(1), processes=8).run()
    return result.waits[1]


def test_the_window_lets_a_short_document_pass_a_long_one():
    # THEN with a window of 8 the short document's page is next after the first 8 pages
    assert wait_of_a_short_document_behind_a_long_one(window=8) == pytest.approx(0.5 + 1.6 - 0.1)
    # AND with a window of 16 it waits behind all 16
    assert wait_of_a_short_document_behind_a_long_one(window=16) == pytest.approx(0.5 + 2 * 1.6 - 0.1)


def worker_hours_for_a_constant_figure(figure_value: int, scaler: Autoscaler) -> float:
    # GIVEN a figure that never changes, and a document at each end of the day
    documents = [Document(0, 0.0, 1, bulk=False), Document(1, DAY - 10, 1, bulk=False)]

    def figure(measured: object, slots: int, threads: int, target: float) -> int:
        return figure_value

    # WHEN the autoscaled day runs
    return Simulation(documents, STEADY, random.Random(1), autoscaler=scaler, figure=figure).run().worker_hours


def test_the_autoscaler_runs_the_pods_the_figure_asks_for():
    scaler = Autoscaler(processes_per_pod=2, min_pods=2, max_pods=15)
    # THEN 7 processes wanted make 4 pods of 2 all day; none wanted leaves the minimum
    assert worker_hours_for_a_constant_figure(7, scaler) == pytest.approx(4 * 2 * 24)
    assert worker_hours_for_a_constant_figure(0, scaler) == pytest.approx(2 * 2 * 24)
    # AND never more than the maximum
    assert worker_hours_for_a_constant_figure(100, scaler) == pytest.approx(15 * 2 * 24)
