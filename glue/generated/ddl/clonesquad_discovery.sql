-- clonesquad_discovery: One line per CloneSquad deployment; keys of UserSuppliedJSONMetadata via json_extract_scalar(usersuppliedjsonmetadata, '$.key').
-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:
--   npx clonesquad-backup generate ddl s3://bucket/prefix
-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/discovery/.
-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:
--   MSCK REPAIR TABLE `default`.`clonesquad_discovery`;
-- (run it after each export that adds a deployment, or schedule it).
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_discovery` (
  `apigwconfiguration` string,
  `apigwendpointconfiguration` string,
  `configurationurls` string,
  `customizationzipparameters` string,
  `dynamodbconfiguration` string,
  `ebsvolumekmskeys` string,
  `interactsqsqueueiampolicy` string,
  `lambdamemorysize` string,
  `loglevels` string,
  `loggings3path` string,
  `logretentionduration` string,
  `permissionsboundary` string,
  `usernotificationarns` string,
  `xraydiagnosis` string,
  `clonesquaddependencylayer` string,
  `clonesquadlayer` string,
  `configtable` string,
  `interactapiurl` string,
  `interactfunction` string,
  `interactqueue` string,
  `internalerrorinteractalarm` string,
  `internalerrormainalarm` string,
  `internalwarninginteractalarm` string,
  `internalwarningmainalarm` string,
  `lackofcpucreditalarm` string,
  `longtermeventtablearn` string,
  `mainfunction` string,
  `mainfunctioniamrole` string,
  `clonesquadversion` string,
  `installtime` timestamp,
  `interactapigwurl` string,
  `interactapi` string,
  `metadataandbackups3path` string,
  `timezone` string,
  `usersuppliedjsonmetadata` string,
  `configurationtable` string,
  `schedulertable` string,
  `alarmstateec2table` string,
  `eventtable` string,
  `longtermeventtable` string,
  `statetable` string,
  `internalerrorinteractalarmarn` string,
  `internalerrormainalarmarn` string,
  `internalwarninginteractalarmarn` string,
  `internalwarningmainalarmarn` string,
  `lackofcpucreditalarmarn` string,
  `mainlambdaiamrolearn` string,
  `apigwvpcendpointdnsentry` string,
  `discoverylambdaiamrolearn` string,
  `interactlambdaiamrolearn` string,
  `clonesquadstackname` string,
  `clonesquadstackstatus` string,
  `accountarn` string,
  `accountemail` string,
  `accountjoinedmethod` string,
  `accountname` string,
  `accountstate` string,
  `accountstatus` string,
  `accountjoinedtimestamp` timestamp,
  `subfleets` array<string>,
  `metadatarecordlastupdatedat` timestamp
)
COMMENT 'One line per CloneSquad deployment; keys of UserSuppliedJSONMetadata via json_extract_scalar(usersuppliedjsonmetadata, ''$.key'')'
PARTITIONED BY (
  `accountid` string,
  `region` string,
  `groupname` string
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/discovery/'
TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');
