from . import shipment_sync_freight_import
