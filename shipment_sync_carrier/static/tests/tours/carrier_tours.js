/** @odoo-module **/
import { registry } from "@web/core/registry";

/**
 * Every resource the page asked for answered: none is missing (404) or
 * failed. Waits for the scripts still loading (the code editor asks for its
 * modes lazily), then reads the browser's own resource timing.
 */
async function assertNoMissingAsset() {
    const pending = [...document.querySelectorAll("script[src]")].filter(
        (script) => !performance.getEntriesByName(script.src).length
    );
    await Promise.all(
        pending.map(
            (script) =>
                new Promise((resolve) => {
                    script.addEventListener("load", resolve);
                    script.addEventListener("error", resolve);
                    if (performance.getEntriesByName(script.src).length) {
                        resolve();
                    }
                })
        )
    );
    const failed = performance
        .getEntriesByType("resource")
        .filter((entry) => entry.responseStatus >= 400);
    if (failed.length) {
        const names = failed.map((entry) => `${entry.name} (${entry.responseStatus})`);
        throw new Error(`assets not found: ${names.join(", ")}`);
    }
}

registry.category("web_tour.tours").add("shipment_sync_carrier_validate_label_tour", {
    steps: () => [
        {
            content: "A delivery ready to ship: validate it",
            trigger: ".o_form_view .o_form_statusbar button[name='button_validate']",
            run: "click",
        },
        {
            content: "It is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value='done']",
        },
        {
            content: "The carrier's label is attached to the transfer",
            trigger: ".o-mail-Chatter .o-mail-AttachmentCard:contains('LabelShipping-shipsync-EZ')",
        },
        {
            content: "with its tracking number in the chatter",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Label issued by'):contains('EZ')",
        },
        {
            content: "Open the Carrier tab",
            trigger: ".o_notebook_headers a.nav-link[name='shipsync_carrier']",
            run: "click",
        },
        {
            content: "The parcel has its tracking number and its label",
            trigger: "div[name='shipsync_parcel_ids'] .o_data_row:contains('EZ'):contains('LabelShipping-shipsync-EZ')",
        },
        {
            content: "Open the Shipment tab",
            trigger: ".o_notebook_headers a.nav-link[name='shipment_sync']",
            run: "click",
        },
        {
            content: "The milestone is handed over to the carrier",
            trigger: "div[name='shipment_milestone']:contains('Handed Over')",
        },
        {
            content: "The Additional Info tab",
            trigger: ".o_notebook_headers a.nav-link[name='extra']",
            run: "click",
        },
        {
            content: "shows the sandbox carrier",
            trigger: "div[name='carrier_id']:contains('Sandbox easypost')",
        },
        {
            content: "and the same tracking reference as the parcel",
            trigger: "div[name='carrier_tracking_ref'] input",
            run() {
                const ref = document.querySelector("div[name='carrier_tracking_ref'] input").value;
                const parcels = document.querySelector("div[name='shipsync_parcel_ids']");
                if (!/^EZ\w+$/.test(ref)) {
                    throw new Error(`tracking reference "${ref}"`);
                }
                if (parcels && !parcels.textContent.includes(ref)) {
                    throw new Error(`no parcel has the tracking reference ${ref}`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("shipment_sync_carrier_rest_config_tour", {
    steps: () => [
        {
            content: "Keep every resource timing (the browser keeps 250 by default)",
            trigger: ".o_form_view .o_notebook_headers a.nav-link[name='shipsync']",
            run() {
                performance.setResourceTimingBufferSize(100000);
            },
        },
        {
            content: "Open the Shipment Sync tab of the REST carrier",
            trigger: ".o_form_view .o_notebook_headers a.nav-link[name='shipsync']",
            run: "click",
        },
        {
            content: "The REST mapping is shown in the payload viewer, indented and highlighted",
            trigger: "div[name='shipsync_rest_config'].o_field_shipment_sync_json .ace_line:contains('\"create_url\": \"/api/v2/parcels\"')",
            run() {
                const field = document.querySelector("div[name='shipsync_rest_config']");
                const lines = field.querySelectorAll(".ace_line").length;
                if (lines < 5) {
                    throw new Error(`the configuration takes ${lines} line(s)`);
                }
                if (!field.querySelector(".ace_string")) {
                    throw new Error("the configuration is not highlighted");
                }
            },
        },
        {
            content: "No asset of the carrier form is missing",
            trigger: "div[name='shipsync_rest_config'] .ace_editor",
            run: assertNoMissingAsset,
        },
    ],
});
