from . import (
    shipment_sync_event,
    shipment_sync_job,
    shipment_sync_partner,
    shipment_sync_wms_confirmation,
    shipment_sync_wms_file,
    shipment_sync_wms_reconciliation,
    shipment_sync_wms_reconciliation_line,
    stock_move,
    stock_picking,
    stock_picking_type,
    stock_quant_package,
    stock_warehouse,
)
