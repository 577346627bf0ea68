"""The quantiles the service forecasts.

Every model predicts all of SUPPORTED_QUANTILES; a request may ask for any subset that
contains the median. DEFAULT_QUANTILES is what a forecast carries when the request
names none: the median and the 90 % interval (docs/api.md).
"""

SUPPORTED_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
