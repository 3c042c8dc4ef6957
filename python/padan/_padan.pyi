"""Type stubs of the native module (python/src/lib.rs). Use the functions of ``padan`` itself:
these take file paths as strings and return JSON text."""

from typing import Any, List, Optional, Tuple

__version__: str

def encode(
    data: Any,
    *,
    key: str,
    rejects: str,
    name: str,
    out: Optional[str] = None,
    schema: Optional[str] = None,
    columns: Optional[str] = None,
    id_column: Optional[str] = None,
    column: List[str] = ...,
    date_order: Optional[str] = None,
    agency: Optional[str] = None,
    pseudonymize_ids: bool = False,
    lookup: Optional[str] = None,
    decoys: Optional[float] = None,
    max_reject_rate: float = 0.5,
    threads: Optional[int] = None,
    batch_rows: int = 16384,
    encoding: Optional[str] = None,
    delimiter: Optional[str] = None,
    skip_rows: int = 0,
    sheet: Optional[str] = None,
    force: bool = False,
) -> Tuple[str, Any]:
    """The summary (JSON text) and the encoded rows: a PyCapsule ``arrow_array_stream`` (an
    Arrow C stream of the encoder's record batches, with the encoded file's schema metadata)."""
    ...
def link(
    inputs: List[str],
    *,
    out: str,
    config: Optional[str] = None,
    write_candidates: bool = False,
    decisions: List[str] = ...,
    previous: Optional[str] = None,
    refit: bool = False,
    threads: Optional[int] = None,
    force: bool = False,
) -> str: ...
def evaluate(
    dir: str,
    *,
    truth: Optional[str] = None,
    decisions: List[str] = ...,
    lookup: List[str] = ...,
) -> str: ...
def report(
    dir: str,
    *,
    out: str,
    truth: Optional[str] = None,
    lookup: List[str] = ...,
    decisions: List[str] = ...,
    force: bool = False,
) -> List[str]: ...
def default_link_config() -> str: ...
