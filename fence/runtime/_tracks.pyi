from collections.abc import Callable, Sequence

from gnss.fix import Fix

def track_lines(fixes: Sequence[Fix], rx_ms: int, fallback: Callable[[Fix, int], bytes]) -> bytes: ...
