"""``python -m monitor.demo.sampleweb [--port N] [--seed S]``: serve the sample web until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from monitor.demo.sampleweb.server import SampleWeb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.demo.sampleweb", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--seed", type=int, default=0, help="shift all timestamps")
    args = parser.parse_args(argv)
    web = SampleWeb(args.host, args.port, seed=args.seed)
    base = web.start()
    print(base, flush=True)
    for name, (kind, path) in web.feeds().items():
        print(f"  {name:<28} {kind:<10} {base}{path}", flush=True)
    print("Serving; press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
