from . import shipment_sync_audit_log
from . import shipment_sync_audit_mixin
from . import shipment_sync_cached_mixin
from . import shipment_sync_milestone
from . import shipment_sync_partner_outbox
from . import shipment_sync_partner_silence
from . import shipment_sync_partner
from . import shipment_sync_status_map
from . import shipment_sync_event_retention
from . import shipment_sync_event
from . import shipment_sync_payload_vault
from . import shipment_sync_picking_pod
from . import stock_picking
from . import shipment_sync_job  # defines the worker mixin first
from . import shipment_sync_job_attempt
from . import shipment_sync_event_type
from . import shipment_sync_subscription
from . import res_company
