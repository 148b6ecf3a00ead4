"""The logging plan: what each snapshot logs within a byte budget, and why.

Pure (no Keras, no TensorFlow, no numpy needed): the callback describes what
it could log (`Map` per layer output or attention, `Variable` per trainable
variable) and `make_plan` decides, by these rules, in this order:

1. **Always, never reduced**: the statistics of every selected layer output
   (computed on every probe sample), the exact weight-change series of every
   variable, the model summary and this plan. Their bytes are `fixed_bytes`.
2. **Full weights** (lossless float32 unless asked otherwise) get at most
   `WEIGHTS_SHARE` of the budget per snapshot: when they do not fit, the
   variables are split into `weights_every` groups of about equal bytes
   and snapshot i writes group `i % weights_every`, so each variable is
   written in full every `weights_every` snapshots (the smallest cadence
   that fits) and no snapshot writes them all. A variable larger than the
   share in float32 is written in q8 instead, or, if even that is over the
   share, not in full (its change series still is). An explicit `weights_freq=N`
   is kept as given: every variable at every N-th snapshot (the first
   included).
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
                 bytes_weights_full, reductions, warning, maps, variables, weights_groups, bytes_weights_snapshot):
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
        # Snapshot i writes the full values of weights_groups[i % len(groups)]
        # (one group holding every variable when weights_freq is given: then
        # every weights_every-th snapshot writes it).
        self.weights_groups = weights_groups
        self._bytes_weights_snapshot = bytes_weights_snapshot

    def full_weights_at(self, index):
        """Tags of the variables whose full values snapshot `index` (0-based) writes."""
        if not self.weights_every or not self.weights_groups:
            return set()
        if len(self.weights_groups) == 1:
            return set(self.weights_groups[0]) if index % self.weights_every == 0 else set()
        return set(self.weights_groups[index % len(self.weights_groups)])

    @property
    def bytes_per_snapshot(self):
        """Average bytes per snapshot (full weights amortised over their cadence)."""
        weights = int(math.ceil(self.bytes_weights_full / self.weights_every)) if self.weights_every else 0
        return self.bytes_fixed + self.bytes_maps + weights

    @property
    def bytes_largest_snapshot(self):
        """Bytes of the largest snapshot."""
        return self.bytes_fixed + self.bytes_maps + self._bytes_weights_snapshot

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
            "weights_groups": self.weights_groups,
            "variable_encodings": getattr(self, "variable_encodings", {}),
            "parts": list(getattr(self, "parts", [])),
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
            "rules": __doc__[__doc__.index("1. **Always"):].strip() if __doc__ else "",
        }

    def text(self):
        """A few lines for the console."""
        mb = lambda b: "%.1f MiB" % (b / 2**20)
        maps_full = sum(1 for m in self._maps if self.samples[m.tag] == m.samples)
        maps_fewer = sum(1 for m in self._maps if 0 < self.samples[m.tag] < m.samples)
        maps_none = sum(1 for m in self._maps if self.samples[m.tag] == 0)
        lines = [
            "InternalsCallback logging plan: at most %s per snapshot (budget %s; %s on average)"
            % (mb(self.bytes_largest_snapshot), mb(self.budget) if self.budget else "none", mb(self.bytes_per_snapshot)),
            "  statistics of every layer output and weight-change series of every variable: %s per snapshot"
            % mb(self.bytes_fixed - sum(p["bytes"] for p in getattr(self, "parts", []))),
            "  maps: %d with every probe sample, %d with fewer, %d statistics only: %s per snapshot"
            % (maps_full, maps_fewer, maps_none, mb(self.bytes_maps)),
        ]
        for p in getattr(self, "parts", []):
            lines.append("  %s: %s per snapshot%s" % (p["name"], mb(p["bytes"]), " (%s)" % p["note"] if p["note"] else ""))
        if self.weights_every:
            lines.append(
                "  full weights (%s%s, %d variables, %s): each variable every %s"
                % (self.weights_encoding,
                   ", %d in q8" % sum(1 for e in getattr(self, "variable_encodings", {}).values() if e == Q8)
                   if Q8 in getattr(self, "variable_encodings", {}).values() and self.weights_encoding != Q8 else "",
                   len(self._variables), mb(self.bytes_weights_full),
                   "snapshot" if self.weights_every == 1 else "%d snapshots%s" % (
                       self.weights_every, ", a share of them per snapshot" if len(self.weights_groups) > 1 else ""))
            )
        else:
            lines.append("  full weights: not logged")
        for r in self.reductions[:6]:
            lines.append("  reduced: " + r)
        if len(self.reductions) > 6:
            lines.append("  ... and %d more reductions, each listed in the plan logged with the run (tag logging_plan)"
                         % (len(self.reductions) - 6))
        if self.warning:
            lines.append("  WARNING: " + self.warning)
        return "\n".join(lines)


def make_plan(maps, variables, fixed_bytes, budget=DEFAULT_BUDGET, weights_freq=None, weights_encoding=F32,
              max_values=None, parts=()):
    """Plans one snapshot by the module's rules.

    Args:
      maps: `Map`s in logging order.
      variables: `Variable`s (trainable variables logged in full on a cadence).
      fixed_bytes: bytes of what is always logged (rule 1).
      budget: bytes per snapshot, or None for no budget (everything as asked).
      weights_freq: None (planned), 0 (no full weights) or N (every variable
        at every N-th snapshot, as asked).
      weights_encoding: "f32" or "q8".
      max_values: the per-summary value limit, or None.
      parts: `(name, bytes, note)` of the optional snapshot parts
        (`tb_plugin.core.parts`); counted like rule 1 (never reduced) and listed.

    Returns:
      A `Plan`.
    """
    parts = [{"name": str(n), "bytes": int(b), "note": str(t or "")} for n, b, t in parts]
    fixed_bytes = int(fixed_bytes) + sum(p["bytes"] for p in parts)
    notes = []
    samples = {m.tag: m.samples for m in maps}
    limited = {}
    # Rule 4: the per-summary limit.
    for m in maps:
        if budget is not None and max_values and m.sample_values * m.samples > max_values:
            fit = max_values // m.sample_values if m.sample_values else m.samples
            samples[m.tag] = limited[m.tag] = fit
    logged_vars = [v for v in variables if not (budget is not None and max_values and v.values > max_values)]
    for v in variables:
        if v not in logged_vars:
            notes.append("%s: full tensor not logged (%d values, over the %d-value summary limit; its "
                         "change series is logged)" % (v.tag, v.values, max_values))
    encodings = {v.tag: weights_encoding for v in logged_vars}
    if budget is not None and weights_freq is None and weights_encoding == F32:
        # Rule 2b: a variable larger than the weights share in float32 is
        # logged in q8 (4x smaller); if even that is over the share, its
        # full values are not logged (its change series is).
        share = WEIGHTS_SHARE * max(budget - fixed_bytes, 0)
        for v in list(logged_vars):
            if encoded_bytes(v.values, v.channels, F32) > share:
                if encoded_bytes(v.values, v.channels, Q8) <= share:
                    encodings[v.tag] = Q8
                    notes.append("%s: full values in q8, not f32 (%.1f MiB in f32 is over the weights share of "
                                 "%.1f MiB)" % (v.tag, encoded_bytes(v.values, v.channels, F32) / 2**20, share / 2**20))
                else:
                    logged_vars.remove(v)
                    notes.append("%s: full values not logged (%.1f MiB even in q8, over the weights share of "
                                 "%.1f MiB; its change series is logged)"
                                 % (v.tag, encoded_bytes(v.values, v.channels, Q8) / 2**20, share / 2**20))
    sizes = {v.tag: encoded_bytes(v.values, v.channels, encodings[v.tag]) for v in logged_vars}
    weights_full = sum(sizes.values())
    # Rule 2: the weights cadence, in groups so that no snapshot writes them all.
    if weights_freq is not None:
        weights_every = int(weights_freq)
        groups = [[v.tag for v in logged_vars]] if weights_every else []
    elif not logged_vars:
        weights_every, groups = 0, []
    elif budget is None:
        weights_every, groups = 1, [[v.tag for v in logged_vars]]
    else:
        share = WEIGHTS_SHARE * max(budget - fixed_bytes, 0)
        weights_every = max(1, int(math.ceil(weights_full / share))) if share > 0 else 0
        groups = _groups(logged_vars, sizes, weights_every) if weights_every else []
        if weights_every == 0:
            notes.append("full weights: not logged (the statistics alone take the budget)")
        elif weights_every > 1:
            notes.append(
                "full weights: each variable every %d snapshots, a %d-th of them (by size) per snapshot "
                "(%.1f MiB in all; at most %d%% of the budget per snapshot)"
                % (weights_every, weights_every, weights_full / 2**20, WEIGHTS_SHARE * 100)
            )
    weights_per_snapshot = max((sum(sizes[t] for t in g) for g in groups), default=0)
    if weights_freq is not None:
        weights_per_snapshot = int(math.ceil(weights_full / weights_every)) if weights_every else 0
    # Rule 3: maps share the rest.
    wanted = dict(samples)
    left_out = []
    if budget is not None:
        fixed_maps = [m for m in maps if m.explicit]
        flexible = [m for m in maps if not m.explicit]
        room = budget - fixed_bytes - weights_per_snapshot - sum(m.bytes(samples[m.tag]) for m in fixed_maps)
        left_out = _fit_maps(flexible, samples, room)
    reductions = []
    for m in maps:
        k = samples[m.tag]
        if k == m.samples:
            continue
        if k == 0:
            why = ("budget; tier %d, %.2f MiB per sample: copies are left out before computing layers, those "
                   "before block outputs, the largest first" % (m.tier, m.bytes(1) / 2**20)
                   if m in left_out else "one sample is over the %d-value summary limit" % max_values)
            reductions.append("%s: statistics only, no map (%s)" % (m.tag, why))
        elif m.tag in limited and k == limited[m.tag]:
            reductions.append("%s: %d of %d probe samples (one summary holds at most %d values)"
                              % (m.tag, k, m.samples, max_values))
        else:
            reductions.append("%s: %d of %d probe samples (budget: the largest maps give up samples first)"
                              % (m.tag, k, m.samples))
    reductions = notes + reductions
    bytes_maps = sum(m.bytes(samples[m.tag]) for m in maps)
    warning = None
    if budget is not None:
        largest = fixed_bytes + bytes_maps + weights_per_snapshot
        if largest > budget:
            why = []
            if any(m.explicit for m in maps):
                why.append("explicitly requested maps: %.1f MiB"
                           % (sum(m.bytes(samples[m.tag]) for m in maps if m.explicit) / 2**20))
            if weights_freq is not None and weights_every:
                why.append("weights_freq=%d: %.1f MiB of full weights at once" % (weights_freq, weights_full / 2**20))
            elif weights_per_snapshot > WEIGHTS_SHARE * budget:
                why.append("the largest variables alone: %.1f MiB" % (weights_per_snapshot / 2**20))
            why.append("statistics and change series: %.1f MiB" % (fixed_bytes / 2**20))
            warning = ("a snapshot takes up to %.1f MiB, over the budget of %.1f MiB (%s); logging it as asked. "
                       "Raise budget= (or budget=None), or ask for less." % (largest / 2**20, budget / 2**20, "; ".join(why)))
    plan = Plan(budget, samples, weights_every, weights_encoding, fixed_bytes, bytes_maps, weights_full,
                reductions, warning, list(maps), logged_vars, groups, weights_per_snapshot)
    plan.variable_encodings = {t: e for t, e in encodings.items() if t in sizes}
    plan.parts = parts
    return plan


def _groups(variables, sizes, n):
    """`n` groups of variable tags of about equal bytes (largest first into the lightest group)."""
    groups = [[] for _ in range(n)]
    load = [0] * n
    for v in sorted(variables, key=lambda v: -sizes[v.tag]):
        i = min(range(n), key=lambda j: (load[j], j))
        groups[i].append(v.tag)
        load[i] += sizes[v.tag]
    order = {v.tag: i for i, v in enumerate(variables)}
    return [sorted(g, key=order.get) for g in groups]


def _fit_maps(maps, samples, room):
    """Rule 3 on `maps` (mutating `samples`); returns the maps left out."""
    wanted = dict(samples)
    if sum(m.bytes(samples[m.tag]) for m in maps) <= room:
        return []
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
    for tag, k in capped(lo).items():
        samples[tag] = k
    return left_out
