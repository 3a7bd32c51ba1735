/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("shipment_sync_monitor_workbench_tour", {
    steps: () => [
        {
            content: "The workbench shows the card, its reason and its next action",
            trigger: ".o_kanban_record:contains('Customs Hold'):contains('Send the customs documents')",
        },
        {
            content: "Take it",
            trigger: ".o_kanban_record:contains('Customs Hold') button[name='action_assign_to_me']",
            run: "click",
        },
        {
            content: "Taking it says so",
            trigger: ".o_notification:contains('assigned to')",
        },
        {
            content: "Take is gone: it is yours already",
            trigger: ".o_kanban_record:contains('Customs Hold'):not(:has(button[name='action_assign_to_me']))",
        },
        {
            content: "Resolve it",
            trigger: ".o_kanban_record:contains('Customs Hold') button[name='action_resolve_wizard']",
            run: "click",
        },
        {
            content: "Say which action resolved it",
            trigger: ".modal div[name='triage_action'] select",
            run: "select \"send_documents\"",
        },
        {
            content: "and what was done",
            trigger: ".modal div[name='note'] textarea",
            run: "edit Invoice sent to the broker",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "Resolving it says so",
            trigger: ".o_notification:contains('resolved')",
        },
    ],
});
