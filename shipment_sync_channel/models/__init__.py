from . import (
    delivery_carrier,
    sale_order,
    sale_order_line,
    shipment_sync_job,
    shipment_sync_partner,
    stock_picking,
)
