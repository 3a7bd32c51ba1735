from . import shipment_sync_milestone
from . import shipment_sync_partner
from . import shipment_sync_status_map
from . import shipment_sync_event
from . import stock_picking
from . import shipment_sync_partner_outbox
from . import shipment_sync_job
from . import shipment_sync_job_attempt
from . import shipment_sync_subscription
from . import stock_picking_outbox
from . import shipment_sync_governance
from . import shipment_sync_governance_company
from . import shipment_sync_partner_governance
from . import shipment_sync_governance_event
from . import shipment_sync_governance_outbox
from . import shipment_sync_governance_picking
# The governance wizards (shipment_sync/__init__.py imports models and controllers only).
from .. import wizard
