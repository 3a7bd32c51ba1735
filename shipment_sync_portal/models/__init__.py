from . import customer_text
from . import shipment_sync_notification
from . import shipment_sync_notification_template
from . import stock_picking_notification
from . import res_partner
from . import res_company_notification
from . import res_config_settings
from . import stock_picking_portal
