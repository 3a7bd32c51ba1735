from . import shipment_sync_exception
from . import stock_picking
from . import shipment_sync_alert_rule
from . import shipment_sync_alert
from . import shipment_sync_metrics
from . import res_config_settings
from . import shipment_sync_timeline
from . import shipment_sync_dashboard
