"""The logging plan: what each snapshot logs within a byte budget, and why.

Pure (no Keras, no TensorFlow, no numpy needed): the callback describes what
it could log (`Map` per layer output or attention, `Variable` per trainable
variable) and `make_plan` decides, by these rules, in this order:

1. **Always, never reduced**: the statistics of every selected layer output
   (computed on every probe sample), the exact weight-change series of every
   variable, the model summary and this plan. Their bytes are `fixed_bytes`.
2. **Full weights** (lossless float32 unless asked otherwise) get at most
   `WEIGHTS_SHARE` of the budget per snapshot, amortised: they are written
   every `weights_every`-th snapshot (the first snapshot included), the
   smallest cadence whose amortised size fits. An explicit `weights_freq`
   is kept as given.
3. **Activation maps and attention scores** share what is left. Each map
   is logged for all probe samples if everything fits. Otherwise the
   largest maps lose samples first: every map is capped at the same byte
   size (its sample count floored to fit the cap, at least one), the
   largest cap that fits being chosen. If one sample of every map still
   does not fit, maps are left out (their statistics stay) in this order:
   tier 2 (copies of another layer's output: normalisation, activation,
   dropout, reshaping), then tier 1 (computing layers), then tier 0 (block
   outputs: additions, concatenations, pooling, nested models, attention,
   recurrent layers, the model output), largest first within a tier; then
   the freed bytes go back to the rule above. Explicitly selected layers
   (`layers=`) or an explicit `map_samples` are kept as asked.
4. A map larger than `max_values` values per summary is logged for the
   samples that fit, or not at all (with `budget=None` it is attempted as
   asked, and the writer's size error is reported as a warning).

Nothing is reduced silently: every reduction is listed with its reason in
`Plan.reductions`, and a plan over budget (because of explicit requests or
of the rule-1 bytes) says so in `Plan.warning`. Sizes are estimates of the
encoded bytes before compression (q8: one byte per value plus 8 bytes per
channel; f32: four bytes per value), an upper bound of what is written.
"""

import math

DEFAULT_BUDGET = 16 * 1024 * 1024  # bytes per snapshot
WEIGHTS_SHARE = 0.5
Q8, F32 = "q8", "f32"


def encoded_bytes(values, channels=1, encoding=Q8):
    """Estimated payload bytes of `values` values (uncompressed body + header)."""
    if encoding == F32:
        return 4 * values + 256
    return values + 8 * max(1, channels) + 256


