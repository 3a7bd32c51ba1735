/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("shipment_sync_json_payload_tour", {
    steps: () => [
        {
            content: "The payload is shown in the code editor",
            trigger: "div[name='raw_body'].o_field_shipment_sync_json .ace_editor .ace_line",
        },
        {
            content: "indented, one key per line, highlighted, without asking for a mode-json.js",
            trigger: "div[name='raw_body'] .ace_editor .ace_line:contains('\"milestone\": \"in_transit\"')",
            run() {
                const field = document.querySelector("div[name='raw_body']");
                const lines = field.querySelectorAll(".ace_line").length;
                if (lines < 5) {
                    throw new Error(`the payload takes ${lines} line(s)`);
                }
                if (!field.querySelector(".ace_string")) {
                    throw new Error("the payload is not highlighted");
                }
                if (document.querySelector("script[src*='mode-json']")) {
                    throw new Error("the editor asked for mode-json.js");
                }
            },
        },
    ],
});
