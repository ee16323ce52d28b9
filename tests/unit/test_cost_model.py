"""bench/cost_model.py: the capacity plan's arithmetic adds up, and stays under the budget."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def cm():
    spec = importlib.util.spec_from_file_location("cost_model", BENCH / "cost_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cost_model"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_total_is_the_sum_of_the_components(cm):
    a, m = cm.Assumptions(), cm.Measured()
    lines = cm.components(a, m)
    assert set(lines) == {
        "Snowflake compute",
        "Snowflake storage",
        "S3 landing zone",
        "AWS: Dagster, workers, network",
    }
    assert cm.total(a, m) == pytest.approx(sum(x.usd for ls in lines.values() for x in ls))


def test_s3_component_by_hand(cm):
    """The S3 lines recomputed here from the prices and volumes, without the module."""
    days = 730 / 24
    storage = (450 + 2) * 90 * 0.023
    # producers' 8 MB multipart parts + Stripe, WMS, finance, privacy files + 3 exports a cycle
    puts = 450_000 / 8 + (96 + 250 + 1 + 24) + 3 * 96
    # whole-prefix listings every 30 s: ceil(objects kept 90 days / 1,000) pages per prefix
    pages = sum(math.ceil(n * 90 / 1000) for n in (96, 250, 1, 24, 1, 10))
    assert pages == 9 + 23 + 1 + 3 + 1 + 1
    lists = 86_400 / 30 * pages
    gets = 96 + 96 + 250  # each cycle reads its own Stripe file and orders export; WMS files
    by_hand = (
        storage
        + puts * days * 0.005 / 1000
        + lists * days * 0.005 / 1000
        + gets * days * 0.0004 / 1000
    )
    s3 = cm.s3(cm.Assumptions())
    assert s3[0].usd == pytest.approx(storage)
    assert sum(x.usd for x in s3) == pytest.approx(by_hand)


def test_snowflake_storage_by_hand(cm):
    per_day_tb = 450 / 5 * (1 + 0.5 + 0.1) / 1000  # raw + staging + modelled, compressed
    active = per_day_tb * 730
    protected = per_day_tb * (1 + 0.25) * (7 + 7)
    lines = cm.snowflake_storage(cm.Assumptions())
    assert [x.usd for x in lines] == pytest.approx([active * 40, protected * 40])


def test_a_resume_bills_the_minimum_and_the_auto_suspend_tail(cm):
    a = cm.Assumptions()
    assert cm.billed(5, a) == 120
    assert cm.billed(90, a) == 150


def test_the_plan_fits_the_budget_with_headroom(cm):
    a, m = cm.Assumptions(), cm.Measured()
    assert cm.total(a, m) < 18_000
    for name, usd, _ in cm.sensitivities(a, m):
        assert usd < 18_000, name
    # rebuilding the day at every cycle (as built) costs more than ingesting slices
    built = cm.total(cm.dataclasses.replace(a, day_rebuild=True), m)
    assert built > cm.total(a, m)
