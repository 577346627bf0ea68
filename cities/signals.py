"""Signals of the cities app: the layers above react to new data without this app
knowing them (cities never imports training or forecasts)."""

from django.dispatch import Signal

# Sent once the transaction that stored observations of a city has committed
# (cities/services.py: observations_upsert), with ``city_id``. forecasts/apps.py
# connects the live accuracy and calibration refresh (forecasts/live_accuracy.py).
observations_stored = Signal()
