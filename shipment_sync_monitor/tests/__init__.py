from . import test_workbench
from . import test_metrics
from . import test_alert_rules
from . import test_timeline
from . import test_dashboard
from . import test_tour
from . import test_workbench_outbox
