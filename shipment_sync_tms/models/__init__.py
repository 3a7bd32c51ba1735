from . import (
    delivery_carrier,
    sale_order,
    shipment_sync_event,
    shipment_sync_job,
    shipment_sync_partner,
    stock_move,
    stock_picking,
    stock_picking_type,
)
