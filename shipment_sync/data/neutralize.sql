-- A neutralized copy (odoo-bin neutralize, or a duplicate marked neutralized)
-- never calls a live carrier, WMS or subscriber: every partner goes to test
-- mode, subscriptions are paused, pending outbound jobs are cancelled and the
-- outbound, polling and WMS file-exchange crons of every Shipment Sync addon
-- are switched off.
UPDATE shipment_sync_partner
   SET environment = 'test';
UPDATE shipment_sync_subscription
   SET active = false,
       deactivated_reason = 'Paused by database neutralization'
 WHERE active;
UPDATE shipment_sync_job
   SET state = 'cancelled', lease_until = NULL, worker_id = NULL,
       last_error = 'Cancelled by database neutralization'
 WHERE state IN ('pending', 'running');
UPDATE ir_cron
   SET active = false
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE model = 'ir.cron'
                 AND module LIKE 'shipment\_sync%'
                 AND (name LIKE 'ir\_cron\_outbox\_%'
                      OR name LIKE '%poll%'
                      OR name LIKE 'ir\_cron\_wms\_%'));
