"""Deprecated: publishing moved to `mate_hf.hub` (one module per job). This module re-exports every public name of
`mate_hf.hub` and warns (FutureWarning) when imported; it will be removed in a future release. Import from
`mate_hf.hub` instead:

    from mate_hf.hub import scan_staged_folder, stage, upload, verify_staged
"""

import warnings

from . import hub
from .hub import *  # noqa: F403  (the names that `from mate_hf.publishing import ...` found before the move)

__all__ = list(hub.__all__)

warnings.warn(
    "mate_hf.publishing moved to mate_hf.hub: import stage, verify_staged, upload, scan_staged_folder and the "
    "other names from mate_hf.hub; mate_hf.publishing will be removed in a future release",
    FutureWarning,
    stacklevel=2,
)