class Map:
    """A per-sample array the callback could log (a layer output or attention scores).

    Args:
      tag: its tag.
      sample_values: values per probe sample.
      samples: probe samples available.
      channels: size of the last axis (q8 stores two floats per channel).
      tier: 0 block outputs, 1 computing layers, 2 copies (see the rules).
      explicit: kept as asked (selected by name, or `map_samples` given).
      encoding: "q8" or "f32".
      kind: "activations" or "attention".
    """

    def __init__(self, tag, sample_values, samples, channels=1, tier=1, explicit=False, encoding=Q8,
                 kind="activations"):
        self.tag = tag
        self.sample_values = int(sample_values)
        self.samples = int(samples)
        self.channels = int(channels)
        self.tier = int(tier)
        self.explicit = bool(explicit)
        self.encoding = encoding
        self.kind = kind

    def bytes(self, samples):
        if samples <= 0:
            return 0
        return encoded_bytes(self.sample_values * samples, self.channels, self.encoding)


    def samples_within(self, cap):
        """The most samples whose bytes are at most `cap` (0 if none)."""
        overhead = encoded_bytes(0, self.channels, self.encoding)
        per_sample = max(self.bytes(2) - self.bytes(1), 1)
        return max(0, (cap - overhead) // per_sample)


class Variable:
    def __init__(self, tag, values, channels=1):
        self.tag = tag
        self.values = int(values)
        self.channels = int(channels)


class Plan:
    """The outcome: `samples[tag]` per map (0: statistics only), the weights
    cadence and encoding, the bytes, the reductions and their reasons."""

    def __init__(self, budget, samples, weights_every, weights_encoding, bytes_fixed, bytes_maps,
                 bytes_weights_full, reductions, warning, maps, variables):
        self.budget = budget
        self.samples = samples
        self.weights_every = weights_every
        self.weights_encoding = weights_encoding
        self.bytes_fixed = bytes_fixed
        self.bytes_maps = bytes_maps
        self.bytes_weights_full = bytes_weights_full
        self.reductions = reductions
        self.warning = warning
        self._maps = maps
        self._variables = variables

    @property
    def bytes_weights_per_snapshot(self):
        if not self.weights_every:
            return 0
        return int(math.ceil(self.bytes_weights_full / self.weights_every))

    @property
    def bytes_per_snapshot(self):
        """Average bytes per snapshot (full weights amortised over their cadence)."""
        return self.bytes_fixed + self.bytes_maps + self.bytes_weights_per_snapshot

    @property
    def bytes_largest_snapshot(self):
        """Bytes of a snapshot that also writes the full weights."""
        return self.bytes_fixed + self.bytes_maps + (self.bytes_weights_full if self.weights_every else 0)

    def document(self):
        """The plan as a JSON-serialisable dict (logged with the run)."""
        return {
            "budget_bytes": self.budget,
            "bytes_per_snapshot": self.bytes_per_snapshot,
            "bytes_largest_snapshot": self.bytes_largest_snapshot,
            "bytes_fixed": self.bytes_fixed,
            "bytes_maps": self.bytes_maps,
            "bytes_weights_full": self.bytes_weights_full,
            "weights_every": self.weights_every,
            "weights_encoding": self.weights_encoding,
            "within_budget": self.warning is None,
            "warning": self.warning,
            "reductions": list(self.reductions),
            "maps": [
                {
                    "tag": m.tag,
                    "kind": m.kind,
                    "tier": m.tier,
                    "probe_samples": m.samples,
                    "samples": self.samples[m.tag],
                    "bytes": m.bytes(self.samples[m.tag]),
                    "encoding": m.encoding,
                }
                for m in self._maps
            ],
            "variables": [{"tag": v.tag, "values": v.values} for v in self._variables],
            "rules": __doc__.split("\n\n", 2)[1].strip() if __doc__ else "",
        }

    def text(self):
        """A few lines for the console."""
        mb = lambda b: "%.1f MiB" % (b / 2**20)
        maps_full = sum(1 for m in self._maps if self.samples[m.tag] == m.samples)
        maps_fewer = sum(1 for m in self._maps if 0 < self.samples[m.tag] < m.samples)
        maps_none = sum(1 for m in self._maps if self.samples[m.tag] == 0)
        lines = [
            "InternalsCallback logging plan: %s per snapshot on average (budget %s; largest snapshot %s)"
            % (mb(self.bytes_per_snapshot), mb(self.budget) if self.budget else "none", mb(self.bytes_largest_snapshot)),
            "  statistics of every layer output and weight-change series of every variable: %s per snapshot"
            % mb(self.bytes_fixed),
            "  maps: %d with every probe sample, %d with fewer, %d statistics only: %s per snapshot"
            % (maps_full, maps_fewer, maps_none, mb(self.bytes_maps)),
        ]
        if self.weights_every:
            lines.append(
                "  full weights (%s, %d variables, %s) every %s"
                % (self.weights_encoding, len(self._variables), mb(self.bytes_weights_full),
                   "snapshot" if self.weights_every == 1 else "%d snapshots" % self.weights_every)
            )
        else:
            lines.append("  full weights: not logged")
        for r in self.reductions[:8]:
            lines.append("  reduced: " + r)
        if len(self.reductions) > 8:
            lines.append("  ... %d more reductions (all of them are in the logged plan, tag logging_plan)"
                         % (len(self.reductions) - 8))
        if self.warning:
            lines.append("  WARNING: " + self.warning)
        return "\n".join(lines)


def make_plan(maps, variables, fixed_bytes, budget=DEFAULT_BUDGET, weights_freq=None, weights_encoding=F32,
              max_values=None):
    """Plans one snapshot by the module's rules.

    Args:
      maps: `Map`s in logging order.
      variables: `Variable`s (trainable variables logged in full on a cadence).
      fixed_bytes: bytes of what is always logged (rule 1).
      budget: bytes per snapshot, or None for no budget (everything as asked).
      weights_freq: None (planned), 0 (no full weights) or N (every N-th snapshot, as asked).
      weights_encoding: "f32" or "q8".
      max_values: the per-summary value limit, or None.

    Returns:
      A `Plan`.
    """
    reductions = []
    samples = {m.tag: m.samples for m in maps}
    # Rule 4: the per-summary limit.
    for m in maps:
        if budget is not None and max_values and m.sample_values * m.samples > max_values:
            fit = max_values // m.sample_values if m.sample_values else m.samples
            samples[m.tag] = fit
            reductions.append(
                "%s: %s of %d probe samples (one summary holds at most %d values; one sample has %d)"
                % (m.tag, "%d" % fit if fit else "none", m.samples, max_values, m.sample_values)
            )
    logged_vars = [v for v in variables if not (max_values and v.values > max_values)]
    for v in variables:
        if v not in logged_vars:
            reductions.append("%s: full tensor not logged (%d values, over the %d-value summary limit; its "
                              "change series is logged)" % (v.tag, v.values, max_values))
    weights_full = sum(encoded_bytes(v.values, v.channels, weights_encoding) for v in logged_vars)
    # Rule 2: the weights cadence.
    if weights_freq is not None:
        weights_every = int(weights_freq)
    elif not logged_vars:
        weights_every = 0
    elif budget is None:
        weights_every = 1
    else:
        share = WEIGHTS_SHARE * max(budget - fixed_bytes, 0)
        weights_every = max(1, int(math.ceil(weights_full / share))) if share > 0 else 0
        if weights_every == 0:
            reductions.append("full weights: not logged (the statistics alone take the budget)")
        elif weights_every > 1:
            reductions.append(
                "full weights every %d snapshots (%.1f MB each time; %d%% of the budget at most per snapshot)"
                % (weights_every, weights_full / 1e6, WEIGHTS_SHARE * 100)
            )
    weights_per_snapshot = int(math.ceil(weights_full / weights_every)) if weights_every else 0
    # Rule 3: maps share the rest.
    if budget is not None:
        fixed_maps = [m for m in maps if m.explicit]
        flexible = [m for m in maps if not m.explicit]
        room = budget - fixed_bytes - weights_per_snapshot - sum(m.bytes(samples[m.tag]) for m in fixed_maps)
        _fit_maps(flexible, samples, room, reductions)
    bytes_maps = sum(m.bytes(samples[m.tag]) for m in maps)
    warning = None
    if budget is not None:
        average = fixed_bytes + bytes_maps + weights_per_snapshot
        if average > budget:
            why = []
            if any(m.explicit for m in maps):
                why.append("explicitly selected maps: %.1f MB" % (sum(m.bytes(samples[m.tag]) for m in maps if m.explicit) / 1e6))
            if weights_freq is not None and weights_every:
                why.append("weights_freq=%d: %.1f MB per snapshot" % (weights_freq, weights_per_snapshot / 1e6))
            why.append("statistics and change series: %.1f MB" % (fixed_bytes / 1e6))
            warning = "the snapshots take %.1f MB each, over the budget of %.1f MB (%s); logging it as asked. " \
                      "Pass budget=None to silence this, or ask for less." % (average / 1e6, budget / 1e6, "; ".join(why))
    return Plan(budget, samples, weights_every, weights_encoding, fixed_bytes, bytes_maps, weights_full,
                reductions, warning, list(maps), logged_vars)


def _total(maps, samples):
    return sum(m.bytes(samples[m.tag]) for m in maps)


def _fit_maps(maps, samples, room, reductions):
    """Rule 3 on `maps` (mutating `samples`), recording reductions."""
    wanted = dict(samples)
    if _total(maps, samples) <= room:
        return
    active = [m for m in maps if samples[m.tag] > 0]
    # Leave maps out until one sample of each fits.
    by_drop_order = sorted(active, key=lambda m: (-m.tier, -m.bytes(1)))
    left_out = []
    while active and sum(m.bytes(1) for m in active) > room:
        m = by_drop_order.pop(0)
        active.remove(m)
        left_out.append(m)
        samples[m.tag] = 0
    # The largest common byte cap that fits.
    def capped(cap):
        return {m.tag: max(1, min(wanted[m.tag], m.samples_within(cap))) for m in active}

    lo, hi = 0, max((m.bytes(wanted[m.tag]) for m in active), default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = capped(mid)
        if sum(m.bytes(trial[m.tag]) for m in active) <= room:
            lo = mid
        else:
            hi = mid - 1
    final = capped(lo)
    for m in active:
        samples[m.tag] = final[m.tag]
    for m in active:
        if samples[m.tag] < wanted[m.tag]:
            reductions.append("%s: %d of %d probe samples (budget; the largest maps first)"
                              % (m.tag, samples[m.tag], wanted[m.tag]))
    for m in left_out:
        reductions.append("%s: statistics only, no map (budget; tier %d, %.2f MB per sample)"
                          % (m.tag, m.tier, m.bytes(1) / 1e6))
