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
const DRILLDOWN_ACTION = "shipment_sync_monitor.shipment_sync_dashboard_drilldown_action";

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
 * Shipment Sync KPI dashboard: filters (period, company, warehouse, partner),
 * kept in the URL (``?period=24h&warehouse_id=2``: a link reopens the same
 * view) and for the session (a breadcrumb back finds them), and one tile per
 * figure, each with its trend and its SLA verdict; every figure is computed
 * server-side by shipment.sync.dashboard and every number opens the list it
 * counts, itself a link (``.../<id>/shipment-sync-list``).
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
            refreshedRaw: "",
            loading: true,
        });
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            this.state.options = await this.orm.call(
                "shipment.sync.dashboard", "get_filter_options", []
            );
            await this.load();
            this.saveFilters();
        });
    }

    /** The filters of the URL, else of the session, else the defaults. */
    restoreFilters() {
        const action = this.props.action || {};
        const params = { ...(action.context?.params || {}), ...(action.params || {}) };
        const fromUrl = {};
        for (const name of Object.keys(DEFAULT_FILTERS)) {
            if (params[name] !== undefined && params[name] !== "") {
                fromUrl[name] = String(params[name]);
            }
        }
        let saved = {};
        if (!Object.keys(fromUrl).length) {
            try {
                saved = JSON.parse(browser.sessionStorage.getItem(FILTERS_KEY) || "{}");
            } catch {
                saved = {};
            }
        }
        return { ...DEFAULT_FILTERS, ...saved, ...fromUrl };
    }

    /** Into the URL (an empty filter leaves it) and the session. */
    saveFilters() {
        const f = this.state.filters;
        browser.sessionStorage.setItem(FILTERS_KEY, JSON.stringify(f));
        const urlState = {};
        for (const name of Object.keys(DEFAULT_FILTERS)) {
            urlState[name] = f[name] || undefined;
        }
        if (this.props.updateActionState) {
            this.props.updateActionState(urlState);
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
        this.state.refreshedRaw = data.refreshed_at;
        this.state.refreshedAt = formatDateTime(deserializeDateTime(data.refreshed_at));
        this.state.loading = false;
    }

    async onFilterChange(name, ev) {
        this.state.filters[name] = ev.target.value;
        this.saveFilters();
        await this.load();
    }

    isSelected(name, value) {
        return String(this.state.filters[name] || "") === String(value);
    }

    get refreshedText() {
        return _t("Last refreshed %s", this.state.refreshedAt);
    }

    /**
     * Open the list of a tile (``line`` -1) or of one of its lines, through
     * a drill-down link recorded server-side with the filters and the
     * instant the figures were computed: the list's URL reopens it.
     */
    async open(tile, line = -1) {
        const linkId = await this.orm.call("shipment.sync.dashboard", "get_drilldown", [
            tile.key,
            line,
            { ...this.payload(), now: this.state.refreshedRaw },
        ]);
        await this.action.doAction(DRILLDOWN_ACTION, {
            additionalContext: { active_id: linkId },
        });
    }

    openTile(tile) {
        if (tile.action) {
            this.open(tile);
        }
    }

    openLine(tile, lineIndex, ev) {
        if (tile.lines[lineIndex].action) {
            ev.stopPropagation();
            this.open(tile, lineIndex);
        }
    }
}

registry.category("actions").add("shipment_sync_monitor.dashboard", ShipmentSyncDashboard);
