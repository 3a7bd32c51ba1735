"""Customer-facing wording (translatable) for milestones and exception
categories. What is customer-visible is decided by ``shipsync.customer``; the
words are here so Odoo's translation tools pick them up."""

import pytz

from odoo.tools import LazyTranslate, format_date, format_time

from shipsync import customer

_lt = LazyTranslate(__name__)

MILESTONE_TEXT = {
    "released": _lt("Order received by the warehouse"),
    "picked": _lt("Being prepared"),
    "packed": _lt("Packed"),
    "label_created": _lt("Ready to ship"),
    "handed_over": _lt("Shipped"),
    "picked_up": _lt("Picked up by the carrier"),
    "in_transit": _lt("On its way"),
    "out_for_delivery": _lt("Out for delivery"),
    "available_for_pickup": _lt("Ready for pickup"),
    "delivery_attempted": _lt("Delivery attempted"),
    "delivered": _lt("Delivered"),
    "returning": _lt("On its way back to us"),
    "returned": _lt("Returned to us"),
    "delivery_failed": _lt("Could not be delivered"),
    "cancelled": _lt("Cancelled"),
}

CATEGORY_TEXT = {
    "address": _lt("The carrier needs more details about the delivery address. "
                   "We will contact you to confirm it."),
    "recipient": _lt("Nobody was available to receive the parcel. "
                     "The carrier will try again or leave a notice."),
    "refused": _lt("The parcel was refused at delivery."),
    "customs": _lt("The parcel is being processed by customs. "
                   "We are providing the documents needed."),
    "payment": _lt("A payment is due before the parcel can be delivered. "
                   "Please follow the carrier's instructions."),
    "damaged": _lt("The parcel was damaged in transit. We are taking care of it."),
    "lost": _lt("The carrier cannot locate the parcel. We are taking care of it."),
    "delay": _lt("The parcel is delayed. We are keeping an eye on it."),
    "contact_carrier": _lt("The carrier is holding the parcel. "
                           "Please contact them with your tracking number."),
    "not_collected": _lt("The parcel was not collected from the pickup point in time."),
}
assert set(CATEGORY_TEXT) == set(customer.CUSTOMER_CATEGORIES), "a category without wording"


def _text(lazy, env):
    # env._ translates into env.lang (the customer's when rendering a mail);
    # str() would guess the language from the calling frames.
    return env._(lazy) if env is not None else str(lazy)


def milestone_text(code, env=None):
    """Customer wording of a milestone ('' for draft or unknown), in the
    language of ``env`` when given."""
    text = MILESTONE_TEXT.get(code or "")
    return _text(text, env) if text else ""


def category_text(category, env=None):
    """Customer wording of an exception category ('' for none), in the
    language of ``env`` when given."""
    text = CATEGORY_TEXT.get(category or "")
    return _text(text, env) if text else ""


def exception_text(reason, env=None):
    """Customer wording of an exception reason, or '' when the reason is
    internal and must not reach the customer; in the language of ``env`` when
    given."""
    return category_text(customer.exception_category(reason), env)


def customer_when(env, value, tz, with_time=True):
    """A ledger time (naive UTC) as the customer reads it: the date and, with
    ``with_time``, hour:minute, in time zone ``tz`` and ``env``'s language."""
    if not value:
        return ""
    try:
        zone = pytz.timezone(tz or "UTC")
    except pytz.UnknownTimeZoneError:
        zone = pytz.utc
    day = format_date(env, pytz.utc.localize(value).astimezone(zone).date())
    if not with_time:
        return day
    return f"{day} {format_time(env, value, tz=zone.zone, time_format='short')}"
