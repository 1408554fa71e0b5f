-- One configuration key across all deployments: change the key below. Deployments that do not set
-- it (and so use the CloneSquad default) are listed with a NULL value.
SELECT "d"."accountid" AS AccountId, "d"."region" AS Region, "d"."groupname" AS GroupName,
  "v"."Value" AS "Value"
FROM default.clonesquad_discovery d
LEFT JOIN configurationvalues v
  ON "v"."accountid" = "d"."accountid" AND "v"."region" = "d"."region" AND "v"."groupname" = "d"."groupname"
  AND "v"."key" = 'ec2.schedule.min_instance_count'
ORDER BY "d"."accountid", "d"."region", "d"."groupname"
