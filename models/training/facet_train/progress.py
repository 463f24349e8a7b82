"""Progress inside an epoch: photos/s and time left, printed every few seconds (epochs of several
minutes on a 2-core machine must not look like a hang)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """One line every `every` seconds: where the epoch is, photos/s, loss, time left in the epoch and the run."""

    def __init__(self, label: str, photos: int, later_photos: int, every: float = 10.0, out: TextIO = sys.stdout, clock=time.perf_counter):
        self.label = label
        self.photos = photos  # this epoch's photos
        self.later_photos = later_photos  # photos of the epochs still to come after this one
        self.every = every
        self.out = out
        self.clock = clock
        self.started = self.last = clock()
        self.done = 0
        self.loss_sum = 0.0
        self.steps = 0

    def step(self, photos: int, loss: float) -> None:
        self.done += photos
        self.loss_sum += loss
        self.steps += 1
        now = self.clock()
        if now - self.last >= self.every and self.done < self.photos:
            self.last = now
            self.out.write(self.line(now) + "\n")
            self.out.flush()

    def rate(self, now: float | None = None) -> float:
        elapsed = (now if now is not None else self.clock()) - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        rate = self.rate(now)
        left = (self.photos - self.done) / rate if rate else 0.0
        run_left = left + self.later_photos / rate if rate else 0.0
        return (
            f"  {self.label}: {self.done}/{self.photos} photos · {rate:.1f} photos/s · loss {self.loss_sum / max(1, self.steps):.4f}"
            f" · epoch ETA {format_duration(left)} · run ETA {format_duration(run_left)}"
        )
