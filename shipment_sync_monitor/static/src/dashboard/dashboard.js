/** @odoo-module **/
import { Component, onMounted, onWillStart, onWillUnmount, onPatched, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const FILTERS_KEY = "shipment_sync_monitor.dashboard.filters";
const DEFAULT_FILTERS = { period: "7d", company_id: "", warehouse_id: "", partner_id: "" };

/**
 * The trend of one KPI over the chosen period: a small Chart.js line chart
 * (Odoo's own Chart.js bundle), one point per bucket.
 */
export class ShipmentSyncTrend extends Component {
    static template = "shipment_sync_monitor.Trend";
    static props = ["trend"];

    setup() {
        this.canvas = useRef("canvas");
        this.chart = null;
        onMounted(() => this.draw());
        onPatched(() => this.draw());
        onWillUnmount(() => this.chart && this.chart.destroy());
    }

    draw() {
        const trend = this.props.trend;
        if (!this.canvas.el || !window.Chart) {
            return;
        }
        const hourly = trend.step < 86400;
        const labels = trend.starts.map((s) => {
            const d = deserializeDateTime(s);
            return hourly ? d.toFormat("HH:mm") : d.toFormat("dd LLL");
        });
        if (this.chart) {
            this.chart.destroy();
        }
        this.chart = new window.Chart(this.canvas.el, {
            type: "line",
            data: {
                labels,
                datasets: [{
                    label: trend.label,
                    data: trend.values,
                    borderColor: "#714B67",
                    backgroundColor: "rgba(113, 75, 103, 0.15)",
                    fill: true,
                    spanGaps: true,
                    pointRadius: 0,
                    tension: 0.3,
                }],
            },
            options: {
                animation: false,
                maintainAspectRatio: false,
                plugins: { legend: { display: false }, tooltip: { intersect: false } },
                scales: {
                    x: { display: false },
                    y: { display: true, beginAtZero: true, ticks: { maxTicksLimit: 3 } },
                },
            },
        });
    }
}

/**
 * Shipment Sync KPI dashboard: filters (period, company, warehouse, partner,
 * kept for the session so a breadcrumb back finds them) and one tile per
 * figure, each with its trend; every figure is computed server-side by
 * shipment.sync.dashboard and every number opens the list it counts.
 */
export class ShipmentSyncDashboard extends Component {
    static template = "shipment_sync_monitor.Dashboard";
    static components = { ShipmentSyncTrend };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({
            filters: this.restoreFilters(),
            options: { periods: [], companies: [], warehouses: [], partners: [] },
            tiles: [],
            refreshedAt: "",
            loading: true,
        });
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            this.state.options = await this.orm.call(
                "shipment.sync.dashboard", "get_filter_options", []
            );
            await this.load();
        });
    }

    restoreFilters() {
        try {
            const saved = JSON.parse(browser.sessionStorage.getItem(FILTERS_KEY) || "{}");
            return { ...DEFAULT_FILTERS, ...saved };
        } catch {
            return { ...DEFAULT_FILTERS };
        }
    }

    payload() {
        const f = this.state.filters;
        return {
            period: f.period,
            company_ids: f.company_id ? [parseInt(f.company_id)] : [],
            warehouse_id: f.warehouse_id ? parseInt(f.warehouse_id) : false,
            partner_id: f.partner_id ? parseInt(f.partner_id) : false,
        };
    }

    async load() {
        this.state.loading = true;
        const data = await this.orm.call("shipment.sync.dashboard", "get_dashboard", [
            this.payload(),
        ]);
        this.state.tiles = data.tiles;
        this.state.refreshedAt = formatDateTime(deserializeDateTime(data.refreshed_at));
        this.state.loading = false;
    }

    async onFilterChange(name, ev) {
        this.state.filters[name] = ev.target.value;
        browser.sessionStorage.setItem(FILTERS_KEY, JSON.stringify(this.state.filters));
        await this.load();
    }

    isSelected(name, value) {
        return String(this.state.filters[name] || "") === String(value);
    }

    get refreshedText() {
        return _t("Last refreshed %s", this.state.refreshedAt);
    }

    open(action) {
        if (!action) {
            return;
        }
        this.action.doAction({
            type: "ir.actions.act_window",
            name: action.name,
            res_model: action.res_model,
            domain: action.domain,
            context: action.context || {},
            views: action.views,
            target: "current",
        });
    }

    openTile(tile) {
        this.open(tile.action);
    }

    openLine(line, ev) {
        if (line.action) {
            ev.stopPropagation();
            this.open(line.action);
        }
    }
}

registry.category("actions").add("shipment_sync_monitor.dashboard", ShipmentSyncDashboard);
