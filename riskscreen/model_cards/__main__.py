"""``python -m riskscreen.model_cards``: regenerate the reference model card and ATRS record."""

from __future__ import annotations

import argparse
import sys

EPILOG = """example:
  python -m riskscreen.model_cards --out model_cards
  python -m riskscreen.model_cards --out /tmp/card --n-pupils 3000 --n-bootstrap 50
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m riskscreen.model_cards",
        description=(
            "Fit the reference model on the default synthetic local authority and write its "
            "model card (Markdown with figures, HTML, JSON) and ATRS record (Markdown, JSON)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="model_cards", help="output folder (default: model_cards)")
    parser.add_argument("--n-pupils", type=int, default=20_000, help="pupils (default: 20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--model", choices=("lightgbm", "scorecard"), default="lightgbm", help="the model"
    )
    parser.add_argument(
        "--n-bootstrap", type=int, default=200, help="bootstrap resamples (default: 200)"
    )
    args = parser.parse_args(argv)
    from riskscreen.model_cards._reference import write_reference_card

    try:
        run = write_reference_card(
            args.out,
            n_pupils=args.n_pupils,
            seed=args.seed,
            model=args.model,
            n_bootstrap=args.n_bootstrap,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for kind, path in run.paths.items():
        print(f"{kind}: {path}")
    print(f"done in {run.timings['total']:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    sys.exit(main())
