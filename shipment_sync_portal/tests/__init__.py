from . import test_customer_notifications
from . import test_portal
