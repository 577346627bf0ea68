"""The shipped real data set (see PROVENANCE.md)."""

from pathlib import Path

import pandas as pd

SAMPLE_CSV = Path(__file__).with_name("elecdemand_vic_2014.csv.gz")


def sample_frame() -> pd.DataFrame:
    """Victoria 2014: UTC-indexed frame with demand_mw and temperature_c."""
    frame = pd.read_csv(SAMPLE_CSV)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.set_index("timestamp").astype("float64")
