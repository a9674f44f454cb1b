"""Safety stock and reorder point: the buffer that covers demand over a lead time at a
service level (the chance that a replenishment cycle does not run out).

Demand per week has mean d-bar and spread sigma_d (from forecast errors, not raw demand); the lead
time is L weeks with spread sigma_L. Demand over the lead time then has

    mean mu = L*d-bar        variance v = L*sigma_d² + d-bar²*sigma_L²

- Smooth and erratic SKUs (the normal approximation): safety stock = z*sqrt v, z the
  service level's quantile of the standard normal.
- Intermittent and lumpy SKUs (many weeks without demand, a normal curve would put mass
  below zero): the service-level quantile of a count distribution with that mean and
  variance, minus its mean. Negative binomial when v > mu (over-dispersed, the usual case);
  Poisson when v ≤ mu (the least spread a count can have for that mean).

Reorder point = lead-time demand + safety stock. Both are whole units, rounded up, never
negative. Pure: no I/O, no clock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, get_args

Method = Literal["normal", "quantile", "none"]
LeadSource = Literal["history", "product", "supplier", "assumed"]
METHODS: tuple[Method, ...] = get_args(Method)
LEAD_SOURCES: tuple[LeadSource, ...] = get_args(LeadSource)

QUANTILE_CLASSES = frozenset({"intermittent", "lumpy"})
# The count distribution is summed term by term up to this many units; beyond it (a very
# large lead-time demand) the gamma distribution with the same mean and variance answers,
# by the Wilson-Hilferty approximation of its quantile.
MAX_TERMS = 100_000
EPSILON = 1e-9
# With no lead time stated anywhere (neither the product nor its supplier): two weeks.
ASSUMED_LEAD_DAYS = 14


@dataclass(frozen=True)
class LeadTime:
    """How long a replenishment takes, in days, and how much that varies; where the figure
    came from and how many received purchase-order lines it was measured on."""

    days: float
    sd_days: float
    source: LeadSource
    lines: int = 0

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def sd_weeks(self) -> float:
        return self.sd_days / 7


@dataclass(frozen=True)
class SafetyStock:
    """The buffer and the reorder point, with every input that made them."""

    service_level: float
    z: float
    lead_weeks: float
    lead_sd_weeks: float
    mean_demand: float  # d-bar per week
    demand_sd: float  # sigma_d per week
    lead_time_demand: float  # mu = L*d-bar
    lead_time_sd: float  # sqrt v
    method: Method
    safety_stock: int
    reorder_point: int


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number, not below 0 (got {value!r})")
    return float(value)


def service_z(service_level: float) -> float:
    """The standard normal quantile of a service level (0.5 <= level < 1)."""
    if not 0.5 <= service_level < 1:
        raise ValueError(f"a service level is between 0.5 and 1 (got {service_level!r})")
    return NormalDist().inv_cdf(service_level)


def _poisson_quantile(mean: float, level: float) -> float | None:
    """The smallest k with P(X <= k) >= level for X ~ Poisson(mean); None if out of reach."""
    log_term = -mean  # log P(X = 0)
    total = 0.0
    for k in range(MAX_TERMS):
        total += math.exp(log_term)
        if total >= level:
            return float(k)
        log_term += math.log(mean) - math.log(k + 1)
    return None


def _negative_binomial_quantile(mean: float, variance: float, level: float) -> float | None:
    """The smallest k with P(X <= k) >= level for the negative binomial with this mean and
    variance (variance > mean); None if out of reach."""
    p = mean / variance  # the chance of "success" per trial
    r = mean * mean / (variance - mean)  # the number of successes (any positive real)
    log_term = r * math.log(p)  # log P(X = 0)
    log_fail = math.log1p(-p)
    total = 0.0
    for k in range(MAX_TERMS):
        total += math.exp(log_term)
        if total >= level:
            return float(k)
        log_term += math.log((k + r) / (k + 1)) + log_fail
    return None


def _gamma_quantile(mean: float, variance: float, z: float) -> float:
    """The gamma distribution's quantile for z (Wilson-Hilferty), by its mean and variance."""
    shape = mean * mean / variance
    scale = variance / mean
    c = 1 / (9 * shape)
    return shape * scale * max(0.0, 1 - c + z * math.sqrt(c)) ** 3


def lead_time_quantile(mean: float, variance: float, level: float) -> float:
    """The service-level quantile of lead-time demand as a count."""
    if mean <= 0:
        return 0.0
    if variance <= mean + EPSILON:
        found = _poisson_quantile(mean, level)
    else:
        found = _negative_binomial_quantile(mean, variance, level)
    if found is None:
        return _gamma_quantile(mean, max(variance, mean), service_z(level))
    return found


def _whole(value: float) -> int:
    """Whole units, rounded up (a float's last bit of noise is not a unit), never below 0."""
    return max(0, math.ceil(value - EPSILON))


def safety_stock(
    mean_demand: float,
    demand_sd: float,
    lead: LeadTime,
    service_level: float,
    demand_class: str,
) -> SafetyStock:
    """Safety stock and reorder point of a SKU from its weekly demand (mean and forecast
    error spread), its lead time and the service level of its class."""
    d = _finite("mean demand", mean_demand)
    sd = _finite("demand spread", demand_sd)
    weeks = _finite("lead time", lead.weeks)
    sd_weeks = _finite("lead time spread", lead.sd_weeks)
    z = service_z(service_level)
    mean = weeks * d
    variance = weeks * sd * sd + d * d * sd_weeks * sd_weeks
    if mean <= 0 and variance <= 0:
        method: Method = "none"
        buffer = 0.0
    elif demand_class in QUANTILE_CLASSES and mean > 0:
        method = "quantile"
        buffer = lead_time_quantile(mean, variance, service_level) - mean
    else:
        method = "normal"
        buffer = z * math.sqrt(variance)
    units = _whole(buffer)
    return SafetyStock(
        service_level=service_level,
        z=z,
        lead_weeks=weeks,
        lead_sd_weeks=sd_weeks,
        mean_demand=d,
        demand_sd=sd,
        lead_time_demand=mean,
        lead_time_sd=math.sqrt(variance),
        method=method,
        safety_stock=units,
        reorder_point=_whole(mean) + units,
    )


def lead_time_of(
    history: tuple[int, float, float] | None,
    stated_days: int | None,
    stated_source: LeadSource,
    min_lines: int,
) -> LeadTime:
    """A SKU's lead time: measured on its own received purchase-order lines (count, mean
    days, sample standard deviation of days) once there are `min_lines` of them, else the
    stated lead time with no spread."""
    if history is not None and history[0] >= min_lines:
        lines, mean, sd = history
        return LeadTime(max(0.0, mean), max(0.0, sd), "history", lines)
    lines = history[0] if history is not None else 0
    if stated_days is None:
        return LeadTime(float(ASSUMED_LEAD_DAYS), 0.0, "assumed", lines)
    return LeadTime(float(stated_days), 0.0, stated_source, lines)
