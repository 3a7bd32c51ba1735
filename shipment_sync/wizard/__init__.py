from . import shipment_sync_secret_rotate
from . import shipment_sync_reveal
from . import shipment_sync_audit_export
from . import shipment_sync_shadow_report
