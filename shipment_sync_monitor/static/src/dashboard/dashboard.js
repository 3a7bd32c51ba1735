/** @odoo-module **/
import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/**
 * Shipment Sync KPI dashboard: filters (period, company, warehouse, partner)
 * and one tile per figure; every figure is computed server-side by
 * shipment.sync.dashboard and every tile opens its filtered list.
 */
export class ShipmentSyncDashboard extends Component {
    static template = "shipment_sync_monitor.Dashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({
            filters: { period: "7d", company_id: "", warehouse_id: "", partner_id: "" },
            options: { periods: [], companies: [], warehouses: [], partners: [] },
            tiles: [],
            loading: true,
        });
        onWillStart(async () => {
            this.state.options = await this.orm.call(
                "shipment.sync.dashboard", "get_filter_options", []
            );
            await this.load();
        });
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
        this.state.tiles = await this.orm.call("shipment.sync.dashboard", "get_tiles", [
            this.payload(),
        ]);
        this.state.loading = false;
    }

    async onFilterChange(name, ev) {
        this.state.filters[name] = ev.target.value;
        await this.load();
    }

    formatNumber(value, digits = 1) {
        if (value === null || value === undefined) {
            return "–";
        }
        return Number.isInteger(value) ? String(value) : Number(value).toFixed(digits);
    }

    headline(tile) {
        if (tile.unit === "s") {
            const f = tile.figures || {};
            return `p50 ${this.formatNumber(f.p50)} s · p95 ${this.formatNumber(f.p95)} s`;
        }
        if (tile.unit === "%") {
            return `${this.formatNumber(tile.value)} %`;
        }
        if (tile.unit === "/h") {
            return `${this.formatNumber(tile.value, 2)} / h`;
        }
        return this.formatNumber(tile.value);
    }

    details(tile) {
        const figures = tile.figures || {};
        const lines = [];
        for (const key of ["by_reason", "by_age", "by_partner"]) {
            for (const [name, value] of Object.entries(figures[key] || {})) {
                if (value && typeof value === "object") {
                    const rate = value.failure_rate === null ? "–" : this.formatNumber(value.failure_rate);
                    lines.push(`${name}: ${value.depth} queued, ${rate} % failed`);
                } else {
                    lines.push(`${name}: ${value}`);
                }
            }
        }
        return lines.slice(0, 6);
    }

    openTile(tile) {
        const a = tile.action;
        this.action.doAction({
            type: "ir.actions.act_window",
            name: a.name,
            res_model: a.res_model,
            domain: a.domain,
            context: a.context || {},
            views: a.views,
            target: "current",
        });
    }
}

registry.category("actions").add("shipment_sync_monitor.dashboard", ShipmentSyncDashboard);
