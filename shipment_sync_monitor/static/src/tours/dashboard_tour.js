/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("shipment_sync_monitor_dashboard_tour", {
    steps: () => [
        {
            content: "The dashboard shows its tiles, when it was computed, and trends",
            trigger: ".o_ssm_dashboard .o_ssm_tile[data-tile='exception_backlog'] .o_ssm_value",
        },
        {
            content: "It says when it was refreshed",
            trigger: ".o_ssm_dashboard .o_ssm_refreshed:contains('Last refreshed')",
        },
        {
            content: "KPIs over time are drawn with Odoo's Chart.js",
            trigger: ".o_ssm_tile[data-tile='events_per_hour'] .o_ssm_trend canvas",
        },
        {
            content: "Narrow the period",
            trigger: ".o_ssm_dashboard select.o_ssm_period",
            run: "select 24h",
        },
        {
            content: "The backlog names its reasons in words",
            trigger: ".o_ssm_tile[data-tile='exception_backlog'] .o_ssm_line:contains('Label Failed')",
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
        {
            content: "Back to the dashboard by the breadcrumb",
            trigger: ".o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "The period chosen is still there",
            trigger: ".o_ssm_dashboard[data-period='24h'] .o_ssm_tile[data-tile='exception_backlog'] .o_ssm_value",
        },
        {
            content: "A number of a tile opens its own list",
            trigger: ".o_ssm_tile[data-tile='exception_backlog'] .o_ssm_line a:contains('Label Failed')",
            run: "click",
        },
        {
            content: "The list of that reason",
            trigger: ".o_action_manager .o_breadcrumb:contains('Label Failed')",
        },
    ],
});
