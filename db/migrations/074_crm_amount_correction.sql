-- Issue 15: an audited correction of a closed (won or lost) deal's amount. The workflow of a closed case has
-- ended, so its data cannot change any more; the correction is kept beside it in the read model (the projection
-- never writes this column) and every figure reads it: forecast_amount, which the pipeline totals, the
-- forecast, campaign results and segments read, is the corrected amount when there is one.
-- The audit row (crm_audit, action case.amount-corrected) says who, when, the old and new amount and why.
ALTER TABLE cases ADD COLUMN amount_corrected numeric;
-- No row has a correction yet, so every forecast_amount keeps its value and the pipeline totals stay exact.
ALTER TABLE cases ALTER COLUMN forecast_amount SET EXPRESSION AS (
  coalesce(amount_corrected,
    CASE WHEN jsonb_typeof(data -> 'amount') = 'number' THEN (data ->> 'amount')::numeric END)
);
