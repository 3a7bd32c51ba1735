from . import shipment_sync_exception_wizard
