-- Fleet size by account and region: CloneSquad deployments, their managed instances, and how many run.
SELECT "d"."accountid" AS AccountId, "d"."region" AS Region,
  count(DISTINCT "d"."groupname") AS Deployments,
  count("i"."instanceid") AS Instances,
  count_if("i"."state"."name" = 'running') AS RunningInstances
FROM default.clonesquad_discovery d
LEFT JOIN default.clonesquad_instances i
  ON "i"."accountid" = "d"."accountid" AND "i"."region" = "d"."region" AND "i"."groupname" = "d"."groupname"
GROUP BY "d"."accountid", "d"."region"
ORDER BY "d"."accountid", "d"."region"
