-- Every configuration key set in every deployment, one row per deployment and key. Filter it with
-- WHERE, e.g. SELECT * FROM configurationvalues WHERE "key" = 'ec2.schedule.min_instance_count'.
-- ParameterSet is the name of a `[name]subkey` key, NULL for other keys.
CREATE OR REPLACE VIEW configurationvalues AS
SELECT "c"."accountid" AS AccountId, "c"."region" AS Region, "c"."groupname" AS GroupName,
  "c"."key" AS "Key", "c"."value" AS "Value",
  NULLIF(regexp_extract("c"."key", '^\[([^\]]+)\]', 1), '') AS ParameterSet,
  "c"."expirationtime" AS ExpirationTime, "c"."metadatarecordlastupdatedat" AS ExportedAt
FROM default.clonesquad_configuration c
