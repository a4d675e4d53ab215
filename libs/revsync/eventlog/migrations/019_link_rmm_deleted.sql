-- A linked pair whose RMM company was deleted in RMM. Once linked, an RMM company's
-- observations are recorded on its link's stream (`LinkState.rmm_deleted`), so its own
-- `rmm_companies` row never sees the deletion and read as linked and not deleted: the
-- mapping review showed a happy link to a company that no longer exists, and a sync run
-- counted it as decided. Written by the `company_links` projection from the fold (only while
-- linked; a later observation of the company, or an unlink, clears it).
-- Adding the column with a constant default rewrites no row; rows already there take it from
-- the folded state they keep (the same fold, so no replay is needed).
ALTER TABLE company_links ADD COLUMN rmm_deleted boolean NOT NULL DEFAULT false;
UPDATE company_links SET rmm_deleted = true
WHERE state = 'linked' AND (folded ->> 'rmm_deleted')::boolean;
-- The few of them (a sync run's progress leaves their RMM companies out of its decided ones).
CREATE INDEX company_links_rmm_deleted ON company_links (tenant_id, rmm_company_id)
    WHERE state = 'linked' AND rmm_deleted;
