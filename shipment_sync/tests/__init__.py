from . import test_webhook
from . import test_apply
from . import test_outbox_enqueue
from . import test_outbox_delivery
from . import test_outbox_subscription
from . import test_outbox_processes
from . import test_governance
from . import test_governance_http
