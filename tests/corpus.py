"""Where the shared test corpus lives: `../shared/corpus` beside the repository, or
`$SEARCHKIT_SHARED/corpus` when that variable is set (`.ci/run` points it at an empty folder
to check that the suite passes, with the corpus tests skipped, on a clone without it).

Nothing here reads the corpus: test modules are collected whether or not it exists, and the
tests that need it are marked `needs_corpus` (skipped, with the reason, when it is absent).
"""

import os
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEARCHKIT_SHARED") or _REPOSITORY.parent / "shared") / "corpus"
FINEWS = SHARED / "finews" / "_posts"
FINANCE = SHARED / "finance" / "_posts"
REFERENCE_POST = FINEWS / "2022-06-07-202206072404046437.md"
TERMS = SHARED / "finance_terms_public.txt"


def public_terms() -> list[str]:
    """The shared finance terms for exact-recall checks (call it from a test, not at
    collection, unless `TERMS` exists)."""
    lines = TERMS.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
