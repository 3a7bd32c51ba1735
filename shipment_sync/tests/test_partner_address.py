"""The one ``res.partner`` -> ``shipsync.address.Address`` conversion, pinned by literal
payloads for each of its callers (carrier bookings, TMS plans, WMS releases)."""

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestPartnerAddress(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        be = cls.env.ref("base.be")
        cls.company = cls.env["res.partner"].create({
            "name": "Brasserie Nord", "is_company": True, "street": "Rue Haute 1",
            "city": "Bruxelles", "zip": "1000", "country_id": be.id})
        cls.contact = cls.env["res.partner"].create({
            "name": "Lea Martin", "parent_id": cls.company.id, "type": "delivery",
            "street": "Rue Haute 1", "street2": "Bte 4", "city": "Bruxelles", "zip": "1000",
            "country_id": be.id, "phone": "+32 2 000 00 00", "email": "lea@example.com"})
        cls.nameless = cls.env["res.partner"].create({
            "parent_id": cls.company.id, "type": "delivery", "street": "Quai 9",
            "city": "Liège", "zip": "4000", "country_id": be.id})

    def test_carrier_booking_payload(self):
        """Carrier bookings (``delivery.carrier._shipsync_address``): own name + company."""
        got = self.contact._shipsync_address(name="name", company=True)
        self.assertEqual(got.to_dict(), {
            "name": "Lea Martin", "company": "Brasserie Nord", "street": "Rue Haute 1",
            "street2": "Bte 4", "city": "Bruxelles", "zip": "1000", "state_code": "",
            "country_code": "BE", "phone": "+32 2 000 00 00", "email": "lea@example.com"})
        self.assertEqual(self.nameless._shipsync_address().name, "")

    def test_tms_plan_payload(self):
        """TMS plans: the name, else the display name; with the company."""
        got = self.nameless._shipsync_address(name="name_or_display_name", company=True)
        self.assertEqual(got.to_dict(), {
            "name": self.nameless.display_name, "company": "Brasserie Nord",
            "street": "Quai 9", "street2": "", "city": "Liège", "zip": "4000",
            "state_code": "", "country_code": "BE", "phone": "", "email": ""})
        self.assertTrue(got.name.startswith("Brasserie Nord"))
        self.assertEqual(
            self.contact._shipsync_address(name="name_or_display_name").name, "Lea Martin")

    def test_wms_release_payload(self):
        """WMS releases: "Company, Contact" as the name and no company field."""
        got = self.contact._shipsync_address(name="display_name", company=False)
        self.assertEqual(got.to_dict(), {
            "name": "Brasserie Nord, Lea Martin", "company": "", "street": "Rue Haute 1",
            "street2": "Bte 4", "city": "Bruxelles", "zip": "1000", "state_code": "",
            "country_code": "BE", "phone": "+32 2 000 00 00", "email": "lea@example.com"})

    def test_no_partner_and_bad_mode(self):
        empty = self.env["res.partner"]._shipsync_address(name="display_name")
        self.assertEqual(set(empty.to_dict().values()), {""})
        with self.assertRaises(ValueError):
            self.contact._shipsync_address(name="nickname")
