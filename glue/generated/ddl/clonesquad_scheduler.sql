-- clonesquad_scheduler: Rows of each CloneSquad Scheduler table.
-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:
--   npx clonesquad-backup generate ddl s3://bucket/prefix
-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/scheduler/.
-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:
--   MSCK REPAIR TABLE `default`.`clonesquad_scheduler`;
-- (run it after each export that adds a deployment, or schedule it).
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_scheduler` (
  `key` string,
  `value` string,
  `expirationtime` string,
  `metadatarecordlastupdatedat` string
)
COMMENT 'Rows of each CloneSquad Scheduler table'
PARTITIONED BY (
  `accountid` string,
  `region` string,
  `groupname` string
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/scheduler/'
TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');
