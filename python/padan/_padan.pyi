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

# padan.spark (python/src/spark.rs): the stages of a distributed link run on Arrow data. Arrow
# arguments are objects with ``__arrow_c_stream__`` (a ``pyarrow.Table``); results are
# ``ArrowOut`` (read with ``pyarrow.table(out)``, once).

class ArrowOut:
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...

class SparkFit:
    @staticmethod
    def from_json(text: str) -> "SparkFit": ...
    def to_json(self) -> str: ...
    @property
    def match_weight(self) -> float: ...
    def score(self, data: Any) -> ArrowOut: ...

class SparkPlan:
    @staticmethod
    def create(inputs: List[str], config: Optional[str] = None) -> "SparkPlan": ...
    @staticmethod
    def from_json(text: str) -> "SparkPlan": ...
    def to_json(self) -> str: ...
    def inputs(self) -> List[tuple[str, int]]: ...
    def columns(self) -> List[str]: ...
    def records(self) -> int: ...
    def has_slots(self) -> bool: ...
    def within_agency(self) -> bool: ...
    def agency_offsets(self) -> List[int]: ...
    def random_pairs(self) -> tuple[List[int], List[int]]: ...
    def block_keys(self, data: Any) -> ArrowOut: ...
    def caps(self, hist: Any) -> tuple[List[int], str]: ...
    def compare_blocks(self, data: Any, owned: bool) -> ArrowOut: ...
    def compare_fields(self, data: Any) -> ArrowOut: ...
    def carried_counts(self, data: Any) -> ArrowOut: ...
    def record_hashes(self, data: Any) -> ArrowOut: ...
    def fit(self, candidates: Any, random: Any, carried: Any, stats: str) -> SparkFit: ...
    def resolve(self, fit: SparkFit, data: Any) -> ArrowOut: ...
    def write(
        self,
        out: str,
        fit: SparkFit,
        stats: str,
        scored: Any,
        fields: Any,
        roots: Any,
        records: Any,
        timings: str,
    ) -> str: ...
