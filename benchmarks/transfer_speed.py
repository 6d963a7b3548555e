"""Upload and download throughput of `orgorepl.transfer` against the local emulator, per chunk size.

Each round uploads and downloads the same random file once per chunk size, in turn, so drift in
machine load hits every size alike; the figure is the median.  As a reference it also times one
`shutil.copyfile` of the file on this machine (what the emulator's disk and page cache allow) and
one exec that does nothing (the fixed cost every chunk pays).

    python benchmarks/transfer_speed.py [--mib 50] [--rounds 3] [--chunks 1,2,4,8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from orgorepl import transfer
from orgorepl.client import OrgoClient
from orgorepl.emulator import EmbeddedEmulator

MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=50, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunks", default="1,2,4,8", help="chunk sizes in MiB, comma-separated")
    args = parser.parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "payload.bin"
        src.write_bytes(os.urandom(args.mib * MIB))
        with EmbeddedEmulator(data_dir=tmp_path / "emulator", computers=1) as emu, \
                OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
            cid = emu.computers[0].id
            client.exec(cid, "pass")  # warm the interpreter host
            noop = []
            for _ in range(20):
                start = time.perf_counter()
                client.exec(cid, "pass")
                noop.append(time.perf_counter() - start)
            start = time.perf_counter()
            shutil.copyfile(src, tmp_path / "copy.bin")
            copy = time.perf_counter() - start
            up: dict[int, list[float]] = {c: [] for c in chunks}
            down: dict[int, list[float]] = {c: [] for c in chunks}
            for _ in range(args.rounds):
                for c in chunks:
                    r = transfer.put(client, cid, src, "payload.bin", chunk_size=c * MIB, resume=False)
                    up[c].append(r.seconds)
                    r2 = transfer.get(client, cid, "payload.bin", tmp_path / "back.bin",
                                      chunk_size=c * MIB, resume=False)
                    down[c].append(r2.seconds)
                    if r2.sha256 != r.sha256:
                        raise SystemExit("checksums differ: the benchmark measured a broken transfer")
    print(f"file {args.mib} MiB, {args.rounds} rounds, medians")
    print(f"  no-op exec            {statistics.median(noop) * 1000:7.1f} ms per call")
    print(f"  local copyfile        {args.mib / copy:7.1f} MiB/s")
    for c in chunks:
        mu, md = statistics.median(up[c]), statistics.median(down[c])
        calls = -(-args.mib // c)
        print(f"  chunk {c:2d} MiB  upload {args.mib / mu:7.1f} MiB/s   download {args.mib / md:7.1f} MiB/s"
              f"   ({calls} chunks, {mu / calls * 1000:5.1f} / {md / calls * 1000:5.1f} ms per chunk)")


if __name__ == "__main__":
    main()
