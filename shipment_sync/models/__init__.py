from . import shipment_sync_milestone
from . import shipment_sync_partner
from . import shipment_sync_status_map
from . import shipment_sync_event
from . import stock_picking
