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
            content: "Its URL is a link to that list (a drill-down link)",
            trigger: ".o_list_view",
            run() {
                if (!/\/\d+\/shipment-sync-list/.test(window.location.pathname)) {
                    throw new Error(`no drill-down link in ${window.location.href}`);
                }
            },
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
            content: "and in the URL",
            trigger: ".o_ssm_dashboard[data-period='24h']",
            run() {
                if (!window.location.search.includes("period=24h")) {
                    throw new Error(`no period in ${window.location.href}`);
                }
            },
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

registry.category("web_tour.tours").add("shipment_sync_monitor_dashboard_url_tour", {
    steps: () => [
        {
            content: "The filters of the URL are the dashboard's",
            trigger: ".o_ssm_dashboard[data-period='24h'] .o_ssm_tile[data-tile='webhook_delay']",
        },
        {
            content: "and the select shows them",
            trigger: ".o_ssm_dashboard select.o_ssm_period",
            run() {
                const value = document.querySelector("select.o_ssm_period").value;
                if (value !== "24h") {
                    throw new Error(`period select shows ${value}`);
                }
            },
        },
        {
            content: "A tile over its SLA rule's threshold says so",
            trigger: ".o_ssm_tile[data-tile='partner_queues'][data-sla='breached'] .o_ssm_sla:contains('Over the SLA')",
        },
    ],
});

registry.category("web_tour.tours").add("shipment_sync_monitor_drilldown_link_tour", {
    steps: () => [
        {
            content: "The link reopens the list of the tile's line",
            trigger: ".o_list_view .o_data_row:contains('Label Failed')",
        },
        {
            content: "under the name of that line",
            trigger: ".o_breadcrumb:contains('Label Failed')",
        },
        {
            content: "and nothing else",
            trigger: ".o_list_view",
            run() {
                const rows = [...document.querySelectorAll(".o_list_view .o_data_row")];
                const others = rows.filter((row) => !row.textContent.includes("Label Failed"));
                if (!rows.length || others.length) {
                    throw new Error(`${others.length} of ${rows.length} rows are not Label Failed`);
                }
            },
        },
    ],
});
