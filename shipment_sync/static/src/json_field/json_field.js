/** @odoo-module **/
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { AceField, aceField } from "@web/views/fields/ace/ace_field";
import { formatText } from "@web/views/fields/formatters";
import { useRecordObserver } from "@web/model/relational_model/utils";

/**
 * ``text`` indented two spaces per level when it is JSON, unchanged
 * otherwise (a body that is not JSON is shown as it came).
 */
export function prettyJson(text) {
    if (!text) {
        return text;
    }
    try {
        return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
        return text;
    }
}

/**
 * A JSON payload in Odoo's own code editor: indented, one key per line, and
 * highlighted with the editor's JavaScript mode (JSON is JavaScript's literal
 * syntax; Odoo ships no ``mode-json.js``, which the editor would otherwise
 * request and not find).
 */
export class ShipmentSyncJsonField extends AceField {
    setup() {
        super.setup();
        useRecordObserver((record) => {
            this.state.initialValue = prettyJson(formatText(record.data[this.props.name]));
        });
    }

    get mode() {
        return "javascript";
    }
}

export const shipmentSyncJsonField = {
    ...aceField,
    component: ShipmentSyncJsonField,
    displayName: _t("JSON"),
    supportedOptions: [],
    extractProps: () => ({}),
};

registry.category("fields").add("shipment_sync_json", shipmentSyncJsonField);
