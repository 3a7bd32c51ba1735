"""Amazon Selling Partner API (Orders API v0): shipment confirmation of a sales-channel
order (``confirmShipment``). See README.md for the published documents each field comes
from."""
