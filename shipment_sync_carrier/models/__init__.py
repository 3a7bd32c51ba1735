from . import delivery_carrier_poll
from . import delivery_carrier
from . import shipment_sync_freight_line
from . import shipment_sync_label
from . import shipment_sync_job
from . import shipment_sync_parcel
from . import shipment_sync_partner
from . import stock_picking
