from . import test_aftership
from . import test_async
from . import test_booking
from . import test_configured_carriers
from . import test_freight
from . import test_returns_polling
from . import test_webhook_journey
from . import test_easypost_fidelity
