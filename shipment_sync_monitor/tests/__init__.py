from . import test_workbench
