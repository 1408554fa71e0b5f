CREATE OR REPLACE VIEW displayallhostnames AS
SELECT "_hostname" "Hostname", "interactapigwurl" as "InteractAPIGWUrl",
  "d"."CloneSquadVersion" as "CloneSquadVersion", "i"."accountid" as AccountId,
  "d"."AccountName" as AccountName, "d"."AccountEmail" as AccountEmail,
  "i"."region" as Region, "i"."groupname" as GroupName, "i"."_subfleetname" as SubfleetName
FROM default.clonesquad_instances i, default.clonesquad_discovery d
WHERE "i"."accountid" = "d"."accountid" AND "i"."region" = "d"."region"
  AND "i"."groupname" = "d"."groupname"
