/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("shipment_sync_monitor_dashboard_tour", {
    steps: () => [
        {
            content: "The dashboard shows its tiles",
            trigger: ".o_ssm_dashboard .o_ssm_tile[data-tile='exception_backlog'] .o_ssm_value",
        },
        {
            content: "Narrow the period",
            trigger: ".o_ssm_dashboard select.o_ssm_period",
            run: "select 24h",
        },
        {
            content: "Click through the exception backlog",
            trigger: ".o_ssm_dashboard .o_ssm_tile[data-tile='exception_backlog']",
            run: "click",
        },
        {
            content: "The filtered list of open exceptions opens",
            trigger: ".o_list_view .o_group_name:contains('Label Failed')",
        },
    ],
});
