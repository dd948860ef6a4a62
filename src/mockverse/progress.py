"""Progress of long work (importing a large HAR, scoring a large traffic log): a bar redrawn in place
on a terminal, plain lines every ``step`` percent otherwise, or log records inside a server."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class Progress:
    """Call ``update(done, total)`` as work advances; ``close()`` ends the bar's line."""

    def __init__(self, label: str, unit: str = "items", *, stream: TextIO | None = None,
                 logger: logging.Logger | None = None, step: int = 10, width: int = 30) -> None:
        self.label, self.unit, self.step, self.width = label, unit, step, width
        self.logger = logger
        self.stream = stream if stream is not None else sys.stderr
        self.bar = logger is None and self.stream.isatty()
        self.shown = -1  # the last percent drawn (bar) or the last step reported (lines)

    def update(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = min(100, done * 100 // total)
        if self.bar:
            if percent != self.shown or done == total:
                filled = self.width * percent // 100
                self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% "
                                  f"{done}/{total} {self.unit}")
                self.stream.flush()
                self.shown = percent
            return
        reached = percent // self.step * self.step
        if reached > self.shown and (reached > 0 or done == total):
            self.shown = reached
            line = f"{self.label}: {reached}% ({done}/{total} {self.unit})"
            if self.logger is not None:
                self.logger.info(line, extra={"done": done, "total": total})
            else:
                print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
