from . import shipment_sync_freight_import
from . import shipment_sync_cod_import
