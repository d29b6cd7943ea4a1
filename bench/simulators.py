"""Serve the six simulated agencies for the benchmarks in a process of their own.

Prints the agencies' base URLs as one JSON line on standard output once they listen, then
serves until terminated. Everyone is on record, so every request reads the same data.

    python -m bench.simulators 20     # 20 ms simulated latency on every agency call
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from integrations.simulators import Faults, SimulatorOptions, run_simulators


async def serve(latency_ms: float) -> None:
    options = SimulatorOptions(faults=Faults(latency_ms=latency_ms), unregistered_rate=0.0)
    async with run_simulators(options=options) as sims:
        sys.stdout.buffer.write(orjson.dumps(sims.urls) + b"\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
