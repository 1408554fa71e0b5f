-- Groups (and which of their fleets) inside a maintenance window now, as of each deployment's
-- latest export (hourly by default). Until is NULL for a window that is always active.
SELECT "m"."accountid" AS AccountId, "d"."accountname" AS AccountName, "m"."region" AS Region,
  "m"."groupname" AS GroupName, "m"."fleet" AS Fleet,
  "m"."nextmaintenancewindowdetails"."endtime" AS Until, "m"."metadatarecordlastupdatedat" AS ExportedAt
FROM default.clonesquad_maintenance_windows m
LEFT JOIN default.clonesquad_discovery d
  ON "d"."accountid" = "m"."accountid" AND "d"."region" = "m"."region" AND "d"."groupname" = "m"."groupname"
WHERE "m"."ismaintenancetime"
ORDER BY "m"."accountid", "m"."region", "m"."groupname", "m"."fleet"
