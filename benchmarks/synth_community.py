"""Synthetic community generation: 1,000,000 source records written in under 60 seconds (2 cores).

Writes ``records.csv``, ``truth.csv`` and ``persons.csv`` of the fictional displaced community
(``homeward.synth.community``) into a temporary folder, timing the whole call, and reports the peak
resident memory of the process, which must not grow with the number of records.

Prints one JSON line. Usage: uv run python benchmarks/synth_community.py [--records N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from homeward.synth.community import write_community

    out = Path(tempfile.mkdtemp(prefix="homeward-community-"))
    try:
        started = time.perf_counter()
        paths = write_community(out, records=args.records, seed=args.seed)
        seconds = time.perf_counter() - started
        with paths["records"].open("rb") as fh:
            written = sum(1 for _ in fh) - 1
    finally:
        shutil.rmtree(out, ignore_errors=True)
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    print(
        json.dumps(
            {
                "benchmark": "synth_community",
                "records": written,
                "seconds": round(seconds, 2),
                "records_per_second": round(written / seconds),
                "peak_rss_mb": round(peak, 1),
                "target_seconds": TARGET_SECONDS,
                "meets_target": seconds < TARGET_SECONDS and written == args.records,
            }
        )
    )


if __name__ == "__main__":
    main()
