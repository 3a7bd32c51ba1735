from . import customer_text
from . import shipment_sync_notification
from . import shipment_sync_notification_template
from . import stock_picking
from . import res_partner
from . import res_company
from . import res_config_settings
