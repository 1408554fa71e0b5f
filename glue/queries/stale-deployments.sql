-- Deployments whose latest export is more than 2 hours old (the export runs hourly by default):
-- the schedule is disabled, the export fails, or the deployment was removed.
SELECT "d"."accountid" AS AccountId, "d"."accountname" AS AccountName, "d"."region" AS Region,
  "d"."groupname" AS GroupName, "d"."metadatarecordlastupdatedat" AS LastExport
FROM default.clonesquad_discovery d
WHERE "d"."metadatarecordlastupdatedat" < current_timestamp - INTERVAL '2' HOUR
ORDER BY "d"."metadatarecordlastupdatedat"
