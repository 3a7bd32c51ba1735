from . import (
    test_confirmations,
    test_files,
    test_reconciliation,
    test_release,
    test_returns,
    test_x12,
)
