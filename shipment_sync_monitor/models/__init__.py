from . import shipment_sync_exception
from . import stock_picking
