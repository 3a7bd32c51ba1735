from . import test_tms_flow
