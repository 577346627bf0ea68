"""A local HTTP server answering in Open-Meteo's forecast API format (built by the tests:
nothing reaches the internet), with the failures a real provider has: 500s, timeouts,
malformed JSON, missing hours. Listens on 127.0.0.1, ports 8310-8399."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pandas as pd

PORTS = range(8310, 8400)


class OpenMeteoServer:
    """``mode``: "ok", "500", "malformed", "missing_hours", "slow" (sleeps past the
    client's timeout). ``temperatures``: a UTC-indexed series served as temperature_2m
    for the hours of the answer (the first hour: ``first_hour``)."""

    def __init__(self, temperatures: pd.Series, first_hour: pd.Timestamp, hours: int = 48):
        self.mode = "ok"
        self.requests: list[dict] = []
        self.temperatures = temperatures
        self.first_hour = first_hour
        self.hours = hours
        self.slow_seconds = 1.5
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                server.requests.append(query)
                status, body = server.answer(query)
                if server.mode == "slow":
                    time.sleep(server.slow_seconds)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout)
                    pass

        for port in PORTS:
            try:
                self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port in 8310-8399")
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/forecast"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, query: dict) -> tuple[int, bytes]:
        if self.mode == "500":
            return 500, b'{"error": true, "reason": "Internal Server Error"}'
        if self.mode == "malformed":
            return 200, b'{"latitude": -37.8, "hourly": {"time": ["2014-12-'
        times = pd.date_range(self.first_hour, periods=self.hours, freq="h")
        temps = [float(v) for v in self.temperatures.reindex(times).round(1)]
        if self.mode == "missing_hours":
            # one hour null (interpolated), hours 20-27 absent from the answer (a gap)
            temps[5] = None
            keep = [i for i in range(len(times)) if not 20 <= i < 28]
            times, temps = times[keep], [temps[i] for i in keep]
        hourly = {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in times],
            "temperature_2m": temps,
            "relative_humidity_2m": [60] * len(times),
            "wind_speed_10m": [3.5] * len(times),
            "shortwave_radiation": [0.0] * len(times),
        }
        body = {
            "latitude": float(query.get("latitude", 0)),
            "longitude": float(query.get("longitude", 0)),
            "generationtime_ms": 0.4,
            "utc_offset_seconds": 0,
            "timezone": "GMT",
            "timezone_abbreviation": "GMT",
            "elevation": 31.0,
            "hourly_units": {"time": "iso8601", "temperature_2m": "°C"},
            "hourly": hourly,
        }
        return 200, json.dumps(body).encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
