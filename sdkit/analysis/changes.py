"""Changes against a base time: the relative change, observed or back-cast."""

from __future__ import annotations

from sdkit.errors import InvalidValueError

__all__ = ["change_vs"]


def change_vs(da, *, base: float, backcast_from: float | None = None, decline: float = 0.0,
              time_dim: str = "time"):
    """Relative change ``da(t) / da(base) - 1`` (-0.4 = 40 % below the base).

    When `base` lies before the run, give `backcast_from` (a time in the run)
    and the yearly `decline` assumed between the two:
    ``da(base) = da(backcast_from) / (1 - decline) ** (backcast_from - base)``.

    Raises
    ------
    InvalidValueError
        `decline` outside [0, 1), or a base time not in `da`.
    """
    if not 0 <= decline < 1:
        raise InvalidValueError(f"'decline' must be in [0, 1): {decline}")
    anchor = base if backcast_from is None else backcast_from
    times = da[time_dim].to_numpy()
    if not (times == anchor).any():
        raise InvalidValueError(f"change_vs: time {anchor:g} is not among the saved times")
    ref = da.sel({time_dim: anchor}).drop_vars(time_dim)
    if backcast_from is not None:
        ref = ref / (1 - decline) ** (backcast_from - base)
    return da / ref - 1
