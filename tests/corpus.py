"""Where the shared test corpus lives: `../shared/corpus` beside the repository."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FINEWS = SHARED / "finews" / "_posts"
FINANCE = SHARED / "finance" / "_posts"
REFERENCE_POST = FINEWS / "2022-06-07-202206072404046437.md"
