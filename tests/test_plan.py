"""tb_plugin.core.plan: the budget rules, on made-up sizes (pure; no Keras)."""

import math

from tb_plugin.core import plan as P

MiB = 2**20


def _maps(*specs):
    return [P.Map(tag, per_sample, samples, tier=tier) for tag, per_sample, samples, tier in specs]


def test_everything_fits_nothing_reduced():
    maps = _maps(("a", 1000, 16, 1), ("b", 500, 16, 2))
    p = P.make_plan(maps, [P.Variable("w", 1000)], fixed_bytes=10_000, budget=MiB)
    assert p.samples == {"a": 16, "b": 16}
    assert p.weights_every == 1 and p.full_weights_at(0) == {"w"} and p.full_weights_at(5) == {"w"}
    assert p.reductions == [] and p.warning is None
    assert p.bytes_largest_snapshot == 10_000 + maps[0].bytes(16) + maps[1].bytes(16) + P.encoded_bytes(1000, 1, "f32")
    assert p.bytes_largest_snapshot <= MiB


def test_largest_maps_give_up_samples_first_and_the_result_fits():
    maps = _maps(("big", 100_000, 16, 1), ("mid", 10_000, 16, 1), ("small", 100, 16, 1))
    budget = 400_000
    p = P.make_plan(maps, [], fixed_bytes=0, budget=budget)
    assert p.samples["small"] == 16 and p.samples["mid"] == 16
    assert 1 <= p.samples["big"] < 16
    assert p.bytes_largest_snapshot <= budget
    # The cap is the largest that fits: one more sample of `big` would not.
    more = dict(p.samples, big=p.samples["big"] + 1)
    assert sum(m.bytes(more[m.tag]) for m in maps) > budget
    assert any(r.startswith("activations") or r.startswith("big: ") for r in p.reductions)
    assert [r for r in p.reductions if r.startswith("big:")] == [
        "big: %d of 16 probe samples (budget: the largest maps give up samples first)" % p.samples["big"]]


def test_maps_are_left_out_by_tier_copies_first_statistics_stay():
    maps = _maps(("block", 100_000, 4, 0), ("conv", 100_000, 4, 1), ("bn", 100_000, 4, 2), ("relu", 100_000, 4, 2))
    p = P.make_plan(maps, [], fixed_bytes=0, budget=250_000)  # room for two maps of one sample
    assert p.samples["bn"] == p.samples["relu"] == 0
    assert p.samples["block"] == 1 and p.samples["conv"] == 1
    assert p.bytes_largest_snapshot <= 250_000
    assert sum("statistics only" in r for r in p.reductions) == 2


def test_full_weights_rotate_in_groups_each_variable_every_n_snapshots():
    variables = [P.Variable("w%d" % i, 1_000_000) for i in range(8)]  # 4 MB each in f32
    budget = 16 * MiB
    p = P.make_plan([], variables, fixed_bytes=MiB, budget=budget)
    share = P.WEIGHTS_SHARE * (budget - MiB)
    total = sum(P.encoded_bytes(v.values, 1, "f32") for v in variables)
    assert p.weights_every == math.ceil(total / share) == 5
    seen = {}
    for i in range(p.weights_every):
        for tag in p.full_weights_at(i):
            seen.setdefault(tag, []).append(i)
    assert sorted(seen) == sorted(v.tag for v in variables)
    assert all(len(v) == 1 for v in seen.values())  # each once per cycle
    assert p.full_weights_at(0) == p.full_weights_at(p.weights_every)
    assert p.bytes_largest_snapshot <= budget and p.warning is None
    assert any("every %d snapshots" % p.weights_every in r for r in p.reductions)


def test_explicit_requests_are_kept_with_one_warning_stating_the_size():
    maps = [P.Map("picked", 1_000_000, 16, explicit=True)]
    p = P.make_plan(maps, [P.Variable("w", 10)], fixed_bytes=0, budget=MiB, weights_freq=3)
    assert p.samples == {"picked": 16}
    assert p.weights_every == 3 and p.full_weights_at(0) == {"w"} and p.full_weights_at(1) == set()
    assert p.full_weights_at(3) == {"w"}
    assert p.warning and "15.3 MiB" in p.warning and "over the budget of 1.0 MiB" in p.warning
    assert "explicitly requested maps" in p.warning


def test_no_budget_logs_everything_as_asked():
    maps = _maps(("huge", 10_000_000, 16, 2))
    p = P.make_plan(maps, [P.Variable("w", 10_000_000)], fixed_bytes=0, budget=None, max_values=1 << 23)
    assert p.samples == {"huge": 16} and p.weights_every == 1 and p.warning is None and p.reductions == []


def test_summary_limit_reduces_samples_and_says_why():
    maps = _maps(("wide", 802_816, 16, 0))
    p = P.make_plan(maps, [P.Variable("big", 9_000_000)], fixed_bytes=0, budget=10**9, max_values=1 << 23)
    assert p.samples["wide"] == (1 << 23) // 802_816 == 10
    assert "wide: 10 of 16 probe samples (one summary holds at most 8388608 values)" in p.reductions
    assert any(r.startswith("big: full tensor not logged") for r in p.reductions)
    assert p.full_weights_at(0) == set()


def test_statistics_over_budget_warn_but_are_never_reduced():
    p = P.make_plan(_maps(("a", 10, 4, 1)), [], fixed_bytes=2 * MiB, budget=MiB)
    assert p.samples == {"a": 0}
    assert p.warning and "statistics and change series: 2.0 MiB" in p.warning


def test_document_is_json_and_lists_every_map():
    import json

    maps = _maps(("a", 100_000, 8, 1), ("b", 10, 8, 2))
    p = P.make_plan(maps, [P.Variable("w", 5)], fixed_bytes=0, budget=300_000)
    doc = json.loads(json.dumps(p.document()))
    assert [m["tag"] for m in doc["maps"]] == ["a", "b"]
    assert {m["tag"]: m["samples"] for m in doc["maps"]} == p.samples
    assert doc["budget_bytes"] == 300_000 and doc["bytes_largest_snapshot"] <= 300_000
    assert doc["reductions"] == p.reductions
    assert "Always, never reduced" in doc["rules"]
    assert "logging plan" in p.text()


def test_a_variable_over_the_weights_share_goes_q8_or_not_in_full():
    budget = 16 * MiB
    big = P.Variable("dense/kernel", 4_718_592)  # 18 MiB in f32, 4.5 MiB in q8
    huge = P.Variable("huge/kernel", 40_000_000)  # over the share even in q8
    p = P.make_plan([], [big, huge, P.Variable("b", 10)], fixed_bytes=0, budget=budget)
    assert p.variable_encodings == {"dense/kernel": "q8", "b": "f32"}
    assert p.warning is None and p.bytes_largest_snapshot <= budget
    assert any(r.startswith("dense/kernel: full values in q8") for r in p.reductions)
    assert any(r.startswith("huge/kernel: full values not logged") for r in p.reductions)
    assert all("huge/kernel" not in p.full_weights_at(i) for i in range(4))
